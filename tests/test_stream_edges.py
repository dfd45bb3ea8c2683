"""Stream edge cases built with scapy around real MMS payloads.

The payloads come from a real capture in ../shared (a model browse of a real IED
with multi-segment TPKTs and COTP-segmented PDUs).  Packets are crafted with scapy:
one template per direction, whose sequence number, length and payload are then
patched per segment (building 100k scapy objects for the byte-wise case would take
minutes).  Its TCP segments are
re-cut and re-sent in hostile ways; every variant must decode to the same MMS
PDUs as the clean one (or, for lost data, to the clean ones minus those touched).
"""

import os
import random
import struct

import pytest

scapy = pytest.importorskip("scapy.all")
from scapy.all import IP, TCP, Ether, rdpcap  # noqa: E402

from mmsanalyze.io.frame import RawFrame  # noqa: E402
from mmsanalyze.pipeline import Pipeline  # noqa: E402
from mmsanalyze.records import PduRecord  # noqa: E402

PUBLIC = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "captures", "public")
SOURCE = os.path.join(PUBLIC, "mms_emre_wamp_model_browse.pcap")
CLIENT, SERVER = ("10.9.0.1", 40000), ("10.9.0.2", 102)

pytestmark = pytest.mark.skipif(not os.path.exists(SOURCE), reason="../shared captures not present")


def original_segments():
    """(direction, payload) of the first TCP-102 connection, in capture order, retransmissions dropped."""
    pkts = rdpcap(SOURCE)
    segs, seen, conn = [], set(), None
    for p in pkts:
        if TCP not in p or not bytes(p[TCP].payload):
            continue
        t = p[TCP]
        key = tuple(sorted([(p[IP].src, t.sport), (p[IP].dst, t.dport)]))
        conn = conn or key
        if key != conn:
            continue
        d = 0 if t.dport == 102 else 1
        if (d, t.seq) in seen:
            continue
        seen.add((d, t.seq))
        segs.append((d, bytes(t.payload)))
    return segs


def _template(a, b, flags):
    """Ethernet/IPv4/TCP header bytes from scapy, and the offsets to patch."""
    hdr = bytes(Ether() / IP(src=a[0], dst=b[0]) / TCP(sport=a[1], dport=b[1], flags=flags, seq=0))
    return bytearray(hdr)


def _frame(tpl: bytearray, seq: int, data: bytes) -> bytes:
    f = bytearray(tpl)
    struct.pack_into(">H", f, 16, 20 + 20 + len(data))      # IPv4 total length
    struct.pack_into(">I", f, 38, seq & 0xFFFFFFFF)          # TCP sequence number
    return bytes(f) + data


def build(segments, syn=True):
    """segments: list of (direction, offset_in_direction_stream, bytes) -> RawFrames."""
    isn = [1000, 5000]
    tpl = [_template(CLIENT, SERVER, "PA"), _template(SERVER, CLIENT, "PA")]
    frames = []
    n = 0

    def add(b):
        nonlocal n
        n += 1
        frames.append(RawFrame(n, 1000.0 + n * 0.001, 1, b, len(b), 0))

    if syn:
        add(bytes(Ether() / IP(src=CLIENT[0], dst=SERVER[0]) / TCP(sport=CLIENT[1], dport=SERVER[1], flags="S", seq=isn[0] - 1)))
        add(bytes(Ether() / IP(src=SERVER[0], dst=CLIENT[0]) / TCP(sport=SERVER[1], dport=CLIENT[1], flags="SA", seq=isn[1] - 1)))
    for d, off, data in segments:
        add(_frame(tpl[d], isn[d] + off, data))
    return frames


def with_offsets(segs):
    off = [0, 0]
    out = []
    for d, data in segs:
        out.append((d, off[d], data))
        off[d] += len(data)
    return out


def decode(frames):
    p = Pipeline()
    recs = []
    for fr in frames:
        recs += p.feed(fr)
    recs += p.finish()
    pdus = [(r.direction, r.pdu, r.service, r.invoke_id) for r in recs if isinstance(r, PduRecord)]
    return pdus, p.findings


@pytest.fixture(scope="module")
def clean():
    segs = with_offsets(original_segments())
    pdus, findings = decode(build(segs))
    assert len(pdus) >= 40 and not [f for f in findings if f.severity == "error"]
    return segs, pdus


def test_bytewise(clean):
    segs, pdus = clean
    one = [(d, off + i, data[i:i + 1]) for d, off, data in segs for i in range(len(data))]
    assert decode(build(one))[0] == pdus


def test_random_chunks(clean):
    segs, pdus = clean
    rnd = random.Random(1)
    out = []
    for d, off, data in segs:
        i = 0
        while i < len(data):
            k = rnd.randint(1, 700)
            out.append((d, off + i, data[i:i + k]))
            i += k
    assert decode(build(out))[0] == pdus


def test_duplicated_and_overlapping(clean):
    segs, pdus = clean
    dup = [s for s in segs for _ in (0, 1)]
    assert decode(build(dup))[0] == pdus
    overl = []
    for d, off, data in segs:
        back = min(off, 3)
        overl.append((d, off - back, b"\0" * back + data))   # overlapping bytes differ: first copy wins
    # the garbage prefix overlaps already delivered bytes, so it must be ignored
    assert decode(build(overl))[0] == pdus


def test_reordered_within_direction(clean):
    segs, pdus = clean
    out = list(segs)
    # swap each pair of consecutive same-direction segments
    i = 0
    while i + 1 < len(out):
        if out[i][0] == out[i + 1][0]:
            out[i], out[i + 1] = out[i + 1], out[i]
            i += 2
        else:
            i += 1
    got = decode(build(out))[0]
    assert sorted(got, key=repr) == sorted(pdus, key=repr)
    assert [p for p in got if p[0] == 0] == [p for p in pdus if p[0] == 0]
    assert [p for p in got if p[0] == 1] == [p for p in pdus if p[0] == 1]


def test_coalesced_many_tpkts_per_segment(clean):
    segs, pdus = clean
    out = []
    for d, off, data in segs:
        if out and out[-1][0] == d:
            pd, poff, pdata = out[-1]
            out[-1] = (d, poff, pdata + data)
        else:
            out.append((d, off, data))
    assert len(out) < len(segs)
    assert decode(build(out))[0] == pdus


def test_midstream_start(clean):
    segs, pdus = clean
    cut = len(segs) // 3
    # cut inside a segment, so the capture starts in the middle of a TPKT
    d, off, data = segs[cut]
    rest = [(d, off + 5, data[5:])] + segs[cut + 1:]
    got, findings = decode(build(rest, syn=False))
    assert got and pdus[-len(got):] == got      # a tail of the clean PDUs, nothing invented
    assert len(got) >= len(pdus) - cut - 8
    assert any(f.code == "tcp.midstream" for f in findings)


def test_lost_segment(clean):
    segs, pdus = clean
    lost = len(segs) // 2
    got, findings = decode(build(segs[:lost] + segs[lost + 1:]))
    assert any(f.code == "tcp.gap" for f in findings)
    # everything decoded is a real PDU, in order within its direction, and most survive
    # (the direction with the hole is held back until the hole is given up, so the
    # interleaving of the two directions may change)
    for d in (0, 1):
        it = iter([p for p in pdus if p[0] == d])
        assert all(any(p == q for q in it) for p in got if p[0] == d)
    assert len(got) >= len(pdus) - 4
