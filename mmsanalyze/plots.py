"""Plots of the analysis tables (matplotlib, Agg backend: no display needed).

Each function takes a table of :class:`mmsanalyze.api.Capture`, writes a PNG and
returns its path::

    from mmsanalyze import plots
    plots.plot_latency_distribution(cap.transactions(), "latency.png")
    plots.plot_latency_over_time(cap.transactions(), "latency_time.png", t0=cap.first_time)
    plots.plot_report_intervals(cap.reports(reassemble=True), "reports.png", t0=cap.first_time)
    plots.plot_traffic(cap.traffic(by="second"), "traffic.png", t0=cap.first_time)

Many series stay readable: only the busiest ``max_series`` get their own colour and
legend entry (the rest are grouped as "other"), legends sit outside the axes, and
log scales are used where values span decades.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_latency_distribution", "plot_latency_over_time", "plot_report_intervals", "plot_traffic",
           "plot_transaction_outcomes"]

_SIZE = (11, 6)
_MPL_ORIENT = None
_DPI = 110



def _save(fig, path, tight: bool = True) -> str:
    """Lay the figure out, write it to ``path``, free it; the path written."""
    if tight:
        fig.tight_layout()
    fig.savefig(path)
    _plt().close(fig)
    return str(path)

def _mpl_has_orientation() -> bool:
    import inspect
    import matplotlib.axes
    return "orientation" in inspect.signature(matplotlib.axes.Axes.boxplot).parameters


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _colors(n):
    """``n`` distinct colours, never grey (grey is kept for "other")."""
    plt = _plt()
    if n <= 9:
        cmap, skip = plt.get_cmap("tab10"), {7}
    else:
        cmap, skip = plt.get_cmap("tab20"), {14, 15}
    pal = [cmap(i) for i in range(cmap.N) if i not in skip]
    return [pal[i % len(pal)] for i in range(n)]


def _empty(path, title, msg):
    plt = _plt()
    fig, ax = plt.subplots(figsize=_SIZE, dpi=_DPI)
    ax.set_title(title)
    ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes, fontsize=14, color="grey")
    ax.set_axis_off()
    return _save(fig, path, tight=False)


def _log_if_wide(values) -> bool:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return len(v) > 1 and v.max() / v.min() > 30


def plot_latency_distribution(txns, path, max_series: int = 20) -> str:
    """Box plot of latency (ms) per service, slowest median on top, with every point drawn.

    Services beyond the ``max_series`` busiest are grouped as "other".
    """
    plt = _plt()
    global _MPL_ORIENT
    if _MPL_ORIENT is None:
        _MPL_ORIENT = _mpl_has_orientation()
    df = txns[txns["latency_ms"].notna()][["service", "latency_ms"]].copy()
    title = "Response time per service"
    if len(df) == 0:
        return _empty(path, title, "no answered requests in this capture")
    df["service"] = df["service"].fillna("?").astype(str)
    top = df["service"].value_counts().index[:max_series]
    df.loc[~df["service"].isin(top), "service"] = "other"
    groups = sorted(df.groupby("service")["latency_ms"], key=lambda g: g[1].median())
    fig, ax = plt.subplots(figsize=(_SIZE[0], max(3.0, 0.45 * len(groups) + 1.8)), dpi=_DPI)
    data = [g.to_numpy() for _, g in groups]
    labels = [_tex_safe(f"{name} (n={len(g)})") for name, g in groups]
    ax.boxplot(data, orientation="horizontal", showfliers=False, widths=0.6,
               medianprops={"color": "black"}) if _MPL_ORIENT else \
        ax.boxplot(data, vert=False, showfliers=False, widths=0.6, medianprops={"color": "black"})
    ax.set_yticks(range(1, len(labels) + 1), labels)
    rng = np.random.default_rng(0)
    for i, d in enumerate(data, start=1):
        ax.scatter(d, i + rng.uniform(-0.18, 0.18, len(d)), s=9, alpha=0.5, color="tab:blue", zorder=3)
    if _log_if_wide(df["latency_ms"]):
        ax.set_xscale("log")
    ax.set_xlabel("latency: request to response (ms)")
    ax.set_ylabel("service (number of answered requests)")
    ax.set_title(title)
    ax.grid(axis="x", which="both", alpha=0.3)
    return _save(fig, path)


def plot_latency_over_time(txns, path, t0=None, max_series: int = 9) -> str:
    """Latency (ms) of each transaction against its request time (s), one colour per service.

    Failed transactions (status not ok) are drawn as crosses.
    """
    plt = _plt()
    df = txns[txns["latency_ms"].notna() & txns["request_time"].notna()]
    title = "Response time over the capture"
    if len(df) == 0:
        return _empty(path, title, "no answered requests in this capture")
    t0 = float(df["request_time"].min()) if t0 is None else t0
    svc = df["service"].fillna("?").astype(str)
    top = list(svc.value_counts().index[:max_series])
    fig, ax = plt.subplots(figsize=_SIZE, dpi=_DPI)
    colors = dict(zip(top, _colors(len(top))))
    groups = top + (["other"] if (~svc.isin(top)).any() else [])
    for name in groups:
        sel = (svc == name) if name != "other" else ~svc.isin(top)
        part = df[sel.to_numpy()]
        ok = (part["status"] == "ok").to_numpy()
        x = part["request_time"].to_numpy() - t0
        y = part["latency_ms"].to_numpy()
        c = colors.get(name, "darkgrey")
        ax.scatter(x[ok], y[ok], s=14, color=c, alpha=0.7, label=_tex_safe(f"{name} ({len(part)})"))
        if (~ok).any():
            ax.scatter(x[~ok], y[~ok], s=40, color=c, marker="x", linewidths=1.5)
    if (df["status"] != "ok").any():
        ax.scatter([], [], marker="x", color="black", label="failed (status not ok)")
    if _log_if_wide(df["latency_ms"]):
        ax.set_yscale("log")
    ax.set_xlabel("request time (s since the first frame)")
    ax.set_ylabel("latency (ms)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="service (requests)")
    return _save(fig, path)


#: status -> (marker, colour) in the transaction outcome timeline
_STATUS_STYLE = {"ok": ("|", "tab:green"), "error": ("x", "tab:red"), "rejected": ("D", "tab:purple"),
                 "cancelled": ("s", "tab:orange"), "unanswered": ("o", "black")}


def plot_transaction_outcomes(txns, path, t0=None, max_services: int = 20) -> str:
    """Outcome timeline: one lane per service, one mark per request at its request time,
    shaped and coloured by status (ok, error, rejected, cancelled, unanswered), with the
    count per status in the legend.  Unlike :func:`plot_latency_over_time` it shows the
    requests that got no answer and where failures cluster, not how long answers took.
    Services beyond the ``max_services`` busiest share an "other" lane.
    """
    plt = _plt()
    df = txns[txns["request_time"].notna() | txns["response_time"].notna()]
    title = "Transactions: outcome per service over the capture"
    if len(df) == 0:
        return _empty(path, title, "no confirmed requests in this capture")
    when = df["request_time"].fillna(df["response_time"]).to_numpy(dtype=float)
    t0 = float(np.nanmin(when)) if t0 is None else t0
    svc = df["service"].fillna("?").astype(str)
    top = list(svc.value_counts().index[:max_services])
    lanes = top + (["other"] if (~svc.isin(top)).any() else [])
    lane = svc.where(svc.isin(top), "other").map({n: i for i, n in enumerate(lanes)}).to_numpy()
    status = df["status"].fillna("unanswered").astype(str).to_numpy()
    fig, ax = plt.subplots(figsize=(_SIZE[0], max(3.0, 0.4 * len(lanes) + 1.5)), dpi=_DPI)
    for st, (marker, color) in _STATUS_STYLE.items():
        sel = status == st
        if sel.any():
            ax.scatter(when[sel] - t0, lane[sel], marker=marker, color=color, s=60 if st == "ok" else 40,
                       linewidths=1.5, facecolors="none" if marker in "oDs" else None,
                       label=f"{st} ({int(sel.sum())})")
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels([_tex_safe(n) for n in lanes], fontsize=8)
    ax.set_ylim(len(lanes) - 0.5, -0.5)
    ax.set_xlabel("request time (s since the first frame)")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="status (requests)")
    return _save(fig, path)


#: (reason, marker, colour, legend text); a report is drawn by its first matching reason
_REASON_STYLE = (("integrity", "^", "tab:orange", "integrity"),
                 ("general-interrogation", "s", "tab:green", "general interrogation"),
                 (None, "o", "tab:blue", "data / quality change, other"))


def _tex_safe(text) -> str:
    """Matplotlib reads ``$...$`` as mathtext; MMS names are full of ``$``."""
    return str(text).replace("$", r"\$")


def plot_report_intervals(reports, path, t0=None, max_series: int = 8) -> str:
    """Interval (ms) since the previous report, against time (s): one panel per (stream, RptID).

    Panels share the time axis; the ``max_series`` busiest RptIDs are drawn.  Marker and
    colour give the reason (orange triangle integrity, green square GI, blue dot change
    or other); a dashed line marks the integrity period the series shows.
    """
    plt = _plt()
    title = "IEC 61850 report intervals per RptID"
    if len(reports) == 0:
        return _empty(path, title, "no IEC 61850 reports in this capture")
    t0 = float(reports["time"].min()) if t0 is None else t0
    keys = reports.groupby(["stream", "rpt_id"], dropna=False).size().sort_values(ascending=False, kind="stable")
    single = int((keys < 2).sum())
    keys = keys[keys >= 2]                       # an interval needs two reports
    if len(keys) == 0:
        return _empty(path, title, "no RptID with two reports or more")
    shown = list(keys.index[:max_series])
    multi_stream = reports["stream"].nunique() > 1
    fig, axes = plt.subplots(len(shown), 1, sharex=True, squeeze=False, dpi=_DPI,
                             figsize=(_SIZE[0], 1.2 + 1.9 * len(shown)))
    axes = axes[:, 0]
    for ax, (stream, rid) in zip(axes, shown):
        g = reports[(reports["stream"] == stream) & (reports["rpt_id"] == rid)].sort_values("frame")
        t = g["time"].to_numpy(dtype=float)
        reasons = [r if isinstance(r, (list, tuple)) else () for r in g["reasons"].tolist()]
        label = f"{rid}" + (f"  (stream {stream})" if multi_stream else "") + f"  {len(g)} reports"
        # (every drawn series has at least two reports)
        integ = t[[("integrity" in r) for r in reasons]]
        period = float(np.median(np.diff(integ)) * 1000.0) if len(integ) > 1 else None
        if period:
            label += f", integrity period {period:.0f} ms"
        ax.set_title(_tex_safe(label), loc="left", fontsize=9)
        iv = np.maximum(np.diff(t) * 1000.0, 1e-3)
        x = t[1:] - t0
        ax.plot(x, iv, color="grey", alpha=0.4, linewidth=0.8)
        used = np.zeros(len(iv), dtype=bool)
        for reason, marker, color, _ in _REASON_STYLE:
            sel = ~used & np.array([reason is None or reason in r for r in reasons[1:]], dtype=bool)
            used |= sel
            if sel.any():
                ax.scatter(x[sel], iv[sel], marker=marker, color=color, s=22, zorder=3)
        if period:
            ax.axhline(period, color="tab:orange", linestyle="--", linewidth=1)
        if _log_if_wide(iv):
            ax.set_yscale("log")
        ax.set_ylabel("interval (ms)")
        ax.grid(alpha=0.3, which="both")
    axes[-1].set_xlabel("report time (s since the first frame)")
    handles = [plt.Line2D([], [], marker=m, color=c, linestyle="", label=f"reason: {txt}")
               for _, m, c, txt in _REASON_STYLE]
    handles.append(plt.Line2D([], [], color="tab:orange", linestyle="--", label="integrity period (median)"))
    extra = f" (the {len(shown)} busiest of {len(keys)})" if len(keys) > len(shown) else ""
    if single:
        extra += f"; {single} RptID(s) with a single report not drawn"
    height = fig.get_figheight()
    fig.suptitle(title + extra, y=1 - 0.12 / height, va="top")
    fig.legend(handles=handles, loc="upper center", fontsize=8, ncol=4, bbox_to_anchor=(0.5, 1 - 0.42 / height),
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.62 / height))
    fig.savefig(path)
    plt.close(fig)
    return str(path)


#: Most bars in the traffic plot: longer spans get bins of several seconds (a store can
#: span days; one bar per second would need memory in proportion).
MAX_TRAFFIC_BARS = 3600
_PROTO_COLORS = {"mms": "tab:blue", "iso-tcp": "lightsteelblue", "goose": "tab:orange",
                 "r-goose": "navajowhite", "gsse": "tab:brown", "sv": "tab:green", "r-sv": "yellowgreen",
                 "other": "lightgrey"}


def plot_traffic(per_second, path, t0=None) -> str:
    """Stacked bit rate per protocol, one bar per second of the capture (``traffic(by='second')``)."""
    plt = _plt()
    title = "Traffic per protocol"
    if len(per_second) == 0:
        return _empty(path, title, "no frames in this capture")
    sec = per_second["second"].astype("int64").to_numpy()
    start = int(sec.min()) if t0 is None else int(np.floor(t0))
    n = int(sec.max()) - start + 1
    step = -(-n // MAX_TRAFFIC_BARS)     # seconds per bar: long spans (a store of many days) are binned
    n_bars = -(-n // step)
    pivot = per_second.pivot_table(index="second", columns="protocol", values="bytes", aggfunc="sum",
                                   fill_value=0)
    x = np.arange(n_bars) * step
    order = [p for p in _PROTO_COLORS if p in pivot.columns] + [p for p in pivot.columns if p not in _PROTO_COLORS]
    bits = {p: np.zeros(n_bars) for p in order}
    for s, row in pivot.iterrows():
        i = (int(s) - start) // step
        if 0 <= i < n_bars:
            for p in order:
                bits[p][i] += row[p] * 8.0 / step
    peak = max(float(sum(b for b in (bits[p] for p in order)).max()), 1.0)
    unit, div = ("Mbit/s", 1e6) if peak >= 1e6 else ("kbit/s", 1e3) if peak >= 1e3 else ("bit/s", 1.0)
    fig, ax = plt.subplots(figsize=_SIZE, dpi=_DPI)
    bottom = np.zeros(n_bars)
    width = step * (1.0 if n_bars > 60 else 0.85)
    for p in order:
        y = bits[p] / div
        if y.any():
            ax.bar(x, y, bottom=bottom, width=width, align="edge", color=_PROTO_COLORS.get(p, None),
                   label=f"{p} ({y.sum() * step * div / 8 / 1024:.1f} KiB)", linewidth=0)
            bottom += y
    ax.set_xlabel(f"time (s since the first frame, {step}-second bins)")
    ax.set_ylabel(f"rate ({unit})")
    ax.set_title(title)
    ax.set_xlim(0, n_bars * step)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="protocol (total)")
    return _save(fig, path)


def plot_sv_waveform(signals, path, *args, **kwargs) -> str:
    """SV waveforms with lost samples and quality flags: see :mod:`mmsanalyze.plot_waveform`."""
    from .plot_waveform import plot_sv_waveform as plot
    return plot(signals, path, *args, **kwargs)
