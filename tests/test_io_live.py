"""Live capture (AF_PACKET) and the file-or-interface opener.  Live tests need root."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import threading
import time

import pytest

from mmsanalyze.errors import CaptureError
from mmsanalyze.io import CaptureReader, LiveReader, open_live, open_source
from mmsanalyze.io.ring import RingReader
from mmsanalyze.io.live import compile_bpf, is_interface
from mmsanalyze.net.link import parse_link

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
root_only = pytest.mark.skipif(not IS_ROOT, reason="live capture needs root (CAP_NET_RAW)")

DST = bytes.fromhex("010ccd010001")
SRC = bytes.fromhex("02aabbccdd01")


def _frame(ethertype: int, marker: bytes, vlan: tuple[int, int] | None = None) -> bytes:
    tag = struct.pack("!HH", 0x8100, (vlan[1] << 13) | vlan[0]) if vlan else b""
    return DST + SRC + tag + struct.pack("!H", ethertype) + marker + b"\0" * 40


def _send(ifname: str, frames) -> None:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.bind((ifname, 0))
        for f in frames:
            s.send(f)
    finally:
        s.close()


def _mine(reader, marker: bytes):
    """Frames of ``reader`` carrying ``marker`` (other tests may share ``lo``)."""
    return [f for f in reader if marker in f.data]


# ---------------------------------------------------------------- open_source
def test_open_source_file(tmp_path):
    p = tmp_path / "a.pcap"
    p.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    with open_source(str(p)) as rd:
        assert isinstance(rd, CaptureReader) and list(rd) == []
    with open(p, "rb") as f, open_source(f) as rd:
        assert rd.format == "pcap"


def test_open_source_neither(tmp_path):
    with pytest.raises(CaptureError, match="no such file or network interface"):
        open_source("no-such-iface-or-file-xyz")
    with pytest.raises(CaptureError, match="directory"):
        open_source(str(tmp_path))


def test_is_interface():
    assert is_interface("lo")
    assert not is_interface("../lo") and not is_interface("") and not is_interface("nope0x")


def test_compile_bpf():
    prog = compile_bpf("ether proto 0x88b8")
    assert prog and all(len(i) == 4 for i in prog)
    with pytest.raises(CaptureError, match="bad capture filter"):
        compile_bpf("this is not ( a filter")


# ---------------------------------------------------------------- live
@pytest.mark.root
@root_only
def test_open_source_interface():
    with open_source("lo", timeout=0.1) as rd:
        # the default live backend on Linux is the TPACKET_V3 ring
        assert isinstance(rd, RingReader) and rd.linktypes == {1} and rd.format == "live"
    with open_source("lo", timeout=0.1, backend="socket") as rd:
        assert isinstance(rd, LiveReader) and rd.backend == "socket"


@pytest.mark.root
@root_only
def test_live_lo_with_filter_and_count():
    marker = os.urandom(8)
    with open_live("lo", bpf_filter="ether proto 0x88b8", timeout=2.0) as rd:
        _send("lo", [_frame(0x88BA, marker + b"sv"), _frame(0x88B8, marker + b"g1"),
                     _frame(0x88BA, marker + b"sv"), _frame(0x88B8, marker + b"g2")])
        t0 = time.time()
        got = []
        for f in rd:
            if marker in f.data:
                got.append(f)
            if len(got) == 2:
                break
    assert [parse_link(f.linktype, f.data)[0] for f in got] == [0x88B8, 0x88B8]
    assert [f.number for f in got] == sorted(f.number for f in got)
    assert all(abs(f.ts - t0) < 5 and f.orig_len == len(f.data) == 64 for f in got)
    assert [f.data[14 + 8:14 + 10] for f in got] == [b"g1", b"g2"]  # each frame once


@pytest.mark.root
@root_only
def test_live_count_and_snaplen():
    marker = os.urandom(8)
    with open_live("lo", bpf_filter=f"ether[14:4] = 0x{marker[:4].hex()}", snaplen=20,
                   count=2, timeout=3.0) as rd:
        _send("lo", [_frame(0x88B8, marker)] * 3)
        got = list(rd)
    assert len(got) == 2 and [f.number for f in got] == [1, 2]
    assert all(len(f.data) == 20 and f.orig_len == 62 for f in got)


@pytest.mark.root
@root_only
def test_live_timeout_without_traffic():
    t0 = time.monotonic()
    with open_live("lo", bpf_filter="ether proto 0x1234", timeout=0.5) as rd:
        assert list(rd) == []
    assert time.monotonic() - t0 < 2.0


@pytest.mark.root
@root_only
def test_live_close_from_other_thread():
    rd = open_live("lo", bpf_filter="ether proto 0x1234")
    threading.Timer(0.3, rd.close).start()
    t0 = time.monotonic()
    assert list(rd) == []
    assert time.monotonic() - t0 < 3.0


def test_live_errors():
    with pytest.raises(CaptureError, match="no such network interface"):
        open_live("nope-xyz0")
    if IS_ROOT:
        with pytest.raises(CaptureError, match="bad capture filter"):
            open_live("lo", bpf_filter="not a ( filter")


@pytest.fixture
def veth():
    """A fresh veth pair (unique names: other test runs may share the host)."""
    if not IS_ROOT:
        pytest.skip("needs root")
    a, b = f"mmsa{os.getpid() % 100000}", f"mmsb{os.getpid() % 100000}"
    r = subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b],
                       capture_output=True)
    if r.returncode:
        pytest.skip(f"cannot create veth pair: {r.stderr.decode().strip()}")
    try:
        for n in (a, b):
            subprocess.run(["ip", "link", "set", n, "up"], check=True)
        yield a, b
    finally:
        subprocess.run(["ip", "link", "del", a], capture_output=True)


@pytest.mark.root
@root_only
def test_live_veth_vlan_tag_restored(veth):
    """The kernel moves 802.1Q tags to PACKET_AUXDATA; the reader puts them back."""
    a, b = veth
    marker = os.urandom(8)
    with open_live(b, timeout=2.0) as rd:
        time.sleep(0.05)
        _send(a, [_frame(0x88B8, marker, vlan=(5, 4)), _frame(0x88BA, marker, vlan=(0, 0)),
                  _frame(0x88B8, marker)])
        got = []
        for f in rd:
            if marker in f.data:
                got.append(f)
            if len(got) == 3:
                break
    links = [parse_link(f.linktype, f.data) for f in got]
    assert [(l[0], l[4], l[5]) for l in links] == [
        (0x88B8, (5,), 4), (0x88BA, (0,), 0), (0x88B8, (), None)]
    assert all(l[2] == SRC and l[3] == DST for l in links)
    assert [f.orig_len for f in got] == [66, 66, 62] and [len(f.data) for f in got] == [66, 66, 62]


# ---------------------------------------------------------------- -i any
@root_only
def test_any_interface_gives_linux_cooked_frames():
    """``-i any``: frames from every interface with a Linux cooked header (LINKTYPE 113),
    loopback packets once (the received copy), decodable down to the UDP payload."""
    marker = b"MMSA-ANY-%d" % os.getpid()
    rd = open_source("any", timeout=1.5)

    def send():
        time.sleep(0.3)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for _ in range(3):
                s.sendto(marker, ("127.0.0.1", 40999))
        finally:
            s.close()
    threading.Thread(target=send).start()
    with rd:
        frames = _mine(rd, marker)
    udp = [f for f in frames if f.data[16 + 9] == 17]          # SLL header, then IPv4 protocol = UDP
    assert rd.linktypes == {113} and len(udp) == 3
    assert all(f.linktype == 113 and f.data[:2] == b"\0\0" for f in udp)   # pkttype host: received copy
    link = parse_link(udp[0].linktype, udp[0].data)
    assert link is not None


def test_any_interface_refuses_a_capture_filter():
    if not IS_ROOT:
        pytest.skip("needs root")
    with pytest.raises(CaptureError, match="not supported"):
        open_source("any", bpf_filter="udp")
