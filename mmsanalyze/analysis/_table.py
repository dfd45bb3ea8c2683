"""Column specifications and DataFrame construction shared by the analysis tables.

Every table module declares its columns once, as ``{name: (dtype, meaning)}``;
:func:`build` turns column lists into a DataFrame with exactly those dtypes (never
through CSV), :func:`columns_doc` renders the spec for docstrings and
``docs/columns.md``.  dtypes used: ``Int64`` (nullable integer), ``float64`` (NaN for
missing), ``string`` (nullable text), ``bool``, ``boolean`` (nullable bool) and
``object`` (lists / dicts).  Times are float epoch seconds, like ``frame.time_epoch``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["build", "empty_columns", "columns_doc", "columns_markdown", "endpoint", "DIRECTIONS"]

#: direction 0/1 of a record -> text used in tables
DIRECTIONS = ("client->server", "server->client")


def _column(values: list, dtype: str):
    if dtype == "object":
        arr = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            arr[i] = v
        return arr
    if dtype == "float64":
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    if dtype == "bool":
        return np.array(values, dtype=bool)
    return pd.array(values, dtype=dtype)


def build(spec: dict, cols: dict) -> pd.DataFrame:
    """DataFrame with the columns of ``spec`` (in its order) from the lists in ``cols``.

    ``cols`` maps column name -> list of Python values (None = missing); a column
    absent from ``cols`` is all-missing.
    """
    n = max((len(v) for v in cols.values()), default=0)
    data = {}
    for name, (dtype, _meaning) in spec.items():
        values = cols.get(name)
        if values is None:
            values = [False] * n if dtype == "bool" else [None] * n
        data[name] = _column(values, dtype)
    return pd.DataFrame(data, copy=False)


def empty_columns(spec: dict) -> dict:
    """A dict of empty lists, one per column of ``spec`` (to append rows into)."""
    return {name: [] for name in spec}


def columns_doc(spec: dict, indent: str = "        ") -> str:
    """The column spec as docstring lines: ``name`` (dtype): meaning."""
    return "\n".join(f"{indent}``{name}`` ({dtype}): {meaning}" for name, (dtype, meaning) in spec.items())


def columns_markdown(title: str, spec: dict) -> str:
    """The column spec as a Markdown ``Field | dtype | meaning`` table."""
    lines = [f"### {title}", "", "| Field | dtype | meaning |", "|---|---|---|"]
    for name, (dtype, meaning) in spec.items():
        lines.append(f"| `{name}` | {dtype} | {meaning.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def endpoint(addr_port) -> str | None:
    """``('10.0.0.1', 102)`` -> ``'10.0.0.1:102'`` (``'[::1]:102'`` for IPv6)."""
    if not addr_port:
        return None
    addr, port = addr_port
    addr = str(addr)
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"
