"""``mmsanalyze query STORE "SQL"``: SQL (DuckDB) over the tables of a store."""

from __future__ import annotations

from ..errors import CaptureError
from ._common import add_table_options, emit

HELP = "SQL over a store made by batch (DuckDB; one view per table, e.g. transactions, reports, goose)"


def register(p) -> None:
    p.add_argument("sql", nargs="?", metavar="SQL",
                   help="the query, e.g. \"SELECT server, count(*) FROM transactions GROUP BY ALL\"; "
                        "without it: the tables and their columns")
    add_table_options(p)


def run(args) -> int:
    from ..store import is_store
    from ..store.sql import connect
    path = args.read_file or args.capture
    if not path:
        raise CaptureError("no store given (a directory made by 'mmsanalyze batch')")
    if not is_store(path):
        raise CaptureError(f"{path}: not an mmsanalyze store (made by 'mmsanalyze batch')")
    con = connect(path)
    try:
        if not args.sql:
            sql = ("SELECT table_name AS \"table\", string_agg(column_name, ', ' ORDER BY ordinal_position) "
                   "AS columns FROM information_schema.columns GROUP BY table_name ORDER BY table_name")
        else:
            sql = args.sql
        try:
            df = con.execute(sql).df()
        except Exception as exc:          # duckdb.Error subclasses: parser, binder, catalog ...
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CaptureError(f"query failed: {msg}") from None
    finally:
        con.close()
    emit(df, args)
    return 0
