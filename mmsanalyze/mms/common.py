"""Shared MMS productions (ISO 9506-2), as element decoders (see :mod:`.schema`).

ObjectName, ApplicationReference, FileName, Address, VariableSpecification,
AlternateAccess, VariableAccessSpecification, ScatteredAccessDescription (clause 14.2)
and EventTime.  Values are JSON-able dicts keyed by ASN.1 identifiers.
"""

from __future__ import annotations

from ..ber import read_oid
from ..errors import Malformed
from ._tlv import MAX_DEPTH, generic, kids, tag_key, too_deep
from .schema import (choice, explicit, need_constructed, p_gstr, p_int, p_null, p_tod, p_uint,
                     p_vstr, p_oct, seq)

__all__ = [
    "object_name", "render_name", "app_ref", "file_name", "address", "render_address",
    "variable_specification", "render_variable", "alternate_access", "list_of_variable",
    "variable_access_specification", "scattered_access_description", "event_time",
]


# ---------------------------------------------------------------------------------
# ObjectName ::= CHOICE { vmd-specific [0] IMPLICIT Identifier,
#                         domain-specific [1] IMPLICIT SEQUENCE {domainID, itemID},
#                         aa-specific [2] IMPLICIT Identifier }
# ---------------------------------------------------------------------------------

def object_name(buf, t, cs, ce, d=0) -> dict:
    if t == 0xA1:
        ch = kids(buf, cs, ce)
        if len(ch) != 2 or ch[0][0] & 0xDF != 0x1A or ch[1][0] & 0xDF != 0x1A:
            raise Malformed("domain-specific ObjectName is not two Identifiers", cs, "mms",
                            code="mms.malformed.object_name")
        (t1, a, b), (t2, x, y) = ch
        return {"domain-specific": {"domainId": p_vstr(buf, t1, a, b, d + 1),
                                    "itemId": p_vstr(buf, t2, x, y, d + 1)}}
    if t & 0xDF == 0x80:
        return {"vmd-specific": p_vstr(buf, t, cs, ce, d + 1)}
    if t & 0xDF == 0x82:
        return {"aa-specific": p_vstr(buf, t, cs, ce, d + 1)}
    raise Malformed(f"{tag_key(t)} is not an ObjectName alternative", cs, "mms",
                    code="mms.malformed.object_name")


def render_name(on: dict) -> str:
    """``'DOMAIN/ITEM'``, ``'ITEM'`` (vmd-specific) or ``'@ITEM'`` (aa-specific)."""
    v = on.get("domain-specific")
    if v is not None:
        return f"{v['domainId']}/{v['itemId']}"
    v = on.get("vmd-specific")
    if v is not None:
        return v
    return "@" + on["aa-specific"]


# ---------------------------------------------------------------------------------
# ApplicationReference ::= SEQUENCE { ap-title [0] AP-title OPTIONAL,
#   ap-invocation-id [1] ..., ae-qualifier [2] ..., ae-invocation-id [3] ... }
# (ACSE types under EXPLICIT tags: OBJECT IDENTIFIER or INTEGER forms.)
# ---------------------------------------------------------------------------------

def _acse_value(buf, t, cs, ce, d=0):
    ch = kids(buf, cs, ce)
    if len(ch) == 1:
        ct, a, b = ch[0]
        if ct == 0x06:
            return read_oid(buf, a, b)
        if ct == 0x02:
            return p_int(buf, ct, a, b)
    return generic(buf, t, cs, ce, d)


_APP_REF = seq({
    0xA0: ("ap-title", _acse_value),
    0xA1: ("ap-invocation-id", _acse_value),
    0xA2: ("ae-qualifier", _acse_value),
    0xA3: ("ae-invocation-id", _acse_value),
})


def app_ref(buf, t, cs, ce, d=0) -> dict:
    """ApplicationReference, IMPLICIT (fields directly) or EXPLICIT (one SEQUENCE inside)."""
    need_constructed(t, cs)
    if cs < ce and buf[cs] == 0x30:
        ch = kids(buf, cs, ce)
        if len(ch) == 1:
            ct, a, b = ch[0]
            return _APP_REF(buf, ct, a, b, d + 1)
    return _APP_REF(buf, t, cs, ce, d)


#: FileName ::= SEQUENCE OF GraphicString
def file_name(buf, t, cs, ce, d=0) -> list[str]:
    need_constructed(t, cs)
    return [p_gstr(buf, ct, a, b) for ct, a, b in kids(buf, cs, ce)]


# ---------------------------------------------------------------------------------
# Address ::= CHOICE { numericAddress [0] IMPLICIT Unsigned32,
#   symbolicAddress [1] IMPLICIT MMSString, unconstrainedAddress [2] IMPLICIT OCTET STRING }
# ---------------------------------------------------------------------------------

address = choice({
    0x80: ("numericAddress", p_uint),
    0x81: ("symbolicAddress", p_vstr),
    0x82: ("unconstrainedAddress", p_oct),
})


_explicit_address = explicit(address)


def render_address(addr: dict) -> str:
    (v,) = addr.values()
    return f"#{v}"


# ---------------------------------------------------------------------------------
# VariableSpecification / AlternateAccess / VariableAccessSpecification (14.2)
# ---------------------------------------------------------------------------------

def _type_spec(buf, t, cs, ce, d=0):
    from .data import type_specification  # late: data imports this module
    return type_specification(buf, t, cs, ce, d)


def _variable_description(buf, t, cs, ce, d=0):
    need_constructed(t, cs)
    ch = kids(buf, cs, ce)
    if len(ch) != 2:
        raise Malformed("variableDescription needs address and typeSpecification", cs, "mms",
                        code="mms.malformed.variable_description")
    (t1, a1, b1), (t2, a2, b2) = ch
    return {"address": address(buf, t1, a1, b1, d + 1),
            "typeSpecification": _type_spec(buf, t2, a2, b2, d + 1)}


def variable_specification(buf, t, cs, ce, d=0) -> dict:
    """VariableSpecification CHOICE -> ``{'name': ObjectName}`` etc."""
    if d > MAX_DEPTH:
        raise too_deep(cs)
    if t == 0xA0:
        ch = kids(buf, cs, ce)
        if len(ch) != 1:
            raise Malformed("name must hold one ObjectName", cs, "mms",
                            code="mms.malformed.object_name")
        ct, a, b = ch[0]
        return {"name": object_name(buf, ct, a, b)}
    if t == 0xA1:
        return {"address": _explicit_address(buf, t, cs, ce, d)}
    if t == 0xA2:
        return {"variableDescription": _variable_description(buf, t, cs, ce, d)}
    if t == 0xA3:
        return {"scatteredAccessDescription": scattered_access_description(buf, t, cs, ce, d + 1)}
    if t == 0x84:
        return {"invalidated": p_null(buf, t, cs, ce)}
    raise Malformed(f"{tag_key(t)} is not a VariableSpecification alternative", cs, "mms",
                    code="mms.malformed.variable_specification")


def render_variable(vs: dict) -> str | None:
    on = vs.get("name")
    if on is not None:
        return render_name(on)
    addr = vs.get("address")
    if addr is not None:
        return render_address(addr)
    return None


_INDEX_RANGE = seq({0x80: ("lowIndex", p_uint), 0x81: ("numberOfElements", p_uint)})

_SELECT_ACCESS = {
    0x81: ("component", p_vstr),
    0x82: ("index", p_uint),
    0xA3: ("indexRange", _INDEX_RANGE),
    0x84: ("allElements", p_null),
}
_ACCESS_SELECTION = {
    0x80: ("component", p_vstr),
    0x81: ("index", p_uint),
    0xA2: ("indexRange", _INDEX_RANGE),
    0x83: ("allElements", p_null),
}


def _alt_selection(buf, t, cs, ce, d):
    """AlternateAccessSelection CHOICE."""
    if t == 0xA0:   # selectAlternateAccess [0] IMPLICIT SEQUENCE {accessSelection, alternateAccess}
        out = {}
        for ct, a, b in kids(buf, cs, ce):
            f = _ACCESS_SELECTION.get(ct)
            if f is not None:
                out["accessSelection"] = {f[0]: f[1](buf, ct, a, b, d + 1)}
            elif ct == 0x30:
                out["alternateAccess"] = alternate_access(buf, ct, a, b, d + 1)
            else:
                out[tag_key(ct)] = generic(buf, ct, a, b, d + 1)
        return {"selectAlternateAccess": out}
    f = _SELECT_ACCESS.get(t)
    if f is None:
        raise Malformed(f"{tag_key(t)} is not an AlternateAccessSelection", cs, "mms",
                        code="mms.malformed.alternate_access")
    return {"selectAccess": {f[0]: f[1](buf, t, cs, ce, d + 1)}}


def alternate_access(buf, t, cs, ce, d=0) -> list:
    """AlternateAccess ::= SEQUENCE OF CHOICE { unnamed ..., named [5] ... }."""
    if d > MAX_DEPTH:
        raise too_deep(cs)
    out = []
    for ct, a, b in kids(buf, cs, ce):
        if ct == 0xA5:
            item = {}
            for nt, x, y in kids(buf, a, b):
                if nt == 0x80:
                    item["componentName"] = p_vstr(buf, nt, x, y)
                else:
                    item["access"] = _alt_selection(buf, nt, x, y, d + 1)
            out.append({"named": item})
        else:
            out.append({"unnamed": _alt_selection(buf, ct, a, b, d + 1)})
    return out


def _list_of_variable(buf, cs, ce, d, names):
    """SEQUENCE OF SEQUENCE {variableSpecification, alternateAccess [5] OPTIONAL}."""
    out = []
    for st, a, b in kids(buf, cs, ce):
        if st != 0x30:
            raise Malformed(f"listOfVariable item {tag_key(st)} is not a SEQUENCE", a, "mms",
                            code="mms.malformed.list_of_variable")
        ch = kids(buf, a, b)
        if not ch:
            raise Malformed("empty listOfVariable item", a, "mms",
                            code="mms.malformed.list_of_variable")
        vt, x, y = ch[0]
        vs = variable_specification(buf, vt, x, y, d + 1)
        item = {"variableSpecification": vs}
        for at, x, y in ch[1:]:
            if at == 0xA5:
                item["alternateAccess"] = alternate_access(buf, at, x, y, d + 1)
            else:
                item[tag_key(at)] = generic(buf, at, x, y, d + 1)
        out.append(item)
        if names is not None:
            n = render_variable(vs)
            if n is not None:
                names.append(n)
    return out


def list_of_variable(buf, t, cs, ce, d=0) -> list:
    need_constructed(t, cs)
    return _list_of_variable(buf, cs, ce, d, None)


def variable_access_specification(buf, t, cs, ce, d, names: list | None = None) -> dict:
    """VariableAccessSpecification CHOICE; appends rendered names to ``names``."""
    if t == 0xA0:
        return {"listOfVariable": _list_of_variable(buf, cs, ce, d, names)}
    if t == 0xA1:
        ch = kids(buf, cs, ce)
        if len(ch) != 1:
            raise Malformed("variableListName must hold one ObjectName", cs, "mms",
                            code="mms.malformed.object_name")
        ct, a, b = ch[0]
        on = object_name(buf, ct, a, b)
        if names is not None:
            names.append(render_name(on))
        return {"variableListName": on}
    raise Malformed(f"{tag_key(t)} is not a VariableAccessSpecification alternative", cs,
                    "mms", code="mms.malformed.variable_access_specification")


def scattered_access_description(buf, t, cs, ce, d=0) -> list:
    """ScatteredAccessDescription ::= SEQUENCE OF SEQUENCE {componentName [0] OPTIONAL,
    variableSpecification [1], alternateAccess [2] IMPLICIT OPTIONAL}."""
    if d > MAX_DEPTH:
        raise too_deep(cs)
    out = []
    for st, a, b in kids(buf, cs, ce):
        item = {}
        for ct, x, y in kids(buf, a, b):
            if ct == 0x80:
                item["componentName"] = p_vstr(buf, ct, x, y)
            elif ct == 0xA1:
                ch = kids(buf, x, y)
                if len(ch) != 1:
                    raise Malformed("variableSpecification must hold one element", x, "mms",
                                    code="mms.malformed.variable_specification")
                vt, p, q = ch[0]
                item["variableSpecification"] = variable_specification(buf, vt, p, q, d + 1)
            elif ct == 0xA2:
                item["alternateAccess"] = alternate_access(buf, ct, x, y, d + 1)
            else:
                item[tag_key(ct)] = generic(buf, ct, x, y, d + 1)
        out.append(item)
    return out


#: EventTime ::= CHOICE { timeOfDayT [0] IMPLICIT TimeOfDay, timeSequenceIdentifier [1] Unsigned32 }
event_time = explicit(choice({
    0x80: ("timeOfDayT", p_tod),
    0x81: ("timeSequenceIdentifier", p_uint),
}))
