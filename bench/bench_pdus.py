"""Benchmark: ``mmsanalyze pdus --format jsonl`` against ``tshark -Y mms -T fields`` (21 fields).

For each source session (real captures from ../shared/captures/public) it builds
replicated captures of N frames (bench/replicate.py: shifted timestamps, one TCP
4-tuple per replica), runs both tools with their output to /dev/null, and reports
wall time, CPU time and peak RSS (from wait4's rusage, children included: the pool
workers count).  Two sizes show whether memory grows with the file.

    python bench/bench_pdus.py [--frames 100000 200000] [--sessions a.pcap b.pcapng] [--repeat 3]

Prints a Markdown table (paste it into the README).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

from replicate import replicate  # noqa: E402

PUBLIC = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "captures", "public"))
SESSIONS = ["mms_emre_read_polling.pcap", "mms_iti_pcapr_reports_identify_write.pcap",
            "mms_emre_abb_model_browse.pcapng"]
TSHARK_FIELDS = ["frame.number", "frame.time_epoch", "tcp.stream", "ip.src", "tcp.srcport", "ip.dst",
                 "tcp.dstport", "mms.confirmed_RequestPDU_element", "mms.confirmed_ResponsePDU_element",
                 "mms.unconfirmed_PDU_element", "mms.invokeID", "mms.confirmedServiceRequest",
                 "mms.confirmedServiceResponse", "mms.unconfirmedService", "mms.domainId", "mms.itemId",
                 "mms.vmd_specific", "mms.errorClass", "mms.failure", "mms.integer",
                 "mms.data.visible-string"]


def measure(cmd: list) -> tuple[float, float, int]:
    """(wall s, user+sys CPU s, peak RSS KiB: the process or its largest waited-for child)."""
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def count_lines(cmd: list) -> int:
    """Lines a command prints, streamed (holding the output would inflate this process,
    and a child forked from a big parent starts with the parent's peak RSS)."""
    n = 0
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
            n += chunk.count(b"\n")
    return n


def best(cmd: list, repeat: int):
    runs = [measure(cmd) for _ in range(repeat)]
    wall = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    rss = max(r[2] for r in runs)
    return wall, cpu, rss


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[100_000, 200_000])
    ap.add_argument("--sessions", nargs="+", default=SESSIONS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", help="directory for the generated captures (default: a temp dir)")
    a = ap.parse_args(argv)
    tshark = shutil.which("tshark")
    if not tshark:
        raise SystemExit("tshark not found (apt-get install tshark)")
    work = a.keep or tempfile.mkdtemp(prefix="mmsbench")
    os.makedirs(work, exist_ok=True)
    fields = [x for f in TSHARK_FIELDS for x in ("-e", f)]
    print(f"| session | frames | MMS PDUs | mmsanalyze wall s | tshark wall s | speed-up | "
          f"mmsanalyze peak RSS MiB | tshark peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for sess in a.sessions:
        for n in a.frames:
            cap = os.path.join(work, f"{os.path.splitext(sess)[0]}_{n}.pcap")
            if not os.path.exists(cap):
                replicate(os.path.join(PUBLIC, sess), cap, n)
            ours_cmd = [sys.executable, "-m", "mmsanalyze", "pdus", cap, "--format", "jsonl"]
            pdus = count_lines(ours_cmd)
            w1, c1, r1 = best(ours_cmd, a.repeat)
            w2, c2, r2 = best([tshark, "-n", "-r", cap, "-Y", "mms", "-T", "fields"] + fields, a.repeat)
            print(f"| {sess} | {n:,} | {pdus:,} | {w1:.2f} (CPU {c1:.2f}) | {w2:.2f} (CPU {c2:.2f}) | "
                  f"{w2 / w1:.2f}x | {r1 / 1024:.0f} | {r2 / 1024:.0f} |", flush=True)
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
