"""``mmsanalyze transactions``: every confirmed request with its response, status and latency."""

from __future__ import annotations

from ._common import add_table_options, emit, load, plot_done

HELP = "confirmed requests matched with their responses: status, error, latency"

TABLE = ("request_frame", "request_time", "stream", "requester", "invoke_id", "service", "object",
         "status", "error_code", "latency_ms", "response_frame")


def register(p) -> None:
    add_table_options(p, plot="draw latency over time (one marker per transaction, by service) to PNG")
    p.add_argument("--status", action="append", metavar="S",
                   help="only these statuses (ok, error, rejected, cancelled, unanswered); repeatable")
    p.add_argument("--service", action="append", metavar="NAME", help="only these services; repeatable")
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
        from ..plots import plot_latency_over_time
        plot_done(plot_latency_over_time(df, args.plot, t0=cap.first_time))
    return 0
