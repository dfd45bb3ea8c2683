"""Recognition of R-GOOSE / R-SV / 90-5 tunnel (UDP 102 + session header) and GSSE
(UCA2 GOOSE over LLC/CLNP), and the L2Collector breakdown."""

from __future__ import annotations

import subprocess

import pytest

import public
from l2_publish import feed_capture
from mmsanalyze.analysis.l2 import L2Collector, recognise_llc, recognise_udp
from mmsanalyze.goose import GooseCollector
from mmsanalyze.sv import SvCollector
from test_goose_decode import goose_pdu, rgoose_payload
from tshark_ref import TSHARK


@pytest.mark.parametrize("si,kind", [(0xA0, "r-tunnel"), (0xA1, "r-goose"), (0xA2, "r-sv"),
                                     (0xA3, "r-mngt")])
def test_recognise_udp_by_session_identifier(si, kind):
    p = rgoose_payload([goose_pdu()], si=si)
    assert recognise_udp(40000, 102, p) == kind
    assert recognise_udp(102, 40000, p) == kind
    assert recognise_udp(40000, 103, p) is None
    assert recognise_udp(40000, 102, rgoose_payload([goose_pdu()], si=si, cltp=False)) == kind


@pytest.mark.parametrize("payload", [b"", b"\x01", b"\x01\x40", b"\x03\x00\x00\x16", b"\xa1\x05\x00",
                                     b"\x01\x40\xa4\x17\x80"])
def test_not_routable(payload):
    assert recognise_udp(1234, 102, payload) is None


GSSE_LLC = bytes.fromhex("fefe03812301321c")


@pytest.mark.parametrize("data,off,kind", [
    (b"\0" * 14 + GSSE_LLC + b"\0" * 30 + b"\xa0\x07\x80\x05GOOSE", 14, "gsse"),
    (b"\0" * 14 + GSSE_LLC + b"\0" * 40, 14, None),                        # CLNP, not GOOSE
    (b"\0" * 14 + bytes.fromhex("fefe03822301321c") + b"\x80\x05GOOSE" * 4, 14, None),   # ES-IS
    (b"\0" * 14 + bytes.fromhex("f0f003") + b"\x80\x05GOOSE" * 4, 14, None),   # NetBIOS
    (b"\0" * 14 + b"\xfe\xfe", 14, None),
])
def test_recognise_llc(data, off, kind):
    assert recognise_llc(data, off) == kind


@pytest.mark.skipif(not public.available(), reason="public captures not present")
def test_gsse_capture():
    l2 = L2Collector()
    feed_capture(public.path("gsse_robidev_uca_clnp.pcap"), l2=l2)
    t = l2.table()
    assert list(t.kind) == ["gsse"] and t.frames[0] == 4 and t.bytes[0] == 4 * 305


@pytest.mark.tshark
@pytest.mark.skipif(not public.available(), reason="public captures not present")
def test_gsse_count_equals_tshark_clnp_data():
    out = subprocess.run([TSHARK, "-n", "-r", public.path("gsse_robidev_uca_clnp.pcap"), "-Y",
                          "clnp.type == 28", "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, check=True).stdout.split()
    l2 = L2Collector()
    feed_capture(public.path("gsse_robidev_uca_clnp.pcap"), l2=l2)
    assert l2.table().frames[0] == len(out) == 4


@pytest.mark.skipif(not public.available(), reason="public captures not present")
def test_breakdown_of_a_mixed_capture():
    g, s = GooseCollector(), SvCollector()
    l2 = L2Collector(goose=g, sv=s)
    feed_capture(public.path("rgoose_robidev_ge_d60_pigo.pcapng"), goose=g, sv=s, l2=l2)
    t = l2.table().set_index("kind")
    assert t.loc["goose", "frames"] == 168 and t.loc["r-goose", "frames"] == 2571
    assert "sv" not in t.index
    assert t.loc["goose", "bytes"] == g.bytes
    assert (t.first_time <= t.last_time).all()
    gt = g.table()
    assert (gt.transport == "r-goose").sum() == 2571


@pytest.mark.skipif(not public.available(), reason="public captures not present")
def test_90_5_samples():
    g, s = GooseCollector(), SvCollector()
    l2 = L2Collector(goose=g, sv=s)
    feed_capture(public.path("rgoose_rsv_robidev_90-5_samples.pcap"), goose=g, sv=s, l2=l2)
    t = l2.table().set_index("kind")
    assert (t.loc["r-goose", "frames"], t.loc["r-sv", "frames"]) == (166, 156)
    assert t.loc["r-tunnel", "frames"] == 369
    # pre-standard session layout: two goosePdus per R-GOOSE SPDU, two ASDUs per R-SV;
    # the 369 tunnel datagrams carry one layer-2 GOOSE frame each (transport r-tunnel)
    gt = g.table()
    assert len(gt) == 332 + 369 and not gt.malformed.any()
    assert (gt.transport == "r-goose").sum() == 332 and (gt.transport == "r-tunnel").sum() == 369
    st = s.table()
    assert len(st) == 312 and not st.malformed.any() and (st.sv_id == "ExampleSVID").all()
    assert s.findings == [] and g.findings == []


def test_pipeline_facing_methods():
    l2 = L2Collector()
    p = rgoose_payload([goose_pdu()])
    assert l2.recognise_udp(1, 102, p) == "r-goose"       # no counting
    assert len(l2.table()) == 0
    assert l2.add_udp(1, 5.0, 1, 102, p) == "r-goose"
    assert l2.add_udp(2, 6.0, 1, 53, p) is None
    t = l2.table()
    assert list(t.kind) == ["r-goose"] and t.frames[0] == 1 and t.bytes[0] == len(p)
