"""Many captures in one Parquet store: ``batch`` writes it, ``open_store`` and ``query`` read it.

* :func:`~mmsanalyze.store.batch.run_batch` -- analyse captures (local process pool or
  Dask) into ``STORE/<table>/capture=<id>/part-0.parquet`` plus a manifest.
* :func:`~mmsanalyze.store.task.analyse_to_store` -- the per-capture work (one function
  for the pool and for Dask).
* :func:`open_store` -- the tables across captures (pandas or Arrow datasets).
* :func:`~mmsanalyze.store.schema.register_table` -- add a table (e.g. IED states).
* :mod:`~mmsanalyze.store.sql` -- DuckDB views over the store.
"""

from .layout import is_store
from .reader import Store, StoreCapture, open_store

__all__ = ["open_store", "Store", "StoreCapture", "is_store", "run_batch", "analyse_to_store",
           "register_table"]


def __getattr__(name):
    if name == "run_batch":
        from .batch import run_batch
        return run_batch
    if name == "analyse_to_store":
        from .task import analyse_to_store
        return analyse_to_store
    if name == "register_table":
        from .schema import register_table
        return register_table
    raise AttributeError(name)
