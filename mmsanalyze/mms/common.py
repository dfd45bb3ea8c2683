"""Shared MMS productions and the small schema combinators the service tables use.

Every *element decoder* has the signature ``fn(buf, tag, cs, ce, d) -> value`` where
``tag`` is the identifier of the TLV whose content is ``buf[cs:ce]`` and ``d`` the
nesting depth (capped at :data:`mmsanalyze.ber.MAX_DEPTH`).  Values are JSON-able
(``str``, ``int``, ``float``, ``bool``, ``None``, lists and dicts keyed by ASN.1
identifiers); octet strings become lowercase hex.

Productions here (ISO 9506-2 clause numbers in brackets): ObjectName [7.5.2],
ApplicationReference [7.5.4], FileName [D.3], Address, VariableSpecification,
AlternateAccess, VariableAccessSpecification, ScatteredAccessDescription [14.2],
TimeOfDay / EventTime.
"""

from __future__ import annotations

from ..ber import read_bitstring, read_binary_time, read_oid
from ..errors import Malformed
from ._tlv import MAX_DEPTH, generic, hexs, kids, tag_key, too_deep

__all__ = [
    "seq", "seq_of", "choice", "explicit", "enum", "string_octets", "p_int", "p_uint", "p_bool", "p_null",
    "p_vstr", "p_gstr", "p_oct", "p_bits", "bits_named", "p_oid", "p_gtime", "p_tod",
    "object_name", "render_name", "app_ref", "file_name", "address", "render_address",
    "variable_specification", "alternate_access", "variable_access_specification",
    "scattered_access_description", "event_time", "identifier",
]


# ---------------------------------------------------------------------------------
# Primitive element decoders
# ---------------------------------------------------------------------------------

def _need_prim(t, cs):
    if t & 0x20:
        raise Malformed(f"constructed encoding {tag_key(t)} of a primitive type", cs, "mms",
                        code="mms.malformed.constructed")


def _need_cons(t, cs):
    if not t & 0x20:
        raise Malformed(f"primitive encoding {tag_key(t)} of a constructed type", cs, "mms",
                        code="mms.malformed.primitive")


def p_int(buf, t, cs, ce, d=0) -> int:
    """INTEGER / Integer8..32 (two's complement)."""
    _need_prim(t, cs)
    if ce <= cs:
        raise Malformed("INTEGER with no content octets", cs, "mms", code="mms.malformed.integer")
    return int.from_bytes(buf[cs:ce], "big", signed=True)


def p_uint(buf, t, cs, ce, d=0) -> int:
    """Unsigned8..32: read as unsigned so a missing leading zero octet does no harm."""
    _need_prim(t, cs)
    if ce <= cs:
        raise Malformed("Unsigned with no content octets", cs, "mms", code="mms.malformed.integer")
    return int.from_bytes(buf[cs:ce], "big")


def p_bool(buf, t, cs, ce, d=0) -> bool:
    _need_prim(t, cs)
    if ce - cs != 1:
        raise Malformed(f"BOOLEAN of {ce - cs} octets", cs, "mms", code="mms.malformed.boolean")
    return buf[cs] != 0


def p_null(buf, t, cs, ce, d=0) -> None:
    _need_prim(t, cs)
    if ce != cs:
        raise Malformed(f"NULL with {ce - cs} content octets", cs, "mms", code="mms.malformed.null")
    return None


def string_octets(buf, t, cs, ce, d=0) -> bytes:
    """Content octets of an OCTET STRING / character string in either BER form.

    X.690 8.7 / 8.23 allow the constructed form: a sequence of segments, each a
    universal-class string TLV (itself primitive or constructed).  MMS peers almost
    always use the primitive form; tshark accepts both, so do we.
    """
    if not t & 0x20:
        return bytes(buf[cs:ce])
    if d > MAX_DEPTH:
        raise too_deep(cs)
    parts = []
    for ct, a, b in kids(buf, cs, ce):
        if ct & 0xC0 or ct & 0x1F == 0x1F:
            raise Malformed(f"segment {tag_key(ct)} of a constructed string is not universal", a,
                            "mms", code="mms.malformed.string_segment")
        parts.append(string_octets(buf, ct, a, b, d + 1))
    return b"".join(parts)


def p_vstr(buf, t, cs, ce, d=0) -> str:
    """VisibleString / Identifier (latin-1 keeps every octet)."""
    if t & 0x20:
        return string_octets(buf, t, cs, ce, d).decode("latin-1")
    return bytes(buf[cs:ce]).decode("latin-1")


identifier = p_vstr


def p_gstr(buf, t, cs, ce, d=0) -> str:
    """GraphicString (file names): UTF-8 when valid, else latin-1."""
    raw = string_octets(buf, t, cs, ce, d)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def p_oct(buf, t, cs, ce, d=0) -> str:
    """OCTET STRING as lowercase hex."""
    if t & 0x20:
        return string_octets(buf, t, cs, ce, d).hex()
    return hexs(buf, cs, ce)


def p_bits(buf, t, cs, ce, d=0) -> dict:
    """BIT STRING without named bits: ``{'bits': '0101...'}`` (bit 0 first)."""
    _need_prim(t, cs)
    value, nbits = read_bitstring(buf, cs, ce)
    return {"bits": format(value, f"0{nbits}b") if nbits else ""}


def bits_named(names):
    """BIT STRING with named bits -> list of the names of the set bits (``bitN`` if unnamed)."""
    def dec(buf, t, cs, ce, d=0):
        _need_prim(t, cs)
        value, nbits = read_bitstring(buf, cs, ce)
        out = []
        for i in range(nbits):
            if value >> (nbits - 1 - i) & 1:
                out.append(names[i] if i < len(names) else f"bit{i}")
        return out
    return dec


def p_oid(buf, t, cs, ce, d=0) -> str:
    _need_prim(t, cs)
    return read_oid(buf, cs, ce)


def p_gtime(buf, t, cs, ce, d=0) -> str:
    """GeneralizedTime as its text."""
    return string_octets(buf, t, cs, ce, d).decode("ascii", "replace")


def p_tod(buf, t, cs, ce, d=0) -> dict:
    """TimeOfDay (4 or 6 octets): ``{'epoch': s|None, 'ms_of_day': ms, 'days': n|None}``."""
    _need_prim(t, cs)
    epoch, ms, days = read_binary_time(buf, cs, ce)
    return {"epoch": epoch, "ms_of_day": ms, "days": days}


_STRING_DECODERS = frozenset({p_vstr, p_gstr, p_oct, p_gtime})


def enum(table):
    """INTEGER with named values -> the name (the integer itself when unnamed)."""
    def dec(buf, t, cs, ce, d=0):
        v = p_int(buf, t, cs, ce)
        return table.get(v, v)
    return dec


# ---------------------------------------------------------------------------------
# Constructed combinators (dispatch dicts keyed by the full identifier)
# ---------------------------------------------------------------------------------

def _with_constructed_strings(fields: dict) -> dict:
    """Also accept the constructed (segmented) BER form of IMPLICIT string components."""
    out = dict(fields)
    for tag, (name, fn) in fields.items():
        if fn in _STRING_DECODERS and not tag & 0x20 and (tag | 0x20) not in out:
            out[tag | 0x20] = (name, fn)
    return out


def seq(fields: dict, defaults: dict | None = None):
    """SEQUENCE / SET whose components are told apart by tag.

    ``fields`` maps identifier -> ``(name, element decoder)``.  An unknown component
    is kept as a generic tree under ``'[n]'``; ``defaults`` fills DEFAULT components
    that were absent (only used where the default matters, e.g. ``moreFollows``).
    """
    fields = _with_constructed_strings(fields)

    def dec(buf, t, cs, ce, d=0):
        _need_cons(t, cs)
        if d > MAX_DEPTH:
            raise too_deep(cs)
        out = {}
        for ct, a, b in kids(buf, cs, ce):
            f = fields.get(ct)
            if f is None:
                out[tag_key(ct)] = generic(buf, ct, a, b, d + 1)
            else:
                out[f[0]] = f[1](buf, ct, a, b, d + 1)
        if defaults:
            for k, v in defaults.items():
                out.setdefault(k, v)
        return out
    return dec


def seq_of(elem):
    """SEQUENCE OF: list of ``elem`` applied to each component."""
    def dec(buf, t, cs, ce, d=0):
        _need_cons(t, cs)
        if d > MAX_DEPTH:
            raise too_deep(cs)
        return [elem(buf, ct, a, b, d + 1) for ct, a, b in kids(buf, cs, ce)]
    return dec


def choice(alts: dict):
    """CHOICE decided by the identifier of this TLV: ``{alternative name: value}``."""
    alts = _with_constructed_strings(alts)

    def dec(buf, t, cs, ce, d=0):
        f = alts.get(t)
        if f is None:
            return {tag_key(t): generic(buf, t, cs, ce, d)}
        return {f[0]: f[1](buf, t, cs, ce, d)}
    return dec


def explicit(elem):
    """EXPLICIT tag (and the tag of an untagged CHOICE under a context tag): one inner TLV."""
    def dec(buf, t, cs, ce, d=0):
        _need_cons(t, cs)
        if d > MAX_DEPTH:
            raise too_deep(cs)
        ch = kids(buf, cs, ce)
        if len(ch) != 1:
            raise Malformed(f"explicit tag {tag_key(t)} holds {len(ch)} elements, not 1", cs,
                            "mms", code="mms.malformed.explicit")
        ct, a, b = ch[0]
        return elem(buf, ct, a, b, d + 1)
    return dec


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
    _need_cons(t, cs)
    if cs < ce and buf[cs] == 0x30:
        ch = kids(buf, cs, ce)
        if len(ch) == 1:
            ct, a, b = ch[0]
            return _APP_REF(buf, ct, a, b, d + 1)
    return _APP_REF(buf, t, cs, ce, d)


#: FileName ::= SEQUENCE OF GraphicString
def file_name(buf, t, cs, ce, d=0) -> list[str]:
    _need_cons(t, cs)
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
    _need_cons(t, cs)
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
    _need_cons(t, cs)
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
