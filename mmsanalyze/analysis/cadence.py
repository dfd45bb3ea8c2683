"""Report cadence: per (stream, RptID) timing and health of IEC 61850 reports, vectorised.

Works on :func:`mmsanalyze.analysis.reports.reassemble` output (segmented reports
counted once).  SeqNum (IEC 61850-7-2 / 8-1: INT8U for unbuffered, INT16U for
buffered RCBs) is walked in frame order per group: a step of +1 is normal, a larger
forward step a *gap* (``seq_lost`` the values skipped), 0 a *duplicate*, a backward
step within :data:`WRAP_WINDOW` of the counter's wrap a wrap (with any values lost
counted as a gap), any other backward step a *restart* (RCB re-enabled, server
restart).  The integrity period is the median interval between consecutive reports
that include a member for the ``integrity`` reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._table import build, columns_doc

__all__ = ["CADENCE_COLUMNS", "report_cadence", "seq_health", "WRAP_WINDOW"]

#: Largest backwards step of SeqNum still read as a wrap (with lost reports) and not a restart.
WRAP_WINDOW = 16
_REASONS = ("data-change", "quality-change", "data-update", "integrity", "general-interrogation",
            "application-trigger")

CADENCE_COLUMNS = {
    "stream": ("Int64", "TCP stream"),
    "client": ("string", "client 'addr:port'"),
    "server": ("string", "server 'addr:port'"),
    "rpt_id": ("string", "RptID"),
    "dataset": ("string", "DatSet (first seen)"),
    "buffered": ("boolean", "buffered RCB (EntryID / BufOvfl present); null when unknown"),
    "reports": ("Int64", "reports (segmented reports counted once)"),
    "pdus": ("Int64", "InformationReport PDUs"),
    "first_time": ("float64", "first report, epoch seconds"),
    "last_time": ("float64", "last report, epoch seconds"),
    "interval_min_ms": ("float64", "smallest interval between consecutive reports (ms)"),
    "interval_p50_ms": ("float64", "median interval (ms)"),
    "interval_mean_ms": ("float64", "mean interval (ms)"),
    "interval_max_ms": ("float64", "largest interval (ms)"),
    "integrity_period_ms": ("float64", "median interval between consecutive integrity reports (ms): the IntgPd the server applies"),
    "seq_gaps": ("Int64", "SeqNum jumps forward by more than 1"),
    "seq_lost": ("Int64", "SeqNum values skipped by those jumps (reports lost or not captured)"),
    "seq_duplicates": ("Int64", "SeqNum repeated by the next report"),
    "seq_restarts": ("Int64", "SeqNum went backwards (not a wrap): RCB re-enabled or server restart"),
    "buf_ovfl": ("Int64", "reports with BufOvfl true"),
    "segmented": ("Int64", "reports sent in more than one segment"),
    "incomplete": ("Int64", "segmented reports with missing segments"),
    "conf_rev_changes": ("Int64", "ConfRev changes between consecutive reports"),
    "data_change": ("Int64", "reports with a member included for data-change"),
    "quality_change": ("Int64", "... for quality-change"),
    "data_update": ("Int64", "... for data-update"),
    "integrity": ("Int64", "... for integrity"),
    "general_interrogation": ("Int64", "... for general-interrogation"),
    "application_trigger": ("Int64", "... for application-trigger"),
    "malformed": ("Int64", "report PDUs that did not fit their OptFlds/Inclusion layout"),
}


def seq_health(seqs, mod: int) -> tuple[int, int, int, int]:
    """``(gaps, lost, duplicates, restarts)`` of one SeqNum sequence counting modulo ``mod``."""
    s = np.asarray(list(seqs), dtype=np.int64)
    g, l_, d, r = _seq_steps(s[1:], s[:-1], np.full(max(len(s) - 1, 0), mod, dtype=np.int64))
    return int(g.sum()), int(l_.sum()), int(d.sum()), int(r.sum())


def _seq_steps(s, prev, mod):
    """Per step: (gap, lost, duplicate, restart) arrays."""
    d = (s - prev) % mod
    dup = d == 0
    restart = (s < prev) & (d > WRAP_WINDOW)
    gap = (d > 1) & ~restart & ~dup
    lost = np.where(gap, d - 1, 0)
    return gap, lost, dup, restart


def _group_first(gid, values, n):
    """First non-null value per group id (values in row order)."""
    out = [None] * n
    for g, v in zip(gid, values):
        if out[g] is None and v is not None and v is not pd.NA and v == v:
            out[g] = v
    return out


def report_cadence(reports):
    """Per (stream, RptID) cadence and health, from reassembled reports.

    Columns:
    """
    if len(reports) == 0:
        return build(CADENCE_COLUMNS, {})
    keys = reports[["stream", "rpt_id"]].astype(object).where(reports[["stream", "rpt_id"]].notna(), None)
    grp = reports.groupby(["stream", "rpt_id"], sort=True, dropna=False).ngroup().to_numpy()
    n = int(grp.max()) + 1
    frame = reports["frame"].to_numpy(dtype="int64", na_value=0)
    order = np.lexsort((frame, grp))
    gid = grp[order]
    t = reports["time"].to_numpy(dtype=float)[order]
    same = gid[1:] == gid[:-1]
    reasons = reports["reasons"].tolist()
    reasons = [reasons[i] or () for i in order]
    opt = reports["opt_flds"].tolist()

    counts = np.bincount(gid, minlength=n)
    first_row = np.searchsorted(gid, np.arange(n))
    last_row = np.searchsorted(gid, np.arange(n), side="right") - 1
    iv = pd.DataFrame({"g": gid[1:][same], "iv": (np.diff(t) * 1000.0)[same]}).groupby("g")["iv"]
    ivs = iv.agg(["min", "median", "mean", "max"]).reindex(range(n))

    integ_mask = np.array(["integrity" in r for r in reasons], dtype=bool)
    ig, it = gid[integ_mask], t[integ_mask]
    isame = ig[1:] == ig[:-1]
    integ = pd.Series((np.diff(it) * 1000.0)[isame]).groupby(ig[1:][isame]).median().reindex(range(n))

    buffered = np.zeros(n, dtype=bool)
    np.logical_or.at(buffered, grp, np.array([bool(o) and ("entryID" in o or "buffer-overflow" in o)
                                              for o in opt], dtype=bool))
    seq = reports["seq_num"].to_numpy(dtype=float, na_value=np.nan)[order]
    has = ~np.isnan(seq)
    sg, sv = gid[has], seq[has].astype(np.int64)
    smax = np.full(n, -1, dtype=np.int64)
    np.maximum.at(smax, sg, sv)
    mod = np.where(buffered | (smax > 255), 65536, 256)
    ssame = sg[1:] == sg[:-1]
    gap, lost, dup, restart = _seq_steps(sv[1:][ssame], sv[:-1][ssame], mod[sg[1:][ssame]])
    at = sg[1:][ssame]

    conf = reports["conf_rev"].to_numpy(dtype=float, na_value=np.nan)[order]
    ch, cv = gid[~np.isnan(conf)], conf[~np.isnan(conf)]
    csame = ch[1:] == ch[:-1]
    conf_changes = np.bincount(ch[1:][csame], weights=(cv[1:] != cv[:-1])[csame], minlength=n)

    def per_group(mask_in_row_order):
        return np.bincount(gid, weights=np.asarray(mask_in_row_order, dtype=float)[order], minlength=n)

    cols = {
        "stream": [keys["stream"].iloc[order[i]] for i in first_row],
        "client": [reports["client"].iloc[order[i]] for i in first_row],
        "server": [reports["server"].iloc[order[i]] for i in first_row],
        "rpt_id": [keys["rpt_id"].iloc[order[i]] for i in first_row],
        "dataset": _group_first(gid, [reports["dataset"].iloc[i] for i in order], n),
        "buffered": [True if b else None for b in buffered],
        "reports": counts.tolist(),
        "pdus": per_group(reports["segments"].to_numpy(dtype=float)).astype(int).tolist(),
        "first_time": t[first_row].tolist(),
        "last_time": t[last_row].tolist(),
        "interval_min_ms": ivs["min"].tolist(), "interval_p50_ms": ivs["median"].tolist(),
        "interval_mean_ms": ivs["mean"].tolist(), "interval_max_ms": ivs["max"].tolist(),
        "integrity_period_ms": integ.tolist(),
        "seq_gaps": np.bincount(at, weights=gap, minlength=n).astype(int).tolist(),
        "seq_lost": np.bincount(at, weights=lost, minlength=n).astype(int).tolist(),
        "seq_duplicates": np.bincount(at, weights=dup, minlength=n).astype(int).tolist(),
        "seq_restarts": np.bincount(at, weights=restart, minlength=n).astype(int).tolist(),
        "buf_ovfl": per_group(reports["buf_ovfl"].fillna(False).to_numpy(dtype=bool)).astype(int).tolist(),
        "segmented": per_group(reports["segments"].to_numpy(dtype=float) > 1).astype(int).tolist(),
        "incomplete": per_group(~reports["complete"].to_numpy(dtype=bool)).astype(int).tolist(),
        "conf_rev_changes": conf_changes.astype(int).tolist(),
        "malformed": per_group(reports["malformed"].notna().to_numpy()).astype(int).tolist(),
    }
    for name in _REASONS:
        hit = np.array([name in r for r in reasons], dtype=float)
        cols[name.replace("-", "_")] = np.bincount(gid, weights=hit, minlength=n).astype(int).tolist()
    for k, v in cols.items():
        if CADENCE_COLUMNS[k][0] == "float64":
            cols[k] = [None if x != x else x for x in v]
    return build(CADENCE_COLUMNS, cols)


report_cadence.__doc__ += "\n" + columns_doc(CADENCE_COLUMNS, "    ") + "\n"
