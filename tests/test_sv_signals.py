"""SV signal processing on frames built byte by byte (no network): smpCnt unwrapping
across long outages, duplicates and reordering, rate and nominal-frequency choice,
off-nominal frequency, and the COMTRADE writer's file-name safety.

Signals are generated here from their definition (amplitude, angle, frequency);
tolerances are stated per test.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from mmsanalyze.analysis.sv_signals import (SignalError, phasor_table, rms_table, select_streams,
                                            stream_signals, waveform)
from mmsanalyze.comtrade import record_name, write_comtrade
from mmsanalyze.net.link import parse_link
from mmsanalyze.sv import SvCollector
from test_sv_decode import asdu, frame, le_block, sav


def build(samples, sv_id="MU01", rate=80, mod=None, appid=0x4000):
    """SvCollector fed one frame per ``(time, smp_cnt, counts[8], quality[8] or None)``."""
    s = SvCollector()
    for i, (t, cnt, vals, q) in enumerate(samples, 1):
        fr = frame(sav([asdu(sv_id=sv_id, cnt=cnt, rate=rate, mod=mod, seq=le_block(vals, q))]),
                   appid=appid)
        et, off, src, dst, vl, pr = parse_link(1, fr)
        s.add(i, t, fr, off, src, dst, vl, pr)
    return s


def sines(n_idx, fs, f, amps, degs):
    """Counts (1 mA / 10 mV) of cos sets: amps[k] RMS (A or V) at degs[k], channel order ia..vn."""
    th = 2 * np.pi * f * np.asarray(n_idx) / fs
    out = np.zeros((len(n_idx), 8), dtype=np.int64)
    for k, (a, d) in enumerate(zip(amps, degs)):
        scale = 0.001 if k < 4 else 0.01
        out[:, k] = np.rint(a * np.sqrt(2) * np.cos(th + np.radians(d)) / scale)
    return out


AMPS = [100, 100, 100, 0, 60000, 60000, 60000, 0]
DEGS = [0, -120, 120, 0, 30, -90, 150, 0]


def signals_of(s, **kw):
    return stream_signals(s.table(), s.samples(), **kw)[0]


def test_outages_longer_than_half_and_a_whole_wrap():
    # 4000 samples/s, wrap 4000: a 0.75 s outage (3000 samples) looks like a step of
    # -1000 to a counter-only unwrap; a 1.25 s outage (5000) like +1000.  Capture times
    # resolve both.
    fs = 4000
    idx = list(range(0, 800)) + list(range(3800, 4600)) + list(range(9600, 10400))
    vals = sines(idx, fs, 50, AMPS, DEGS)
    s = build([(100 + n / fs, n % 4000, v.tolist(), None) for n, v in zip(idx, vals)])
    (sig,) = signals_of(s)
    np.testing.assert_array_equal(sig.index, idx)
    assert sig.lost == 3000 + 5000
    w = waveform(sig)
    assert len(w) == 10400 and int((~w["present"]).sum()) == 8000
    assert w.loc[~w["present"], "ia"].isna().all()
    r = rms_table([sig])
    assert list(r["cycle"]) == sorted({n // 80 for n in idx})           # no rows for empty cycles
    full = r["samples"] == 80
    assert list(r.loc[~full, "cycle"]) == [47, 57]                       # 3800 and 4600 mid-cycle
    assert r.loc[~full, "ia"].isna().all()
    np.testing.assert_allclose(r.loc[full, "ia"], 100, rtol=1e-4)
    np.testing.assert_allclose(r.loc[full, "va"], 60000, rtol=1e-4)


def test_duplicates_and_reordered_samples_keep_first_copy():
    fs = 4000
    order = list(range(0, 50)) + [49, 49] + list(range(52, 60)) + [50, 51] + list(range(60, 160))
    vals = {n: sines([n], fs, 50, AMPS, DEGS)[0].tolist() for n in range(160)}
    rows = [(n / fs, n, vals[n], None) for n in order]
    rows[50] = (rows[50][0], 49, [7] * 8, None)               # a second copy, other values
    s = build(rows)
    (sig,) = signals_of(s)
    np.testing.assert_array_equal(sig.index, range(160))
    assert sig.values[49, 0] == pytest.approx(vals[49][0] * 0.001)     # first copy kept
    r = rms_table([sig])
    assert (r["samples"] == 80).all() and np.isfinite(r["ia"]).all()


def test_off_nominal_frequency_estimate_and_measured_dft():
    fs, f = 4000, 50.5
    idx = np.arange(4000)
    vals = sines(idx, fs, f, AMPS, DEGS)
    (sig,) = signals_of(build([(n / fs, int(n), v.tolist(), None) for n, v in zip(idx, vals)]))
    nom = phasor_table([sig], "nominal")
    meas = phasor_table([sig], "measured")
    # balanced set: the positive-sequence rotation gives f within 1 mHz
    np.testing.assert_allclose(nom["frequency"].dropna(), f, atol=1e-3)
    assert meas["dft_frequency"].iloc[0] == pytest.approx(f, abs=1e-3)
    # at the measured frequency the magnitude error is smaller than at nominal (leakage)
    err_nom = np.nanmax(np.abs(nom["ia_mag"] - 100))
    err_meas = np.nanmax(np.abs(meas["ia_mag"][:-1] - 100))
    assert err_meas < 0.01 and err_nom > 0.2
    assert np.nanmax(np.abs(np.diff(meas["va_ang"][:-1]) % 360 - 360 * 0.5 / 50)) < 0.01
    assert np.nanmax(np.abs(meas["v1_mag"][:-1] - 60000)) < 60000 * 1e-3


@pytest.mark.parametrize("fs,f0", [(4000, 50), (4800, 60)])
def test_nominal_frequency_from_the_rate(fs, f0):
    idx = np.arange(400)
    vals = sines(idx, fs, f0, AMPS, DEGS)
    (sig,) = signals_of(build([(n / fs, int(n), v.tolist(), None) for n, v in zip(idx, vals)]))
    assert (sig.sample_rate, sig.nominal_frequency, sig.samples_per_cycle) == (fs, f0, 80)
    p = phasor_table([sig])
    np.testing.assert_allclose(p["ia_mag"], 100, rtol=1e-4)
    np.testing.assert_allclose(p["va_ang"], 30, atol=0.01)


def test_rate_without_smp_rate_is_measured():
    fs = 4800
    idx = np.arange(480)
    vals = sines(idx, fs, 60, AMPS, DEGS)
    jitter = np.random.default_rng(1).normal(0, 20e-6, len(idx))
    s = build([(n / fs + j, int(n), v.tolist(), None) for n, v, j in zip(idx, vals, jitter)],
              rate=None)
    (sig,) = signals_of(s)
    assert sig.rate_source == "measured" and sig.sample_rate == 4800.0
    assert sig.nominal_frequency == 60.0


def test_ambiguous_rate_nominal_from_the_signal():
    # 4800 samples/s is 80 per cycle at 60 Hz and 96 per cycle at 50 Hz (IEC 61869-9)
    fs = 4800
    idx = np.arange(960)
    vals = sines(idx, fs, 50, AMPS, DEGS)
    s = build([(n / fs, int(n), v.tolist(), None) for n, v in zip(idx, vals)], rate=4800, mod=1)
    (sig,) = signals_of(s)
    assert (sig.sample_rate, sig.nominal_frequency, sig.samples_per_cycle) == (4800, 50, 96)
    (forced,) = signals_of(s, nominal=60)
    assert (forced.nominal_frequency, forced.samples_per_cycle) == (60, 80)


def test_select_streams():
    a = build([(0.0, 0, [0] * 8, None), (0.001, 1, [0] * 8, None)], sv_id="A", appid=0x4001)
    (sa,) = signals_of(a)
    assert select_streams([sa], "A") == [sa] == select_streams([sa], "0x4001")
    assert select_streams([sa], "0") == [sa] and select_streams([sa], None) == [sa]
    with pytest.raises(SignalError):
        select_streams([sa], "B")


def test_comtrade_names_stay_inside_dir(tmp_path):
    s = build([(0.0, 0, [1] * 8, None), (0.00025, 1, [2] * 8, None)], sv_id="../../x/..\\evil name")
    (sig,) = signals_of(s)
    name = record_name(sig)
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    out = tmp_path / "out"
    cfg, dat = write_comtrade(out, sig)
    assert {os.path.dirname(cfg), os.path.dirname(dat)} == {str(out)}
    assert sorted(os.listdir(out)) == sorted([name + ".cfg", name + ".dat"])
    # a symlink planted where the .dat goes is not followed
    victim = tmp_path / "victim"
    victim.write_text("keep")
    os.remove(dat)
    os.symlink(victim, dat)
    with pytest.raises(OSError):
        write_comtrade(out, sig)
    assert victim.read_text() == "keep"
    with pytest.raises(OSError):
        write_comtrade(out, sig, name="../escape")


def test_empty_capture():
    s = SvCollector()
    assert signals_of(s) == []
    assert len(rms_table([])) == 0 and len(phasor_table([])) == 0


def test_stream_numbers_are_sv_streams_rows():
    s = SvCollector()
    rows = []
    for k in range(40):
        for sv_id, appid in (("B", 0x4002), ("A", 0x4001)):
            rows.append((k / 4000, k, sv_id, appid))
    for i, (t, cnt, sv_id, appid) in enumerate(rows, 1):
        fr = frame(sav([asdu(sv_id=sv_id, cnt=cnt, seq=le_block([cnt] * 8))]), appid=appid)
        et, off, src, dst, vl, pr = parse_link(1, fr)
        s.add(i, t, fr, off, src, dst, vl, pr)
    sigs = signals_of(s)
    st = s.streams()
    assert [g.sv_id for g in sigs] == list(st["sv_id"]) == ["B", "A"]
    assert [g.stream for g in sigs] == [0, 1]
    assert [int(g.appid) for g in sigs] == list(st["appid"])


def test_cycle_blocks_give_the_same_tables(monkeypatch):
    import mmsanalyze.analysis.sv_signals as S
    fs = 4000
    idx = [n for n in range(2000) if n not in (239, 240, 1111)]
    vals = sines(idx, fs, 49.7, AMPS, DEGS)
    (sig,) = signals_of(build([(n / fs, n, v.tolist(), None) for n, v in zip(idx, vals)]))
    whole = (rms_table([sig]), phasor_table([sig], "measured"), phasor_table([sig]))
    monkeypatch.setattr(S, "CYCLE_BLOCK_ROWS", 160)          # two cycles per block
    import pandas as pd
    for a, b in zip(whole, (rms_table([sig]), phasor_table([sig], "measured"), phasor_table([sig]))):
        pd.testing.assert_frame_equal(a, b)
    assert whole[1]["ia_mag"].isna().sum() >= 3              # gaps: NaN, also past a block end


def test_hostile_counters_stay_bounded():
    rng = np.random.default_rng(7)
    n = 3000
    cnt = rng.integers(0, 4000, n)
    t = np.sort(rng.uniform(0, 36000, n))                    # ten hours, random counters
    s = build([(float(ti), int(c), [int(c)] * 8, None) for ti, c in zip(t, cnt)])
    (sig,) = signals_of(s)
    assert len(sig.index) <= n
    r, p = rms_table([sig]), phasor_table([sig], "measured")
    assert len(r) <= n and len(p) <= n
    with pytest.raises(SignalError):
        waveform(sig)                                         # 144 million rows: refused
    assert len(waveform(sig, sig.t0, sig.t0 + 1)) <= 4001


@pytest.mark.tshark
def test_quality_flags_read_as_tshark_does(tmp_path):
    """Quality words 0..3, test and derived: our flags against Wireshark's sv.meas_quality text."""
    import re
    import shutil
    import subprocess
    from scapy.all import Ether, wrpcap
    from mmsanalyze.analysis.sv_signals import quality_flags
    tshark = shutil.which("tshark")
    if not tshark:
        pytest.skip("tshark is not installed")
    words = [0, 1, 2, 3, 0x800, 0x2000, 0x2802]
    path = str(tmp_path / "q.pcap")
    wrpcap(path, [Ether(frame(sav([asdu(cnt=i, seq=le_block([0] * 8, [q] * 8))])))
                  for i, q in enumerate(words)])
    out = subprocess.run([tshark, "-o", "sv.decode_data_as_phsmeas:TRUE", "-r", path, "-V"],
                         capture_output=True, text=True, check=True).stdout
    shown = re.findall(r"quality: 0x([0-9a-f]{8}), validity: ([^,\n]+)(.*)", out)
    per_word = {int(h, 16): (v, rest) for h, v, rest in shown}
    assert set(per_word) == set(words)
    flags = quality_flags(np.array(words, dtype=np.uint32))
    for i, w in enumerate(words):
        validity, rest = per_word[w]
        assert bool(flags["invalid"][i]) == validity.startswith("invalid"), (w, validity)
        assert bool(flags["questionable"][i]) == (validity == "questionable"), (w, validity)
        assert bool(flags["test"][i]) == ("test" in rest), (w, rest)
        assert bool(flags["derived"][i]) == ("derived" in rest), (w, rest)
