"""``mmsanalyze transactions``: every confirmed request with its response, status and latency."""

from __future__ import annotations

from ..analysis.transactions import STATUSES
from ..mms import CONFIRMED_SERVICES
from ._common import add_table_options, emit, load, plot_done

#: Confirmed service names --service accepts (ISO 9506 ASN.1 identifiers).
SERVICES = tuple(sorted(set(CONFIRMED_SERVICES.values())))

HELP = "confirmed requests matched with their responses: status, error, latency"

TABLE = ("request_frame", "request_time", "stream", "requester", "invoke_id", "service", "object",
         "status", "error_code", "latency_ms", "response_frame", "values")


def register(p) -> None:
    add_table_options(p, plot="draw the outcome timeline (one lane per service, one mark per request "
                              "shaped by status) to PNG; latency over time is `latency --plot-time`")
    p.add_argument("--status", action="append", metavar="S", choices=STATUSES,
                   help=f"only these statuses ({', '.join(STATUSES)}); repeatable")
    p.add_argument("--service", action="append", metavar="NAME", choices=SERVICES,
                   help="only these confirmed services (read, write, getNameList ...); repeatable")
    p.add_argument("--failed", action="store_true", help="only transactions whose status is not ok")


def run(args) -> int:
    cap = load(args)
    df = cap.transactions()
    if args.status:
        df = df[df["status"].isin(args.status)]
    if args.service:
        df = df[df["service"].isin(args.service)]
    if args.failed:
        df = df[df["status"] != "ok"]
    df = df.reset_index(drop=True)
    emit(df, args, cap, TABLE)
    if args.plot:
        from ..plots import plot_transaction_outcomes
        plot_done(plot_transaction_outcomes(df, args.plot, t0=cap.first_time))
    return 0
