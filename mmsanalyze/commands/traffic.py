"""``mmsanalyze traffic``: frames, bytes and share per protocol; per second or per source."""

from __future__ import annotations

from ._common import add_table_options, emit, load, plot_done

HELP = "traffic per protocol (MMS, GOOSE, SV, other): frames, bytes, share; --by second|source"


def register(p) -> None:
    add_table_options(p, plot="draw the traffic breakdown over time (bit/s per protocol) to PNG")
    p.add_argument("--by", choices=("second", "source"), help="split per second or per source address")


def run(args) -> int:
    cap = load(args)
    emit(cap.traffic(by=args.by), args, cap)
    if args.plot:
        from ..plots import plot_traffic
        plot_done(plot_traffic(cap.traffic(by="second"), args.plot, t0=cap.first_time))
    return 0
