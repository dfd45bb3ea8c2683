"""The PDU table: one row per MMS PDU, as ``mmsanalyze pdus`` lists them."""

from __future__ import annotations

from ._mms import error_code
from ._table import DIRECTIONS, build, columns_doc

__all__ = ["COLUMNS", "pdus_table"]

COLUMNS = {
    "frame": ("Int64", "number of the frame that completes the PDU (as Wireshark numbers frames)"),
    "time": ("float64", "that frame's time, epoch seconds"),
    "stream": ("Int64", "TCP stream index"),
    "direction": ("string", "client->server or server->client"),
    "src": ("string", "source address"),
    "sport": ("Int64", "source TCP port"),
    "dst": ("string", "destination address"),
    "dport": ("Int64", "destination TCP port"),
    "pdu": ("string", "MMSpdu alternative (confirmed-RequestPDU, unconfirmed-PDU, initiate-RequestPDU ...); null when malformed"),
    "service": ("string", "service (read, write, informationReport ...) or null"),
    "invoke_id": ("Int64", "invokeID (originalInvokeID for cancel/reject PDUs)"),
    "variables": ("object", "list of variable names (read/write/informationReport)"),
    "error": ("string", "'<class>/<code>' of an error or reject PDU"),
    "size": ("Int64", "octets of the MMS PDU"),
    "via": ("string", "how MMS was found: pres, pres-inferred, acse, cotp"),
    "malformed": ("string", "decode error message when the PDU is malformed, else null"),
}
DETAIL_COLUMNS = {
    "access_results": ("object", "read response / informationReport values (Python form of mmsanalyze.mms.data), write results"),
    "detail": ("object", "the whole decoded PDU as a tree keyed by ASN.1 identifiers (as Wireshark's)"),
}


def pdus_table(pdus, detail: bool = False):
    """One row per MMS PDU of ``pdus`` (PduRecords), decoded.

    Columns:
    """
    spec = dict(COLUMNS, **DETAIL_COLUMNS) if detail else COLUMNS
    cols = {k: [] for k in spec}
    for r in pdus:
        m = r.decoded()
        cols["frame"].append(r.frame)
        cols["time"].append(r.time)
        cols["stream"].append(r.stream)
        cols["direction"].append(DIRECTIONS[r.direction])
        cols["src"].append(r.src)
        cols["sport"].append(r.sport)
        cols["dst"].append(r.dst)
        cols["dport"].append(r.dport)
        cols["pdu"].append(r.pdu)
        cols["service"].append(r.service)
        cols["invoke_id"].append(r.invoke_id)
        cols["variables"].append(list(m.variables) if m is not None else [])
        cols["error"].append(error_code(m.error) if m is not None else None)
        cols["size"].append(len(r.raw))
        cols["via"].append(r.via)
        cols["malformed"].append(r.error)
        if detail:
            cols["access_results"].append(list(m.access_results) if m is not None and m.access_results is not None else None)
            cols["detail"].append(m.detail if m is not None else None)
    return build(spec, cols)


pdus_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n    and with ``detail=True``:\n" + \
    columns_doc(DETAIL_COLUMNS, "    ") + "\n"
