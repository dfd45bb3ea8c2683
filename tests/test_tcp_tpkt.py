"""Per-layer tests: TCP byte-stream reassembly and the TPKT framer."""

import random

from mmsanalyze.net.tcp import MAX_PENDING_SEGMENTS, ConnectionTable, Reassembler, SYN, ACK, FIN
from mmsanalyze.osi.tpkt import TpktFramer


def collect(chunks):
    return b"".join(c[2] for c in chunks)


def test_in_order_and_retransmission():
    r = Reassembler()
    r.syn(1000)
    assert collect(r.add(1001, b"abc", 1, 0.0)) == b"abc"
    assert r.add(1001, b"abc", 2, 0.0) == []        # retransmission
    assert r.retransmitted == 1
    assert collect(r.add(1002, b"bcdef", 3, 0.0)) == b"def"   # overlap trimmed
    assert r.next_seq == 1007


def test_out_of_order_credited_to_filling_frame():
    r = Reassembler()
    r.syn(0)
    assert r.add(4, b"def", 2, 2.0) == []            # hole at 1..3
    out = r.add(1, b"abc", 3, 3.0)
    assert collect(out) == b"abcdef"
    assert [c[0] for c in out] == [3, 3]             # both credited to the frame that filled the hole


def test_sequence_wraparound():
    r = Reassembler()
    r.syn(0xFFFFFFFE)
    assert collect(r.add(0xFFFFFFFF, b"ab", 1, 0.0)) == b"ab"
    assert collect(r.add(1, b"cd", 2, 0.0)) == b"cd"


def test_lost_segment_gives_gap_after_limit():
    r = Reassembler()
    r.syn(0)
    r.add(1, b"x" * 10, 1, 0.0)
    out = []
    seq = 21                                          # 10 bytes (11..20) lost
    for i in range(MAX_PENDING_SEGMENTS + 1):
        out += r.add(seq, b"y" * 5, 10 + i, 0.0)
        seq += 5
    assert out and out[0][3] == 10                   # gap of 10 bytes reported
    assert [c[0] for c in out] == list(range(10, 10 + len(out)))   # each keeps its own frame
    assert r.lost_bytes == 10


def test_flush_gives_up_holes():
    r = Reassembler()
    r.syn(0)
    r.add(5, b"zz", 4, 0.0)
    out = r.flush()
    assert out[0][2] == b"zz" and out[0][3] == 4


def test_connection_table_streams_and_port_reuse():
    t = ConnectionTable()
    c1, d, new = t.lookup("10.0.0.1", 5000, "10.0.0.2", 102, SYN, 100, 1, 0.0)
    assert new and c1.stream == 0 and d == 0 and c1.client == ("10.0.0.1", 5000)
    c, d, new = t.lookup("10.0.0.2", 102, "10.0.0.1", 5000, SYN | ACK, 7, 2, 0.0)
    assert c is c1 and d == 1 and not new
    c, d, new = t.lookup("10.0.0.1", 5000, "10.0.0.2", 102, SYN, 100, 3, 0.0)   # SYN retransmitted
    assert c is c1
    c1.fin = [True, True]
    c2, d, new = t.lookup("10.0.0.1", 5000, "10.0.0.2", 102, SYN, 999, 4, 0.0)  # port reuse
    assert new and c2.stream == 1
    assert list(t) == [c1, c2]               # the replaced connection is still listed
    c3, d, new = t.lookup("10.0.0.2", 102, "10.0.0.9", 6000, ACK, 5, 5, 0.0)    # mid-stream, server speaks first
    assert c3.client == ("10.0.0.9", 6000) and d == 1


def tpkt(payload: bytes) -> bytes:
    return bytes([3, 0]) + (len(payload) + 4).to_bytes(2, "big") + payload


DT = bytes([2, 0xF0, 0x80])


def test_tpkt_many_per_chunk_and_split():
    units = [tpkt(DT + bytes([i]) * i) for i in range(1, 6)]
    stream = b"".join(units)
    whole = [p for _, _, p in TpktFramer().feed(stream, 1, 0.0)]
    assert whole == [u[4:] for u in units]
    f = TpktFramer()
    bytewise = []
    for i in range(len(stream)):
        bytewise += [p for _, _, p in f.feed(stream[i:i + 1], i, 0.0)]
    assert bytewise == whole
    rnd = random.Random(7)
    f = TpktFramer()
    chunked, i = [], 0
    while i < len(stream):
        k = rnd.randint(1, 9)
        chunked += [p for _, _, p in f.feed(stream[i:i + k], i, 0.0)]
        i += k
    assert chunked == whole


def test_tpkt_resync_midstream():
    units = [tpkt(DT + b"hello"), tpkt(DT + b"world")]
    junk = b"\x99\x03\x00\x12garbage"     # includes a fake 03 00 that is not plausible
    f = TpktFramer(synced=False)
    got = [p for _, _, p in f.feed(junk + b"".join(units), 1, 0.0)]
    assert got == [u[4:] for u in units]
    assert f.skipped == len(junk) and f.resyncs == 1


def test_tpkt_gap_drops_partial():
    u = tpkt(DT + b"abcdef")
    f = TpktFramer()
    assert f.feed(u[:6], 1, 0.0) == []
    f.gap()
    got = [p for _, _, p in f.feed(b"\x01\x02" + u, 2, 0.0)]
    assert got == [u[4:]]
