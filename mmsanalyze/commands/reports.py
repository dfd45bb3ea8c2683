"""``mmsanalyze reports``: IEC 61850 report cadence per RptID (or every report with --list)."""

from __future__ import annotations

from ._common import add_table_options, emit, load, plot_done

HELP = "IEC 61850 reports: cadence and health per RptID (intervals, integrity period, SeqNum gaps)"

CADENCE = ("stream", "server", "rpt_id", "reports", "interval_p50_ms", "interval_max_ms",
           "integrity_period_ms", "seq_gaps", "seq_lost", "seq_duplicates", "seq_restarts", "buf_ovfl",
           "segmented", "incomplete", "data_change", "quality_change", "integrity", "general_interrogation")
LIST = ("frame", "time", "stream", "rpt_id", "seq_num", "sub_seq_num", "dataset", "entry_id", "conf_rev",
        "members", "reasons", "malformed")


def register(p) -> None:
    add_table_options(p, plot="draw the interval between consecutive reports per RptID to PNG")
    p.add_argument("--list", action="store_true", help="one row per report PDU instead of the cadence")
    p.add_argument("--reassemble", action="store_true", help="with --list: merge segmented reports")
    p.add_argument("--rpt-id", action="append", metavar="ID", help="only these RptIDs; repeatable")


def run(args) -> int:
    cap = load(args)
    if args.list:
        df = cap.reports(reassemble=args.reassemble)
        default = LIST
    else:
        df = cap.report_cadence()
        default = CADENCE
    if args.rpt_id:
        df = df[df["rpt_id"].isin(args.rpt_id)].reset_index(drop=True)
    emit(df, args, cap, default)
    if args.plot:
        from ..plots import plot_report_intervals
        rep = cap.reports(reassemble=True)
        if args.rpt_id:
            rep = rep[rep["rpt_id"].isin(args.rpt_id)]
        plot_done(plot_report_intervals(rep, args.plot, t0=cap.first_time))
    return 0
