"""``mmsanalyze modes``: IED operating state (Mod, Beh, Health, LPHD.Sim, test and simulation).

Default: the timeline (``Capture.ied_modes()``); ``--states`` every observation /
request (``ied_states()``); ``--findings`` the mode findings with their frames.
"""

from __future__ import annotations

from ._common import add_table_options, emit, load, plot_done

HELP = "IED modes: Mod/Beh/Health/Sim per LD/LN over time, test and simulated traffic, findings"

MODES = ("start", "end", "start_frame", "server", "ld", "ln", "mod", "beh", "beh_expected", "beh_mismatch",
         "health", "sim", "simulated_traffic", "test_traffic", "cause")
STATES = ("frame", "time", "server", "ld", "ln", "attribute", "value", "kind", "source", "action", "test",
          "outcome", "add_cause", "count", "reference")
FINDINGS = ("frame", "severity", "code", "frames", "message")


def register(p) -> None:
    add_table_options(p, plot="draw the timeline per LD/LN coloured by Beh (Mod requests, test and "
                              "simulated traffic marked) to PNG")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--states", action="store_true", help="one row per observation / request")
    g.add_argument("--findings", action="store_true", help="the mode, test and simulation findings")
    p.add_argument("--follow-timeout", type=float, metavar="S", default=None,
                   help="seconds within which Beh must follow an accepted Mod change (default 5)")


def run(args) -> int:
    cap = load(args)
    if args.follow_timeout is not None:
        cap.follow_timeout = args.follow_timeout
    if args.states:
        emit(cap.ied_states(), args, cap, STATES)
    elif args.findings:
        emit(cap.ied_mode_findings(), args, cap, FINDINGS)
    else:
        emit(cap.ied_modes(), args, cap, MODES)
    if args.plot:
        from ..analysis.modes import plot_modes
        plot_done(plot_modes(cap.ied_modes(), cap.ied_states(), args.plot, t0=cap.first_time))
    return 0
