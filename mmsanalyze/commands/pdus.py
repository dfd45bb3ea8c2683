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
from ..dfilter import compile_filter
from ..mms import iec61850_reference
from ..pipeline import Pipeline
from ..records import PduRecord

#: Fields of one PDU in jsonl/csv output and in -Y filters (see README "pdus fields").
FIELDS = ("frame", "time", "stream", "src", "sport", "dst", "dport", "pdu", "service", "invoke_id",
          "via", "variables", "references", "error", "access_results", "malformed", "detail")
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
    return d


@functools.lru_cache(maxsize=1 << 16)
def _reference(name: str) -> str:
    """IEC 61850 reading of an ObjectName (``LD/LN.DO.DA [FC]``), else the MMS name itself."""
    if "/" in name and not name.startswith("@"):
        dom, item = name.split("/", 1)
        return iec61850_reference(dom, item) or name
    return name


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
            names = ", ".join(_reference(v) for v in m.variables[:3])
            names += f" (+{len(m.variables) - 3})" if len(m.variables) > 3 else ""
            info.append(names)
        if m.error:
            info.append("error=" + "/".join(str(v) for k, v in m.error.items() if k in ("class", "code")))
        if m.access_results and rec.service != "informationReport":
            failed = [r["failure"] for r in m.access_results if isinstance(r, dict) and "failure" in r]
            info.append(f"[{len(m.access_results)} results" +
                        (f", {len(failed)} failed: {', '.join(map(str, failed[:3]))}]" if failed else "]"))
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


#: PDUs per batch handed to a worker process; below PARALLEL_MIN PDUs everything stays
#: in-process (starting workers costs ~0.1 s).
BATCH = 2000
#: Live capture: PDUs handed to the workers at a time, and the longest a decoded PDU
#: waits before it is printed (while frames keep arriving).
LIVE_BATCH = 512
LIVE_FLUSH_S = 0.2
PARALLEL_MIN = 4000

_worker_state: dict = {}


def _init_worker(fmt, filter_text, verbose):
    # A worker only decodes and formats batches of acyclic trees that reference counting
    # frees; the cyclic collector would just rescan them (measured: ~15% of its time).
    import gc
    gc.disable()
    _worker_state["fmt"] = fmt
    _worker_state["pred"] = compile_filter(filter_text, FIELDS) if filter_text else None
    _worker_state["verbose"] = verbose


def render(records, fmt: str, pred, verbose: bool, t0: float) -> tuple:
    """Output lines for ``records`` (PduRecords) and how many passed the filter.

    JSON lines come back as UTF-8 bytes (orjson's own output, written straight to the
    binary stdout); the other formats as text.
    """
    if fmt == "jsonl":
        parts = []
        for rec in records:
            d = record_dict(rec, True)
            if pred is not None and not pred(d.get):
                continue
            parts.append(dumpb(d))
        return (b"\n".join(parts) + b"\n" if parts else b""), len(parts)
    out = io.StringIO()
    write = out.write
    writer = csv.writer(out) if fmt == "csv" else None
    full = fmt != "table" or pred is not None or verbose
    shown = 0
    for rec in records:
        d = None
        if pred is not None:
            d = record_dict(rec, True)
            if not pred(d.get):
                continue
        shown += 1
        if fmt == "csv":
            d = d or record_dict(rec, True)
            writer.writerow(["|".join(d[k]) if k == "variables" else
                             (dumps(d[k]) if isinstance(d[k], (dict, list)) else
                              ("" if d[k] is None else d[k])) for k in CSV_FIELDS])
        else:
            write(summary_line(rec, t0) + "\n")
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
    return render([PduRecord(*row) for row in rows], st["fmt"], st["pred"], st["verbose"], t0)


def run(args) -> int:
    ports = ports_of(args)
    reader, frames = open_frames(args)
    pipe = Pipeline(ports)
    fmt = args.format
    pred = compile_filter(args.filter, FIELDS) if args.filter else None
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
        csv.writer(out).writerow(CSV_FIELDS)
    live = getattr(reader, "format", "") == "live"
    # live too: one process cannot decode and print 10,000 PDUs/s; the ring buffer
    # absorbs the batching delay (at most LIVE_FLUSH_S)
    workers = min(2, os.cpu_count() or 1)
    last_flush = time.monotonic()
    pool = None
    pending: list = []
    jobs: collections.deque = collections.deque()
    t0 = None

    def flush(final: bool = False):
        nonlocal pool
        if not pending:
            return
        batch = pending[:]
        pending.clear()
        if pool is None and workers > 1 and (not final or len(batch) >= PARALLEL_MIN):
            ctx = multiprocessing.get_context("fork") if hasattr(os, "fork") else multiprocessing
            pool = ctx.Pool(workers, _init_worker, (fmt, args.filter, args.verbose))
        if pool is None:
            write(render(batch, fmt, pred, args.verbose, t0)[0])
            return
        rows = [(r.frame, r.time, r.stream, r.direction, r.src, r.sport, r.dst, r.dport, r.pdu,
                 r.service, r.invoke_id, r.raw, r.via, r.error) for r in batch]
        jobs.append(pool.apply_async(_render_batch, ((rows, t0),)))
        while jobs and (jobs[0].ready() or len(jobs) > 2 * workers):
            write(jobs.popleft().get()[0])

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
                write(jobs.popleft().get()[0])
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
    if args.findings or fmt == "table":
        shown = findings if args.findings else [f for f in findings if f.severity == "error"]
        for f in shown:
            print(f"[{f.severity}] frame {f.frame} {f.layer}: {f.code}: {f.message}", file=sys.stderr)
    else:
        errs = sum(1 for f in findings if f.severity == "error")
        if errs:
            print(f"mmsanalyze: {errs} malformed units (use --findings to list them)", file=sys.stderr)
    return 0
