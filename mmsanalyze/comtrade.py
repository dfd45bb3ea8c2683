"""COMTRADE (IEEE C37.111-2013 / IEC 60255-24:2013) export of Sampled Values streams.

One record per stream: ``NAME.cfg`` (revision 2013, ASCII) and ``NAME.dat`` in
``BINARY32`` format, so a 9-2LE value is written as the very INT32 count that was
on the wire, with the channel's multiplier ``a`` (0.001 A or 0.01 V, offset 0).

* Analog channels: ``IA IB IC IN`` (A) and ``VA VB VC VN`` (V), phase A/B/C/N,
  circuit component = the svID, primary values (``P``), ratio 1:1.
* Status channels: for every analog channel four quality flags (IEC 61850-7-3 as
  9-2LE sends them, read as Wireshark does): ``<ch> invalid`` (validity 0x2, or
  0x1 of older publishers), ``<ch> questionable`` (0x3), ``<ch> test`` (0x800) and
  ``<ch> derived`` (0x2000).
* One sampling rate (the stream's), ``endsamp`` = the number of rows.  A row per
  sample index from the first to the last sample: a lost sample is a row whose
  analog values are the BINARY32 missing-data marker 0x80000000 (readers show NaN).
* Time stamps in the data file: microseconds since the first sample (``timemult``
  grows when a record is longer than the 32-bit field allows).  The first-sample
  time in the ``.cfg`` is the stream origin of
  :mod:`mmsanalyze.analysis.sv_signals` (capture clock, UTC), so ``time_code`` and
  ``local_code`` are 0 and the time quality code is ``F`` (the capture host's clock
  quality is unknown).  There is no trigger: the trigger time is the first sample.

Files are only ever created inside the directory given: names are built from the
stream number and svID reduced to ``[A-Za-z0-9._-]``, and files are opened with
``O_NOFOLLOW`` so a symlink planted in the directory is not followed.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re

import numpy as np

from .analysis.sv_signals import QUALITY_FLAGS, StreamSignal, _span, grid

__all__ = ["write_comtrade", "write_streams", "record_name", "MAX_COMTRADE_SAMPLES",
           "CHUNK_SAMPLES", "MISSING_BINARY32"]

#: Rows of one record (2^25: 2.3 hours at 4000 samples/s, 1.5 GB of 9-2LE .dat).
MAX_COMTRADE_SAMPLES = 1 << 25
#: Rows built and written at a time (bounded memory whatever the record's length).
CHUNK_SAMPLES = 1 << 16
#: BINARY32 "no data" value (C37.111-2013, 7.4.2: 0x80000000).
MISSING_BINARY32 = -(1 << 31)
#: Widest svID part of a file name.
MAX_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_FLAGS = tuple(QUALITY_FLAGS)


def record_name(sig: StreamSignal) -> str:
    """File name stem of a stream's record: ``sv<stream>_<svID>`` with only safe characters."""
    sv = _UNSAFE.sub("_", str(sig.sv_id if sig.sv_id is not None else "noid"))[:MAX_NAME]
    sv = sv.lstrip(".") or "noid"
    return f"sv{int(sig.stream)}_{sv}"


def _text(v) -> str:
    """A cfg field: ASCII, no commas or line breaks."""
    s = "" if v is None else str(v)
    s = s.encode("ascii", "replace").decode("ascii")
    return re.sub(r"[,\r\n]", "_", s)


def _num(x: float) -> str:
    return format(float(x), ".10g")


def _stamp(t: float) -> str:
    d = _dt.datetime.fromtimestamp(math.floor(t), tz=_dt.timezone.utc)
    us = int(round((t - math.floor(t)) * 1e6))
    if us == 1_000_000:
        d, us = d + _dt.timedelta(seconds=1), 0
    return d.strftime("%d/%m/%Y,%H:%M:%S") + f".{us:06d}"


def _cfg(sig: StreamSignal, rows: int, timemult: float, first: int) -> str:
    ch = sig.channels
    n_dig = len(ch) * len(_FLAGS)
    lines = [
        f"{_text(sig.sv_id)},{_text(sig.src_mac)} APPID {_appid(sig)},2013",
        f"{len(ch) + n_dig},{len(ch)}A,{n_dig}D",
    ]
    for i, c in enumerate(ch, 1):
        lines.append(",".join([
            str(i), c.name.upper(), c.phase, _text(sig.sv_id), c.unit, _num(c.scale), "0", "0",
            str(-(2 ** 31 - 1)), str(2 ** 31 - 1), "1", "1", "P"]))
    k = 0
    for c in ch:
        for f in _FLAGS:
            k += 1
            lines.append(f"{k},{c.name.upper()} {f},{c.phase},{_text(sig.sv_id)},0")
    start = _stamp(float(sig.time_of(first)))
    lines += [
        _num(sig.nominal_frequency),
        "1",
        f"{_num(sig.sample_rate)},{rows}",
        start,
        start,
        "BINARY32",
        _num(timemult),
        "0,0",
        "F,0",
    ]
    return "\r\n".join(lines) + "\r\n"


def _appid(sig) -> str:
    try:
        return f"0x{int(sig.appid):04X}"
    except (TypeError, ValueError):
        return "none"


def _open(directory: str, name: str):
    """Create ``directory/name`` for writing, never through a symlink, never outside."""
    if os.sep in name or (os.altsep and os.altsep in name) or name in (".", "..") or not name:
        raise OSError(f"unsafe file name {name!r}")
    path = os.path.join(directory, name)
    real = os.path.realpath(directory)
    if os.path.commonpath([real, os.path.realpath(os.path.dirname(path))]) != real:
        raise OSError(f"{path} would be outside {directory}")
    flags = (os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_BINARY", 0))
    return path, os.fdopen(os.open(path, flags, 0o644), "wb")


def write_comtrade(directory, sig: StreamSignal, name: str | None = None,
                   start: float | None = None, end: float | None = None) -> tuple[str, str]:
    """Write ``sig`` as ``directory/NAME.cfg`` + ``NAME.dat``; returns the two paths.

    ``name`` defaults to :func:`record_name`; it must be a plain file name stem.
    ``start``/``end`` (epoch s) limit the record to the samples between them.
    Raises ``ValueError`` for an empty record or one longer than
    :data:`MAX_COMTRADE_SAMPLES` rows.
    """
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    name = name or record_name(sig)
    lo, hi = _span(sig, start, end)
    rows = hi - lo
    if rows <= 0:
        raise ValueError(f"stream {sig.label()} has no samples in the range asked")
    if rows > MAX_COMTRADE_SAMPLES:
        raise ValueError(f"stream {sig.label()}: {rows} samples exceed the COMTRADE limit of "
                         f"{MAX_COMTRADE_SAMPLES}")
    span_us = (rows - 1) / sig.sample_rate * 1e6
    timemult = max(1.0, math.ceil(span_us / (2 ** 32 - 2)))
    nch = len(sig.channels)
    nwords = (nch * len(_FLAGS) + 15) // 16
    row = np.dtype([("n", "<u4"), ("ts", "<u4"), ("a", "<i4", (nch,)), ("d", "<u2", (nwords,))])
    scale = np.array([c.scale for c in sig.channels])
    bit = np.arange(nch * len(_FLAGS))
    cfg_path, fh = _open(directory, name + ".cfg")
    with fh:
        fh.write(_cfg(sig, rows, timemult, lo).encode("ascii"))
    dat_path, fh = _open(directory, name + ".dat")
    with fh:
        for a in range(lo, hi, CHUNK_SAMPLES):
            b = min(hi, a + CHUNK_SAMPLES)
            vals, q, present = grid(sig, a, b)
            out = np.zeros(b - a, dtype=row)
            k = np.arange(a - lo, b - lo, dtype=np.int64)
            out["n"] = k + 1
            out["ts"] = np.rint(k / sig.sample_rate * 1e6 / timemult).astype(np.uint32)
            with np.errstate(invalid="ignore"):
                counts = np.rint(vals / scale)
            counts = np.clip(np.nan_to_num(counts, nan=MISSING_BINARY32),
                             MISSING_BINARY32, 2 ** 31 - 1).astype(np.int32)
            counts[~present] = MISSING_BINARY32
            out["a"] = counts
            flags = np.stack([QUALITY_FLAGS[f](q) for f in _FLAGS], axis=2).reshape(b - a, -1)
            flags &= present[:, None]
            words = np.zeros((b - a, nwords), dtype=np.uint32)
            for w in range(nwords):
                sel = bit[w * 16:(w + 1) * 16]
                words[:, w] = (flags[:, sel].astype(np.uint32) << (sel - w * 16)).sum(axis=1)
            out["d"] = words.astype(np.uint16)
            fh.write(out.tobytes())
    return cfg_path, dat_path


def write_streams(directory, signals, start: float | None = None,
                  end: float | None = None) -> list[tuple[str, str]]:
    """Write every stream of ``signals`` (between ``start`` and ``end``); ``[(cfg, dat), ...]``."""
    return [write_comtrade(directory, s, start=start, end=end) for s in signals]
