"""The attack captures are flagged by the anomaly columns; the normal ones are not.

What distinguishes them (inspected frame by frame, see analysis.goose / analysis.sv):

* bro-goose attack1/4: the poisoner re-sends the current stNum/sqNum between the
  publisher's own messages -> repeated stNum+sqNum;
* bro-goose attack2/3: an injected higher state interleaves with the publisher,
  which keeps sending its (now older) stNum -> messages from an older state;
* QUT 8232a (FDI): Feeder1's "open" is injected as a protocol-perfect event
  (stNum+1, sqNum 0, 1-4-16-64-256 ms retransmissions) and withdrawn 4 s later
  (allData back to the exact previous values) -> reverted state change;
* QUT 9111a (SV injection): a second smpCnt sequence, 15 samples behind,
  interleaves with the merging unit's own -> ASDUs older than the newest;
* QUT 971a (SV deletion): 100 consecutive samples missing, twice -> burst loss.

Each capture's other protocol (benign there) must stay clean too.
"""

from __future__ import annotations

import pytest

import public
from l2_publish import feed_capture
from mmsanalyze.goose import GooseCollector
from mmsanalyze.sv import SvCollector

pytestmark = pytest.mark.skipif(not public.available(), reason="public captures not present")


def _streams(name):
    g, s = GooseCollector(), SvCollector()
    feed_capture(public.path(name), goose=g, sv=s)
    return g.streams(), s.streams()


@pytest.mark.parametrize("name,column", [
    ("goose_brogoose_attack1_poison.pcapng", "sq_repeats"),
    ("goose_brogoose_attack2_poison_statechange.pcapng", "st_backwards"),
    ("goose_brogoose_attack3_poison_newstate.pcapng", "st_backwards"),
    ("goose_brogoose_attack4_poison_race.pcapng", "sq_repeats"),
    ("goose_sv_qutzss_fdi_attack_8232a.pcapng", "reverted_events"),
])
def test_goose_attacks_flagged(name, column):
    gs, ss = _streams(name)
    bad = gs[gs.suspicious]
    assert len(bad) == 1, gs[["gocb_ref", "anomalies"]]
    assert bad.iloc[0][column] > 0 and bad.iloc[0]["anomalies"]
    assert not ss.suspicious.any()          # the SV in 8232a is benign


def test_fdi_flags_only_the_attacked_feeder():
    gs, _ = _streams("goose_sv_qutzss_fdi_attack_8232a.pcapng")
    bad = gs[gs.suspicious]
    assert list(bad.gocb_ref) == ["QUTZS_FDRPIOC/LLN0$GO$gcb_1"]
    assert bad.iloc[0].events == 6 and bad.iloc[0].reverted_events == 3
    assert (gs[~gs.suspicious].anomalies == "").all()


@pytest.mark.parametrize("name,column", [
    ("sv_goose_qutzss_sv_injection_9111a.pcapng", "out_of_order"),
    ("sv_goose_qutzss_sv_deletion_971a.pcapng", "max_gap"),
])
def test_sv_attacks_flagged(name, column):
    gs, ss = _streams(name)
    bad = ss[ss.suspicious]
    # the attacked publisher carries 13 svIDs (APPID 0x4001); all of them, and only them
    assert len(bad) == 13 and set(bad.appid) == {0x4001}
    assert (bad[column] > 0).all()
    assert not ss[~ss.suspicious].anomalies.str.len().any()
    assert not gs.suspicious.any()           # the GOOSE in these captures is benign


def test_sv_injection_counts():
    _, ss = _streams("sv_goose_qutzss_sv_injection_9111a.pcapng")
    mu = ss[ss.sv_id == "66kV1"].iloc[0]
    assert mu.out_of_order == 107 and mu.lost_samples == 0 and mu.duplicates == 0


def test_sv_deletion_counts():
    _, ss = _streams("sv_goose_qutzss_sv_deletion_971a.pcapng")
    mu = ss[ss.sv_id == "66kV1"].iloc[0]
    assert (mu.lost_samples, mu.gaps, mu.max_gap, mu.out_of_order) == (200, 2, 100, 0)


@pytest.mark.parametrize("name", [
    "goose_brogoose_normal1.pcapng",
    "goose_brogoose_normal2_statechange.pcapng",
    "goose_brogoose_normal3_manychanges.pcapng",
    "sv_dina_92le_60hz_normal.pcap",
    "sv_seapath_92le_50hz_fault_z1.pcap",
])
def test_normal_captures_clean(name):
    gs, ss = _streams(name)
    for streams in (gs, ss):
        assert not streams.suspicious.any(), streams
        assert (streams.anomalies == "").all(), streams.anomalies.tolist()


def test_normal_sv_figures():
    _, ss = _streams("sv_seapath_92le_50hz_fault_z1.pcap")
    mu = ss.iloc[0]
    assert mu.wrap == 4000 and mu.smp_rate == 80 and mu.smp_synch_states == [2]
    assert (mu.lost_samples, mu.duplicates, mu.out_of_order) == (0, 0, 0)
    assert abs(mu.rate - 4000) < 1
    _, ss = _streams("sv_dina_92le_60hz_normal.pcap")
    mu = ss.iloc[0]
    assert mu.wrap == 4800 and abs(mu.rate - 4800) < 1 and mu.interval_std_us < 5
