"""The per-capture work of a batch: one function, used by the local pool and by Dask.

:func:`analyse_to_store` reads one capture (a file, or a rotated set of files read as
one) with :func:`~mmsanalyze.api.read_capture`, builds every registered table and
writes it into the store; the manifest row is written last, so the capture becomes
visible only when all its tables are in place.  It never raises for a bad capture: the
manifest row says ``status = failed`` with the one-line error.
"""

from __future__ import annotations

import os
import shutil
import uuid

from .layout import STAGING, capture_id, part_path, partition_dir, sha256_files

__all__ = ["analyse_to_store", "write_manifest_row"]


def _one_line(exc: BaseException) -> str:
    from ..errors import CaptureError
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, CaptureError):
        return msg or "unusable capture"
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _write(table, stage: str, final: str) -> None:
    """Write ``table`` under ``stage``, then move it to ``final`` (atomic rename)."""
    import pyarrow.parquet as pq
    tmp = os.path.join(stage, f"{uuid.uuid4().hex}.parquet")
    pq.write_table(table, tmp)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    os.replace(tmp, final)


def write_manifest_row(store, row: dict, stage: str | None = None) -> None:
    """Write (or replace) the manifest row of capture ``row['capture']``: the commit point."""
    import pandas as pd
    from .schema import MANIFEST, MANIFEST_COLUMNS, to_arrow
    own = stage is None
    if own:
        stage = os.path.join(store, STAGING, f"m.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        os.makedirs(stage, exist_ok=True)
    try:
        table = to_arrow(pd.DataFrame([{c: row.get(c) for c in MANIFEST_COLUMNS}]), MANIFEST_COLUMNS)
        _write(table, stage, part_path(store, MANIFEST, row["capture"]))
    finally:
        if own:
            shutil.rmtree(stage, ignore_errors=True)


def analyse_to_store(paths, store, sha256: str | None = None, size: int | None = None,
                     ports=(102,), file_sha256=None, supersedes=()) -> dict:
    """Analyse one capture and write all its tables into ``store``; return its manifest row.

    Args:
        paths: a capture file, or a list of files read as one capture (rotated files,
            ordered by first frame time, frames numbered continuously).
        store: the store directory (created by :func:`~mmsanalyze.store.layout.init_store`).
        sha256, size: of the files' bytes (computed when not given).
        ports: TCP ports carrying ISO-on-TCP (102 always).
        file_sha256: each file's SHA-256 (computed when not given).
        supersedes: ids of captures this one replaces (hidden once this one is committed).

    Returns:
        The manifest row: ``capture`` (id), ``path``, ``files``, ``sha256``, ``size``,
        ``frames``, ``first_time``, ``last_time``, ``version``, ``status`` (``ok`` /
        ``failed``) and ``error``.

    Every table of :data:`~mmsanalyze.store.schema.TABLES` goes to
    ``STORE/<table>/capture=<id>/part-0.parquet`` (written under ``STORE/_staging``,
    then renamed); the manifest row is written last.  An exception other than a failing
    capture (KeyboardInterrupt, the store's disk full) leaves no manifest row, so the
    capture stays invisible and a rerun does it again.
    """
    from .. import __version__
    from ..api import read_capture
    from .schema import TABLES, to_arrow
    files = [os.fspath(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    if sha256 is None or size is None or file_sha256 is None:
        file_sha256 = []
        sha256, size = sha256_files(files, file_sha256)
    cid = capture_id(sha256)
    row = {"capture": cid, "path": files[0], "files": files, "sha256": sha256, "size": size,
           "frames": None, "first_time": None, "last_time": None, "version": __version__,
           "status": "ok", "error": None, "file_sha256": list(file_sha256), "supersedes": list(supersedes)}
    stage = os.path.join(store, STAGING, f"{cid}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    os.makedirs(stage, exist_ok=True)
    try:
        try:
            if len(files) > 1:
                from ..io.multi import MultiReader
                files = MultiReader(files).paths           # the reading order
                row["files"], row["path"] = files, files[0]
            cap = read_capture(files if len(files) > 1 else files[0], ports=ports)
            row.update(frames=cap.frames, first_time=cap.first_time, last_time=cap.last_time)
            staged = []
            for t in list(TABLES.values()):
                tmp = os.path.join(stage, f"{t.name}.parquet")
                import pyarrow.parquet as pq
                pq.write_table(to_arrow(t.build(cap), t.columns), tmp)
                staged.append((tmp, part_path(store, t.name, cid)))
            del cap
            for tmp, final in staged:
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.replace(tmp, final)
        except Exception as exc:      # a bad capture (or an analysis bug): record it, go on
            row.update(status="failed", error=_one_line(exc), supersedes=[])
            for t in list(TABLES.values()):
                shutil.rmtree(partition_dir(store, t.name, cid), ignore_errors=True)
        write_manifest_row(store, row, stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return row
