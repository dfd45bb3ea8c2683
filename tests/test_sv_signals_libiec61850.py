"""Known signals through a real publisher: libiec61850's SVPublisher sends 50 Hz
three-phase sets of chosen RMS and angle, a step change (a "fault"), quality flags
and a few deliberately skipped smpCnt values on a veth pair; tcpdump captures them;
the capture is decoded and the waveform, RMS, phasors, sequence components and
frequency are compared with the values that were published.

The stream: smpRate 80 (4000 samples/s at 50 Hz), smpCnt starting at 3600 so it
wraps at 4000 inside the record, 2000 sample indices of which 4 are skipped
(437-439 and 1203 after the start).  Values are ``X*sqrt(2)*cos(2*pi*n/80 + phi)``
of the unwrapped index n (cycle starts are multiples of 80, so a one-cycle DFT
must give X at angle phi).  At index 4400 (cycle 55) the currents step from a
balanced 100 A set to 1000 / 500 / 1000 A and the voltages from 63.5 kV to 40 kV.

Tolerances (the only error sources are the 1 mA / 10 mV quantisation and float
rounding): RMS and phasor magnitudes within 1e-4 relative, angles within 0.01
degree, frequency within 1 mHz.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from l2_publish import SvPub, can_publish, feed_capture, tcpdump, veth_pair
from mmsanalyze.analysis.sv_signals import (phasor_table, quality_flags, rms_table, sample_columns,
                                            stream_signals, waveform)
from mmsanalyze.sv import SvCollector

comtrade = pytest.importorskip("comtrade", reason="the test extra installs the comtrade reader")

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not can_publish(), reason="needs root, ip, tcpdump, pyiec61850")]

FIRST = 3600                  # smpCnt of the first sample (and its unwrapped index)
COUNT = 2000                  # sample indices published (minus the skipped ones)
SKIP = {FIRST + 437, FIRST + 438, FIRST + 439, FIRST + 1203}
STEP = 4400                   # first index after the step change (a cycle start)
N = 80
PRE = {"ia": (100.0, -20.0), "ib": (100.0, -140.0), "ic": (100.0, 100.0),
       "va": (63500.0, 10.0), "vb": (63500.0, -110.0), "vc": (63500.0, 130.0)}
POST = {"ia": (1000.0, -20.0), "ib": (500.0, -140.0), "ic": (1000.0, 100.0),
        "va": (40000.0, 10.0), "vb": (40000.0, -110.0), "vc": (40000.0, 130.0)}
CH = ("ia", "ib", "ic", "in", "va", "vb", "vc", "vn")


def phasor(rms, deg):
    return rms * np.exp(1j * np.radians(deg))


def truth(n):
    """Engineering values (A, V) of the 8 channels at unwrapped index n (before quantising)."""
    ph = PRE if n < STEP else POST
    th = 2 * np.pi * n / N
    out = {}
    for ch, (rms, deg) in ph.items():
        out[ch] = rms * np.sqrt(2) * np.cos(th + np.radians(deg))
    out["in"] = out["ia"] + out["ib"] + out["ic"]
    out["vn"] = 0.0
    return out


def counts(n):
    t = truth(n)
    return [int(round(t[c] / (0.001 if c[0] == "i" else 0.01))) for c in CH]


def quality(n):
    """'in' is derived; every 100th sample has the test bit; indices 500-509 are invalid
    (validity 0x1 as older publishers send it, then 0x2: both "invalid" for Wireshark);
    indices 600-602 are questionable (0x3)."""
    q = [0] * 8
    q[3] |= 0x2000
    if n % 100 == 0:
        q = [x | 0x800 for x in q]
    if FIRST + 500 <= n < FIRST + 510:
        q = [x | (0x1 if n < FIRST + 505 else 0x2) for x in q]
    if FIRST + 600 <= n < FIRST + 603:
        q = [x | 0x3 for x in q]
    return q


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("svsig") / "svsig.pcap")
    sent = {}
    with veth_pair("sg") as (tx, rx):
        with tcpdump(rx, path):
            pub = SvPub(tx, 0x4010, ["SIGTEST_MU01"], smp_rate=80, smp_synch=2, vlan=(3, 4))
            try:
                for n in range(FIRST, FIRST + COUNT):
                    if n in SKIP:
                        continue
                    v, q = counts(n), quality(n)
                    pub.publish([n % 4000], [v], [q])
                    sent[n] = (v, q)
            finally:
                pub.close()
    s = SvCollector()
    feed_capture(path, sv=s)
    sigs, rows = stream_signals(s.table(), s.samples())
    return s, sigs, rows, sent, path


def test_sample_index_and_gaps(published):
    s, sigs, rows, sent, _ = published
    assert len(s.samples()) == len(sent), "every published sample captured"
    assert len(sigs) == 1
    sig = sigs[0]
    assert (sig.sample_rate, sig.nominal_frequency, sig.samples_per_cycle, sig.wrap) == (
        4000.0, 50.0, 80, 4000)
    np.testing.assert_array_equal(sig.index, sorted(sent))            # wrap at 4000 unwrapped
    assert sig.lost == len(SKIP)
    sm = sample_columns(s.samples(), rows)
    assert list(sm["sample"]) == sorted(sent)
    dt = np.diff(sm["sample_time"].to_numpy())
    steps = np.diff(sorted(sent))
    # 250 us per index (epoch seconds as float64 resolve about 0.24 us)
    np.testing.assert_allclose(dt, steps / 4000.0, rtol=0, atol=5e-7)
    w = waveform(sig)
    assert len(w) == COUNT and list(w["sample"]) == list(range(FIRST, FIRST + COUNT))
    lost = set(w.loc[~w["present"], "sample"])
    assert lost == SKIP
    assert w.loc[~w["present"], list(CH)].isna().all().all()          # gaps left empty
    got = w.loc[w["present"], list(CH)].to_numpy()
    exp = np.array([sent[n][0] for n in sorted(sent)], dtype=float)
    exp[:, :4] *= 0.001
    exp[:, 4:] *= 0.01
    np.testing.assert_allclose(got, exp, rtol=0, atol=1e-9)
    q = w.loc[w["present"], ["q_" + c for c in CH]].to_numpy()
    np.testing.assert_array_equal(q, [sent[n][1] for n in sorted(sent)])
    flags = quality_flags(q)
    idx = np.array(sorted(sent))
    assert set(idx[flags["invalid"].any(axis=1)]) == set(range(FIRST + 500, FIRST + 510))
    assert set(idx[flags["questionable"].any(axis=1)]) == set(range(FIRST + 600, FIRST + 603))
    assert set(idx[flags["test"].any(axis=1)]) == {n for n in sent if n % 100 == 0}
    assert flags["derived"][:, 3].all() and not flags["derived"][:, [0, 1, 2, 4, 5, 6, 7]].any()


def test_rms_per_cycle(published):
    _, sigs, *_ = published
    r = rms_table(sigs)
    cycles = list(range(FIRST // N, (FIRST + COUNT) // N))
    assert list(r["cycle"]) == cycles
    gap_cycles = {n // N for n in SKIP}
    for row in r.to_dict("records"):
        if row["cycle"] in gap_cycles:
            assert row["samples"] == N - sum(1 for n in SKIP if n // N == row["cycle"])
            assert np.isnan(row["ia"]) and np.isnan(row["va"])           # not interpolated
            continue
        assert row["samples"] == N
        ph = PRE if row["cycle"] * N < STEP else POST
        for ch in ("ia", "ib", "ic", "va", "vb", "vc"):
            assert row[ch] == pytest.approx(ph[ch][0], rel=1e-4), (row["cycle"], ch)
        i_n = abs(sum(phasor(*ph[c]) for c in ("ia", "ib", "ic")))
        assert row["in"] == pytest.approx(i_n, rel=1e-4, abs=0.01)
        assert row["vn"] == 0


def test_phasors_sequence_and_frequency(published):
    _, sigs, *_ = published
    a = np.exp(2j * np.pi / 3)
    for mode in ("nominal", "measured"):
        p = phasor_table(sigs, mode)
        gap_cycles = {n // N for n in SKIP}
        complete = p[~p["cycle"].isin(gap_cycles)]
        assert len(complete) == COUNT // N - len(gap_cycles)
        for row in complete.to_dict("records"):
            ph = PRE if row["cycle"] * N < STEP else POST
            for ch in ("ia", "ib", "ic", "va", "vb", "vc"):
                assert row[ch + "_mag"] == pytest.approx(ph[ch][0], rel=1e-4), (mode, row["cycle"], ch)
                assert abs((row[ch + "_ang"] - ph[ch][1] + 180) % 360 - 180) < 0.01
            for q, names in (("i", ("ia", "ib", "ic")), ("v", ("va", "vb", "vc"))):
                xa, xb, xc = (phasor(*ph[c]) for c in names)
                seq = {"1": (xa + a * xb + a * a * xc) / 3, "2": (xa + a * a * xb + a * xc) / 3,
                       "0": (xa + xb + xc) / 3}
                for k, x in seq.items():
                    assert row[f"{q}{k}_mag"] == pytest.approx(abs(x), rel=1e-4, abs=0.05)
                    if abs(x) > 1:
                        d = row[f"{q}{k}_ang"] - np.degrees(np.angle(x))
                        assert abs((d + 180) % 360 - 180) < 0.01
            assert row["dft_frequency"] == pytest.approx(50.0, abs=1e-3)
        f = complete["frequency"].dropna()
        assert len(f) >= len(complete) - 2 * len(gap_cycles) - 1
        np.testing.assert_allclose(f, 50.0, atol=1e-3)
    # the step is visible in the sequence components: negative sequence appears
    pre = complete[complete["cycle"] * N < STEP]
    post = complete[complete["cycle"] * N >= STEP]
    assert (pre["i2_mag"] < 0.01).all() and (post["i2_mag"] > 100).all()


def test_comtrade_read_back_by_independent_reader(published, tmp_path):
    from mmsanalyze.comtrade import write_comtrade
    _, sigs, _, sent, _ = published
    sig = sigs[0]
    cfg, dat = write_comtrade(tmp_path, sig)
    assert os.path.dirname(cfg) == str(tmp_path) and os.path.dirname(dat) == str(tmp_path)
    rec = comtrade.load(cfg, dat, use_double_precision=True, use_numpy_arrays=True)
    assert rec.rev_year == "2013" and rec.ft == "BINARY32"
    assert rec.analog_channel_ids == [c.upper() for c in CH]
    assert [c.uu for c in rec.cfg.analog_channels] == ["A"] * 4 + ["V"] * 4
    assert rec.cfg.sample_rates == [[4000.0, COUNT]] and rec.frequency == 50.0
    assert rec.total_samples == COUNT
    np.testing.assert_allclose(np.asarray(rec.time), np.arange(COUNT) / 4000.0, rtol=0, atol=1e-9)
    analog = np.array(rec.analog).T
    idx = np.arange(FIRST, FIRST + COUNT)
    have = np.array([n in sent for n in idx])
    assert np.isnan(analog[~have]).all()
    exp = np.array([sent[n][0] for n in idx[have]], dtype=float)
    exp[:, :4] *= 0.001
    exp[:, 4:] *= 0.01
    np.testing.assert_allclose(analog[have], exp, rtol=0, atol=1e-9)
    st = dict(zip(rec.status_channel_ids, np.array(rec.status)))
    assert set(idx[st["IA invalid"].astype(bool)]) == set(range(FIRST + 500, FIRST + 510))
    assert set(idx[st["VC questionable"].astype(bool)]) == set(range(FIRST + 600, FIRST + 603))
    assert set(idx[st["VB test"].astype(bool)]) == {n for n in sent if n % 100 == 0}
    assert st["IN derived"][have].all() and not st["IA derived"].any()
    assert abs(rec.start_timestamp.timestamp() - sig.t0) < 1e-5
