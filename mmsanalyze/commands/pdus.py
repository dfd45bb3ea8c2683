"""``mmsanalyze pdus``: every MMS PDU, as tshark-like lines, JSON lines or CSV."""

from __future__ import annotations

import csv
import sys

from ..cli import add_format, dumps, open_frames, ports_of
from ..dfilter import compile_filter
from ..pipeline import Pipeline
from ..records import PduRecord

#: Fields of one PDU in jsonl/csv output and in -Y filters (see README "pdus fields").
FIELDS = ("frame", "time", "stream", "src", "sport", "dst", "dport", "pdu", "service", "invoke_id",
          "via", "variables", "error", "access_results", "malformed", "detail")
CSV_FIELDS = ("frame", "time", "stream", "src", "sport", "dst", "dport", "pdu", "service", "invoke_id",
              "via", "variables", "error", "malformed")


HELP = "list every MMS PDU (tshark-like lines, JSON lines or CSV)"


def register(p) -> None:
    add_format(p, ("table", "jsonl", "csv"))
    p.add_argument("-Y", dest="filter", metavar="FILTER",
                   help="display filter, e.g. 'service==read && invoke_id==3', 'variables~LLN0', 'stream==2'")
    p.add_argument("-V", dest="verbose", action="store_true", help="print the full PDU tree under each summary line")
    p.add_argument("--findings", action="store_true", help="also print decoding findings (malformed units, gaps)")


def record_dict(rec: PduRecord, full: bool = True) -> dict:
    """The output object of one PDU; ``full`` adds the decoded body fields."""
    d = {"frame": rec.frame, "time": rec.time, "stream": rec.stream, "src": rec.src, "sport": rec.sport,
         "dst": rec.dst, "dport": rec.dport, "pdu": rec.pdu, "service": rec.service,
         "invoke_id": rec.invoke_id, "via": rec.via}
    if full:
        m = rec.decoded()
        if m is not None:
            d["variables"] = list(m.variables)
            d["error"] = m.error
            d["access_results"] = list(m.access_results) if m.access_results is not None else None
            d["detail"] = m.detail
        else:
            d["variables"] = []
            d["error"] = None
            d["access_results"] = None
            d["detail"] = None
    d["malformed"] = rec.error
    return d


def summary_line(rec: PduRecord, t0: float) -> str:
    """One tshark-like line: No. Time Source -> Destination Protocol Info."""
    info = [rec.pdu or "malformed"]
    if rec.service:
        info.append(rec.service)
    if rec.invoke_id is not None:
        info.append(f"invokeID={rec.invoke_id}")
    m = rec.decoded() if rec.error is None else None
    if m is not None:
        if m.variables:
            names = ", ".join(m.variables[:3]) + (f" (+{len(m.variables) - 3})" if len(m.variables) > 3 else "")
            info.append(names)
        if m.error:
            info.append("error=" + "/".join(str(v) for k, v in m.error.items() if k in ("class", "code")))
    if rec.error:
        info.append(f"[Malformed: {rec.error}]")
    return (f"{rec.frame:>7} {rec.time - t0:>11.6f} {rec.src}:{rec.sport} \u2192 {rec.dst}:{rec.dport} "
            f"MMS {' '.join(info)}")


def print_tree(obj, out, indent: int = 4) -> None:
    """Wireshark details-pane style tree of nested dicts/lists."""
    pad = " " * indent
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.write(f"{pad}{k}\n")
                print_tree(v, out, indent + 4)
            else:
                out.write(f"{pad}{k}: {_scalar(v)}\n")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            if isinstance(v, (dict, list)) and v:
                out.write(f"{pad}[{i}]\n")
                print_tree(v, out, indent + 4)
            else:
                out.write(f"{pad}[{i}]: {_scalar(v)}\n")
    else:
        out.write(f"{pad}{_scalar(obj)}\n")


def _scalar(v) -> str:
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, str):
        return v
    return dumps(v)


def run(args) -> int:
    ports = ports_of(args)
    reader, frames = open_frames(args)
    pipe = Pipeline(ports)
    pred = compile_filter(args.filter, FIELDS) if args.filter else None
    fmt = args.format
    out = sys.stdout
    write = out.write
    t0 = None
    writer = None
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(CSV_FIELDS)
    full = fmt != "table" or bool(pred) or args.verbose
    feed = pipe.feed
    printed = 0

    def emit(records):
        nonlocal t0, printed
        for rec in records:
            if rec.__class__ is not PduRecord:
                continue
            if t0 is None:
                t0 = first_time if first_time is not None else rec.time
            if pred is not None:
                d = record_dict(rec, True)
                if not pred(d.get):
                    continue
            printed += 1
            if fmt == "jsonl":
                write(dumps(record_dict(rec, full)) + "\n")
            elif fmt == "csv":
                d = record_dict(rec, True)
                writer.writerow(["|".join(d[k]) if k == "variables" else
                                 (dumps(d[k]) if isinstance(d[k], (dict, list)) else
                                  ("" if d[k] is None else d[k])) for k in CSV_FIELDS])
            else:
                write(summary_line(rec, t0) + "\n")
                if args.verbose:
                    m = rec.decoded()
                    write(f"  Frame {rec.frame}, stream {rec.stream}, via {rec.via}, {len(rec.raw)} octets\n")
                    if m is not None:
                        print_tree({rec.pdu: m.detail}, out)
                    else:
                        write(f"    [Malformed: {rec.error}]\n    raw: {rec.raw.hex()}\n")
                    write("\n")

    first_time = None
    with reader:
        for fr in frames:
            if first_time is None:
                first_time = fr.ts
            recs = feed(fr)
            if recs:
                emit(recs)
        emit(pipe.finish())
        findings = list(getattr(reader, "findings", [])) + pipe.findings
    if args.findings or fmt == "table":
        shown = findings if args.findings else [f for f in findings if f.severity == "error"]
        for f in shown:
            print(f"[{f.severity}] frame {f.frame} {f.layer}: {f.code}: {f.message}", file=sys.stderr)
    elif findings and fmt != "table":
        errs = sum(1 for f in findings if f.severity == "error")
        if errs:
            print(f"mmsanalyze: {errs} malformed units (use --findings to list them)", file=sys.stderr)
    return 0
