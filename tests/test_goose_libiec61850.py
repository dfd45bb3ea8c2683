"""Ground truth from libiec61850: publish known GOOSE sequences on a veth pair,
capture them with tcpdump, decode the capture and compare every field.

Publishers (each message's expected row is recorded as it is sent):

* A -- untagged, heartbeats, then two events with a fast-retransmission burst
  (2, 4, 8, 16 ms) and heartbeats of 100 ms;
* B -- VLAN 5 priority 6, simulation (test) and ndsCom set, a short
  timeAllowedToLive (30 ms) that one late message violates;
* C -- priority-tagged (VLAN 0), an older state re-sent after an event (what a
  replay looks like), which must make the publisher suspicious.
"""

from __future__ import annotations

import math
import os
import time

import pandas as pd
import pytest

from l2_publish import GoosePub, can_publish, feed_capture, iface_mac, tcpdump, veth_pair
from mmsanalyze.analysis.goose import plot_goose_timeline
from mmsanalyze.goose import GooseCollector

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not can_publish(), reason="needs root, ip, tcpdump, pyiec61850")]

BURST_MS = (2, 4, 8, 16)
HEARTBEAT_MS = 100


def _publish_all(tx):
    """Publish A, B, C; returns (expected rows in send order, event windows per publisher)."""
    expected = []
    events = {}     # gocb_ref -> list of (stNum, t_low, t_high)

    def send(pub, name, st, sq, values, t_of=None, **kw):
        # t_of: the state whose timestamp the message carries (setStNum keeps t)
        pub.publish(values)
        expected.append(dict(gocb_ref=name, st_num=st, sq_num=sq, values=list(values),
                             t_of=st if t_of is None else t_of, **kw))

    a_ref = "L2TEST_A/LLN0$GO$gcbA"
    t_lo = time.time()
    a = GoosePub(tx, 0x1001, a_ref, "L2TEST_A/LLN0$dsA", go_id="goA", conf_rev=3, tal=1000)
    events[a_ref] = [(1, t_lo, time.time())]
    b_ref = "L2TEST_B/LLN0$GO$gcbB"
    b = GoosePub(tx, 0x1002, b_ref, "L2TEST_B/LLN0$dsB", go_id="goB", conf_rev=1, tal=30,
                 vlan=(5, 6), simulation=True, nds_com=True, dst=b"\x01\x0c\xcd\x01\x00\x02")
    c_ref = "L2TEST_C/LLN0$GO$gcbC"
    t_lo = time.time()
    c = GoosePub(tx, 0x1003, c_ref, "L2TEST_C/LLN0$dsC", go_id="goC", conf_rev=9, tal=2000,
                 vlan=(0, 4), dst=b"\x01\x0c\xcd\x01\x00\x03")
    events[c_ref] = [(1, t_lo, time.time())]
    ka = dict(go_id="goA", dat_set="L2TEST_A/LLN0$dsA", appid=0x1001, conf_rev=3, tal=1000,
              vlan=None, sim=False, nds=False, dst="01:0c:cd:01:00:01")
    kb = dict(go_id="goB", dat_set="L2TEST_B/LLN0$dsB", appid=0x1002, conf_rev=1, tal=30,
              vlan=(5, 6), sim=True, nds=True, dst="01:0c:cd:01:00:02")
    kc = dict(go_id="goC", dat_set="L2TEST_C/LLN0$dsC", appid=0x1003, conf_rev=9, tal=2000,
              vlan=(0, 4), sim=False, nds=False, dst="01:0c:cd:01:00:03")
    try:
        # A: three heartbeats of state 1
        for sq in range(3):
            send(a, a_ref, 1, sq, [False, 1, 0.5, "off"], **ka)
            time.sleep(0.02)
        # A: two events, each a burst then heartbeats
        for st, vals in ((2, [True, 2, 1.5, "on"]), (3, [False, 3, 2.5, "off"])):
            t_lo = time.time()
            a.increase_st_num()
            events[a_ref].append((st, t_lo, time.time()))
            for sq in range(9):
                send(a, a_ref, st, sq, vals, **ka)
                time.sleep((BURST_MS[sq] if sq < len(BURST_MS) else HEARTBEAT_MS) / 1000.0)
        # B: 4 messages 10 ms apart, then one 80 ms later (> TAL 30 ms)
        for sq in range(5):
            send(b, b_ref, 1, sq, [7, "x"], **kb)
            time.sleep(0.01 if sq < 3 else 0.08)
        # C: state 1, an event to state 2, then state 1 again (replayed), then state 2
        for sq in range(3):
            send(c, c_ref, 1, sq, [1.25], **kc)
        t_lo = time.time()
        c.increase_st_num()
        events[c_ref].append((2, t_lo, time.time()))
        for sq in range(2):
            send(c, c_ref, 2, sq, [2.25], **kc)
        c.set_st_num(1)
        c.set_sq_num(1)
        send(c, c_ref, 1, 1, [1.25], t_of=2, **kc)
        c.set_st_num(2)
        c.set_sq_num(2)
        send(c, c_ref, 2, 2, [2.25], **kc)
    finally:
        for p in (a, b, c):
            p.close()
    return expected, events


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("goose") / "goose.pcap")
    with veth_pair("gs") as (tx, rx):
        mac = iface_mac(tx)
        with tcpdump(rx, path):
            expected, events = _publish_all(tx)
    g = GooseCollector()
    feed_capture(path, goose=g)
    return g, expected, events, mac, path


def test_every_message_decoded_as_published(published):
    g, expected, events, mac, _ = published
    t = g.table()
    assert g.findings == []
    assert len(t) == len(expected) == g.frames
    for row, exp in zip(t.itertuples(index=False), expected):
        assert row.gocb_ref == exp["gocb_ref"]
        assert row.go_id == exp["go_id"]
        assert row.dat_set == exp["dat_set"]
        assert row.appid == exp["appid"]
        assert (row.st_num, row.sq_num) == (exp["st_num"], exp["sq_num"])
        assert row.time_allowed_to_live == exp["tal"]
        assert row.conf_rev == exp["conf_rev"]
        assert bool(row.simulation) is exp["sim"] and bool(row.test) is exp["sim"]
        assert row.sim_bit is False           # libiec61850 1.6 leaves reserved1 at 0
        assert bool(row.nds_com) is exp["nds"]
        assert row.num_dat_set_entries == len(exp["values"])
        assert row.values == exp["values"]
        assert row.src_mac == mac and row.dst_mac == exp["dst"]
        if exp["vlan"] is None:
            assert pd.isna(row.vlan_id) and pd.isna(row.vlan_priority)
        else:
            assert (row.vlan_id, row.vlan_priority) == exp["vlan"]
        assert row.transport == "l2" and row.malformed is False and row.error is None
        assert row.reserved1 == 0 and row.reserved2 == 0
        assert row.t_quality == 0x0A    # libiec61850: 10 bits of second-fraction accuracy


def test_t_is_the_time_of_the_state_change(published):
    g, expected, events, _, _ = published
    t = g.table()
    t["t_of"] = [e["t_of"] for e in expected]
    for ref, evs in events.items():
        rows = t[t.gocb_ref == ref]
        for st, lo, hi in evs:
            ts = rows[rows.t_of == st]["t"].unique()
            assert len(ts) == 1, (ref, st, ts)
            # libiec61850 stamps t in whole milliseconds when the state starts
            assert math.floor(lo * 1000) / 1000 - 0.001 <= ts[0] <= hi + 0.001, (ref, st)


def test_publisher_streams(published):
    g, expected, _, mac, _ = published
    s = g.streams().set_index("gocb_ref")
    a = s.loc["L2TEST_A/LLN0$GO$gcbA"]
    assert a.messages == 3 + 2 * 9 and a.events == 2
    assert a.st_num_first == 1 and a.st_num_last == 3
    assert a.src_mac == mac and a.appid == 0x1001 and a.transport == "l2"
    assert (a.tal_violations, a.sq_gaps, a.sq_not_reset, a.sq_repeats, a.sq_backwards,
            a.st_backwards, a.st_repeat_diff_data, a.reverted_events) == (0,) * 8
    assert not a.suspicious and a.anomalies == ""
    # the bursts: the first intervals after each event follow 2, 4, 8, 16 ms
    assert len(a.retrans_ms) == 2
    for burst in a.retrans_ms:
        assert len(burst) == 6
        for got, want in zip(burst, BURST_MS + (HEARTBEAT_MS, HEARTBEAT_MS)):
            assert want - 0.5 <= got <= want + 15, burst
    assert 1.5 <= a.retrans_min_ms <= 17
    assert HEARTBEAT_MS - 0.5 <= a.heartbeat_ms <= HEARTBEAT_MS + 15

    b = s.loc["L2TEST_B/LLN0$GO$gcbB"]
    assert b.messages == 5 and b.tal_ms == 30
    assert b.tal_violations == 1
    assert b.simulation_messages == 5 and b.nds_com_messages == 5 and b.sim_bit_messages == 0
    assert not b.suspicious and "timeAllowedToLive" in b.anomalies

    c = s.loc["L2TEST_C/LLN0$GO$gcbC"]
    assert c.messages == 7 and c.events == 1
    assert c.st_backwards == 1 and c.suspicious
    assert "older stNum" in c.anomalies


def test_timeline_plot(published, tmp_path):
    g, *_ = published
    out = plot_goose_timeline(g.table(), tmp_path / "goose.png")
    assert os.path.getsize(out) > 10000
