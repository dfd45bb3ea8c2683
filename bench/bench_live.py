"""Live load test: does `monitor -i` see every frame of a busy process bus?

On a veth pair (root), for each configuration:

* N merging units at 4,000 9-2LE frames/s each (a real merging unit's frame, one APPID
  and source MAC per stream, smpCnt running on), replayed by tcpreplay at N x 4,000
  frames/s -- a C-speed sender that counts what it sent;
* 4 GOOSE publishers (libiec61850's GoosePublisher) with a heartbeat every 100 ms and a
  state change every 2 s, counted at the sender;
* a real MMS read-polling session (``mms_emre_read_polling.pcap``, replicated) replayed
  at 1,000 frames/s;

while ``mmsanalyze monitor -i RX --format json`` (optionally with ``-w``) captures for
``--seconds``.  Reported: frames sent and seen per kind, SV samples lost, kernel drops,
and the monitor's CPU use (user + system seconds per second of capture).  ``--sweep``
raises the number of merging units until the kernel drops frames.

    sudo python bench/bench_live.py --seconds 20 --streams 3 8 [--write] [--sweep]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path[:0] = [REPO, os.path.join(REPO, "tests"), HERE]

import live_traffic as lt  # noqa: E402
from l2_publish import GoosePub, veth_pair  # noqa: E402
from replicate import replicate  # noqa: E402

SV_RATE = 4000


def goose_publishers(tx, seconds, stop, counts):
    pubs = [GoosePub(tx, 0x3000 + i, f"BENCH{i}LD0/LLN0$GO$gcb", f"BENCH{i}LD0/LLN0$DS",
                     go_id=f"bench{i}", tal=300) for i in range(4)]
    counts.extend([0] * len(pubs))
    t0 = time.monotonic()
    state = False
    next_change = t0 + 2.0
    try:
        while not stop.is_set() and time.monotonic() - t0 < seconds:
            if time.monotonic() >= next_change:
                state = not state
                for p in pubs:
                    p.increase_st_num()
                next_change += 2.0
            for i, p in enumerate(pubs):
                p.publish([state])
                counts[i] += 1
            time.sleep(0.1)
    finally:
        for p in pubs:
            p.close()


def run_once(streams: int, seconds: float, write: bool, workdir: str) -> dict:
    per = int(SV_RATE * seconds)
    sv_pcap = os.path.join(workdir, f"sv{streams}.pcap")
    lt.write_pcap(sv_pcap, lt.interleave(streams, per), rate=SV_RATE * streams)
    mms_pcap = os.path.join(workdir, "mms.pcap")
    if not os.path.exists(mms_pcap):
        replicate(lt.public.path("mms_emre_read_polling.pcap"), mms_pcap, int(1000 * seconds))
    out = os.path.join(workdir, "monitor.json")
    ring = tempfile.mkdtemp(prefix="bench-ring-", dir="/tmp")
    os.chmod(ring, 0o777)
    with veth_pair("bl") as (tx, rx):
        cmd = [sys.executable, "-m", "mmsanalyze", "monitor", "-i", rx, "--format", "json",
               "-a", f"duration:{seconds + 10}"]
        if write:
            cmd += ["-w", os.path.join(ring, "bench.pcapng"), "-b", "filesize:200000,files:3"]
        with open(out, "w") as fh:
            mon = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.PIPE, text=True, cwd=REPO)
            cpu_seen = [0.0]

            def watch():                           # the monitor's own CPU (user + system)
                tick = os.sysconf("SC_CLK_TCK")
                while mon.poll() is None:
                    try:
                        f = open(f"/proc/{mon.pid}/stat").read().rsplit(")", 1)[1].split()
                        cpu_seen[0] = (int(f[11]) + int(f[12])) / tick
                    except (OSError, IndexError, ValueError):
                        pass
                    time.sleep(0.25)
            threading.Thread(target=watch, daemon=True).start()
            time.sleep(6)                      # imports, ring, privileges
            stop = threading.Event()
            goose_counts: list = []
            g = threading.Thread(target=goose_publishers, args=(tx, seconds, stop, goose_counts))
            m_res = {}
            m = threading.Thread(target=lambda: m_res.update(lt.tcpreplay(tx, mms_pcap, 1000)))
            g.start()
            m.start()
            sv = lt.tcpreplay(tx, sv_pcap, SV_RATE * streams)
            g.join()
            m.join()
            err = mon.communicate(timeout=seconds + 120)[1]
    cpu = cpu_seen[0]
    snap = json.load(open(out))
    from mmsanalyze import read_capture
    tx = read_capture(mms_pcap).transactions()
    mms_expected = int(tx["request_frame"].notna().sum())
    seen_sv = sum(s["asdus"] for s in snap["sv"] if s["appid"] and 0x4100 <= s["appid"] < 0x4200)
    seen_goose = sum(x["messages"] for x in snap["goose"] if x["gocb_ref"].startswith("BENCH"))
    result = {
        "streams": streams, "seconds": seconds, "write": write,
        "sv_sent": sv["sent"], "sv_seen": seen_sv,
        "sv_lost": sum(s["lost_samples"] for s in snap["sv"]),
        "goose_sent": sum(goose_counts), "goose_seen": seen_goose,
        "mms_frames_sent": m_res.get("sent"), "mms_requests_seen": sum(s["requests"] for s in snap["mms"]),
        "mms_requests_in_file": mms_expected,
        "kernel_dropped": snap["capture"].get("dropped"), "kernel_received": snap["capture"].get("received"),
        "monitor_cpu_s": round(cpu, 1), "capture_s": seconds + 10,
        "cpu_share": round(cpu / (seconds + 10), 3),
        "stderr": err.strip().splitlines()[-1:] if err.strip() else [],
    }
    subprocess.run(["rm", "-rf", ring])
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--streams", type=int, nargs="+", default=[3, 8])
    ap.add_argument("--write", action="store_true", help="also run each configuration with -w")
    ap.add_argument("--sweep", action="store_true", help="add merging units until the kernel drops")
    args = ap.parse_args(argv)
    if not lt.can_replay():
        print("needs root, tcpreplay and ../shared", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="bench-live-")
    rows = []
    for n in args.streams:
        for w in ([False, True] if args.write else [False]):
            r = run_once(n, args.seconds, w, work)
            rows.append(r)
            print(json.dumps(r), flush=True)
    if args.sweep:
        n = max(args.streams)
        while n < 64:
            n += 4
            r = run_once(n, min(args.seconds, 10), False, work)
            print(json.dumps(r), flush=True)
            if r["kernel_dropped"] or r["sv_seen"] < r["sv_sent"]:
                print(f"drops begin at {n} merging units ({n * SV_RATE} SV frames/s)", flush=True)
                break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
