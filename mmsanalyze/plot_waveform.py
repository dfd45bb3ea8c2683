"""Waveform picture of Sampled Values streams (matplotlib, Agg backend).

:func:`plot_sv_waveform` draws, for each stream, the currents and the voltages on
two panels sharing the time axis.  Lost samples are gaps in the lines, shaded in
red with a red triangle under each gap (a single lost sample is narrower than a
pixel, the triangle keeps it visible).  Samples whose quality is not plain good
are marked in a band above the data, one row per flag (a bar over each run of
flagged samples, a marker at its start): invalid, questionable, test, derived
(any channel of the panel).  Long records are drawn
as a min/max envelope of at most :data:`MAX_PLOT_POINTS` points per line, which
keeps every peak.
"""

from __future__ import annotations

import numpy as np

from .analysis.sv_signals import QUALITY_FLAGS, waveform

__all__ = ["plot_sv_waveform", "MAX_PLOT_POINTS", "MAX_STREAMS"]

#: Points per line above which the line becomes a min/max envelope.
MAX_PLOT_POINTS = 40_000
#: Gaps shaded one by one (every gap still gets its triangle).
MAX_SHADED_GAPS = 2000
#: Streams drawn in one picture (the first ones, in stream order).
MAX_STREAMS = 4
_COLOURS = {"A": "#d62728", "B": "#2ca02c", "C": "#1f77b4", "N": "#7f7f7f"}
_FLAG_STYLE = {"invalid": ("#d62728", "x"), "questionable": ("#ff7f0e", "x"),
               "test": ("#9467bd", "|"), "derived": ("#17becf", "|")}


def _envelope(x, y, max_points):
    """(x, y) reduced to min/max pairs per bucket when longer than ``max_points``."""
    n = len(x)
    if n <= max_points:
        return x, y
    b = int(np.ceil(n / (max_points // 2)))
    m = (n + b - 1) // b
    pad = m * b - n
    yy = np.r_[y, np.full(pad, np.nan)].reshape(m, b)
    xx = np.r_[x, np.full(pad, x[-1])].reshape(m, b)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanmin(yy, axis=1), np.nanmax(yy, axis=1)
    return np.repeat(xx[:, 0], 2), np.column_stack([lo, hi]).ravel()


def _runs(mask):
    """(starts, ends) of the runs of True in ``mask`` (ends exclusive)."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def plot_sv_waveform(signals, path, start: float | None = None, end: float | None = None,
                     t0: float | None = None, max_streams: int = MAX_STREAMS,
                     max_points: int = MAX_PLOT_POINTS) -> str:
    """Draw the streams' waveforms between epoch times ``start`` and ``end`` to PNG ``path``.

    ``signals``: :class:`~mmsanalyze.analysis.sv_signals.StreamSignal` list (the first
    ``max_streams`` are drawn); ``t0``: epoch time shown as 0 on the time axis
    (default: the first sample drawn).  Returns ``path``.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sigs = list(signals)[:max_streams]
    waves = [(s, waveform(s, start, end)) for s in sigs]
    waves = [(s, w) for s, w in waves if len(w)]
    if not waves:
        fig, ax = plt.subplots(figsize=(12, 4), dpi=110)
        what = "no 9-2LE SV samples in the capture"
        if sigs and (start is not None or end is not None):
            t_0 = min(float(s.time_of(s.index[0])) for s in sigs)
            t_1 = max(float(s.time_of(s.index[-1])) for s in sigs)
            ref = t0 if t0 is not None else t_0
            what = (f"no SV samples in the range asked; the samples span "
                    f"{t_0 - ref:.3f} s to {t_1 - ref:.3f} s")
        ax.text(0.5, 0.5, what, ha="center", va="center",
                transform=ax.transAxes, fontsize=14, color="grey")
        ax.set_axis_off()
        fig.savefig(path)
        plt.close(fig)
        return str(path)
    since = "the start of the capture" if t0 is not None else "the first sample drawn"
    if t0 is None:
        t0 = min(float(w["time"].iloc[0]) for _, w in waves)
    fig, axes = plt.subplots(2 * len(waves), 1, figsize=(13, 3.4 * 2 * len(waves)), dpi=110,
                             sharex=True, squeeze=False)
    axes = axes[:, 0]
    for k, (sig, w) in enumerate(waves):
        x = w["time"].to_numpy() - t0
        present = w["present"].to_numpy()
        starts, ends = _runs(~present)
        half = 0.5 / sig.sample_rate
        for j, (quantity, unit) in enumerate((("I", "A"), ("U", "V"))):
            ax = axes[2 * k + j]
            chans = [c for c in sig.channels if c.quantity == quantity]
            for c in chans:
                xx, yy = _envelope(x, w[c.name].to_numpy(), max_points)
                ax.plot(xx, yy, lw=0.8 if c.phase != "N" else 0.6,
                        ls="-" if c.phase != "N" else "--",
                        color=_COLOURS.get(c.phase, None), label=c.name.upper())
            if len(starts):
                trans = ax.get_xaxis_transform()
                for s_, e_ in zip(starts[:MAX_SHADED_GAPS], ends[:MAX_SHADED_GAPS]):
                    ax.axvspan(x[s_] - half, x[e_ - 1] + half, color="#d62728", alpha=0.18, lw=0)
                lost = int((ends - starts).sum())
                ax.plot(x[starts], np.full(len(starts), 0.03), ls="", marker="^", ms=7,
                        color="#d62728", transform=trans, clip_on=False,
                        label=f"lost samples ({lost} in {len(starts)} gaps)")
            trans = ax.get_xaxis_transform()
            q = np.column_stack([w["q_" + c.name].to_numpy() for c in chans])
            rows = 0
            for r, (flag, fn) in enumerate(QUALITY_FLAGS.items()):
                hit = fn(q).any(axis=1) & present
                if not hit.any():
                    continue
                rows = r + 1
                colour, marker = _FLAG_STYLE[flag]
                y = 0.965 - 0.045 * r
                fs, fe = _runs(hit)
                seg_x = np.column_stack([x[fs] - half, x[fe - 1] + half,
                                         np.full(len(fs), np.nan)]).ravel()
                ax.plot(seg_x, np.full(len(seg_x), y), lw=3, solid_capstyle="butt", color=colour,
                        transform=trans)
                mx = x[fs][:: max(1, int(np.ceil(len(fs) / max_points)))]
                ax.plot(mx, np.full(len(mx), y), ls="", marker=marker, ms=5, color=colour,
                        transform=trans, label=f"{flag} quality ({int(hit.sum())} samples)")
            # room above the data for the flag rows and below it for the gap markers
            lo_, hi_ = ax.get_ylim()
            span = hi_ - lo_
            ax.set_ylim(lo_ - (0.08 * span if len(starts) else 0),
                        hi_ + (0.06 + 0.05 * rows) * span / 0.9 if rows else hi_)
            ax.set_ylabel(f"{'current' if quantity == 'I' else 'voltage'} ({unit})")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0)
            if j == 0:
                ax.set_title(f"{sig.label()}  -  {sig.sample_rate:g} samples/s "
                             f"({sig.samples_per_cycle}/cycle at {sig.nominal_frequency:g} Hz)",
                             fontsize=10)
    axes[-1].set_xlabel(f"time (s) since {since}")
    fig.suptitle("Sampled Values waveforms")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)
