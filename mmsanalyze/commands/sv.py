"""``mmsanalyze sv``: Sampled Values stream health (or every ASDU with --list)."""

from __future__ import annotations

from ._common import add_table_options, emit, load, plot_done

HELP = "Sampled Values streams: rate, smpCnt continuity, timing (--list: every ASDU)"

STREAMS = ("sv_id", "appid", "src_mac", "asdus", "rate", "smp_rate", "lost_samples", "gaps", "capture_lost",
           "duplicates",
           "out_of_order", "interval_mean_us", "interval_max_us", "anomalies", "suspicious")
LIST = ("frame", "time", "src_mac", "appid", "sv_id", "smp_cnt", "conf_rev", "smp_synch", "malformed")


def register(p) -> None:
    add_table_options(p, plot="draw SV arrival intervals and smpCnt continuity to PNG")
    p.add_argument("--list", action="store_true", help="one row per ASDU")


def run(args) -> int:
    cap = load(args)
    if cap.sv_collector is None:
        print("SV support is not available in this installation")
        return 1
    if args.list:
        emit(cap.sv(), args, cap, LIST)
    else:
        emit(cap.sv_streams(), args, cap, STREAMS)
    if args.plot:
        from ..analysis.sv import plot_sv_intervals
        plot_done(plot_sv_intervals(cap.sv(), args.plot))
    return 0
