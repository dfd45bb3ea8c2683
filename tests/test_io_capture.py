"""Capture file reading: pcap / pcapng / gzip, hostile files, public captures."""

from __future__ import annotations

import gzip
import io
import random
import re
import struct
import tracemalloc
from pathlib import Path

import pytest

import public

from mmsanalyze.errors import CaptureError, DecodeError
from mmsanalyze.findings import Finding
from mmsanalyze.io.capture import CaptureReader, RawFrame, open_capture
from mmsanalyze.io.frame import MAX_CAPLEN
from mmsanalyze.net.link import SUPPORTED_LINKTYPES, linktype_name, parse_link

PUBLIC = Path(public.PUBLIC)   # ../shared/captures/public relative to the repo

ETH = bytes.fromhex("010ccd010001" "020202020202" "88b8") + b"goose-payload"


# ---------------------------------------------------------------- writers
def pcap(frames, order="<", nsec=False, linktype=1, snaplen=65535, modified=False):
    """frames: (sec, frac, data[, orig_len])"""
    magic = 0xA1B2CD34 if modified else (0xA1B23C4D if nsec else 0xA1B2C3D4)
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for fr in frames:
        sec, frac, data = fr[:3]
        orig = fr[3] if len(fr) > 3 else len(data)
        out.append(struct.pack(order + "IIII", sec, frac, len(data), orig))
        if modified:
            out.append(b"\0" * 8)
        out.append(data)
    return b"".join(out)


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def block(o, btype, body):
    body = pad4(body)
    n = len(body) + 12
    return struct.pack(o + "II", btype, n) + body + struct.pack(o + "I", n)


def opt(o, code, value):
    return struct.pack(o + "HH", code, len(value)) + pad4(value)


def endopt(o):
    return struct.pack(o + "HH", 0, 0)


def shb(o, options=b""):
    return block(o, 0x0A0D0D0A, struct.pack(o + "IHHq", 0x1A2B3C4D, 1, 0, -1) + options)


def idb(o, linktype, snaplen=0, tsresol=None, tsoffset=None, name=None):
    opts = b""
    if name:
        opts += opt(o, 2, name)
    if tsresol is not None:
        opts += opt(o, 9, bytes([tsresol]))
    if tsoffset is not None:
        opts += opt(o, 14, struct.pack(o + "q", tsoffset))
    if opts:
        opts += endopt(o)
    return block(o, 1, struct.pack(o + "HHI", linktype, 0, snaplen) + opts)


def epb(o, ifid, units, data, orig=None, options=b""):
    return block(o, 6, struct.pack(o + "IIIII", ifid, units >> 32, units & 0xFFFFFFFF,
                                   len(data), len(data) if orig is None else orig)
                 + pad4(data) + options)


def spb(o, data, orig):
    return block(o, 3, struct.pack(o + "I", orig) + data)


def old_pb(o, ifid, units, data):
    return block(o, 2, struct.pack(o + "HHIIII", ifid, 0, units >> 32, units & 0xFFFFFFFF,
                                   len(data), len(data)) + pad4(data))


def read_all(src):
    with open_capture(src) as rd:
        frames = list(rd)
    return rd, frames


def write(tmp_path, data, name="x.cap"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


# ---------------------------------------------------------------- pcap
@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nsec", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path, order, nsec):
    frac = 123456789 if nsec else 123456
    frames = [(1700000000 + i, frac, ETH + bytes([i]) * i, 1000 + i) for i in range(3)]
    rd, got = read_all(write(tmp_path, pcap(frames, order, nsec), "a.pcapng"))  # extension lies
    assert rd.format == "pcap" and rd.linktypes == {1} and rd.findings == []
    assert [f.number for f in got] == [1, 2, 3]
    for i, f in enumerate(got):
        assert isinstance(f, RawFrame) and isinstance(f, tuple)
        assert f.linktype == 1 and f.interface == 0
        assert f.data == ETH + bytes([i]) * i and f.orig_len == 1000 + i
        assert f.ts == pytest.approx(1700000000 + i + (0.123456789 if nsec else 0.123456), abs=1e-6)
    assert got[0] == (1, got[0].ts, 1, got[0].data, 1000, 0)  # plain tuple layout


def test_pcap_modified_kuznetzov(tmp_path):
    rd, got = read_all(write(tmp_path, pcap([(1, 0, ETH), (2, 5, ETH)], modified=True)))
    assert [f.data for f in got] == [ETH, ETH] and got[1].ts == pytest.approx(2.000005)


def test_pcap_linktype_high_bits_ignored_and_other_linktype(tmp_path):
    data = pcap([(1, 0, b"\x45" + b"\0" * 19)], linktype=101 | 0x04000000 | (2 << 28))
    rd, got = read_all(write(tmp_path, data))
    assert rd.linktypes == {101} and got[0].linktype == 101


def test_pcap_empty_capture_no_frames(tmp_path):
    rd, got = read_all(write(tmp_path, pcap([])))
    assert got == [] and rd.findings == []


def test_pcap_zero_length_record(tmp_path):
    rd, got = read_all(write(tmp_path, pcap([(1, 0, b""), (2, 0, ETH)])))
    assert [f.data for f in got] == [b"", ETH] and rd.findings == []


def test_pcap_snaplen_cut_is_not_a_finding(tmp_path):
    rd, got = read_all(write(tmp_path, pcap([(1, 0, ETH[:10], 1514)])))
    assert got[0].orig_len == 1514 and len(got[0].data) == 10 and rd.findings == []


@pytest.mark.parametrize("cut", [1, 10, 16, 16 + 5])
def test_pcap_truncated_last_record(tmp_path, cut):
    good = pcap([(1, 0, ETH), (2, 0, ETH)])
    rec = struct.pack("<IIII", 3, 0, len(ETH), len(ETH)) + ETH
    rd, got = read_all(write(tmp_path, good + rec[:cut]))
    assert [f.number for f in got] == [1, 2]
    assert len(rd.findings) == 1
    f = rd.findings[0]
    assert isinstance(f, Finding)
    assert (f.code, f.severity, f.frame) == ("capture.truncated_record", "warning", 3)


def test_pcap_hostile_caplen_stops(tmp_path):
    data = pcap([(1, 0, ETH)]) + struct.pack("<IIII", 2, 0, 0x7FFFFFF0, 60) + b"x" * 100
    rd, got = read_all(write(tmp_path, data))
    assert len(got) == 1
    assert [(f.code, f.frame) for f in rd.findings] == [("capture.malformed_record", 2)]


def test_pcap_caplen_limit_is_256k(tmp_path):
    big = b"\0" * MAX_CAPLEN
    rd, got = read_all(write(tmp_path, pcap([(1, 0, big), (2, 0, big + b"\0")])))
    assert len(got) == 1 and len(got[0].data) == MAX_CAPLEN
    assert rd.findings[0].code == "capture.malformed_record"


def test_pcap_bad_version_and_short_header(tmp_path):
    data = bytearray(pcap([]))
    data[4] = 9
    with pytest.raises(CaptureError, match="version"):
        open_capture(write(tmp_path, bytes(data)))
    with pytest.raises(CaptureError, match="truncated pcap file header"):
        open_capture(write(tmp_path, pcap([])[:10], "b"))


# ---------------------------------------------------------------- pcapng
@pytest.mark.parametrize("o", ["<", ">"])
def test_pcapng_multi_interface_tsresol_options_and_skipped_blocks(tmp_path, o):
    T = 1700000000
    parts = [
        shb(o, opt(o, 1, b"section comment") + opt(o, 4, b"mmsanalyze test") + endopt(o)),
        idb(o, 1, name=b"eth0"),                                   # 0: Ethernet, µs
        idb(o, 113, tsresol=9, name=b"any"),                       # 1: SLL, ns
        idb(o, 101, tsresol=0x80 | 20, tsoffset=100),              # 2: raw IP, 2^-20 s, +100 s
        block(o, 4, b"\x01\x00\x08\x00" + b"\x0a\x00\x00\x01host\0\0\0\0" + b"\0\0\0\0"),  # NRB
        epb(o, 0, T * 10**6 + 250000, ETH,
            options=opt(o, 1, b"a packet comment") + opt(o, 2, b"\0\0\0\1") + endopt(o)),
        block(o, 0x00000BAD, b"\x00\x00\x7e\x4f" + b"custom data"),   # custom block
        epb(o, 1, T * 10**9 + 5, b"\0" * 14 + b"\x08\x00" + b"\x45" + b"\0" * 19),
        block(o, 0x12345678, b"unknown block body"),                # unknown block
        block(o, 5, struct.pack(o + "III", 0, 0, 0) + opt(o, 1, b"isb") + endopt(o)),  # ISB
        block(o, 0x0000000A, struct.pack(o + "II", 0x544c534b, 4) + b"keys"),  # DSB
        epb(o, 2, (T - 100) * 2**20 + 2**19, b"\x60" + b"\0" * 39),
    ]
    rd, got = read_all(write(tmp_path, b"".join(parts), "ng.pcap"))
    assert rd.format == "pcapng" and rd.linktypes == {1, 113, 101} and rd.findings == []
    assert [(f.number, f.interface, f.linktype) for f in got] == [
        (1, 0, 1), (2, 1, 113), (3, 2, 101)]
    assert got[0].ts == pytest.approx(T + 0.25, abs=1e-6)
    assert got[1].ts == pytest.approx(T + 5e-9, abs=1e-6)
    assert got[2].ts == pytest.approx(T + 0.5, abs=1e-6)
    assert got[0].data == ETH and got[0].orig_len == len(ETH)
    assert got[2].data == b"\x60" + b"\0" * 39


def test_pcapng_several_sections_with_different_byte_orders(tmp_path):
    data = (shb("<") + idb("<", 1) + epb("<", 0, 10**6, ETH)
            + shb(">") + idb(">", 276) + idb(">", 1) + epb(">", 0, 2 * 10**6, b"S" * 20)
            + epb(">", 1, 3 * 10**6, ETH))
    rd, got = read_all(write(tmp_path, data))
    assert [(f.number, f.linktype, f.interface, f.ts) for f in got] == [
        (1, 1, 0, 1.0), (2, 276, 0, 2.0), (3, 1, 1, 3.0)]
    assert rd.linktypes == {1, 276} and rd.findings == []


def test_pcapng_interface_from_previous_section_is_gone(tmp_path):
    data = shb("<") + idb("<", 1) + idb("<", 1) + shb("<") + idb("<", 1) + epb("<", 1, 0, ETH)
    rd, got = read_all(write(tmp_path, data))
    assert got == [] and rd.findings[0].code == "capture.malformed_record"


def test_pcapng_simple_packet_block(tmp_path):
    o = "<"
    data = (shb(o) + idb(o, 1, snaplen=20) + spb(o, ETH[:20], 100) + spb(o, ETH[:10], 10)
            + epb(o, 0, 7 * 10**6, ETH[:20], orig=60))
    rd, got = read_all(write(tmp_path, data))
    assert [(f.number, f.data, f.orig_len) for f in got] == [
        (1, ETH[:20], 100), (2, ETH[:10], 10), (3, ETH[:20], 60)]
    assert got[0].interface == 0 and got[0].linktype == 1 and got[2].ts == 7.0


def test_pcapng_spb_without_interface_is_malformed(tmp_path):
    rd, got = read_all(write(tmp_path, shb("<") + spb("<", ETH, len(ETH))))
    assert got == [] and rd.findings[0].code == "capture.malformed_record"


@pytest.mark.parametrize("o", ["<", ">"])
def test_pcapng_obsolete_packet_block(tmp_path, o):
    data = shb(o) + idb(o, 1, tsresol=3) + old_pb(o, 0, 1500, ETH)
    rd, got = read_all(write(tmp_path, data))
    assert [(f.number, f.data, f.ts) for f in got] == [(1, ETH, 1.5)]


def test_pcapng_no_packets(tmp_path):
    rd, got = read_all(write(tmp_path, shb("<") + idb("<", 1)))
    assert got == [] and rd.linktypes == {1} and rd.findings == []


def test_pcapng_linktypes_known_at_open(tmp_path):
    data = shb("<") + idb("<", 1) + idb("<", 147) + epb("<", 1, 0, b"x")
    with open_capture(write(tmp_path, data)) as rd:
        assert rd.linktypes == {1, 147}  # before iterating


@pytest.mark.parametrize("cut", [3, 8, 20, 40])
def test_pcapng_truncated_last_block(tmp_path, cut):
    head = shb("<") + idb("<", 1) + epb("<", 0, 0, ETH)
    last = epb("<", 0, 0, ETH)
    rd, got = read_all(write(tmp_path, head + last[:cut]))
    assert len(got) == 1
    assert [(f.code, f.severity, f.frame) for f in rd.findings] == [
        ("capture.truncated_record", "warning", 2)]


@pytest.mark.parametrize("mutate, what", [
    (lambda b: b[:4] + struct.pack("<I", 0x7FFFFFF0) + b[8:], "huge block length"),
    (lambda b: b[:4] + struct.pack("<I", 8) + b[8:], "block length < 12"),
    (lambda b: b[:4] + struct.pack("<I", len(b) - 2) + b[8:], "not a multiple of 4"),
    (lambda b: b[:-4] + struct.pack("<I", 12), "trailing length mismatch"),
    (lambda b: b[:20] + struct.pack("<I", 1000) + b[24:], "caplen > block"),
    (lambda b: b[:8] + struct.pack("<I", 7) + b[12:], "undefined interface"),
])
def test_pcapng_hostile_block_lengths(tmp_path, mutate, what):
    head = shb("<") + idb("<", 1) + epb("<", 0, 0, ETH)
    bad = mutate(epb("<", 0, 0, ETH))
    rd, got = read_all(write(tmp_path, head + bad + epb("<", 0, 0, ETH)))
    assert len(got) == 1, what
    assert [(f.code, f.frame) for f in rd.findings] == [("capture.malformed_record", 2)], what


def test_pcapng_bad_first_section_header(tmp_path):
    data = bytearray(shb("<") + idb("<", 1))
    data[8:12] = b"\xde\xad\xbe\xef"
    with pytest.raises(CaptureError, match="byte-order magic"):
        open_capture(write(tmp_path, bytes(data)))
    with pytest.raises(CaptureError, match="truncated section header"):
        open_capture(write(tmp_path, shb("<")[:20], "b"))


def test_pcapng_bad_later_section_header_is_a_finding(tmp_path):
    later = bytearray(shb("<"))
    later[8:12] = b"\0\0\0\0"
    data = shb("<") + idb("<", 1) + epb("<", 0, 0, ETH) + bytes(later)
    rd, got = read_all(write(tmp_path, data))
    assert len(got) == 1 and rd.findings[0].code == "capture.malformed_record"


def test_pcapng_huge_options_are_skipped(tmp_path):
    o = "<"
    comments = opt(o, 1, b"c" * 60000) * 5 + endopt(o)  # a 300 kB block > one read chunk
    data = (shb(o, comments) + idb(o, 1)
            + epb(o, 0, 0, ETH, options=comments) + epb(o, 0, 0, ETH))
    rd, got = read_all(write(tmp_path, data))
    assert len(got) == 2 and rd.findings == []


def test_pcapng_bad_option_length_is_tolerated(tmp_path):
    o = "<"
    body = struct.pack(o + "HHI", 1, 0, 0) + struct.pack(o + "HH", 9, 200) + b"\x06\0\0\0"
    data = shb(o) + block(o, 1, body) + epb(o, 0, 5 * 10**6, ETH)
    rd, got = read_all(write(tmp_path, data))
    assert got[0].ts == 5.0 and rd.findings == []


# ---------------------------------------------------------------- gzip
@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_gzip_compressed(tmp_path, kind):
    raw = (pcap([(1, 0, ETH), (2, 0, ETH)]) if kind == "pcap"
           else shb("<") + idb("<", 1) + epb("<", 0, 10**6, ETH) + epb("<", 0, 2 * 10**6, ETH))
    rd, got = read_all(write(tmp_path, gzip.compress(raw), "plain.pcap"))
    assert rd.format == f"{kind} (gzip)" and [f.number for f in got] == [1, 2]
    assert got[1].data == ETH and rd.findings == []


def test_gzip_multi_member(tmp_path):
    raw = pcap([(i, 0, ETH) for i in range(100)])
    data = gzip.compress(raw[:1000]) + gzip.compress(raw[1000:])
    rd, got = read_all(write(tmp_path, data))
    assert len(got) == 100 and rd.findings == []


def test_gzip_truncated_stream_reads_what_is_there(tmp_path):
    rnd = random.Random(1)
    raw = pcap([(i, 0, bytes(rnd.randrange(256) for _ in range(200))) for i in range(3000)])
    comp = gzip.compress(raw)
    rd, got = read_all(write(tmp_path, comp[:len(comp) // 2]))
    assert 0 < len(got) < 3000
    assert [f.number for f in got] == list(range(1, len(got) + 1))
    codes = {f.code for f in rd.findings}
    assert "capture.read_error" in codes
    assert all(f.severity == "warning" for f in rd.findings)


def test_gzip_not_a_capture(tmp_path):
    with pytest.raises(CaptureError, match=r"gzip.*not a pcap or pcapng capture \(magic 0x"):
        open_capture(write(tmp_path, gzip.compress(b"hello world, not a capture")))
    with pytest.raises(CaptureError, match="gzip"):
        open_capture(write(tmp_path, b"\x1f\x8b\x08\x00garbage-garbage-garbage", "b"))
    with pytest.raises(CaptureError, match="gzip"):
        open_capture(write(tmp_path, gzip.compress(b""), "c"))


# ---------------------------------------------------------------- unusable files
def test_missing_file(tmp_path):
    with pytest.raises(CaptureError, match="no such file"):
        open_capture(tmp_path / "nope.pcap")


def test_directory(tmp_path):
    with pytest.raises(CaptureError, match="directory"):
        open_capture(tmp_path)


def test_empty_file(tmp_path):
    with pytest.raises(CaptureError, match="empty"):
        open_capture(write(tmp_path, b""))


def test_not_a_capture(tmp_path):
    with pytest.raises(CaptureError, match=r"not a pcap or pcapng capture \(magic 0x48656c6c\)"):
        open_capture(write(tmp_path, b"Hello, this is text\n", "fake.pcap"))
    with pytest.raises(CaptureError, match="too short"):
        open_capture(write(tmp_path, b"ab", "short.pcap"))


def test_capture_error_is_one_line(tmp_path):
    with pytest.raises(CaptureError) as exc:
        open_capture(write(tmp_path, b"\x00\x01\x02\x03 junk"))
    assert "\n" not in str(exc.value)


def test_bad_source_types(tmp_path):
    with pytest.raises(CaptureError):
        open_capture(12345)
    p = write(tmp_path, pcap([]))
    with open(p, "r") as text, pytest.raises(CaptureError, match="binary"):
        open_capture(text)


# ---------------------------------------------------------------- file objects, lifecycle
def test_file_object_input_is_not_closed():
    bio = io.BytesIO(pcap([(1, 0, ETH)]))
    with open_capture(bio) as rd:
        assert [f.data for f in rd] == [ETH]
    assert not bio.closed


class _Pipe(io.RawIOBase):
    """A non-seekable stream delivering at most 7 bytes per read."""

    def __init__(self, data):
        self._d = data

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), 7, len(self._d))
        b[:n] = self._d[:n]
        self._d = self._d[n:]
        return n


@pytest.mark.parametrize("compress", [False, True])
def test_non_seekable_short_reads(compress):
    raw = shb("<") + idb("<", 1) + b"".join(epb("<", 0, i, ETH * 3) for i in range(50))
    rd, got = read_all(_Pipe(gzip.compress(raw) if compress else raw))
    assert len(got) == 50 and all(f.data == ETH * 3 for f in got) and rd.findings == []


def test_reader_closes_its_file(tmp_path):
    rd = open_capture(write(tmp_path, pcap([(1, 0, ETH)] * 5)))
    f = rd._file
    assert next(rd).number == 1
    rd.close()
    rd.close()  # idempotent
    assert f.closed and list(rd) == []


def test_reader_is_iterable_once(tmp_path):
    rd = open_capture(write(tmp_path, pcap([(1, 0, ETH)] * 3)))
    assert len(list(rd)) == 3 and list(rd) == []
    assert isinstance(rd, CaptureReader) and "pcap" in repr(rd)


def test_memory_stays_flat(tmp_path):
    rec = struct.pack("<IIII", 0, 0, 300, 300) + bytes(300)
    n = 60000
    path = tmp_path / "big.pcap"
    with open(path, "wb") as f:
        f.write(pcap([]))
        for _ in range(n // 1000):
            f.write(rec * 1000)
    assert path.stat().st_size > 18_000_000
    tracemalloc.start()
    try:
        count = 0
        with open_capture(path) as rd:
            for _ in rd:
                count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < 2_000_000, f"peak {peak} bytes while reading an 18 MB file"


# ---------------------------------------------------------------- fuzz
def test_fuzzed_files_give_capture_error_or_findings_only():
    rnd = random.Random(61850)
    seeds = [
        pcap([(1, 2, ETH), (3, 4, ETH * 2), (5, 6, b"")]),
        pcap([(1, 2, ETH)], ">", nsec=True),
        shb("<") + idb("<", 1, tsresol=9) + epb("<", 0, 5, ETH) + spb("<", ETH, 99)
        + old_pb("<", 0, 1, ETH) + block("<", 77, b"zz"),
        shb(">") + idb(">", 113) + epb(">", 0, 5, ETH),
    ]
    seeds.append(gzip.compress(seeds[0]))
    for _ in range(3000):
        data = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 6)):
            op = rnd.random()
            i = rnd.randrange(len(data))
            if op < 0.6:
                data[i] = rnd.randrange(256)
            elif op < 0.8:
                del data[i:i + rnd.randint(1, 8)]
            else:
                data[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
        try:
            rd = open_capture(io.BytesIO(bytes(data)))
        except CaptureError:
            continue
        frames = list(rd)
        assert [f.number for f in frames] == list(range(1, len(frames) + 1))
        assert all(isinstance(f, Finding) and f.code.startswith("capture.") for f in rd.findings)
        for f in frames:
            try:
                parse_link(f.linktype, f.data)
            except DecodeError:
                pass


# ---------------------------------------------------------------- public captures
def _manifest():
    rows = []
    text = (PUBLIC / "MANIFEST.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        m = re.match(r"\|\s*\d+\s*\|\s*`([^`]+)`\s*\|", line)
        if m:
            cols = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append((m.group(1), int(cols[6].replace(",", "")), cols[8], cols[9]))
    return rows


_PUBLIC_ROWS = _manifest() if (PUBLIC / "MANIFEST.md").is_file() else []


@pytest.mark.skipif(not _PUBLIC_ROWS, reason="public capture set not present")
def test_public_manifest_complete():
    assert len(_PUBLIC_ROWS) == 82


@pytest.mark.skipif(not _PUBLIC_ROWS, reason="public capture set not present")
@pytest.mark.parametrize("name, packets, link, fmt", _PUBLIC_ROWS, ids=[r[0] for r in _PUBLIC_ROWS])
def test_public_capture(name, packets, link, fmt):
    with open_capture(PUBLIC / name) as rd:
        n = 0
        for fr in rd:
            n += 1
            assert fr.number == n
            try:
                parse_link(fr.linktype, fr.data)
            except DecodeError:
                pass
    assert n == packets
    assert rd.findings == []
    assert rd.format.split()[0] == fmt.split()[0]
    assert {linktype_name(lt) for lt in rd.linktypes} == {link}
    assert rd.linktypes <= SUPPORTED_LINKTYPES
