"""IEC 61850 control model on MMS (IEC 61850-8-1 clause 20, 7-2 clause 20).

Select (read of ``SBO``), SelectWithValue (write of ``SBOw``), Operate (write of
``Oper``) and Cancel (write of ``Cancel``) are ordinary MMS reads/writes of a
control object's ``$CO$`` attributes; the server's CommandTermination is an
InformationReport of the ``$Oper`` variable (preceded, when negative, by
``LastApplError`` in the same report), and a refused Select/Operate/Cancel is also
announced by an InformationReport of ``LastApplError`` = {CntrlObj, Error, Origin,
ctlNum, AddCause} (8-1 20.11, Table 111 ff.).
"""

from __future__ import annotations

import re

import pandas as pd

from ._table import build, columns_doc, endpoint

__all__ = ["COLUMNS", "controls_table", "last_appl_error", "ADD_CAUSES", "CONTROL_ERRORS", "OR_CATS"]

#: AddCause (IEC 61850-7-2 Ed.2 Table 67 / libiec61850 ADD_CAUSE_*), by value.
ADD_CAUSES = ("unknown", "not-supported", "blocked-by-switching-hierarchy", "select-failed",
              "invalid-position", "position-reached", "parameter-change-in-execution", "step-limit",
              "blocked-by-mode", "blocked-by-process", "blocked-by-interlocking",
              "blocked-by-synchrocheck", "command-already-in-execution", "blocked-by-health",
              "1-of-n-control", "abortion-by-cancel", "time-limit-over", "abortion-by-trip",
              "object-not-selected", "object-already-selected", "no-access-authority",
              "ended-with-overshoot", "abortion-due-to-deviation", "abortion-by-communication-loss",
              "blocked-by-command", "none", "inconsistent-parameters", "locked-by-other-client")
#: LastApplError.Error (8-1 Table 112)
CONTROL_ERRORS = ("no-error", "unknown", "timeout-test-not-ok", "operator-test-not-ok")
#: Originator orCat (7-3)
OR_CATS = ("not-supported", "bay-control", "station-control", "remote-control", "automatic-bay",
           "automatic-station", "automatic-remote", "maintenance", "process")

_CO = re.compile(r"^(?P<obj>.+\$CO\$[^$]+(?:\$[^$]+)*?)\$(?P<attr>SBOw|SBO|Oper|Cancel)$")
_ACTIONS = {("write", "SBOw"): "select-with-value", ("read", "SBO"): "select",
            ("write", "Oper"): "operate", ("write", "Cancel"): "cancel"}

COLUMNS = {
    "time": ("float64", "time of the request (or of the report), epoch seconds"),
    "frame": ("Int64", "frame of the request (or report)"),
    "stream": ("Int64", "TCP stream"),
    "client": ("string", "client 'addr:port'"),
    "server": ("string", "server 'addr:port'"),
    "object": ("string", "control object ('DOMAIN/LN$CO$DO')"),
    "action": ("string", "select, select-with-value, operate, cancel, command-termination or last-appl-error"),
    "ctl_val": ("object", "ctlVal written (Python form), or carried by the CommandTermination"),
    "ctl_num": ("Int64", "ctlNum"),
    "or_cat": ("string", "originator category (orCat name)"),
    "result": ("string", "requests: the transaction status (ok, error, ...); command-termination: positive or negative; last-appl-error: the Error name"),
    "error_code": ("string", "DataAccessError / '<class>/<code>' of a failed request"),
    "add_cause": ("string", "AddCause name of the LastApplError (for requests: the one the server sent for the same object and ctlNum)"),
    "latency_ms": ("float64", "request to response (ms)"),
    "response_frame": ("Int64", "frame of the response"),
}


def _name(table, v):
    return table[v] if isinstance(v, int) and 0 <= v < len(table) else (None if v is None else str(v))


def last_appl_error(value) -> dict:
    """LastApplError structure value -> ``{cntrl_obj, error, or_cat, or_ident, ctl_num, add_cause}``."""
    d = {"cntrl_obj": None, "error": None, "or_cat": None, "or_ident": None, "ctl_num": None,
         "add_cause": None}
    if not isinstance(value, list) or len(value) < 5:
        return d
    obj, err, origin, num, cause = value[:5]
    d["cntrl_obj"] = obj if isinstance(obj, str) else None
    d["error"] = _name(CONTROL_ERRORS, err)
    if isinstance(origin, list) and origin:
        d["or_cat"] = _name(OR_CATS, origin[0])
        d["or_ident"] = origin[1] if len(origin) > 1 else None
    d["ctl_num"] = num if isinstance(num, int) else None
    d["add_cause"] = _name(ADD_CAUSES, cause)
    return d


def _oper_fields(v):
    """(ctl_val, ctl_num, or_cat) of an Oper/SBOw/Cancel structure (operTm optional)."""
    if not isinstance(v, list) or not v:
        return None, None, None
    origin = next((i for i in range(1, min(len(v), 3)) if isinstance(v[i], list)), None)
    if origin is None:
        return v[0], None, None
    num = v[origin + 1] if origin + 1 < len(v) and isinstance(v[origin + 1], int) else None
    cat = _name(OR_CATS, v[origin][0]) if v[origin] else None
    return v[0], num, cat


def _write_value(rec):
    m = rec.decoded() if rec is not None else None
    if m is None:
        return None
    body = m.detail.get(m.pdu, {}).get("confirmedServiceRequest", {}).get("write")
    data = body.get("listOfData") if isinstance(body, dict) else None
    if not data:
        return None
    return _plain(data[0])


def _plain(v):
    """A typed Data value of a detail tree (``{'structure': [...]}``) -> its plain Python form."""
    if isinstance(v, dict) and len(v) == 1:
        (k, x), = v.items()
        if k in ("structure", "array") and isinstance(x, list):
            return [_plain(e) for e in x]
        return x
    return v


def controls_table(pdus, txns, conns=None):
    """One row per control action (from the transactions table) or control report (from ``pdus``).

    Columns:
    """
    conns = conns or {}
    rows = []
    lae = {}                                    # (stream, object, ctl_num) -> add_cause
    for rec in pdus:
        if rec.service != "informationReport":
            continue
        m = rec.decoded()
        if m is None:
            continue
        v = m.variables
        oper = next((i for i, x in enumerate(v) if x.endswith("$Oper")), None)
        c = conns.get(rec.stream)
        ends = (endpoint(c.client), endpoint(c.server)) if c else (endpoint((rec.dst, rec.dport)),
                                                                   endpoint((rec.src, rec.sport)))
        res = list(m.access_results or ())
        err = None
        if "LastApplError" in v:
            i = v.index("LastApplError")
            err = last_appl_error(res[i] if i < len(res) else None)
            obj = err["cntrl_obj"]
            base = obj.rsplit("$", 1)[0] if obj else None
            lae[(rec.stream, base, err["ctl_num"])] = err["add_cause"]
            if oper is None:
                rows.append((rec.time, rec.frame, rec.stream, *ends, base, "last-appl-error", None,
                             err["ctl_num"], err["or_cat"], err["error"], None, err["add_cause"], None, None))
        if oper is not None:
            ctl_val, num, cat = _oper_fields(res[oper] if oper < len(res) else None)
            rows.append((rec.time, rec.frame, rec.stream, *ends, v[oper].rsplit("$", 1)[0],
                         "command-termination", ctl_val, num, cat,
                         "negative" if err is not None else "positive", None,
                         err["add_cause"] if err else None, None, None))
    requests = None
    if txns is not None and len(txns):
        sel = txns[txns["service"].isin(["write", "read"])]
        for t in sel.itertuples(index=False):
            if len(t.variables) != 1:
                continue
            mo = _CO.match(t.variables[0])
            action = _ACTIONS.get((t.service, mo.group("attr"))) if mo else None
            if action is None:
                continue
            ctl_val = num = cat = None
            if t.service == "write":
                if requests is None:
                    requests = {(r.stream, r.frame, r.invoke_id): r for r in pdus if r.pdu == "confirmed-RequestPDU"}
                req = requests.get((t.stream, t.request_frame, t.invoke_id))
                ctl_val, num, cat = _oper_fields(_write_value(req))
            obj = mo.group("obj")
            cause = lae.get((t.stream, obj, num)) if t.status != "ok" else None
            rows.append((t.request_time, t.request_frame, t.stream, t.client, t.server, obj, action,
                         ctl_val, num, cat, t.status, t.error_code, cause, t.latency_ms, t.response_frame))
    rows.sort(key=lambda r: (r[1] if r[1] is not None and r[1] == r[1] else 0))
    cols = {k: [None if _na(r[i]) else r[i] for r in rows] for i, k in enumerate(COLUMNS)}
    return build(COLUMNS, cols)


def _na(v):
    try:
        return v is None or v is pd.NA or v != v
    except (TypeError, ValueError):
        return False


controls_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
