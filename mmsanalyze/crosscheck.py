"""Cross-check our MMS decode of a capture against tshark's, field by field, via pyshark.

:func:`cross_check` runs tshark (through pyshark, which drives it and parses its PDML)
on the capture, decodes the same capture with our own stack, pairs the MMS PDUs by
frame and position in the frame, and returns one row per difference:

* PDUs that only one side decoded (``field`` = ``pdu``, the other side empty);
* ``pdu`` (MMSpdu alternative), ``service``, ``invoke_id`` (originalInvokeID of a
  reject), ``error_class`` (ServiceError class / reject PDU type);
* ``variables``: the ObjectNames of read / write requests and informationReports
  (domain-specific names as ``DOMAIN/ITEM``, vmd-specific as ``ITEM``);
* ``integers``, ``booleans``, ``floats``, ``strings``: the Data leaf values of read
  responses, write requests and reports (pyshark flattens the tree, so each kind is
  compared as a sorted list of values; strings include octet strings as hex).

tshark runs with out-of-order TCP reassembly, the extra TPKT ports as ``-d
tcp.port==N,tpkt`` and the presentation "users context list" preset (context 3 =
MMS) so that captures starting mid-association compare too.
"""

from __future__ import annotations

import collections
import math
import re
import shutil
import struct

from .errors import CaptureError

__all__ = ["COLUMNS", "cross_check", "tshark_pdus", "our_pdus"]

COLUMNS = {
    "frame": ("Int64", "frame number (as tshark numbers frames)"),
    "index": ("Int64", "position of the PDU within the frame (0 = first)"),
    "pdu": ("string", "MMSpdu alternative (ours, or tshark's when we have none)"),
    "service": ("string", "service (ours, or tshark's)"),
    "invoke_id": ("Int64", "invokeID (ours, or tshark's)"),
    "field": ("string", "what differs: pdu, service, invoke_id, error_class, variables, integers, booleans, floats, strings"),
    "ours": ("string", "our value (empty: we have no such PDU)"),
    "tshark": ("string", "tshark's value (empty: tshark has no such PDU)"),
}

_CHOICE = re.compile(r"^[^:]+:\s*(.*?)\s*\((-?\d+)\)$")
_PDU_FIELDS = {f"mms.{n.replace('-', '_')}_element": n for n in (
    "confirmed-RequestPDU", "confirmed-ResponsePDU", "confirmed-ErrorPDU", "unconfirmed-PDU", "rejectPDU",
    "cancel-RequestPDU", "cancel-ResponsePDU", "cancel-ErrorPDU", "initiate-RequestPDU",
    "initiate-ResponsePDU", "initiate-ErrorPDU", "conclude-RequestPDU", "conclude-ResponsePDU",
    "conclude-ErrorPDU")}
#: tshark's primitive PDUs carry a value instead of an ``_element`` subtree.
_PDU_PRIMITIVE = {"mms.cancel_RequestPDU": "cancel-RequestPDU", "mms.cancel_ResponsePDU": "cancel-ResponsePDU",
                  "mms.conclude_RequestPDU": "conclude-RequestPDU",
                  "mms.conclude_ResponsePDU": "conclude-ResponsePDU"}
_SERVICE_FIELDS = ("mms.confirmedServiceRequest", "mms.confirmedServiceResponse", "mms.unconfirmedService")
_VALUE_SERVICES = ("read", "write", "informationReport")
#: PRES context 3 = MMS, as every IEC 61850 stack negotiates (Wireshark's users context list).
PRES_PRESET = 'uat:pres_context_list:"3","1.0.9506.2.1"'


def _choice(showname):
    m = _CHOICE.match(showname or "")
    return m.group(1) if m else None


def _fields(layer) -> list:
    """(name, LayerField) of a pyshark layer, every occurrence."""
    out = []
    for f in layer._get_all_fields_with_alternates():
        out.append((f.name, f))
    return out


def _float_of(hexval: str):
    raw = bytes.fromhex(hexval or "")[1:]
    if len(raw) not in (4, 8):
        return None
    return struct.unpack(">f" if len(raw) == 4 else ">d", raw)[0]


def _tshark_pdu(layer) -> dict:
    d = {"pdu": None, "service": None, "invoke_id": None, "error_class": None, "variables": [],
         "integers": [], "booleans": [], "floats": [], "strings": []}
    doms, items, vmds = [], [], []
    for name, f in _fields(layer):
        if d["pdu"] is None and (name in _PDU_FIELDS or name in _PDU_PRIMITIVE):
            d["pdu"] = _PDU_FIELDS.get(name) or _PDU_PRIMITIVE[name]
            if name.startswith("mms.cancel_") and name in _PDU_PRIMITIVE:
                try:
                    d["invoke_id"] = int(f.show)      # Cancel-Request/Response ::= Unsigned32 (invokeID)
                except (TypeError, ValueError):
                    pass
        elif name in _SERVICE_FIELDS and d["service"] is None:
            d["service"] = _choice(f.showname)
        elif name in ("mms.invokeID", "mms.originalInvokeID") and d["invoke_id"] is None:
            try:
                d["invoke_id"] = int(f.show)
            except (TypeError, ValueError):
                pass
        elif name in ("mms.errorClass", "mms.rejectReason") and d["error_class"] is None:
            d["error_class"] = _choice(f.showname)
        elif name == "mms.domainId":
            doms.append(f.show)
        elif name == "mms.itemId":
            items.append(f.show)
        elif name == "mms.vmd_specific":
            vmds.append(f.show)
        elif name in ("mms.integer", "mms.unsigned"):
            d["integers"].append(int(f.show))
        elif name == "mms.boolean":
            d["booleans"].append(f.show in ("1", "True"))
        elif name == "mms.floating_point":
            d["floats"].append(_float_of(f.raw_value))
        elif name in ("mms.data.visible-string", "mms.mMSString"):
            d["strings"].append(f.show)
        elif name == "mms.data.octet-string":
            d["strings"].append(f.raw_value or "")
    d["variables"] = [f"{a}/{b}" for a, b in zip(doms, items)] + vmds
    if d["pdu"] == "unconfirmed-PDU" and d["service"] is None:
        d["service"] = "informationReport"
    return d


def tshark_pdus(path, ports=(), count=None) -> dict:
    """frame -> [per-PDU dict] as tshark decodes it (through pyshark)."""
    try:
        import pyshark
    except ImportError:
        raise CaptureError("verify needs pyshark (pip install pyshark) and tshark") from None
    if shutil.which("tshark") is None:
        raise CaptureError("verify needs tshark (Wireshark's command-line decoder) on the PATH")
    params = ["-o", "tcp.reassemble_out_of_order:TRUE", "-o", PRES_PRESET]
    for p in ports:
        if p != 102:
            params += ["-d", f"tcp.port=={p},tpkt"]
    if count:
        params += ["-c", str(count)]
    cap = pyshark.FileCapture(str(path), display_filter="mms", keep_packets=False, custom_parameters=params)
    out = {}
    try:
        for pkt in cap:
            out[int(pkt.number)] = [_tshark_pdu(layer) for layer in pkt.get_multiple_layers("mms")]
    except Exception as err:      # pyshark raises its own TSharkCrashException, EOFError ...
        if err.__class__.__name__ in ("TSharkCrashException", "EOFError"):
            raise CaptureError(f"{path}: tshark failed: {err}") from None
        raise
    finally:
        cap.close()
    return out


def _leaves(v, out):
    if isinstance(v, list):
        for x in v:
            _leaves(x, out)
    elif isinstance(v, dict):
        if "success" in v:
            _leaves(v["success"], out)
        elif "structure" in v or "array" in v:
            _leaves(v.get("structure", v.get("array")), out)
        elif "failure" not in v:
            out.append(v)
    else:
        out.append(v)
    return out


def _our_pdu(rec) -> dict:
    d = {"pdu": rec.pdu, "service": rec.service, "invoke_id": rec.invoke_id, "error_class": None,
         "variables": [], "integers": [], "booleans": [], "floats": [], "strings": []}
    m = rec.decoded() if rec.error is None else None
    if m is None:
        return d
    if m.error:
        d["error_class"] = m.error.get("class")
    d["variables"] = list(m.variables)
    vals = []
    if m.access_results is not None and not (rec.service == "write" and rec.pdu == "confirmed-ResponsePDU"):
        _leaves(list(m.access_results), vals)
    if rec.service == "write" and rec.pdu == "confirmed-RequestPDU":
        body = (m.detail or {}).get(rec.pdu, {}).get("confirmedServiceRequest", {}).get("write", {})
        from .analysis.controls import _plain
        for item in (body.get("listOfData") or []) if isinstance(body, dict) else []:
            _leaves(_plain(item), vals)
    for v in vals:
        if isinstance(v, bool):
            d["booleans"].append(v)
        elif isinstance(v, int):
            d["integers"].append(v)
        elif isinstance(v, float):
            d["floats"].append(v)
        elif isinstance(v, str):
            d["strings"].append(v)
    return d


def our_pdus(path, ports=(), count=None) -> dict:
    """frame -> [per-PDU dict] as we decode it."""
    from .api import read_capture
    cap = read_capture(path, ports=ports, count=count)
    out = collections.defaultdict(list)
    for rec in cap.records:
        out[rec.frame].append(_our_pdu(rec))
    return out


def _norm(field, v):
    if field in ("integers", "booleans", "strings"):
        return sorted(v, key=repr)
    if field == "floats":
        return sorted(("nan" if x is None or (isinstance(x, float) and math.isnan(x)) else x for x in v),
                      key=repr)
    return v


def _compared(ours: dict, theirs: dict) -> list:
    fields = ["pdu", "service", "invoke_id", "error_class"]
    svc = ours["service"] or theirs["service"]
    if svc in _VALUE_SERVICES:
        fields += ["integers", "booleans", "floats", "strings"]
        if ours["pdu"] != "confirmed-ResponsePDU":
            fields.append("variables")
    return fields


def cross_check(path, ports=(), count=None):
    """Differences between our decode of ``path`` and tshark's (see module docstring), as
    a DataFrame with :data:`COLUMNS`; empty when both agree."""
    from .analysis._table import build
    theirs = tshark_pdus(path, ports, count)
    ours = our_pdus(path, ports, count)
    rows = []

    def add(frame, i, base, field, a, b):
        rows.append((frame, i, base["pdu"], base["service"], base["invoke_id"], field,
                     "" if a is None else str(a), "" if b is None else str(b)))

    for frame in sorted(set(theirs) | set(ours)):
        mine, other = ours.get(frame, []), theirs.get(frame, [])
        for i in range(max(len(mine), len(other))):
            a = mine[i] if i < len(mine) else None
            b = other[i] if i < len(other) else None
            if a is None or b is None:
                base = a or b
                desc = " ".join(str(x) for x in (base["pdu"], base["service"]) if x)
                add(frame, i, base, "pdu", desc if a else None, desc if b else None)
                continue
            for field in _compared(a, b):
                va, vb = _norm(field, a[field]), _norm(field, b[field])
                if field == "error_class" and (va is None or vb is None):
                    continue
                if va != vb:
                    add(frame, i, a, field, va, vb)
    cols = {k: [r[j] for r in rows] for j, k in enumerate(COLUMNS)}
    return build(COLUMNS, cols), sum(len(v) for v in ours.values()), sum(len(v) for v in theirs.values())
