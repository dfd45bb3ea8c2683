"""IPv4, IPv6, TCP and UDP headers, and IP fragment reassembly.

All parsers walk one buffer by offsets and return plain tuples (hot path):

* :func:`parse_ipv4` / :func:`parse_ipv6` ->
  ``(src, dst, proto, payload_off, payload_end, frag_info, truncated)``
  where ``src``/``dst`` are address strings (cached), ``proto`` the upper
  protocol number (6 TCP, 17 UDP, ...), ``payload_end`` the end of the
  payload limited by the declared length *and* the captured bytes,
  ``frag_info`` None or ``(ident, frag_offset_bytes, more_fragments)`` and
  ``truncated`` True when the capture holds less than the declared length.
* :func:`parse_tcp` -> ``(sport, dport, seq, ack, flags, payload_off)``
* :func:`parse_udp` -> ``(sport, dport, payload_off, payload_end)``

Only :class:`~mmsanalyze.errors.DecodeError` subclasses are raised.
"""

from __future__ import annotations

import socket
import struct

from ..errors import Malformed, Truncated
from ..findings import Finding

__all__ = [
    "PROTO_TCP", "PROTO_UDP", "TCP_FIN", "TCP_SYN", "TCP_RST", "TCP_PSH", "TCP_ACK", "TCP_URG",
    "parse_ipv4", "parse_ipv6", "parse_tcp", "parse_udp", "FragmentReassembler",
    "MAX_DATAGRAM", "MAX_PENDING", "FRAGMENT_TIMEOUT",
]

PROTO_TCP, PROTO_UDP, PROTO_IPV6_FRAG = 6, 17, 44
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

#: Entries kept by the address-string caches before they are reset (bounds
#: memory on scans / spoofed sources; a substation LAN has a few hundred).
ADDR_CACHE_MAX = 65536

_IPV4 = struct.Struct("!BBHHHBBHII")
_v4_cache: dict = {}
_v6_cache: dict = {}


def _v4(a: int) -> str:
    s = _v4_cache.get(a)
    if s is None:
        s = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"
        if len(_v4_cache) >= ADDR_CACHE_MAX:
            _v4_cache.clear()
        _v4_cache[a] = s
    return s


def _v6(b: bytes) -> str:
    s = _v6_cache.get(b)
    if s is None:
        s = socket.inet_ntop(socket.AF_INET6, b)
        if len(_v6_cache) >= ADDR_CACHE_MAX:
            _v6_cache.clear()
        _v6_cache[b] = s
    return s


def parse_ipv4(data: bytes, off: int) -> tuple:
    """Decode an IPv4 header (RFC 791 §3.1) at ``off``.

    Returns ``(src, dst, proto, payload_off, payload_end, frag_info, truncated)``.
    A Total Length of 0 (TCP segmentation offload on the capturing host) is
    taken as "up to the captured end", as Wireshark does.  Options are skipped
    by IHL; the checksum is not verified.

    Raises:
        Truncated: fewer than 20 bytes, or the IHL header does not fit.
        Malformed: version != 4, IHL < 5, or Total Length < header length.
    """
    n = len(data)
    if n - off < 20:
        raise Truncated(f"IPv4 header needs 20 bytes, {max(n - off, 0)} captured",
                        offset=off, layer="ip")
    vihl, _tos, total, ident, frag, _ttl, proto, _csum, src, dst = _IPV4.unpack_from(data, off)
    hlen = (vihl & 0x0F) << 2
    if vihl >> 4 != 4 or hlen < 20:
        raise Malformed(f"bad IPv4 version/IHL byte 0x{vihl:02x}", offset=off, layer="ip")
    poff = off + hlen
    if poff > n:
        raise Truncated(f"IPv4 header with options needs {hlen} bytes, {n - off} captured",
                        offset=off, layer="ip")
    if total == 0:
        declared = n
    elif total < hlen:
        raise Malformed(f"IPv4 total length {total} < header length {hlen}",
                        offset=off + 2, layer="ip")
    else:
        declared = off + total
    end = declared if declared <= n else n
    fi = None
    if frag & 0x3FFF:  # MF set or fragment offset != 0 (RFC 791: flags bit 2, 13-bit offset)
        fi = (ident, (frag & 0x1FFF) << 3, bool(frag & 0x2000))
    get = _v4_cache.get
    return (get(src) or _v4(src), get(dst) or _v4(dst), proto, poff, end, fi, end < declared)


#: IPv6 extension headers skipped on the way to the upper layer (RFC 8200 §4):
#: Hop-by-Hop 0, Routing 43, Destination Options 60 (length in 8-octet units,
#: not counting the first 8) and Authentication Header 51 (RFC 4302, 4-octet units + 2).
_IPV6_EXT = frozenset((0, 43, 60))
_IPV6_AH = 51
#: Extension headers followed per packet; RFC 8200 allows each at most twice.
MAX_IPV6_EXT = 16
_IPV6 = struct.Struct("!IHBB16s16s")
_FRAG6 = struct.Struct("!BBHI")


def parse_ipv6(data: bytes, off: int) -> tuple:
    """Decode an IPv6 header (RFC 8200 §3) and its extension headers at ``off``.

    Returns ``(src, dst, proto, payload_off, payload_end, frag_info, truncated)``
    with ``proto`` the first header that is not Hop-by-Hop / Routing /
    Destination Options / AH.  A Fragment header (44, RFC 8200 §4.5) ends the
    walk: ``proto`` is its Next Header, ``payload_off`` follows it and
    ``frag_info`` is ``(ident, frag_offset_bytes, more_fragments)``.
    Payload Length 0 (jumbogram) is taken as "up to the captured end".

    Raises:
        Truncated: fixed header or an extension header does not fit.
        Malformed: version != 6, too many extension headers, or an extension
            header running past the declared payload.
    """
    n = len(data)
    if n - off < 40:
        raise Truncated(f"IPv6 header needs 40 bytes, {max(n - off, 0)} captured",
                        offset=off, layer="ip")
    vtf, plen, nxt, _hlim, src, dst = _IPV6.unpack_from(data, off)
    if vtf >> 28 != 6:
        raise Malformed(f"bad IPv6 version {vtf >> 28}", offset=off, layer="ip")
    p = off + 40
    declared = n if plen == 0 else p + plen
    end = declared if declared <= n else n
    fi = None
    count = 0
    while nxt in _IPV6_EXT or nxt == _IPV6_AH or nxt == PROTO_IPV6_FRAG:
        count += 1
        if count > MAX_IPV6_EXT:
            raise Malformed(f"more than {MAX_IPV6_EXT} IPv6 extension headers",
                            offset=p, layer="ip")
        if p + 8 > end:
            raise Truncated(f"IPv6 extension header {nxt} needs 8 bytes, {max(end - p, 0)} present",
                            offset=p, layer="ip")
        if nxt == PROTO_IPV6_FRAG:
            nxt, _res, offflags, ident = _FRAG6.unpack_from(data, p)
            fi = (ident, offflags & 0xFFF8, bool(offflags & 1))
            p += 8
            break
        hlen = (data[p + 1] + 2) << 2 if nxt == _IPV6_AH else (data[p + 1] + 1) << 3
        nxt = data[p]
        if p + hlen > declared:
            raise Malformed(f"IPv6 extension header of {hlen} bytes runs past the payload",
                            offset=p, layer="ip")
        if p + hlen > end:
            raise Truncated(f"IPv6 extension header of {hlen} bytes not captured",
                            offset=p, layer="ip")
        p += hlen
    return (_v6(src), _v6(dst), nxt, p, end, fi, end < declared)


_TCP = struct.Struct("!HHIIH")


def parse_tcp(data: bytes, off: int, end: int) -> tuple:
    """Decode a TCP header (RFC 9293 §3.1) in ``data[off:end]``.

    Returns ``(sport, dport, seq, ack, flags, payload_off)``; ``flags`` holds
    the 12 low bits of the offset/flags word (FIN 0x01 ... CWR 0x80, AE 0x100);
    the payload is ``data[payload_off:end]``.  Options are skipped.

    Raises:
        Truncated: fewer than 20 bytes, or the header with options does not fit.
        Malformed: data offset < 5 words.
    """
    if end - off < 20:
        raise Truncated(f"TCP header needs 20 bytes, {max(end - off, 0)} present",
                        offset=off, layer="tcp")
    sport, dport, seq, ack, word = _TCP.unpack_from(data, off)
    hlen = (word >> 12) << 2
    if hlen < 20:
        raise Malformed(f"TCP data offset {hlen >> 2} words < 5", offset=off + 12, layer="tcp")
    if off + hlen > end:
        raise Truncated(f"TCP header with options needs {hlen} bytes, {end - off} present",
                        offset=off, layer="tcp")
    return (sport, dport, seq, ack, word & 0x0FFF, off + hlen)


_UDP = struct.Struct("!HHH")


def parse_udp(data: bytes, off: int, end: int) -> tuple:
    """Decode a UDP header (RFC 768) in ``data[off:end]``.

    Returns ``(sport, dport, payload_off, payload_end)``; ``payload_end`` is the
    smaller of the UDP Length and ``end`` (a Length of 0 -- RFC 2675 jumbogram
    -- means "up to ``end``").

    Raises:
        Truncated: fewer than 8 bytes.
        Malformed: Length between 1 and 7.
    """
    if end - off < 8:
        raise Truncated(f"UDP header needs 8 bytes, {max(end - off, 0)} present",
                        offset=off, layer="udp")
    sport, dport, ulen = _UDP.unpack_from(data, off)
    if ulen == 0:
        return (sport, dport, off + 8, end)
    if ulen < 8:
        raise Malformed(f"UDP length {ulen} < 8", offset=off + 4, layer="udp")
    pend = off + ulen
    return (sport, dport, off + 8, pend if pend < end else end)


#: Largest reassembled payload: the 16-bit IPv4 Total Length / IPv6 Payload
#: Length cannot describe more (RFC 791, RFC 8200); beyond is an attack.
MAX_DATAGRAM = 65535
#: Datagrams being reassembled at once.  Real IEC 61850 traffic fragments
#: rarely (R-GOOSE/R-SV over UDP); 256 x 64 KiB caps memory at 16 MiB even
#: under a fragment flood.  The oldest is dropped (with a finding) beyond.
MAX_PENDING = 256
#: Seconds of capture time after which an incomplete datagram is dropped: the
#: Linux default ipfrag_time (and RFC 791's suggested upper bound is 15-120 s).
FRAGMENT_TIMEOUT = 30.0


class _Pending:
    __slots__ = ("first_ts", "frags", "total", "size", "frame")

    def __init__(self, ts: float, frame: int):
        self.first_ts = ts
        self.frags: list = []      # (start, end, bytes) in arrival order
        self.total: int | None = None  # known once the last fragment arrived
        self.size = 0
        self.frame = frame


class FragmentReassembler:
    """Reassemble IPv4 / IPv6 fragments (RFC 791 §3.2, RFC 8200 §4.5, RFC 815).

    Bounded by :data:`MAX_DATAGRAM`, :data:`MAX_PENDING` and
    :data:`FRAGMENT_TIMEOUT` (capture time).  Overlapping fragments keep the
    bytes that arrived first (RFC 5722 forbids overlaps for IPv6; either way
    they are reported).  Problems are appended to :attr:`findings`:

    * ``ip.fragment_overlap`` (warning; note when the bytes agree),
    * ``ip.fragment_too_big`` (warning; the datagram is dropped),
    * ``ip.fragment_timeout`` (note; incomplete after the timeout),
    * ``ip.fragment_evicted`` (warning; dropped to stay under MAX_PENDING),
    * ``ip.fragment_inconsistent`` (warning; two different "last" fragments).
    """

    def __init__(self, timeout: float = FRAGMENT_TIMEOUT, max_pending: int = MAX_PENDING,
                 max_datagram: int = MAX_DATAGRAM):
        self.timeout = timeout
        self.max_pending = max_pending
        self.max_datagram = max_datagram
        self.findings: list[Finding] = []
        self._pending: dict = {}

    def __len__(self) -> int:
        return len(self._pending)

    def _note(self, code: str, severity: str, frame: int, msg: str) -> None:
        self.findings.append(Finding(code, severity, frame, "ip", msg))

    def expire(self, ts: float, frame: int = 0) -> None:
        """Drop datagrams whose first fragment is older than ``timeout`` at ``ts``."""
        pending = self._pending
        while pending:
            key = next(iter(pending))
            p = pending[key]
            if ts - p.first_ts <= self.timeout:
                break
            del pending[key]
            self._note("ip.fragment_timeout", "note", p.frame,
                       f"datagram {key!r} incomplete after {self.timeout:g} s "
                       f"({p.size} bytes in {len(p.frags)} fragments); dropped")

    def add(self, key, frag_offset: int, more: bool, payload: bytes, ts: float,
            frame: int = 0) -> bytes | None:
        """Add one fragment; return the whole datagram payload once complete.

        Args:
            key: identifies the datagram, e.g. ``(src, dst, proto, ident)``.
            frag_offset: byte offset of ``payload`` in the datagram.
            more: the More Fragments flag.
            payload: the fragment's bytes.
            ts: capture time of the frame (drives expiry).
            frame: frame number for findings.
        """
        self.expire(ts, frame)
        start, end = frag_offset, frag_offset + len(payload)
        p = self._pending.get(key)
        if end > self.max_datagram:
            self._note("ip.fragment_too_big", "warning", frame,
                       f"fragment ends at byte {end} > {self.max_datagram}; "
                       f"datagram {key!r} dropped")
            self._pending.pop(key, None)
            return None
        if p is None:
            if len(self._pending) >= self.max_pending:
                old = next(iter(self._pending))
                dropped = self._pending.pop(old)
                self._note("ip.fragment_evicted", "warning", dropped.frame,
                           f"more than {self.max_pending} datagrams in reassembly; "
                           f"oldest {old!r} dropped")
            p = self._pending[key] = _Pending(ts, frame)
        if not more:
            if p.total is not None and p.total != end:
                self._note("ip.fragment_inconsistent", "warning", frame,
                           f"datagram {key!r}: last fragments end at {p.total} and {end}; dropped")
                del self._pending[key]
                return None
            p.total = end
        for s, e, b in p.frags:
            if s < end and start < e:
                lo, hi = max(s, start), min(e, end)
                same = b[lo - s:hi - s] == payload[lo - start:hi - start]
                if same and (s, e) == (start, end):
                    return None  # exact duplicate (e.g. captured twice): nothing new
                self._note("ip.fragment_overlap", "note" if same else "warning", frame,
                           f"datagram {key!r}: fragment {start}-{end} overlaps {s}-{e}"
                           + ("" if same else " with different bytes (first kept)"))
                break
        p.frags.append((start, end, payload))
        p.size += len(payload)
        if p.total is None:
            return None
        return self._complete(key, p)

    def _complete(self, key, p: _Pending) -> bytes | None:
        covered = 0
        for s, e, _ in sorted(p.frags):
            if s > covered:
                return None
            if e > covered:
                covered = e
        if covered < p.total:
            return None
        out = bytearray(p.total)
        for s, e, b in reversed(p.frags):  # earliest arrival written last: first wins
            out[s:e] = b
        del self._pending[key]
        return bytes(out[:p.total])

    def flush(self) -> None:
        """End of capture: report every still-incomplete datagram and forget them."""
        for key, p in self._pending.items():
            self._note("ip.fragment_timeout", "note", p.frame,
                       f"datagram {key!r} incomplete at end of capture "
                       f"({p.size} bytes in {len(p.frags)} fragments)")
        self._pending.clear()
