"""GOOSE decoding on byte vectors built here (IEC 61850-8-1 Annex A / C), malformed
input, R-GOOSE session payloads, and byte-flip fuzzing of real frames."""

from __future__ import annotations

import random
import struct

import pandas as pd
import pytest

import public
from ber_encode import data, tlv, uint_content, utc_content
from l2_publish import capture_frames
from mmsanalyze.errors import DecodeError
from mmsanalyze.goose import GooseCollector, decode_goose_pdu, parse_session, read_l2_header
from mmsanalyze.net.link import parse_link
from mutate import damage  # noqa: E402

SRC = bytes.fromhex("0a0b0c0d0e0f")
DST = bytes.fromhex("010ccd010001")


def goose_pdu(gocb="IED/LLN0$GO$gcb", tal=2000, ds="IED/LLN0$ds", goid="gid", secs=1700000000,
              frac=0x800000, q=0x0A, st=5, sq=7, sim=False, conf=3, nds=False,
              values=({"boolean": True}, {"integer": -4}), skip=(), extra=b""):
    parts = [
        (0x80, gocb.encode()), (0x81, uint_content(tal)), (0x82, ds.encode()),
        (0x83, goid.encode()), (0x84, utc_content(secs, frac, q)), (0x85, uint_content(st)),
        (0x86, uint_content(sq)), (0x87, b"\xff" if sim else b"\x00"),
        (0x88, uint_content(conf)), (0x89, b"\xff" if nds else b"\x00"),
        (0x8A, uint_content(len(values))), (0xAB, b"".join(data(v) for v in values)),
    ]
    body = b"".join(tlv(t, c) for t, c in parts if t not in skip) + extra
    return tlv(0x61, body)


def frame(pdu, appid=0x3001, reserved1=0, reserved2=0, vlan=None, length=None, pad=b""):
    hdr = struct.pack(">HHHH", appid, 8 + len(pdu) if length is None else length, reserved1,
                      reserved2)
    tag = b"" if vlan is None else struct.pack(">HH", 0x8100, (vlan[1] << 13) | vlan[0])
    return DST + SRC + tag + b"\x88\xb8" + hdr + pdu + pad


def add(g, fr, number=1, ts=100.0):
    et, off, src, dst, vlans, prio = parse_link(1, fr)
    assert et == 0x88B8
    g.add(number, ts, fr, off, src, dst, vlans, prio)


def test_full_message():
    g = GooseCollector()
    add(g, frame(goose_pdu(sim=True, nds=True), reserved1=0x8000, vlan=(7, 5), pad=b"\0" * 6))
    r = g.table().iloc[0]
    assert (r.appid, r.length, r.reserved1, r.reserved2) == (0x3001, r.length, 0x8000, 0)
    assert r.sim_bit and r.simulation and r.test and r.nds_com
    assert (r.gocb_ref, r.dat_set, r.go_id) == ("IED/LLN0$GO$gcb", "IED/LLN0$ds", "gid")
    assert (r.st_num, r.sq_num, r.conf_rev, r.time_allowed_to_live) == (5, 7, 3, 2000)
    assert r.t == 1700000000.5 and r.t_quality == 0x0A
    assert r.num_dat_set_entries == 2 and r["values"] == [True, -4]
    assert r.value_types == ["boolean", "integer"]
    assert (r.vlan_id, r.vlan_priority) == (7, 5)
    assert (r.src_mac, r.dst_mac) == ("0a:0b:0c:0d:0e:0f", "01:0c:cd:01:00:01")
    assert not r.malformed and r.error is None and r.transport == "l2" and not r.security
    assert g.frames == 1 and g.bytes == len(frame(goose_pdu(sim=True, nds=True),
                                                  vlan=(7, 5), pad=b"\0" * 6))


def test_go_id_optional_and_security():
    g = GooseCollector()
    add(g, frame(goose_pdu(skip=(0x83,), extra=tlv(0x8C, b"\x01\x02"))))
    r = g.table().iloc[0]
    assert r.go_id is None and r.security and not r.malformed


def test_large_counters_and_untagged():
    g = GooseCollector()
    add(g, frame(goose_pdu(st=0xFFFFFFFF, sq=0x80000000, conf=0xFFFFFFFF)))
    r = g.table().iloc[0]
    assert (r.st_num, r.sq_num, r.conf_rev) == (0xFFFFFFFF, 0x80000000, 0xFFFFFFFF)
    assert pd.isna(r.vlan_id) and pd.isna(r.vlan_priority)


@pytest.mark.parametrize("fr,code,kept", [
    (frame(goose_pdu(skip=(0x85,))), "goose.malformed.missing", "gocb_ref"),
    (frame(goose_pdu(), length=400), "goose.malformed.truncated", "appid"),
    (frame(goose_pdu(), length=5), "goose.malformed.length", "appid"),
    (frame(tlv(0x61, tlv(0x80, b"x") + tlv(0x85, b"\x01\x00\x00\x00\x00\x00"))),
     "goose.malformed.integer", "gocb_ref"),
    (frame(tlv(0x61, tlv(0x80, b"x") + tlv(0x80, b"y"))), "goose.malformed.duplicate",
     "gocb_ref"),
    (frame(goose_pdu()[:-3]), "goose.malformed", "appid"),          # cut inside allData
    (frame(goose_pdu(values=({"boolean": True},), extra=b"")[:-3] + b"\x83\x02\x00\x00"),
     "goose.malformed", "appid"),
    (DST + SRC + b"\x88\xb8\x30\x01", "goose.malformed.truncated", None),
    (frame(tlv(0x62, b"\x00")), "goose.malformed.tag", "appid"),
])
def test_malformed_rows_and_findings(fr, code, kept):
    g = GooseCollector()
    add(g, fr, number=9)
    t = g.table()
    assert len(t) == 1
    r = t.iloc[0]
    assert r.malformed and r.error
    assert len(g.findings) == 1
    f = g.findings[0]
    assert f.code.startswith(code) and f.frame == 9 and f.layer == "goose" and f.severity == "error"
    assert f.message == r.error
    if kept:
        assert r[kept] is not None and not (isinstance(r[kept], float))


def test_unknown_member_is_a_warning_and_decoding_goes_on():
    # tshark: "BER Error: This field lies beyond the end of the known sequence definition"
    # (Warning/Malformed) and every member still shown; the packet is not "Malformed".
    g = GooseCollector()
    add(g, frame(goose_pdu(extra=tlv(0x8D, b"\x00"))), number=9)
    r = g.table().iloc[0]
    assert not r.malformed and r.error is None and r.st_num == 5 and r["values"] == [True, -4]
    assert [(f.code, f.severity, f.frame) for f in g.findings] == \
        [("goose.malformed.unknown_tag", "warning", 9)]


def test_bad_data_value_is_a_malformed_row():
    pdu = goose_pdu(values=({"boolean": True},))
    bad = pdu.replace(b"\xab\x03\x83\x01\xff", b"\xab\x04\x83\x02\xff\xff")
    g = GooseCollector()
    add(g, frame(tlv(0x61, bad[2:])))
    r = g.table().iloc[0]
    assert r.malformed and "allData" in r.error and r.st_num == 5
    assert g.findings[0].code.startswith("goose.malformed")


def test_gse_management_is_unsupported_not_malformed():
    g = GooseCollector()
    add(g, frame(tlv(0x60, b"\xa0\x00")))
    r = g.table().iloc[0]
    assert not r.malformed and "gseMngtPdu" in r.error
    assert g.findings[0].code == "goose.unsupported.gse_mngt" and g.findings[0].severity == "note"


def test_decoders_only_raise_decode_errors():
    buf = frame(goose_pdu())
    assert read_l2_header(buf, 14, len(buf))[0] == 0x3001
    out = decode_goose_pdu(buf, 22, len(buf), {})
    assert out["st_num"] == 5 and out["all_data"][1] == len(buf)
    with pytest.raises(DecodeError):
        decode_goose_pdu(buf, 22, len(buf) - 1, {})
    with pytest.raises(DecodeError):
        read_l2_header(buf, 14, 18)


def rgoose_payload(pdus, cltp=True, si=0xA1, spdu_num=77, draft=False):
    items = b"".join(bytes([0x81, 0x00]) + struct.pack(">HH", 0x1234, len(p)) + p for p in pdus)
    sec = struct.pack(">IHIB", 0, 0, 9, 0)
    user = struct.pack(">I", len(items)) + (b"\xfe" if draft else b"") + items
    hdr = b"\x80" + bytes([4 + 4 + 2 + len(sec)]) + struct.pack(">IIH", 12 + len(user), spdu_num,
                                                              2) + sec
    return (b"\x01\x40" if cltp else b"") + bytes([si, len(hdr)]) + hdr + user


@pytest.mark.parametrize("cltp,draft", [(True, False), (False, False), (True, True)])
def test_rgoose_payload(cltp, draft):
    p = rgoose_payload([goose_pdu(st=1), goose_pdu(st=2)], cltp=cltp, draft=draft)
    s = parse_session(p, 0, len(p))
    assert s.kind == "r-goose" and s.spdu_number == 77 and s.key_id == 9
    assert s.draft_layout is draft and len(s.payloads) == 2
    g = GooseCollector()
    assert g.add_routable(4, 1.0, p, SRC, DST) == 2
    t = g.table()
    assert list(t.st_num) == [1, 2] and (t.transport == "r-goose").all()
    assert (t.appid == 0x1234).all() and t.length.isna().all() and not t.malformed.any()
    assert g.frames == 0


def test_rgoose_garbage_is_a_malformed_row():
    g = GooseCollector()
    assert g.add_routable(4, 1.0, b"\x01\x40\xa1\x05\x80", SRC, DST) == 1
    r = g.table().iloc[0]
    assert r.malformed and r.transport == "r-goose" and g.findings[0].code.startswith("goose.")


@pytest.mark.skipif(not public.available(), reason="public captures not present")
def test_byte_flips_never_raise():
    rng = random.Random(1234)
    frames = capture_frames([public.path(n) for n in (
        "goose_iti_abb_interlocking_vlan.pcap", "goose_sv_qutzss_fdi_attack_8232a.pcapng",
        "mms_goose_ctsamples_ge_multilin_ur.pcapng", "goose_robidev_libiec61850_example_vlan.pcap")],
        0x88B8, 100)
    g = GooseCollector()
    n = 0
    for _ in range(20):
        for lt, fr in frames:
            b = damage(fr, rng, 4, 0.2)
            try:
                et, off, src, dst, vl, pr = parse_link(lt, b)
            except DecodeError:
                continue
            n += 1
            g.add(n, float(n), b, off, src, dst, vl, pr)
            g.add_routable(n, float(n), b[off:], src, dst)
            try:
                decode_goose_pdu(b, off + 8, len(b), {})
            except DecodeError:
                pass
    t = g.table()
    assert len(t) >= n
    assert t.malformed.sum() == sum(f.severity == "error" for f in g.findings)
    assert all(f.code.startswith("goose.") for f in g.findings)
    g.streams()


def test_repeated_bad_frames_give_the_same_finding():
    # the allData decode result is cached per encoding; the error reported for each frame
    # must be a new value, never the cached one relabelled again ("goosePdu > allData >
    # goosePdu > allData ..." once grew with every repeat)
    pdu = goose_pdu(values=({"boolean": True},))
    bad = pdu.replace(b"\xab\x03\x83\x01\xff", b"\xab\x04\x83\x02\xff\xff")
    g = GooseCollector()
    for i in range(4):
        add(g, frame(tlv(0x61, bad[2:])), number=i + 1)
    msgs = [f.message for f in g.findings]
    assert len(msgs) == 4 and len(set(msgs)) == 1
    assert msgs[0].count("allData") == 1 and msgs[0].count("goosePdu") == 1
    assert list(g.table()["error"]) == msgs


def test_errors_are_values():
    from mmsanalyze.errors import Truncated
    e = Truncated("cut", 3, "ber", code="ber.truncated.length")
    f = e.within("allData").within("goosePdu", "goose")
    g = f.relabel("goose", "goose.malformed.length").shifted(10)
    assert (e.path, e.offset, e.code) == ((), 3, "ber.truncated.length")
    assert (f.path, f.offset) == (("goosePdu", "allData"), 3)
    assert (g.code, g.offset, type(g)) == ("goose.malformed.length", 13, Truncated)
    assert str(e) == "cut (offset 3)"
