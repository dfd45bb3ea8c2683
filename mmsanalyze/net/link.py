"""Link layers: from a captured frame to the network-layer (L3) offset.

Hot path: :func:`parse_link` returns a plain tuple, never an object::

    (ethertype, l3_offset, src_mac, dst_mac, vlan_ids, vlan_priority)

* ``ethertype`` -- int EtherType of what starts at ``l3_offset`` (0x0800 IPv4,
  0x86DD IPv6, 0x88B8 GOOSE, 0x88BA SV, ...), or :data:`ETH_8023` (-1) for an
  IEEE 802.3 frame whose type/length field is a length (<= 1500) or a Linux
  cooked 802.2 frame: then ``l3_offset`` points at the 802.2 LLC header (read
  it with :func:`parse_llc`, e.g. DSAP 0xFE = ISO CLNP for GSSE / R-GOOSE
  over OSI).  For Ethernet the 802.3 length field is ``data[l3_offset-2:l3_offset]``.
* ``src_mac`` / ``dst_mac`` -- 6 ``bytes`` or None (cooked captures carry no
  destination; raw IP and loopback carry neither).
* ``vlan_ids`` -- tuple of 12-bit VLAN ids, outermost first (IEEE 802.1Q
  0x8100, 802.1ad S-tag 0x88A8, legacy QinQ 0x9100); ``()`` untagged.
* ``vlan_priority`` -- PCP (0..7) of the outermost tag, or None.

Link types (LINKTYPE_* numbers of tcpdump.org/linktypes.html):
1 Ethernet (IEEE 802.3 §3.2.6 length/type), 113 Linux cooked SLL,
276 Linux cooked SLL2, 12/14/101/228/229 raw IP (v4/v6 by version nibble),
0 BSD null (address family in the writer's byte order), 108 OpenBSD loop
(network order).  Others raise :class:`~mmsanalyze.errors.Unsupported`;
frames too short for their header raise :class:`~mmsanalyze.errors.Truncated`.
"""

from __future__ import annotations

import struct

from ..errors import Malformed, Truncated, Unsupported

__all__ = [
    "ETH_8023", "ETHERTYPE_IPV4", "ETHERTYPE_IPV6", "ETHERTYPE_GOOSE", "ETHERTYPE_SV",
    "VLAN_TPIDS", "MAX_VLAN_TAGS", "LINKTYPE_NAMES", "SUPPORTED_LINKTYPES",
    "parse_link", "parse_llc", "mac_str", "linktype_name",
]

#: Marker ethertype: IEEE 802.3 length field / 802.2 LLC follows at l3_offset.
ETH_8023 = -1
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_GOOSE = 0x88B8   # IEC 61850-8-1 Annex C
ETHERTYPE_GSE_MGMT = 0x88B9
ETHERTYPE_SV = 0x88BA      # IEC 61850-9-2
#: Tag protocol identifiers: 802.1Q C-tag, 802.1ad S-tag, pre-standard QinQ.
VLAN_TPIDS = frozenset((0x8100, 0x88A8, 0x9100))
#: Tags followed per frame.  QinQ uses two; more is a loop on hostile bytes.
MAX_VLAN_TAGS = 8
#: Largest 802.3 length value (IEEE 802.3 §3.2.6); 1536+ is an EtherType.
_MAX_8023_LEN = 1500

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW = 0, 1, 101
LINKTYPE_LOOP, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 = 108, 113, 276

#: capinfos-style names of common link types (supported or not), for messages.
LINKTYPE_NAMES = {
    0: "null", 1: "ether", 6: "ieee802_5", 9: "ppp", 10: "fddi", 12: "raw", 14: "raw",
    50: "ppp_hdlc", 101: "raw", 104: "chdlc", 105: "ieee802_11", 108: "loop",
    113: "linux-sll", 119: "prism", 127: "ieee802_11_radiotap", 143: "docsis",
    189: "usb_linux", 195: "ieee802_15_4", 220: "usb_linux_mmapped", 228: "ipv4",
    229: "ipv6", 249: "netlink", 276: "linux-sll2",
}


def linktype_name(linktype: int) -> str:
    """``ether`` for 1, ``linktype 147`` for unknown numbers."""
    return LINKTYPE_NAMES.get(linktype, f"linktype {linktype}")


_NO_TAGS = ()
_ETH = struct.Struct("!6s6sH").unpack_from
_TAG = struct.Struct("!HH").unpack_from


def _truncated(what: str, need: int, have: int, layer: str) -> Truncated:
    return Truncated(f"{what} needs {need} bytes, frame has {have}", offset=0, layer=layer)


def _tags(data, off: int, et: int, src, dst, layer: str):
    """Walk VLAN tags (IEEE 802.1Q §9.6) starting with TCI at ``off``."""
    n = len(data)
    ids = []
    prio = None
    while et in VLAN_TPIDS:
        if off + 4 > n:
            raise Truncated(f"VLAN tag needs 4 bytes at offset {off}, frame has {n}",
                            offset=off, layer=layer)
        if len(ids) == MAX_VLAN_TAGS:
            raise Malformed(f"more than {MAX_VLAN_TAGS} VLAN tags", offset=off, layer=layer)
        tci = (data[off] << 8) | data[off + 1]
        if prio is None:
            prio = tci >> 13
        ids.append(tci & 0x0FFF)
        et = (data[off + 2] << 8) | data[off + 3]
        off += 4
    if et <= _MAX_8023_LEN:
        et = ETH_8023
    return (et, off, src, dst, tuple(ids), prio)


def _ethernet(data):
    """Ethernet II / IEEE 802.3 (§3.2.6): dst(6) src(6) type-or-length(2) [VLAN tags]."""
    return parse_link(LINKTYPE_ETHERNET, data)


#: SLL protocol values below 1536 (Linux if_ether.h ETH_P_*) that mean "802.2 LLC follows".
_SLL_LLC = frozenset((0x0004,))
#: ARPHRD_* types whose link-layer address is an Ethernet MAC (ETHER, IEEE802, LOOPBACK).
_ARPHRD_MAC = frozenset((1, 6, 772))


_SLL = struct.Struct("!HHH6s2xH").unpack_from
_SLL2 = struct.Struct("!H6xHBB6s").unpack_from


def _cooked(et: int, off: int, src, data):
    """Common tail of SLL/SLL2: ``et`` is the protocol field (Linux ETH_P_* / EtherType)."""
    if et in VLAN_TPIDS:  # libpcap re-inserts the kernel-stripped 802.1Q tag here
        return _tags(data, off, et, src, None, "sll")
    if et in _SLL_LLC:
        et = ETH_8023
    return (et, off, src, None, _NO_TAGS, None)


def _sll(data):
    """Linux cooked v1: pkttype(2) arphrd(2) addrlen(2) addr(8) protocol(2)."""
    if len(data) < 16:
        raise _truncated("Linux cooked (SLL) header", 16, len(data), "sll")
    _pkttype, hatype, alen, addr, et = _SLL(data)
    src = addr if alen == 6 and hatype in _ARPHRD_MAC else None
    if et > _MAX_8023_LEN and et not in VLAN_TPIDS:
        return (et, 16, src, None, _NO_TAGS, None)
    return _cooked(et, 16, src, data)


def _sll2(data):
    """Linux cooked v2: protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1) addrlen(1)
    addr(8)."""
    if len(data) < 20:
        raise _truncated("Linux cooked (SLL2) header", 20, len(data), "sll")
    et, hatype, _pkttype, alen, addr = _SLL2(data)
    src = addr if alen == 6 and hatype in _ARPHRD_MAC else None
    if et > _MAX_8023_LEN and et not in VLAN_TPIDS:
        return (et, 20, src, None, _NO_TAGS, None)
    return _cooked(et, 20, src, data)


_IP_VERSION = {4: ETHERTYPE_IPV4, 6: ETHERTYPE_IPV6}


def _raw(data):
    """Raw IP: no link header; the version nibble says IPv4 or IPv6."""
    if not data:
        raise _truncated("raw IP packet", 1, 0, "ip")
    et = _IP_VERSION.get(data[0] >> 4)
    if et is None:
        raise Malformed(f"raw IP packet with version {data[0] >> 4}", offset=0, layer="ip")
    return (et, 0, None, None, _NO_TAGS, None)


#: BSD address families: AF_INET 2; AF_INET6 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (Darwin).
_LOOP_AF = {2: ETHERTYPE_IPV4, 24: ETHERTYPE_IPV6, 28: ETHERTYPE_IPV6, 30: ETHERTYPE_IPV6}


def _null(data, big_endian: bool = False):
    """BSD loopback: 4-byte address family (DLT_NULL: writer's order; DLT_LOOP: big endian)."""
    if len(data) < 4:
        raise _truncated("loopback header", 4, len(data), "loop")
    af = int.from_bytes(data[:4], "big" if big_endian else "little")
    if af > 0xFFFF:  # DLT_NULL written on a machine of the other byte order
        af = int.from_bytes(data[:4], "little" if big_endian else "big")
    et = _LOOP_AF.get(af)
    if et is None:
        raise Unsupported(f"loopback address family {af}", offset=0, layer="loop")
    return (et, 4, None, None, _NO_TAGS, None)


def _loop(data):
    return _null(data, True)


_PARSERS = {
    LINKTYPE_ETHERNET: _ethernet,
    LINKTYPE_LINUX_SLL: _sll,
    LINKTYPE_LINUX_SLL2: _sll2,
    LINKTYPE_RAW: _raw, 12: _raw, 14: _raw, 228: _raw, 229: _raw,
    LINKTYPE_NULL: _null,
    LINKTYPE_LOOP: _loop,
}
#: Link types :func:`parse_link` decodes (the CLI refuses files with none of them).
SUPPORTED_LINKTYPES = frozenset(_PARSERS)


def parse_link(linktype: int, data: bytes) -> tuple:
    """Decode the link header of one frame.

    Returns ``(ethertype, l3_offset, src_mac, dst_mac, vlan_ids, vlan_priority)``
    as described in the module docstring.

    Raises:
        Unsupported: link type not in :data:`SUPPORTED_LINKTYPES` (code
            ``link.unsupported``), or an unknown loopback address family.
        Truncated: the frame is shorter than its link header / VLAN tags.
        Malformed: raw IP with a bad version nibble, too many VLAN tags.
    """
    if linktype == LINKTYPE_ETHERNET:  # the hot path, inlined: one struct call per frame
        if len(data) < 14:
            raise _truncated("Ethernet header", 14, len(data), "eth")
        dst, src, et = _ETH(data)
        if et > _MAX_8023_LEN:
            if et not in VLAN_TPIDS:
                return (et, 14, src, dst, _NO_TAGS, None)
            if len(data) >= 18:  # one tag (GOOSE / SV on a VLAN): no loop
                tci, inner = _TAG(data, 14)
                if inner > _MAX_8023_LEN and inner not in VLAN_TPIDS:
                    return (inner, 18, src, dst, (tci & 0x0FFF,), tci >> 13)
            return _tags(data, 14, et, src, dst, "eth")
        return (ETH_8023, 14, src, dst, _NO_TAGS, None)
    parser = _PARSERS.get(linktype)
    if parser is None:
        raise Unsupported(f"link type {linktype} ({linktype_name(linktype)}) is not supported",
                          layer="link")
    return parser(data)


def parse_llc(data: bytes, off: int, end: int | None = None) -> tuple:
    """Decode an IEEE 802.2 LLC header (and SNAP, RFC 1042) at ``off``.

    Returns ``(dsap, ssap, control, payload_off, snap_oui, snap_pid)``; the
    control field is 1 byte for U-format PDUs (low bits 11) and 2 bytes for
    I/S-format; ``snap_oui``/``snap_pid`` are ints for DSAP=SSAP=0xAA, else None.
    For Ethernet pass ``end = off + length`` (the 802.3 length field) to
    exclude padding; it only bounds the header check here.
    """
    end = len(data) if end is None else min(end, len(data))
    if off + 3 > end:
        raise Truncated(f"LLC header needs 3 bytes, {max(end - off, 0)} present",
                        offset=off, layer="llc")
    dsap, ssap, control = data[off], data[off + 1], data[off + 2]
    p = off + 3
    if control & 0x03 != 0x03:
        if p + 1 > end:
            raise Truncated("LLC I/S-format control needs 2 bytes", offset=off, layer="llc")
        control |= data[p] << 8
        p += 1
    if dsap == 0xAA and ssap == 0xAA:
        if p + 5 > end:
            raise Truncated("SNAP header needs 5 bytes", offset=p, layer="llc")
        return (dsap, ssap, control, p + 5, int.from_bytes(data[p:p + 3], "big"),
                (data[p + 3] << 8) | data[p + 4])
    return (dsap, ssap, control, p, None, None)


#: Entries kept by :func:`mac_str` before the cache is reset (bounds memory on
#: captures with random / spoofed MACs).
MAC_CACHE_MAX = 65536
_mac_cache: dict = {}


def mac_str(mac) -> str:
    """``b'\\xaa\\xbb...'`` -> ``'aa:bb:cc:dd:ee:ff'`` (cached); None -> ``''``."""
    try:
        return _mac_cache[mac]
    except (KeyError, TypeError):  # TypeError: bytearray / memoryview
        pass
    if mac is None:
        return ""
    mac = bytes(mac)
    s = mac.hex(":")
    if len(_mac_cache) >= MAC_CACHE_MAX:
        _mac_cache.clear()
    _mac_cache[mac] = s
    return s
