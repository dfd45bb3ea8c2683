"""``mmsanalyze controls`` and ``Capture.control_sequences()`` against what a real
libiec61850 client and server did (tests/iec "controls" scenario: SBOw/Oper with
CommandTermination, SBOw/Cancel, Oper without Select refused with LastApplError,
direct-enhanced ok and refused by the interlock check, direct-normal)."""
from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from mmsanalyze import cli  # noqa: E402
from mmsanalyze.api import read_capture  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "captures" / "demo.pcap"
TRUTH = DEMO.with_suffix(".truth.json")


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def test_demo_sequence_matches_the_server():
    """The demo's one SBOw/Oper of DEMOCTRL/CSWI1.Pos (captures/demo.truth.json: the server
    checked the select and operated ctlNum 1 with ctlVal true)."""
    truth = json.loads(TRUTH.read_text())["controls"]["server_actions"]
    operated = [a for a in truth if a["phase"] == "operate"]
    rc, out, err = run("controls", DEMO, "--format", "json")
    assert rc == 0, err
    rows = json.loads(out)
    assert len(rows) == len(operated) == 1
    r, a = rows[0], operated[0]
    assert r["reference"].startswith(a["ref"]) and r["ctl_num"] == a["ctlNum"] and r["ctl_val"] is a["ctlVal"]
    assert r["model"] == "sbo-with-value" and r["select_result"] == "ok" and r["operate_result"] == "ok"
    assert r["termination"] == "positive" and r["outcome"] == "terminated"
    assert r["select_frame"] < r["operate_frame"] < r["termination_frame"]
    assert r["select_to_operate_s"] > 0 and r["termination_ms"] > 0 and r["or_cat"] == "remote-control"
    rc, out, _ = run("controls", DEMO, "--list", "--format", "csv")
    assert rc == 0 and out.count("\n") == 4        # header + select, operate, termination


def test_outcome_filter_and_choices():
    rc, out, _ = run("controls", DEMO, "--outcome", "failed", "--format", "json")
    assert rc == 0 and json.loads(out) == []
    rc, _, err = run("controls", DEMO, "--outcome", "bogus")
    assert rc == 2 and "terminated" in err


@pytest.fixture(scope="module")
def controls_scenario(tmp_path_factory):
    from iec import requirements_missing
    missing = requirements_missing()
    if missing:
        pytest.skip("harness needs: " + ", ".join(missing))
    from iec import scenarios
    pcap, truth = scenarios.SCENARIOS["controls"](outdir=str(tmp_path_factory.mktemp("controls")))
    return read_capture(pcap), truth


@pytest.mark.root
@pytest.mark.slow
def test_sequences_against_libiec61850(controls_scenario):
    cap, truth = controls_scenario
    seq = cap.control_sequences()
    by_num = {int(r.ctl_num): r for r in seq.itertuples() if r.ctl_num == r.ctl_num and r.ctl_num is not None}
    operated = {a["ctlNum"] for a in truth["controls"]["server_actions"] if a["phase"] == "operate"}
    # what the server operated is exactly what ended terminated / operated
    assert {n for n, r in by_num.items() if r.outcome in ("terminated", "operated")} == operated
    assert by_num[1].model == "sbo-with-value" and by_num[1].outcome == "terminated"
    assert by_num[2].outcome == "cancelled" and by_num[2].cancel_frame is not None
    assert by_num[3].model == "direct" and by_num[3].outcome == "failed"
    assert by_num[3].add_cause == "object-not-selected"
    assert by_num[5].outcome == "failed" and by_num[5].add_cause is not None
    assert by_num[6].model == "direct" and by_num[6].outcome == "operated" and by_num[6].termination is pd.NA
    rc, out, err = run("controls", cap.name, "--outcome", "failed", "--format", "json")
    assert rc == 0 and sorted(r["ctl_num"] for r in json.loads(out)) == [3, 5]
