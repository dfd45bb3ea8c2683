"""Link layers (Ethernet, VLAN, 802.3/LLC, SLL, SLL2, raw IP, null/loop), IP/TCP/UDP
headers and IP fragment reassembly."""

from __future__ import annotations

import random
import struct

import pytest
from scapy.all import (IP, TCP, UDP, Dot1AD, Dot1Q, Dot3, Ether, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, LLC, SNAP,
                       Raw, fragment, fragment6)
from scapy.layers.ipsec import AH

from mmsanalyze.errors import DecodeError, Malformed, Truncated, Unsupported
from mmsanalyze.net import link
from mmsanalyze.net.ip import (FRAGMENT_TIMEOUT, MAX_DATAGRAM, MAX_PENDING, FragmentReassembler,
                               TCP_ACK, TCP_PSH, TCP_SYN, parse_ipv4, parse_ipv6, parse_tcp,
                               parse_udp)
from mmsanalyze.net.link import (ETH_8023, LINKTYPE_NAMES, SUPPORTED_LINKTYPES, mac_str,
                                 parse_link, parse_llc)

SRC, DST = "00:11:22:33:44:55", "01:0c:cd:01:00:01"
SRCB, DSTB = bytes.fromhex("001122334455"), bytes.fromhex("010ccd010001")
GOOSE_PDU = b"\x61\x03\x80\x01\x41"


# ---------------------------------------------------------------- Ethernet / VLAN
def test_ethernet_ipv4():
    data = bytes(Ether(src=SRC, dst=DST) / IP(src="10.0.0.1", dst="10.0.0.2") / TCP())
    assert parse_link(1, data) == (0x0800, 14, SRCB, DSTB, (), None)


def test_ethernet_goose_untagged():
    data = bytes(Ether(src=SRC, dst=DST, type=0x88B8) / Raw(GOOSE_PDU))
    et, off, src, dst, vids, prio = parse_link(1, data)
    assert (et, off, vids, prio) == (link.ETHERTYPE_GOOSE, 14, (), None)
    assert data[off:off + 5] == GOOSE_PDU


def test_vlan_8021q_priority():
    data = bytes(Ether(src=SRC, dst=DST) / Dot1Q(prio=4, vlan=5, type=0x88BA) / Raw(b"sv"))
    assert parse_link(1, data) == (0x88BA, 18, SRCB, DSTB, (5,), 4)


def test_vlan_zero_priority_tagged():
    data = bytes(Ether(src=SRC, dst=DST) / Dot1Q(prio=0, vlan=0, type=0x88B8) / Raw(GOOSE_PDU))
    assert parse_link(1, data)[4:] == ((0,), 0)


def test_qinq_8021ad():
    data = bytes(Ether(src=SRC, dst=DST) / Dot1AD(prio=6, vlan=100)
                 / Dot1Q(prio=2, vlan=200) / IP() / UDP())
    assert parse_link(1, data) == (0x0800, 22, SRCB, DSTB, (100, 200), 6)


def test_qinq_9100_and_double_8100():
    tag = lambda tpid, tci: struct.pack("!HH", tpid, tci)
    data = DSTB + SRCB + tag(0x9100, (1 << 13) | 7) + tag(0x8100, 8) + b"\x88\xb8" + GOOSE_PDU
    assert parse_link(1, data) == (0x88B8, 22, SRCB, DSTB, (7, 8), 1)
    data = DSTB + SRCB + tag(0x8100, 3) + tag(0x8100, 4) + b"\x08\x00"
    assert parse_link(1, data)[:2] == (0x0800, 22)


def test_vlan_truncated_and_too_many():
    with pytest.raises(Truncated):
        parse_link(1, DSTB + SRCB + b"\x81\x00\x00")
    data = DSTB + SRCB + b"\x81\x00\x00\x01" * (link.MAX_VLAN_TAGS + 1) + b"\x08\x00"
    with pytest.raises(Malformed):
        parse_link(1, data)
    ok = DSTB + SRCB + b"\x81\x00\x00\x01" * link.MAX_VLAN_TAGS + b"\x08\x00"
    assert parse_link(1, ok)[4] == (1,) * link.MAX_VLAN_TAGS


def test_8023_llc_clnp():
    """802.3 length field + LLC DSAP/SSAP 0xFE (ISO network layer, e.g. GSSE over CLNP)."""
    payload = b"\x81\x20\x01" + b"x" * 30
    data = bytes(Dot3(src=SRC, dst=DST) / LLC(dsap=0xFE, ssap=0xFE, ctrl=3) / Raw(payload))
    et, off, src, dst, vids, prio = parse_link(1, data)
    assert (et, off, src, dst) == (ETH_8023, 14, SRCB, DSTB) and ETH_8023 == -1
    length = int.from_bytes(data[off - 2:off], "big")
    assert length == 3 + len(payload)
    assert parse_llc(data, off, off + length) == (0xFE, 0xFE, 3, 17, None, None)
    assert data[17:off + length] == payload


def test_8023_llc_snap_and_i_format():
    data = bytes(Dot3(src=SRC, dst=DST) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
                 / SNAP(OUI=0x00000C, code=0x2000) / Raw(b"cdp"))
    et, off = parse_link(1, data)[:2]
    assert et == ETH_8023
    assert parse_llc(data, off) == (0xAA, 0xAA, 3, off + 8, 0x00000C, 0x2000)
    i_format = b"\x42\x42\x00\x05" + b"bpdu"
    assert parse_llc(i_format, 0) == (0x42, 0x42, 0x0500, 4, None, None)
    with pytest.raises(Truncated):
        parse_llc(b"\xfe\xfe", 0)
    with pytest.raises(Truncated):
        parse_llc(b"\xaa\xaa\x03\x00", 0)


def test_8023_inside_vlan():
    data = DSTB + SRCB + b"\x81\x00\x00\x09" + b"\x00\x10" + b"\xfe\xfe\x03" + b"\0" * 13
    assert parse_link(1, data) == (ETH_8023, 18, SRCB, DSTB, (9,), 0)


@pytest.mark.parametrize("n", [0, 1, 13])
def test_ethernet_truncated(n):
    with pytest.raises(Truncated) as exc:
        parse_link(1, bytes(Ether())[:n])
    assert exc.value.code == "eth.truncated"


# ---------------------------------------------------------------- Linux cooked
def sll(proto, pkttype=0, hatype=1, addr=SRCB):
    return struct.pack("!HHH8sH", pkttype, hatype, len(addr), addr.ljust(8, b"\0"), proto)


def sll2(proto, hatype=1, addr=SRCB):
    return struct.pack("!HHiHBB8s", proto, 0, 3, hatype, 4, len(addr), addr.ljust(8, b"\0"))


def test_sll_v1():
    data = sll(0x0800) + bytes(IP())
    assert parse_link(113, data) == (0x0800, 16, SRCB, None, (), None)


def test_sll_v1_vlan_inline_and_llc():
    data = sll(0x8100) + b"\xa0\x01\x88\xb8" + GOOSE_PDU
    assert parse_link(113, data) == (0x88B8, 20, SRCB, None, (1,), 5)
    assert parse_link(113, sll(0x0004) + b"\xfe\xfe\x03")[:2] == (ETH_8023, 16)


def test_sll_non_ethernet_address():
    data = sll(0x0800, hatype=772, addr=b"") + bytes(IP())
    assert parse_link(113, data)[2] is None
    data = sll(0x0800, hatype=65534, addr=b"\x01\x02\x03\x04\x05\x06") + bytes(IP())
    assert parse_link(113, data)[2] is None


def test_sll_v2():
    data = sll2(0x86DD) + bytes(IPv6())
    assert parse_link(276, data) == (0x86DD, 20, SRCB, None, (), None)
    data = sll2(0x8100) + b"\x00\x0a\x88\xba" + b"sv"
    assert parse_link(276, data) == (0x88BA, 24, SRCB, None, (10,), 0)


@pytest.mark.parametrize("lt, n", [(113, 15), (276, 19)])
def test_sll_truncated(lt, n):
    with pytest.raises(Truncated):
        parse_link(lt, b"\0" * n)


# ---------------------------------------------------------------- raw IP, null, loop
@pytest.mark.parametrize("lt", [101, 12, 14, 228, 229])
def test_raw_ip(lt):
    assert parse_link(lt, bytes(IP())) == (0x0800, 0, None, None, (), None)
    assert parse_link(lt, bytes(IPv6())) == (0x86DD, 0, None, None, (), None)
    with pytest.raises(Malformed):
        parse_link(lt, b"\x50" + b"\0" * 19)
    with pytest.raises(Truncated):
        parse_link(lt, b"")


@pytest.mark.parametrize("af, et", [(2, 0x0800), (24, 0x86DD), (28, 0x86DD), (30, 0x86DD)])
def test_null_and_loop(af, et):
    for order in ("<", ">"):  # DLT_NULL: the writer's host byte order
        assert parse_link(0, struct.pack(order + "I", af) + b"\x45")[:2] == (et, 4)
    assert parse_link(108, struct.pack(">I", af) + b"\x45") == (et, 4, None, None, (), None)


def test_null_bad_af_and_short():
    with pytest.raises(Unsupported):
        parse_link(0, struct.pack("<I", 7))
    with pytest.raises(Truncated):
        parse_link(108, b"\0\0")


def test_unsupported_linktype():
    with pytest.raises(Unsupported) as exc:
        parse_link(105, b"\0" * 64)
    assert exc.value.code == "link.unsupported" and "105" in str(exc.value)
    assert isinstance(exc.value, DecodeError)


def test_tables_and_mac_str():
    assert {0, 1, 12, 14, 101, 108, 113, 228, 229, 276} == set(SUPPORTED_LINKTYPES)
    assert LINKTYPE_NAMES[1] == "ether" and LINKTYPE_NAMES[113] == "linux-sll"
    assert LINKTYPE_NAMES[276] == "linux-sll2"
    assert link.linktype_name(1) == "ether" and link.linktype_name(4242) == "linktype 4242"
    assert mac_str(DSTB) == "01:0c:cd:01:00:01"
    assert mac_str(DSTB) is mac_str(bytes(DSTB))  # cached
    assert mac_str(bytearray(SRCB)) == SRC
    assert mac_str(None) == ""


def test_link_fuzz_only_decode_errors():
    rnd = random.Random(7)
    seeds = [bytes(Ether() / Dot1Q() / Dot1Q() / IP()), sll(0x8100) + b"\x81\x00",
             sll2(0x88A8) + b"\x00\x01\x81\x00", b"\x02\0\0\0", bytes(IPv6())]
    for _ in range(5000):
        data = bytearray(rnd.choice(seeds))[:rnd.randrange(40)]
        for _ in range(rnd.randrange(4)):
            if data:
                data[rnd.randrange(len(data))] = rnd.choice(
                    (0x81, 0x00, 0x88, 0xA8, 0x91, rnd.randrange(256)))
        for lt in (0, 1, 12, 101, 108, 113, 276, 999):
            try:
                res = parse_link(lt, bytes(data))
            except DecodeError:
                continue
            assert res[1] <= len(data)


# ---------------------------------------------------------------- IPv4
def test_ipv4_basic_and_padding():
    pkt = IP(src="192.168.1.10", dst="192.168.1.20", id=77) / UDP(sport=1, dport=2) / Raw(b"ab")
    data = b"\xee" * 14 + bytes(pkt) + b"\0" * 10  # Ethernet padding after the datagram
    src, dst, proto, poff, pend, frag, trunc = parse_ipv4(data, 14)
    assert (src, dst, proto, poff, pend, frag, trunc) == (
        "192.168.1.10", "192.168.1.20", 17, 34, 14 + 30, None, False)


def test_ipv4_options_and_snaplen_cut():
    pkt = bytes(IP(options=b"\x94\x04\x00\x00") / TCP() / Raw(b"x" * 100))
    assert parse_ipv4(pkt, 0)[3] == 24
    src, dst, proto, poff, pend, frag, trunc = parse_ipv4(pkt[:60], 0)
    assert (poff, pend, trunc) == (24, 60, True)


def test_ipv4_tso_zero_total_length():
    pkt = bytearray(bytes(IP() / TCP() / Raw(b"y" * 50)))
    pkt[2:4] = b"\0\0"
    assert parse_ipv4(bytes(pkt), 0)[4:] == (len(pkt), None, False)


def test_ipv4_fragment_info():
    frags = fragment(IP(id=4321) / UDP() / Raw(b"z" * 100), fragsize=40)
    infos = [parse_ipv4(bytes(f), 0)[5] for f in frags]
    assert infos == [(4321, 0, True), (4321, 40, True), (4321, 80, False)]
    assert parse_ipv4(bytes(IP(flags="DF") / TCP()), 0)[5] is None


@pytest.mark.parametrize("mutate, exc", [
    (lambda b: b[:19], Truncated),
    (lambda b: b"\x65" + b[1:], Malformed),              # version 6
    (lambda b: b"\x44" + b[1:], Malformed),              # IHL 4
    (lambda b: b"\x4f" + b[1:], Truncated),              # IHL 15, header not captured
    (lambda b: b[:2] + b"\x00\x10" + b[4:], Malformed),  # total length < header
])
def test_ipv4_errors(mutate, exc):
    with pytest.raises(exc) as e:
        parse_ipv4(mutate(bytes(IP() / TCP())), 0)
    assert e.value.layer == "ip"


# ---------------------------------------------------------------- IPv6
def test_ipv6_basic():
    pkt = bytes(IPv6(src="fe80::1", dst="ff02::1") / UDP() / Raw(b"abc"))
    assert parse_ipv6(pkt + b"\0\0", 0) == ("fe80::1", "ff02::1", 17, 40, 51, None, False)


def test_ipv6_extension_headers_skipped():
    pkt = bytes(IPv6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(addresses=["2001:db8::1"])
                / IPv6ExtHdrDestOpt() / TCP(sport=1, dport=102) / Raw(b"tpkt"))
    src, dst, proto, poff, pend, frag, trunc = parse_ipv6(pkt, 0)
    assert (proto, frag, trunc) == (6, None, False)
    assert parse_tcp(pkt, poff, pend)[:2] == (1, 102)


def test_ipv6_ah_skipped():
    pkt = bytes(IPv6() / AH(nh=17, payloadlen=4, icv=b"\0" * 12) / UDP(sport=5, dport=6))
    src, dst, proto, poff, pend, frag, trunc = parse_ipv6(pkt, 0)
    assert proto == 17 and parse_udp(pkt, poff, pend)[:2] == (5, 6)


def test_ipv6_fragment_header():
    frags = fragment6(IPv6() / IPv6ExtHdrFragment(id=99) / UDP() / Raw(b"q" * 200), 120)
    infos = [parse_ipv6(bytes(f), 0) for f in frags]
    assert len(infos) > 1 and infos[0][5][1:] == (0, True) and infos[-1][5][2] is False
    assert all(i[2] == 17 and i[5][0] == 99 and i[3] == 48 for i in infos)
    r = FragmentReassembler()
    done = [r.add(i[5][0], i[5][1], i[5][2], bytes(f)[i[3]:i[4]], 0.0)
            for f, i in zip(frags, infos)]
    assert done[-1] == bytes(IPv6() / UDP() / Raw(b"q" * 200))[40:]


def test_ipv6_errors():
    with pytest.raises(Truncated):
        parse_ipv6(bytes(IPv6())[:39], 0)
    with pytest.raises(Malformed):
        parse_ipv6(b"\x40" + bytes(IPv6())[1:], 0)
    pkt = bytes(IPv6() / IPv6ExtHdrDestOpt() / TCP())
    with pytest.raises(Truncated):
        parse_ipv6(pkt[:44], 0)
    chain = bytes(IPv6(nh=60, plen=8 * 40))[:40] + b"\x3c\x00\x01\x04\x00\x00\x00\x00" * 40
    with pytest.raises(Malformed, match="extension"):
        parse_ipv6(chain, 0)  # 40 chained Destination Options headers
    over = bytes(IPv6(nh=60, plen=8))[:40] + b"\x06\x01" + b"\0" * 14  # ext len 16 > plen 8
    with pytest.raises(Malformed, match="past the payload"):
        parse_ipv6(over, 0)


# ---------------------------------------------------------------- TCP / UDP
def test_tcp():
    pkt = bytes(TCP(sport=49152, dport=102, seq=1000, ack=2000, flags="PA",
                    options=[("MSS", 1460), ("NOP", None), ("NOP", None)]) / Raw(b"\x03\x00"))
    sport, dport, seq, ack, flags, poff = parse_tcp(pkt, 0, len(pkt))
    assert (sport, dport, seq, ack, poff) == (49152, 102, 1000, 2000, 28)
    assert flags == TCP_PSH | TCP_ACK and not flags & TCP_SYN
    assert pkt[poff:] == b"\x03\x00"


def test_tcp_errors():
    pkt = bytes(TCP(options=[("MSS", 1460)]))
    with pytest.raises(Truncated):
        parse_tcp(pkt, 0, 19)
    with pytest.raises(Truncated):
        parse_tcp(pkt, 0, 22)
    bad = pkt[:12] + b"\x40" + pkt[13:]
    with pytest.raises(Malformed):
        parse_tcp(bad, 0, len(bad))


def test_udp():
    pkt = bytes(UDP(sport=1, dport=102) / Raw(b"hello"))
    assert parse_udp(pkt + b"pad", 0, len(pkt) + 3) == (1, 102, 8, 13)
    assert parse_udp(pkt[:10], 0, 10) == (1, 102, 8, 10)
    with pytest.raises(Truncated):
        parse_udp(pkt, 0, 7)
    with pytest.raises(Malformed):
        parse_udp(pkt[:4] + b"\x00\x05" + pkt[6:], 0, len(pkt))
    assert parse_udp(pkt[:4] + b"\0\0" + pkt[6:], 0, len(pkt))[3] == len(pkt)


def test_ip_fuzz_only_decode_errors():
    rnd = random.Random(3)
    seeds = [bytes(IP(options=b"\x01" * 4) / TCP() / Raw(b"x")),
             bytes(IPv6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment() / UDP())]
    for _ in range(4000):
        data = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randrange(1, 4)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        data = bytes(data[:rnd.randrange(len(data) + 1)])
        for fn in (parse_ipv4, parse_ipv6):
            try:
                r = fn(data, 0)
            except DecodeError:
                continue
            assert r[3] <= len(data) and r[4] <= len(data)
            for up in (parse_tcp, parse_udp):
                try:
                    up(data, r[3], r[4])
                except DecodeError:
                    pass


# ---------------------------------------------------------------- fragment reassembly
def _frags(payload, size):
    return [(i, i + size < len(payload), payload[i:i + size]) for i in range(0, len(payload), size)]


def test_reassembly_in_order():
    r = FragmentReassembler()
    payload = bytes(range(256)) * 3
    out = [r.add("k", off, more, b, 1.0) for off, more, b in _frags(payload, 200)]
    assert out[:-1] == [None] * (len(out) - 1) and out[-1] == payload
    assert len(r) == 0 and r.findings == []


def test_reassembly_out_of_order():
    r = FragmentReassembler()
    payload = bytes(random.Random(1).randrange(256) for _ in range(1000))
    parts = _frags(payload, 96)
    order = [3, 10, 0, 7, 1, 9, 2, 4, 8, 5, 6]
    results = [r.add(("a", "b", 17, 1), *parts[i], 2.0) for i in order]
    assert results[-1] == payload and all(x is None for x in results[:-1])
    assert r.findings == []


def test_reassembly_of_scapy_ipv4_fragments():
    pkt = (IP(src="1.1.1.1", dst="2.2.2.2", id=5) / UDP(sport=102, dport=102)
           / Raw(bytes(range(200)) * 10))
    r = FragmentReassembler()
    done = None
    for f in fragment(pkt, fragsize=480)[::-1]:
        data = bytes(f)
        src, dst, proto, poff, pend, (ident, off, more), _ = parse_ipv4(data, 0)
        done = r.add((src, dst, proto, ident), off, more, data[poff:pend], 0.0, frame=1) or done
    assert done == bytes(pkt)[20:]


def test_reassembly_overlap():
    r = FragmentReassembler()
    assert r.add("k", 0, True, b"A" * 16, 0.0, frame=1) is None
    assert r.add("k", 8, True, b"A" * 8 + b"B" * 8, 0.0, frame=2) is None   # same bytes in overlap
    assert r.findings[-1].code == "ip.fragment_overlap" and r.findings[-1].severity == "note"
    assert r.add("k", 16, True, b"X" * 8, 0.0, frame=3) is None            # conflicts with B
    assert r.findings[-1].severity == "warning" and r.findings[-1].frame == 3
    out = r.add("k", 24, False, b"C" * 8, 0.0, frame=4)
    assert out == b"A" * 16 + b"B" * 8 + b"C" * 8                           # first arrival wins


def test_reassembly_exact_duplicate_is_silent():
    r = FragmentReassembler()
    r.add("k", 0, True, b"a" * 8, 0.0)
    r.add("k", 0, True, b"a" * 8, 0.0)
    assert r.add("k", 8, False, b"b", 0.0) == b"a" * 8 + b"b" and r.findings == []


def test_reassembly_expiry():
    r = FragmentReassembler()
    assert r.add("old", 0, True, b"a" * 8, 100.0, frame=1) is None
    assert r.add("new", 0, True, b"n" * 8, 110.0, frame=2) is None
    assert r.add("new", 8, False, b"m", 100.0 + FRAGMENT_TIMEOUT + 1, frame=3) == b"n" * 8 + b"m"
    assert [(f.code, f.frame) for f in r.findings] == [("ip.fragment_timeout", 1)]
    # the late last fragment of the expired datagram starts a new, incomplete one
    assert r.add("old", 8, False, b"b", 131.5, frame=4) is None
    assert len(r) == 1
    r.flush()
    assert r.findings[-1].code == "ip.fragment_timeout" and len(r) == 0


def test_reassembly_too_big_and_inconsistent():
    r = FragmentReassembler()
    r.add("k", 0, True, b"a" * 8, 0.0)
    assert r.add("k", MAX_DATAGRAM - 4, False, b"b" * 8, 0.0, frame=9) is None
    assert r.findings[-1].code == "ip.fragment_too_big" and len(r) == 0
    r.add("j", 16, False, b"x" * 8, 0.0)
    assert r.add("j", 16, False, b"x" * 16, 0.0) is None
    assert r.findings[-1].code == "ip.fragment_inconsistent" and len(r) == 0


def test_reassembly_bounded_pending():
    r = FragmentReassembler()
    for i in range(MAX_PENDING + 10):
        r.add(i, 0, True, b"x" * 8, float(i) * 0.01, frame=i + 1)
    assert len(r) == MAX_PENDING
    evicted = [f for f in r.findings if f.code == "ip.fragment_evicted"]
    assert [f.frame for f in evicted] == list(range(1, 11))
    assert r.add(0, 8, False, b"y", 1.0) is None  # key 0 was evicted
