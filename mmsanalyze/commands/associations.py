"""``mmsanalyze associations``: one row per MMS association (TCP connection)."""

from __future__ import annotations

from ._common import add_table_options, emit, load

HELP = "MMS associations: endpoints, duration, how they ended, initiate parameters, authentication"

TABLE = ("stream", "client", "server", "start", "duration", "end", "end_by", "tcp_close", "initiate",
         "max_pdu_size_called", "max_serv_outstanding_called", "acse_mechanism", "password_in_clear",
         "pdus_client", "pdus_server", "requests", "reports")


def register(p) -> None:
    add_table_options(p)


def with_identity(assoc, ident):
    """The associations table with the identify response of each stream (vendor, model,
    revision) appended: what the server said it is."""
    first = ident.drop_duplicates("stream")[["stream", "vendor", "model", "revision"]] if len(ident) else \
        ident[["stream", "vendor", "model", "revision"]]
    return assoc.merge(first, on="stream", how="left")


def run(args) -> int:
    cap = load(args)
    emit(with_identity(cap.associations(), cap.identify()), args, cap, TABLE + ("vendor", "model", "revision"))
    return 0
