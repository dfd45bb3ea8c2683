"""MMS Data values (ISO 9506-2 14.4.2) and TypeDescription (14.1).

Python form of each Data alternative (what :func:`decode_data` returns and what
``MmsPdu.access_results`` holds):

=====================  ==========================================================
``array`` [1]          ``list`` of element values
``structure`` [2]      ``list`` of component values
``boolean`` [3]        ``bool``
``bit-string`` [4]     ``{'bits': '0101...'}`` -- one character per bit, bit 0
                       first, ``len == nbits`` (see :func:`bitstring_hex`)
``integer`` [5]        ``int`` (two's complement)
``unsigned`` [6]       ``int`` (content read as unsigned)
``floating-point`` [7] ``float`` (IEC 61850 single or double)
``real`` [8]           ``str`` hex of the X.690 REAL content (never seen in practice)
``octet-string`` [9]   ``str`` lowercase hex
``visible-string`` [10] ``str`` (latin-1, every octet kept)
``generalized-time``   ``str`` as sent
``binary-time`` [12]   ``{'epoch': float|None, 'ms_of_day': int, 'days': int|None}``
                       (``epoch``/``days`` only for the 6-octet form; MMS epoch 1984)
``bcd`` [13]           ``int``
``booleanArray`` [14]  ``{'bits': '...'}`` as bit-string
``objId`` [15]         ``str`` dotted OID
``mMSString`` [16]     ``str`` (UTF-8, invalid sequences replaced)
``utc-time`` [17]      ``{'utc': epoch float, 'fraction': 24-bit int, 'quality': int}``
=====================  ==========================================================

In ``MmsPdu.detail`` every Data value is ``{'<alternative>': value}``, with arrays and
structures holding lists of such one-key dicts, so the type is never lost.
"""

from __future__ import annotations

import struct

from ..ber import IndefiniteLength, definite_tlv, read_bitstring, read_binary_time, read_oid
from ..errors import Malformed
from ._tlv import MAX_DEPTH, hdr, kids, tag_key, too_deep
from .common import object_name
from .schema import explicit, need_constructed, p_bool, p_int, p_null, p_uint, p_vstr, string_octets
from .names import DATA_ACCESS_ERRORS

__all__ = ["decode_data", "data_typed", "data_list", "access_result_list", "bitstring_hex",
           "type_specification", "type_description", "explicit_type_specification"]

_F32 = struct.Struct(">f").unpack_from
_F64 = struct.Struct(">d").unpack_from


def _bad(msg, off, what="data"):
    return Malformed(msg, off, "mms", code=f"mms.malformed.{what}")


# Leaf decoders: (buf, cs, ce) -> python value.  Keyed by the identifier octet.

def _int(buf, cs, ce):
    if ce <= cs:
        raise _bad("integer with no content octets", cs)
    return int.from_bytes(buf[cs:ce], "big", signed=True)


def _uint(buf, cs, ce):
    if ce <= cs:
        raise _bad("unsigned with no content octets", cs)
    return int.from_bytes(buf[cs:ce], "big")


def _bool(buf, cs, ce):
    if ce - cs != 1:
        raise _bad(f"boolean of {ce - cs} octets", cs, "boolean")
    return buf[cs] != 0


def _bits(buf, cs, ce):
    value, nbits = read_bitstring(buf, cs, ce)
    return {"bits": format(value, f"0{nbits}b") if nbits else ""}


def _float(buf, cs, ce):
    n = ce - cs
    if n == 5:
        return _F32(buf, cs + 1)[0]
    if n == 9:
        return _F64(buf, cs + 1)[0]
    raise _bad(f"floating-point of {n} octets", cs, "float")


def _hex(buf, cs, ce):
    return bytes(buf[cs:ce]).hex()


def _vstr(buf, cs, ce):
    return bytes(buf[cs:ce]).decode("latin-1")


def _gtime(buf, cs, ce):
    return bytes(buf[cs:ce]).decode("ascii", "replace")


def _btime(buf, cs, ce):
    epoch, ms, days = read_binary_time(buf, cs, ce)
    return {"epoch": epoch, "ms_of_day": ms, "days": days}


def _oid(buf, cs, ce):
    return read_oid(buf, cs, ce)


def _utf8(buf, cs, ce):
    return bytes(buf[cs:ce]).decode("utf-8", "replace")


def _utc(buf, cs, ce):
    if ce - cs != 8:
        raise _bad(f"utc-time of {ce - cs} octets", cs, "utctime")
    secs = int.from_bytes(buf[cs:cs + 4], "big")
    frac = int.from_bytes(buf[cs + 4:cs + 7], "big")
    return {"utc": secs + frac / 16777216.0, "fraction": frac, "quality": buf[cs + 7]}


_LEAF = {
    0x83: ("boolean", _bool), 0x84: ("bit-string", _bits), 0x85: ("integer", _int),
    0x86: ("unsigned", _uint), 0x87: ("floating-point", _float), 0x88: ("real", _hex),
    0x89: ("octet-string", _hex), 0x8A: ("visible-string", _vstr),
    0x8B: ("generalized-time", _gtime), 0x8C: ("binary-time", _btime), 0x8D: ("bcd", _int),
    0x8E: ("booleanArray", _bits), 0x8F: ("objId", _oid), 0x90: ("mMSString", _utf8),
    0x91: ("utc-time", _utc),
}


#: Quality / option bit strings repeat endlessly: content octets -> '0101...' text.
_BITS_CACHE: dict[bytes, str] = {}


def _bit_text(buf, a, b) -> str:
    value, nbits = read_bitstring(buf, a, b)
    return format(value, f"0{nbits}b") if nbits else ""


def data_list(buf, cs: int, ce: int, d: int, results: bool = False) -> tuple[list, list]:
    """SEQUENCE OF Data content -> ``(plain values, typed one-key dicts)``.

    With ``results`` the elements are AccessResults: ``failure [0] DataAccessError``
    is accepted too and becomes ``{'failure': '<name>'}`` in both lists.

    The hot loop of the decoder: headers with a short-form length are parsed inline
    and the commonest IEC 61850 leaves (boolean, integer, unsigned, floating-point,
    bit-string, visible-string, utc-time) are decoded without a function call.
    """
    if d > MAX_DEPTH:
        raise too_deep(cs)
    plain = []
    typed = []
    pa = plain.append
    ta = typed.append
    from_bytes = int.from_bytes
    is_bytes = type(buf) is bytes
    off = cs
    while off < ce:
        t = buf[off]
        # Inline short-form header.  A high-tag-number identifier (low bits 0x1F) is never
        # a Data alternative, so it falls through to _other_leaf, which rejects it.
        if off + 1 < ce and buf[off + 1] < 0x80:
            a = off + 2
            b = a + buf[off + 1]
            if b > ce:
                t, a, b = hdr(buf, off, ce)      # raises Truncated
        else:
            t, a, b = hdr(buf, off, ce)
        if t == 0xA2:
            p, ty = data_list(buf, a, b, d + 1)
            pa(p)
            ta({"structure": ty})
        elif t == 0x84:
            raw = buf[a:b] if is_bytes else bytes(buf[a:b])
            bits = _BITS_CACHE.get(raw)
            if bits is None:
                bits = _bit_text(buf, a, b)
                if len(_BITS_CACHE) < 4096 and b - a <= 8:
                    _BITS_CACHE[raw] = bits
            v = {"bits": bits}
            pa(v)
            ta({"bit-string": v})
        elif t == 0x91:
            if b - a != 8:
                raise _bad(f"utc-time of {b - a} octets", a, "utctime")
            frac = from_bytes(buf[a + 4:a + 7], "big")
            v = {"utc": from_bytes(buf[a:a + 4], "big") + frac / 16777216.0, "fraction": frac,
                 "quality": buf[a + 7]}
            pa(v)
            ta({"utc-time": v})
        elif t == 0x87:
            if b - a == 5:
                v = _F32(buf, a + 1)[0]
            else:
                v = _float(buf, a, b)
            pa(v)
            ta({"floating-point": v})
        elif t == 0x83:
            if b - a != 1:
                raise _bad(f"boolean of {b - a} octets", a, "boolean")
            v = buf[a] != 0
            pa(v)
            ta({"boolean": v})
        elif t == 0x85 or t == 0x86:
            if b <= a:
                raise _bad("integer with no content octets", a)
            v = from_bytes(buf[a:b], "big", signed=t == 0x85)
            pa(v)
            ta({"integer" if t == 0x85 else "unsigned": v})
        elif t == 0x8A:
            v = (buf[a:b] if is_bytes else bytes(buf[a:b])).decode("latin-1")
            pa(v)
            ta({"visible-string": v})
        elif t == 0xA1:
            p, ty = data_list(buf, a, b, d + 1)
            pa(p)
            ta({"array": ty})
        elif t == 0x80 and results:
            code = _int(buf, a, b)
            v = {"failure": DATA_ACCESS_ERRORS.get(code, code)}
            pa(v)
            ta(v)
        else:
            name, v = _other_leaf(buf, t, a, b, d)
            pa(v)
            ta({name: v})
        off = b
    return plain, typed


def access_result_list(buf, cs: int, ce: int, d: int) -> tuple[tuple, list]:
    """SEQUENCE OF AccessResult content -> ``(plain tuple, typed list)``.

    AccessResult ::= CHOICE { failure [0] IMPLICIT DataAccessError, success Data };
    a failure is ``{'failure': '<DataAccessError name>'}`` in both forms.
    """
    plain, typed = data_list(buf, cs, ce, d, True)
    return tuple(plain), typed


#: Data string alternatives that BER also allows in the constructed (segmented) form.
_CONSTRUCTED_STRINGS = {
    0xA9: ("octet-string", lambda raw: raw.hex()),
    0xAA: ("visible-string", lambda raw: raw.decode("latin-1")),
    0xAB: ("generalized-time", lambda raw: raw.decode("ascii", "replace")),
    0xB0: ("mMSString", lambda raw: raw.decode("utf-8", "replace")),
}


def _other_leaf(buf, t, cs, ce, d):
    f = _LEAF.get(t)
    if f is not None:
        return f[0], f[1](buf, cs, ce)
    f = _CONSTRUCTED_STRINGS.get(t)
    if f is not None:
        return f[0], f[1](string_octets(buf, t, cs, ce, d + 1))
    raise _bad(f"{tag_key(t)} is not a Data alternative", cs, "data_tag")


def data_typed(buf, t: int, cs: int, ce: int, d: int = 0) -> tuple[str, object, object]:
    """One Data TLV (identifier ``t``, content ``buf[cs:ce]``) -> ``(type, plain, typed)``."""
    if t == 0xA2 or t == 0xA1:
        p, ty = data_list(buf, cs, ce, d + 1)
        return ("structure" if t == 0xA2 else "array"), p, ty
    name, v = _other_leaf(buf, t, cs, ce, d)
    return name, v, v


def decode_data(buf, off: int, end: int, depth: int = 0) -> tuple[str, object]:
    """Decode the Data TLV at ``buf[off:]`` (it must end by ``end``).

    Returns ``(type_name, value)``: ``type_name`` is the Data CHOICE identifier
    (``'structure'``, ``'floating-point'``, ``'utc-time'`` ...) and ``value`` the Python
    form documented in this module.  Nesting deeper than ``ber.MAX_DEPTH`` raises
    :class:`~mmsanalyze.errors.Malformed` with code ``mms.malformed.nesting``.  A value
    with indefinite lengths (X.690 8.1.3.6) is decoded from its definite re-encoding.
    """
    try:
        t, cs, ce = hdr(buf, off, end)
        name, plain, _ = data_typed(buf, t, cs, ce, depth)
    except IndefiniteLength:
        conv = definite_tlv(buf, off, end)
        if conv is None:
            raise
        t, cs, ce = hdr(conv[0], 0, len(conv[0]))
        name, plain, _ = data_typed(conv[0], t, cs, ce, depth)
    return name, plain


def bitstring_hex(value) -> str:
    """What tshark shows for a bit-string / booleanArray value: the bits padded with zero
    bits to whole octets, as lowercase hex (``{'bits': '0110'}`` -> ``'60'``)."""
    bits = value["bits"] if isinstance(value, dict) else value
    n = len(bits)
    if n == 0:
        return ""
    nbytes = (n + 7) // 8
    return (int(bits, 2) << (nbytes * 8 - n)).to_bytes(nbytes, "big").hex()


# ---------------------------------------------------------------------------------
# TypeSpecification ::= CHOICE { typeName [0] ObjectName, typeDescription TypeDescription }
# TypeDescription ::= CHOICE { array [1], structure [2], boolean [3] NULL,
#   bit-string [4] Integer32, integer [5] Unsigned8, unsigned [6] Unsigned8,
#   floating-point [7] SEQUENCE {format-width Unsigned8, exponent-width Unsigned8},
#   octet-string [9] Integer32, visible-string [10] Integer32, generalized-time [11] NULL,
#   binary-time [12] BOOLEAN, bcd [13] Unsigned8, objId [15] NULL,
#   mMSString [16] Integer32, utc-time [17] NULL }
# ---------------------------------------------------------------------------------

def _float_type(buf, t, cs, ce, d=0):
    need_constructed(t, cs)
    ch = kids(buf, cs, ce)
    if len(ch) != 2:
        raise _bad("floating-point type needs format-width and exponent-width", cs, "type")
    (t1, a1, b1), (t2, a2, b2) = ch
    return {"format-width": p_uint(buf, t1, a1, b1), "exponent-width": p_uint(buf, t2, a2, b2)}


_SIMPLE_TYPES = {
    0x83: ("boolean", p_null), 0x84: ("bit-string", p_int), 0x85: ("integer", p_uint),
    0x86: ("unsigned", p_uint), 0xA7: ("floating-point", _float_type),
    0x89: ("octet-string", p_int), 0x8A: ("visible-string", p_int),
    0x8B: ("generalized-time", p_null), 0x8C: ("binary-time", p_bool), 0x8D: ("bcd", p_uint),
    0x8F: ("objId", p_null), 0x90: ("mMSString", p_int), 0x91: ("utc-time", p_null),
}


def _array_type(buf, t, cs, ce, d):
    out = {"packed": False}
    for ct, a, b in kids(buf, cs, ce):
        if ct == 0x80:
            out["packed"] = p_bool(buf, ct, a, b)
        elif ct == 0x81:
            out["numberOfElements"] = p_uint(buf, ct, a, b)
        elif ct == 0xA2:
            out["elementType"] = _explicit_type(buf, ct, a, b, d + 1)
        else:
            raise _bad(f"unexpected {tag_key(ct)} in array type", a, "type")
    return out


def _structure_type(buf, t, cs, ce, d):
    """structure [2] of a TypeDescription.  The hot path of GetVariableAccessAttributes
    responses (whole logical-node types): component headers are read inline and simple
    component types decoded without going through the CHOICE dispatch."""
    out = {"packed": False}
    for ct, a, b in kids(buf, cs, ce):
        if ct == 0x80:
            out["packed"] = p_bool(buf, ct, a, b)
        elif ct == 0xA1:
            comps = []
            append = comps.append
            off = a
            while off < b:
                _, x, y = hdr(buf, off, b)
                comp = {}
                p = x
                while p < y:
                    nt, pa, pb = hdr(buf, p, y)
                    if nt == 0x80:
                        comp["componentName"] = bytes(buf[pa:pb]).decode("latin-1")
                    elif nt == 0xA1:
                        it, ia, ib = hdr(buf, pa, pb)
                        if ib != pb:
                            raise _bad("typeSpecification followed by extra octets", ib, "type")
                        f = _SIMPLE_TYPES.get(it)
                        if f is not None:
                            comp["componentType"] = {f[0]: f[1](buf, it, ia, ib, d)}
                        else:
                            if d + 1 > MAX_DEPTH:
                                raise too_deep(pa)
                            comp["componentType"] = type_specification(buf, it, ia, ib, d + 1)
                    elif nt == 0xA0 and not comp:
                        # componentName is [0] IMPLICIT Identifier; constructed only in the
                        # segmented string form
                        comp["componentName"] = p_vstr(buf, nt, pa, pb)
                    else:
                        raise _bad(f"unexpected {tag_key(nt)} in structure component", pa, "type")
                    p = pb
                append(comp)
                off = y
            out["components"] = comps
        else:
            raise _bad(f"unexpected {tag_key(ct)} in structure type", a, "type")
    return out


def type_description(buf, t: int, cs: int, ce: int, d: int = 0) -> dict:
    """TypeDescription CHOICE -> ``{'structure': {'packed': False, 'components': [...]}}``,
    ``{'integer': 8}``, ``{'floating-point': {'format-width': 32, 'exponent-width': 8}}`` ..."""
    if d > MAX_DEPTH:
        raise too_deep(cs)
    if t == 0xA2:
        return {"structure": _structure_type(buf, t, cs, ce, d)}
    if t == 0xA1:
        return {"array": _array_type(buf, t, cs, ce, d)}
    f = _SIMPLE_TYPES.get(t)
    if f is None:
        raise _bad(f"{tag_key(t)} is not a TypeDescription alternative", cs, "type")
    return {f[0]: f[1](buf, t, cs, ce, d)}


def type_specification(buf, t: int, cs: int, ce: int, d: int = 0) -> dict:
    """TypeSpecification: ``{'typeName': ObjectName}`` or a TypeDescription dict."""
    if t == 0xA0:
        return {"typeName": explicit(object_name)(buf, t, cs, ce, d)}
    return type_description(buf, t, cs, ce, d)


def _explicit_type(buf, t, cs, ce, d):
    """A [n] TypeSpecification component (EXPLICIT because the type is a CHOICE)."""
    if d > MAX_DEPTH:
        raise too_deep(cs)
    it, a, b = hdr(buf, cs, ce)
    if b != ce:
        raise _bad("typeSpecification followed by extra octets", b, "type")
    return type_specification(buf, it, a, b, d)


#: ``[n] TypeSpecification`` as an element decoder for the service schemas.
explicit_type_specification = _explicit_type
