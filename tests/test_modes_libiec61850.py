"""IED modes (Mod / Beh / test / simulation) against a real libiec61850 server and GOOSE publisher.

The ``modes`` scenario (tests/iec/modes_scenario.py) drives tests/iec/modes_server.py:
the server's own log says which Mod operates it accepted, which Beh it set (and a
deliberately stuck LN that never follows its LD), every control check with its
result and AddCause, every value it updated and every GOOSE message it published
(simulation flag, quality test bit).  Every state change and every finding of
``ied_states()`` / ``ied_mode_findings()`` must equal what that log implies, frame by
frame.  The expected findings are derived here from the server log alone.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from iec import requirements_missing  # noqa: E402

from mmsanalyze.analysis.controls import ADD_CAUSES  # noqa: E402
from mmsanalyze.api import read_capture  # noqa: E402

_missing = requirements_missing()
pytestmark = [pytest.mark.root, pytest.mark.slow,
              pytest.mark.skipif(bool(_missing), reason="harness needs: " + ", ".join(_missing))]

LD = "MODESLD0"
TRUTH: dict = {}
#: pcap timestamps (tcpdump) and the server's time.time() come from one clock; allow
#: this much for the kernel's timestamping of the frame vs the handler's call.
CLOCK_SLACK_S = 0.005


def _annex_a(ld, ln):
    from iec.modes_server import MODE_NAMES, annex_a
    inv = {v: k for k, v in MODE_NAMES.items()}
    return MODE_NAMES[annex_a(inv[ld], inv[ln] if ln else None)]


@pytest.fixture(scope="module")
def run(request, tmp_path_factory):
    from iec import modes_scenario
    pcap, truth = modes_scenario.run(str(tmp_path_factory.mktemp("modes")))
    cap = read_capture(pcap)
    request.module.TRUTH = truth
    return cap, truth["modes"]


class ServerState:
    """The server's Mod/Beh/Sim/Health as of a time, replayed from its log."""

    def __init__(self, log):
        self.log = log

    def at(self, t):
        init = self.log[0]
        assert init["kind"] == "initial"
        mod, beh = dict(init["mod"]), dict(init["beh"])
        sim, health = False, "ok"
        names = {1: "on", 2: "on-blocked", 3: "test", 4: "test/blocked", 5: "off"}
        for e in self.log[1:]:
            if e["t"] > t:
                break
            if e["kind"] == "mod":
                mod[e["ln"]] = e["value"]
            elif e["kind"] == "beh":
                beh[e["ln"]] = e["value"]
            elif e["kind"] == "update":
                ln, rest = e["ref"].split("/", 1)[1].split(".", 1)
                if rest == "Beh.stVal":
                    beh[ln] = names[e["value"]]
                elif rest == "Sim.stVal":
                    sim = bool(e["value"])
                elif ln == "LLN0" and rest == "Health.stVal":
                    health = {1: "ok", 2: "warning", 3: "alarm"}[e["value"]]
        return mod, beh, sim, health


def _frames_of_requests(cap, ref):
    p = cap.pdus()
    m = p[(p["pdu"] == "confirmed-RequestPDU") & (p["service"] == "write")
          & p["variables"].map(lambda v: list(v) == [ref])]
    return list(m["frame"])


def test_mod_requests_equal_server_log(run):
    cap, log = run
    st = cap.ied_states()
    req = st[(st["kind"] == "requested") & (st["attribute"] == "Mod")]
    accepted = req[(req["outcome"] == "ok") & (req["action"] == "operate")]
    server = [(e["ln"], e["value"]) for e in log if e["kind"] == "mod"]
    assert [(r.ln, r.value) for r in accepted.itertuples()] == server
    assert len(req) == len(server)                      # every Mod write was accepted by this server
    mods = [e for e in log if e["kind"] == "mod"]
    for r, e in zip(accepted.itertuples(), mods):
        # the row's frame is the write of that Mod$Oper, and the server acted between request and response
        assert r.frame in _frames_of_requests(cap, f"{LD}/{r.ln}$CO$Mod$Oper")
        assert r.time - CLOCK_SLACK_S <= e["t"]
        tx = cap.transactions()
        rsp = tx[tx["request_frame"] == r.frame].iloc[0]
        assert rsp["response_frame"] == r.response_frame
        assert e["t"] <= rsp["response_time"] + CLOCK_SLACK_S
        assert r.test is False or r.test == e["test"]


def test_observed_values_equal_server_state(run):
    cap, log = run
    state = ServerState(log)
    st = cap.ied_states()
    obs = st[(st["kind"] == "observed") & st["source"].isin(["read", "report"])]
    seen = set()
    for r in obs.itertuples():
        mod, beh, sim, health = state.at(r.time)
        if r.attribute == "Beh":
            assert r.value == beh[r.ln], (r.frame, r.ln, r.value, beh)
        elif r.attribute == "Mod":
            assert r.value == mod[r.ln], (r.frame, r.ln, r.value, mod)
        elif r.attribute == "Sim":
            assert r.value == ("true" if sim else "false"), r.frame
        elif r.attribute == "Health" and r.ln == "LLN0":
            assert r.value == health, r.frame
        seen.add((r.attribute, r.source))
    # both reads and (data-set-named, no data references) reports were understood
    assert {("Beh", "read"), ("Beh", "report"), ("Mod", "read"), ("Mod", "report"), ("Sim", "read"),
            ("Sim", "report"), ("Health", "report")} <= seen
    # every Beh the server set (log) shows up as a report observation of that value after it
    for e in (x for x in log if x["kind"] == "beh"):
        later = obs[(obs["attribute"] == "Beh") & (obs["ln"] == e["ln"]) & (obs["time"] >= e["t"])]
        assert len(later) and later.iloc[0]["value"] == e["value"], e


def _controls(cap, log):
    st = cap.ied_states()
    rows = list(st[(st["attribute"] == "control") & (st["kind"] == "requested")].itertuples())
    checks = [e for e in log if e["kind"] == "check"]
    assert len(rows) == len(checks)
    return list(zip(rows, checks))


def test_controls_equal_server_checks(run):
    cap, log = run
    tx = cap.transactions().set_index("request_frame")
    for r, e in _controls(cap, log):
        assert r.ln == e["ln"]
        assert bool(r.test) == e["test"]
        # the row is the write of that Oper, and the server's check ran between request and response
        assert r.frame in _frames_of_requests(cap, r.reference)
        assert r.time - CLOCK_SLACK_S <= e["t"] <= tx.loc[r.frame, "response_time"] + CLOCK_SLACK_S
        assert r.response_frame == tx.loc[r.frame, "response_frame"]
        assert (r.outcome == "ok") == (e["result"] == "accepted"), (r.frame, e)
        if e["result"] == "refused":
            assert r.add_cause == ADD_CAUSES[e["add_cause"]], (r.frame, e)


def test_goose_flags_equal_publisher_log(run):
    cap, log = run
    sent = [e for e in log if e["kind"] == "goose"]
    g = cap.goose()
    g = g[g["gocb_ref"] == f"{LD}/LLN0$GO$gcbModes"].reset_index(drop=True)
    assert list(g["st_num"]) == [e["st_num"] for e in sent]
    assert [bool(x) for x in g["simulation"]] == [e["simulation"] for e in sent]
    st = cap.ied_states()
    gs = st[st["source"] == "goose"]
    sim = gs[(gs["attribute"] == "simulation") & (gs["value"] == "true")]
    assert int(sim["count"].sum()) == sum(e["simulation"] for e in sent)
    test = gs[(gs["attribute"] == "q.test") & (gs["value"] == "true")]
    assert int(test["count"].sum()) == sum(e["test"] for e in sent)
    assert set(test["reference"]) == {f"{LD}/GGIO1$ST$Ind1$q"}   # named from the learned data set


def _expected_findings(cap, log):
    """(code, ln, first frame) of every finding the server log implies."""
    state = ServerState(log)
    exp = set()
    st = cap.ied_states()
    # a stuck LN: the LD's Mod changed, the server never set that LN's Beh
    mod_rows = st[(st["kind"] == "requested") & (st["attribute"] == "Mod") & (st["outcome"] == "ok")]
    for r, e in zip(mod_rows.itertuples(), [e for e in log if e["kind"] == "mod"]):
        if e["ln"] != "LLN0":
            continue
        mod, beh, _, _ = state.at(e["t"] + 0.25)
        for ln in beh:
            if ln == "LLN0":
                continue
            want = _annex_a(mod["LLN0"], mod.get(ln))
            if beh[ln] != want and not any(x["kind"] == "beh" and x["ln"] == ln and x["t"] >= e["t"]
                                           and x["t"] < e["t"] + 0.25 for x in log):
                exp.add(("iec61850.mode.beh_not_followed", ln, r.frame))
    # a Beh set by hand against the hierarchy: first observation of it
    for e in (x for x in log if x["kind"] == "update" and x["ref"].endswith(".Beh.stVal")):
        ln = e["ref"].split("/", 1)[1].split(".", 1)[0]
        mod, _, _, _ = state.at(e["t"])
        names = {1: "on", 2: "on-blocked", 3: "test", 4: "test/blocked", 5: "off"}
        if names[e["value"]] != _annex_a(mod["LLN0"], mod.get(ln)):
            o = st[(st["attribute"] == "Beh") & (st["ln"] == ln) & (st["time"] >= e["t"])].iloc[0]
            exp.add(("iec61850.mode.beh_hierarchy", ln, int(o["frame"])))
    # controls
    for r, e in _controls(cap, log):
        in_test = e["beh"] in ("test", "test/blocked")
        forbidden = e["beh"] == "off" or (e["test"] and not in_test)
        if e["result"] == "accepted" and forbidden:
            exp.add(("iec61850.control.test_not_in_test", e["ln"], r.frame))
        elif e["result"] == "refused" and e["add_cause"] == 8:
            exp.add(("iec61850.control.blocked_by_mode", e["ln"], r.frame))
        elif e["result"] == "refused" and forbidden:
            exp.add(("iec61850.control.rejected_other_cause", e["ln"], r.frame))
    # GOOSE: runs of test-flagged / simulated messages, judged against the publisher's state then
    g = cap.goose()
    g = g[g["gocb_ref"] == f"{LD}/LLN0$GO$gcbModes"].reset_index(drop=True)
    prev = None
    for (_, row), e in zip(g.iterrows(), [e for e in log if e["kind"] == "goose"]):
        _, beh, sim, _ = state.at(e["t"])
        key = None
        if e["test"]:
            key = ("iec61850.test.data_while_on" if beh["LLN0"] in ("on", "on-blocked") else "iec61850.test.data",
                   "LLN0$GO$gcbModes")
        elif e["simulation"]:
            key = ("iec61850.sim.traffic" if sim else "iec61850.sim.ignored", "LLN0$GO$gcbModes")
        if key is not None and key != prev:
            exp.add(key + (int(row["frame"]),))
        prev = key
    # Health raised by the server: first report of it
    for e in (x for x in log if x["kind"] == "update" and x["ref"].endswith("LLN0.Health.stVal") and x["value"] > 1):
        o = st[(st["attribute"] == "Health") & (st["ln"] == "LLN0") & (st["time"] >= e["t"])].iloc[0]
        exp.add(("iec61850.mode.health", "LLN0", int(o["frame"])))
    # left in a non-normal state: the server's final Beh
    mod, beh, _, _ = state.at(float("inf"))
    abnormal = sorted(ln for ln, b in beh.items() if b != "on")
    return exp, abnormal


def test_findings_equal_what_the_server_log_implies(run):
    cap, log = run
    exp, abnormal = _expected_findings(cap, log)
    f = cap.ied_mode_findings()
    got = {(r.code, r.ln, int(r.frame)) for r in f.itertuples() if r.code != "iec61850.mode.left_abnormal"}
    assert got == exp
    # every finding names its proving frames, the event's own frame among them
    for r in f.itertuples():
        assert r.frames and r.frame in r.frames
    left = f[f["code"] == "iec61850.mode.left_abnormal"]
    assert len(left) == 1 and abnormal == ["CSWI1"]
    assert "CSWI1 test/blocked" in left.iloc[0]["message"]
    # the same findings are in Capture.findings() (layer iec61850)
    allf = cap.findings()
    assert (allf["layer"] == "iec61850").sum() == len(f)


def test_timeline_follows_the_server(run):
    cap, log = run
    m = cap.ied_modes()
    state = ServerState(log)
    lns = m[(m["server"].str.endswith(":102")) & (m["ld"] == LD)]
    assert {"LLN0", "PTOC1", "CSWI1", "GGIO1", "LPHD1"} <= set(lns["ln"])
    for r in lns.itertuples():
        if pd.isna(r.beh):
            continue
        _, beh, _, _ = state.at(r.start)
        # an interval opened by an observation shows the server's value at that moment
        if r.cause.startswith(("read Beh", "report Beh")):
            assert r.beh == beh[r.ln], (r.start_frame, r.ln)
    # the stuck LN is flagged in the timeline: observed Beh differs from the derived one
    stuck = lns[(lns["ln"] == "PTOC1") & lns["beh_mismatch"]]
    assert len(stuck) and set(stuck["beh"]) == {"on"}
    # the end: CSWI1 stays in test/blocked until the end of the capture
    last = lns[lns["ln"] == "CSWI1"].sort_values("start").iloc[-1]
    assert last["beh"] == "test/blocked" and last["end"] == cap.last_time
    gm = m[m["ln"] == "LLN0$GO$gcbModes"]
    assert gm["simulated_traffic"].any() and gm["test_traffic"].any()


def test_reports_equal_what_the_client_received(run):
    cap, _ = run
    got = [r for c in TRUTH["connections"] for r in c.get("information_reports") or [] if r.get("kind") == "report"]
    rep = cap.reports()
    stats = TRUTH["capture"].get("tcpdump") or {}
    dropped = stats.get("packets dropped by kernel", 0)
    if dropped:
        pytest.skip(f"tcpdump lost {dropped} packet(s): {stats}")
    assert sorted(rep["seq_num"]) == sorted(r["seq_num"] for r in got), stats
    assert set(rep["rpt_id"]) == {"MODES/Modes"}
    # each report's Beh members: the client's decoded values equal the observation rows of that frame
    st = cap.ied_states()
    from_reports = st[(st["source"] == "report") & (st["attribute"] == "Beh")]
    assert len(from_reports) and set(from_reports["frame"]) <= set(rep["frame"])
