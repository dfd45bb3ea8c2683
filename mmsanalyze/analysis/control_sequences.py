"""IEC 61850 control sequences: the rows of :func:`~.controls.controls_table` grouped
into one Select / Operate / Cancel sequence per control object and command.

A sequence (IEC 61850-7-2 clause 20, state machines of 20.5 ff.) starts with a Select
(``SBO`` read) or SelectWithValue (``SBOw`` write), or with an Operate that no open
Select precedes (direct control).  The Operate, Cancel, CommandTermination and
LastApplError of the same TCP stream and control object that follow are attached to
it (matched by ctlNum when both sides carry one); a sequence ends with its
CommandTermination or Cancel, or when a new Select of the same object starts.
"""

from __future__ import annotations

from ._table import build, columns_doc

__all__ = ["COLUMNS", "OUTCOMES", "control_sequences"]

#: Values of the ``outcome`` column.
OUTCOMES = ("terminated", "operated", "failed", "cancelled", "selected", "select-failed", "unanswered")

COLUMNS = {
    "stream": ("Int64", "TCP stream"),
    "client": ("string", "client 'addr:port' (the originator's connection)"),
    "server": ("string", "server 'addr:port'"),
    "object": ("string", "control object ('DOMAIN/LN$CO$DO', MMS name)"),
    "reference": ("string", "the control object as an IEC 61850 reference ('LD/LN.DO')"),
    "model": ("string", "sbo-with-value, sbo (Select by read of SBO) or direct (Operate without Select)"),
    "ctl_num": ("Int64", "ctlNum of the command"),
    "ctl_val": ("object", "ctlVal of the Operate (or SelectWithValue)"),
    "or_cat": ("string", "originator category (orCat) of the command"),
    "select_frame": ("Int64", "frame of the Select / SelectWithValue request"),
    "select_result": ("string", "its transaction status (ok, error, ...)"),
    "operate_frame": ("Int64", "frame of the Operate request"),
    "operate_result": ("string", "its transaction status"),
    "cancel_frame": ("Int64", "frame of the Cancel request"),
    "termination_frame": ("Int64", "frame of the CommandTermination report"),
    "termination": ("string", "positive or negative CommandTermination"),
    "last_appl_error": ("string", "LastApplError Error name, when one was reported"),
    "add_cause": ("string", "AddCause of the LastApplError (why the command failed)"),
    "error_code": ("string", "DataAccessError / ServiceError of a failed Select or Operate"),
    "select_latency_ms": ("float64", "Select request to response (ms)"),
    "operate_latency_ms": ("float64", "Operate request to response (ms)"),
    "select_to_operate_s": ("float64", "Select request to Operate request (s): the operator's time"),
    "termination_ms": ("float64", "Operate request to CommandTermination (ms): the time the process took"),
    "start_time": ("float64", "time of the first request of the sequence, epoch seconds"),
    "outcome": ("string", "terminated (positive CommandTermination), operated (Operate ok, no termination "
                           "seen), failed (negative termination, LastApplError or failed Operate), cancelled, "
                           "selected (no Operate), select-failed, unanswered"),
}

_SELECTS = {"select": "sbo", "select-with-value": "sbo-with-value"}


def _num(v):
    return None if v is None or v != v else int(v)


def _matches(seq: dict, num) -> bool:
    return num is None or seq["ctl_num"] is None or seq["ctl_num"] == num


def control_sequences(controls):
    """DataFrame: one row per control sequence of a :meth:`Capture.controls` table.

    Columns:
    """
    from ..mms import iec61850_reference
    seqs: list[dict] = []
    open_: dict = {}                      # (stream, object) -> open sequence
    rows = controls.sort_values("frame", kind="stable") if len(controls) else controls
    for r in rows.itertuples(index=False):
        key = (r.stream, r.object)
        action = r.action
        num = _num(r.ctl_num)
        seq = open_.get(key)
        if action in _SELECTS or (action == "operate" and (seq is None or seq["operate_frame"] is not None
                                                           or not _matches(seq, num))):
            seq = {k: None for k in COLUMNS}
            seq.update(stream=r.stream, client=r.client, server=r.server, object=r.object,
                       model=_SELECTS.get(action, "direct"), start_time=r.time)
            if r.object and "/" in r.object:
                dom, item = r.object.split("/", 1)
                seq["reference"] = iec61850_reference(dom, item) or r.object
            seqs.append(seq)
            open_[key] = seq
        if seq is None:                   # a termination or error for a command not captured
            seq = {k: None for k in COLUMNS}
            seq.update(stream=r.stream, client=r.client, server=r.server, object=r.object, start_time=r.time)
            seqs.append(seq)
            open_[key] = seq
        if num is not None and seq["ctl_num"] is None:
            seq["ctl_num"] = num
        if r.or_cat is not None and seq["or_cat"] is None:
            seq["or_cat"] = r.or_cat
        if action in _SELECTS:
            seq.update(select_frame=r.frame, select_result=r.result, select_latency_ms=r.latency_ms,
                       _select_time=r.time)
            if action == "select-with-value":
                seq["ctl_val"] = r.ctl_val
        elif action == "operate":
            seq.update(operate_frame=r.frame, operate_result=r.result, operate_latency_ms=r.latency_ms,
                       ctl_val=r.ctl_val if r.ctl_val is not None else seq["ctl_val"])
            if seq.get("_select_time") is not None:
                seq["select_to_operate_s"] = r.time - seq["_select_time"]
            seq["_operate_time"] = r.time
        elif action == "cancel":
            seq["cancel_frame"] = r.frame
            open_.pop(key, None)
        elif action == "command-termination":
            seq.update(termination_frame=r.frame, termination=r.result)
            if seq.get("_operate_time") is not None:
                seq["termination_ms"] = (r.time - seq["_operate_time"]) * 1000.0
            if r.add_cause is not None:
                seq["add_cause"] = r.add_cause
            open_.pop(key, None)
        elif action == "last-appl-error":
            seq["last_appl_error"] = r.result
            seq["add_cause"] = r.add_cause
        if action in ("select", "select-with-value", "operate") and r.result not in (None, "ok"):
            seq["error_code"] = seq["error_code"] or r.error_code
            if r.add_cause is not None:
                seq["add_cause"] = r.add_cause
    for seq in seqs:
        seq["outcome"] = _outcome(seq)
    return build(COLUMNS, {k: [s.get(k) for s in seqs] for k in COLUMNS})


def _outcome(s: dict) -> str:
    if s["termination"] == "negative" or (s["operate_result"] not in (None, "ok", "unanswered")):
        return "failed"
    if s["termination"] == "positive":
        return "terminated"
    if s["cancel_frame"] is not None:
        return "cancelled"
    if s["operate_result"] == "ok":
        return "failed" if s["last_appl_error"] not in (None, "no-error") else "operated"
    if s["operate_result"] == "unanswered" or s["select_result"] == "unanswered":
        return "unanswered"
    if s["select_result"] not in (None, "ok"):
        return "select-failed"
    if s["select_frame"] is not None:
        return "selected"
    return "failed" if s["last_appl_error"] not in (None, "no-error") else "unanswered"


control_sequences.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
