"""IED operating state tables: ``ied_states()``, ``ied_modes()`` and the mode findings.

The engine is :class:`mmsanalyze.iec61850.modes.ModeTracker` (IEC 61850-7-4 Annex A);
this module declares the column specifications and builds the DataFrames.
"""

from __future__ import annotations

from ..iec61850.modes import FINDING_COLUMNS, MODE_COLUMNS, STATE_COLUMNS, ModeTracker
from ._table import build, columns_doc

__all__ = ["COLUMNS", "MODE_COLUMNS", "FINDING_COLUMNS", "track", "states_table", "modes_table",
           "findings_table"]

#: ``Capture.ied_states()`` columns.
COLUMNS = STATE_COLUMNS


def track(cap, namer=None, follow_timeout=None) -> ModeTracker:
    """Run a :class:`ModeTracker` over a :class:`~mmsanalyze.api.Capture`."""
    kw = {} if follow_timeout is None else {"follow_timeout": follow_timeout}
    t = ModeTracker(namer=namer, **kw)
    txns = cap._txns()
    t.add_data_sets(txns)
    t.add_mms(txns, cap.controls(), cap.conns)
    t.add_reports(cap.reports(reassemble=True))
    if cap.goose_collector is not None and len(cap.goose_collector):
        t.add_goose(cap.goose())
    if cap.sv_collector is not None and len(cap.sv_collector):
        sv = cap.sv()
        samples = None
        try:
            samples = cap.sv_samples()
        except (RuntimeError, ValueError):
            samples = None
        if samples is not None and not len(samples):
            samples = None
        if samples is not None and len(samples) != len(sv):
            samples = _align(sv, samples)
        t.add_sv(sv, samples)
    return t.finish(cap.last_time)


def _align(sv, samples):
    """Samples re-indexed onto the SV table rows (rows without 9-2LE samples get quality 0)."""
    import pandas as pd
    q = [c for c in samples.columns if c.startswith("q_")]
    key = ["frame", "sv_id", "smp_cnt"]
    left = sv[key].astype({"sv_id": str})
    right = samples[key + q].astype({"sv_id": str}).drop_duplicates(key)
    out = pd.merge(left, right, on=key, how="left")
    for c in q:
        out[c] = out[c].fillna(0).astype("int64")
    return out


def _build(spec, rows):
    return build(spec, {k: [r.get(k) for r in rows] for k in spec})


def states_table(tracker: ModeTracker):
    """One row per operating-state observation or request.

    Columns:
    """
    return _build(COLUMNS, tracker.states())


def modes_table(tracker: ModeTracker):
    """The timeline: one row per interval of constant state per (server, LD, LN).

    Columns:
    """
    rows = sorted(tracker.intervals(), key=lambda r: (r["server"] or "", r["ld"] or "", r["ln"] or "", r["start"]))
    return _build(MODE_COLUMNS, rows)


def findings_table(tracker: ModeTracker):
    """Mode / test / simulation findings with the frames that prove them.

    Columns:
    """
    return _build(FINDING_COLUMNS, tracker.finding_rows())


states_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
modes_table.__doc__ += "\n" + columns_doc(MODE_COLUMNS, "    ") + "\n"
findings_table.__doc__ += "\n" + columns_doc(FINDING_COLUMNS, "    ") + "\n"


#: Colour of each Beh in the timeline plot (None: unknown).
BEH_COLORS = {"on": "#2ca02c", "on-blocked": "#ff7f0e", "test": "#1f77b4", "test/blocked": "#9467bd",
              "off": "#7f7f7f", None: "#d9d9d9"}
#: Lanes drawn at most (the rest are counted in the title).
MAX_LANES = 40


def plot_modes(modes, states, path, t0=None, max_lanes: int = MAX_LANES) -> str:
    """Timeline per (server, LD, LN) coloured by Beh (by Mod, hatched, when Beh is unknown).

    Markers: Mod/Sim requests (triangle up accepted, red X refused), controls with
    ``Test=true`` (diamond), simulated GOOSE/SV (red hatched band) and test-flagged data
    (black band) on the publisher's lane.
    """
    from ..plots import _empty, _plt, _tex_safe
    import matplotlib.patches as mpatches
    plt = _plt()
    title = "IED operating state (Beh) per logical device / logical node"
    if len(modes) == 0:
        return _empty(path, title, "no Mod / Beh / Health / Sim / test or simulation data in this capture")
    t0 = float(modes["start"].min()) if t0 is None else float(t0)
    keys = list(dict.fromkeys(zip(modes["server"], modes["ld"], modes["ln"])))
    more = len(keys) - max_lanes
    keys = keys[:max_lanes]
    lane = {k: i for i, k in enumerate(keys)}
    fig, ax = plt.subplots(figsize=(12, max(4.8, 2.2 + 0.55 * len(keys))), dpi=110)
    for r in modes.itertuples(index=False):
        k = (r.server, r.ld, r.ln)
        if k not in lane:
            continue
        y = lane[k]
        x0, w = r.start - t0, max(r.end - r.start, 0.0)
        beh = None if _na(r.beh) else r.beh
        mod = None if _na(r.mod) else r.mod
        if beh is not None or mod is not None or not (r.simulated_traffic or r.test_traffic):
            color = BEH_COLORS.get(beh if beh is not None else mod, BEH_COLORS[None])
            ax.broken_barh([(x0, w)], (y - 0.35, 0.7), facecolors=color, edgecolor="white", linewidth=0.5,
                           hatch=None if beh is not None or mod is None else "//")
        if bool(r.beh_mismatch):
            ax.broken_barh([(x0, w)], (y - 0.35, 0.7), facecolors="none", edgecolor="red", linewidth=1.5)
        if r.simulated_traffic:
            ax.broken_barh([(x0, w)], (y - 0.35, 0.7), facecolors="none", edgecolor="red", hatch="xx", linewidth=0)
        if r.test_traffic:
            ax.broken_barh([(x0, w)], (y + 0.22, 0.13), facecolors="black")
        if "LPHD" in str(r.ln) and not _na(r.sim) and bool(r.sim):
            ax.broken_barh([(x0, w)], (y - 0.1, 0.2), facecolors="red")
    if states is not None and len(states):
        s = states[states["kind"] == "requested"]
        for r in s.itertuples(index=False):
            k = (r.server, r.ld, r.ln)
            if k not in lane:
                continue
            x = r.time - t0
            if r.attribute in ("Mod", "Sim") and r.action == "operate":
                ok = r.outcome == "ok"
                ax.scatter([x], [lane[k]], marker="^" if ok else "X", s=70, zorder=4,
                           color="black" if ok else "red", edgecolors="white", linewidths=0.5)
                ax.annotate(_tex_safe(f"{r.attribute}={r.value}"), (x, lane[k] - 0.4), fontsize=7, ha="left",
                            va="bottom", rotation=25)
            elif r.attribute == "control" and not _na(r.test) and bool(r.test):
                ax.scatter([x], [lane[k]], marker="D", s=30, zorder=4,
                           color="gold" if r.outcome == "ok" else "red", edgecolors="black", linewidths=0.5)
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels([_tex_safe(f"{ld}/{ln}  [{srv}]") for srv, ld, ln in keys], fontsize=8)
    ax.set_ylim(len(keys) - 0.4, -0.9)               # inverted: first lane on top, room for labels
    ax.set_xlabel("time (s since the first frame)")
    ax.grid(axis="x", alpha=0.3)
    handles = [mpatches.Patch(color=c, label=f"Beh {b}" if b else "Beh unknown or not valid (e.g. 0)")
               for b, c in BEH_COLORS.items()]
    handles += [mpatches.Patch(facecolor="white", edgecolor="grey", hatch="//", label="Mod only (Beh unknown)"),
                mpatches.Patch(facecolor="white", edgecolor="red", hatch="xx", label="simulated GOOSE/SV"),
                mpatches.Patch(color="black", label="quality test bit sent"),
                mpatches.Patch(color="red", label="LPHD.Sim true"),
                mpatches.Patch(facecolor="white", edgecolor="red", linewidth=1.5, label="Beh differs from Annex A"),
                plt.Line2D([], [], marker="^", color="black", linestyle="", label="Mod/Sim request accepted"),
                plt.Line2D([], [], marker="X", color="red", linestyle="", label="Mod/Sim request refused"),
                plt.Line2D([], [], marker="D", color="gold", markeredgecolor="black", linestyle="",
                           label="control Test=true (red: refused)")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title(title + (f" (first {max_lanes} lanes; {more} more)" if more > 0 else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)


def _na(v):
    try:
        import pandas as pd
        return v is None or v is pd.NA or (isinstance(v, float) and v != v)
    except ImportError:  # pragma: no cover
        return v is None


def error_rows(errors, findings):
    """The errors table with one ``ied-mode`` row per mode finding appended (the errors view):
    error_class = severity, error_code = finding code, object = 'LD/LN', detail = the message."""
    import pandas as pd
    from .errors import COLUMNS as ERR
    if findings is None or not len(findings):
        return errors
    cols = {k: [] for k in ERR}
    for f in findings.itertuples(index=False):
        row = dict.fromkeys(ERR)
        row.update(time=f.time, frame=f.frame, server=f.server, sender="server", kind="ied-mode",
                   error_class=f.severity, error_code=f.code,
                   object=f"{f.ld}/{f.ln}" if not _na(f.ln) else f.ld, detail=f.message)
        for k in ERR:
            cols[k].append(None if _na(row[k]) else row[k])
    extra = build(ERR, cols)
    out = pd.concat([errors, extra], ignore_index=True) if len(errors) else extra
    return out.sort_values(["frame"], kind="stable").reset_index(drop=True)


def summary_facts(cap) -> dict | None:
    """The "Test and simulation" facts of ``summary`` (None when the capture has no such data)."""
    st = cap.ied_states()
    if not len(st):
        return None
    m = cap.ied_modes()
    fnd = cap.ied_mode_findings()
    req = st[(st["kind"] == "requested") & st["attribute"].isin(["Mod", "Sim"])]
    obs = st[st["kind"] == "observed"]
    sim = obs[(obs["attribute"] == "simulation") & (obs["value"] == "true")]
    test = obs[(obs["attribute"] == "q.test") & (obs["value"] == "true")]
    ctl_test = st[(st["attribute"] == "control") & (st["test"].fillna(False).astype(bool))]
    end = []
    if len(m):
        last = m.sort_values("start").groupby(["server", "ld", "ln"], sort=True).tail(1)
        for r in last.itertuples(index=False):
            state = r.beh if not _na(r.beh) else (r.mod if not _na(r.mod) else None)
            if state in ("on-blocked", "test", "test/blocked", "off"):
                end.append(f"{r.ld}/{r.ln} {state}")
    return {
        "mod_requests": len(req), "mod_requests_ok": int((req["outcome"] == "ok").sum()),
        "lns_observed": int(obs[obs["attribute"].isin(["Mod", "Beh"])][["server", "ld", "ln"]]
                            .drop_duplicates().shape[0]),
        "simulated_messages": int(sim["count"].sum()), "simulated_publishers": int(sim["server"].nunique()),
        "test_flagged_messages": int(test["count"].sum()),
        "controls_with_test": len(ctl_test),
        "sim_true": sorted(set(obs[(obs["attribute"] == "Sim") & (obs["value"] == "true")]["server"])),
        "abnormal_at_end": end,
        "findings": [{"severity": r.severity, "code": r.code, "frame": int(r.frame) if not _na(r.frame) else None,
                      "message": r.message} for r in fnd.itertuples(index=False)],
    }
