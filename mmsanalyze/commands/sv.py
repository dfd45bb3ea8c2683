"""``mmsanalyze sv``: Sampled Values stream health (or every ASDU with --list).

Signal views (:mod:`mmsanalyze.analysis.sv_signals`): ``--rms`` RMS per cycle,
``--phasors`` fundamental phasors, sequence components and frequency per cycle,
``--waveform PNG`` the waveforms, ``--comtrade DIR`` one COMTRADE record per stream;
``--stream ID`` (stream number, svID or APPID) and ``--from T --to T`` (seconds
since the first frame, as the table times) narrow all four.
"""

from __future__ import annotations

import math
import sys

from ..errors import CaptureError
from ._common import add_table_options, emit, load, plot_done

HELP = "Sampled Values streams: rate, smpCnt continuity, timing (--list: every ASDU)"

STREAMS = ("sv_id", "appid", "src_mac", "asdus", "rate", "smp_rate", "lost_samples", "gaps", "capture_lost",
           "duplicates",
           "out_of_order", "interval_mean_us", "interval_max_us", "anomalies", "suspicious")
LIST = ("frame", "time", "src_mac", "appid", "sv_id", "smp_cnt", "conf_rev", "smp_synch", "malformed")
RMS = ("stream", "sv_id", "cycle", "time", "samples", "ia", "ib", "ic", "in", "va", "vb", "vc", "vn")
PHASORS = ("stream", "cycle", "time", "frequency", "ia_mag", "ia_ang", "ib_mag", "ic_mag", "va_mag",
           "va_ang", "vb_mag", "vc_mag", "i1_mag", "i2_mag", "i0_mag", "v1_mag", "v2_mag", "v0_mag")


def register(p) -> None:
    add_table_options(p, plot="draw SV arrival intervals and smpCnt continuity to PNG")
    p.add_argument("--list", action="store_true", help="one row per ASDU")
    p.add_argument("--rms", action="store_true", help="RMS of each channel per nominal cycle")
    p.add_argument("--phasors", action="store_true",
                   help="fundamental phasors, sequence components and frequency per cycle")
    p.add_argument("--frequency", choices=("nominal", "measured"), default="nominal",
                   help="--phasors: DFT at the nominal frequency (default) or the measured one")
    p.add_argument("--nominal-frequency", type=float, metavar="HZ",
                   help="nominal frequency (default: 50 or 60 Hz, from smpRate and the measured rate)")
    p.add_argument("--waveform", metavar="PNG", help="draw the streams' waveforms to PNG")
    p.add_argument("--comtrade", metavar="DIR",
                   help="write one COMTRADE 2013 record (.cfg + binary .dat) per stream into DIR")
    p.add_argument("--stream", metavar="ID", help="only this stream: number, svID or APPID (0x4000)")
    p.add_argument("--from", dest="t_from", type=float, metavar="T",
                   help="signal views from T seconds after the first frame")
    p.add_argument("--to", dest="t_to", type=float, metavar="T",
                   help="signal views up to T seconds after the first frame")


def _window(cap, args):
    t0 = cap.first_time or 0.0
    start = None if args.t_from is None else t0 + args.t_from
    end = None if args.t_to is None else t0 + args.t_to
    if start is not None and end is not None and end < start:
        raise CaptureError("--to is before --from")
    return start, end


def _rows(df, streams, start, end):
    keep = df["stream"].isin([s.stream for s in streams]).to_numpy(dtype=bool, na_value=False)
    t = df["time"].to_numpy()
    if start is not None:
        keep &= t >= start - 1e-9
    if end is not None:
        keep &= t <= end + 1e-9
    return df[keep].reset_index(drop=True)


def run(args) -> int:
    from ..analysis.sv_signals import SignalError, select_streams
    cap = load(args)
    if cap.sv_collector is None:
        print("SV support is not available in this installation")
        return 1
    signal_views = args.rms or args.phasors or args.waveform or args.comtrade
    if args.nominal_frequency is not None and not (
            math.isfinite(args.nominal_frequency) and args.nominal_frequency > 0):
        raise CaptureError("--nominal-frequency must be a positive number of Hz")
    nominal = args.nominal_frequency
    start, end = _window(cap, args)
    streams = []
    if signal_views or args.stream:
        try:
            streams = select_streams(cap.sv_signals(nominal), args.stream)
        except SignalError as err:
            raise CaptureError(str(err)) from None
    if args.rms or args.phasors:
        if args.rms:
            emit(_rows(cap.sv_rms(nominal), streams, start, end), args, cap, RMS)
        if args.phasors:
            emit(_rows(cap.sv_phasors(args.frequency, nominal), streams, start, end), args, cap,
                 PHASORS)
    elif args.list:
        emit(cap.sv(), args, cap, LIST)
    else:
        emit(cap.sv_streams(), args, cap, STREAMS)
    if args.plot:
        from ..analysis.sv import plot_sv_intervals
        plot_done(plot_sv_intervals(cap.sv(), args.plot))
    try:
        if args.waveform:
            from ..plot_waveform import plot_sv_waveform
            plot_done(plot_sv_waveform(streams, args.waveform, start, end, t0=cap.first_time))
        if args.comtrade:
            _comtrade(args.comtrade, streams, start, end)
    except (SignalError, ValueError, OSError) as err:
        raise CaptureError(str(err)) from None
    return 0


def _comtrade(directory, streams, start, end) -> None:
    """One record per stream; a stream with nothing in the range is skipped with a note."""
    from ..comtrade import write_comtrade
    written = 0
    for sig in streams:
        try:
            cfg, dat = write_comtrade(directory, sig, start=start, end=end)
        except ValueError as err:
            print(f"COMTRADE: {err}: skipped", file=sys.stderr)
            continue
        written += 1
        print(f"COMTRADE written to {cfg} and {dat}", file=sys.stderr)
    if not written:
        raise CaptureError(f"no COMTRADE record written to {directory}")
