"""Every error occurrence of a capture, one row each.

Kinds (``kind`` column):

* ``service-error``  confirmed-ErrorPDU (ISO 9506-2 7.4): class/code of the ServiceError;
* ``data-access-error``  one row per failed item of a read/write response
  (DataAccessError, 9506-2 14.4.3); the object is the item's variable;
* ``reject``  rejectPDU (7.5): class = the rejected PDU type, code = the reason;
* ``initiate-error`` / ``conclude-error`` / ``cancel-error``  the corresponding
  ErrorPDUs, and an ACSE AARE whose result is not ``accepted`` (class ``acse``);
* ``abort``  ACSE ABRT (class = abort-source), or a session ABORT without one;
* ``refused``  a connect refused below ACSE: session REFUSE (class ``ses``, code its
  reason), presentation CPR (``pres``), COTP DR / ER before CC (``cotp``, the DR reason
  or ER cause), TCP RST answering the SYN (``tcp``, ``connection-refused``); an RF or
  CPR that carries a rejecting AARE is the AARE's ``initiate-error`` row only;
* ``last-appl-error``  IEC 61850-8-1 LastApplError reports: class = Error,
  code = AddCause, object = the control object.
"""

from __future__ import annotations

from ._mms import failed_items, request_object
from ._table import build, columns_doc, endpoint
from .controls import last_appl_error

__all__ = ["COLUMNS", "KINDS", "errors_table"]

KINDS = ("service-error", "data-access-error", "reject", "initiate-error", "conclude-error",
         "cancel-error", "abort", "last-appl-error", "refused")

COLUMNS = {
    "time": ("float64", "time of the PDU / event carrying the error, epoch seconds"),
    "frame": ("Int64", "its frame"),
    "stream": ("Int64", "TCP stream"),
    "client": ("string", "client 'addr:port'"),
    "server": ("string", "server 'addr:port'"),
    "sender": ("string", "who sent the error: client or server"),
    "kind": ("string", "service-error | data-access-error | reject | initiate-error | conclude-error | cancel-error | abort | last-appl-error | refused"),
    "service": ("string", "service of the failed request, when known"),
    "invoke_id": ("Int64", "invokeID of the failed request (originalInvokeID of a reject)"),
    "error_class": ("string", "ServiceError class (access, file, definition ...), reject PDU type, abort source, LastApplError Error, 'acse', 'data-access', or the refusing layer (ses, pres, cotp, tcp)"),
    "error_code": ("string", "code name within the class (object-non-existent, file-access-denied, unrecognized-service ...), DataAccessError name, AddCause"),
    "object": ("string", "object / file / variable concerned, when known"),
    "detail": ("string", "additionalDescription, additionalCode, diagnostic ... when present"),
}

_ERR_PDUS = {"confirmed-ErrorPDU": "service-error", "initiate-ErrorPDU": "initiate-error",
             "conclude-ErrorPDU": "conclude-error", "cancel-ErrorPDU": "cancel-error",
             "rejectPDU": "reject"}
_SIDES = ("client", "server")


def _ends(conns, rec):
    c = conns.get(rec.stream)
    if c is not None:
        return endpoint(c.client), endpoint(c.server)
    return None, None


def _detail(err):
    if not err:
        return None
    parts = [f"{k}={v}" for k, v in err.items() if k not in ("class", "code", "original_invoke_id")]
    return "; ".join(parts) or None


def errors_table(pdus, events, txns, conns=None):
    """One row per error occurrence, in frame order.

    ``txns`` are :func:`~.transactions.match_transactions` objects (to name the
    service and object of a failed request); ``events`` the OsiEvents.

    Columns:
    """
    conns = conns or {}
    by_response = {id(t.response): t for t in txns if t.response is not None}
    rows = []

    def add(rec, kind, service, iid, cls, code, obj, detail):
        client, server = _ends(conns, rec)
        if client is None and hasattr(rec, "src"):
            a, b = endpoint((rec.src, rec.sport)), endpoint((rec.dst, rec.dport))
            client, server = (a, b) if rec.direction == 0 else (b, a)
        rows.append((rec.time, rec.frame, rec.stream, client, server, _SIDES[rec.direction], kind,
                     service, iid, None if cls is None else str(cls), None if code is None else str(code),
                     obj, detail))

    for rec in pdus:
        pdu = rec.pdu
        kind = _ERR_PDUS.get(pdu)
        if kind is None and pdu != "confirmed-ResponsePDU" and rec.service != "informationReport":
            continue
        m = rec.decoded()
        if m is None:
            continue
        t = by_response.get(id(rec))
        req = t.request.decoded() if t is not None and t.request is not None else None
        service = t.service if t is not None else None
        if kind is not None:
            err = m.error or {}
            iid = rec.invoke_id
            add(rec, kind, service, iid, err.get("class"), err.get("code"), request_object(req), _detail(err))
        elif pdu == "confirmed-ResponsePDU":
            if m.access_results:
                variables = req.variables if req is not None else ()
                for i, var, code in failed_items(m, variables):
                    add(rec, "data-access-error", service or rec.service, rec.invoke_id, "data-access", code,
                        var, f"item {i}")
        elif "LastApplError" in m.variables:
            i = m.variables.index("LastApplError")
            res = m.access_results or ()
            e = last_appl_error(res[i] if i < len(res) else None)
            add(rec, "last-appl-error", None, None, e["error"], e["add_cause"], e["cntrl_obj"],
                f"ctlNum={e['ctl_num']}" if e["ctl_num"] is not None else None)
    aborted = {(e.stream, e.frame) for e in events if e.layer == "acse" and e.name == "abrt"}
    for e in events:
        if e.layer == "acse" and e.name == "abrt":
            d = e.detail or {}
            add(e, "abort", None, None, d.get("abort-source"), d.get("abort-diagnostic"), None,
                _detail({k: v for k, v in d.items() if k not in ("abort-source", "abort-diagnostic")}))
        elif e.layer == "ses" and e.name == "AB" and (e.stream, e.frame) not in aborted:
            add(e, "abort", None, None, "session", None, None, _detail(e.detail))
        elif e.layer == "acse" and e.name == "aare":
            d = e.detail or {}
            if d.get("result") not in (None, "accepted"):
                diag = d.get("result-source-diagnostic")
                code = next(iter(diag.values())) if isinstance(diag, dict) and diag else None
                add(e, "initiate-error", None, None, "acse", f"{d.get('result')}/{code}", None, _detail(d))
    _refusals(events, add)
    rows.sort(key=lambda r: (r[1], r[2]))
    cols = {k: [r[i] for r in rows] for i, k in enumerate(COLUMNS)}
    return build(COLUMNS, cols)


_RANK = {"pres": 0, "ses": 1, "cotp": 2, "tcp": 3}


def _refusals(events, add):
    """``refused`` rows: RF, CPR, COTP DR/ER before CC, RST answering the SYN -- one per
    refusing frame, named by its innermost unit (a CPR inside an RF is the CPR)."""
    rejected_aare = {(e.stream, e.frame) for e in events if e.layer == "acse" and e.name == "aare"
                     and (e.detail or {}).get("result") not in (None, "accepted")}
    cc = set()
    best: dict = {}
    for e in events:
        d = e.detail or {}
        row = None
        if e.layer == "cotp" and e.name == "CC":
            cc.add(e.stream)
        elif e.layer == "cotp" and e.name in ("DR", "ER") and e.stream not in cc:
            row = ("cotp", d.get("reason_name"), e.name)
        elif e.layer == "ses" and e.name == "RF":
            row = ("ses", d.get("reason"), "RF")
        elif e.layer == "pres" and e.name == "CPR":
            row = ("pres", d.get("provider-reason") or ", ".join(r for r in d.get("results") or () if r) or None,
                   "CPR")
        elif e.layer == "tcp" and e.name == "rst" and d.get("refused"):
            row = ("tcp", "connection-refused", "RST answering the SYN")
        key = (e.stream, e.frame)
        if row is None or key in rejected_aare:
            continue
        old = best.get(key)
        if old is None or _RANK[row[0]] < _RANK[old[1][0]]:
            best[key] = (e, row)
    for e, row in best.values():
        add(e, "refused", None, None, row[0], row[1], None, row[2])


errors_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
