"""``mmsanalyze goose``: GOOSE publisher health (or every message with --list)."""

from __future__ import annotations

from ._common import add_table_options, emit, load, plot_done

HELP = "GOOSE publishers: stNum/sqNum health, retransmission timing, anomalies (--list: every message)"

STREAMS = ("src_mac", "appid", "gocb_ref", "messages", "events", "heartbeat_ms", "tal_violations",
           "sq_gaps", "st_backwards", "anomalies", "suspicious")
LIST = ("frame", "time", "src_mac", "appid", "gocb_ref", "st_num", "sq_num", "time_allowed_to_live",
        "simulation", "conf_rev", "values", "malformed")


def register(p) -> None:
    add_table_options(p, plot="draw the GOOSE event timeline per publisher to PNG")
    p.add_argument("--list", action="store_true", help="one row per GOOSE message")


def run(args) -> int:
    cap = load(args)
    if cap.goose_collector is None:
        print("GOOSE support is not available in this installation")
        return 1
    if args.list:
        emit(cap.goose(), args, cap, LIST)
    else:
        emit(cap.goose_streams(), args, cap, STREAMS)
    if args.plot:
        from ..analysis.goose import plot_goose_timeline
        plot_done(plot_goose_timeline(cap.goose(), args.plot))
    return 0
