"""Values carried by MMS PDUs, as plain Python data and as abridged text.

:func:`pdu_values` gives the values a PDU carries: a read response's and an
informationReport's access results (``{'failure': code}`` for a failed item), a write
request's data.  :func:`abridge` renders them short for one-line views (``pdus``
table, ``transactions`` table): booleans ``true``/``false``, floats with ``%g``,
strings quoted, bit strings as ``b'0101'``, times in ISO 8601 UTC, structures in
braces, failures as ``!code``; long lists end with ``... (+N)``.
"""

from __future__ import annotations

import time

__all__ = ["pdu_values", "abridge", "MAX_ITEMS", "MAX_TEXT"]

#: Items shown before "... (+N)" in an abridged list.
MAX_ITEMS = 4
#: Longest abridged text (the full values are in csv/json output and -V).
MAX_TEXT = 80
_STR = 24


def pdu_values(m, service=None, pdu=None):
    """The values of a decoded PDU (``MmsPdu``): list, or None when it carries none."""
    if m is None:
        return None
    service = service or m.service
    pdu = pdu or m.pdu
    if service == "write" and pdu == "confirmed-RequestPDU":
        from .controls import _plain
        body = (m.detail or {}).get(pdu, {}).get("confirmedServiceRequest", {}).get("write")
        data = body.get("listOfData") if isinstance(body, dict) else None
        return [_plain(d) for d in data] if data else None
    if service == "write":
        return None                     # write results are the transaction's status, not values
    if m.access_results is None:
        return None
    return list(m.access_results)


def _one(v, depth=0) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return repr(v if len(v) <= _STR else v[:_STR - 1] + "\u2026")
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, dict):
        if "failure" in v:
            return f"!{v['failure']}"
        if "success" in v:
            return _one(v["success"], depth)
        if "bits" in v:
            return f"b'{v['bits']}'"
        if "utc" in v:
            t = v["utc"]
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + f".{int((t % 1) * 1e3):03d}Z"
        if "ms_of_day" in v:
            ms = v["ms_of_day"]
            return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
        if "structure" in v or "array" in v:
            return _one(v.get("structure", v.get("array")), depth)
        return "{" + ", ".join(f"{k}={_one(x, depth + 1)}" for k, x in list(v.items())[:MAX_ITEMS]) + "}"
    if isinstance(v, (list, tuple)):
        if depth >= 2:
            return "{\u2026}"
        inner = ", ".join(_one(x, depth + 1) for x in v[:MAX_ITEMS])
        more = f", \u2026(+{len(v) - MAX_ITEMS})" if len(v) > MAX_ITEMS else ""
        return "{" + inner + more + "}"
    return "null" if v is None else str(v)


def abridge(values, limit: int = MAX_TEXT) -> str:
    """Short text of a value list (see the module docstring); '' for None or []."""
    if not values:
        return ""
    parts = [_one(v) for v in values[:MAX_ITEMS]]
    text = ", ".join(parts)
    if len(values) > MAX_ITEMS:
        text += f", \u2026 (+{len(values) - MAX_ITEMS})"
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"
