"""pcapng files (draft-ietf-opsawg-pcapng, "PCAP Next Generation Dump File Format").

Every block (§3.1) is ``type, total length, body, total length``.  We read:

* Section Header Block 0x0A0D0D0A (§4.1): byte-order magic 0x1A2B3C4D fixes the
  byte order of the section; a new SHB starts a new section with a fresh
  interface table (so a file may switch byte order).
* Interface Description Block 1 (§4.2): LinkType, SnapLen, options
  ``if_tsresol`` (9; 10^-n, or 2^-n when the top bit is set) and
  ``if_tsoffset`` (14; seconds added to every timestamp).
* Enhanced Packet Block 6 (§4.3), Simple Packet Block 3 (§4.4: interface 0;
  captured length = min(original length, block space, snaplen)), and the
  obsolete Packet Block 2 (Appendix A).

Everything else (Name Resolution, Interface Statistics, Decryption Secrets,
custom, unknown blocks) and all options and comments are skipped by length.
Frame numbers count packet blocks only.
"""

from __future__ import annotations

import struct

from ..errors import CaptureError
from .frame import (MAX_BLOCK, MAX_CAPLEN, RawFrame, malformed_finding, new_frame,
                    truncated_finding)

__all__ = ["MAGIC", "iter_pcapng"]

MAGIC = b"\x0a\x0d\x0d\x0a"
SHB, IDB, PB, SPB, EPB = 0x0A0D0D0A, 1, 2, 3, 6
_BOM = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
OPT_ENDOFOPT, OPT_IF_TSRESOL, OPT_IF_TSOFFSET = 0, 9, 14
#: Default resolution when an IDB has no if_tsresol option: microseconds (§4.2).
DEFAULT_UNITS = 1_000_000
#: Cap on if_tsresol exponents: 10^-30 / 2^-127 is already far below any clock.
_MAX_RESOL_EXP = 127


class _Stop(Exception):
    """Internal: a block that ends the stream (message for the finding)."""


def _options(buf, start: int, end: int, order: str):
    """Yield ``(code, value)`` of the option list in ``buf[start:end]`` (§3.5)."""
    unpack = struct.Struct(order + "HH").unpack_from
    p = start
    while p + 4 <= end:
        code, ln = unpack(buf, p)
        if code == OPT_ENDOFOPT or p + 4 + ln > end:
            return
        yield code, buf[p + 4:p + 4 + ln]
        p += 4 + ((ln + 3) & ~3)


def _parse_idb(buf, pos: int, end: int, order: str) -> tuple[int, int, int, int]:
    """Return ``(linktype, units_per_second, ts_offset_s, snaplen)`` of an IDB."""
    if end - pos < 20:
        raise _Stop(f"interface description block too short ({end - pos} bytes)")
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
    units, tsoff = DEFAULT_UNITS, 0
    for code, val in _options(buf, pos + 16, end - 4, order):
        if code == OPT_IF_TSRESOL and val:
            exp = min(val[0] & 0x7F, _MAX_RESOL_EXP)
            units = 2 ** exp if val[0] & 0x80 else 10 ** exp
        elif code == OPT_IF_TSOFFSET and len(val) >= 8:
            tsoff = struct.unpack_from(order + "q", val)[0]
    return linktype, units, tsoff, snaplen


def _structs(order: str):
    """Unpackers of one section's byte order: block header, u32, EPB, header+EPB, PB."""
    return tuple(struct.Struct(order + fmt).unpack_from
                 for fmt in ("II", "I", "IIIII", "IIIIIII", "HHIIII"))


def _timestamped(buf, pos, tlen, n, ifaces, ifid, hi, lo, caplen, orig, what, exact=None):
    """The RawFrame of an enhanced (§4.3) or obsolete (Appendix A) packet block: both put
    interface, 64-bit timestamp and lengths before the packet data at offset 28.

    ``exact``: None, or the global index of the section's interface 0 (exact mode:
    integer timestamp in the interface's units, global interface index)."""
    if caplen > tlen - 32 or caplen > MAX_CAPLEN:
        raise _Stop(f"{what}: captured length {caplen} does not fit block length {tlen} "
                    f"/ limit {MAX_CAPLEN}")
    if ifid >= len(ifaces):
        raise _Stop(f"packet block refers to undefined interface {ifid}")
    lt, units, tsoff, _snap = ifaces[ifid]
    if exact is not None:
        return new_frame(RawFrame, (n, ((hi << 32) | lo) + tsoff * units, lt,
                                    buf[pos + 28:pos + 28 + caplen], orig, exact + ifid))
    return new_frame(RawFrame, (n, ((hi << 32) | lo) / units + tsoff, lt,
                                buf[pos + 28:pos + 28 + caplen], orig, ifid))


def iter_pcapng(src, buf: bytes, findings: list, linktypes: set, name: str,
                interfaces: list | None = None, exact_ts: bool = False):
    """Yield :class:`RawFrame` for each packet block of the pcapng stream in ``buf``.

    ``buf`` starts at the first Section Header Block and ``src`` (a
    :class:`~.frame.ByteSource`) supplies the rest.  ``interfaces``, when given,
    collects ``(linktype, units_per_second, ts_offset_s, snaplen)`` of every
    interface of every section in file order.  With ``exact_ts`` a frame's
    ``ts`` is the integer timestamp in its interface's units (``if_tsoffset``
    included) and its ``interface`` the index into ``interfaces`` (so frames of
    several sections stay apart); the writer uses this to copy frames without
    losing nanoseconds to float rounding.  A broken first SHB raises
    :class:`CaptureError` (the file is unusable); later problems append a
    ``capture.*`` finding and end the stream.
    """
    refill = src.refill
    pos, blen, n = 0, len(buf), 0
    ifaces: list[tuple[int, int, int, int]] = []
    nif = 0
    if interfaces is None:
        interfaces = []
    base = 0            # global index of this section's interface 0
    exact = 0 if exact_ts else None
    order = "<"  # until the first SHB; its type reads the same in both orders
    hdr, u32, epb, epb7, pb = _structs(order)
    started = False
    try:
        while True:
            if blen - pos >= 32:
                # Fast path: a complete, consistent EPB inside the buffer (one
                # struct call for both headers).  Anything else: general path.
                btype, tlen, ifid, hi, lo, caplen, orig = epb7(buf, pos)
                if (exact is None and btype == EPB and caplen <= tlen - 32 and pos + tlen <= blen
                        and ifid < nif and not tlen & 3 and caplen <= MAX_CAPLEN
                        and u32(buf, pos + tlen - 4)[0] == tlen):
                    lt, units, tsoff, _snap = ifaces[ifid]
                    n += 1
                    yield new_frame(RawFrame, (n, ((hi << 32) | lo) / units + tsoff, lt,
                                               buf[pos + 28:pos + 28 + caplen], orig, ifid))
                    pos += tlen
                    continue
            if blen - pos < 12:
                buf = refill(buf, pos, 12)
                pos, blen = 0, len(buf)
                if blen < 12:
                    if not started:
                        raise _Stop("truncated section header block")
                    if blen:
                        findings.append(truncated_finding(n + 1, 12, blen, "a block header"))
                    break
            btype, tlen = hdr(buf, pos)
            if btype == SHB:
                order = _BOM.get(buf[pos + 8:pos + 12])
                if order is None:
                    raise _Stop(f"bad byte-order magic 0x{buf[pos + 8:pos + 12].hex()} "
                                "in section header block")
                hdr, u32, epb, epb7, pb = _structs(order)
                tlen = u32(buf, pos + 4)[0]
                ifaces = []
                nif = 0
                base = len(interfaces)
                if exact is not None:
                    exact = base
            elif not started:
                raise _Stop("file does not start with a section header block")
            if tlen < 12 or tlen & 3 or tlen > MAX_BLOCK:
                raise _Stop(f"block type 0x{btype:x} has invalid total length {tlen}")
            end = pos + tlen
            if end > blen:
                buf = refill(buf, pos, tlen)
                pos, blen, end = 0, len(buf), tlen
                if end > blen:
                    if not started:
                        raise _Stop(f"truncated section header block ({blen} of {tlen} bytes)")
                    findings.append(truncated_finding(n + 1, tlen, blen, f"block type 0x{btype:x}"))
                    break
            if u32(buf, end - 4)[0] != tlen:
                raise _Stop(f"block type 0x{btype:x}: trailing length {u32(buf, end - 4)[0]} "
                            f"!= leading length {tlen}")
            if btype == EPB:
                if tlen < 32:
                    raise _Stop(f"enhanced packet block too short ({tlen} bytes)")
                ifid, hi, lo, caplen, orig = epb(buf, pos + 8)
                yield _timestamped(buf, pos, tlen, n + 1, ifaces, ifid, hi, lo, caplen, orig,
                                   "enhanced packet block", exact)
                n += 1
            elif btype == SPB:
                if tlen < 16 or not ifaces:
                    raise _Stop("simple packet block too short or without interface 0")
                orig = u32(buf, pos + 8)[0]
                lt, units, tsoff, snap = ifaces[0]
                caplen = min(orig, tlen - 16, snap or MAX_CAPLEN, MAX_CAPLEN)
                n += 1
                # §4.4: an SPB has no timestamp; 0.0 (the epoch) says "unknown".
                yield new_frame(RawFrame, (n, 0.0 if exact is None else 0, lt,
                                           buf[pos + 12:pos + 12 + caplen], orig,
                                           0 if exact is None else base))
            elif btype == PB:
                if tlen < 32:
                    raise _Stop(f"packet block too short ({tlen} bytes)")
                ifid, _drops, hi, lo, caplen, orig = pb(buf, pos + 8)
                yield _timestamped(buf, pos, tlen, n + 1, ifaces, ifid, hi, lo, caplen, orig,
                                   "packet block", exact)
                n += 1
            elif btype == IDB:
                iface = _parse_idb(buf, pos, end, order)
                ifaces.append(iface)
                interfaces.append(iface)
                nif = len(ifaces)
                linktypes.add(iface[0])
            elif btype == SHB:
                if tlen < 28:
                    raise _Stop(f"section header block too short ({tlen} bytes)")
                major, minor = struct.unpack_from(order + "HH", buf, pos + 12)
                if major != 1:
                    raise _Stop(f"unsupported pcapng version {major}.{minor}")
                started = True
            pos = end
    except _Stop as exc:
        if not started:
            raise CaptureError(f"{name}: not a usable pcapng file: {exc}") from None
        findings.append(malformed_finding(n + 1, str(exc)))
    src.finish(findings, n)
