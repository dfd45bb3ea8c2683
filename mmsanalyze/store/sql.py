"""SQL over a store with DuckDB (embedded: one library, no server).

Every table of the store is a view named after it (``transactions``, ``reports``,
``goose`` ...) over the Parquet partitions of the committed captures, with the
``capture`` column; ``manifest`` is the manifest with ``status``.  Times are epoch
seconds (``to_timestamp(request_time)``); the session time zone is UTC.  JSON columns
(nested MMS values) are text for DuckDB's JSON functions.
"""

from __future__ import annotations

import os

from ..errors import CaptureError
from .layout import part_path

__all__ = ["connect"]


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def connect(path):
    """A DuckDB connection with one view per table of the store at ``path``.

    Raises:
        CaptureError: duckdb is not installed, or ``path`` is not a store.
    """
    try:
        import duckdb
    except ImportError:
        raise CaptureError("query needs duckdb (pip install 'mmsanalyze[store]')") from None
    from .reader import Store
    store = Store(path)
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if store.manifest(all=True).shape[0]:
        pattern = os.path.join(store.path, "manifest", "capture=*", "part-0.parquet")
        con.execute(f"CREATE VIEW manifest AS SELECT * FROM read_parquet({_quote(pattern)}, "
                    "hive_partitioning = true, hive_types = {'capture': VARCHAR})")
    ok = store.captures()
    for name in store.tables():
        files = [part_path(store.path, name, c) for c in ok]
        files = [f for f in files if os.path.isfile(f)]
        if not files:
            continue
        lst = "[" + ", ".join(_quote(f) for f in files) + "]"
        con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet({lst}, hive_partitioning = true, '
                    f"hive_types = {{'capture': VARCHAR}}, union_by_name = true)")
    return con
