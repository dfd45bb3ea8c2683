"""Benchmark: ``mmsanalyze batch`` over many captures, against one ``summary`` run per capture.

Builds R replicated captures of about N frames each (bench/replicate.py on real sessions
from ../shared/captures/public, rotating over the sessions; each replica a few frames
longer than the previous so that no two files are identical -- identical files would be
skipped as already stored), then measures, each into a fresh store:

* R sequential ``mmsanalyze summary FILE`` runs (one process each, the way a user
  would script it today),
* ``batch -j 1`` (analysed in the batch process itself),
* ``batch -j 2`` (local process pool),
* ``batch --dask local -j 2`` (a dask.distributed LocalCluster of 2 worker processes),

and prints a Markdown table: wall time, frames/s, speed-up against ``-j 1`` and against
the sequential ``summary`` runs, and the peak RSS of the largest process (wait4 rusage:
the batch process or its largest waited-for child -- a pool worker or a Dask worker).

    python bench/bench_batch.py                       # the README's figures: 40 x 50,000 frames
    python bench/bench_batch.py --replicas 6 --frames 10000   # a quick check

Needs the machine's cores free: speed-up with workers is only visible when they are.
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
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, HERE)

from replicate import replicate  # noqa: E402

PUBLIC = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "captures", "public"))
SESSIONS = ["mms_iti_pcapr_reports_identify_write.pcap", "mms_emre_read_polling.pcap",
            "mms_emre_abb_model_browse.pcapng"]


def measure(cmd: list) -> tuple[float, int, str]:
    """(wall s, peak RSS KiB of the largest process, stdout) of a command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{err.decode(errors='replace')}")
    return wall, ru.ru_maxrss, out.decode()


def build_inputs(directory: str, replicas: int, frames: int, sessions: list) -> int:
    total = 0
    for i in range(replicas):
        src = os.path.join(PUBLIC, sessions[i % len(sessions)])
        total += replicate(src, os.path.join(directory, f"replica_{i:03d}.pcap"), frames + i)
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replicas", type=int, default=40)
    ap.add_argument("--frames", type=int, default=50_000, help="frames per replica (about)")
    ap.add_argument("--sessions", nargs="+", default=SESSIONS)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-summary", action="store_true", help="do not time the sequential summary runs")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--keep", metavar="DIR", help="build inputs and stores in DIR and keep them")
    a = ap.parse_args(argv)
    py = sys.executable
    work = a.keep or tempfile.mkdtemp(prefix="bench_batch_")
    os.makedirs(work, exist_ok=True)
    inputs = os.path.join(work, "in")
    try:
        if not os.path.isdir(inputs) or len(os.listdir(inputs)) != a.replicas:
            shutil.rmtree(inputs, ignore_errors=True)
            os.makedirs(inputs)
            t0 = time.perf_counter()
            total = build_inputs(inputs, a.replicas, a.frames, a.sessions)
            print(f"built {a.replicas} captures, {total} frames in {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)
        files = sorted(os.path.join(inputs, f) for f in os.listdir(inputs))
        rows = []
        seq = None
        if not a.skip_summary:
            wall, rss = 0.0, 0
            for f in files:
                w, r, _ = measure([py, "-m", "mmsanalyze", "summary", f])
                wall += w
                rss = max(rss, r)
            seq = wall
            rows.append((f"{a.replicas} x `summary` (sequential)", wall, rss, None))
        configs = [("batch -j 1", ["-j", "1"]), (f"batch -j {a.workers}", ["-j", str(a.workers)])]
        if not a.no_dask:
            configs.append((f"batch --dask local -j {a.workers}", ["--dask", "local", "-j", str(a.workers)]))
        frames = None
        for label, opts in configs:
            store = os.path.join(work, "store_" + label.replace(" ", "_").replace("-", ""))
            shutil.rmtree(store, ignore_errors=True)
            wall, rss, out = measure([py, "-m", "mmsanalyze", "batch", inputs, "--out", store, *opts])
            n = int(out.split(";")[1].split()[0])        # "... failed; N frames in ..."
            if not out.startswith(f"{a.replicas} analysed"):
                raise SystemExit(f"{label}: unexpected output {out!r}")
            frames = n
            rows.append((f"`{label}`", wall, rss, n))
        base = next(r[1] for r in rows if r[0] == "`batch -j 1`")
        print(f"\n{a.replicas} captures, {frames} frames (sessions: {', '.join(a.sessions)}); "
              f"{os.cpu_count()} CPUs\n")
        print("| run | wall s | frames/s | speed-up vs -j 1 | speed-up vs sequential summary | peak RSS MiB |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, wall, rss, _ in rows:
            fps = frames / wall if frames else float("nan")
            vs_seq = f"{seq / wall:.2f}x" if seq else "-"
            print(f"| {label} | {wall:.2f} | {fps:,.0f} | {base / wall:.2f}x | {vs_seq} | {rss / 1024:.0f} |")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
