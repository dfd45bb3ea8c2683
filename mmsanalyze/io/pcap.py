"""Classic libpcap files (draft-ietf-opsawg-pcap, "PCAP Capture File Format").

File header (24 octets, §4): magic, version 2.4, thiszone, sigfigs, snaplen,
LinkType+FCS field.  Each record (§5): ts seconds, ts fraction (µs, or ns with
the 0xa1b23c4d magic), captured length, original length, then the data.  The
byte order is whatever the writer's was; the magic tells.  Also reads the
"modified" (Kuznetzov) variant whose record header has 8 more octets.
"""

from __future__ import annotations

import struct

from ..errors import CaptureError
from .frame import MAX_CAPLEN, RawFrame, malformed_finding, new_frame, truncated_finding

__all__ = ["MAGICS", "parse_header", "iter_pcap"]

#: magic octets as stored -> (byte order, fraction units per second, record header size, name)
MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000, 16, "pcap"),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000, 16, "pcap"),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000, 16, "pcap"),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000, 16, "pcap"),
    b"\x34\xcd\xb2\xa1": ("<", 1_000_000, 24, "pcap"),  # modified (Kuznetzov) pcap
    b"\xa1\xb2\xcd\x34": (">", 1_000_000, 24, "pcap"),
}

HEADER_LEN = 24
#: Low 16 bits of the header's LinkType field are the LINKTYPE (§4); the upper
#: bits carry the optional FCS length, which we do not use.
LINKTYPE_MASK = 0xFFFF


def parse_header(head: bytes, name: str) -> tuple[str, int, int, int, int]:
    """Check a pcap file header; return ``(order, units, rechdr, linktype, snaplen)``."""
    order, units, rechdr, _ = MAGICS[head[:4]]
    if len(head) < HEADER_LEN:
        raise CaptureError(f"{name}: truncated pcap file header "
                           f"({len(head)} of {HEADER_LEN} bytes)")
    major, minor, _zone, _sigfigs, snaplen, network = struct.unpack_from(order + "HHiIII", head, 4)
    if major != 2:
        raise CaptureError(f"{name}: unsupported pcap version {major}.{minor}")
    return order, units, rechdr, network & LINKTYPE_MASK, snaplen


def iter_pcap(src, buf: bytes, order: str, units: int, rechdr: int, linktype: int,
              findings: list, exact_ts: bool = False):
    """Yield :class:`RawFrame` for each record after the 24-octet header in ``buf``.

    ``src`` is the :class:`~.frame.ByteSource` ``buf`` came from.  With
    ``exact_ts`` the ``ts`` of each frame is the integer count of ``units`` per
    second (nothing lost to float rounding: ns captures keep their nanoseconds).
    A record cut
    by the end of the file adds ``capture.truncated_record``; a captured
    length over :data:`MAX_CAPLEN` adds ``capture.malformed_record`` and stops.
    """
    unpack_from = struct.Struct(order + "IIII").unpack_from
    refill = src.refill
    pos = HEADER_LEN
    blen = len(buf)
    n = 0
    while True:
        if blen - pos < rechdr:
            buf = refill(buf, pos, rechdr)
            pos = 0
            blen = len(buf)
            if blen < rechdr:
                if blen:
                    findings.append(truncated_finding(n + 1, rechdr, blen, "the record header"))
                break
        sec, frac, incl, orig = unpack_from(buf, pos)
        if incl > MAX_CAPLEN:
            findings.append(malformed_finding(
                n + 1, f"record captured length {incl} exceeds {MAX_CAPLEN}"))
            break
        start = pos + rechdr
        end = start + incl
        if end > blen:
            buf = refill(buf, pos, rechdr + incl)
            pos = 0
            blen = len(buf)
            start = rechdr
            end = start + incl
            if end > blen:
                findings.append(truncated_finding(n + 1, incl, blen - start))
                break
        n += 1
        yield new_frame(RawFrame, (n, sec * units + frac if exact_ts else sec + frac / units,
                                   linktype, buf[start:end], orig, 0))
        pos = end
    src.finish(findings, n)
