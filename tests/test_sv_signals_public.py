"""SV signals on the public captures: the seapath zone-1 fault (a real merging unit,
9-2LE, 4000 samples/s at 50 Hz, smpCnt wrapping) and DINA's 60 Hz stream.

What a protection engineer expects of a three-phase zone-1 fault: negligible
current before it, then tens of times more current in all three phases while the
voltages collapse.  The RMS table is also recomputed here directly from the
decoded sample rows (cycle = the 80 rows from an smpCnt multiple of 80), and the
COMTRADE record is read back with the independent ``comtrade`` package.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import public
from mmsanalyze.api import read_capture

FAULT = "sv_seapath_92le_50hz_fault_z1.pcap"
DINA = "sv_dina_92le_60hz_normal.pcap"

pytestmark = pytest.mark.skipif(not public.available(), reason="../shared/captures/public is absent")


@pytest.fixture(scope="module")
def fault():
    return read_capture(public.path(FAULT))


def test_rms_table_shows_the_current_rise(fault):
    sm = fault.sv_samples()
    r = fault.sv_rms()
    assert (r["stream"] == 0).all() and len(fault.sv_signals()) == 1
    # independent RMS: consecutive sample rows from each smpCnt multiple of 80
    cnt = sm["smp_cnt"].to_numpy()
    starts = np.flatnonzero(cnt % 80 == 0)
    starts = starts[starts + 80 <= len(sm)]
    assert (np.diff(cnt[starts[0]:starts[-1] + 80]) % 4000 == 1).all()    # no loss in between
    full = r[r["samples"] == 80].reset_index(drop=True)
    assert len(full) == len(starts)
    for ch in ("ia", "ib", "ic", "va", "vb", "vc"):
        x = sm[ch].to_numpy()
        rms = np.sqrt(np.mean(np.stack([x[s:s + 80] for s in starts]) ** 2, axis=1))
        np.testing.assert_allclose(full[ch].to_numpy(), rms, rtol=1e-12, atol=1e-9)
    # the fault: first sample above 100 A in any phase
    big = np.flatnonzero((np.abs(sm[["ia", "ib", "ic"]].to_numpy()) > 100).any(axis=1))[0]
    t_fault = sm["sample_time"].iloc[big]
    before = full[full["time"] + 0.02 <= t_fault]
    after = full[full["time"] >= t_fault + 0.1]           # five cycles later
    assert len(before) > 10 and len(after) > 10
    i_pre = before[["ia", "ib", "ic"]].max()
    assert (i_pre < 1).all()                                            # no load before
    i_post = after[["ia", "ib", "ic"]].min()
    assert (i_post > 1000).all() and (i_post > 100 * i_pre).all()       # kA in all three phases
    v_pre = before[["va", "vb", "vc"]].mean()
    v_post = after[["va", "vb", "vc"]].mean()
    assert ((v_post / v_pre) < 0.6).all()                               # voltages collapse
    # phasors agree with the RMS of a pure sinusoid in the steady state after the fault
    p = fault.sv_phasors().set_index("cycle")
    steady = after.set_index("cycle").index[-5:]
    np.testing.assert_allclose(p.loc[steady, "ia_mag"], after.set_index("cycle").loc[steady, "ia"],
                               rtol=0.01)
    np.testing.assert_allclose(p.loc[steady, "frequency"], 50, atol=0.05)


def test_sample_times_follow_smp_cnt_across_wraps(fault):
    sm = fault.sv_samples()
    cnt = sm["smp_cnt"].to_numpy()
    assert (np.diff(cnt) < 0).sum() >= 2                                 # wraps at 4000
    assert (np.diff(sm["sample"].to_numpy()) == 1).all()
    np.testing.assert_allclose(np.diff(sm["sample_time"].to_numpy()), 1 / 4000, atol=5e-7)
    # the sample clock stays within a few ms of the capture clock over the 3 s
    assert np.abs(sm["sample_time"] - sm["time"]).max() < 0.005


def test_waveform_picture(fault, tmp_path):
    from mmsanalyze.plot_waveform import plot_sv_waveform
    out = plot_sv_waveform(fault.sv_signals(), tmp_path / "fault.png", t0=fault.first_time)
    assert os.path.getsize(out) > 30000
    zoom = plot_sv_waveform(fault.sv_signals(), tmp_path / "zoom.png", fault.first_time + 0.9,
                            fault.first_time + 1.2, t0=fault.first_time)
    assert os.path.getsize(zoom) > 30000


def test_comtrade_of_the_fault_reads_back(fault, tmp_path):
    comtrade = pytest.importorskip("comtrade")
    ((cfg, dat),) = fault.write_comtrade(tmp_path)
    rec = comtrade.load(cfg, dat, use_double_precision=True, use_numpy_arrays=True)
    sm = fault.sv_samples()
    assert rec.station_name == "AA1J1Q01A1MU0102"
    assert rec.analog_channel_ids == ["IA", "IB", "IC", "IN", "VA", "VB", "VC", "VN"]
    assert [c.uu for c in rec.cfg.analog_channels] == ["A"] * 4 + ["V"] * 4
    assert rec.total_samples == len(sm) and rec.cfg.sample_rates == [[4000.0, len(sm)]]
    analog = np.array(rec.analog).T
    np.testing.assert_array_equal(analog, sm[["ia", "ib", "ic", "in", "va", "vb", "vc", "vn"]]
                                  .to_numpy())
    np.testing.assert_allclose(np.asarray(rec.time), sm["sample_time"] - sm["sample_time"].iloc[0],
                               atol=5e-7)
    assert abs(rec.start_timestamp.replace(tzinfo=__import__("datetime").timezone.utc).timestamp()
               - sm["sample_time"].iloc[0]) < 1e-5
    # --from/--to narrows the record
    ((cfg2, _),) = fault.write_comtrade(tmp_path / "win", start=fault.first_time + 0.9,
                                        end=fault.first_time + 1.1)
    rec2 = comtrade.load(cfg2, use_double_precision=True)
    assert abs(rec2.total_samples - 800) <= 1


def test_dina_60hz_stream():
    cap = read_capture(public.path(DINA))
    (sig,) = cap.sv_signals()
    assert (sig.sample_rate, sig.nominal_frequency, sig.samples_per_cycle) == (4800, 60, 80)
    f = cap.sv_phasors()["frequency"].dropna()
    assert len(f) > 100
    np.testing.assert_allclose(f, 60, atol=0.01)


def test_cli_signal_views(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    cmd = [sys.executable, "-m", "mmsanalyze", "sv", public.path(FAULT)]
    r = subprocess.run(cmd + ["--rms", "--from", "0.9", "--to", "1.1", "--format", "csv"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("stream,sv_id,appid,src_mac,cycle,time,samples,ia,")
    assert 9 <= len(lines) - 1 <= 11                                     # 0.2 s = 10 cycles
    png, out = tmp_path / "w.png", tmp_path / "ct"
    r = subprocess.run(cmd + ["--phasors", "--stream", "AA1J1Q01A1MU0102", "--waveform", str(png),
                              "--comtrade", str(out)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "i1_mag" in r.stdout and os.path.getsize(png) > 30000
    assert sorted(os.listdir(out)) == ["sv0_AA1J1Q01A1MU0102.cfg", "sv0_AA1J1Q01A1MU0102.dat"]
    r = subprocess.run(cmd + ["--rms", "--stream", "nope"], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no SV stream 'nope'" in r.stderr
