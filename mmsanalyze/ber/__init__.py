"""Generic BER (X.690) walking by integer offsets over one buffer.

Knows nothing of MMS.  Tags are returned as one ``int``:

* low-tag-number form (number < 31): the identifier octet itself, so
  ``0xA0`` is ``[0] IMPLICIT/EXPLICIT constructed`` and ``0x02`` is INTEGER;
* high-tag-number form: ``(first_octet & 0xE0) | 0x1F | (number << 8)``, so the
  class/constructed bits stay in the low byte and numbers never collide.

Use :func:`ctx`, :func:`tag_number`, :func:`is_constructed` rather than
computing these by hand.

Bounds are this module's job: every reader clamps the ``end`` it is given to the
real length of the buffer, so a caller's generous ``end`` can never make an
``IndexError`` escape.

Indefinite lengths (X.690 8.1.3.6: length octet ``0x80``, contents closed by the
end-of-contents octets ``00 00``) are legal BER, and real peers (an ICCP/TASE.2
stack) send presentation, ACSE and MMS PDUs that way.  The offset walkers need
each element's end before its content, so :func:`read_header` raises
:class:`IndefiniteLength` and the protocol entry points re-encode the unit with
definite lengths once (:func:`definite_tlv`, nesting bounded by :data:`MAX_DEPTH`,
output no larger than the input plus two octets per element) and decode that, as
tshark decodes both forms alike.  Definite-length units, every real IEC 61850
PDU, never pay for this.
"""

from __future__ import annotations

import struct

from ..errors import DecodeError, Malformed, Truncated


class IndefiniteLength(Malformed):
    """An element with the indefinite length form (X.690 8.1.3.6), met by a reader that needs
    definite lengths; the protocol entry points catch it and decode :func:`definite_tlv`'s
    re-encoding instead.  Code ``ber.malformed.indefinite_length``."""

__all__ = [
    "MAX_DEPTH", "CONSTRUCTED", "CLASS_MASK", "UNIVERSAL", "APPLICATION", "CONTEXT",
    "PRIVATE", "ctx", "app", "tag_number", "tag_class", "is_constructed", "tag_name",
    "IndefiniteLength", "read_header", "read_header_lenient", "definite_tlv", "children", "children_clamped", "read_int", "read_uint", "read_bool", "read_bitstring",
    "read_oid", "read_str", "read_float", "read_utc_time", "read_binary_time",
    "read_generalized_time", "bits_to_names",
]

#: Deepest nesting any decoder will follow.  IEC 61850 data models nest ~10 deep;
#: 64 leaves room for any real model and keeps Python recursion well bounded.
MAX_DEPTH = 64
#: Longest length field we accept (4 octets = 4 GiB); longer is hostile.
MAX_LENGTH_OCTETS = 4

CONSTRUCTED = 0x20
CLASS_MASK = 0xC0
UNIVERSAL, APPLICATION, CONTEXT, PRIVATE = 0x00, 0x40, 0x80, 0xC0


def ctx(number: int, constructed: bool = False) -> int:
    """Tag value of context-specific ``[number]``."""
    return _mk(CONTEXT, number, constructed)


def app(number: int, constructed: bool = False) -> int:
    """Tag value of ``[APPLICATION number]``."""
    return _mk(APPLICATION, number, constructed)


def _mk(cls: int, number: int, constructed: bool) -> int:
    c = CONSTRUCTED if constructed else 0
    if number < 31:
        return cls | c | number
    return cls | c | 0x1F | (number << 8)


def tag_number(tag: int) -> int:
    return tag >> 8 if tag > 0xFF else tag & 0x1F


def tag_class(tag: int) -> int:
    return tag & CLASS_MASK


def is_constructed(tag: int) -> bool:
    return bool(tag & CONSTRUCTED)


_CLASS_NAMES = {UNIVERSAL: "UNIVERSAL ", APPLICATION: "APPLICATION ", CONTEXT: "", PRIVATE: "PRIVATE "}


def tag_name(tag: int) -> str:
    """Human form such as ``[1]``, ``[APPLICATION 0]``, ``[UNIVERSAL 2]``."""
    return f"[{_CLASS_NAMES[tag & CLASS_MASK]}{tag_number(tag)}]"


def read_header(buf, off: int, end: int) -> tuple[int, int, int]:
    """Read one identifier + length at ``off``.

    Returns ``(tag, content_start, content_end)``; the content must fit before
    ``end`` (clamped to ``len(buf)``).  Raises :class:`Truncated` when the buffer ends
    first, :class:`IndefiniteLength` for the indefinite form and :class:`Malformed`
    for a hostile length.
    """
    n = len(buf)
    if end > n:
        end = n
    if off < 0:
        raise Malformed(f"negative BER offset {off}", off, "ber")
    if off >= end:
        raise Truncated("missing BER identifier", off, "ber")
    b = buf[off]
    off += 1
    if b & 0x1F == 0x1F:
        num = 0
        for _ in range(4):
            if off >= end:
                raise Truncated("BER tag number cut short", off, "ber")
            c = buf[off]
            off += 1
            num = (num << 7) | (c & 0x7F)
            if not c & 0x80:
                break
        else:
            raise Malformed("BER tag number longer than 4 octets", off, "ber")
        tag = (b & 0xE0) | 0x1F | (num << 8) if num >= 31 else (b & 0xE0) | num
    else:
        tag = b
    if off >= end:
        raise Truncated("missing BER length", off, "ber")
    n = buf[off]
    off += 1
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise IndefiniteLength("indefinite BER length", off - 1, "ber",
                                   code="ber.malformed.indefinite_length")
        if k > MAX_LENGTH_OCTETS:
            raise Malformed(f"BER length of {k} octets", off - 1, "ber", code="ber.malformed.length")
        if off + k > end:
            raise Truncated("BER length cut short", off, "ber")
        n = int.from_bytes(buf[off:off + k], "big")
        off += k
    cend = off + n
    if cend > end:
        raise Truncated(f"BER length {n} exceeds the {end - off} octets left", off, "ber",
                        code="ber.truncated.length")
    return tag, off, cend


def children(buf, off: int, end: int):
    """Yield ``(tag, content_start, content_end)`` of each TLV in ``buf[off:end]``."""
    while off < end:
        tag, cs, ce = read_header(buf, off, end)
        yield tag, cs, ce
        off = ce


def read_header_lenient(buf, off: int, end: int):
    """:func:`read_header` that decodes on past a length overrunning ``end``.

    Returns ``(tag, content_start, content_end, problem)``: when the element's length
    runs past ``end`` (a cut or altered unit) the content is clamped to ``end`` and
    ``problem`` is the :class:`Truncated` error saying so (else None).  Errors in the
    identifier or length octets themselves are raised.  This is the one "decode what
    is there" helper of the OSI envelopes, GOOSE and SV (Wireshark, too, dissects the
    fields of an element whose length overruns and flags the overrun).
    """
    end = min(end, len(buf))
    try:
        tag, cs, ce = read_header(buf, off, end)
        return tag, cs, ce, None
    except Truncated as err:
        if err.code != "ber.truncated.length":
            raise
        cs = _content_start(buf, off, end)
        if cs is None:
            raise
        return _tag_of(buf, off, cs), cs, end, err


def children_clamped(buf, off: int, end: int, problems: list):
    """Like :func:`children`, but an element whose length overruns ``end`` is cut at ``end``
    (and a ``(offset, message)`` appended to ``problems``) instead of raising.

    For the outer OSI envelopes only, where Wireshark, too, decodes what is there of a
    cut or altered unit; the element's own decoder then meets the short content.
    """
    end = min(end, len(buf))
    while off < end:
        try:
            tag, cs, ce, problem = read_header_lenient(buf, off, end)
        except Truncated as err:
            problems.append((off, str(err)))
            return
        if problem is not None:
            problems.append((off, str(problem)))
        yield tag, cs, ce
        if problem is not None:
            return
        off = ce


def _content_start(buf, off: int, end: int):
    """Offset after the identifier and length octets at ``off``, or None if they do not fit."""
    i = off + 1
    if buf[off] & 0x1F == 0x1F:
        while i < end and buf[i] & 0x80:
            i += 1
        i += 1
    if i >= end:
        return None
    n = buf[i]
    i += 1
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > MAX_LENGTH_OCTETS:
            return None
        i += k
    return i if i <= end else None


def _tag_of(buf, off: int, cs: int) -> int:
    b = buf[off]
    if b & 0x1F != 0x1F:
        return b
    num = 0
    for i in range(off + 1, cs):
        c = buf[i]
        num = (num << 7) | (c & 0x7F)
        if not c & 0x80:
            break
    return (b & 0xE0) | 0x1F | (num << 8) if num >= 31 else (b & 0xE0) | num


# ---------------------------------------------------------------------------------
# Indefinite lengths (X.690 8.1.3.6)
# ---------------------------------------------------------------------------------

def _length_octets(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    k = (n.bit_length() + 7) // 8
    return bytes((0x80 | k,)) + n.to_bytes(k, "big")


def _identifier_end(buf, off: int, end: int) -> int:
    i = off + 1
    if buf[off] & 0x1F == 0x1F:
        for _ in range(4):
            if i >= end:
                raise Truncated("BER tag number cut short", i, "ber")
            i += 1
            if not buf[i - 1] & 0x80:
                break
        else:
            raise Malformed("BER tag number longer than 4 octets", i, "ber")
    if i >= end:
        raise Truncated("missing BER length", i, "ber")
    return i


def _definite(buf, off: int, end: int, depth: int, out: bytearray, until_eoc: bool) -> tuple[int, bool]:
    """Re-encode the TLVs of ``buf[off:end]`` into ``out`` with definite lengths.

    With ``until_eoc`` the walk stops after the end-of-contents octets (returning the
    offset after them); without, at ``end``.  Returns ``(offset, found_indefinite)``.
    """
    found = False
    while off < end:
        if until_eoc and buf[off] == 0:
            if off + 1 >= end:
                raise Truncated("end-of-contents octets cut short", off, "ber",
                                code="ber.truncated.indefinite_length")
            if buf[off + 1] == 0:
                return off + 2, found
            raise Malformed("end-of-contents octets with a non-zero length", off, "ber",
                            code="ber.malformed.eoc")
        i = _identifier_end(buf, off, end)
        n = buf[i]
        if n == 0x80:
            if not buf[off] & 0x20:
                raise Malformed("indefinite length on a primitive element", i, "ber",
                                code="ber.malformed.indefinite_length")
            if depth >= MAX_DEPTH:
                raise Malformed(f"indefinite lengths nested deeper than {MAX_DEPTH} levels", off, "ber",
                                code="ber.malformed.nesting")
            sub = bytearray()
            nxt, _ = _definite(buf, i + 1, end, depth + 1, sub, True)
            out += buf[off:i]
            out += _length_octets(len(sub))
            out += sub
            off = nxt
            found = True
            continue
        tag, cs, ce = read_header(buf, off, end)
        if buf[off] & 0x20 and ce > cs and depth < MAX_DEPTH and 0x80 in buf[cs:ce]:
            sub = bytearray()
            try:
                _, inner = _definite(buf, cs, ce, depth + 1, sub, False)
            except DecodeError:
                inner = False        # content that is not plain TLVs: keep it as it is
            if inner:
                out += buf[off:i]
                out += _length_octets(len(sub))
                out += sub
                off = ce
                found = True
                continue
        out += buf[off:ce]
        off = ce
    if until_eoc:
        raise Truncated("indefinite length without its end-of-contents octets", off, "ber",
                        code="ber.truncated.indefinite_length")
    return off, found


def definite_tlv(buf, off: int = 0, end: int | None = None):
    """Re-encode the element at ``off`` with definite lengths only.

    Returns ``(octets, element_end)`` -- the re-encoded element and the offset just
    past the original one (after its end-of-contents octets) -- or None when the
    element has no indefinite length inside (nothing to do).  Raises
    :class:`DecodeError` when an indefinite element is not closed before ``end`` or
    nests deeper than :data:`MAX_DEPTH`.  Nested definite elements are walked only
    when their content holds an ``0x80`` octet, so the cost is one pass per level.
    """
    end = len(buf) if end is None else min(end, len(buf))
    if off >= end:
        return None
    out = bytearray()
    i = _identifier_end(buf, off, end)
    if buf[i] == 0x80:
        if not buf[off] & 0x20:
            raise Malformed("indefinite length on a primitive element", i, "ber",
                            code="ber.malformed.indefinite_length")
        sub = bytearray()
        nxt, _ = _definite(buf, i + 1, end, 1, sub, True)
        return bytes(buf[off:i]) + _length_octets(len(sub)) + bytes(sub), nxt
    if not buf[off] & 0x20:
        return None
    try:
        tag, cs, ce = read_header(buf, off, end)
        _, found = _definite(buf, cs, ce, 1, out, False)
    except DecodeError:
        return None          # not plain BER inside: the decoder's own error stands
    if not found:
        return None
    return bytes(buf[off:i]) + _length_octets(len(out)) + bytes(out), ce


def read_int(buf, off: int, end: int) -> int:
    """Two's-complement INTEGER content (X.690 8.3)."""
    if end <= off:
        raise Malformed("INTEGER with no content octets", off, "ber", code="ber.malformed.integer")
    return int.from_bytes(buf[off:end], "big", signed=True)


def read_uint(buf, off: int, end: int) -> int:
    """Unsigned content (MMS Unsigned, GOOSE stNum...); an empty one is malformed."""
    if end <= off:
        raise Malformed("Unsigned with no content octets", off, "ber", code="ber.malformed.integer")
    return int.from_bytes(buf[off:end], "big")


def read_bool(buf, off: int, end: int) -> bool:
    if end - off != 1:
        raise Malformed(f"BOOLEAN of {end - off} octets", off, "ber", code="ber.malformed.boolean")
    return buf[off] != 0


def read_bitstring(buf, off: int, end: int) -> tuple[int, int]:
    """BIT STRING content -> ``(value, nbits)``; bit 0 is the most significant bit."""
    if end <= off:
        raise Malformed("BIT STRING with no content octets", off, "ber", code="ber.malformed.bitstring")
    unused = buf[off]
    if unused > 7 or (unused and end - off == 1):
        raise Malformed(f"BIT STRING with {unused} unused bits", off, "ber", code="ber.malformed.bitstring")
    nbits = (end - off - 1) * 8 - unused
    value = int.from_bytes(buf[off + 1:end], "big") >> unused if end - off > 1 else 0
    return value, nbits


def bits_to_names(value: int, nbits: int, names) -> list[str]:
    """Names of the set bits (bit 0 = MSB) of a BIT STRING; unknown bits as ``bitN``."""
    out = []
    for i in range(nbits):
        if value >> (nbits - 1 - i) & 1:
            out.append(names[i] if i < len(names) else f"bit{i}")
    return out


def read_oid(buf, off: int, end: int) -> str:
    """OBJECT IDENTIFIER content as dotted text (X.690 8.19)."""
    if end <= off:
        raise Malformed("OBJECT IDENTIFIER with no content", off, "ber", code="ber.malformed.oid")
    arcs = []
    v = 0
    for i in range(off, end):
        c = buf[i]
        v = (v << 7) | (c & 0x7F)
        if not c & 0x80:
            arcs.append(v)
            v = 0
    if buf[end - 1] & 0x80:
        raise Malformed("OBJECT IDENTIFIER ends inside an arc", end - 1, "ber", code="ber.malformed.oid")
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def read_str(buf, off: int, end: int, encoding: str = "latin-1") -> str:
    """VisibleString / IA5 (latin-1 keeps every octet) or UTF8String (``encoding='utf-8'``)."""
    return bytes(buf[off:end]).decode(encoding, "replace")


_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")


def read_float(buf, off: int, end: int) -> float:
    """MMS FloatingPoint: one exponent-width octet then IEEE 754 single or double."""
    n = end - off
    if n == 5:
        return _F32.unpack_from(buf, off + 1)[0]
    if n == 9:
        return _F64.unpack_from(buf, off + 1)[0]
    raise Malformed(f"FloatingPoint of {n} octets", off, "ber", code="ber.malformed.float")


def read_utc_time(buf, off: int, end: int) -> tuple[float, int, int]:
    """IEC 61850-8-1 UtcTime (8 octets): ``(epoch_seconds, fraction_24bit, quality_octet)``."""
    if end - off != 8:
        raise Malformed(f"UtcTime of {end - off} octets", off, "ber", code="ber.malformed.utctime")
    secs = int.from_bytes(buf[off:off + 4], "big")
    frac = int.from_bytes(buf[off + 4:off + 7], "big")
    return secs + frac / 16777216.0, frac, buf[off + 7]


_MMS_EPOCH_DAYS = 5113  # days from 1970-01-01 to MMS epoch 1984-01-01


def read_binary_time(buf, off: int, end: int) -> tuple[float | None, int, int | None]:
    """MMS TimeOfDay (4 or 6 octets): ``(epoch_seconds or None, ms_of_day, days_since_1984 or None)``."""
    n = end - off
    if n not in (4, 6):
        raise Malformed(f"TimeOfDay of {n} octets", off, "ber", code="ber.malformed.binarytime")
    ms = int.from_bytes(buf[off:off + 4], "big")
    if n == 4:
        return None, ms, None
    days = int.from_bytes(buf[off + 4:off + 6], "big")
    return (days + _MMS_EPOCH_DAYS) * 86400 + ms / 1000.0, ms, days


def read_generalized_time(buf, off: int, end: int) -> str:
    return bytes(buf[off:end]).decode("ascii", "replace")
