"""SV decoding: byte vectors (IEC 61850-9-2), the layout fast path against the full
BER walk, malformed frames, R-SV payloads, 9-2LE scaling and smpCnt wrap inference."""

from __future__ import annotations

import random
import struct

import numpy as np
import pandas as pd
import pytest

import public
from ber_encode import tlv, utc_content
from l2_publish import capture_frames
from mmsanalyze.analysis.sv import infer_wrap, sv_streams
from mmsanalyze.errors import DecodeError
from mmsanalyze.io import open_capture
from mmsanalyze.net.link import parse_link
from mmsanalyze.sv import SvCollector, decode_le_blocks, decode_sv
from mutate import damage  # noqa: E402

SRC = bytes.fromhex("0a0b0c0d0e0f")
DST = bytes.fromhex("010ccd040001")


def asdu(sv_id="MU01", cnt=0, conf=1, synch=2, rate=80, seq=None, ds=None, refr=None, mod=None,
         gm=None, cnt_len=2):
    seq = bytes(64) if seq is None else seq
    parts = [tlv(0x80, sv_id.encode())]
    if ds is not None:
        parts.append(tlv(0x81, ds.encode()))
    parts += [tlv(0x82, cnt.to_bytes(cnt_len, "big")), tlv(0x83, conf.to_bytes(4, "big"))]
    if refr is not None:
        parts.append(tlv(0x84, utc_content(*refr)))
    parts.append(tlv(0x85, bytes([synch])))
    if rate is not None:
        parts.append(tlv(0x86, rate.to_bytes(2, "big")))
    parts.append(tlv(0x87, seq))
    if mod is not None:
        parts.append(tlv(0x88, mod.to_bytes(2, "big")))
    if gm is not None:
        parts.append(tlv(0x89, gm))
    return tlv(0x30, b"".join(parts))


def sav(asdus, no_asdu=None, security=False):
    body = tlv(0x80, bytes([len(asdus) if no_asdu is None else no_asdu]))
    if security:
        body += tlv(0x81, b"\x00")
    return tlv(0x60, body + tlv(0xA2, b"".join(asdus)))


def frame(pdu, appid=0x4000, r1=0, vlan=(0, 4), length=None, src=SRC):
    hdr = struct.pack(">HHHH", appid, 8 + len(pdu) if length is None else length, r1, 0)
    tag = b"" if vlan is None else struct.pack(">HH", 0x8100, (vlan[1] << 13) | vlan[0])
    return DST + src + tag + b"\x88\xba" + hdr + pdu


def feed(s, frames, start=1):
    for i, fr in enumerate(frames, start):
        et, off, src, dst, vl, pr = parse_link(1, fr)
        s.add(i, i * 0.00025, fr, off, src, dst, vl, pr)


def le_block(values, quality=None):
    quality = quality or [0] * 8
    return b"".join(struct.pack(">iI", v, q) for v, q in zip(values, quality))


def test_full_asdu_fields():
    seq = le_block([1000, -2000, 3000, -4000, 23000, -100, 5, 0], [0, 1, 0x2000, 0, 0, 0, 0, 3])
    fr = frame(sav([asdu(cnt=3999, conf=7, ds="LD/LLN0$ds", refr=(1700000000, 0x400000, 0x0A),
                         mod=0, gm=bytes(range(8)), seq=seq)], security=True), r1=0x8000)
    s = SvCollector()
    feed(s, [fr, fr])
    t = s.table()
    r = t.iloc[0]
    assert (r.sv_id, r.dat_set, r.smp_cnt, r.conf_rev, r.smp_synch, r.smp_rate, r.smp_mod) == (
        "MU01", "LD/LLN0$ds", 3999, 7, 2, 80, 0)
    assert r.refr_tm == 1700000000.25 and r.gm_identity == "0001020304050607"
    assert r.sim_bit and r.no_asdu == 1 and r.asdu_index == 0 and r.seq_data_len == 64
    assert (r.vlan_id, r.vlan_priority, r.appid) == (0, 4, 0x4000)
    assert len(t) == 2 and (t.frame == [1, 2]).all()
    sm = s.samples()
    np.testing.assert_allclose(sm.iloc[0][["ia", "ib", "ic", "in"]].to_numpy(float),
                               [1.0, -2.0, 3.0, -4.0])
    np.testing.assert_allclose(sm.iloc[0][["va", "vb", "vc", "vn"]].to_numpy(float),
                               [230.0, -1.0, 0.05, 0.0])
    assert list(sm.iloc[0][["q_ia", "q_ib", "q_ic", "q_vn"]]) == [0, 1, 0x2000, 3]


def test_decode_le_blocks_batch():
    blocks = le_block([-1] * 8, [0xFFFFFFFF] * 8) + le_block(list(range(8)))
    vals, q = decode_le_blocks(blocks)
    assert vals.shape == (2, 8) and q.dtype == np.uint32
    assert vals[0, 0] == -0.001 and vals[0, 7] == -0.01 and q[0, 0] == 0xFFFFFFFF
    assert vals[1, 5] == pytest.approx(0.05)
    with pytest.raises(ValueError):
        decode_le_blocks(b"\0" * 10)


def test_fast_path_takes_constant_layout():
    s = SvCollector()
    feed(s, [frame(sav([asdu(cnt=c)])) for c in range(50)])
    assert len(s._layouts) == 1 and list(s.table().smp_cnt) == list(range(50))


def test_layout_changes_fall_back_to_the_ber_walk():
    frames = [frame(sav([asdu(cnt=c)])) for c in range(5)]
    frames.append(frame(sav([asdu(cnt=5, conf=2)])))          # confRev change, same length
    frames.append(frame(sav([asdu(cnt=6, sv_id="MU02")])))    # other svID, same length
    frames.append(frame(sav([asdu(cnt=7)]), r1=0x8000))        # simulate bit
    frames.append(frame(sav([asdu(cnt=8)]), src=bytes(6)))     # other source MAC
    frames.append(frame(sav([asdu(cnt=9, cnt_len=3)])))        # different encoding
    frames.append(frame(sav([asdu(cnt=10)])))
    s = SvCollector()
    feed(s, frames)
    t = s.table()
    assert list(t.smp_cnt) == list(range(11))
    assert list(t.conf_rev) == [1] * 5 + [2] + [1] * 5
    assert list(t.sv_id.astype(str)) == ["MU01"] * 6 + ["MU02"] + ["MU01"] * 4
    assert list(t.sim_bit) == [False] * 7 + [True] + [False] * 3
    assert list(t.src_mac.astype(str)).count("00:00:00:00:00:00") == 1


def test_multi_asdu_frames():
    s = SvCollector()
    feed(s, [frame(sav([asdu(cnt=3 * f + i) for i in range(3)])) for f in range(10)])
    t = s.table()
    assert len(t) == 30 and list(t.smp_cnt) == list(range(30))
    assert list(t.asdu_index) == [0, 1, 2] * 10 and (t.no_asdu == 3).all()
    assert s.frames == 10 and len(s.samples()) == 30


def _reference_rows(frames):
    """What the full BER walk says about each frame, ASDU by ASDU."""
    rows = []
    for i, fr in enumerate(frames, 1):
        et, off, *_ = parse_link(1, fr)
        try:
            f = decode_sv(fr, off, len(fr))
        except DecodeError:
            rows.append((i, None, None, None, True))
            continue
        bad = f.error is not None or not f.asdus
        for a in f.asdus or (None,):
            rows.append((i, None if a is None else a.smp_cnt, None if a is None else a.sv_id,
                         None if a is None else a.conf_rev, bad))
    return rows


def test_fast_path_equals_the_ber_walk_under_mutation():
    rng = random.Random(7)
    base = [frame(sav([asdu(cnt=c % 4000, seq=le_block([c] * 8))])) for c in range(300)]
    frames = []
    for fr in base:
        b = bytearray(fr)
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(18, len(b))
                b[i] = rng.randrange(256)
        frames.append(bytes(b))
    s = SvCollector()
    feed(s, frames)
    t = s.table()
    got = [(r.frame, None if pd.isna(r.smp_cnt) else r.smp_cnt,
            None if pd.isna(r.sv_id) else r.sv_id, None if pd.isna(r.conf_rev) else r.conf_rev,
            r.malformed) for r in t.itertuples(index=False)]
    assert got == _reference_rows(frames)


@pytest.mark.parametrize("fr,code", [
    (frame(sav([asdu()]), length=500), "sv.malformed.truncated"),
    (frame(sav([asdu()]), length=4), "sv.malformed.length"),
    (frame(sav([asdu()], no_asdu=2)), "sv.malformed.no_asdu"),
    (frame(tlv(0x60, tlv(0x80, b"\x01") + tlv(0xA2, tlv(0x30, tlv(0x80, b"x"))))),
     "sv.malformed.missing"),
    (frame(tlv(0x61, b"\x00")), "sv.malformed.tag"),
    (frame(sav([asdu()]))[:-10], "sv.malformed.truncated"),
    (DST + SRC + b"\x88\xba\x40", "sv.malformed.truncated"),
])
def test_malformed_frames_are_flagged_rows(fr, code):
    s = SvCollector()
    feed(s, [fr], start=5)
    t = s.table()
    assert len(t) >= 1 and t.malformed.all() and t.error.notna().all()
    assert len(s.findings) == 1 and s.findings[0].code.startswith(code)
    assert s.findings[0].frame == 5 and s.findings[0].layer == "sv"
    assert s.frames == 1


@pytest.mark.skipif(not public.available(), reason="public captures not present")
def test_truncated_public_capture():
    s = SvCollector()
    for fr in open_capture(public.path("sv_emre_truncated_malformed.pcap")):
        et, off, src, dst, vl, pr = parse_link(fr.linktype, fr.data)
        s.add(fr.number, fr.ts, fr.data, off, src, dst, vl, pr)
    t = s.table()
    assert len(t) == 10 and t.malformed.all() and len(s.findings) == 10
    assert all(f.code.startswith("sv.malformed") and "offset" in f.message for f in s.findings)
    # the fields before the overrun are kept, as tshark shows them
    assert (t.sv_id.astype(str) == "xxxxMUnn01").all() and list(t.smp_cnt) == list(range(2162, 2172))
    st = s.streams()
    assert st.iloc[0].malformed == 10 and "malformed" in st.iloc[0].anomalies


@pytest.mark.skipif(not public.available(), reason="public captures not present")
def test_byte_flips_never_raise_and_match_the_ber_walk():
    rng = random.Random(99)
    frames = capture_frames([public.path(n) for n in (
        "sv_seapath_92le_50hz_fault_z1.pcap", "sv_emre_multistream_noasdu5.pcap",
        "sv_goose_qutzss_sv_injection_9111a.pcapng",
        "mms_goose_sv_robidev_sll_control_reports_dedup.pcapng")], 0x88BA, 100)
    s = SvCollector()
    n = 0
    expected = 0
    for _ in range(10):
        for lt, fr in frames:
            b = damage(fr, rng, 3, 0.1, min_flips=0)
            try:
                et, off, src, dst, vl, pr = parse_link(lt, b)
            except DecodeError:
                continue
            if et != 0x88BA:
                continue
            n += 1
            s.add(n, float(n), b, off, src, dst, vl, pr)
            s.add_routable(n, float(n), b[off:], src, dst)
            try:
                f = decode_sv(b, off, len(b))
                expected += max(1, len(f.asdus)) if (f.error or not f.asdus) else len(f.asdus)
            except DecodeError:
                expected += 1
    t = s.table()
    assert (t.transport == "l2").sum() == expected
    assert all(f.code.startswith("sv.") for f in s.findings)
    s.samples()
    s.streams()


def rsv_payload(pdu):
    item = bytes([0x82, 0x00]) + struct.pack(">HH", 0x4111, len(pdu)) + pdu
    sec = struct.pack(">IHIB", 0, 0, 0, 0)
    user = struct.pack(">I", len(item)) + item
    hdr = b"\x80" + bytes([10 + len(sec)]) + struct.pack(">IIH", 0, 1, 2) + sec
    return b"\x01\x40" + bytes([0xA2, len(hdr)]) + hdr + user


def test_rsv_payload():
    s = SvCollector()
    assert s.add_routable(3, 1.5, rsv_payload(sav([asdu(cnt=11), asdu(cnt=12)])), SRC, DST) == 2
    t = s.table()
    assert list(t.smp_cnt) == [11, 12] and (t.transport == "r-sv").all()
    assert (t.appid == 0x4111).all() and not t.malformed.any()
    assert s.frames == 0 and len(s.samples()) == 2


@pytest.mark.parametrize("max_cnt,rate,mod,wrap", [
    (3999, 80, None, 4000), (4799, 80, None, 4800), (10, 80, 0, 4000), (3999, 4000, 1, 4000),
    (4799, None, None, 4800), (5000, 80, None, 5001), (100, 256, None, 12800),
    (100, 2, 2, 101),
])
def test_infer_wrap(max_cnt, rate, mod, wrap):
    assert infer_wrap(max_cnt, rate, mod) == wrap


def test_wrap_is_not_a_gap():
    s = SvCollector()
    feed(s, [frame(sav([asdu(cnt=c)])) for c in list(range(3990, 4000)) + list(range(10))])
    st = sv_streams(s.table())
    assert (st.iloc[0].wrap, st.iloc[0].lost_samples, st.iloc[0].out_of_order) == (4000, 0, 0)


def test_other_source_mac_is_suspicious():
    s = SvCollector()
    frames = [frame(sav([asdu(cnt=c)]), src=SRC if c % 10 else bytes.fromhex("66" * 6))
              for c in range(40)]
    feed(s, frames)
    st = s.streams()
    assert len(st) == 2 and st.suspicious.all()
    others = dict(zip(st.src_mac, st.other_src_macs))
    assert others == {"0a:0b:0c:0d:0e:0f": ["66:66:66:66:66:66"],
                      "66:66:66:66:66:66": ["0a:0b:0c:0d:0e:0f"]}


def test_empty_collector():
    s = SvCollector()
    assert len(s.table()) == 0 and len(s.samples()) == 0 and len(s.streams()) == 0
    assert s.frames == 0 and s.bytes == 0
