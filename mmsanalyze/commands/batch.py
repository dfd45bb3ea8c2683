"""``mmsanalyze batch INPUTS... --out STORE``: many captures into one Parquet store."""

from __future__ import annotations

import os
import sys

from ..cli import ports_of
from ..errors import CaptureError

HELP = "analyse many captures (files, directories, globs) into a Parquet store (-j N workers or --dask)"


def _retitle_positional(p, metavar: str, help: str) -> None:
    """The shared positional (``captures``, nargs="*", added by cli._add_source) under this
    command's name: argparse would give every positional to the first ``*`` positional, so
    batch takes its inputs from it instead of declaring a second one."""
    for a in p._actions:
        if a.dest == "captures":
            a.metavar, a.help = metavar, help


def register(p) -> None:
    _retitle_positional(p, "INPUT", "capture files, directories (walked recursively) or glob patterns "
                                    "('dir/**/*.pcapng'); -r FILE is one more input")
    p.add_argument("--out", "-O", dest="out", metavar="STORE", required=True,
                   help="store directory (created when missing; captures already in it are skipped)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="worker processes (default: number of CPUs)")
    p.add_argument("--dask", metavar="SCHEDULER",
                   help="run the captures on a dask.distributed cluster: 'local' (a LocalCluster of -j "
                        "worker processes) or a scheduler address tcp://host:8786; STORE must be a path "
                        "every worker sees")
    p.add_argument("--continuous", action="store_true",
                   help="the inputs are rotated files of one capture: read them as one, ordered by first "
                        "frame time (connections, reports and streams crossing files are matched once)")
    p.add_argument("--no-recursive", dest="recursive", action="store_false",
                   help="do not descend into subdirectories of directory inputs")


def run(args) -> int:
    from ._common import show_progress, source_files
    from ..store.batch import run_batch
    if args.interface:
        raise CaptureError("batch reads capture files, not a live interface")
    inputs = source_files(args)           # -r FILE, then every positional input
    if "-" in inputs:
        raise CaptureError("batch reads capture files, not standard input (-)")
    if not inputs:
        raise CaptureError("no inputs given (capture files, directories or glob patterns)")
    if args.jobs < 1:
        raise CaptureError("-j needs at least 1 worker")
    res = run_batch(inputs, args.out, jobs=args.jobs, dask=args.dask, continuous=args.continuous,
                    ports=ports_of(args), progress=show_progress(), recursive=args.recursive)
    out = sys.stdout
    for row in res.failed:
        out.write(f"failed: {row['path']}: {row['error']}\n")
    for w in res.warnings:
        print(f"mmsanalyze batch: warning: {w}", file=sys.stderr)
    if res.superseded:
        out.write(f"superseded (replaced by the new rotated set): {', '.join(res.superseded)}\n")
    rate = res.frames / res.seconds if res.seconds > 0 else 0.0
    out.write(f"{len(res.analysed)} analysed, {len(res.skipped)} skipped (already in the store), "
              f"{len(res.failed)} failed; {res.frames} frames in {res.seconds:.1f} s "
              f"({rate:.0f} frames/s) -> {args.out}\n")
    if res.interrupted:
        print("mmsanalyze batch: interrupted; the store is consistent, run the same command again to "
              "complete it", file=sys.stderr)
        return 130
    return 1 if res.failed else 0
