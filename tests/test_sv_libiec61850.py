"""Ground truth from libiec61850: publish known SV streams on a veth pair, capture
them with tcpdump, decode the capture and compare every figure.

Streams (APPID, what it exercises):

* 0x4001 MU01 -- VLAN 3 prio 4, 1 ASDU per frame, smpRate 80, smpSynch 2,
  smpCnt 0..199 with 100..104 deliberately skipped (5 lost, one gap);
* 0x4002 MU02 -- untagged, 3 ASDUs per frame (consecutive smpCnt), 40 frames;
* 0x4003 MU03 -- smpRate 80: smpCnt 3990..3999 then 0..9 (wraps at 4000, no loss);
* 0x4004 MU04 -- a second, older smpCnt sequence interleaved (injection);
* 0x4005 MU05 -- 20 consecutive samples missing (deletion).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from l2_publish import SvPub, can_publish, feed_capture, iface_mac, tcpdump, veth_pair
from mmsanalyze.analysis.sv import plot_sv_intervals
from mmsanalyze.sv import SvCollector

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not can_publish(), reason="needs root, ip, tcpdump, pyiec61850")]


def values_for(cnt: int, asdu: int = 0):
    """Eight INT32 sample values: 4 currents, 4 voltages (signed, distinct per channel)."""
    return [(-1) ** k * (cnt * 7 + k * 1000 + asdu * 100000) for k in range(8)]


def quality_for(cnt: int):
    return [(k if cnt % 50 == 0 else 0) | (0x2000 if cnt % 97 == 0 else 0) for k in range(8)]


def _publish_all(tx):
    sent = []   # (appid, sv_id, smp_cnt, values, quality, asdu_index, no_asdu)
    pubs = []
    try:
        p1 = SvPub(tx, 0x4001, ["L2TEST_MU01"], conf_rev=2, smp_rate=80, smp_synch=2,
                   vlan=(3, 4), dat_set="L2TEST_MU/LLN0$PhsMeas1")
        pubs.append(p1)
        for cnt in [c for c in range(200) if not 100 <= c <= 104]:
            v, q = values_for(cnt), quality_for(cnt)
            p1.publish([cnt], [v], [q])
            sent.append((0x4001, "L2TEST_MU01", cnt, v, q, 0, 1))
        p2 = SvPub(tx, 0x4002, ["L2TEST_MU02"] * 3, conf_rev=1, dst=b"\x01\x0c\xcd\x04\x00\x02")
        pubs.append(p2)
        for f in range(40):
            cnts = [3 * f + i for i in range(3)]
            vals = [values_for(c, i) for i, c in enumerate(cnts)]
            p2.publish(cnts, vals)
            for i, c in enumerate(cnts):
                sent.append((0x4002, "L2TEST_MU02", c, vals[i], [0] * 8, i, 3))
        p3 = SvPub(tx, 0x4003, ["L2TEST_MU03"], smp_rate=80, smp_synch=1, vlan=(3, 4))
        pubs.append(p3)
        for cnt in list(range(3990, 4000)) + list(range(10)):
            p3.publish([cnt], [values_for(cnt)])
            sent.append((0x4003, "L2TEST_MU03", cnt, values_for(cnt), [0] * 8, 0, 1))
        p4 = SvPub(tx, 0x4004, ["L2TEST_MU04"], smp_rate=80, vlan=(3, 4))
        pubs.append(p4)
        for cnt in range(30):
            seq = [cnt] + ([cnt - 15] if cnt >= 20 else [])    # older sequence interleaved
            for c in seq:
                p4.publish([c], [values_for(c)])
                sent.append((0x4004, "L2TEST_MU04", c, values_for(c), [0] * 8, 0, 1))
        p5 = SvPub(tx, 0x4005, ["L2TEST_MU05"], smp_rate=80, vlan=(3, 4))
        pubs.append(p5)
        for cnt in list(range(20)) + list(range(40, 60)):
            p5.publish([cnt], [values_for(cnt)])
            sent.append((0x4005, "L2TEST_MU05", cnt, values_for(cnt), [0] * 8, 0, 1))
    finally:
        for p in pubs:
            p.close()
    return sent


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("sv") / "sv.pcap")
    with veth_pair("sv") as (tx, rx):
        mac = iface_mac(tx)
        with tcpdump(rx, path):
            sent = _publish_all(tx)
    s = SvCollector()
    feed_capture(path, sv=s)
    return s, sent, mac


def test_every_asdu_decoded_as_published(published):
    s, sent, mac = published
    t = s.table()
    assert s.findings == []
    assert len(t) == len(sent)
    assert s.frames == len(sent) - 2 * 40      # MU02 frames carry 3 ASDUs
    assert list(t["appid"]) == [x[0] for x in sent]
    assert list(t["sv_id"].astype(str)) == [x[1] for x in sent]
    assert list(t["smp_cnt"]) == [x[2] for x in sent]
    assert list(t["asdu_index"]) == [x[5] for x in sent]
    assert list(t["no_asdu"]) == [x[6] for x in sent]
    assert (t["src_mac"].astype(str) == mac).all()
    assert not t["malformed"].any() and t["error"].isna().all()
    assert (t["seq_data_len"] == 64).all()
    assert (t["transport"].astype(str) == "l2").all()
    mu1 = t[t.appid == 0x4001]
    assert (mu1.conf_rev == 2).all() and (mu1.smp_rate == 80).all() and (mu1.smp_synch == 2).all()
    assert (mu1.vlan_id == 3).all() and (mu1.vlan_priority == 4).all()
    assert (mu1.dat_set.astype(str) == "L2TEST_MU/LLN0$PhsMeas1").all()
    assert (mu1.dst_mac.astype(str) == "01:0c:cd:04:00:01").all()
    mu2 = t[t.appid == 0x4002]
    assert mu2.vlan_id.isna().all() and mu2.smp_rate.isna().all() and (mu2.smp_synch == 0).all()
    assert mu2.dat_set.isna().all()
    assert (t[t.appid == 0x4003].smp_synch == 1).all()
    assert t.smp_mod.isna().all() and t.refr_tm.isna().all()


def test_92le_samples_decoded_with_numpy(published):
    s, sent, _ = published
    sm = s.samples()
    assert len(sm) == len(sent)
    raw = np.array([x[3] for x in sent], dtype=np.int64)
    q = np.array([x[4] for x in sent], dtype=np.int64)
    got = sm[["ia", "ib", "ic", "in", "va", "vb", "vc", "vn"]].to_numpy()
    np.testing.assert_allclose(got[:, :4], raw[:, :4] * 0.001, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got[:, 4:], raw[:, 4:] * 0.01, rtol=0, atol=1e-9)
    qq = sm[[f"q_{c}" for c in ("ia", "ib", "ic", "in", "va", "vb", "vc", "vn")]].to_numpy()
    np.testing.assert_array_equal(qq, q)
    assert list(sm["smp_cnt"]) == [x[2] for x in sent]


def test_sv_streams(published):
    s, sent, mac = published
    st = s.streams().set_index("sv_id")
    mu1 = st.loc["L2TEST_MU01"]
    assert (mu1.frames, mu1.asdus) == (195, 195)
    assert (mu1.lost_samples, mu1.gaps, mu1.max_gap) == (5, 1, 5)
    assert (mu1.duplicates, mu1.out_of_order) == (0, 0)
    assert mu1.smp_rate == 80 and mu1.wrap == 4000 and mu1.smp_synch_states == [2]
    assert mu1.conf_revs == [2] and mu1.src_mac == mac and mu1.appid == 0x4001
    assert not mu1.suspicious and "5 samples lost in 1 gaps" in mu1.anomalies
    assert mu1.interval_mean_us > 0 and mu1.interval_max_us >= mu1.interval_mean_us

    mu2 = st.loc["L2TEST_MU02"]
    assert (mu2.frames, mu2.asdus, mu2.lost_samples, mu2.out_of_order) == (40, 120, 0, 0)
    assert mu2.wrap == 120 and not mu2.suspicious and mu2.anomalies == ""

    mu3 = st.loc["L2TEST_MU03"]
    assert mu3.wrap == 4000
    assert (mu3.lost_samples, mu3.duplicates, mu3.out_of_order) == (0, 0, 0)
    assert not mu3.suspicious and mu3.smp_synch_states == [1]

    mu4 = st.loc["L2TEST_MU04"]
    assert mu4.asdus == 40 and mu4.out_of_order == 10 and mu4.lost_samples == 0
    assert mu4.suspicious and "interleaved" in mu4.anomalies

    mu5 = st.loc["L2TEST_MU05"]
    assert (mu5.lost_samples, mu5.gaps, mu5.max_gap) == (20, 1, 20)
    assert mu5.suspicious and "deletion" in mu5.anomalies


def test_intervals_plot(published, tmp_path):
    s, *_ = published
    out = plot_sv_intervals(s.table(), tmp_path / "sv.png")
    assert os.path.getsize(out) > 10000


def test_table_is_stable_and_typed(published):
    s, *_ = published
    a, b = s.table(), s.table()
    pd.testing.assert_frame_equal(a, b)
    assert str(a["smp_cnt"].dtype) == "Int64" and str(a["sv_id"].dtype) == "category"
    assert a["time"].dtype == np.float64 and a["frame"].dtype == np.int64
