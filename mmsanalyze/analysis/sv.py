"""Sampled Values stream health: per-stream counters and the SV plots.

Works on the table of :meth:`mmsanalyze.sv.collector.SvCollector.table` (one row
per ASDU); every figure is computed with numpy over the whole table at once.

A *stream* is one (svID, APPID, source MAC).  For each, consecutive smpCnt values
(in capture order) are compared modulo the counter's wrap value:

* step 1 -- the next sample;  step 0 -- a duplicate;
* step 2 .. wrap/2 -- a gap of step-1 lost samples;
* a larger step -- the counter went *backwards* (out of order).

Steps are taken against the newest sample seen so far (after unwrapping), so an
interleaved older sequence counts as out-of-order ASDUs and not also as losses.

On a switched process bus one merging unit's frames are neither reordered nor
duplicated, so backwards steps mean a second smpCnt sequence is interleaved with
the publisher's (injection or replay), and a long run of missing samples is an
outage or a deletion, not random loss.  Those, and an svID published from more
than one source MAC, make a stream ``suspicious``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .loss import in_windows

from .l2 import other_src_macs

__all__ = ["sv_streams", "infer_wrap", "plot_sv_intervals", "SV_STREAM_COLUMNS",
           "BURST_LOSS_SAMPLES", "NOMINAL_FREQUENCIES"]

#: Consecutive missing samples that count as a burst outage / deletion rather
#: than an isolated drop: 8 samples is a tenth of a cycle at 80 samples/cycle.
BURST_LOSS_SAMPLES = 8
#: Power-system frequencies tried when smpRate is in samples per nominal period.
NOMINAL_FREQUENCIES = (50, 60)

SV_STREAM_COLUMNS = [
    "sv_id", "appid", "src_mac", "dst_mac", "vlan_id", "frames", "asdus", "first_time",
    "last_time", "rate", "smp_rate", "smp_mod", "wrap", "conf_revs", "smp_synch_states",
    "lost_samples", "gaps", "max_gap", "capture_lost", "duplicates", "out_of_order",
    "interval_mean_us", "interval_std_us", "interval_max_us", "sim_frames", "malformed",
    "other_src_macs", "anomalies", "suspicious",
]


def infer_wrap(max_cnt: int, smp_rate, smp_mod) -> int:
    """The value at which smpCnt wraps to 0 (IEC 61850-9-2 / 61869-9).

    * smpMod 1 (samples per second): smpRate itself.
    * smpRate per nominal period (smpMod 0 or absent): smpRate x 50 or x 60 Hz,
      the smallest that is above every smpCnt seen (80 -> 4000 or 4800).
    * otherwise, or when smpCnt exceeds those, ``max(smp_cnt) + 1``.
    """
    seen = int(max_cnt) + 1
    if smp_rate is not None and not pd.isna(smp_rate) and smp_rate > 0:
        mod = 0 if smp_mod is None or pd.isna(smp_mod) else int(smp_mod)
        if mod == 1 and smp_rate >= seen:
            return int(smp_rate)
        if mod == 0:
            for f in NOMINAL_FREQUENCIES:
                if smp_rate * f >= seen:
                    return int(smp_rate * f)
    return seen


def _segments(keys: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in the sorted array ``keys``."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def _per_group(ufunc, keys: np.ndarray, values: np.ndarray, n: int, empty):
    """``ufunc.reduceat`` of ``values`` per value of the sorted ``keys`` -> array of n."""
    out = np.full(n, empty, dtype=np.result_type(values, type(empty)))
    st = _segments(keys)
    if len(st):
        out[keys[st]] = ufunc.reduceat(values, st)
    return out


def _distinct(g: np.ndarray, values: np.ndarray, n: int) -> list:
    """Per group (sorted ids ``g``): the sorted distinct non-negative ``values``."""
    ok = values >= 0
    pairs = np.unique((g[ok].astype(np.int64) << 33) | values[ok].astype(np.int64))
    out = [[] for _ in range(n)]
    for gi, v in zip((pairs >> 33).tolist(), (pairs & ((1 << 33) - 1)).tolist()):
        out[gi].append(v)
    return out


def sv_streams(table: pd.DataFrame, capture_loss=None) -> pd.DataFrame:
    """One row per SV stream (svID + APPID + source MAC).

    Columns: ``sv_id``, ``appid``, ``src_mac``, ``dst_mac``, ``vlan_id``;
    ``frames`` (frames carrying the stream), ``asdus``; ``first_time``/``last_time``
    (epoch s); ``rate`` measured ASDUs per second; ``smp_rate``/``smp_mod`` as sent;
    ``wrap`` the smpCnt wrap value used (:func:`infer_wrap`); ``conf_revs`` and
    ``smp_synch_states`` the distinct values seen (lists); ``lost_samples``,
    ``gaps``, ``max_gap`` (largest run of missing samples); ``duplicates``;
    ``out_of_order`` (ASDUs older than the newest sample already seen);
    ``interval_mean_us``, ``interval_std_us`` (jitter), ``interval_max_us`` between
    the stream's frames; ``sim_frames`` (reserved1 simulate bit set); ``malformed``
    rows; ``other_src_macs`` other MACs publishing the same svID+APPID;
    ``anomalies`` (text, '' when none) and ``suspicious`` (injection / deletion /
    spoofing signs).

    ``capture_loss``: ``[(start, end), ...]`` epoch-second windows in which the
    capture itself dropped frames (a live capture's kernel drops, see
    :attr:`mmsanalyze.io.ring.RingReader.loss_events`).  A gap whose interval
    overlaps one is counted in ``capture_lost`` (samples the capture lost) instead
    of ``lost_samples``/``gaps``/``max_gap``: capture loss is never reported as an
    outage, a deletion or an attack.
    """
    if table is None or len(table) == 0:
        return pd.DataFrame({c: [] for c in SV_STREAM_COLUMNS})
    keys = ["sv_id", "appid", "src_mac"]
    gid = table.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    order = np.argsort(gid, kind="stable")
    g = gid[order]
    starts = _segments(g)
    n = len(starts)
    g = np.repeat(np.arange(n), np.diff(np.r_[starts, len(g)]))    # dense 0..n-1
    first_rows = order[starts]
    head = table.iloc[first_rows]

    def col(name, na=-1):
        return table[name].to_numpy(dtype=np.float64, na_value=na)[order]

    ok = ~table["malformed"].to_numpy(dtype=bool)[order]
    cnt = col("smp_cnt", np.nan)
    valid = ok & ~np.isnan(cnt)
    cnt = np.where(valid, cnt, -1).astype(np.int64)
    t = table["time"].to_numpy()[order]
    frame = table["frame"].to_numpy()[order]

    asdus = np.diff(np.r_[starts, len(g)])
    malformed = np.add.reduceat((~ok).astype(np.int64), starts)
    max_cnt = np.maximum.reduceat(cnt, starts)
    smp_rate = head["smp_rate"].to_numpy(dtype=object, na_value=None)
    smp_mod = head["smp_mod"].to_numpy(dtype=object, na_value=None)
    wrap = np.array([infer_wrap(max(m, 0), r, md) for m, r, md in zip(max_cnt, smp_rate,
                                                                        smp_mod)])

    # smpCnt continuity.  Unwrap each stream's counter (a step of more than half
    # the wrap value is a step backwards), then compare every ASDU with the newest
    # sample seen before it: equal to the previous -> duplicate; older -> out of
    # order (an interleaved sequence); newer by k > 1 -> k-1 samples lost.  Using
    # the running maximum keeps an interleaved older sequence from also counting
    # as losses when the publisher's own sequence resumes.
    if valid.all():
        gv, cv, tv = g, cnt, t
    else:
        vi = np.flatnonzero(valid)
        gv, cv, tv = g[vi], cnt[vi], t[vi]
    same = gv[1:] == gv[:-1]
    w = wrap[gv[1:]] if n > 1 else wrap[0]
    # smpCnt < wrap, so a raw difference is in (-wrap, wrap): one add/subtract
    # of the wrap value brings it to (-wrap/2, wrap/2]
    step = np.diff(cv)
    step = np.where(step > w // 2, step - w, np.where(step <= -(w // 2) - (w % 2), step + w, step))
    if len(cv):
        base = cv.copy()
        base[1:] = np.where(same, step, cv[1:])
        cs = np.cumsum(base)
        if n > 1:
            first = np.maximum.accumulate(np.where(np.r_[True, ~same], np.arange(len(cv)), 0))
            unwrapped = cs - (cs[first] - base[first])
            offset = gv.astype(np.int64) << 40          # keep streams apart
            newest = (np.maximum.accumulate(unwrapped + offset) - offset)[:-1]
        else:
            unwrapped = cs
            newest = np.maximum.accumulate(cs)[:-1]
        jump = unwrapped[1:] - newest
        dup = same & (step == 0)
        back = same & ~dup & (jump <= 0)
        gap = same & (jump > 1)
    else:
        jump = np.zeros(0, dtype=np.int64)
        dup = back = gap = np.zeros(0, dtype=bool)
    gs = gv[1:]
    by_capture = gap & in_windows(tv[:-1], tv[1:], capture_loss) if capture_loss else \
        np.zeros(len(gap), dtype=bool)
    capture_lost = np.bincount(gs, weights=np.where(by_capture, jump - 1, 0),
                               minlength=n).astype(np.int64)
    gap = gap & ~by_capture
    duplicates = np.bincount(gs, weights=dup, minlength=n).astype(np.int64)
    out_of_order = np.bincount(gs, weights=back, minlength=n).astype(np.int64)
    gaps = np.bincount(gs, weights=gap, minlength=n).astype(np.int64)
    missing = np.where(gap, jump - 1, 0)
    lost = np.bincount(gs, weights=missing, minlength=n).astype(np.int64)
    max_gap = _per_group(np.maximum, gs, missing, n, 0)

    # frame-level arrival intervals of each stream
    newf = np.ones(len(g), dtype=bool)
    newf[1:] = (g[1:] != g[:-1]) | (frame[1:] != frame[:-1])
    if newf.all():
        fi = slice(None)
        gf, tf = g, t
    else:
        fi = np.flatnonzero(newf)
        gf, tf = g[fi], t[fi]
    frames = np.bincount(gf, minlength=n)
    samef = gf[1:] == gf[:-1]
    dt = np.diff(tf)[samef] * 1e6
    gd = gf[1:][samef]
    cnt_dt = np.bincount(gd, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_dt = np.bincount(gd, weights=dt, minlength=n) / cnt_dt
        var = np.bincount(gd, weights=(dt - mean_dt[gd]) ** 2, minlength=n) / cnt_dt
        std_dt = np.sqrt(var)
    max_dt = _per_group(np.maximum, gd, dt, n, np.nan)

    first_time = np.minimum.reduceat(t, starts)
    last_time = np.maximum.reduceat(t, starts)
    dur = last_time - first_time
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(dur > 0, (asdus - 1) / dur, np.nan)
    sim_frames = np.bincount(gf, weights=table["sim_bit"].to_numpy(dtype=bool)[order][fi],
                             minlength=n).astype(np.int64)

    out = pd.DataFrame({
        "sv_id": head["sv_id"].astype(object).to_numpy(),
        "appid": head["appid"].to_numpy(),
        "src_mac": head["src_mac"].astype(object).to_numpy(),
        "dst_mac": head["dst_mac"].astype(object).to_numpy(),
        "vlan_id": pd.array(head["vlan_id"].to_numpy(), dtype="Int64"),
        "frames": frames, "asdus": asdus, "first_time": first_time, "last_time": last_time,
        "rate": rate,
        "smp_rate": pd.array(smp_rate, dtype="Int64"),
        "smp_mod": pd.array(smp_mod, dtype="Int64"),
        "wrap": wrap,
        "conf_revs": _distinct(g, col("conf_rev").astype(np.int64), n),
        "smp_synch_states": _distinct(g, col("smp_synch").astype(np.int64), n),
        "lost_samples": lost, "gaps": gaps, "max_gap": max_gap, "capture_lost": capture_lost,
        "duplicates": duplicates,
        "out_of_order": out_of_order, "interval_mean_us": mean_dt, "interval_std_us": std_dt,
        "interval_max_us": max_dt, "sim_frames": sim_frames, "malformed": malformed,
    })
    # the same svID + APPID from more than one source MAC
    out["other_src_macs"] = other_src_macs(out, ["sv_id", "appid"])
    notes, sus = [], []
    for r in out.itertuples(index=False):
        a, s = _anomalies(r)
        notes.append(a)
        sus.append(s)
    out["anomalies"] = notes
    out["suspicious"] = np.array(sus, dtype=bool)
    return out[SV_STREAM_COLUMNS]


def _anomalies(r) -> tuple[str, bool]:
    notes, suspicious = [], False
    if r.out_of_order:
        notes.append(f"{r.out_of_order} ASDUs older than the newest sample already seen: "
                     "a second smpCnt sequence is interleaved (injection or replay)")
        suspicious = True
    if r.other_src_macs:
        notes.append("same svID/APPID also sent by " + ", ".join(r.other_src_macs)
                     + " (spoofed publisher?)")
        suspicious = True
    if r.max_gap >= BURST_LOSS_SAMPLES:
        notes.append(f"{r.max_gap} consecutive samples missing (outage or deletion)")
        suspicious = True
    if r.lost_samples:
        notes.append(f"{r.lost_samples} samples lost in {r.gaps} gaps")
    if r.capture_lost:
        notes.append(f"{r.capture_lost} samples not seen while the capture dropped frames "
                     "(capture loss, not loss on the wire)")
    if r.duplicates:
        notes.append(f"{r.duplicates} duplicate smpCnt")
    if len(r.conf_revs) > 1:
        notes.append(f"confRev changed ({', '.join(map(str, r.conf_revs))})")
    if len(r.smp_synch_states) > 1:
        notes.append("smpSynch changed (" + ", ".join(map(str, r.smp_synch_states)) + ")")
    if r.malformed:
        notes.append(f"{r.malformed} malformed ASDUs")
    return "; ".join(notes), suspicious


def plot_sv_intervals(table: pd.DataFrame, path, max_publishers: int = 12) -> str:
    """Arrival intervals and smpCnt continuity, as a PNG at ``path``; returns ``path``.

    Top: interval between consecutive frames of each publisher (source MAC +
    APPID), in µs, log scale.  Bottom: smpCnt step between consecutive ASDUs of
    each svID (1 = continuous, > 1 a gap, 0 a duplicate, < 0 backwards),
    symmetric-log scale; the svIDs of a publisher share its colour.  The
    ``max_publishers`` busiest publishers are drawn.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    ok = table[~table["malformed"].to_numpy(dtype=bool)] if len(table) else table
    if not len(ok):
        from ..plots import _empty
        return _empty(path, "Sampled Values: arrival intervals and smpCnt continuity",
                      "no Sampled Values in this capture")
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 7.5), sharex=True)
    lo = hi = 1
    if len(ok):
        t0 = ok["time"].min()
        pubs = ok.groupby(["src_mac", "appid"], observed=True, dropna=False).size()
        pubs = pubs.sort_values(ascending=False)
        cmap = plt.get_cmap("tab10" if len(pubs) <= 10 else "tab20")
        for i, (mac, appid) in enumerate(pubs.index[:max_publishers]):
            color = cmap(i % cmap.N)
            sel = ok[(ok["src_mac"] == mac).to_numpy(dtype=bool, na_value=False)
                     & (ok["appid"] == appid).to_numpy(dtype=bool, na_value=False)]
            f = sel.drop_duplicates("frame")
            tt = f["time"].to_numpy() - t0
            n_sv = sel["sv_id"].nunique()
            label = (f"0x{int(appid):04X} {mac}" if not pd.isna(appid) else str(mac)) + (
                f" ({n_sv} svIDs)" if n_sv > 1 else f" {sel['sv_id'].iloc[0]}")
            if len(tt) > 1:
                ax1.plot(tt[1:], np.maximum(np.diff(tt) * 1e6, 0.1), ".", ms=2, color=color,
                         label=label)
            else:
                ax1.plot([], [], ".", color=color, label=label)
            for _sv, s in sel.groupby("sv_id", observed=True, sort=False):
                c = s["smp_cnt"].to_numpy(dtype=np.float64, na_value=np.nan)
                if len(c) < 2 or np.isnan(c).all():
                    continue
                w = infer_wrap(np.nanmax(c), s["smp_rate"].iloc[0], s["smp_mod"].iloc[0])
                d = np.mod(np.diff(c), w)
                d = np.where(d > w // 2, d - w, d)
                lo, hi = min(lo, np.nanmin(d)), max(hi, np.nanmax(d))
                ax2.plot(s["time"].to_numpy()[1:] - t0, d, ".", ms=2, color=color)
        if len(pubs) > max_publishers:
            ax1.set_title(f"{max_publishers} busiest of {len(pubs)} publishers")
        ax1.legend(fontsize=7, markerscale=4, loc="upper right", ncol=1 if len(pubs) < 7 else 2)
    ax1.set_yscale("log")
    ax1.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1, 2, 5)))
    ax1.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax1.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax1.set_ylabel("interval between frames (µs)")
    ax1.grid(True, which="both", alpha=0.3)
    ax2.set_yscale("symlog", linthresh=1)
    ticks = [v for v in (-10000, -1000, -100, -10, -1, 0, 1, 10, 100, 1000, 10000)
             if lo - 1 <= v <= hi + 1 or v in (-1, 0, 1)]
    ax2.set_yticks(ticks)
    ax2.set_yticklabels([str(v) for v in ticks])
    ax2.set_ylim(min(lo, -1) * 1.6, max(hi, 2) * 1.6)
    ax2.axhline(1, color="grey", lw=0.8, ls="--")
    ax2.set_ylabel("smpCnt step (1 continuous, >1 gap,\n0 duplicate, <0 backwards)")
    ax2.set_xlabel("time since first sample (s)")
    ax2.grid(True, which="major", alpha=0.3)
    fig.suptitle("Sampled Values: arrival intervals and smpCnt continuity")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
