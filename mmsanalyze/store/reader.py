"""Reading a store: the tables of every committed capture, as pandas or Arrow.

:func:`open_store` returns a :class:`Store`; its table methods have the names of
:class:`~mmsanalyze.api.Capture`'s and return the rows of every capture whose manifest
row says ``ok`` (in the order of the captures' first frame), with the Capture table's
dtypes and one more column, ``capture`` (the capture id; join ``manifest()`` for its
path).  Frame and TCP stream numbers are those of each capture.  For tables too big
for memory use :meth:`Store.dataset` (a ``pyarrow.dataset``) or :meth:`Store.sql`.
"""

from __future__ import annotations

import os

from ..errors import CaptureError
from .layout import is_store, part_path, read_manifest, visible

__all__ = ["open_store", "Store", "StoreCapture"]


def open_store(path) -> "Store":
    """Open a store written by ``mmsanalyze batch`` (see :class:`Store`).

    Raises:
        CaptureError: ``path`` is not a store.
    """
    return Store(path)


class Store:
    """A store directory: manifest and tables across captures.

    Table methods: ``pdus()``, ``transactions()``, ``reports(reassemble=False)``,
    ``report_cadence()``, ``controls()``, ``errors()``, ``associations()``, ``files()``,
    ``file_directory()``, ``traffic(by=None|'second'|'source')``, ``goose()``,
    ``goose_streams()``, ``sv()``, ``sv_streams()``, ``findings()``, ``identify()``,
    ``control_sequences()``, ``ied_states()``, ``ied_modes()``, ``ied_mode_findings()``,
    ``security()`` (without allowlist / SCL inputs), ``latency_stats(by)``, ``slowest(n)``;
    any stored table by name with :meth:`table`.  A table a store written by an older
    version lacks is empty (with its columns).
    """

    def __init__(self, path):
        if not is_store(path):
            raise CaptureError(f"{path}: not an mmsanalyze store (made by 'mmsanalyze batch')")
        from .batch import require_pyarrow
        require_pyarrow()
        self.path = os.path.abspath(os.fspath(path))
        self._cache: dict = {}

    def __repr__(self):
        return f"<Store {self.path!r}: {len(self.captures())} captures>"

    # -- manifest ---------------------------------------------------------------------
    def manifest(self, all: bool = False):
        """One row per capture: ``capture``, ``path``, ``files``, ``sha256``, ``size``,
        ``frames``, ``first_time``, ``last_time``, ``version``, ``status``, ``error``,
        ``file_sha256``, ``supersedes``.

        Only the visible captures (``ok``, not superseded) unless ``all`` (then failed and
        superseded ones too).
        """
        key = ("manifest", all)
        if key not in self._cache:
            m = read_manifest(self.path)
            self._cache[key] = m if all else m[visible(m)].reset_index(drop=True)
        return self._cache[key]

    def captures(self) -> list[str]:
        """Ids of the committed (``ok``) captures, by first frame time."""
        return self.manifest()["capture"].tolist()

    def tables(self) -> list[str]:
        """Names of the tables in the store (directories holding partitions)."""
        out = []
        for d in sorted(os.listdir(self.path)):
            full = os.path.join(self.path, d)
            if d != "manifest" and not d.startswith(("_", ".")) and os.path.isdir(full):
                out.append(d)
        return out

    # -- raw access -------------------------------------------------------------------
    def dataset(self, name: str):
        """The table ``name`` as a ``pyarrow.dataset.Dataset`` over the committed captures
        (hive partitioning: the ``capture`` column is the partition key)."""
        import pyarrow as pa
        import pyarrow.dataset as ds
        part = ds.partitioning(pa.schema([("capture", pa.string())]), flavor="hive")
        files = self._files(name)
        if not files:
            raise KeyError(f"no table {name!r} in the store")
        return ds.dataset(files, format="parquet", partitioning=part,
                          partition_base_dir=os.path.join(self.path, name))

    def _files(self, name: str) -> list[str]:
        return [p for p in (part_path(self.path, name, c) for c in self.captures()) if os.path.isfile(p)]

    def arrow(self, name: str, captures=None):
        """The table ``name`` as one ``pyarrow.Table`` (capture order), with ``capture``."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        parts = []
        for c in (self.captures() if captures is None else captures):
            p = part_path(self.path, name, c)
            if os.path.isfile(p):
                t = pq.read_table(p)
                parts.append(t.append_column(pa.field("capture", pa.string()),
                                             pa.array([c] * t.num_rows, type=pa.string())))
        if not parts:
            from .schema import TABLES, arrow_schema
            if name not in TABLES:
                raise KeyError(f"no table {name!r} in the store")
            return arrow_schema(TABLES[name].columns).append(pa.field("capture", pa.string())).empty_table()
        table = pa.concat_tables(parts, promote_options="default")
        from .schema import TABLES, arrow_schema
        if name in TABLES:                 # a store written before a column was added: all-null
            for f in arrow_schema(TABLES[name].columns):
                if f.name not in table.column_names:
                    table = table.append_column(f, pa.nulls(table.num_rows, f.type))
        return table

    def table(self, name: str, captures=None):
        """The table ``name`` as a DataFrame with the Capture table's dtypes (+ ``capture``)."""
        from .schema import to_pandas
        key = ("table", name, None if captures is None else tuple(captures))
        if key not in self._cache:
            self._cache[key] = to_pandas(self.arrow(name, captures))
        return self._cache[key]

    def sql(self, query: str):
        """Run SQL (DuckDB) over the store's tables (views named after them); a DataFrame."""
        from .sql import connect
        con = connect(self.path)
        try:
            return con.execute(query).df()
        finally:
            con.close()

    # -- the Capture table methods ------------------------------------------------------
    def pdus(self):
        """One row per MMS PDU (without ``access_results``/``detail``)."""
        return self.table("pdus")

    def transactions(self):
        return self.table("transactions")

    def reports(self, reassemble: bool = False):
        """Report PDUs; ``reassemble=True`` merges segments (per capture)."""
        df = self.table("reports")
        if not reassemble:
            return df
        import pandas as pd
        from ..analysis.reports import reassemble as merge
        key = ("reports+",)
        if key not in self._cache:
            parts = [merge(part.drop(columns="capture").reset_index(drop=True)).assign(capture=c)
                     for c, part in df.groupby("capture", sort=False)]
            self._cache[key] = pd.concat(parts, ignore_index=True) if parts else \
                merge(df.drop(columns="capture")).assign(capture=pd.array([], dtype="string"))
        return self._cache[key]

    def report_cadence(self):
        return self.table("report_cadence")

    def controls(self):
        return self.table("controls")

    def errors(self):
        return self.table("errors")

    def associations(self):
        return self.table("associations")

    def files(self):
        return self.table("files")

    def file_directory(self):
        return self.table("file_directory")

    def traffic(self, by: str | None = None):
        """Per protocol over all captures (shares and bit/s recomputed); ``by='second'`` /
        ``'source'``: the per-capture rows of every capture."""
        if by == "second":
            return self.table("traffic_by_second")
        if by == "source":
            return self.table("traffic_by_source")
        if by is not None:
            raise ValueError("by must be None, 'second' or 'source'")
        from ..analysis._table import build
        from ..analysis.traffic import COLUMNS, ORDER
        df = self.table("traffic")
        g = df.groupby("protocol", sort=False)[["frames", "bytes"]].sum()
        names = [p for p in ORDER if p in g.index] + [p for p in g.index if p not in ORDER]
        nf = int(g["frames"].sum()) or 1
        nb = int(g["bytes"].sum()) or 1
        m = self.manifest()
        dur = float((m["last_time"] - m["first_time"]).fillna(0).sum()) if len(m) else 0.0
        return build(COLUMNS, {
            "protocol": names, "frames": [int(g.loc[p, "frames"]) for p in names],
            "bytes": [int(g.loc[p, "bytes"]) for p in names],
            "frame_share": [int(g.loc[p, "frames"]) / nf for p in names],
            "byte_share": [int(g.loc[p, "bytes"]) / nb for p in names],
            "bits_per_s": [int(g.loc[p, "bytes"]) * 8 / dur if dur > 0 else None for p in names]})

    def goose(self):
        return self.table("goose")

    def goose_streams(self):
        return self.table("goose_streams")

    def sv(self):
        return self.table("sv")

    def sv_streams(self):
        return self.table("sv_streams")

    def findings(self):
        return self.table("findings")

    def identify(self):
        """Identify responses (vendor, model, revision) of every capture."""
        return self.table("identify")

    def control_sequences(self):
        return self.table("control_sequences")

    def ied_states(self):
        """Operating-state observations and requests (computed with the default follow timeout)."""
        return self.table("ied_states")

    def ied_modes(self):
        return self.table("ied_modes")

    def ied_mode_findings(self):
        return self.table("ied_mode_findings")

    def security(self, allow=None, allowed_addresses=None, ctl_models=None):
        """``(findings, matrix)`` as stored: computed per capture without allowlist or SCL inputs.

        Raises:
            CaptureError: ``allow``, ``allowed_addresses`` or ``ctl_models`` given (they need
                the capture itself, not its stored tables).
        """
        if allow is not None or allowed_addresses is not None or ctl_models is not None:
            raise CaptureError("a store keeps the security tables computed without --allow / --scl; "
                               "run security with them on the capture files")
        return self.table("security_findings"), self.table("security_matrix")

    def other_information_reports(self, top: int = 8) -> dict:
        """informationReports that are not IEC 61850 reports (as ``summary`` counts them), per
        capture: a PDU's frame is matched against the reports of its own capture."""
        pdus, rpt = self.pdus(), self.reports()
        info = pdus[(pdus["service"] == "informationReport").fillna(False).to_numpy(dtype=bool)
                    & pdus["malformed"].isna().to_numpy()]
        reported = set(zip(rpt["capture"].tolist(), rpt["frame"].tolist()))
        names: dict = {}
        n = 0
        for c, f, variables in zip(info["capture"].tolist(), info["frame"].tolist(), info["variables"].tolist()):
            if (c, f) in reported:
                continue
            n += 1
            key = variables[0] if variables is not None and len(variables) else "?"
            names[key] = names.get(key, 0) + 1
        return {"count": n, "by_name": dict(sorted(names.items(), key=lambda kv: -kv[1])[:top])}

    def latency_stats(self, by: str = "service"):
        """Latency statistics over the transactions of every capture."""
        from ..analysis.latency import latency_stats
        return latency_stats(self.transactions(), by)

    def slowest(self, n: int = 10):
        from ..analysis.latency import slowest
        return slowest(self.transactions(), n)

    def as_capture(self) -> "StoreCapture":
        """This store seen as a :class:`~mmsanalyze.api.Capture` by the table commands."""
        return StoreCapture(self)


class StoreCapture:
    """What the table commands need of a Capture, answered from a store.

    ``name``, ``format`` (``"store"``), ``frames``, ``first_time``/``last_time`` (over the
    captures), ``duration``, ``records`` (``len()`` is the number of MMS PDUs; iterating
    gives the stored PDU rows, not decoded PDUs), ``scl`` (None) and every table method of
    :class:`Store`.  What needs the capture itself (file contents, ``--follow-timeout``,
    security with ``--allow`` / ``--scl``) is a :class:`CaptureError`.
    """

    def __init__(self, store: Store):
        self.store = store
        m = store.manifest()
        self.name = store.path
        self.format = f"mmsanalyze store, {len(m)} captures"
        self.frames = int(m["frames"].fillna(0).sum()) if len(m) else 0
        self.first_time = float(m["first_time"].min()) if m["first_time"].notna().any() else None
        self.last_time = float(m["last_time"].max()) if m["last_time"].notna().any() else None
        self.records = _StoreRecords(store)
        self.goose_collector = self.sv_collector = "store"   # GOOSE/SV tables are available
        self.scl = None                                    # a store is read without an SCL file

    @property
    def follow_timeout(self):
        return None

    @follow_timeout.setter
    def follow_timeout(self, value):
        if value is not None:
            raise CaptureError("a store keeps the operating-state tables computed with the default "
                               "follow timeout; run modes --follow-timeout on the capture files")

    @property
    def duration(self) -> float:
        return (self.last_time - self.first_time) if self.first_time is not None else 0.0

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.store, name)

    def extract_files(self, *a, **k):
        raise CaptureError("a store keeps file metadata, not file contents: run 'files --extract' "
                           "on the capture file")


class _StoreRecords:
    """``StoreCapture.records``: ``len()`` is the number of MMS PDUs of the store; iterating
    gives one :class:`_StoreRecord` per stored PDU row (a store keeps no decoded PDUs)."""

    def __init__(self, store: Store):
        self.store = store
        self._n = _rows(store, "pdus")

    def __len__(self) -> int:
        return self._n

    def __iter__(self):
        df = self.store.pdus()
        cols = [df[c].tolist() for c in ("capture", "frame", "time", "stream", "service", "variables",
                                          "malformed")]
        for row in zip(*cols):
            yield _StoreRecord(*row)


class _StoreRecord:
    """One stored PDU row standing in for a PduRecord: ``capture``, ``frame`` (of its capture),
    ``time``, ``stream``, ``service``, ``variables``; ``decoded()`` gives the record itself
    (``.variables``) or None for a malformed PDU."""

    __slots__ = ("capture", "frame", "time", "stream", "service", "variables", "malformed")

    def __init__(self, capture, frame, time, stream, service, variables, malformed):
        na = (lambda v: v is None or v is _NA or v != v)
        self.capture, self.time, self.variables = capture, time, list(variables) if variables is not None else []
        self.frame = None if na(frame) else int(frame)
        self.stream = None if na(stream) else int(stream)
        self.service = None if na(service) else service
        self.malformed = None if na(malformed) else malformed

    def decoded(self):
        return None if self.malformed is not None else self


try:
    from pandas import NA as _NA
except ImportError:               # pandas is a dependency; keep the module importable anyway
    _NA = None


def _rows(store: Store, name: str) -> int:
    import pyarrow.parquet as pq
    return sum(pq.ParquetFile(p).metadata.num_rows for p in store._files(name))
