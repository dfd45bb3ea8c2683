"""Small BER helpers shared by the MMS decoders (internal).

All walk one buffer by integer offsets; none slices ``buf[off:]``.  The header fast
path handles the common case (low tag number, short-form length) inline and falls
back to :func:`mmsanalyze.ber.read_header` for everything else, so errors (and their
codes) are the BER layer's own.
"""

from __future__ import annotations

from ..ber import MAX_DEPTH, read_header
from ..errors import Malformed

__all__ = ["hdr", "kids", "too_deep", "expect_end", "generic", "hexs", "MAX_DEPTH"]


def hdr(buf, off: int, end: int) -> tuple[int, int, int]:
    """``(tag, content_start, content_end)`` of the TLV at ``off`` (see ber.read_header)."""
    if off + 2 <= end:
        t = buf[off]
        n = buf[off + 1]
        if n < 0x80 and t & 0x1F != 0x1F:
            ce = off + 2 + n
            if ce <= end:
                return t, off + 2, ce
    return read_header(buf, off, end)


def kids(buf, off: int, end: int) -> list[tuple[int, int, int]]:
    """All child TLV headers of ``buf[off:end]`` as a list of ``(tag, cs, ce)``."""
    out = []
    append = out.append
    while off < end:
        t = buf[off]
        if off + 2 <= end and t & 0x1F != 0x1F:
            n = buf[off + 1]
            if n < 0x80:
                ce = off + 2 + n
                if ce <= end:
                    append((t, off + 2, ce))
                    off = ce
                    continue
        h = read_header(buf, off, end)
        append(h)
        off = h[2]
    return out


def too_deep(off: int) -> Malformed:
    return Malformed(f"nesting deeper than {MAX_DEPTH} levels", off, "mms",
                     code="mms.malformed.nesting")


def expect_end(pos: int, end: int, what: str) -> None:
    if pos != end:
        raise Malformed(f"{end - pos} unexpected octets after {what}", pos, "mms",
                        code="mms.malformed.trailing")


def hexs(buf, cs: int, ce: int) -> str:
    return bytes(buf[cs:ce]).hex()


def generic(buf, tag: int, cs: int, ce: int, d: int = 0):
    """A tag/value tree for content we have no schema for.

    Primitive content becomes its hex string; constructed content becomes a list of
    one-key dicts ``{'[n]': subtree}`` (``[UNIVERSAL n]`` / ``[APPLICATION n]`` for
    other classes), in order.
    """
    if not tag & 0x20:
        return hexs(buf, cs, ce)
    if d > MAX_DEPTH:
        raise too_deep(cs)
    out = []
    for t, a, b in kids(buf, cs, ce):
        out.append({tag_key(t): generic(buf, t, a, b, d + 1)})
    return out


_CLS = {0x00: "UNIVERSAL ", 0x40: "APPLICATION ", 0x80: "", 0xC0: "PRIVATE "}


def tag_key(tag: int) -> str:
    num = tag >> 8 if tag > 0xFF else tag & 0x1F
    return f"[{_CLS[tag & 0xC0]}{num}]"
