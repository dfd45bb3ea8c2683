"""Shared plumbing of the table commands: reading the capture, options, output.

Every table command takes ``--format table|csv|json``, ``--output FILE`` (``.parquet``,
``.csv`` or ``.json`` by extension) and ``--columns a,b,c``.  The ``table`` format
shows a curated subset of columns, times relative to the first frame and lists
joined with commas; csv/json/parquet carry every column with epoch times.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import sys

from ..cli import dumps, live_options, ports_of
from ..errors import CaptureError

#: Columns holding epoch times (shown relative to the first frame in table format).
TIME_COLUMNS = {"time", "start", "start_time", "second", "end", "end_time", "request_time", "response_time", "first_time",
                "last_time", "time_of_entry"}
#: Value-list columns shown abridged in table format (see mmsanalyze.analysis.values).
ABRIDGED_COLUMNS = {"values"}
#: Widest cell of an object/text column in table format.
MAX_CELL = 48


def add_table_options(p, plot: str | None = None, formats=("table", "csv", "json")) -> None:
    """--format, --output, --columns, -Y, -t (and --plot PNG when ``plot`` describes it)."""
    p.add_argument("--format", "-T", dest="format", choices=formats, default="table",
                   help="output format (default: table)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="also write the table to FILE: .parquet (needs pyarrow), .csv or .json")
    p.add_argument("--columns", metavar="A,B,...", help="only these columns (any format)")
    p.add_argument("-Y", dest="filter", metavar="FILTER",
                   help="display filter on the table's columns, e.g. \"status != ok && latency_ms > 100\" "
                        "(time_relative / time_epoch: seconds since the first frame / epoch)")
    add_time_format(p)
    if plot:
        p.add_argument("--plot", metavar="PNG", help=plot)
    p.set_defaults(_check_outputs=True)


#: tshark's -t formats: relative, epoch, absolute (local), absolute with date, UTC, UTC with date.
TIME_FORMATS = ("r", "e", "a", "ad", "u", "ud")


def add_time_format(p) -> None:
    """``-t r|e|a|ad|u|ud``: how times are shown (tshark's -t)."""
    p.add_argument("-t", dest="time_format", choices=TIME_FORMATS, default="r",
                   help="how table times are shown: r relative to the first frame (default), e epoch, "
                        "a local time of day, ad local date and time, u / ud the same in UTC "
                        "(csv/json always carry epoch seconds)")


def format_time(v, t0, fmt: str = "r", whole: bool = False) -> str:
    """One time value as ``-t`` shows it (``whole``: a whole-second column like ``second``)."""
    import time as _time
    if fmt == "e" or (fmt == "r" and t0 is None):
        return f"{int(v)}" if whole else f"{v:.6f}"
    if fmt == "r":
        return f"{int(v - math.floor(t0))}" if whole else f"{v - t0:.6f}"
    tm = _time.gmtime(v) if fmt.startswith("u") else _time.localtime(v)
    text = _time.strftime("%Y-%m-%d %H:%M:%S" if fmt.endswith("d") else "%H:%M:%S", tm)
    return text if whole else text + f".{int(round((v % 1) * 1e6)) % 1000000:06d}"


def time_value(v, t0, args) -> float:
    """What ``time`` means in a -Y filter: what the output shows (seconds since the first
    frame in a table with -t r, the default; epoch seconds otherwise)."""
    relative = getattr(args, "format", "table") in ("table", "text") and getattr(args, "time_format", "r") == "r"
    return v - t0 if (relative and t0 is not None and v is not None) else v


def filter_rows(df, args, t0=None):
    """Apply ``-Y`` to a table: its columns are the fields (times as :func:`time_value`,
    plus ``time_relative`` and ``time_epoch`` for the table's first time column);
    a field or value that does not fit is an error."""
    text = getattr(args, "filter", None)
    if not text or not len(df.columns):
        return df
    from ..dfilter import BOOL, LIST, NUMBER, TEXT, compile_filter
    times = [c for c in df.columns if c in TIME_COLUMNS]
    types = {}
    for c in df.columns:
        k = df[c].dtype.kind
        types[c] = BOOL if k == "b" or str(df[c].dtype) == "boolean" else \
            NUMBER if k in "iuf" or str(df[c].dtype) in ("Int64", "Float64") else \
            LIST if df[c].dtype == object and any(isinstance(v, (list, tuple)) for v in df[c].head(50)) else TEXT
    fields = set(df.columns)
    if times:
        fields |= {"time_relative", "time_epoch"}
        types.update(time_relative=NUMBER, time_epoch=NUMBER)
    pred = compile_filter(text, fields, types)
    base = times[0] if times else None
    keep = []
    for row in records(df):
        if base is not None:
            epoch = row.get(base)
            row["time_epoch"] = epoch
            row["time_relative"] = epoch - t0 if epoch is not None and t0 is not None else None
            for c in times:
                row[c] = time_value(row[c], t0, args)
        keep.append(bool(pred(row.get)))
    return df[keep].reset_index(drop=True)


def load(args):
    """The :class:`~mmsanalyze.api.Capture` named by the source options (or, for a store
    directory made by ``batch``, a Capture-like view of all its captures)."""
    from ..api import read_capture
    files = source_files(args)
    if not args.interface and len(files) == 1:
        from ..store.layout import is_store
        if is_store(files[0]):            # a Parquet store made by `mmsanalyze batch`
            from ..store import open_store
            return open_store(files[0]).as_capture()
    reader = open_reader(args)
    cap = read_capture(reader, ports=ports_of(args), progress=show_progress(), count=args.count,
                       scl=getattr(args, "scl", None))
    report_capture_stats(cap)
    return cap


def report_capture_stats(cap) -> None:
    """After a live capture, the kernel's counters on stderr, as dumpcap prints them."""
    st = getattr(cap, "capture_stats", None)
    if st:
        print(f"{cap.name}: {st.get('delivered', cap.frames)} frames captured, "
              f"{st.get('dropped', 0)} dropped by the kernel", file=sys.stderr)


#: What the link layer understands (for the "unsupported link type" message).
SUPPORTED_LINKS = "Ethernet, Linux cooked v1/v2, raw IPv4/IPv6, BSD loopback/null"


def open_reader(args):
    """Open the frame source named by the arguments (file or interface), the same way for
    every command: a capture whose link types are all unsupported is refused here
    (:class:`CaptureError`, exit status 2), before anything is analysed."""
    from ..net.link import SUPPORTED_LINKTYPES, linktype_name
    files = source_files(args)
    if args.interface:
        if files:
            raise CaptureError("give either capture files or -i IFACE, not both")
        src = args.interface
        reader = _open_one(src, args)
    elif not files:
        raise CaptureError("no capture given (a file, -r FILE or -i IFACE)")
    elif len(files) == 1:
        src = files[0]
        reader = _open_one(src, args)
    else:
        from ..io.merge import merge_readers
        readers = []
        try:
            for one in files:
                readers.append(_open_one(one, args))
        except BaseException:
            for r in readers:
                r.close()
            raise
        reader = merge_readers(readers)
        src = ", ".join(files)
    kinds = getattr(reader, "linktypes", None)
    if kinds and not (set(kinds) & SUPPORTED_LINKTYPES):
        reader.close()
        names = ", ".join(_linktype_label(k, linktype_name(k)) for k in sorted(kinds))
        raise CaptureError(f"{src}: unsupported link type {names}; supported: {SUPPORTED_LINKS}")
    return reader


def source_files(args) -> list:
    """The capture files named by ``-r`` and the positional arguments, in that order."""
    cap = getattr(args, "capture", None)
    caps = list(cap) if isinstance(cap, list) else ([cap] if cap else [])
    return ([args.read_file] if getattr(args, "read_file", None) else []) + caps


def check_sources(args) -> list:
    """The capture files named by the arguments, after the checks every command makes
    (missing, not a capture, unsupported link type ...: the same one line for all).
    Standard input and interfaces are not opened here (that would consume them)."""
    files = source_files(args)
    if args.interface or "-" in files:
        if args.interface and files:
            raise CaptureError("give either capture files or -i IFACE, not both")
        ports_of(args)
        return files
    open_reader(args).close()
    ports_of(args)                 # -d / --port: checked as every command checks them
    return files


def one_capture_file(args, what: str) -> str:
    """For commands that read their capture again by name (``split``, ``pdus -w``): the
    one capture file, checked like every command's, else one line naming ``what``."""
    if args.interface:
        raise CaptureError(f"{what} needs a capture file (it is read twice); record live traffic with dumpcap first")
    files = check_sources(args)
    if files == ["-"]:
        raise CaptureError(f"{what} needs a capture file (it is read twice), not standard input")
    if len(files) != 1:
        raise CaptureError(f"{what} reads one capture file at a time ({len(files)} given)")
    return files[0]


def require_option(args, dest: str, flag: str, what: str, detail: str = "") -> None:
    """A command's required option, asked for after the capture is checked (so that bad
    input gives the same line for every command): ``mmsanalyze: CMD needs FLAG``."""
    if getattr(args, dest, None) in (None, "", []):
        raise CaptureError(f"{what} needs {flag}" + (f" ({detail})" if detail else ""))


def refuse_scl(args, what: str) -> None:
    """``--scl`` given to a command that does not use it: one line rather than silence."""
    if getattr(args, "scl", None):
        raise CaptureError(f"{what} does not use --scl (drop it)")


def _open_one(src, args):
    """One source: a file, ``-`` (standard input) or an interface."""
    from ..io import open_source
    if src == "-":
        if args.interface:
            raise CaptureError("-r - reads standard input; it cannot be combined with -i")
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            raise CaptureError("-: standard input is not readable")
        return open_source(stdin)
    return open_source(src, **live_options(args))


def check_capture_file(args) -> str:
    """The capture file named by the arguments, after the same checks as :func:`open_reader`
    (for commands that hand the path to another program, e.g. tshark)."""
    open_reader(args).close()
    return source_files(args)[0]


def _linktype_label(number: int, name: str) -> str:
    return name if name == f"linktype {number}" else f"{name} ({number})"


# -- checks every command gets before reading anything --------------------------------

#: Options that name a file to write (checked before the capture is read).
OUTPUT_OPTIONS = ("output", "plot", "plot_time")
#: Table files --output writes (by file name extension).
OUTPUT_EXTENSIONS = (".parquet", ".pq", ".csv", ".json")
#: Image formats the plots are written in (by file name extension).
PLOT_EXTENSIONS = (".png", ".svg", ".pdf")


def check_args(args) -> None:
    """Refuse, before the capture is read, what would fail only at the end: an output or
    plot file in a missing directory, a plot name with an unknown extension (a name
    without extension gets ``.png``, and the message says the real name).  Only for
    parsers whose --output/--plot are table files and images (``add_table_options``,
    ``pdus``): a command may give its own --output another meaning."""
    if not getattr(args, "_check_outputs", False):
        return
    for opt in OUTPUT_OPTIONS:
        path = getattr(args, opt, None)
        if not path:
            continue
        flag = "--" + opt.replace("_", "-")
        if opt == "output" and os.path.splitext(path)[1].lower() not in OUTPUT_EXTENSIONS:
            raise CaptureError(f"--output {path}: use a .parquet, .csv or .json file name")
        if opt.startswith("plot"):
            ext = os.path.splitext(path)[1].lower()
            if not ext:
                path = path + ".png"
                setattr(args, opt, path)
            elif ext not in PLOT_EXTENSIONS:
                raise CaptureError(f"{flag} {path}: unknown image type '{ext}' "
                                   f"(use {', '.join(PLOT_EXTENSIONS)})")
        check_writable(path, flag)


def check_writable(path, flag: str) -> None:
    """One-line error when ``path`` cannot be created (missing directory, a directory)."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CaptureError(f"{flag} {path}: directory {os.path.dirname(path) or parent} does not exist")
    if os.path.isdir(path):
        raise CaptureError(f"{flag} {path}: is a directory")
    if not os.access(parent, os.W_OK):
        raise CaptureError(f"{flag} {path}: directory {parent} is not writable")


#: What replaces characters that the terminal's encoding cannot show.
ASCII_FALLBACK = {"\u2192": "->", "\u2026": "...", "\u00b5": "u", "\u2013": "-", "\u2014": "-",
                  "\u2264": "<=", "\u2265": ">=", "\u00d7": "x"}


def _ascii_fallback(err):
    text = err.object[err.start:err.end]
    return "".join(ASCII_FALLBACK.get(ch, "?") for ch in text), err.end


def safe_streams() -> None:
    """stdout/stderr that are not UTF-8 (``LANG=C``, ``PYTHONIOENCODING=ascii``, a latin-1
    console) get an ASCII fallback (``->`` for the arrow, ``...`` for the ellipsis)
    instead of a UnicodeEncodeError."""
    import codecs
    try:
        codecs.lookup_error("mmsanalyze.ascii")
    except LookupError:
        codecs.register_error("mmsanalyze.ascii", _ascii_fallback)
    for stream in (sys.stdout, sys.stderr):
        enc = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if enc and not enc.startswith("utf") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="mmsanalyze.ascii")
            except (ValueError, OSError):
                pass


def show_progress() -> bool:
    """A progress bar only on a terminal's stderr, and not when the output goes into a pipe."""
    try:
        import stat
        if not sys.stderr.isatty():
            return False
        return not stat.S_ISFIFO(os.fstat(sys.stdout.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False


def select(df, args, default=None):
    """Apply ``--columns`` (or ``default`` in table format)."""
    if getattr(args, "columns", None):
        want = [c.strip() for c in args.columns.split(",") if c.strip()]
        bad = [c for c in want if c not in df.columns]
        if bad:
            raise CaptureError(f"unknown column(s) {', '.join(bad)}; available: {', '.join(df.columns)}")
        return df[want]
    if default and args.format == "table":
        return df[[c for c in default if c in df.columns]]
    return df


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:.3f}"
    if isinstance(v, (list, tuple)):
        s = ", ".join(_cell(x) if not isinstance(x, (list, dict)) else json.dumps(x, default=str)
                      for x in v)
    elif isinstance(v, dict):
        s = json.dumps(v, default=str)
    else:
        s = str(v)
    return s


def _is_na(v):
    try:
        import pandas as pd
        return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
    except Exception:  # pragma: no cover
        return v is None


def terminal_width():
    """Columns of the output terminal: ``COLUMNS`` when set, else the terminal's size when
    stdout is a terminal, else None (a pipe or file: no limit)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        if sys.stdout.isatty():
            import shutil
            return shutil.get_terminal_size().columns
    except (AttributeError, OSError, ValueError):
        pass
    return None


#: Values that mean nothing when cut (digests): never shortened in table format.
UNCUT_COLUMNS = {"sha256"}
#: Narrowest a text column is shrunk to when fitting a table to the terminal.
MIN_CELL = 8


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 1)] + "\u2026"


def text_table(df, t0=None, time_format: str = "r", width=None, keep=()) -> str:
    """A plain aligned text table (times as ``-t time_format``: relative to ``t0`` by default).

    Text cells are cut at :data:`MAX_CELL`, and the widest text columns are narrowed
    further so that the table fits ``width`` (the terminal); the columns in ``keep``
    (asked for with --columns) and :data:`UNCUT_COLUMNS` are never cut.
    """
    if len(df) == 0:
        return "(none)"
    cols = list(df.columns)
    rows = []
    for rec in df.itertuples(index=False, name=None):
        row = []
        for c, v in zip(cols, rec):
            if _is_na(v):
                row.append("")
            elif c in TIME_COLUMNS and isinstance(v, numbers.Real) and not isinstance(v, bool) and (
                    t0 is not None or time_format != "r"):
                row.append(format_time(v, t0, time_format, whole=(c == "second")))
            elif c in ABRIDGED_COLUMNS and isinstance(v, (list, tuple)):
                from ..analysis.values import abridge
                row.append(abridge(v))
            elif isinstance(v, bool) or type(v).__name__ == "bool_":
                row.append("yes" if v else "no")
            else:
                row.append(_cell(v))
        rows.append(row)
    numeric = [df[c].dtype.kind in "iuf" or str(df[c].dtype) in ("Int64", "Float64") for c in cols]
    fixed = [c in keep or c in UNCUT_COLUMNS or n for c, n in zip(cols, numeric)]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    limits = [w if f else min(w, max(MAX_CELL, len(c))) for w, f, c in zip(widths, fixed, cols)]
    if width:
        while sum(limits) + 2 * (len(cols) - 1) > width:
            cand = [i for i, f in enumerate(fixed) if not f and limits[i] > max(MIN_CELL, len(cols[i]))]
            if not cand:
                break
            i = max(cand, key=lambda k: limits[k])
            limits[i] = max(MIN_CELL, len(cols[i]), limits[i] - (sum(limits) + 2 * (len(cols) - 1) - width))
    hidden = []
    if width:
        # still too wide: the last columns not asked for give way (named below the table)
        while sum(limits) + 2 * (len(limits) - 1) > width and len(limits) > 1:
            i = next((k for k in range(len(limits) - 1, -1, -1) if cols[k] not in keep), None)
            if i is None or i == 0:
                break
            hidden.insert(0, cols[i])
            for lst in (cols, limits, numeric, widths):
                del lst[i]
            rows = [r[:i] + r[i + 1:] for r in rows]
    if limits != widths:
        rows = [[v if len(v) <= lim else _cut(v, lim) for v, lim in zip(r, limits)] for r in rows]
    out = ["  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cols, limits, numeric)).rstrip()]
    for r in rows:
        out.append("  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(r, limits, numeric)).rstrip())
    if hidden:
        out.append(_cut(f"({len(hidden)} more column(s) not shown: {', '.join(hidden)}; "
                        "use --columns, --format csv or a wider terminal)", width))
    return "\n".join(out)


def records(df) -> list[dict]:
    """JSON-able rows (NA -> None, numpy scalars -> Python)."""
    cols = list(df.columns)
    out = []
    for rec in df.itertuples(index=False, name=None):
        out.append({c: (None if _is_na(v) else (v.item() if hasattr(v, "item") and not isinstance(v, (list, dict)) else v))
                    for c, v in zip(cols, rec)})
    return out


def write_csv(df, fh) -> None:
    import csv
    w = csv.writer(fh)
    w.writerow(df.columns)
    for rec in df.itertuples(index=False, name=None):
        w.writerow(["" if _is_na(v) else (dumps(v) if isinstance(v, (list, dict, tuple)) else v) for v in rec])


def to_parquet(df, path) -> None:
    """Parquet via pyarrow; object columns pyarrow cannot type become JSON text."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise CaptureError("--output .parquet needs pyarrow (pip install 'mmsanalyze[parquet]')") from None
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            try:
                pa.array(out[c].tolist())
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError,
                    OverflowError):
                out[c] = [None if v is None else dumps(v) for v in out[c].tolist()]
    pq.write_table(pa.Table.from_pandas(out, preserve_index=False), path)


def write_output(df, path) -> None:
    """``--output``: by extension .parquet, .csv or .json."""
    check_writable(path, "--output")
    ext = os.path.splitext(path)[1].lower()
    if ext in (".parquet", ".pq"):
        to_parquet(df, path)
    elif ext == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as fh:
            write_csv(df, fh)
    elif ext == ".json":
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(dumps(records(df)))
    else:
        raise CaptureError(f"--output {path}: use a .parquet, .csv or .json file name")


#: Columns naming MMS variables -> the column with their IEC 61850 reading placed beside them.
REFERENCE_COLUMNS = {"object": "reference", "variables": "references", "data_refs": "data_references"}


def reference_of(name):
    """IEC 61850 reading (``LD/LN.DO.DA [FC]``) of an MMS name ``DOMAIN/ITEM`` (a trailing
    `` (+N)`` is kept); None when the name is not an IEC 61850 data reference."""
    from ..mms import iec61850_reference
    if not isinstance(name, str) or "/" not in name or name.startswith("@"):
        return None
    base, sep, more = name.partition(" (+")
    dom, item = base.split("/", 1)
    ref = iec61850_reference(dom, item)
    return None if ref is None else ref + (sep + more if sep else "")


def with_references(df, default=None):
    """``df`` with the IEC 61850 reading beside each column naming MMS variables
    (:data:`REFERENCE_COLUMNS`: ``reference`` beside ``object``, ``references`` beside
    ``variables``, ``data_references`` beside a report's ``data_refs``), and the same in
    the ``default`` column list."""
    for col, ref in REFERENCE_COLUMNS.items():
        if col not in df.columns or ref in df.columns:
            continue
        listed = df[col].dtype == object and any(isinstance(v, (list, tuple)) for v in df[col].head(50))
        if listed:
            vals = [None if not isinstance(v, (list, tuple)) else [reference_of(x) or x for x in v]
                    for v in df[col].tolist()]
        else:
            vals = [reference_of(v) for v in df[col].tolist()]
        import pandas as pd
        df = df.copy()
        df.insert(list(df.columns).index(col) + 1, ref,
                  pd.Series(vals, dtype="object" if listed else "string", index=df.index))
        if default and col in default and ref not in default:
            default = list(default)
            default.insert(default.index(col) + 1, ref)
    return df, default


def emit(df, args, cap=None, default=None, title=None, out=None) -> None:
    """Print ``df`` in ``--format`` and write ``--output``; ``default`` columns for tables."""
    out = out or sys.stdout
    df, default = with_references(df, default)
    df = filter_rows(df, args, cap.first_time if cap is not None else None)
    if getattr(args, "output", None):
        write_output(select(df, args) if getattr(args, "columns", None) else df, args.output)
    shown = select(df, args, default)
    if args.format == "csv":
        write_csv(shown, out)
    elif args.format == "json":
        out.write(dumps(records(shown)) + "\n")
    else:
        if title:
            out.write(f"{title}\n")
        keep = [c.strip() for c in args.columns.split(",")] if getattr(args, "columns", None) else ()
        out.write(text_table(shown, cap.first_time if cap is not None else None,
                             getattr(args, "time_format", "r"), terminal_width(), keep) + "\n")


def plot_done(path) -> None:
    print(f"plot written to {path}", file=sys.stderr)
