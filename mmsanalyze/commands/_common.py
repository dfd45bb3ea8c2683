"""Shared plumbing of the table commands: reading the capture, options, output.

Every table command takes ``--format table|csv|json``, ``--output FILE`` (``.parquet``,
``.csv`` or ``.json`` by extension) and ``--columns a,b,c``.  The ``table`` format
shows a curated subset of columns, times relative to the first frame and lists
joined with commas; csv/json/parquet carry every column with epoch times.
"""

from __future__ import annotations

import json
import math
import os
import sys

from ..cli import dumps, live_options, ports_of
from ..errors import CaptureError

#: Columns holding epoch times (shown relative to the first frame in table format).
TIME_COLUMNS = {"time", "start", "end", "end_time", "request_time", "response_time", "first_time",
                "last_time", "time_of_entry"}
#: Widest cell of an object/text column in table format.
MAX_CELL = 48


def add_table_options(p, plot: str | None = None, formats=("table", "csv", "json")) -> None:
    """--format, --output, --columns (and --plot PNG when ``plot`` describes it)."""
    p.add_argument("--format", "-T", dest="format", choices=formats, default="table",
                   help="output format (default: table)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="also write the table to FILE: .parquet (needs pyarrow), .csv or .json")
    p.add_argument("--columns", metavar="A,B,...", help="only these columns (any format)")
    if plot:
        p.add_argument("--plot", metavar="PNG", help=plot)


def load(args):
    """The :class:`~mmsanalyze.api.Capture` named by the source options."""
    from ..api import read_capture
    src = args.interface or args.read_file or args.capture
    if not src:
        raise CaptureError("no capture given (a file, -r FILE or -i IFACE)")
    cap = read_capture(src, ports=ports_of(args), progress=show_progress(), count=args.count,
                       **live_options(args))
    report_capture_stats(cap)
    return cap


def report_capture_stats(cap) -> None:
    """After a live capture, the kernel's counters on stderr, as dumpcap prints them."""
    st = getattr(cap, "capture_stats", None)
    if st:
        print(f"{cap.name}: {st.get('delivered', cap.frames)} frames captured, "
              f"{st.get('dropped', 0)} dropped by the kernel", file=sys.stderr)


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
    return s if len(s) <= MAX_CELL else s[:MAX_CELL - 1] + "\u2026"


def _is_na(v):
    try:
        import pandas as pd
        return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
    except Exception:  # pragma: no cover
        return v is None


def text_table(df, t0=None) -> str:
    """A plain aligned text table (times relative to ``t0``)."""
    if len(df) == 0:
        return "(none)"
    cols = list(df.columns)
    rows = []
    for rec in df.itertuples(index=False, name=None):
        row = []
        for c, v in zip(cols, rec):
            if _is_na(v):
                row.append("")
            elif c in TIME_COLUMNS and t0 is not None and isinstance(v, (int, float)):
                row.append(f"{v - t0:.6f}")
            elif isinstance(v, bool) or type(v).__name__ == "bool_":
                row.append("yes" if v else "no")
            else:
                row.append(_cell(v))
        rows.append(row)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    numeric = [df[c].dtype.kind in "iuf" or str(df[c].dtype) in ("Int64", "Float64") for c in cols]
    out = ["  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cols, widths, numeric)).rstrip()]
    for r in rows:
        out.append("  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(r, widths, numeric)).rstrip())
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


def emit(df, args, cap=None, default=None, title=None, out=None) -> None:
    """Print ``df`` in ``--format`` and write ``--output``; ``default`` columns for tables."""
    out = out or sys.stdout
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
        out.write(text_table(shown, cap.first_time if cap is not None else None) + "\n")


def plot_done(path) -> None:
    print(f"plot written to {path}", file=sys.stderr)
