"""tshark as the reference decoder: run it and extract one dict per MMS PDU.

Streams tshark's PDML (``-T pdml``) through ElementTree.iterparse, so large
captures do not load at once.  Each ``<proto name="mms">`` element is one PDU
(a frame may hold several).  Extracted per PDU:

* ``frame``, ``pdu`` (the MMSpdu CHOICE, e.g. ``confirmed-RequestPDU``),
  ``service`` (from ``confirmedServiceRequest: read (4)`` etc.), ``invoke_id``;
* ``variables``: ObjectNames inside variableAccessSpecification (read/write
  requests, informationReport) rendered DOMAIN/ITEM, ITEM, @ITEM;
* ``error``: {'class', 'code'} of a ServiceError, or of a rejectPDU reason;
* ``results``: per access result, ('failure', name) or ('success', [leaf values]).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

TSHARK = shutil.which("tshark") or "/usr/bin/tshark"
_SHOWNAME = re.compile(r"^[^:]+:\s*(.*?)\s*\((-?\d+)\)$")
#: Leaf value fields of MMS Data in tshark 4.0 (field name -> our type name)
DATA_FIELDS = {
    "mms.boolean": "boolean", "mms.integer": "integer", "mms.unsigned": "unsigned",
    "mms.floating_point": "floating-point", "mms.data.octet-string": "octet-string",
    "mms.data.visible-string": "visible-string", "mms.data_bit-string": "bit-string",
    "mms.data.binary-time": "binary-time", "mms.utc_time": "utc-time", "mms.mMSString": "mMSString",
    "mms.bcd": "bcd", "mms.objId": "objId", "mms.booleanArray": "booleanArray",
}


def tshark_args(path, ports=(), preset_mms_context: bool = False) -> list:
    args = [TSHARK, "-n", "-r", str(path), "-o", "tcp.reassemble_out_of_order:TRUE"]
    for p in ports:
        args += ["-d", f"tcp.port=={p},tpkt"]
    if preset_mms_context:
        # Wireshark's "Users context list" preset: context 3 -> MMS (what every IEC 61850 stack negotiates)
        args += ["-o", 'uat:pres_context_list:"3","1.0.9506.2.1"']
    return args


def _choice_name(showname: str):
    m = _SHOWNAME.match(showname or "")
    return m.group(1) if m else None


def _name_of(elem) -> str | None:
    """ObjectName under ``elem`` (a mms.name / variableListName / ... field) as D/I, I or @I."""
    for f in elem.iter("field"):
        n = f.get("name")
        if n == "mms.domain_specific_element":
            dom = item = ""
            for c in f:
                if c.get("name") == "mms.domainId":
                    dom = c.get("show")
                elif c.get("name") == "mms.itemId":
                    item = c.get("show")
            return f"{dom}/{item}"
        if n == "mms.vmd_specific":
            return f.get("show")
        if n == "mms.aa_specific":
            return "@" + (f.get("show") or "")
    return None


def _variables(pdu_elem) -> list:
    out = []
    for vas in pdu_elem.iter("field"):
        if vas.get("name") not in ("mms.variableAccessSpecificatn", "mms.variableAccessSpecification"):
            continue
        for f in vas.iter("field"):
            n = f.get("name")
            if n == "mms.listOfVariable_item_element":
                for g in f.iter("field"):
                    if g.get("name") == "mms.name":
                        nm = _name_of(g)
                        if nm is not None:
                            out.append(nm)
                        break
            elif n == "mms.variableListName":
                nm = _name_of(f)
                if nm is not None:
                    out.append(nm)
        break
    return out


def _error(pdu_elem):
    """{'class', 'code'} of a ServiceError (errorClass) or a rejectPDU (rejectReason)."""
    for f in pdu_elem.iter("field"):
        if f.get("name") in ("mms.errorClass", "mms.rejectReason"):
            code = next((_choice_name(c.get("showname")) for c in f), None)
            return {"class": _choice_name(f.get("showname")), "code": code}
    return None


def _leaves(elem) -> list:
    out = []
    for f in elem.iter("field"):
        t = DATA_FIELDS.get(f.get("name"))
        if t is not None:
            out.append((t, f.get("show"), f.get("value")))
    return out


def _results(pdu_elem) -> list | None:
    items = []
    found = False
    for f in pdu_elem.iter("field"):
        n = f.get("name")
        if n in ("mms.listOfAccessResult", "mms.listOfAccessResult_01"):
            found = True
            for item in f:
                kind = _choice_name(item.get("showname")) or item.get("showname")
                if item.get("name") == "mms.AccessResult" or kind in ("failure", "success"):
                    if kind == "failure":
                        items.append(("failure", _failure_name(item)))
                    else:
                        items.append(("success", _leaves(item)))
            break
    return items if found else None


def _failure_name(item) -> str | None:
    for c in item.iter("field"):
        if c.get("name") == "mms.failure":
            return _choice_name(c.get("showname"))
    return None


def parse_pdml(stream) -> list:
    """Parse PDML from a file object into a list of per-PDU dicts."""
    out = []
    frame = None
    for event, elem in ET.iterparse(stream, events=("end",)):
        tag = elem.tag
        if tag == "field" and elem.get("name") == "num" and frame is None:
            frame = int(elem.get("show"))
        elif tag == "proto" and elem.get("name") == "mms":
            pdu_elem = next(iter(elem), None)
            rec = {"frame": frame, "pdu": None, "service": None, "invoke_id": None,
                   "variables": [], "error": None, "results": None}
            if pdu_elem is not None:
                pdu_name = pdu_elem.get("showname") or ""
                rec["pdu"] = pdu_name.split(":")[0].strip()
                for c in pdu_elem:
                    n = c.get("name")
                    if n == "mms.invokeID" and rec["invoke_id"] is None:
                        rec["invoke_id"] = int(c.get("show"))
                    elif n in ("mms.confirmedServiceRequest", "mms.confirmedServiceResponse",
                               "mms.unconfirmedService"):
                        rec["service"] = _choice_name(c.get("showname"))
                    elif n in ("mms.originalInvokeID",):
                        rec["original_invoke_id"] = int(c.get("show"))
                if rec["pdu"] == "rejectPDU" and rec["invoke_id"] is None:
                    # our invoke_id of a rejectPDU is the originalInvokeID it answers
                    # (tshark: mms.originalInvokeID); compare them as one field
                    rec["invoke_id"] = rec.get("original_invoke_id")
                if pdu_elem.get("name") in ("mms.cancel_RequestPDU", "mms.cancel_ResponsePDU"):
                    rec["invoke_id"] = int(pdu_elem.get("show"))
                    rec["pdu"] = pdu_elem.get("showname").split(":")[0].strip()
                rec["variables"] = _variables(pdu_elem)
                rec["error"] = _error(pdu_elem)
                rec["results"] = _results(pdu_elem)
            out.append(rec)
            elem.clear()
        elif tag == "packet":
            frame = None
            elem.clear()
    return out


def tshark_mms(path, ports=(), preset_mms_context: bool = False) -> list:
    """Per-PDU dicts of every MMS PDU tshark decodes in ``path``."""
    args = tshark_args(path, ports, preset_mms_context) + ["-Y", "mms", "-T", "pdml"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        return parse_pdml(proc.stdout)
    finally:
        proc.stdout.close()
        proc.wait()
