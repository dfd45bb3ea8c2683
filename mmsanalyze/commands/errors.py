"""``mmsanalyze errors``: error occurrences grouped by kind, code and server (or listed)."""

from __future__ import annotations

from ..analysis.errors import KINDS
from ._common import add_table_options, emit, load

HELP = "errors (service, data-access, reject, abort, LastApplError ...) grouped by kind, code and server"

#: The kinds of the errors view: the MMS error kinds plus ``ied-mode`` (the IED mode, test
#: and simulation findings the view appends, see mmsanalyze.analysis.modes.error_rows).
ALL_KINDS = KINDS + ("ied-mode",)

LIST = ("frame", "time", "stream", "sender", "kind", "service", "invoke_id", "error_class", "error_code",
        "object")


def register(p) -> None:
    add_table_options(p)
    p.add_argument("--list", action="store_true", help="one row per error occurrence instead of groups")
    p.add_argument("--kind", action="append", metavar="K", choices=ALL_KINDS,
                   help=f"only these kinds ({', '.join(ALL_KINDS)}); repeatable")


def grouped(df):
    """Counts per (kind, error_class, error_code, server), with first frame and example objects."""
    import pandas as pd
    from ..analysis._table import build
    spec = {"kind": ("string", ""), "error_class": ("string", ""), "error_code": ("string", ""),
            "server": ("string", ""), "count": ("Int64", ""), "first_frame": ("Int64", ""),
            "services": ("object", ""), "objects": ("object", "")}
    if len(df) == 0:
        return build(spec, {})
    keys = ["kind", "error_class", "error_code", "server"]
    g = df.assign(**{k: df[k].fillna("") for k in keys}).groupby(keys, sort=False)
    rows = []
    for key, part in g:
        objs = [o for o in pd.unique(part["object"].dropna())][:3]
        svcs = [s for s in pd.unique(part["service"].dropna())]
        rows.append((*[k or None for k in key], len(part), int(part["frame"].min()), svcs, objs))
    rows.sort(key=lambda r: (-r[4], r[0] or "", r[2] or ""))
    return build(spec, {k: [r[i] for r in rows] for i, k in enumerate(spec)})


def run(args) -> int:
    cap = load(args)
    from ..analysis.modes import error_rows
    df = error_rows(cap.errors(), cap.ied_mode_findings())     # + kind ied-mode (Mod/Beh/test/simulation)
    if args.kind:
        df = df[df["kind"].isin(args.kind)].reset_index(drop=True)
    if args.list:
        emit(df, args, cap, LIST)
    else:
        emit(grouped(df), args, cap)
    return 0
