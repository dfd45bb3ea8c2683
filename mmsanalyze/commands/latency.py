"""``mmsanalyze latency``: response-time statistics per service and per server, slowest requests."""

from __future__ import annotations

import sys

from ..cli import dumps, positive_int
from ._common import add_table_options, emit, load, plot_done, records, text_table

HELP = "latency statistics (count, min, p50, p90, p99, max) per service and server, slowest requests"

SLOW = ("request_frame", "request_time", "stream", "server", "invoke_id", "service", "object", "status",
        "latency_ms")


def register(p) -> None:
    add_table_options(p, plot="draw the latency distribution per service to PNG")
    p.add_argument("--by", choices=("service", "server", "server_service"), default=None,
                   help="one grouping only (csv/json/--output use 'service' unless given)")
    p.add_argument("--slowest", type=positive_int, default=10, metavar="N", help="how many slowest transactions (10)")
    p.add_argument("--plot-time", metavar="PNG", help="draw latency over time to PNG")


def run(args) -> int:
    cap = load(args)
    tx = cap.transactions()
    plain = not (args.by or args.columns or args.filter)
    if args.format == "table" and plain:
        out = sys.stdout
        out.write(text_table(cap.latency_stats("service")) + "\n\nper server\n")
        out.write(text_table(cap.latency_stats("server")) + "\n\n")
        out.write(f"slowest {args.slowest}\n")
        out.write(text_table(cap.slowest(args.slowest)[list(SLOW)], cap.first_time, args.time_format) + "\n")
        if args.output:
            from ._common import write_output
            write_output(cap.latency_stats("service"), args.output)
    elif args.format == "json" and plain:
        if args.output:
            from ._common import write_output
            write_output(cap.latency_stats("service"), args.output)
        sys.stdout.write(dumps({"by_service": records(cap.latency_stats("service")),
                                "by_server": records(cap.latency_stats("server")),
                                "slowest": records(cap.slowest(args.slowest))}) + "\n")
    else:
        emit(cap.latency_stats(args.by or "service"), args, cap)
    if args.plot:
        from ..plots import plot_latency_distribution
        plot_done(plot_latency_distribution(tx, args.plot))
    if args.plot_time:
        from ..plots import plot_latency_over_time
        plot_done(plot_latency_over_time(tx, args.plot_time, t0=cap.first_time))
    return 0
