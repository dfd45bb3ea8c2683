"""The pcapng writer and the readers' exact-timestamp mode, checked with tshark/capinfos."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from mmsanalyze import __version__
from mmsanalyze.io import open_capture
from mmsanalyze.io.pcapng_write import PcapngWriter, tsresol_option

import public

TSHARK = shutil.which("tshark")
CAPINFOS = shutil.which("capinfos")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark not installed")

#: An Ethernet/IPv4/UDP frame (valid headers, any payload)
ETH_UDP = bytes.fromhex("0200000000010200000000020800"
                        "4500001e0001000040110000c0a80001c0a80002"
                        "04d2162e000a0000") + b"hi"
#: A raw-IPv4 (LINKTYPE_RAW 101) frame
RAW_IP = bytes.fromhex("4500001e0001000040110000c0a80001c0a80002" "04d2162e000a0000") + b"ho"


def _fields(path, *fields):
    out = subprocess.run([TSHARK, "-n", "-r", str(path), "-T", "fields", "-E", "separator=|",
                          *sum((["-e", f] for f in fields), [])],
                         capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


def test_tsresol_option():
    assert tsresol_option(1_000_000) == 6
    assert tsresol_option(1_000_000_000) == 9
    assert tsresol_option(1) == 0
    assert tsresol_option(2 ** 20) == 0x80 | 20
    with pytest.raises(ValueError):
        tsresol_option(3)


def _write_sample(path):
    # ns, µs and 2^-20 s interfaces, two link types; timestamps whose last digits a
    # float would lose (1.7e9 s with 9 decimals needs ~61 bits)
    ns = 1_700_000_000_123_456_789
    with PcapngWriter(path) as w:
        a = w.interface(1, 65535, 1_000_000_000)
        b = w.interface(101, 0, 1_000_000)
        c = w.interface(1, 65535, 2 ** 20)
        assert w.interface(1, 65535, 1_000_000_000) == a       # one IDB per combination
        w.write(a, ns, ETH_UDP, 100, ["first comment", "second, with comma"], 7)
        w.write(b, 1_700_000_000_654_321, RAW_IP, None, (), 8)
        w.write(c, 1_700_000_000 * 2 ** 20 + 2 ** 19, ETH_UDP[:30], len(ETH_UDP))
        w.write(a, ns + 1, ETH_UDP, None, ["\u00e9l\u00e8ve \u2192 UTF-8"], 9)
    return ns


def test_round_trip_through_our_reader(tmp_path):
    path = tmp_path / "w.pcapng"
    ns = _write_sample(path)
    with open_capture(path, exact_ts=True) as r:
        frames = list(r)
        ifaces = r.interfaces
    assert [(f.ts, f.linktype, f.orig_len) for f in frames] == [
        (ns, 1, 100), (1_700_000_000_654_321, 101, len(RAW_IP)),
        (1_700_000_000 * 2 ** 20 + 2 ** 19, 1, len(ETH_UDP)), (ns + 1, 1, len(ETH_UDP))]
    assert [f.data for f in frames] == [ETH_UDP, RAW_IP, ETH_UDP[:30], ETH_UDP]
    assert [ifaces[f.interface][1] for f in frames] == [10 ** 9, 10 ** 6, 2 ** 20, 10 ** 9]
    with open_capture(path) as r:              # float mode still gives epoch seconds
        assert [round(f.ts, 3) for f in r] == [1700000000.123, 1700000000.654, 1700000000.5, 1700000000.123]


@needs_tshark
def test_tshark_reads_timestamps_comments_packet_ids(tmp_path):
    path = tmp_path / "w.pcapng"
    _write_sample(path)
    rows = _fields(path, "frame.time_epoch", "frame.encap_type", "frame.cap_len", "frame.len",
                   "frame.comment", "frame.packet_id", "udp.srcport")
    assert [r[0] for r in rows] == ["1700000000.123456789", "1700000000.654321000",
                                    "1700000000.500000000", "1700000000.123456790"]
    assert [r[1] for r in rows] == ["1", "7", "1", "1"]          # WTAP encap: ether, raw IP
    assert [(r[2], r[3]) for r in rows] == [(str(len(ETH_UDP)), "100"), (str(len(RAW_IP)),) * 2,
                                            ("30", str(len(ETH_UDP))), (str(len(ETH_UDP)),) * 2]
    assert rows[0][4] == "first comment,second, with comma"
    assert rows[3][4] == "\u00e9l\u00e8ve \u2192 UTF-8"
    assert [r[5] for r in rows] == ["7", "8", "", "9"]
    assert [r[6] for r in rows] == ["1234", "1234", "", "1234"]   # frame 3 is cut inside UDP


@pytest.mark.skipif(CAPINFOS is None, reason="capinfos not installed")
def test_section_header_names_the_version(tmp_path):
    path = tmp_path / "w.pcapng"
    _write_sample(path)
    out = subprocess.run([CAPINFOS, str(path)], capture_output=True, text=True, check=True).stdout
    assert f"Capture application: mmsanalyze {__version__}" in out
    assert "Number of interfaces in file: 3" in out


def test_resume_appends_to_the_same_section(tmp_path):
    path = tmp_path / "w.pcapng"
    w = PcapngWriter(path)
    a = w.interface(1, 0, 10 ** 9)
    w.write(a, 5, ETH_UDP)
    w.close()
    w = PcapngWriter(path, resume=w.interfaces)
    w.write(a, 6, ETH_UDP)
    b = w.interface(101, 0, 10 ** 6)
    w.write(b, 7, RAW_IP)
    w.close()
    with open_capture(path, exact_ts=True) as r:
        assert [(f.ts, f.linktype) for f in r] == [(5, 1), (6, 1), (7, 101)]
    with open(path, "rb") as fh:
        assert fh.read().count(struct.pack("<I", 0x0A0D0D0A)) == 1


def test_undeclared_interface_and_oversized_frame_are_refused(tmp_path):
    with PcapngWriter(tmp_path / "w.pcapng") as w:
        with pytest.raises(ValueError):
            w.write(0, 1, ETH_UDP)
        i = w.interface(1)
        with pytest.raises(ValueError):
            w.write(i, 1, b"\0" * (262144 + 1))


NS_CAPTURE = "mms_goose_sv_robidev_sll_control_reports_dups.pcapng"   # if_tsresol 9


@needs_tshark
@pytest.mark.skipif(not public.available(), reason="../shared/captures/public is absent")
def test_exact_mode_keeps_nanoseconds_of_a_real_capture():
    path = public.path(NS_CAPTURE)
    with open_capture(path, exact_ts=True) as r:
        ours = [(f.ts, r.interfaces[f.interface][1]) for f in r]
    theirs = [row[0] for row in _fields(path, "frame.time_epoch")]
    assert len(ours) == len(theirs) > 1000
    assert {u for _, u in ours} == {10 ** 9}
    assert [f"{t // 10 ** 9}.{t % 10 ** 9:09d}" for t, _ in ours] == theirs


def copy_all(src, dst) -> int:
    """Copy every frame of ``src`` through the exact reader and the writer."""
    with open_capture(src, exact_ts=True) as r, PcapngWriter(dst) as w:
        for fr in r:
            lt, units, _off, snap = r.interfaces[fr.interface]
            w.write(w.interface(lt, snap, units), fr.ts, fr.data, fr.orig_len, (), fr.number)
        return w.frames


FRAME_FIELDS = ("frame.time_epoch", "frame.len", "frame.cap_len", "frame.encap_type", "frame.protocols")


@needs_tshark
def test_copy_of_multi_section_file_keeps_times_and_link_types(tmp_path):
    from test_io_capture import ETH, epb, idb, old_pb, shb, spb
    T = 1700000000
    data = (shb("<") + idb("<", 1, 65535, tsresol=9, tsoffset=-100) + idb("<", 101, tsresol=0x80 | 20)
            + epb("<", 0, (T + 100) * 10 ** 9 + 123456789, ETH) + epb("<", 1, T * 2 ** 20 + 3, b"\x45" + b"\0" * 19)
            + shb(">") + idb(">", 1, 96) + epb(">", 0, T * 10 ** 6 + 7, ETH[:12], orig=70)
            + old_pb(">", 0, T * 10 ** 6 + 8, ETH) + spb(">", ETH, len(ETH)))
    src = tmp_path / "multi.pcapng"
    src.write_bytes(data)
    dst = tmp_path / "copy.pcapng"
    assert copy_all(src, dst) == 5
    ours, theirs = _fields(dst, *FRAME_FIELDS), _fields(src, *FRAME_FIELDS)
    assert ours[:4] == theirs[:4]
    # a Simple Packet Block has no timestamp (tshark shows none): it becomes an EPB at 0
    assert ours[4] == ["0.000000000"] + theirs[4][1:] and theirs[4][0] == ""
    rows = _fields(dst, "frame.time_epoch", "frame.interface_id")
    assert rows[0] == ["1700000000.123456789", "0"]
    assert len({r[1] for r in rows}) == 3          # (1, 65535, ns), (101, 0, 2^-20), (1, 96, µs)


COPY_CAPTURES = ["mms_iti_pcapr_reports_identify_write.pcap", "goose_emre_ge_f650_gzip.pcap",
                 NS_CAPTURE, "iccp_rustyiccp_sll2_port10002.pcap", "mms_emre_siemens_model_browse.pcapng"]


@needs_tshark
@pytest.mark.skipif(not public.available(), reason="../shared/captures/public is absent")
@pytest.mark.parametrize("name", COPY_CAPTURES)
def test_copy_of_a_real_capture_is_the_same_to_tshark(name, tmp_path):
    dst = tmp_path / "copy.pcapng"
    copy_all(public.path(name), dst)
    assert _fields(dst, *FRAME_FIELDS) == _fields(public.path(name), *FRAME_FIELDS)
