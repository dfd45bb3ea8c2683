"""Where things live in a store directory, and the manifest.

::

    STORE/
      _mmsanalyze_store.json             marker: layout version
      manifest/capture=<id>/part-0.parquet    one row per capture: written LAST (the commit)
      <table>/capture=<id>/part-0.parquet     one partition per table and capture (hive style)
      _staging/<id>.<pid>.<random>/      files being written (never read)

A capture id is the first 16 hex digits of the capture's SHA-256.  A capture is
visible (to :func:`~mmsanalyze.store.open_store`, the table commands and ``query``) only
when its manifest row says ``status = ok``; that row is written after every table
partition of the capture is in place, each file being written under ``_staging`` and
moved with an atomic rename.  An interrupted capture leaves at most invisible
partitions (overwritten by the rerun) and a staging directory (removed by the next batch).
"""

from __future__ import annotations

import hashlib
import json
import os

from ..errors import CaptureError

__all__ = ["MARKER", "STAGING", "LAYOUT_VERSION", "is_store", "init_store", "part_path",
           "capture_id", "sha256_files", "read_manifest", "ID_HEX"]

MARKER = "_mmsanalyze_store.json"
STAGING = "_staging"
LAYOUT_VERSION = 1
#: Hex digits of the SHA-256 used as capture id (64 bits: collisions need ~4e9 captures).
ID_HEX = 16
#: Bytes hashed at a time.
HASH_CHUNK = 1 << 20


def is_store(path) -> bool:
    """True when ``path`` is a store directory written by ``mmsanalyze batch``."""
    return isinstance(path, (str, os.PathLike)) and os.path.isfile(os.path.join(path, MARKER))


def init_store(path) -> None:
    """Create the store directory (or check an existing one) and clear stale staging files.

    Raises:
        CaptureError: ``path`` is not a directory, not a store, or cannot be written.
    """
    try:
        _init_store(path)
    except OSError as exc:
        raise CaptureError(f"{path}: cannot write the store: {exc.strerror or exc}") from None


def _init_store(path) -> None:
    import shutil
    if os.path.exists(path) and not os.path.isdir(path):
        raise CaptureError(f"{path}: exists and is not a directory")
    if os.path.isdir(path) and os.listdir(path) and not is_store(path):
        raise CaptureError(f"{path}: not an mmsanalyze store (and not empty)")
    os.makedirs(path, exist_ok=True)
    if not is_store(path):
        tmp = os.path.join(path, MARKER + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"layout": LAYOUT_VERSION}, fh)
        os.replace(tmp, os.path.join(path, MARKER))
    shutil.rmtree(os.path.join(path, STAGING), ignore_errors=True)


def partition_dir(store, table: str, cid: str) -> str:
    return os.path.join(store, table, f"capture={cid}")


def part_path(store, table: str, cid: str) -> str:
    """``STORE/<table>/capture=<id>/part-0.parquet``."""
    return os.path.join(partition_dir(store, table, cid), "part-0.parquet")


def capture_id(sha256: str) -> str:
    return sha256[:ID_HEX]


def sha256_files(paths, per_file: list | None = None) -> tuple[str, int]:
    """SHA-256 (hex) of the files' bytes in order, and their total size.

    ``per_file``, when given, receives each file's own SHA-256 (same single pass).

    Raises:
        CaptureError: a file cannot be read.
    """
    h = hashlib.sha256()
    size = 0
    for p in paths:
        one = hashlib.sha256()
        try:
            with open(p, "rb") as fh:
                while True:
                    b = fh.read(HASH_CHUNK)
                    if not b:
                        break
                    h.update(b)
                    one.update(b)
                    size += len(b)
        except OSError as exc:
            raise CaptureError(f"{p}: cannot read: {exc.strerror or exc}") from None
        if per_file is not None:
            per_file.append(one.hexdigest())
    return h.hexdigest(), size


def visible(manifest):
    """Which manifest rows are visible: status ``ok`` and not superseded by a visible row
    (a ``--continuous`` capture of more rotated files replaces one of some of them)."""
    ok = manifest["status"] == "ok"
    gone = set()
    for lst in manifest.loc[ok, "supersedes"]:
        gone.update(lst or ())
    return (ok & ~manifest["capture"].isin(gone)).astype(bool)     # a boolean Series


def read_manifest(store):
    """Every manifest row of ``store`` as a DataFrame (``capture`` first), ordered by
    first frame time then path; empty (with the columns) for a new store."""
    import pandas as pd
    import pyarrow.parquet as pq
    from .schema import MANIFEST, MANIFEST_COLUMNS, to_pandas
    frames = []
    top = os.path.join(store, MANIFEST)
    for d in sorted(os.listdir(top)) if os.path.isdir(top) else []:
        f = os.path.join(top, d, "part-0.parquet")
        if d.startswith("capture=") and os.path.isfile(f):
            df = to_pandas(pq.read_table(f), MANIFEST_COLUMNS)
            for c in MANIFEST_COLUMNS:          # a row written before the column existed
                if c not in df.columns:
                    df[c] = None
            df.insert(0, "capture", pd.array([d[len("capture="):]] * len(df), dtype="string"))
            frames.append(df)
    if not frames:
        from .schema import arrow_schema
        df = to_pandas(arrow_schema(MANIFEST_COLUMNS).empty_table(), MANIFEST_COLUMNS)
        df.insert(0, "capture", pd.array([], dtype="string"))
        return df
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["first_time", "path", "capture"], na_position="last", kind="stable").reset_index(drop=True)
