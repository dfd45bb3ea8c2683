"""Confirmed-service transactions: requests matched with their responses by invokeID.

ISO 9506-2 7.3: a confirmed-RequestPDU is answered by a confirmed-ResponsePDU or a
confirmed-ErrorPDU with the same invokeID on the same association, in the opposite
direction; a rejectPDU (7.5) may take the place of either; cancel-RequestPDU (7.6)
names the originalInvokeID of an outstanding request, which then ends with
confirmed-ErrorPDU ``service-preempt/cancel``.  Either side may be the requester
(obtainFile makes the server read a file from the client), so the key is
``(stream, requester direction, invokeID)``.

Robustness (like Wireshark's ``mms.response_in`` / ``response_to``):

* invokeID reuse: the oldest outstanding request with that key is answered first;
* duplicated PDUs (the same bytes again with the same invokeID while the request is
  outstanding, or the same response again) are folded into one row and counted in
  ``duplicates`` (TCP retransmissions are already dropped by reassembly);
* a response whose request was not captured still gets a row, with the request
  columns null and ``request_missing`` True.
"""

from __future__ import annotations

from collections import deque

from ._mms import error_code, failed_items, request_object
from .values import pdu_values
from ._table import build, columns_doc, endpoint

__all__ = ["COLUMNS", "Transaction", "match_transactions", "transactions_table", "STATUSES"]

STATUSES = ("ok", "error", "rejected", "cancelled", "unanswered")

COLUMNS = {
    "stream": ("Int64", "TCP stream index (0-based, as tshark's tcp.stream)"),
    "client": ("string", "TCP client 'addr:port' (the side that opened the connection)"),
    "server": ("string", "TCP server 'addr:port'"),
    "requester": ("string", "who sent the request: 'client' or 'server' (e.g. obtainFile makes the server read from the client)"),
    "invoke_id": ("Int64", "invokeID"),
    "service": ("string", "confirmed service (ASN.1 identifier: read, write, getNameList, fileOpen ...)"),
    "object": ("string", "what the request is about: first variable (+N more), object or file name"),
    "variables": ("object", "list of variable names of a read/write request ('DOMAIN/ITEM', 'ITEM' vmd-specific, '@ITEM' aa-specific)"),
    "request_frame": ("Int64", "frame number of the request (null when the request was not captured)"),
    "request_time": ("float64", "request time, epoch seconds"),
    "response_frame": ("Int64", "frame of the response / error / reject (null when unanswered)"),
    "response_time": ("float64", "response time, epoch seconds"),
    "latency_ms": ("float64", "response_time - request_time in milliseconds (NaN when one side is missing)"),
    "response_pdu": ("string", "confirmed-ResponsePDU, confirmed-ErrorPDU or rejectPDU"),
    "status": ("string", "ok | error | rejected | cancelled | unanswered"),
    "error_kind": ("string", "service-error | data-access-error | reject | null"),
    "error_code": ("string", "service-error and reject: '<class>/<code>' (ISO 9506 names, e.g. 'access/object-non-existent'); data-access-error: the first failed item's DataAccessError (e.g. 'object-access-denied')"),
    "failed_items": ("Int64", "number of items of a read/write response that failed (DataAccessError); 0 otherwise"),
    "item_errors": ("object", "list of 'variable: code' for each failed item ('#i' when the variable is unknown)"),
    "request_missing": ("bool", "the response was captured but not its request"),
    "duplicates": ("Int64", "identical request/response PDUs folded into this row"),
    "cancel_frame": ("Int64", "frame of a cancel-RequestPDU naming this request"),
    "values": ("object", "values of a read response (a failed item as {'failure': code}) or of a write request (plain Python form)"),
}

_REQ, _RSP, _ERR, _REJ = "confirmed-RequestPDU", "confirmed-ResponsePDU", "confirmed-ErrorPDU", "rejectPDU"
_CANCEL_REQ, _CANCEL_RSP = "cancel-RequestPDU", "cancel-ResponsePDU"


class Transaction:
    """One confirmed request and what answered it (mutable while matching)."""

    __slots__ = ("stream", "req_dir", "invoke_id", "service", "request", "response", "duplicates",
                 "cancel_frame", "cancelled", "rejected_response")

    def __init__(self, stream, req_dir, invoke_id, service, request=None):
        self.stream = stream
        self.req_dir = req_dir
        self.invoke_id = invoke_id
        self.service = service
        self.request = request          # PduRecord or None
        self.response = None            # PduRecord (response / error / reject) or None
        self.duplicates = 0
        self.cancel_frame = None
        self.cancelled = False          # a cancel-ResponsePDU confirmed the cancel
        self.rejected_response = None   # rejectPDU the requester sent about the response

    @property
    def sort_key(self):
        r = self.request or self.response
        return (r.frame, r.stream) if r is not None else (0, self.stream)


def match_transactions(pdus) -> list[Transaction]:
    """Match the requests of ``pdus`` (PduRecords in capture order) with their answers."""
    outstanding: dict[tuple, deque] = {}
    done: dict[tuple, Transaction] = {}
    out: list[Transaction] = []
    for rec in pdus:
        pdu, iid = rec.pdu, rec.invoke_id
        if iid is None:              # malformed envelope, or a reject without originalInvokeID
            continue
        s, d = rec.stream, rec.direction
        if pdu == _REQ:
            key = (s, d, iid)
            q = outstanding.get(key)
            if q:
                dup = next((t for t in q if t.request is not None and t.request.raw == rec.raw), None)
                if dup is not None:
                    dup.duplicates += 1
                    continue
            t = Transaction(s, d, iid, rec.service, rec)
            out.append(t)
            outstanding.setdefault(key, deque()).append(t)
        elif pdu == _RSP or pdu == _ERR:
            key = (s, 1 - d, iid)
            q = outstanding.get(key)
            if q:
                t = q.popleft()
                t.response = rec
                if t.service is None:
                    t.service = rec.service
                done[key] = t
                continue
            prev = done.get(key)
            if prev is not None and prev.response is not None and prev.response.raw == rec.raw:
                prev.duplicates += 1
                continue
            t = Transaction(s, 1 - d, iid, rec.service)
            t.response = rec
            out.append(t)
            done[key] = t
        elif pdu == _REJ:
            m = rec.decoded()
            cls = (m.error or {}).get("class", "") if m is not None else ""
            if cls.startswith("cancel"):
                continue                                    # about a cancel: errors() only
            if cls.startswith("confirmed-request") or not cls:
                key = (s, 1 - d, iid)                       # the peer's request was rejected
                q = outstanding.get(key)
                if q:
                    t = q.popleft()
                    t.response = rec
                    done[key] = t
                else:
                    t = Transaction(s, 1 - d, iid, None)
                    t.response = rec
                    out.append(t)
                    done[key] = t
            else:                                           # the requester rejects a response
                key = (s, d, iid)
                q = outstanding.get(key)
                if q:
                    t = q.popleft()
                    t.response = rec
                    done[key] = t
                elif key in done:
                    done[key].rejected_response = rec
        elif pdu == _CANCEL_REQ:
            q = outstanding.get((s, d, iid))
            if q:
                q[0].cancel_frame = rec.frame
        elif pdu == _CANCEL_RSP:
            key = (s, 1 - d, iid)
            q = outstanding.get(key)
            if q:
                q[0].cancelled = True
            elif key in done:
                done[key].cancelled = True
    return out


def _outcome(t: Transaction):
    """(response_pdu, status, error_kind, error_code, failed, item_errors)."""
    r = t.response
    if r is None:
        return None, ("cancelled" if t.cancelled else "unanswered"), None, None, 0, []
    m = r.decoded()
    if t.rejected_response is not None:
        rm = t.rejected_response.decoded()
        return r.pdu, "rejected", "reject", error_code(rm.error if rm else None), 0, []
    if r.pdu == _REJ:
        return r.pdu, "rejected", "reject", error_code(m.error if m else None), 0, []
    if r.pdu == _ERR:
        err = m.error if m is not None else None
        code = error_code(err)
        cancel = t.cancelled or (err is not None and err.get("class") == "service-preempt"
                                 and err.get("code") == "cancel")
        return r.pdu, ("cancelled" if cancel else "error"), "service-error", code, 0, []
    req_vars = ()
    if t.request is not None:
        qm = t.request.decoded()
        req_vars = qm.variables if qm is not None else ()
    fails = failed_items(m, req_vars or (m.variables if m is not None else ()))
    if fails:
        items = [f"{v if v is not None else '#%d' % i}: {c}" for i, v, c in fails]
        return r.pdu, "error", "data-access-error", fails[0][2], len(fails), items
    return r.pdu, "ok", None, None, 0, []


def transactions_table(txns, conns=None):
    """DataFrame of :func:`match_transactions` output, one row per confirmed request.

    ``conns`` maps stream -> object with ``client``/``server`` ``(addr, port)``; when a
    stream is missing the endpoints come from the PDUs themselves.

    Columns:
    """
    cols = {k: [] for k in COLUMNS}
    conns = conns or {}
    for t in sorted(txns, key=lambda t: t.sort_key):
        req, rsp = t.request, t.response
        any_rec = req or rsp
        c = conns.get(t.stream)
        if c is not None:
            client, server = endpoint(c.client), endpoint(c.server)
        else:
            ends = [endpoint((any_rec.src, any_rec.sport)), endpoint((any_rec.dst, any_rec.dport))]
            if any_rec.direction == 1:
                ends.reverse()
            client, server = ends
        qm = req.decoded() if req is not None else None
        rpdu, status, kind, code, nfail, items = _outcome(t)
        cols["stream"].append(t.stream)
        cols["client"].append(client)
        cols["server"].append(server)
        cols["requester"].append("client" if t.req_dir == 0 else "server")
        cols["invoke_id"].append(t.invoke_id)
        cols["service"].append(t.service)
        cols["object"].append(request_object(qm))
        cols["variables"].append(list(qm.variables) if qm is not None else [])
        cols["request_frame"].append(req.frame if req is not None else None)
        cols["request_time"].append(req.time if req is not None else None)
        cols["response_frame"].append(rsp.frame if rsp is not None else None)
        cols["response_time"].append(rsp.time if rsp is not None else None)
        cols["latency_ms"].append((rsp.time - req.time) * 1000.0 if req is not None and rsp is not None else None)
        cols["response_pdu"].append(rpdu)
        cols["status"].append(status)
        cols["error_kind"].append(kind)
        cols["error_code"].append(code)
        cols["failed_items"].append(nfail)
        cols["item_errors"].append(items)
        cols["request_missing"].append(req is None)
        cols["duplicates"].append(t.duplicates)
        cols["cancel_frame"].append(t.cancel_frame)
        if t.service == "write":
            cols["values"].append(pdu_values(qm, "write", "confirmed-RequestPDU"))
        elif t.service == "read" and rsp is not None and rpdu == "confirmed-ResponsePDU":
            cols["values"].append(pdu_values(rsp.decoded(), "read", rpdu))
        else:
            cols["values"].append(None)
    return build(COLUMNS, cols)


transactions_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
