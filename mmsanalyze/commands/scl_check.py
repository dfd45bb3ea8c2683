"""``mmsanalyze scl-check CAPTURE --scl FILE``: configured (SCL) versus observed (capture)."""

from __future__ import annotations

import sys

from ._common import add_table_options, check_sources, emit, load, require_option

HELP = "compare a capture with its SCL file: GoCB/SVCB/RCB seen, APPID/MAC/VLAN/confRev/data sets, unknown publishers"

DEFAULT = ("severity", "kind", "object", "check", "configured", "observed", "result", "message")


def register(p) -> None:
    add_table_options(p)
    p.add_argument("--problems", action="store_true", help="only rows that are not a match (info and warnings)")


def run(args) -> int:
    check_sources(args)            # bad input: the same line as every command's
    require_option(args, "scl", "--scl FILE", "scl-check", "the SCL file the capture is compared with")
    cap = load(args)
    from ..scl.compare import verdict
    df = cap.scl_check()
    rows = df.to_dict("records")
    if args.problems:
        df = df[df["severity"] != "ok"]
    n = {k: int(v) for k, v in df["severity"].value_counts().items()} if len(df) else {}
    title = (f"{cap.name} vs {cap.scl.path} ({cap.scl.edition}): {verdict(rows)}; "
             + ", ".join(f"{v} {k}" for k, v in n.items()))
    emit(df, args, cap, DEFAULT, title=title)
    if args.format == "table":
        sys.stdout.flush()
    return 0
