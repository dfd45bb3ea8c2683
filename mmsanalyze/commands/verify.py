"""``mmsanalyze verify``: cross-check our MMS decode of a capture against tshark's,
field by field (through pyshark), and print the differences."""

from __future__ import annotations

import sys

from ..cli import ports_of
from ..errors import CaptureError
from ._common import add_table_options, check_capture_file, emit, source_files

HELP = "cross-check our MMS decode against tshark field by field (via pyshark) and list the differences"
EXAMPLES = """examples:
  mmsanalyze verify station.pcapng
  mmsanalyze verify iccp.pcap --port 10002 --format csv
  mmsanalyze verify big.pcapng -c 10000"""

TABLE = ("frame", "index", "pdu", "service", "invoke_id", "field", "ours", "tshark")


def register(p) -> None:
    add_table_options(p)
    p.epilog = EXAMPLES


def run(args) -> int:
    from ..crosscheck import cross_check
    if args.interface:
        raise CaptureError("verify reads a capture file, not a live interface")
    if len(source_files(args)) > 1:
        raise CaptureError("verify compares one capture at a time")
    if source_files(args) == ["-"]:
        raise CaptureError("verify needs a capture file (tshark reads it again), not standard input")
    path = check_capture_file(args)
    diffs, n_ours, n_theirs = cross_check(path, ports_of(args), args.count)
    emit(diffs, args, None, TABLE)
    print(f"verify: {n_ours} MMS PDUs decoded by mmsanalyze, {n_theirs} by tshark; "
          f"{len(diffs)} difference(s)", file=sys.stderr)
    return 0
