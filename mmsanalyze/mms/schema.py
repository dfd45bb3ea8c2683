"""Element decoders and schema combinators for MMS productions (internal).

Every *element decoder* has the signature ``fn(buf, tag, cs, ce, d) -> value`` where
``tag`` is the identifier of the TLV whose content is ``buf[cs:ce]`` and ``d`` the
nesting depth (capped at :data:`mmsanalyze.ber.MAX_DEPTH`).  Values are JSON-able
(``str``, ``int``, ``float``, ``bool``, ``None``, lists and dicts keyed by ASN.1
identifiers); octet strings become lowercase hex.

The combinators (:func:`seq`, :func:`seq_of`, :func:`choice`, :func:`explicit`) turn
ASN.1 SEQUENCE / SEQUENCE OF / CHOICE / EXPLICIT tags into element decoders driven by
dispatch dicts keyed by the full identifier, so a service body is a table, not code.
"""

from __future__ import annotations

from ..ber import read_bitstring, read_binary_time, read_oid
from ..errors import Malformed
from ._tlv import MAX_DEPTH, generic, hexs, kids, tag_key, too_deep

__all__ = [
    "seq", "seq_of", "choice", "explicit", "enum", "string_octets", "p_int", "p_uint",
    "p_bool", "p_null", "p_vstr", "p_gstr", "p_oct", "p_bits", "bits_named", "p_oid",
    "p_gtime", "p_tod", "need_constructed", "need_primitive",
]


# ---------------------------------------------------------------------------------
# Primitive element decoders
# ---------------------------------------------------------------------------------

def need_primitive(t, cs):
    if t & 0x20:
        raise Malformed(f"constructed encoding {tag_key(t)} of a primitive type", cs, "mms",
                        code="mms.malformed.constructed")


def need_constructed(t, cs):
    if not t & 0x20:
        raise Malformed(f"primitive encoding {tag_key(t)} of a constructed type", cs, "mms",
                        code="mms.malformed.primitive")


def p_int(buf, t, cs, ce, d=0) -> int:
    """INTEGER / Integer8..32 (two's complement)."""
    need_primitive(t, cs)
    if ce <= cs:
        raise Malformed("INTEGER with no content octets", cs, "mms", code="mms.malformed.integer")
    return int.from_bytes(buf[cs:ce], "big", signed=True)


def p_uint(buf, t, cs, ce, d=0) -> int:
    """Unsigned8..32: read as unsigned so a missing leading zero octet does no harm."""
    need_primitive(t, cs)
    if ce <= cs:
        raise Malformed("Unsigned with no content octets", cs, "mms", code="mms.malformed.integer")
    return int.from_bytes(buf[cs:ce], "big")


def p_bool(buf, t, cs, ce, d=0) -> bool:
    need_primitive(t, cs)
    if ce - cs != 1:
        raise Malformed(f"BOOLEAN of {ce - cs} octets", cs, "mms", code="mms.malformed.boolean")
    return buf[cs] != 0


def p_null(buf, t, cs, ce, d=0) -> None:
    need_primitive(t, cs)
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
    need_primitive(t, cs)
    value, nbits = read_bitstring(buf, cs, ce)
    return {"bits": format(value, f"0{nbits}b") if nbits else ""}


def bits_named(names):
    """BIT STRING with named bits -> list of the names of the set bits (``bitN`` if unnamed)."""
    def dec(buf, t, cs, ce, d=0):
        need_primitive(t, cs)
        value, nbits = read_bitstring(buf, cs, ce)
        out = []
        for i in range(nbits):
            if value >> (nbits - 1 - i) & 1:
                out.append(names[i] if i < len(names) else f"bit{i}")
        return out
    return dec


def p_oid(buf, t, cs, ce, d=0) -> str:
    need_primitive(t, cs)
    return read_oid(buf, cs, ce)


def p_gtime(buf, t, cs, ce, d=0) -> str:
    """GeneralizedTime as its text."""
    return string_octets(buf, t, cs, ce, d).decode("ascii", "replace")


def p_tod(buf, t, cs, ce, d=0) -> dict:
    """TimeOfDay (4 or 6 octets): ``{'epoch': s|None, 'ms_of_day': ms, 'days': n|None}``."""
    need_primitive(t, cs)
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
        need_constructed(t, cs)
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
        need_constructed(t, cs)
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
        need_constructed(t, cs)
        if d > MAX_DEPTH:
            raise too_deep(cs)
        ch = kids(buf, cs, ce)
        if len(ch) != 1:
            raise Malformed(f"explicit tag {tag_key(t)} holds {len(ch)} elements, not 1", cs,
                            "mms", code="mms.malformed.explicit")
        ct, a, b = ch[0]
        return elem(buf, ct, a, b, d + 1)
    return dec
