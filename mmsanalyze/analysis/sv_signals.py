"""Sampled Values as signals: sample times, waveforms, RMS, phasors, frequency.

Works on :meth:`mmsanalyze.sv.SvCollector.samples` (one row per 9-2LE ASDU, values
already scaled to A and V) and :meth:`~mmsanalyze.sv.SvCollector.table` (for each
stream's smpRate / smpMod).  A *stream* is one (svID, APPID, source MAC), numbered
like the rows of :func:`mmsanalyze.analysis.sv.sv_streams`.  Everything is numpy over
whole streams; the only Python loop is over streams.

Sample times
    The sample rate is the stream's smpRate (IEC 61850-9-2: smpMod 0 or absent =
    samples per nominal period, times 50 or 60 Hz -- the one nearest the measured
    rate; smpMod 1 = samples per second; smpMod 2 = seconds per sample), or, with no
    smpRate, the measured rate (snapped to a standard rate within 2 %).  When the
    rate fits both 50 and 60 Hz (4800/s) the nominal frequency is the one the
    measured frequency is nearer to (``nominal=`` forces it).  smpCnt is
    unwrapped into a continuous sample index: each step between consecutive ASDUs
    is taken modulo the wrap value (:func:`mmsanalyze.analysis.sv.infer_wrap`) and
    the number of whole wraps comes from the capture time elapsed, so an outage
    longer than half a wrap (0.5 s at 4000 samples/s) still lands at the right
    index.  Sample ``k`` is at ``t0 + (k - k0) / rate``, ``k0`` the stream's first
    index and ``t0`` the median of (capture time - that offset): the capture clock,
    with the arrival latency of a typical sample.  Duplicates and replays of an
    index keep the first copy; lost samples stay lost (NaN), never interpolated.

Cycles
    A cycle is ``N = rate / nominal frequency`` consecutive indices starting at a
    multiple of N (so cycles line up with smpCnt 0, the top of the second for a
    synchronised merging unit).  RMS and phasors are computed only over complete
    cycles: one lost sample makes that cycle's values NaN (``samples`` says how
    many arrived).  Cycles are processed in blocks of :data:`CYCLE_BLOCK_ROWS`
    samples; a stream with fewer than :data:`MIN_SAMPLES_PER_CYCLE` or more than
    :data:`MAX_SAMPLES_PER_CYCLE` samples per cycle gets no RMS or phasor rows.

Phasors
    One-cycle DFT, ``X = sqrt(2)/M * sum(x[n] * exp(-j 2 pi f n / rate))`` over the
    M = round(rate / f) samples from the cycle start: the RMS magnitude of the
    fundamental and its angle in degrees against a cosine at the nominal frequency
    whose phase is 0 at the cycle start (so a sine of phase phi reads phi - 90).
    ``f`` is the nominal frequency, or with ``frequency="measured"`` the stream's
    median measured frequency; then the window rarely holds whole periods and the
    phasor is the least-squares fit of a sinusoid at ``f`` (plus a constant) over
    the window, which equals the DFT for whole periods and has no leakage otherwise.  Sequence components (Fortescue, a = 1/120 deg):
    ``X1 = (Xa + a Xb + a^2 Xc) / 3``, ``X2 = (Xa + a^2 Xb + a Xc) / 3``,
    ``X0 = (Xa + Xb + Xc) / 3``.

Frequency
    From the rotation of the positive-sequence voltage phasor between consecutive
    complete cycles (the positive-sequence current when the voltages are below
    :data:`MIN_REF_VOLTAGE`): ``f = f0 + dphi / (2 pi N / rate)``.

Datasets other than 9-2LE (with an SCL file, a separate issue) plug in by giving
:func:`stream_signals` a samples table with other value columns and a ``channels``
description (:class:`Channel` tuples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .sv import NOMINAL_FREQUENCIES, infer_wrap

__all__ = ["Channel", "LE_LAYOUT", "StreamSignal", "stream_signals", "sample_columns", "rms_table",
           "phasor_table", "waveform", "grid", "select_streams", "quality_flags",
           "SAMPLE_COLUMNS", "RMS_COLUMNS", "PHASOR_COLUMNS", "WAVEFORM_COLUMNS",
           "MAX_WAVEFORM_SAMPLES", "MIN_REF_VOLTAGE", "MIN_REF_CURRENT", "STANDARD_RATES",
           "QUALITY_FLAGS", "SignalError"]

#: Largest regular grid one waveform call builds (16 Mi samples: 70 minutes at
#: 4000 samples/s, about 1.5 GB with the quality words); narrow with start/end.
MAX_WAVEFORM_SAMPLES = 1 << 24
#: Grid rows built at once for the per-cycle tables (cycles are processed in blocks).
CYCLE_BLOCK_ROWS = 1 << 18
#: Streams with fewer or more samples per nominal cycle get no RMS / phasor rows
#: (a DFT needs a few samples per cycle; IEC 61869-9's highest rate is 96000/s = 1920
#: per 50 Hz cycle).
MIN_SAMPLES_PER_CYCLE = 8
MAX_SAMPLES_PER_CYCLE = 4096
#: A positive-sequence voltage below this (V) is too small to measure frequency on.
MIN_REF_VOLTAGE = 1.0
#: ... and then the positive-sequence current must be above this (A).
MIN_REF_CURRENT = 0.01
#: Sample rates of IEC 61850-9-2LE and IEC 61869-9 (a measured rate within 2 % snaps to one).
STANDARD_RATE_TOLERANCE = 0.02
STANDARD_RATES = (4000, 4800, 12800, 14400, 15360, 96000)
#: Quality bits (IEC 61850-7-3 Quality as 9-2LE sends it; masks as in Wireshark's sv.meas_quality).
QUALITY_FLAGS = {
    # validity 0x2 = invalid; 0x1 = invalid as older 9-2LE publishers send it
    # (Wireshark: "invalid (backwards compatible)"); 0x3 = questionable
    "invalid": lambda q: ((q & 0x3) == 0x1) | ((q & 0x3) == 0x2),
    "questionable": lambda q: (q & 0x3) == 0x3,     # validity 11
    "test": lambda q: (q & 0x800) != 0,
    "derived": lambda q: (q & 0x2000) != 0,
}

_A = np.exp(2j * np.pi / 3)


class SignalError(ValueError):
    """A signal request that cannot be met (unknown stream, grid too large)."""


@dataclass(frozen=True)
class Channel:
    """One analog channel of a stream: column name, IEC 61850 quantity, phase, unit, scale."""

    name: str       # column in the samples table ('ia')
    quantity: str   # 'I' or 'U'
    phase: str      # 'A', 'B', 'C', 'N'
    unit: str       # 'A' or 'V'
    scale: float    # engineering units per count on the wire (9-2LE: 0.001 A, 0.01 V)


#: The 9-2LE dataset PhsMeas1: four currents then four voltages.
LE_LAYOUT = tuple(
    [Channel(f"i{p}", "I", p.upper(), "A", 0.001) for p in "abcn"]
    + [Channel(f"v{p}", "U", p.upper(), "V", 0.01) for p in "abcn"])


@dataclass(frozen=True, eq=False)
class StreamSignal:
    """One stream's samples on its unwrapped sample index (sorted, first copy of each)."""

    stream: int
    sv_id: object
    appid: object
    src_mac: object
    sample_rate: float          # samples per second
    rate_source: str            # 'smpRate' or 'measured'
    nominal_frequency: float    # Hz
    samples_per_cycle: int
    wrap: int                   # smpCnt wrap value
    index: np.ndarray           # int64 (n,), strictly increasing unwrapped sample index
    values: np.ndarray          # float64 (n, channels)
    quality: np.ndarray         # uint32 (n, channels)
    t0: float                   # epoch time of index[0]
    channels: tuple = LE_LAYOUT

    @property
    def lost(self) -> int:
        """Indices missing between the first and the last sample."""
        return int(self.index[-1] - self.index[0] + 1 - len(self.index)) if len(self.index) else 0

    def time_of(self, idx):
        """Epoch time of sample index ``idx`` (scalar or array)."""
        return self.t0 + (np.asarray(idx, dtype=np.float64) - self.index[0]) / self.sample_rate

    def label(self) -> str:
        appid = "" if _na(self.appid) else f" 0x{int(self.appid):04X}"
        return f"{self.sv_id}{appid} {self.src_mac}"


def _na(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _key(v):
    return None if _na(v) else (int(v) if isinstance(v, (np.integer,)) else v)


# -- sample times -------------------------------------------------------------------------

def _rate(smp_rate, smp_mod, measured, wrap, nominal):
    """(sample rate Hz, source, nominal frequency) from smpRate/smpMod and the measured rate."""
    freqs = (float(nominal),) if nominal else tuple(float(f) for f in NOMINAL_FREQUENCIES)
    rate = None
    if not _na(smp_rate) and smp_rate > 0:
        mod = 0 if _na(smp_mod) else int(smp_mod)
        if mod == 0:
            cands = [(float(smp_rate) * f, f) for f in freqs]
            if measured:
                r, f = min(cands, key=lambda c: abs(math.log(c[0] / measured)))
            else:
                r, f = next((c for c in cands if c[0] == wrap), cands[0])
            return r, "smpRate", f
        if mod == 1:
            rate = float(smp_rate)
        elif mod == 2:
            rate = 1.0 / float(smp_rate)
        if rate is not None:
            return rate, "smpRate", _nominal_for(rate, freqs)
    if measured:
        rate = min(STANDARD_RATES, key=lambda r: abs(r - measured))
        if abs(rate - measured) > STANDARD_RATE_TOLERANCE * rate:
            rate = float(max(1, round(measured)))
        return float(rate), "measured", _nominal_for(rate, freqs)
    return float(wrap), "wrap", _nominal_for(wrap, freqs)


def _nominal_for(rate, freqs) -> float:
    for f in freqs:
        if rate >= f and abs(rate / f - round(rate / f)) < 1e-9:
            return f
    return freqs[0]


def _per_period(smp_mod) -> bool:
    return _na(smp_mod) or int(smp_mod) == 0


def _off_nominal(sig) -> float:
    """How far the measured frequency is from the stream's nominal one (Hz; inf if unknown).

    Decides the nominal frequency when the rate fits both (4800/s: 96 per cycle at
    50 Hz or 80 at 60 Hz): a 50 Hz signal measured against 60 Hz cycles reads 50.
    """
    if not _usable(sig):
        return math.inf
    cyc, _, inv = _cycles(sig)
    f = _frequency(sig, cyc, _dft(sig, cyc, inv, sig.nominal_frequency), sig.nominal_frequency)
    f = f[np.isfinite(f)]
    return abs(float(np.median(f)) - sig.nominal_frequency) if len(f) else math.inf


def _unwrap(cnt, t, wrap, rate):
    """Continuous sample index from smpCnt, whole wraps counted from the capture time."""
    if len(cnt) == 0:
        return cnt.astype(np.int64)
    d = np.diff(cnt) % wrap
    expected = np.diff(t) * rate
    k = np.rint((expected - d) / wrap)
    step = d + k.astype(np.int64) * wrap
    u = np.empty(len(cnt), dtype=np.int64)
    u[0] = cnt[0]
    np.cumsum(step, out=u[1:])
    u[1:] += cnt[0]
    return u


def _measured_rate(cnt, t, wrap):
    """Samples advanced per second of capture time (gaps shorter than half a wrap counted)."""
    if len(cnt) < 2:
        return None
    dur = float(t.max() - t.min())
    d = np.diff(cnt) % wrap
    d = np.where(d > wrap // 2, 0, d)
    adv = float(d.sum())
    return adv / dur if dur > 0 and adv > 0 else None


def stream_signals(table: pd.DataFrame, samples: pd.DataFrame, nominal: float | None = None,
                   channels=LE_LAYOUT) -> tuple[list, dict]:
    """Each stream's :class:`StreamSignal`, and per samples row its stream and index.

    ``table`` is the ASDU table (for stream numbers and smpRate/smpMod), ``samples``
    the samples table (rows = ASDUs with a decodable dataset); ``nominal`` forces the
    nominal frequency (Hz) instead of choosing 50 or 60 from the rates.  Returns
    ``(signals, rows)`` with ``rows = {'stream', 'sample', 'sample_time'}`` arrays
    aligned with ``samples`` (stream -1 / sample -1 / NaN where smpCnt is missing).
    """
    n = len(samples)
    rows = {"stream": np.full(n, -1, dtype=np.int64), "sample": np.full(n, -1, dtype=np.int64),
            "sample_time": np.full(n, np.nan)}
    if n == 0 or table is None or len(table) == 0:
        return [], rows
    keys = ["sv_id", "appid", "src_mac"]
    gid_t = table.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    first = np.unique(gid_t, return_index=True)[1]
    head = table.iloc[first]
    number = {}
    for g, (sv, ap, mac, rate, mod) in zip(gid_t[first], head[keys + ["smp_rate", "smp_mod"]]
                                           .astype(object).itertuples(index=False, name=None)):
        number[(_key(sv), _key(ap), _key(mac))] = (int(g), rate, mod)

    gid_s = samples.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    order = np.argsort(gid_s, kind="stable")
    starts = np.flatnonzero(np.r_[True, gid_s[order][1:] != gid_s[order][:-1]])
    ends = np.r_[starts[1:], n]
    cnt_all = samples["smp_cnt"].to_numpy(dtype=np.float64, na_value=np.nan)
    t_all = samples["time"].to_numpy(dtype=np.float64)
    vals_all = np.column_stack([samples[c.name].to_numpy(dtype=np.float64) for c in channels])
    q_all = np.column_stack([samples["q_" + c.name].to_numpy(dtype=np.uint32) for c in channels])
    key_cols = samples[keys].astype(object)
    signals = []
    for s, e in zip(starts, ends):
        idx = order[s:e]
        k0 = idx[0]
        key = tuple(_key(v) for v in key_cols.iloc[k0])
        info = number.get(key)
        if info is None:
            continue
        stream, smp_rate, smp_mod = info
        ok = idx[~np.isnan(cnt_all[idx])]
        if len(ok) == 0:
            continue
        cnt = cnt_all[ok].astype(np.int64)
        t = t_all[ok]
        wrap = infer_wrap(int(cnt.max()), smp_rate, smp_mod)
        rate, source, f0 = _rate(smp_rate, smp_mod, _measured_rate(cnt, t, wrap), wrap, nominal)
        u = _unwrap(cnt, t, wrap, rate)
        uniq, pick = np.unique(u, return_index=True)       # first copy of each index
        rel = (u - uniq[0]) / rate
        t0 = float(np.median(t - rel))
        rows["stream"][ok] = stream
        rows["sample"][ok] = u
        rows["sample_time"][ok] = t0 + rel
        args = (stream, key[0], key[1], key[2], rate, source)
        rest = (wrap, uniq, vals_all[ok[pick]], q_all[ok[pick]], t0, tuple(channels))
        cands = [f0]
        if nominal is None and (source != "smpRate" or not _per_period(smp_mod)):
            cands = [f for f in NOMINAL_FREQUENCIES if rate >= f and rate % f == 0] or [f0]
        sigs = [StreamSignal(*args, float(f), max(1, int(round(rate / f))), *rest) for f in cands]
        signals.append(sigs[0] if len(sigs) == 1 else min(sigs, key=_off_nominal))
    signals.sort(key=lambda sg: sg.stream)
    return signals, rows


def sample_columns(samples: pd.DataFrame, rows: dict) -> pd.DataFrame:
    """``samples`` with the columns ``stream``, ``sample`` and ``sample_time`` inserted."""
    out = samples.copy(deep=False)
    pos = list(out.columns).index("smp_cnt") + 1 if "smp_cnt" in out.columns else len(out.columns)
    for i, name in enumerate(("stream", "sample", "sample_time")):
        v = rows[name]
        if name != "sample_time":
            v = pd.arrays.IntegerArray(v, v < 0)
        out.insert(pos + i, name, v)
    return out


# -- regular grids ------------------------------------------------------------------------

def grid(sig: StreamSignal, lo: int, hi: int):
    """Samples ``lo .. hi-1`` on a regular index: ``(values NaN-filled, quality, present)``."""
    n = max(0, hi - lo)
    vals = np.full((n, len(sig.channels)), np.nan)
    q = np.zeros((n, len(sig.channels)), dtype=np.uint32)
    present = np.zeros(n, dtype=bool)
    a, b = np.searchsorted(sig.index, [lo, hi])
    pos = sig.index[a:b] - lo
    vals[pos] = sig.values[a:b]
    q[pos] = sig.quality[a:b]
    present[pos] = True
    return vals, q, present


def _span(sig: StreamSignal, start=None, end=None):
    """Index range [lo, hi) of the samples between epoch times start and end (inclusive)."""
    if not len(sig.index):
        return 0, 0
    lo, hi = int(sig.index[0]), int(sig.index[-1]) + 1
    if start is not None:
        lo = max(lo, int(math.ceil((start - sig.t0) * sig.sample_rate - 1e-9)) + int(sig.index[0]))
    if end is not None:
        hi = min(hi, int(math.floor((end - sig.t0) * sig.sample_rate + 1e-9)) + int(sig.index[0]) + 1)
    return lo, max(lo, hi)


def waveform(sig: StreamSignal, start: float | None = None, end: float | None = None,
             max_samples: int = MAX_WAVEFORM_SAMPLES) -> pd.DataFrame:
    """The stream on a regular time grid between epoch times ``start`` and ``end``.

    One row per sample index, lost samples included as rows with ``present`` False
    and NaN values.  Columns: see :data:`WAVEFORM_COLUMNS`.  Raises
    :class:`SignalError` beyond ``max_samples`` rows.
    """
    lo, hi = _span(sig, start, end)
    if hi - lo > max_samples:
        raise SignalError(f"stream {sig.label()}: {hi - lo} samples between the times asked "
                          f"exceed the limit of {max_samples}; narrow the range (--from/--to)")
    vals, q, present = grid(sig, lo, hi)
    idx = np.arange(lo, hi, dtype=np.int64)
    out = {"sample": idx, "time": sig.time_of(idx), "present": present}
    for i, c in enumerate(sig.channels):
        out[c.name] = vals[:, i]
    for i, c in enumerate(sig.channels):
        out["q_" + c.name] = q[:, i]
    return pd.DataFrame(out, copy=False)


def select_streams(signals, spec: str | None):
    """Streams matching ``spec``: a stream number, an svID, or an APPID (0x4000 / 16384)."""
    if spec is None:
        return list(signals)
    s = str(spec).strip()
    hit = [g for g in signals if str(g.sv_id) == s]
    if not hit and s.isdigit():
        hit = [g for g in signals if g.stream == int(s)]
    if not hit:
        try:
            appid = int(s, 0)
        except ValueError:
            appid = None
        if appid is not None:
            hit = [g for g in signals if not _na(g.appid) and int(g.appid) == appid]
    if not hit:
        known = ", ".join(f"{g.stream}: {g.label()}" for g in signals) or "none"
        raise SignalError(f"no SV stream '{spec}' (streams with samples: {known})")
    return hit


# -- cycles, RMS, phasors -----------------------------------------------------------------

def _cycles(sig: StreamSignal):
    """Cycles that have at least one sample: ``(cycle numbers, samples per cycle, cycle of
    each sample as a position in the cycle numbers)``."""
    c = np.floor_divide(sig.index, sig.samples_per_cycle)
    cyc, inv = np.unique(c, return_inverse=True)
    return cyc, np.bincount(inv, minlength=len(cyc)), inv.reshape(-1)


def _blocks(sig: StreamSignal, cyc, inv):
    """Cycle grids a few at a time: yields ``(a, b, G)``, G the samples of cycles a..b-1
    and of cycle b (for windows running past a cycle end) on rows ``(k - a) * N + n``,
    NaN where no sample arrived.  At most :data:`CYCLE_BLOCK_ROWS` rows at once."""
    N = sig.samples_per_cycle
    K = max(1, CYCLE_BLOCK_ROWS // N)
    for a in range(0, len(cyc), K):
        b = min(len(cyc), a + K)
        s0, s1 = np.searchsorted(inv, [a, b + 1])
        G = np.full(((b - a) + 1) * N, np.nan)[:, None].repeat(len(sig.channels), axis=1)
        ii = inv[s0:s1]
        G[(ii - a) * N + (sig.index[s0:s1] - cyc[ii] * N)] = sig.values[s0:s1]
        yield a, b, G


def _usable(sig: StreamSignal) -> bool:
    return len(sig.index) > 0 and MIN_SAMPLES_PER_CYCLE <= sig.samples_per_cycle <= MAX_SAMPLES_PER_CYCLE


def _kernel(sig, f):
    """(M, complex kernel) of the phasor at frequency ``f``, or (M, None) when out of range.

    At the nominal frequency (whole periods in the window) this is the one-cycle DFT;
    otherwise the window is the M = round(rate / f) samples from the cycle start and
    the phasor is the least-squares fit of ``a cos + b sin`` at ``f`` plus a constant,
    which is the DFT when the window holds whole periods and has no leakage when it
    does not.
    """
    N = sig.samples_per_cycle
    M = max(1, int(round(sig.sample_rate / f)))
    if M > 2 * N:
        return M, None
    th = 2 * np.pi * f * np.arange(M) / sig.sample_rate
    if M == N and abs(f * N - sig.sample_rate) < 1e-9 * sig.sample_rate:
        return M, math.sqrt(2) / M * np.exp(-1j * th)
    basis = np.column_stack([np.cos(th), np.sin(th), np.ones(M)])
    a, b, _ = np.linalg.pinv(basis)                      # coefficient rows (M,)
    return M, (a - 1j * b) / math.sqrt(2)


def _dft(sig, cyc, inv, f):
    """Fundamental RMS phasor of every cycle at frequency ``f`` -> complex (C, channels)."""
    N = sig.samples_per_cycle
    C = len(cyc)
    M, kernel = _kernel(sig, f)
    out = np.full((C, len(sig.channels)), np.nan + 0j)
    if kernel is None:
        return out
    for a, b, G in _blocks(sig, cyc, inv):
        k = b - a
        if M <= N:
            X = G[:k * N].reshape(k, N, -1)[:, :M]
            out[a:b] = np.einsum("cnk,n->ck", X, kernel)
        else:
            win = (np.arange(k) * N)[:, None] + np.arange(M)[None, :]
            out[a:b] = np.einsum("cnk,n->ck", G[win], kernel)
    if M > N:                                        # the window needs the next cycle too
        contiguous = np.r_[cyc[1:] == cyc[:-1] + 1, False]
        out[~contiguous] = np.nan
    return out


def _rms(sig, cyc, inv):
    N = sig.samples_per_cycle
    out = np.full((len(cyc), len(sig.channels)), np.nan)
    for a, b, G in _blocks(sig, cyc, inv):
        X = G[:(b - a) * N].reshape(b - a, N, -1)
        out[a:b] = np.sqrt(np.mean(X * X, axis=1))
    return out


def _sequence(xa, xb, xc):
    return ((xa + _A * xb + _A * _A * xc) / 3, (xa + _A * _A * xb + _A * xc) / 3, (xa + xb + xc) / 3)


def _frequency(sig, cyc, X, f0):
    """Per-cycle frequency from the positive-sequence phasor rotation (NaN when unknown)."""
    names = [c.name for c in sig.channels]
    ref = None
    for q, floor in (("v", MIN_REF_VOLTAGE), ("i", MIN_REF_CURRENT)):
        cols = [f"{q}{p}" for p in "abc"]
        if all(c in names for c in cols):
            p1 = _sequence(*(X[:, names.index(c)] for c in cols))[0]
            mag = np.abs(p1)
            if np.any(mag > floor):
                ref = np.where(mag > floor, p1, np.nan)
                break
    f = np.full(len(cyc), np.nan)
    if ref is None or len(cyc) < 2:
        return f
    dphi = np.angle(ref[1:] * np.conj(ref[:-1]))
    contiguous = cyc[1:] == cyc[:-1] + 1
    f[1:] = np.where(contiguous, f0 + dphi * sig.sample_rate / (2 * np.pi * sig.samples_per_cycle),
                     np.nan)
    return f


def _head(sig, cyc, counts):
    N = sig.samples_per_cycle
    k = len(cyc)
    return {
        "stream": np.full(k, sig.stream), "sv_id": [sig.sv_id] * k, "appid": [sig.appid] * k,
        "src_mac": [sig.src_mac] * k, "cycle": cyc, "time": sig.time_of(cyc * N),
        "samples": counts,
    }


def _frame(spec: dict, parts: list) -> pd.DataFrame:
    """Concatenate per-stream dicts of arrays into a DataFrame with the spec's dtypes."""
    data = {}
    for name, (dtype, _m) in spec.items():
        vals = [p[name] for p in parts]
        if dtype == "Int64":
            data[name] = pd.array([None if _na(x) else int(x) for v in vals for x in v],
                                  dtype="Int64")
        elif dtype == "string":
            data[name] = pd.array([None if _na(x) else str(x) for v in vals for x in v],
                                  dtype="string")
        else:
            data[name] = np.concatenate([np.asarray(v, dtype=np.float64) for v in vals]) \
                if vals else np.zeros(0)
    return pd.DataFrame(data, copy=False)


def rms_table(signals) -> pd.DataFrame:
    """RMS of each channel per cycle of every stream: see :data:`RMS_COLUMNS`."""
    parts = []
    for sig in signals:
        if not _usable(sig):
            continue
        cyc, counts, inv = _cycles(sig)
        rms = _rms(sig, cyc, inv)
        part = _head(sig, cyc, counts)
        for i, c in enumerate(sig.channels):
            part[c.name] = rms[:, i]
        parts.append(part)
    return _frame(RMS_COLUMNS, parts)


def phasor_table(signals, frequency: str = "nominal") -> pd.DataFrame:
    """Fundamental phasors per cycle, sequence components and frequency: :data:`PHASOR_COLUMNS`.

    ``frequency``: ``"nominal"`` (DFT at the nominal frequency) or ``"measured"``
    (at the stream's median measured frequency, nominal when it cannot be measured).
    """
    if frequency not in ("nominal", "measured"):
        raise SignalError(f"frequency must be 'nominal' or 'measured', not {frequency!r}")
    parts = []
    for sig in signals:
        if not _usable(sig):
            continue
        cyc, counts, inv = _cycles(sig)
        f0 = sig.nominal_frequency
        X = _dft(sig, cyc, inv, f0)
        fest = _frequency(sig, cyc, X, f0)
        fd = f0
        if frequency == "measured" and np.isfinite(fest).any():
            fd = float(np.nanmedian(fest))
            X = _dft(sig, cyc, inv, fd)
        part = _head(sig, cyc, counts)
        part["dft_frequency"] = np.full(len(cyc), fd)
        part["frequency"] = fest
        names = [c.name for c in sig.channels]
        for i, name in enumerate(names):
            part[name + "_mag"] = np.abs(X[:, i])
            part[name + "_ang"] = np.degrees(np.angle(X[:, i]))
        for q in ("i", "v"):
            cols = [f"{q}{p}" for p in "abc"]
            if all(c in names for c in cols):
                seq = _sequence(*(X[:, names.index(c)] for c in cols))
            else:
                seq = (np.full(len(cyc), np.nan + 0j),) * 3
            for k, x in zip("120", seq):
                part[f"{q}{k}_mag"] = np.abs(x)
                part[f"{q}{k}_ang"] = np.degrees(np.angle(x))
        parts.append(part)
    return _frame(PHASOR_COLUMNS, parts)


def quality_flags(q: np.ndarray) -> dict:
    """``{flag: bool array}`` of the :data:`QUALITY_FLAGS` for quality words ``q``."""
    q = np.asarray(q, dtype=np.uint32)
    return {name: fn(q) for name, fn in QUALITY_FLAGS.items()}


# -- column specifications ----------------------------------------------------------------

_STREAM = {
    "stream": ("Int64", "SV stream number (row of sv_streams(): one svID + APPID + source MAC)"),
    "sv_id": ("string", "svID"),
    "appid": ("Int64", "APPID"),
    "src_mac": ("string", "source MAC address"),
}
_CYCLE = {
    "cycle": ("Int64", "cycle number: unwrapped sample index // samples per nominal cycle "
                       "(cycles start at smpCnt multiples of samples-per-cycle)"),
    "time": ("float64", "epoch time of the cycle's first sample (from smpCnt and the rate)"),
    "samples": ("Int64", "samples of the cycle that arrived; values are NaN unless all did"),
}
_UNIT = {"i": ("A", "current"), "v": ("V", "voltage")}
_PH = {"a": "phase A", "b": "phase B", "c": "phase C", "n": "neutral"}

#: Columns of :meth:`mmsanalyze.api.Capture.sv_samples`.
SAMPLE_COLUMNS = {
    "time": ("float64", "capture time of the frame carrying the ASDU, epoch s"),
    "frame": ("Int64", "frame number"),
    "sv_id": ("category", "svID"),
    "appid": ("Int64", "APPID"),
    "src_mac": ("category", "source MAC address"),
    "asdu_index": ("Int64", "0-based position of the ASDU in its frame"),
    "smp_cnt": ("Int64", "smpCnt as sent"),
    "stream": ("Int64", "SV stream number (row of sv_streams())"),
    "sample": ("Int64", "smpCnt unwrapped into a continuous sample index (wraps counted; "
                        "lost samples leave holes)"),
    "sample_time": ("float64", "epoch time of the sample: stream origin + index / sample rate "
                               "(origin: median capture time minus offset)"),
    **{ch: ("float64", f"{_PH[ch[1]]} {_UNIT[ch[0]][1]}, {_UNIT[ch[0]][0]} "
                       f"(9-2LE: {'1 mA' if ch[0] == 'i' else '10 mV'} per count)")
       for ch in (c.name for c in LE_LAYOUT)},
    **{"q_" + ch: ("uint32", f"quality word of {ch} (IEC 61850-7-3: validity bits 0-1, "
                             "test 0x800, derived 0x2000)") for ch in (c.name for c in LE_LAYOUT)},
}

#: Columns of :meth:`mmsanalyze.api.Capture.sv_rms`.
RMS_COLUMNS = {
    **_STREAM, **_CYCLE,
    **{c.name: ("float64", f"RMS of {_PH[c.name[1]]} {_UNIT[c.name[0]][1]} over the cycle, "
                           f"{c.unit} (NaN when a sample of the cycle was lost)")
       for c in LE_LAYOUT},
}

#: Columns of :meth:`mmsanalyze.api.Capture.sv_phasors`.
PHASOR_COLUMNS = {
    **_STREAM, **_CYCLE,
    "dft_frequency": ("float64", "frequency of the one-cycle DFT, Hz (nominal, or the stream's "
                                 "median measured frequency)"),
    "frequency": ("float64", "frequency estimate from the positive-sequence voltage (else current) "
                             "phasor rotation since the previous cycle, Hz"),
    **{k: v for c in LE_LAYOUT for k, v in (
        (c.name + "_mag", ("float64", f"fundamental of {c.name}: RMS magnitude, {c.unit}")),
        (c.name + "_ang", ("float64", f"fundamental of {c.name}: angle, degrees, against a "
                                      "nominal-frequency cosine with phase 0 at the cycle start")))},
    **{k: v for q in "iv" for s, what in (("1", "positive"), ("2", "negative"), ("0", "zero"))
       for k, v in (
           (f"{q}{s}_mag", ("float64", f"{what}-sequence {_UNIT[q][1]} magnitude, {_UNIT[q][0]}")),
           (f"{q}{s}_ang", ("float64", f"{what}-sequence {_UNIT[q][1]} angle, degrees")))},
}

#: Columns of :meth:`mmsanalyze.api.Capture.sv_waveform`.
WAVEFORM_COLUMNS = {
    "sample": ("int64", "unwrapped sample index (one row per index: lost samples are rows too)"),
    "time": ("float64", "epoch time of the sample"),
    "present": ("bool", "the sample arrived (False: lost, values NaN)"),
    **{c.name: ("float64", f"{c.name}, {c.unit} (NaN when lost)") for c in LE_LAYOUT},
    **{"q_" + c.name: ("uint32", f"quality word of {c.name} (0 when lost)") for c in LE_LAYOUT},
}
