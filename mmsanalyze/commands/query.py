"""``mmsanalyze query STORE "SQL"``: SQL (DuckDB) over the tables of a store."""

from __future__ import annotations

from ..errors import CaptureError
from ._common import add_table_options, emit, source_files

HELP = "SQL over a store made by batch (DuckDB; one view per table, e.g. transactions, reports, goose)"


def register(p) -> None:
    # The positionals are the shared ``captures`` list (cli._add_source, nargs="*"): a second
    # positional would never receive anything, so STORE and SQL are read from that list.
    for a in p._actions:
        if a.dest == "captures":
            a.metavar = "STORE [SQL]"
            a.help = ("the store (a directory made by 'mmsanalyze batch', or -r STORE), then the query, "
                      "e.g. \"SELECT server, count(*) FROM transactions GROUP BY ALL\"; "
                      "without a query: the tables and their columns")
    add_table_options(p)


def store_and_sql(args) -> tuple[str, str | None]:
    """(store, SQL or None) from ``-r`` and the positionals: the store first, then the query."""
    given = source_files(args)
    if not given:
        raise CaptureError("no store given (a directory made by 'mmsanalyze batch')")
    if len(given) > 2:
        raise CaptureError(f"query takes a store and one SQL query, got {len(given)} arguments "
                           "(quote the query)")
    return given[0], (given[1] if len(given) == 2 else None)


def run(args) -> int:
    from ..store import is_store
    from ..store.sql import connect
    if args.interface:
        raise CaptureError("query reads a store, not a live interface")
    path, sql = store_and_sql(args)
    if not is_store(path):
        raise CaptureError(f"{path}: not an mmsanalyze store (made by 'mmsanalyze batch')")
    con = connect(path)
    try:
        if not sql:
            sql = ("SELECT table_name AS \"table\", string_agg(column_name, ', ' ORDER BY ordinal_position) "
                   "AS columns FROM information_schema.columns GROUP BY table_name ORDER BY table_name")
        try:
            df = con.execute(sql).df()
        except Exception as exc:          # duckdb.Error subclasses: parser, binder, catalog ...
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CaptureError(f"query failed: {msg}") from None
    finally:
        con.close()
    emit(df, args)
    return 0
