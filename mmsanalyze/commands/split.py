"""``mmsanalyze split``: one self-contained pcapng per association, server, client,
service, logical node, GOOSE publisher or SV stream (see :mod:`mmsanalyze.writeback`)."""

from __future__ import annotations

import sys

from ..cli import dumps, ports_of
from ..errors import CaptureError
from ._common import one_capture_file, require_option
from ..writeback import SPLIT_KEYS, split_capture

HELP = "split a capture into one pcapng per association, server, client, service, LN, GOOSE or SV publisher"


def register(p) -> None:
    p.add_argument("--by", choices=SPLIT_KEYS,
                   help="association (TCP connection), server (IED address:port), client (address), "
                        "service (MMS service, responses with their request), ln (IEC 61850 logical node "
                        "named by the PDU's variables), goose / sv (one file per publisher); required")
    p.add_argument("-o", dest="outdir", metavar="DIR",
                   help="output directory (required) (created when missing; files are never written outside it)")
    p.add_argument("--format", "-T", dest="format", choices=("table", "json"), default="table",
                   help="how to list the files written (default: table)")


def run(args) -> int:
    src = one_capture_file(args, "split")
    require_option(args, "by", "--by KEY", "split", ", ".join(SPLIT_KEYS))
    require_option(args, "outdir", "-o DIR", "split", "the directory the files are written to")
    try:
        files = split_capture(src, args.by, args.outdir, ports_of(args), args.count)
    except OSError as exc:
        raise CaptureError(f"{args.outdir}: cannot write: {exc.strerror or exc}") from None
    if args.format == "json":
        print(dumps(files))
        return 0
    if not files:
        print(f"(no {args.by} groups in {src}: nothing written)")
        return 0
    width = max(len(f["group"]) for f in files)
    print(f"{'group'.ljust(width)}  {'frames':>7}  {'pdus':>6}  file")
    for f in files:
        print(f"{f['group'].ljust(width)}  {f['frames']:>7}  {f['pdus']:>6}  {f['path']}")
    print(f"{len(files)} files written to {args.outdir}", file=sys.stderr)
    return 0
