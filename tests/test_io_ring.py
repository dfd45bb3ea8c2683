"""Live capture at process-bus rates: the TPACKET_V3 ring, kernel drops, the scapy backend.

Traffic is a real merging unit's 9-2LE frame (public capture) replicated into several
streams and replayed on a veth pair by tcpreplay (the sender counts what it sent).
"""

from __future__ import annotations

import os
import threading
import time

import pytest

import live_traffic as lt
from l2_publish import veth_pair
from mmsanalyze import read_capture
from mmsanalyze.io import open_live
from mmsanalyze.io.ring import RingReader

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not lt.can_replay(), reason="needs root, tcpreplay and ../shared")]


def _collect(reader, out: list, ready: threading.Event):
    ready.set()
    out.extend(reader)


def test_backends_give_identical_frames(tmp_path):
    """ring, socket (recvmsg) and scapy (libpcap) see the same frames, same order, same bytes."""
    pytest.importorskip("scapy")
    frames = lt.interleave(3, 300)
    pcap = str(tmp_path / "sv.pcap")
    lt.write_pcap(pcap, frames)
    with veth_pair("rg") as (tx, rx):
        readers = [open_live(rx, backend=b, timeout=6.0, bpf_filter="ether proto 0x88ba")
                   for b in ("ring", "socket", "scapy")]
        outs = [[] for _ in readers]
        threads = []
        for rd, out in zip(readers, outs):
            ev = threading.Event()
            th = threading.Thread(target=_collect, args=(rd, out, ev))
            th.start()
            ev.wait()
            threads.append(th)
        time.sleep(1.0)
        sent = lt.tcpreplay(tx, pcap, 3000)
        for th in threads:
            th.join(20)
        for rd in readers:
            rd.close()
    assert sent["sent"] == len(frames)
    sv = outs                                 # the capture filter kept only SV
    assert len(sv[0]) == len(frames)
    assert [f.data for f in sv[0]] == frames
    assert [f.data for f in sv[1]] == frames
    assert [f.data for f in sv[2]] == frames
    assert [f.orig_len for f in sv[0]] == [f.orig_len for f in sv[2]]
    # the same kernel timestamp, in ns (ring, socket) and µs (libpcap)
    assert all(abs(a.ts - b.ts) < 2e-6 for a, b in zip(sv[0], sv[2]))
    assert all(abs(a.ts - b.ts) < 1e-9 + 1e-7 for a, b in zip(sv[0], sv[1]))


def _until_drained(reader, limit: float = 60.0) -> None:
    """Wait until the reader has taken frames and every block of its ring is read."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if reader.frames > 0 and reader.ring_usage() == 0.0:
            time.sleep(0.2)
            if reader.ring_usage() == 0.0:
                return
        time.sleep(0.1)
    raise AssertionError("the ring was not drained")


def test_forced_kernel_drops_are_capture_loss_not_deletion(tmp_path):
    """A tiny ring that is not read while a burst arrives: the kernel drops frames.  The
    streams then go on (a second burst while the capture reads), so each has a hole in
    its smpCnt sequence.  That is a capture-loss finding, the missing smpCnts are
    ``capture_lost``, and nothing calls them loss on the wire, a deletion or suspicious."""
    # 8 merging units in lockstep; a 2 MiB ring holds about 9,000 frames, so the first
    # burst (8 x 2,600) loses about 1,450 samples per stream: less than half the smpCnt
    # wrap (4,000), so the hole is measurable from smpCnt alone
    streams, per, head = 8, 3100, 2600
    frames = lt.interleave(streams, per)
    first, second = frames[:streams * head], frames[streams * head:]
    with veth_pair("rd") as (tx, rx):
        reader = RingReader(rx, bpf_filter="ether proto 0x88ba", buffer_mb=2, timeout=10.0)
        lt.burst(tx, first)                       # ~3 MB, nobody reads: the 2 MiB ring drops
        result = {}
        th = threading.Thread(target=lambda: result.setdefault("cap", read_capture(reader)))
        th.start()
        _until_drained(reader)
        lt.burst(tx, second)                      # the streams go on, into an empty ring
        th.join(30)
    cap = result["cap"]
    dropped = cap.capture_stats["dropped"]
    assert dropped > 0
    assert cap.frames + dropped == len(frames)
    f = cap.findings()
    assert "capture.dropped" in set(f["code"])
    st = cap.sv_streams()
    assert len(st) == streams
    assert (st["capture_lost"] > 0).all(), (cap.capture_loss, st[["asdus", "lost_samples", "capture_lost"]].to_string())
    assert int((st["capture_lost"] + st["asdus"]).sum()) == len(frames)
    assert int(st["capture_lost"].sum()) == dropped
    assert (st["lost_samples"] == 0).all() and (st["gaps"] == 0).all()
    assert not st["suspicious"].any()
    assert not st["anomalies"].str.contains("deletion").any()
    assert st["anomalies"].str.contains("capture loss").all()


def test_wire_loss_without_capture_loss_is_still_reported(tmp_path):
    """The counterpart: smpCnts missing on the wire while the capture dropped nothing."""
    tpl = lt.sv_template()
    counts = [c for c in range(2000) if not 500 <= c < 540]   # 40 consecutive samples deleted
    frames = lt.stream_frames(1, counts, tpl)
    pcap = str(tmp_path / "gap.pcap")
    lt.write_pcap(pcap, frames)
    with veth_pair("rw") as (tx, rx):
        reader = open_live(rx, bpf_filter="ether proto 0x88ba", timeout=4.0)
        result = {}
        th = threading.Thread(target=lambda: result.setdefault("cap", read_capture(reader)))
        th.start()
        time.sleep(0.5)
        lt.tcpreplay(tx, pcap, 4000)
        th.join(30)
    cap = result["cap"]
    assert cap.capture_stats["dropped"] == 0
    st = cap.sv_streams()
    assert int(st["lost_samples"].iloc[0]) == 40 and int(st["capture_lost"].iloc[0]) == 0
    assert bool(st["suspicious"].iloc[0])


@pytest.mark.slow
def test_load_three_streams_past_the_packing_mark(tmp_path):
    """3 merging units at 7,000 frames/s each for 10 s (past 65,536 frames per stream):
    `sv -i` sees every frame tcpreplay sent, smpCnt continuity intact, 0 kernel drops."""
    import json
    import subprocess
    import sys
    per = 70_000
    frames = lt.interleave(3, per)
    pcap = str(tmp_path / "load.pcap")
    lt.write_pcap(pcap, frames, rate=21000)
    with veth_pair("rl") as (tx, rx):
        proc = subprocess.Popen([sys.executable, "-m", "mmsanalyze", "sv", "-i", rx, "-f", "ether proto 0x88ba",
                                 "-a", "duration:25", "--format", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        time.sleep(6)                             # interpreter start, imports, ring set-up
        sent = lt.tcpreplay(tx, pcap, 21000)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert sent["sent"] == len(frames) and sent["failed"] == 0
    assert "0 dropped by the kernel" in err, err
    rows = json.loads(out)
    assert len(rows) == 3
    for r in rows:
        assert r["asdus"] == per, r
        assert r["lost_samples"] == 0 and r["duplicates"] == 0 and r["out_of_order"] == 0
        assert r["capture_lost"] == 0 and not r["suspicious"]


@pytest.mark.slow
def test_mms_at_ten_thousand_pdus_per_second(tmp_path):
    """A real read-polling session replicated to ~55,000 MMS PDUs, replayed at about
    10,000 PDUs/s: ``pdus -i`` and ``transactions -i`` see every PDU and every
    transaction the same file gives offline, with no kernel drops."""
    import json
    import subprocess
    import sys
    sys.path.insert(0, os.path.join(REPO, "bench"))
    from replicate import replicate
    src = lt.public.path("mms_emre_read_polling.pcap")
    pcap = str(tmp_path / "polling.pcap")
    replicate(src, pcap, 62_000)
    offline = subprocess.run([sys.executable, "-m", "mmsanalyze", "pdus", pcap, "--format", "jsonl"],
                             capture_output=True, text=True, cwd=REPO, check=True).stdout.splitlines()
    offline_tx = json.loads(subprocess.run([sys.executable, "-m", "mmsanalyze", "transactions", pcap,
                                            "--format", "json"], capture_output=True, text=True,
                                           cwd=REPO, check=True).stdout)
    seconds = len(offline) / 10_000
    pps = 62_000 / seconds
    with veth_pair("rm") as (tx, rx):
        # one capture at a time (two would share the 2 cores); output into files, so a
        # full pipe never stalls the capture
        outs, procs = [], []
        for cmd, fmt in (("pdus", "jsonl"), ("transactions", "json")):
            path = tmp_path / f"{cmd}.out"
            with open(path, "w") as fh:
                p = subprocess.Popen([sys.executable, "-m", "mmsanalyze", cmd, "-i", rx, "-f", "tcp port 102",
                                      "-a", "duration:25", "--format", fmt],
                                     stdout=fh, stderr=subprocess.PIPE, text=True, cwd=REPO)
                time.sleep(8)
                sent = lt.tcpreplay(tx, pcap, pps)
                assert sent["sent"] == 62_000 and sent["failed"] == 0
                err = p.communicate(timeout=120)[1]
            procs.append(p)
            outs.append((path.read_text(), err))
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "0 dropped by the kernel" in err, err
    live_pdus = outs[0][0].splitlines()
    assert len(live_pdus) == len(offline) > 50_000
    key = lambda line: (lambda d: (d["stream"], d["pdu"], d["service"], d["invoke_id"]))(json.loads(line))  # noqa: E731
    assert [key(x) for x in live_pdus] == [key(x) for x in offline]
    live_tx = json.loads(outs[1][0])
    assert len(live_tx) == len(offline_tx)
    assert sorted((t["status"], t["service"]) for t in live_tx) == \
        sorted((t["status"], t["service"]) for t in offline_tx)


@pytest.mark.slow
def test_ctrl_c_ends_a_live_table_command_with_its_result(tmp_path):
    """tshark's way: Ctrl-C (SIGINT) stops a live capture and the command prints its
    result for what was captured, with exit status 0 (it used to print nothing, exit 130)."""
    import json
    import signal
    import subprocess
    import sys
    tpl = lt.sv_template()
    frames = lt.stream_frames(3, range(8000), tpl)
    pcap = str(tmp_path / "mu.pcap")
    lt.write_pcap(pcap, frames)
    with veth_pair("rc") as (tx, rx):
        out = tmp_path / "sv.json"
        with open(out, "w") as fh:
            p = subprocess.Popen([sys.executable, "-m", "mmsanalyze", "sv", "-i", rx, "-f", "ether proto 0x88ba",
                                  "--format", "json"], stdout=fh, stderr=subprocess.PIPE, text=True, cwd=REPO)
            time.sleep(6)
            lt.tcpreplay(tx, pcap, 4000)
            time.sleep(1)
            p.send_signal(signal.SIGINT)
            err = p.communicate(timeout=60)[1]
    assert p.returncode == 0, err
    rows = json.loads(out.read_text())
    assert len(rows) == 1 and rows[0]["asdus"] == 8000 and rows[0]["lost_samples"] == 0
    assert "8000 frames captured, 0 dropped by the kernel" in err
