"""The tables a store keeps, their fixed Arrow schemas, and pandas <-> Arrow conversion.

Every table is declared once: a name, a function ``Capture -> DataFrame`` and a
column spec ``{column: store dtype}``.  The store dtype fixes both the Arrow type
written to Parquet and the pandas dtype restored on reading, so every capture's
partition has the same schema (an empty table too) and a table read back from the
store has the dtypes of the :class:`~mmsanalyze.api.Capture` table.

Store dtypes:

==================  ==================  =====================================
store dtype         Arrow / Parquet     pandas on reading
==================  ==================  =====================================
``Int64``           int64 (nullable)    ``Int64``
``int64``           int64               ``int64``
``float64``         double (NaN->null)  ``float64`` (null -> NaN)
``string``          string              ``string``
``category``        string              ``category``
``bool``            bool                ``bool``
``boolean``         bool (nullable)     ``boolean``
``binary``          binary              ``object`` (bytes)
``list<string>``    list<string>        ``object`` (list of str)
``list<int64>``     list<int64>         ``object`` (list of int)
``json``            string (JSON text)  ``object`` (parsed back)
==================  ==================  =====================================

``json`` is for nested values (MMS Data as dicts/lists, report reason codes):
encoded with :func:`mmsanalyze.cli.dumps` (bytes as hex, tuples as lists), so DuckDB
can read them with its JSON functions.  Later tables (IED modes, SCL checks) join with
:func:`register_table`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["TableDef", "TABLES", "register_table", "arrow_schema", "to_arrow", "to_pandas",
           "MANIFEST", "MANIFEST_COLUMNS"]


@dataclass(frozen=True)
class TableDef:
    """One stored table: ``build(capture) -> DataFrame`` and ``columns`` {name: store dtype}."""

    name: str
    build: Callable
    columns: dict
    doc: str = ""


#: name -> TableDef, in the order tables are written.
TABLES: dict[str, TableDef] = {}


def register_table(name: str, build: Callable, columns: dict, doc: str = "") -> TableDef:
    """Add a table to every capture written from now on (e.g. ``ied_states``, ``scl_check``).

    ``build`` takes a :class:`~mmsanalyze.api.Capture` and returns a DataFrame with (at
    least) the ``columns``; ``columns`` maps each column to a store dtype (see the module
    docstring), or to an analysis column spec ``(dtype, meaning)`` whose ``object``
    columns become ``json``.  Workers must register the same tables (register at import
    time of a module the task imports).
    """
    cols = {}
    for c, d in columns.items():
        d = d[0] if isinstance(d, tuple) else d
        cols[c] = {"object": "json", "str": "string"}.get(d, d)
    t = TABLES[name] = TableDef(name, build, cols, doc)
    return t


def _spec(spec: dict, **over) -> dict:
    """An analysis column spec {name: (dtype, meaning)} with object columns typed."""
    out = {}
    for c, d in spec.items():
        d = d[0] if isinstance(d, tuple) else d
        out[c] = over.get(c, "json" if d == "object" else d)
    return out


def _builtin_tables() -> None:
    from ..analysis import (associations, controls, errors, files, findings, pdus, reports, traffic,
                            transactions)
    from ..goose.collector import GOOSE_COLUMNS
    from ..sv.collector import SV_COLUMNS
    strings = "list<string>"
    register_table("pdus", lambda c: c.pdus(), _spec(pdus.COLUMNS, variables=strings),
                   "one row per MMS PDU (without access_results/detail)")
    register_table("transactions", lambda c: c.transactions(),
                   _spec(transactions.COLUMNS, variables=strings, item_errors=strings))
    register_table("reports", lambda c: c.reports(),
                   _spec(reports.COLUMNS, opt_flds=strings, member_index="list<int64>", data_refs=strings,
                         reasons=strings))
    register_table("report_cadence", lambda c: c.report_cadence(), _spec(reports.CADENCE_COLUMNS))
    register_table("controls", lambda c: c.controls(), _spec(controls.COLUMNS))
    register_table("errors", lambda c: c.errors(), _spec(errors.COLUMNS))
    register_table("associations", lambda c: c.associations(),
                   _spec(associations.COLUMNS, parameter_cbb=strings, services_calling=strings,
                         services_called=strings))
    register_table("files", lambda c: c.files(), _spec(files.COLUMNS, frames="list<int64>"))
    register_table("file_directory", lambda c: c.file_directory(), _spec(files.DIRECTORY_COLUMNS))
    register_table("traffic", lambda c: c.traffic(), _spec(traffic.COLUMNS))
    register_table("traffic_by_second", lambda c: c.traffic(by="second"), _spec(traffic.SECOND_COLUMNS))
    register_table("traffic_by_source", lambda c: c.traffic(by="source"), _spec(traffic.SOURCE_COLUMNS))
    register_table("goose", lambda c: c.goose(),
                   _spec(GOOSE_COLUMNS, src_mac="string", dst_mac="string", gocb_ref="string",
                         go_id="string", dat_set="string", transport="string", error="string",
                         value_types=strings, all_data="binary"))
    counters = "int64"
    register_table("goose_streams", lambda c: c.goose_streams(), dict(
        src_mac="string", appid="Int64", gocb_ref="string", go_id="string", dat_set="string",
        transport="string", messages="int64", first_time="float64", last_time="float64",
        st_num_first="Int64", st_num_last="Int64", events="int64", retrans_ms="json",
        retrans_min_ms="float64", retrans_median_ms="float64", heartbeat_ms="float64", tal_ms="Int64",
        **{c: counters for c in ("tal_violations", "sq_gaps", "sq_lost", "sq_not_reset", "sq_repeats",
                                 "sq_backwards", "st_backwards", "st_jumps", "st_repeat_diff_data", "st_late",
                                 "reverted_events", "restarts", "conf_rev_changes", "simulation_messages",
                                 "sim_bit_messages", "nds_com_messages", "capture_dups", "capture_lost",
                                 "malformed")},
        other_src_macs=strings, foreign_frames="list<int64>", anomalies="string", suspicious="bool"))
    register_table("sv", lambda c: c.sv(), _spec(SV_COLUMNS, error="string"))
    register_table("sv_streams", lambda c: c.sv_streams(), dict(
        sv_id="string", appid="int64", src_mac="string", dst_mac="string", vlan_id="Int64", frames="int64",
        asdus="int64", first_time="float64", last_time="float64", rate="float64", smp_rate="Int64",
        smp_mod="Int64", wrap="int64", conf_revs="list<int64>", smp_synch_states="list<int64>",
        lost_samples="int64", gaps="int64", max_gap="int64", capture_lost="int64", duplicates="int64",
        out_of_order="int64",
        interval_mean_us="float64", interval_std_us="float64", interval_max_us="float64",
        sim_frames="int64", malformed="int64", other_src_macs=strings, anomalies="string",
        suspicious="bool"))
    register_table("findings", lambda c: c.findings(), _spec(findings.COLUMNS))
    # the tables of later features (asset list, control sequences, operating state, security posture)
    from ..analysis import control_sequences, identify, modes, security
    register_table("identify", lambda c: c.identify(), _spec(identify.COLUMNS),
                   "one row per identify response: vendor, model, revision")
    register_table("control_sequences", lambda c: c.control_sequences(), _spec(control_sequences.COLUMNS),
                   "Select / Operate / Cancel / CommandTermination of one control, grouped")
    register_table("ied_states", lambda c: c.ied_states(), _spec(modes.COLUMNS),
                   "operating-state observations and requests (default --follow-timeout)")
    register_table("ied_modes", lambda c: c.ied_modes(), _spec(modes.MODE_COLUMNS),
                   "operating-state intervals per server/LD/LN")
    register_table("ied_mode_findings", lambda c: c.ied_mode_findings(),
                   _spec(modes.FINDING_COLUMNS, frames="list<int64>"), "mode / test / simulation findings")
    register_table("security_findings", lambda c: c.security()[0],
                   _spec(security.FINDING_COLUMNS, frames="list<int64>"),
                   "security findings without allowlist or SCL inputs")
    register_table("security_matrix", lambda c: c.security()[1],
                   _spec(security.MATRIX_COLUMNS, streams="list<int64>", services=strings, auth=strings),
                   "communication matrix (client -> server:port flows)")


#: The manifest: one row per capture (file, or rotated set with ``--continuous``).
MANIFEST = "manifest"
MANIFEST_COLUMNS = {
    "path": "string",          # the capture file (first file of a rotated set)
    "files": "list<string>",   # every file of the capture, in reading order
    "sha256": "string",        # SHA-256 of the file (of the files' bytes in order for a set)
    "size": "int64",           # octets
    "frames": "Int64",         # frames read
    "first_time": "float64",   # epoch seconds of the first / last frame
    "last_time": "float64",
    "version": "string",       # mmsanalyze version that wrote the capture
    "status": "string",        # ok / failed
    "error": "string",         # one-line error of a failed capture
    "file_sha256": "list<string>",   # SHA-256 of each file (a rotated set's files)
    "supersedes": "list<string>",    # captures this one replaces (--continuous over more files)
}


# -- conversion ----------------------------------------------------------------------

def _arrow_type(dtype: str):
    import pyarrow as pa
    simple = {"Int64": pa.int64(), "int64": pa.int64(), "float64": pa.float64(), "string": pa.string(),
              "category": pa.string(), "json": pa.string(), "bool": pa.bool_(), "boolean": pa.bool_(),
              "binary": pa.binary(), "list<string>": pa.list_(pa.string()),
              "list<int64>": pa.list_(pa.int64()), "list<float64>": pa.list_(pa.float64())}
    try:
        return simple[dtype]
    except KeyError:
        raise ValueError(f"unknown store dtype {dtype!r}") from None


def arrow_schema(columns: dict):
    """The Arrow schema of a column spec {name: store dtype} (store dtype kept as metadata)."""
    import pyarrow as pa
    return pa.schema([pa.field(c, _arrow_type(d), metadata={"mmsanalyze.dtype": d})
                      for c, d in columns.items()])


def _missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float):
        return v != v
    return type(v).__name__ in ("NAType", "NaTType")


def _list(v, conv):
    if not isinstance(v, (list, tuple)):
        if v is None or isinstance(v, (str, bytes)) or _missing(v):
            return None if v is None or _missing(v) else [conv(v)]
        v = list(v)
    return [None if _missing(x) else conv(x) for x in v]


def _column(values: list, dtype: str):
    """Python values of one column -> list ready for pa.array of the store dtype."""
    from ..cli import dumps
    if dtype == "json":
        return [None if v is None else dumps(v) for v in values]
    if dtype in ("string", "category"):
        return [None if _missing(v) else str(v) for v in values]
    if dtype == "list<string>":
        return [_list(v, str) for v in values]
    if dtype == "list<int64>":
        return [_list(v, int) for v in values]
    if dtype == "list<float64>":
        return [_list(v, float) for v in values]
    if dtype == "binary":
        return [None if _missing(v) else bytes(v) for v in values]
    if dtype in ("Int64", "int64"):
        return [None if _missing(v) else int(v) for v in values]
    if dtype == "float64":
        return [None if _missing(v) else float(v) for v in values]
    return [None if _missing(v) else bool(v) for v in values]


def to_arrow(df, columns: dict):
    """A DataFrame -> pyarrow Table with exactly the schema of ``columns`` (extra columns dropped).

    A column missing from ``df`` is written all-null.
    """
    import pyarrow as pa
    schema = arrow_schema(columns)
    n = len(df)
    arrays = []
    for field in schema:
        name = field.name
        dtype = columns[name]
        if name not in df.columns:
            arrays.append(pa.nulls(n, field.type))
            continue
        s = df[name]
        arr = None
        if dtype in ("float64", "Int64", "int64", "bool", "boolean"):
            try:
                arr = pa.array(s, type=field.type, from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                arr = None
        if arr is None:
            arr = pa.array(_column(s.tolist(), dtype), type=field.type)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema)


def to_pandas(table, columns: dict | None = None):
    """A pyarrow Table read from the store -> DataFrame with the Capture table's dtypes.

    ``columns`` {name: store dtype} defaults to the ``mmsanalyze.dtype`` field metadata;
    other columns (the ``capture`` partition key) become ``string``.
    """
    import orjson
    import pandas as pd
    import pyarrow as pa
    data = {}
    for i, field in enumerate(table.schema):
        col = table.column(i)
        meta = field.metadata or {}
        dtype = (columns or {}).get(field.name) or meta.get(b"mmsanalyze.dtype", b"").decode() or None
        if dtype is None:
            dtype = "string" if pa.types.is_string(field.type) or pa.types.is_dictionary(field.type) else ""
        if dtype == "string":
            data[field.name] = pd.array(col.to_pylist(), dtype="string")
        elif dtype == "category":
            data[field.name] = pd.Categorical(col.to_pylist())
        elif dtype in ("Int64", "boolean"):
            data[field.name] = pd.array(col.to_pylist(), dtype=dtype)
        elif dtype == "float64":
            data[field.name] = col.to_numpy().astype("float64") if col.null_count == 0 else \
                pd.array(col.to_pylist(), dtype="Float64").to_numpy(dtype="float64", na_value=float("nan"))
        elif dtype in ("int64", "bool"):
            data[field.name] = col.to_numpy()
        elif dtype == "json":
            data[field.name] = _objects([None if v is None else orjson.loads(v) for v in col.to_pylist()])
        elif dtype.startswith("list<") or dtype == "binary":
            data[field.name] = _objects(col.to_pylist())
        else:
            data[field.name] = col.to_pandas()
    return pd.DataFrame(data, columns=[f.name for f in table.schema])


def _objects(values):
    import numpy as np
    arr = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        arr[i] = v
    return arr


_builtin_tables()
