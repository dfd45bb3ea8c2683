"""IED modes on the public captures: simulated GOOSE and Mod/Beh values show in the
timeline, no finding where nothing is in test or simulation, and nothing crashes."""
from __future__ import annotations

import pytest

import public
from mmsanalyze import read_capture

pytestmark = pytest.mark.skipif(not public.available(), reason="../shared/captures/public is absent")

IEDSCOUT = "mms_goose_emre_iedscout_midassoc.pcapng"
ROBIDEV = ("mms_goose_sv_robidev_sll_control_reports_dedup.pcapng",
           "mms_goose_sv_robidev_sll_control_reports_dups.pcapng")


def _cap(name):
    return read_capture(public.path(name), ports=public.ports(name))


def test_iedscout_simulated_goose_in_timeline_and_findings():
    cap = _cap(IEDSCOUT)
    g = cap.goose()
    n_sim = int((g["simulation"].fillna(False).astype(bool) | g["sim_bit"]).sum())
    assert n_sim == len(g) == 63                              # MANIFEST: every message simulated
    st = cap.ied_states()
    sim = st[(st["attribute"] == "simulation") & (st["value"] == "true")]
    assert int(sim["count"].sum()) == n_sim
    m = cap.ied_modes()
    assert m["simulated_traffic"].any()
    assert set(m[m["simulated_traffic"]]["ld"]) == {g["gocb_ref"].iloc[0].split("/")[0]}
    f = cap.ied_mode_findings()
    assert list(f["code"]) == ["iec61850.sim.traffic"]
    assert int(f["frame"].iloc[0]) == int(g["frame"].iloc[0])


@pytest.mark.parametrize("name", ROBIDEV)
def test_robidev_mod_beh_values_in_timeline(name):
    cap = _cap(name)
    tx = cap.transactions()
    reads = tx[(tx["service"] == "read") & tx["object"].str.contains(r"\$ST\$(?:Mod|Beh)\$stVal", na=False)
               & (tx["status"] == "ok")]
    assert len(reads)
    st = cap.ied_states()
    obs = st[(st["source"] == "read") & st["attribute"].isin(["Mod", "Beh"])]
    # one observation per answered Mod/Beh stVal read, at its response frame
    assert sorted(obs["frame"]) == sorted(reads["response_frame"])
    m = cap.ied_modes()
    assert set(zip(obs["ld"], obs["ln"])) <= set(zip(m["ld"], m["ln"]))


def _has_test_or_sim(cap):
    st = cap.ied_states()
    flagged = st[st["attribute"].isin(["simulation", "q.test"]) & (st["value"] == "true")]
    abnormal = st[st["attribute"].isin(["Mod", "Beh"]) & st["value"].isin(
        ["on-blocked", "test", "test/blocked", "off"])]
    health = st[(st["attribute"] == "Health") & st["value"].isin(["warning", "alarm"])]
    ctl_test = st[(st["attribute"] == "control") & st["test"].fillna(False).astype(bool)]
    return len(flagged) + len(abnormal) + len(health) + len(ctl_test) > 0


@pytest.mark.parametrize("name", public.captures())
def test_no_finding_where_nothing_is_in_test(name):
    cap = _cap(name)
    f = cap.ied_mode_findings()
    if not _has_test_or_sim(cap):
        assert len(f) == 0, f["message"].tolist()
    for col in ("ied_states", "ied_modes"):
        getattr(cap, col)()                                   # never crashes
