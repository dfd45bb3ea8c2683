"""Response-time statistics over the transactions table (vectorised with pandas)."""

from __future__ import annotations

import pandas as pd

from ._table import build, columns_doc

__all__ = ["COLUMNS", "latency_stats", "slowest", "GROUPINGS"]

#: ``by`` argument -> grouping columns
GROUPINGS = {"service": ["service"], "server": ["server"], "server_service": ["server", "service"]}

COLUMNS = {
    "service": ("string", "confirmed service (by='service' or 'server_service')"),
    "server": ("string", "server 'addr:port' (by='server' or 'server_service')"),
    "count": ("Int64", "answered transactions (a response, error or reject was captured)"),
    "errors": ("Int64", "of which not ok (error, rejected, cancelled)"),
    "min_ms": ("float64", "smallest latency (ms)"),
    "p50_ms": ("float64", "median latency (ms)"),
    "p90_ms": ("float64", "90th percentile (ms)"),
    "p99_ms": ("float64", "99th percentile (ms)"),
    "max_ms": ("float64", "largest latency (ms)"),
    "mean_ms": ("float64", "mean latency (ms)"),
    "unanswered": ("Int64", "requests of the group still without an answer at the end of the capture"),
}


def latency_stats(txns: pd.DataFrame, by: str = "service") -> pd.DataFrame:
    """Latency statistics per group of the transactions table, slowest p90 first.

    ``by``: ``'service'``, ``'server'`` or ``'server_service'``.  Only the grouping
    columns of ``by`` are present.  Percentiles use linear interpolation (numpy default).

    Columns:
    """
    keys = GROUPINGS.get(by)
    if keys is None:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    spec = {k: v for k, v in COLUMNS.items() if k not in ("service", "server") or k in keys}
    if len(txns) == 0:
        return build(spec, {})
    df = txns[keys + ["latency_ms", "status"]].copy()
    df[keys] = df[keys].fillna("?")
    answered = df[df["latency_ms"].notna()]
    if len(answered):
        g = answered.groupby(keys, sort=True)["latency_ms"]
        q = g.quantile([0.5, 0.9, 0.99]).unstack()
        stats = pd.DataFrame({
            "count": g.size(), "min_ms": g.min(), "p50_ms": q[0.5], "p90_ms": q[0.9], "p99_ms": q[0.99],
            "max_ms": g.max(), "mean_ms": g.mean(),
            "errors": answered.assign(e=answered["status"] != "ok").groupby(keys, sort=True)["e"].sum(),
        })
    else:
        stats = pd.DataFrame(columns=["count", "min_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms",
                                      "errors"],
                             index=pd.MultiIndex.from_arrays([[]] * len(keys), names=keys)
                             if len(keys) > 1 else pd.Index([], name=keys[0]))
    unans = df[df["status"] == "unanswered"].groupby(keys, sort=True).size().rename("unanswered")
    stats = stats.join(unans, how="outer").reset_index()
    stats = stats.sort_values(["p90_ms"] + keys, ascending=[False] + [True] * len(keys), na_position="last")
    cols = {k: [None if pd.isna(v) else v for v in stats[k].tolist()] for k in spec if k in stats}
    for k in ("count", "errors", "unanswered"):
        cols[k] = [0 if v is None else int(v) for v in cols[k]]
    return build(spec, cols)


def slowest(txns: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` transactions with the highest ``latency_ms`` (all transactions columns)."""
    return txns[txns["latency_ms"].notna()].nlargest(n, "latency_ms").reset_index(drop=True)


latency_stats.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
