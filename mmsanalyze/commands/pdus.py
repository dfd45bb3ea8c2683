"""``mmsanalyze pdus``: every MMS PDU, as tshark-like lines, JSON lines or CSV."""

from __future__ import annotations

import collections
import csv
import functools
import io
import multiprocessing
import os
import sys
import time

from ..cli import add_format, dumpb, dumps, open_frames, ports_of
from ._common import add_time_format, format_time
from ..analysis.values import abridge, pdu_values
from ..errors import CaptureError
from ..dfilter import LIST, NUMBER, compile_filter
from ..mms import iec61850_reference
from ..pipeline import Pipeline
from ..records import PduRecord

#: Fields of one PDU in jsonl/csv output and in -Y filters (see README "pdus fields").
FIELDS = ("frame", "time", "stream", "src", "sport", "dst", "dport", "pdu", "service", "invoke_id",
          "via", "variables", "references", "error", "access_results", "malformed", "detail")
#: -Y also knows these: seconds since the first frame and epoch seconds (tshark's
#: frame.time_relative / frame.time_epoch); ``time`` is what the output shows.
FILTER_FIELDS = FIELDS + ("time_relative", "time_epoch")
FILTER_TYPES = {**{k: NUMBER for k in ("frame", "time", "stream", "sport", "dport", "invoke_id", "time_relative",
                                       "time_epoch")},
                **{k: LIST for k in ("variables", "references", "access_results")}}
CSV_FIELDS = ("frame", "time", "stream", "src", "sport", "dst", "dport", "pdu", "service", "invoke_id",
              "via", "variables", "error", "malformed")
#: With ``--scl``: the SCL IED names of both ends (a field, column and -Y field like the others).
IED_FIELDS = ("src_ied", "dst_ied")


def fields(base=FIELDS) -> tuple:
    """``base`` plus :data:`IED_FIELDS` when ``--scl`` names the IEDs."""
    return base + IED_FIELDS if NAMED["on"] else base


HELP = "list every MMS PDU (tshark-like lines, JSON lines or CSV)"
EXAMPLES = """examples:
  mmsanalyze pdus station.pcapng
  mmsanalyze pdus station.pcapng -Y 'service == read && variables ~ MMXU1' -V
  mmsanalyze pdus station.pcapng --format jsonl --columns frame,time,service,variables,access_results
  mmsanalyze pdus station.pcapng -Y 'pdu == confirmed-ErrorPDU' --output errors.parquet"""


def register(p) -> None:
    add_format(p, ("table", "jsonl", "csv"))
    p.add_argument("-Y", dest="filter", metavar="FILTER",
                   help="display filter, e.g. 'service==read && invoke_id==3', 'variables~LLN0', 'stream==2'")
    p.add_argument("-V", dest="verbose", action="store_true", help="print the full PDU tree under each summary line")
    p.add_argument("--findings", action="store_true", help="also print decoding findings (malformed units, gaps)")
    p.add_argument("-w", dest="write", metavar="FILE.pcapng",
                   help="write the frames of the (-Y selected) PDUs to a pcapng file instead of listing them: "
                        "every TCP segment of each PDU plus its connection's handshake and association "
                        "set-up, findings as packet comments (as tshark -Y ... -w)")
    add_time_format(p)
    p.add_argument("--columns", metavar="A,B,...",
                   help=f"only these fields (jsonl, csv, or a table of them): {', '.join(FIELDS)} "
                        f"(with --scl also {', '.join(IED_FIELDS)})")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="also write the PDUs to FILE: .parquet (needs pyarrow), .csv or .json")
    p.epilog = EXAMPLES
    p.set_defaults(_check_outputs=True)


def record_dict(rec: PduRecord, full: bool = True) -> dict:
    """The output object of one PDU; ``full`` adds the decoded body fields."""
    d = {"frame": rec.frame, "time": rec.time, "stream": rec.stream, "src": rec.src, "sport": rec.sport,
         "dst": rec.dst, "dport": rec.dport, "pdu": rec.pdu, "service": rec.service,
         "invoke_id": rec.invoke_id, "via": rec.via}
    if full:
        m = rec.decoded()
        if m is not None:
            d["variables"] = list(m.variables)
            d["references"] = [_reference(v) for v in m.variables]
            d["error"] = m.error
            d["access_results"] = list(m.access_results) if m.access_results is not None else None
            d["detail"] = m.detail
        else:
            d["variables"] = []
            d["references"] = []
            d["error"] = None
            d["access_results"] = None
            d["detail"] = None
    d["malformed"] = rec.error
    if NAMED["on"]:
        d["src_ied"] = IED_BY_IP.get(rec.src)
        d["dst_ied"] = IED_BY_IP.get(rec.dst)
    return d


#: IP address -> SCL IED name (filled by ``--scl``; inherited by forked workers).
IED_BY_IP: dict = {}
#: Whether ``--scl`` was given (then every PDU carries :data:`IED_FIELDS`).
NAMED = {"on": False}


@functools.lru_cache(maxsize=1 << 16)
def _reference(name: str) -> str:
    """IEC 61850 reading of an ObjectName (``LD/LN.DO.DA [FC]``), else the MMS name itself."""
    if "/" in name and not name.startswith("@"):
        dom, item = name.split("/", 1)
        return iec61850_reference(dom, item) or name
    return name


def summary_line(rec: PduRecord, t0: float, time_format: str = "r") -> str:
    """One tshark-like line: No. Time Source -> Destination Protocol Info."""
    info = [rec.pdu or "malformed"]
    if rec.service:
        info.append(rec.service)
    if rec.invoke_id is not None:
        info.append(f"invokeID={rec.invoke_id}")
    m = rec.decoded() if rec.error is None else None
    if m is not None:
        if m.variables:
            names = ", ".join(_reference(v) for v in m.variables[:3])
            names += f" (+{len(m.variables) - 3})" if len(m.variables) > 3 else ""
            info.append(names)
        if m.error:
            info.append("error=" + "/".join(str(v) for k, v in m.error.items() if k in ("class", "code")))
        if m.access_results and rec.service != "informationReport":
            failed = [r["failure"] for r in m.access_results if isinstance(r, dict) and "failure" in r]
            info.append(f"[{len(m.access_results)} results" +
                        (f", {len(failed)} failed: {', '.join(map(str, failed[:3]))}]" if failed else "]"))
        vals = pdu_values(m, rec.service, rec.pdu)
        if vals:
            info.append("= " + abridge(vals))
    if rec.error:
        info.append(f"[Malformed: {rec.error}]")
    return (f"{rec.frame:>7} {format_time(rec.time, t0, time_format):>11} {rec.src}:{rec.sport} \u2192 {rec.dst}:{rec.dport} "
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


#: Findings that tell the user what to do (printed even without --findings).
HINT_CODES = {"tpkt.other_port"}

#: PDUs per batch handed to a worker process; below PARALLEL_MIN PDUs everything stays
#: in-process (starting workers costs ~0.1 s).
BATCH = 2000
#: Live capture: PDUs handed to the workers at a time, and the longest a decoded PDU
#: waits before it is printed (while frames keep arriving).
LIVE_BATCH = 512
LIVE_FLUSH_S = 0.2
PARALLEL_MIN = 4000

_worker_state: dict = {}


def _init_worker(fmt, filter_text, verbose, time_format="r", columns=None):
    # A worker only decodes and formats batches of acyclic trees that reference counting
    # frees; the cyclic collector would just rescan them (measured: ~15% of its time).
    import gc
    gc.disable()
    _worker_state["fmt"] = fmt
    _worker_state["pred"] = compile_filter(filter_text, fields(FILTER_FIELDS), FILTER_TYPES) if filter_text else None
    _worker_state["verbose"] = verbose
    _worker_state["time_format"] = time_format
    _worker_state["columns"] = columns


def _getter(d: dict, t0, relative: bool):
    """-Y field lookup of one PDU: its fields plus time_relative / time_epoch; ``time`` is
    relative when the output shows relative times."""
    def get(name):
        if name == "time_epoch":
            return d["time"]
        if name == "time_relative" or (name == "time" and relative):
            return d["time"] - t0 if t0 is not None else d["time"]
        return d.get(name)
    return get


def _csv_cell(v):
    """A CSV cell: lists and dicts as JSON (as every table command writes them), None empty."""
    return dumps(v) if isinstance(v, (dict, list, tuple)) else ("" if v is None else v)


def render(records, fmt: str, pred, verbose: bool, t0: float, time_format: str = "r", columns=None,
           collect=None) -> tuple:
    """Output lines for ``records`` (PduRecords) and how many passed the filter.

    JSON lines come back as UTF-8 bytes (orjson's own output, written straight to the
    binary stdout); the other formats as text.
    """
    if fmt == "jsonl":
        parts = []
        for rec in records:
            d = record_dict(rec, True)
            if pred is not None and not pred(_getter(d, t0, False)):
                continue
            if collect is not None:
                collect.append(d)
            parts.append(dumpb({k: d[k] for k in columns} if columns else d))
        return (b"\n".join(parts) + b"\n" if parts else b""), len(parts)
    out = io.StringIO()
    write = out.write
    writer = csv.writer(out) if fmt == "csv" else None
    full = fmt != "table" or pred is not None or verbose
    shown = 0
    shown_fields = columns or fields(CSV_FIELDS)
    for rec in records:
        d = None
        if pred is not None:
            d = record_dict(rec, True)
            if not pred(_getter(d, t0, fmt == "table" and time_format == "r")):
                continue
        shown += 1
        if collect is not None:
            d = d or record_dict(rec, True)
            collect.append(d)
        if fmt == "csv":
            d = d or record_dict(rec, True)
            writer.writerow([_csv_cell(d[k]) for k in shown_fields])
        elif columns:
            continue                  # a table of the asked-for columns is printed at the end
        else:
            write(summary_line(rec, t0, time_format) + "\n")
            if verbose:
                m = rec.decoded()
                write(f"  Frame {rec.frame}, stream {rec.stream}, via {rec.via}, {len(rec.raw)} octets\n")
                if m is not None:
                    print_tree({rec.pdu: m.detail}, out)
                else:
                    write(f"    [Malformed: {rec.error}]\n    raw: {rec.raw.hex()}\n")
                write("\n")
    return out.getvalue(), shown


def _render_batch(job):
    rows, t0 = job
    st = _worker_state
    return render([PduRecord(*row) for row in rows], st["fmt"], st["pred"], st["verbose"], t0, st["time_format"],
                  st["columns"])


def _write(args) -> int:
    """``-w FILE``: write the selected PDUs' frames (see :mod:`mmsanalyze.writeback`),
    selected by the same typed -Y as the listing (``time`` as the default table shows it:
    seconds since the first frame; ``time_relative`` / ``time_epoch`` too)."""
    from ..writeback import write_filtered
    from ._common import one_capture_file, open_reader, refuse_scl
    refuse_scl(args, "pdus -w")
    IED_BY_IP.clear()
    NAMED["on"] = False
    src = one_capture_file(args, "-w")
    pred = compile_filter(args.filter, FILTER_FIELDS, FILTER_TYPES) if args.filter else None
    keep = lambda rec: True                             # noqa: E731
    if pred is not None:
        with open_reader(args) as reader:
            first = next(iter(reader), None)
        t0 = first.ts if first is not None else None
        relative = args.format == "table" and args.time_format == "r"
        keep = lambda rec: pred(_getter(record_dict(rec, True), t0, relative))     # noqa: E731
    try:
        res = write_filtered(src, args.write, keep, ports_of(args), args.count)
    except OSError as exc:
        raise CaptureError(f"{args.write}: cannot write: {exc.strerror or exc}") from None
    print(f"mmsanalyze: wrote {res['frames']} frames ({res['pdus']} selected MMS PDUs) to {args.write}",
          file=sys.stderr)
    return 0


def run(args) -> int:
    if getattr(args, "write", None):
        return _write(args)
    ports = ports_of(args)
    IED_BY_IP.clear()                     # (an earlier run in this process may have filled it)
    NAMED["on"] = bool(getattr(args, "scl", None))
    if NAMED["on"]:
        from ..scl import load_scl
        IED_BY_IP.update(load_scl(args.scl).ip_map())
    reader, frames = open_frames(args)
    pipe = Pipeline(ports)
    fmt = args.format
    pred = compile_filter(args.filter, fields(FILTER_FIELDS), FILTER_TYPES) if args.filter else None
    tf = args.time_format
    columns = None
    if args.columns:
        columns = [c.strip() for c in args.columns.split(",") if c.strip()]
        bad = [c for c in columns if c not in fields()]
        if bad:
            raise CaptureError(f"unknown column(s) {', '.join(bad)}; available: {', '.join(fields())}")
    collect = [] if (args.output or (columns and fmt == "table")) else None
    total = 0
    out = sys.stdout
    binary = getattr(out, "buffer", None)

    def write(chunk) -> None:
        if isinstance(chunk, bytes):
            if binary is not None:
                out.flush()
                binary.write(chunk)
            else:
                out.write(chunk.decode())
        else:
            out.write(chunk)

    if fmt == "csv":
        csv.writer(out).writerow(columns or fields(CSV_FIELDS))
    live = getattr(reader, "format", "") == "live"
    # live too: one process cannot decode and print 10,000 PDUs/s; the ring buffer
    # absorbs the batching delay (at most LIVE_FLUSH_S)
    workers = 0 if collect is not None else min(2, os.cpu_count() or 1)
    last_flush = time.monotonic()
    pool = None
    pending: list = []
    jobs: collections.deque = collections.deque()
    t0 = None

    def flush(final: bool = False):
        nonlocal pool, total
        if not pending:
            return
        batch = pending[:]
        pending.clear()
        if pool is None and workers > 1 and (not final or len(batch) >= PARALLEL_MIN):
            ctx = multiprocessing.get_context("fork") if hasattr(os, "fork") else multiprocessing
            pool = ctx.Pool(workers, _init_worker, (fmt, args.filter, args.verbose, tf, columns))
        if pool is None:
            text, n = render(batch, fmt, pred, args.verbose, t0, tf, columns, collect)
            total += n
            write(text)
            return
        rows = [(r.frame, r.time, r.stream, r.direction, r.src, r.sport, r.dst, r.dport, r.pdu,
                 r.service, r.invoke_id, r.raw, r.via, r.error) for r in batch]
        jobs.append(pool.apply_async(_render_batch, ((rows, t0),)))
        while jobs and (jobs[0].ready() or len(jobs) > 2 * workers):
            text, n = jobs.popleft().get()
            total += n
            write(text)

    first_time = None
    try:
        with reader:
            for fr in frames:
                if first_time is None:
                    first_time = fr.ts
                    t0 = first_time
                recs = pipe.feed(fr)
                if recs:
                    for rec in recs:
                        if rec.__class__ is PduRecord:
                            pending.append(rec)
                    if live:
                        now = time.monotonic()
                        if len(pending) >= LIVE_BATCH or now - last_flush >= LIVE_FLUSH_S:
                            last_flush = now
                            flush()
                            out.flush()
                    elif len(pending) >= (BATCH if pool is not None else PARALLEL_MIN):
                        flush()
            pending.extend(r for r in pipe.finish() if r.__class__ is PduRecord)
            flush(True)
            while jobs:
                text, n = jobs.popleft().get()
                total += n
                write(text)
            findings = list(getattr(reader, "findings", [])) + pipe.findings
    finally:
        if pool is not None:
            pool.terminate()
    if callable(getattr(reader, "stats", None)):       # a live capture: the kernel's counters
        before = len(reader.findings)
        reader.close()
        findings.extend(reader.findings[before:])
        st = reader.stats()
        print(f"{reader.name}: {st.get('delivered')} frames captured, {st.get('dropped', 0)} dropped by "
              "the kernel", file=sys.stderr)
    if collect is not None:
        _emit_collected(collect, columns, args, t0)
    elif fmt == "table" and not total:
        out.write("(none)\n")
    hints = [f for f in findings if f.code in HINT_CODES]
    if not args.findings and fmt != "table":
        for f in hints:
            print(f"mmsanalyze: frame {f.frame}: {f.message}", file=sys.stderr)
    if args.findings or fmt == "table":
        shown = findings if args.findings else [f for f in findings if f.severity == "error" or f in hints]
        for f in shown:
            print(f"[{f.severity}] frame {f.frame} {f.layer}: {f.code}: {f.message}", file=sys.stderr)
    else:
        errs = sum(1 for f in findings if f.severity == "error")
        if errs:
            print(f"mmsanalyze: {errs} malformed units (use --findings to list them)", file=sys.stderr)
    return 0


def _emit_collected(rows, columns, args, t0) -> None:
    """--output FILE and a table of --columns, from the PDUs' field dicts."""
    import pandas as pd
    from ._common import terminal_width, text_table, write_output
    df = pd.DataFrame(rows, columns=list(fields()))
    if args.output:
        write_output(df[columns] if columns else df, args.output)
    if columns and args.format == "table":
        sys.stdout.write(text_table(df[columns], t0, args.time_format, terminal_width(), columns) + "\n")
