"""``mmsanalyze security``: communication matrix, security findings, firewall allowlist export."""

from __future__ import annotations

import sys

from ..errors import CaptureError
from ._common import add_table_options, emit, filter_rows, load, records, select, text_table

HELP = ("security posture: communication matrix, authentication, dangerous operations, process-bus "
        "integrity (--export-allowlist nft|iptables|csv: firewall rules for the observed MMS flows)")

MATRIX = ("client", "server", "port", "transport", "connections", "services", "requests", "bytes", "auth",
          "tls_version", "public", "allowed", "ied")
FINDINGS = ("severity", "group", "code", "subject", "message", "count", "first_frame", "frames")

#: Where the SCL loader (another module) provides the inputs: ``security_inputs(path) ->
#: ({ip: ied_name}, {control object: ctlModel})``.
SCL_HOOK = ("mmsanalyze.scl", "security_inputs")


def register(p) -> None:
    add_table_options(p)
    p.add_argument("--allow", metavar="FILE",
                   help="expected flows: CSV client,server,port[,comment] (as --export-allowlist csv writes)")
    if "--scl" not in p._option_string_actions:     # the SCL work may add --scl to every command
        p.add_argument("--scl", metavar="FILE",
                       help="SCL file: ConnectedAP addresses (declared peers, IED names) and ctlModels")
    p.add_argument("--export-allowlist", metavar="FORMAT", choices=("nft", "iptables", "csv"),
                   help="print the observed MMS matrix as nft / iptables rules or allowlist CSV, and nothing else")
    p.add_argument("--matrix", action="store_true", help="show only the communication matrix table")
    p.add_argument("--min-severity", choices=("info", "low", "medium", "high", "critical"), default="info",
                   help="hide findings below this severity (default: show all)")


def scl_inputs(path):
    """``(allowed_addresses, ctl_models)`` from an SCL file through :data:`SCL_HOOK`."""
    import importlib
    try:
        fn = getattr(importlib.import_module(SCL_HOOK[0]), SCL_HOOK[1])
    except (ImportError, AttributeError):
        raise CaptureError(f"--scl {path}: SCL support ({SCL_HOOK[0]}.{SCL_HOOK[1]}) is not available "
                           "in this installation; use --allow FILE") from None
    return fn(path)


def run(args) -> int:
    from ..analysis import security as S
    allow = addresses = ctl_models = None
    if args.allow:
        try:
            allow = S.read_allowlist(args.allow)
        except OSError as e:
            raise CaptureError(f"--allow {args.allow}: {e.strerror or e}") from None
        except ValueError as e:
            raise CaptureError(f"--allow {args.allow}: {e}") from None
    if getattr(args, "scl", None):
        addresses, ctl_models = scl_inputs(args.scl)
    cap = load(args)
    findings, matrix = cap.security(allow=allow, allowed_addresses=addresses, ctl_models=ctl_models)
    if args.export_allowlist:
        fmt = {"nft": S.allowlist_nft, "iptables": S.allowlist_iptables, "csv": S.allowlist_csv}
        sys.stdout.write(fmt[args.export_allowlist](matrix))
        return 0
    keep = S.SEVERITIES[S.SEVERITIES.index(args.min_severity):]
    findings = findings[findings["severity"].isin(keep).to_numpy(dtype=bool)].reset_index(drop=True)
    if args.matrix:
        emit(matrix, args, cap, MATRIX)
        return 0
    if args.format == "json":
        if args.output:
            emit(findings, args, cap, FINDINGS, out=_Null())
        from ..cli import dumps
        shown = filter_rows(findings, args, cap.first_time)          # -Y: on the findings, as in csv
        sys.stdout.write(dumps({"matrix": records(matrix), "findings": records(select(shown, args))}) + "\n")
        return 0
    if args.format == "csv":
        emit(findings, args, cap, FINDINGS)
        return 0
    if args.columns:                   # asked-for columns: the findings as a table of them
        emit(findings, args, cap, FINDINGS)
        return 0
    out = sys.stdout
    findings_all, findings = findings, filter_rows(findings, args, cap.first_time)     # -Y: the findings
    out.write("Communication matrix (client -> server)\n")
    out.write(text_table(matrix[[c for c in MATRIX if c in matrix.columns]], cap.first_time) + "\n\n")
    if args.output:
        emit(findings_all, args, cap, FINDINGS, out=_Null())
    if not len(findings):
        out.write("Findings: none\n")
        return 0
    counts = findings["severity"].value_counts()
    out.write("Findings: " + ", ".join(f"{counts[s]} {s}" for s in reversed(S.SEVERITIES) if s in counts) + "\n")
    for group in S.GROUPS:
        g = findings[(findings["group"] == group).to_numpy(dtype=bool)]
        if not len(g):
            continue
        out.write(f"\n{group}\n")
        for r in g.itertuples(index=False):
            frames = ", ".join(map(str, r.frames[:8])) + (" ..." if len(r.frames) > 8 else "")
            out.write(f"  [{r.severity:<8}] {r.code}  {r.subject}\n      {r.message}\n      frames: {frames}\n")
    return 0


class _Null:
    def write(self, _):
        pass
