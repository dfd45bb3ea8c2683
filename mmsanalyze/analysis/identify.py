"""Identify responses (ISO 9506-2 10.2): who the MMS peers say they are -- an asset list.

One row per identify-ResponsePDU: the responder's vendorName, modelName and revision
(and the abstract syntaxes it lists, when present), with the TCP stream and endpoints.
"""

from __future__ import annotations

from ._table import build, columns_doc, endpoint

__all__ = ["COLUMNS", "identify_table"]

COLUMNS = {
    "frame": ("Int64", "frame of the identify response"),
    "time": ("float64", "its time, epoch seconds"),
    "stream": ("Int64", "TCP stream"),
    "client": ("string", "client 'addr:port'"),
    "server": ("string", "server 'addr:port'"),
    "responder": ("string", "who answered: 'server' (usual) or 'client'"),
    "vendor": ("string", "vendorName"),
    "model": ("string", "modelName"),
    "revision": ("string", "revision"),
}


def identify_table(pdus, conns=None):
    """DataFrame: one row per identify response in ``pdus`` (PduRecords).

    Columns:
    """
    conns = conns or {}
    rows = []
    for rec in pdus:
        if rec.service != "identify" or rec.pdu != "confirmed-ResponsePDU":
            continue
        m = rec.decoded()
        body = (m.detail or {}).get(rec.pdu, {}).get("confirmedServiceResponse", {}).get("identify") \
            if m is not None else None
        if not isinstance(body, dict):
            continue
        c = conns.get(rec.stream)
        if c is not None:
            client, server = endpoint(c.client), endpoint(c.server)
        else:
            a, b = endpoint((rec.src, rec.sport)), endpoint((rec.dst, rec.dport))
            client, server = (b, a) if rec.direction == 1 else (a, b)
        rows.append((rec.frame, rec.time, rec.stream, client, server,
                     "server" if rec.direction == 1 else "client",
                     body.get("vendorName"), body.get("modelName"), body.get("revision")))
    return build(COLUMNS, {k: [r[i] for r in rows] for i, k in enumerate(COLUMNS)})


identify_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
