"""``mmsanalyze controls``: IEC 61850 control sequences (Select / Operate / Cancel per
control object, with CommandTermination, LastApplError and AddCause), or every control
action with ``--list``."""

from __future__ import annotations

from ..analysis.control_sequences import OUTCOMES
from ._common import add_table_options, emit, load

HELP = "IEC 61850 controls: select/operate/cancel per control object, CommandTermination, AddCause, latency"
EXAMPLES = """examples:
  mmsanalyze controls station.pcapng
  mmsanalyze controls station.pcapng --outcome failed --format csv
  mmsanalyze controls station.pcapng --list --columns frame,object,action,result,add_cause"""

SEQUENCES = ("select_frame", "start_time", "stream", "reference", "model", "ctl_val", "ctl_num", "or_cat",
             "select_result", "operate_result", "termination", "add_cause", "select_to_operate_s",
             "operate_latency_ms", "termination_ms", "outcome")
LIST = ("frame", "time", "stream", "object", "action", "ctl_val", "ctl_num", "or_cat", "result", "error_code",
        "add_cause", "latency_ms")


def register(p) -> None:
    add_table_options(p)
    p.add_argument("--list", action="store_true", help="one row per control action (request or report)")
    p.add_argument("--outcome", action="append", metavar="O", choices=OUTCOMES,
                   help=f"only sequences with these outcomes ({', '.join(OUTCOMES)}); repeatable")
    p.epilog = EXAMPLES


def run(args) -> int:
    cap = load(args)
    if args.list:
        emit(cap.controls(), args, cap, LIST)
        return 0
    df = cap.control_sequences()
    if args.outcome:
        df = df[df["outcome"].isin(args.outcome)].reset_index(drop=True)
    emit(df, args, cap, SEQUENCES)
    return 0
