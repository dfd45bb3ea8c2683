"""Unit tests of the IED-mode engine: Annex A derivation, names, flags, and the
state machine on hand-made observation sequences."""
from __future__ import annotations

import itertools

import pytest

from mmsanalyze.iec61850 import Namer, behaviour, quality_test
from mmsanalyze.iec61850.modes import MODES, ModeTracker, oper_test, parse_reference

NAMES = list(MODES.values())
# 7-4 Ed.2 Annex A, Table A.3 as printed (rows: LD Mod, columns: LN Mod), written out here
# independently of the rule in behaviour()
TABLE = {
    "on":           ["on",           "on-blocked",   "test",         "test/blocked", "off"],
    "on-blocked":   ["on-blocked",   "on-blocked",   "test/blocked", "test/blocked", "off"],
    "test":         ["test",         "test/blocked", "test",         "test/blocked", "off"],
    "test/blocked": ["test/blocked", "test/blocked", "test/blocked", "test/blocked", "off"],
    "off":          ["off",          "off",          "off",          "off",          "off"],
}


@pytest.mark.parametrize("ld,ln", list(itertools.product(NAMES, NAMES)))
def test_behaviour_equals_annex_a_table(ld, ln):
    assert behaviour(ld, ln) == TABLE[ld][NAMES.index(ln)]


def test_behaviour_unknown_and_invalid():
    assert behaviour("test", None) == "test"            # an LN without Mod follows its LD
    assert behaviour(None, "test") is None
    assert behaviour(None, "off") == "off"              # off wins whatever the LD does
    assert behaviour("0", "on") is None                 # not a BehaviourModeKind (uninitialised model)
    assert behaviour("on", "0") is None


def test_parse_reference():
    assert parse_reference("LD/LLN0$ST$Mod$stVal") == ("LD", "LLN0", "Mod", "leaf")
    assert parse_reference("LD/PTOC1$ST$Beh") == ("LD", "PTOC1", "Beh", "do")
    assert parse_reference("LD/LPHD1$ST$Sim$stVal") == ("LD", "LPHD1", "Sim", "leaf")
    assert parse_reference("LD/LPHD1$ST$PhyHealth$stVal") == ("LD", "LPHD1", "Health", "leaf")
    assert parse_reference("LD/CSWI1$CO$Mod$Oper") == ("LD", "CSWI1", "Mod", "Oper")
    assert parse_reference("LD/LLN0$CO$Mod$SBOw") == ("LD", "LLN0", "Mod", "SBOw")
    assert parse_reference("LD/LLN0$ST$Mod$q") == ("LD", "LLN0", "Mod", "q")
    for bad in ("LD/GGIO1$ST$Sim$stVal", "LD/LLN0$ST$Mod$t", "LD/LLN0$CF$Mod$ctlModel", "LLN0$ST$Mod$stVal",
                "LD/LLN0", "", None, "LD/CSWI1$CO$Pos$Oper"):
        assert parse_reference(bad) is None, bad


def test_quality_and_test_flag():
    q = {"bits": "0000000000010"}
    assert quality_test(q) and quality_test([True, q, 5]) and quality_test([[1, [q]]])
    assert not quality_test({"bits": "0000000000000"})
    assert not quality_test({"bits": "0000000000010000"})   # not a 13-bit quality
    # Oper = ctlVal, origin, ctlNum, T, Test, Check (with and without operTm)
    assert oper_test([3, [3, "aa"], 1, {"utc": 0}, True, {"bits": "00"}]) is True
    assert oper_test([3, {"utc": 0}, [3, "aa"], 1, {"utc": 0}, False, {"bits": "00"}]) is False
    assert oper_test([3]) is None


# -- the state machine, fed with hand-made rows ------------------------------------------------

def _tracker(rows, last_time=100.0, **kw):
    t = ModeTracker(**kw)
    for i, r in enumerate(rows):
        base = dict(stream=0, server="10.0.0.1:102", kind="observed", source="report")
        base.update(r)
        base.setdefault("frame", i + 1)
        base.setdefault("reference", f"LD/{base['ln']}$ST${base['attribute']}")
        t._row(**base)
    return t.finish(last_time)


def _codes(t):
    return sorted(f["code"] for f in t.finding_rows())


def test_nothing_in_test_raises_nothing():
    t = _tracker([dict(time=1, ld="LD", ln="LLN0", attribute="Mod", value="on"),
                  dict(time=1, ld="LD", ln="LLN0", attribute="Beh", value="on"),
                  dict(time=2, ld="LD", ln="XCBR1", attribute="Beh", value="on"),
                  dict(time=3, ld="LD", ln="LLN0", attribute="Health", value="ok")])
    assert _codes(t) == []
    assert {r["ln"] for r in t.intervals()} == {"LLN0", "XCBR1"}


def test_beh_follows_in_time_no_finding_late_or_wrong_finding():
    mod = dict(ld="LD", ln="LLN0", attribute="Mod", value="test", kind="requested", source="write",
               action="operate", outcome="ok", reference="LD/LLN0$CO$Mod$Oper")
    ok = _tracker([dict(time=0, ld="LD", ln="LLN0", attribute="Beh", value="on"),
                   dict(time=1, **mod), dict(time=1.5, ld="LD", ln="LLN0", attribute="Beh", value="test")])
    assert _codes(ok) == ["iec61850.mode.left_abnormal"]          # followed; but left in test at the end
    late = _tracker([dict(time=0, ld="LD", ln="LLN0", attribute="Beh", value="on"),
                     dict(time=1, **mod), dict(time=1.5, ld="LD", ln="LLN0", attribute="Beh", value="on"),
                     dict(time=9, ld="LD", ln="LLN0", attribute="Beh", value="on")], follow_timeout=5)
    f = late.finding_rows()
    assert [x["code"] for x in f] == ["iec61850.mode.beh_not_followed"]   # Beh (what it does) is still on
    assert f[0]["frame"] == 2 and f[0]["frames"] == [2, 3, 4]
    # the same Beh within the timeout, then the right one: followed (slowly but in time)
    slow = _tracker([dict(time=0, ld="LD", ln="LLN0", attribute="Beh", value="on"),
                     dict(time=1, **mod), dict(time=1.5, ld="LD", ln="LLN0", attribute="Beh", value="on"),
                     dict(time=4, ld="LD", ln="LLN0", attribute="Beh", value="test")], follow_timeout=5)
    assert "iec61850.mode.beh_not_followed" not in _codes(slow)
    # a refused Mod write expects nothing
    ref = _tracker([dict(time=0, ld="LD", ln="LLN0", attribute="Beh", value="on"),
                    dict(time=1, **dict(mod, outcome="error", add_cause="blocked-by-mode")),
                    dict(time=9, ld="LD", ln="LLN0", attribute="Beh", value="on")])
    assert _codes(ref) == []


def test_hierarchy_ld_test_ln_on():
    t = _tracker([dict(time=1, ld="LD", ln="LLN0", attribute="Mod", value="test"),
                  dict(time=1, ld="LD", ln="LLN0", attribute="Beh", value="test"),
                  dict(time=2, ld="LD", ln="PTOC1", attribute="Beh", value="on"),
                  dict(time=3, ld="LD", ln="PTOC1", attribute="Beh", value="on"),      # reported once
                  dict(time=4, ld="LD", ln="PDIS1", attribute="Beh", value="test/blocked")])  # own Mod blocked: ok
    f = [x for x in t.finding_rows() if x["code"] == "iec61850.mode.beh_hierarchy"]
    assert len(f) == 1 and f[0]["ln"] == "PTOC1" and f[0]["frame"] == 3


def test_simulation_and_test_traffic_against_sim_and_beh():
    base = dict(server="aa:bb:cc:dd:ee:ff", stream=None, ld="LD", ln="LLN0$GO$gcb", source="goose",
                reference="LD/LLN0$GO$gcb")
    t = _tracker([dict(time=1, ld="LD", ln="LPHD1", attribute="Sim", value="false"),
                  dict(time=1, ld="LD", ln="LLN0", attribute="Beh", value="on"),
                  dict(base, time=2, attribute="simulation", value="true", count=5, last_frame=9),
                  dict(base, time=3, attribute="q.test", value="true", count=2, last_frame=10)])
    assert _codes(t) == ["iec61850.sim.ignored", "iec61850.test.data_while_on"]
    # nothing known about any IED's Sim / Beh: still said, as traffic and as a note
    t = _tracker([dict(base, time=2, attribute="simulation", value="true", count=5, last_frame=9),
                  dict(base, time=3, attribute="q.test", value="true", count=2, last_frame=10)])
    assert _codes(t) == ["iec61850.sim.traffic", "iec61850.test.data"]
    # plain GOOSE: nothing
    t = _tracker([dict(base, time=2, attribute="simulation", value="false", count=5, last_frame=9)])
    assert _codes(t) == []


def test_controls_against_beh():
    ctl = dict(ld="LD", ln="CSWI1", attribute="control", value="True", kind="requested", source="write",
               action="operate", reference="LD/CSWI1$CO$Pos$Oper")
    beh = dict(time=1, ld="LD", ln="CSWI1", attribute="Beh")
    t = _tracker([dict(beh, value="on"), dict(ctl, time=2, test=True, outcome="ok"),
                  dict(ctl, time=3, test=True, outcome="error", add_cause="blocked-by-mode"),
                  dict(ctl, time=4, test=True, outcome="error", add_cause="blocked-by-interlocking"),
                  dict(ctl, time=5, test=False, outcome="ok")])
    assert _codes(t) == ["iec61850.control.blocked_by_mode", "iec61850.control.rejected_other_cause",
                         "iec61850.control.test_not_in_test"]
    t = _tracker([dict(beh, value="test/blocked"), dict(ctl, time=2, test=True, outcome="ok")])
    assert [c for c in _codes(t) if c.startswith("iec61850.control")] == []


def test_namer_hook_names_ied_and_members():
    class N(Namer):
        def ied_name(self, address):
            return {"10.0.0.1": "IED1"}.get(address)

        def fcda(self, ref, index):
            return f"LD/GGIO1$ST$Ind{index + 1}$q" if ref == "LD/LLN0$GO$gcb" else None

    t = ModeTracker(namer=N())
    assert t.member(None, 1, "LD/LLN0$GO$gcb") == "LD/GGIO1$ST$Ind2$q"
    t.data_sets["LD/LLN0$DS"] = ["LD/LLN0$ST$Beh"]
    assert t.member("LD/LLN0$DS", 0) == "LD/LLN0$ST$Beh"      # learned from the capture first
    t._row(time=1, frame=1, stream=0, server="10.0.0.1:102", ld="LD", ln="LLN0", attribute="Beh", value="on",
           kind="observed", source="read")
    assert t.states()[0]["ied"] == "IED1"


def test_negative_command_termination_undoes_the_mod_change():
    mod = dict(ld="LD", ln="LLN0", attribute="Mod", value="test", kind="requested", source="write",
               action="operate", outcome="ok", reference="LD/LLN0$CO$Mod$Oper")
    t = _tracker([dict(time=0, ld="LD", ln="LLN0", attribute="Mod", value="on"),
                  dict(time=0, ld="LD", ln="LLN0", attribute="Beh", value="on"),
                  dict(time=1, **mod),
                  dict(time=1.1, ld="LD", ln="LLN0", attribute="Mod", value="test", source="command-termination",
                       outcome="negative", add_cause="blocked-by-mode"),
                  dict(time=9, ld="LD", ln="LLN0", attribute="Beh", value="on")])
    assert _codes(t) == []                                 # nothing to follow, nothing left in test
    last = [r for r in t.intervals() if r["ln"] == "LLN0"][-1]
    assert last["mod"] == "on" and last["beh"] == "on" and not last["beh_mismatch"]
