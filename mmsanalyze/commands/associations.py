"""``mmsanalyze associations``: one row per MMS association (TCP connection)."""

from __future__ import annotations

from ._common import add_table_options, emit, load

HELP = "MMS associations: endpoints, duration, how they ended, initiate parameters, authentication"

TABLE = ("stream", "client", "server", "start", "duration", "end", "end_by", "tcp_close", "initiate",
         "max_pdu_size_called", "max_serv_outstanding_called", "acse_mechanism", "password_in_clear",
         "pdus_client", "pdus_server", "requests", "reports")


def register(p) -> None:
    add_table_options(p)


def run(args) -> int:
    cap = load(args)
    emit(cap.associations(), args, cap, TABLE)
    return 0
