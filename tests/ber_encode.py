"""A tiny BER (X.690) TLV encoder for building MMS test vectors.

Test-side only: independent of the decoder, deliberately simple.  Tags are given as
``(class_and_constructed_bits, number)`` pairs or as a single identifier octet for the
low-tag-number form::

    tlv(0xA0, ...)             # [0] constructed, one identifier octet
    tlv((0x80, 73), ...)       # [73] primitive  -> 9f 49
    ctx(73, b"\\x01")           # same thing
    ctx(1, seq_bytes, True)    # [1] constructed -> a1

Data helpers encode the typed form the decoder produces in ``MmsPdu.detail``
(``{'structure': [{'integer': 5}, ...]}``) so property tests can round-trip it.
"""

from __future__ import annotations

import struct


def length(n: int, long_form_min: int = 0) -> bytes:
    """Definite length octets; ``long_form_min`` forces at least that many length octets."""
    if n < 0x80 and not long_form_min:
        return bytes([n])
    body = n.to_bytes(max(1, (n.bit_length() + 7) // 8, long_form_min), "big")
    return bytes([0x80 | len(body)]) + body


def ident(tag) -> bytes:
    if isinstance(tag, int):
        return bytes([tag])
    bits, num = tag
    if num < 31:
        return bytes([bits | num])
    out = [num & 0x7F]
    num >>= 7
    while num:
        out.append(0x80 | (num & 0x7F))
        num >>= 7
    return bytes([bits | 0x1F]) + bytes(reversed(out))


def tlv(tag, content: bytes = b"", long_form_min: int = 0) -> bytes:
    return ident(tag) + length(len(content), long_form_min) + content


def ctx(num: int, content: bytes = b"", constructed: bool = False) -> bytes:
    return tlv((0xA0 if constructed else 0x80, num), content)


def cons(num: int, *parts: bytes) -> bytes:
    return ctx(num, b"".join(parts), True)


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def int_content(v: int) -> bytes:
    n = max(1, (v + (v < 0)).bit_length() // 8 + 1)
    return v.to_bytes(n, "big", signed=True)


def uint_content(v: int) -> bytes:
    """MMS Unsigned is an INTEGER: minimal two's complement of a non-negative value."""
    return int_content(v)


def integer(v: int) -> bytes:
    return tlv(0x02, int_content(v))


def vstr(s: str) -> bytes:
    return tlv(0x1A, s.encode("latin-1"))


def gstr(s: str) -> bytes:
    return tlv(0x19, s.encode("utf-8"))


def bits_content(bits: str) -> bytes:
    n = len(bits)
    if n == 0:
        return b"\x00"
    nbytes = (n + 7) // 8
    unused = nbytes * 8 - n
    return bytes([unused]) + (int(bits, 2) << unused).to_bytes(nbytes, "big")


def bits_from_names(names, table) -> str:
    """Bit string (as '0'/'1' text) with the bits of ``names`` set, sized to ``table``."""
    return "".join("1" if n in names else "0" for n in table)


def oid_content(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    first = arcs[0] * 40 + arcs[1]
    out = b""
    for a in [first] + arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(chunk))
    return out


# --------------------------------------------------------------------------- MMS

def object_name(name: str) -> bytes:
    """'D/I' -> domain-specific, '@I' -> aa-specific, 'I' -> vmd-specific."""
    if name.startswith("@"):
        return ctx(2, name[1:].encode("latin-1"))
    if "/" in name:
        d, i = name.split("/", 1)
        return cons(1, vstr(d), vstr(i))
    return ctx(0, name.encode("latin-1"))


def file_name(*parts: str) -> bytes:
    """FileName content (SEQUENCE OF GraphicString) -- wrap with an IMPLICIT tag."""
    return b"".join(gstr(p) for p in parts)


def list_of_variable(*names: str) -> bytes:
    """VariableAccessSpecification listOfVariable [0] of named variables."""
    return cons(0, *(seq(cons(0, object_name(n))) for n in names))


def variable_list_name(name: str) -> bytes:
    return cons(1, object_name(name))


def utc_content(secs: int, frac: int, quality: int) -> bytes:
    return secs.to_bytes(4, "big") + frac.to_bytes(3, "big") + bytes([quality])


def data(typed: dict) -> bytes:
    """Encode one Data value given in the decoder's typed form ``{'<type>': value}``."""
    (kind, v), = typed.items()
    if kind == "structure":
        return ctx(2, b"".join(data(x) for x in v), True)
    if kind == "array":
        return ctx(1, b"".join(data(x) for x in v), True)
    if kind == "boolean":
        return ctx(3, b"\xff" if v else b"\x00")
    if kind == "bit-string":
        return ctx(4, bits_content(v["bits"]))
    if kind == "integer":
        return ctx(5, int_content(v))
    if kind == "unsigned":
        return ctx(6, uint_content(v))
    if kind == "floating-point":
        try:
            f32 = struct.pack(">f", v)
        except OverflowError:
            f32 = None
        if f32 is not None and struct.unpack(">f", f32)[0] == v:
            return ctx(7, b"\x08" + f32)
        return ctx(7, b"\x0b" + struct.pack(">d", v))
    if kind == "octet-string":
        return ctx(9, bytes.fromhex(v))
    if kind == "visible-string":
        return ctx(10, v.encode("latin-1"))
    if kind == "generalized-time":
        return ctx(11, v.encode("ascii"))
    if kind == "binary-time":
        ms = v["ms_of_day"].to_bytes(4, "big")
        return ctx(12, ms if v["days"] is None else ms + v["days"].to_bytes(2, "big"))
    if kind == "bcd":
        return ctx(13, int_content(v))
    if kind == "booleanArray":
        return ctx(14, bits_content(v["bits"]))
    if kind == "objId":
        return ctx(15, oid_content(v))
    if kind == "mMSString":
        return ctx(16, v.encode("utf-8"))
    if kind == "utc-time":
        secs = round(v["utc"] - v["fraction"] / 16777216.0)
        return ctx(17, utc_content(secs, v["fraction"], v["quality"]))
    raise ValueError(kind)


def confirmed_request(invoke_id: int, service_num: int, body: bytes, constructed: bool = True,
                      modifiers: bytes | None = None) -> bytes:
    parts = integer(invoke_id)
    if modifiers is not None:
        parts += seq(modifiers)
    return ctx(0, parts + ctx(service_num, body, constructed), True)


def confirmed_response(invoke_id: int, service_num: int, body: bytes,
                       constructed: bool = True) -> bytes:
    return ctx(1, integer(invoke_id) + ctx(service_num, body, constructed), True)


def unconfirmed(service_num: int, body: bytes) -> bytes:
    return ctx(3, ctx(service_num, body, True), True)


def service_error(cls: int, code: int, extra: bytes = b"") -> bytes:
    """ServiceError content."""
    return cons(0, ctx(cls, int_content(code))) + extra
