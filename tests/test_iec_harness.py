"""Tests of the libiec61850 traffic harness (tests/iec).

The scenarios run a real libiec61850 server + client in a network namespace
and capture with tcpdump (root).  Each capture is decoded independently with
tshark and compared with the harness' ground truth (iec.verify.check): every
client request with its invokeID and service, the kind of every answer,
InformationReports, connection ends, report counts, file hashes.
"""
from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from iec import SCENARIO_NAMES, requirements_missing  # noqa: E402
from iec import verify  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "captures" / "demo.pcap"
DEMO_TRUTH = ROOT / "captures" / "demo.truth.json"

_missing = requirements_missing()
needs_harness = pytest.mark.skipif(bool(_missing), reason="harness needs: " + ", ".join(_missing))
needs_tshark = pytest.mark.skipif(not verify.tshark_available(), reason="tshark not installed")

MAX_SCENARIO_SECONDS = 20


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """run(name, **kw) -> (pcap, truth); each distinct call runs once per module."""
    cache = {}

    def _run(name, **kw):
        key = (name, tuple(sorted(kw.items())))
        if key not in cache:
            from iec import scenarios
            out = tmp_path_factory.mktemp(name)
            pcap, truth = scenarios.SCENARIOS[name](outdir=str(out), **kw)
            cache[key] = (pcap, truth, verify.decode(pcap, truth["server"]["port"]))
        return cache[key]
    return _run


def _ops(truth, op=None):
    return [o for o in truth["operations"] if op is None or o["op"] == op]


# --------------------------------------------------------------------------
# every scenario: capture exists, is honest, fast enough
# --------------------------------------------------------------------------

@pytest.mark.root
@pytest.mark.tshark
@needs_harness
@needs_tshark
@pytest.mark.parametrize("name", [n for n in SCENARIO_NAMES if n != "demo"])
def test_scenario_capture_matches_truth(run, name):
    pcap, truth, dec = run(name)
    assert Path(pcap).stat().st_size > 24
    assert Path(truth["truth_file"]).exists()
    json.loads(Path(truth["truth_file"]).read_text())          # serialisable
    assert truth["server"]["port"] == 102 and truth["capture"]["netns"]
    assert truth["duration_s"] < MAX_SCENARIO_SECONDS
    assert verify.check(pcap, truth, dec) == []
    # no stray traffic in the namespace: every TCP packet belongs to a truth connection
    ports = {c["client_port"] for c in truth["connections"]}
    assert {t["src"] for t in dec["tcp"]} | {t["dst"] for t in dec["tcp"]} <= ports | {102}


@pytest.mark.root
@pytest.mark.tshark
@needs_harness
@needs_tshark
def test_plain_fields_cross_check(run):
    """The brief's tshark field command sees the same (invokeID, service) requests."""
    pcap, truth, _ = run("basic_services")
    out = subprocess.run(
        ["tshark", "-r", pcap, "-Y", "mms", "-T", "fields", "-E", "occurrence=a",
         "-e", "frame.number", "-e", "tcp.srcport", "-e", "mms.confirmedServiceRequest",
         "-e", "mms.confirmedServiceResponse", "-e", "mms.invokeID"],
        capture_output=True, text=True, check=True).stdout
    wire_req, wire_resp = [], []
    for line in out.splitlines():
        frame, sport, req, resp, inv = (line.split("\t") + [""] * 5)[:5]
        for r, i in zip(req.split(","), inv.split(",")):
            if r:
                wire_req.append((int(i), int(r)))
        for r, i in zip(resp.split(","), inv.split(",")):
            if r:
                wire_resp.append((int(i), int(r)))
    truth_req = [(o["invoke_id"], verify.SERVICE[o["op"]]) for o in truth["operations"]
                 if o["invoke_id"] is not None]
    assert wire_req == truth_req
    truth_resp = [(o["invoke_id"], verify.SERVICE[o["op"]]) for o in truth["operations"]
                  if o["invoke_id"] is not None and o["response_pdu"] == "confirmed-ResponsePDU"]
    assert wire_resp == truth_resp


@pytest.mark.root
@pytest.mark.tshark
@needs_harness
@needs_tshark
def test_host_lo_mode_with_high_port(run):
    """netns=False: host lo, free high port, BPF filter, tshark needs -d tcp.port==N,tpkt."""
    pcap, truth, dec = run("fin", netns=False)
    port = truth["server"]["port"]
    assert port != 102 and truth["capture"]["netns"] is None
    assert truth["capture"]["bpf"] == f"tcp port {port}"
    assert truth["capture"]["decode_as"] == f"tcp.port=={port},tpkt"
    assert verify.check(pcap, truth, dec) == []


# --------------------------------------------------------------------------
# scenario contents
# --------------------------------------------------------------------------

@pytest.mark.root
@needs_harness
def test_basic_services_content(run):
    pcap, truth, _ = run("basic_services")
    ops = Counter(o["op"] for o in truth["operations"])
    for op in ("initiate", "identify", "status", "getNameList", "read", "write",
               "getVariableAccessAttributes", "getNamedVariableListAttributes",
               "defineNamedVariableList", "deleteNamedVariableList", "conclude"):
        assert ops[op] >= 1, op
    ident = _ops(truth, "identify")[0]
    assert ident["value"]["vendor"] == "mmsanalyze" and ident["value"]["model"] == "DEMO-IED"
    gnl = _ops(truth, "getNameList")
    assert gnl[0]["value"] == ["DEMOCTRL", "DEMOLD0"]
    assert any(o["moreFollows"] for o in gnl), "small PDU size should force a continuation"
    assert any(o["args"]["continueAfter"] for o in gnl)

    writes = _ops(truth, "write")
    errs = {o["error"] for o in writes if o["error_kind"] == "DataAccessError" and isinstance(o["error"], str)}
    assert {"object-access-denied", "type-inconsistent", "object-value-invalid", "object-non-existent"} <= errs
    assert sum(o["ok"] for o in writes) >= 3
    multi = [o for o in writes if "items" in o["args"]]
    assert multi and [r["ok"] for r in multi[0]["results"]] == [True, False, True]

    reads = _ops(truth, "read")
    assert any(o["error"] == "object-non-existent" for o in reads)
    assert any(o.get("results") and not o["ok"] for o in reads)             # mixed multi-read
    readback = [o for o in reads if o["args"].get("item") == "GGIO1$SP$SetPt1$setMag$f"]
    assert readback[-1]["value"] == 13.25                                    # written before
    ds = [o for o in reads if o["args"].get("variableListName") == "LLN0$HarnessDS"]
    assert ds and ds[0]["ok"] and len(ds[0]["value"]) == 3

    kinds = Counter(o["response_pdu"] for o in truth["operations"])
    assert kinds["confirmed-ErrorPDU"] >= 3
    d = {o["args"]["name"]: o for o in _ops(truth, "deleteNamedVariableList")}
    assert d["LLN0$HarnessDS"]["ok"] and d["@HarnessAA"]["ok"]
    assert d["LLN0$Events"]["error"] == "numberDeleted=0"
    assert d["LLN0$Gone"]["error"] == "numberMatched=0"
    st = truth["server"]["stats"]
    assert [w["result"] for w in st["write_handler_calls"]][:3] == [
        "object-access-denied", "success", "object-value-invalid"]
    assert [c["connected"] for c in st["connections"]] == [True, False]


@pytest.mark.root
@needs_harness
def test_reports_content(run):
    pcap, truth, _ = run("reports")
    rcbs = truth["reports"]["rcbs"]
    u, b = rcbs["LLN0$RP$urcbEvents01"], rcbs["LLN0$BR$brcbMeas01"]
    assert u["rpt_id"] == "DEMO/Events" and not u["buffered"]
    assert b["rpt_id"] == "DEMO/Meas" and b["buffered"]
    for r in (u, b):
        assert r["intg_pd_ms"] == 500
        assert r["client_received"] == r["server_created_while_enabled"]
        # GI + 4 data changes + >= 1 integrity period within 1.3 s
        assert r["client_received"] >= 6
        assert r["reports_by_reason"].get("general-interrogation", 0) >= 1
        assert r["reports_by_reason"].get("integrity", 0) >= 1
        assert r["reports_by_reason"].get("data-change", 0) >= 4
        assert r["seq_nums"] == list(range(len(r["seq_nums"])))
    assert u["reports_by_reason"].get("quality-change") == 1
    infos = truth["connections"][0]["information_reports"]
    assert all(i["kind"] == "report" for i in infos)
    assert {i["rpt_id"] for i in infos} == {"DEMO/Events", "DEMO/Meas"}
    ev = [i for i in infos if i["rpt_id"] == "DEMO/Events"][0]
    assert ev["data_set"] == "DEMOLD0/LLN0$Events"
    assert ev["data_refs"] == ["DEMOLD0/GGIO1$ST$Ind1", "DEMOLD0/GGIO1$ST$Ind2", "DEMOLD0/GGIO1$ST$SPCSO1"]
    meas = [i for i in infos if i["rpt_id"] == "DEMO/Meas"]
    assert all("entry_id" in i for i in meas)


@pytest.mark.root
@needs_harness
def test_files_content(run):
    pcap, truth, _ = run("files")
    f = truth["files"]
    served = {x["file"]: x for x in f["served"]}
    assert set(served) == {"COMTRADE/REC_0001.cfg", "COMTRADE/REC_0001.dat", "LOG/events.log"}
    assert served["COMTRADE/REC_0001.dat"]["size"] == 12800
    assert all(x["sha256"] == x["client_sha256"] for x in served.values())
    reads = [o for o in _ops(truth, "fileRead")]
    assert sum(o["bytes"] for o in reads) == 258 + 12800 + f["server_root_before"]["LOG/events.log"]["size"]
    assert sum(1 for o in reads if o["moreFollows"]) >= 3                     # multi-PDU download
    errs = {(o["op"], o["error"]) for o in truth["operations"] if not o["ok"]}
    assert ("fileOpen", "file/file-non-existent") in errs
    assert ("fileDelete", "file/file-acces-denied") in errs
    assert ("fileDelete", "file/file-non-existent") in errs
    assert ("fileRename", "reject/unrecognized-service") in errs
    ob = f["obtained"][0]
    assert ob["server_has"]["sha256"] == ob["source_sha256"]
    assert "obsolete.tmp" in f["server_root_before"] and "obsolete.tmp" not in f["server_root_after"]
    denied = [a for a in f["server_file_access"] if a["handler_result"] != "accepted"]
    assert [(a["service"], a["file"]) for a in denied] == [("fileDelete", "readme.txt")]


@pytest.mark.root
@needs_harness
def test_controls_content(run):
    pcap, truth, _ = run("controls")
    writes = {(o["args"]["item"], o["acsi"]): o for o in _ops(truth, "write")}
    assert writes[("CSWI1$CO$Pos$SBOw", "SelectWithValue")]["ok"]
    assert writes[("CSWI1$CO$Pos$Oper", "Operate")]["ok"]
    assert writes[("CSWI1$CO$Pos$Cancel", "Cancel")]["ok"]
    assert writes[("CSWI1$CO$Pos$Oper", "Operate (not selected)")]["error"] == "object-access-denied"
    assert writes[("CSWI2$CO$Pos$Oper", "Operate (interlock-check, refused)")]["error"] == "object-access-denied"
    stvals = [o["value"] for o in _ops(truth, "read") if o["args"]["item"] == "CSWI1$ST$Pos$stVal"]
    assert stvals == [{"bits": "01"}, {"bits": "10"}]                         # off -> on
    infos = truth["connections"][0]["information_reports"]
    kinds = Counter(i["kind"] for i in infos)
    assert kinds == {"command-termination": 2, "last-appl-error": 2}
    lae = [i for i in infos if i["kind"] == "last-appl-error"]
    assert [i["cntrl_obj"] for i in lae] == ["DEMOCTRL/CSWI1$CO$Pos$Oper", "DEMOCTRL/CSWI2$CO$Pos$Oper"]
    actions = truth["controls"]["server_actions"]
    assert [(a["ref"], a["ctlNum"]) for a in actions if a["phase"] == "operate"] == [
        ("DEMOCTRL/CSWI1.Pos", 1), ("DEMOCTRL/CSWI2.Pos", 4), ("DEMOLD0/GGIO1.SPCSO1", 6)]


@pytest.mark.root
@needs_harness
def test_connection_ends_content(run):
    pcap, truth, _ = run("connection_ends")
    assert [c["end"] for c in truth["connections"]] == ["conclude", "abort", "fin", "rst"]
    assert len({c["client_port"] for c in truth["connections"]}) == 4
    assert [o["op"] for o in truth["operations"] if o["op"] in (
        "conclude", "abort", "close-tcp", "reset-tcp")] == ["conclude", "abort", "close-tcp", "reset-tcp"]
    assert all(o["ok"] for o in truth["operations"])
    conns = truth["server"]["stats"]["connections"]
    assert [c["connected"] for c in conns] == [True, False] * 4


@pytest.mark.root
@pytest.mark.tshark
@needs_harness
@needs_tshark
def test_verifier_catches_dishonest_truth(run):
    """Mutations of the truth must be detected (the check has teeth)."""
    pcap, truth, dec = run("basic_services")
    reads = [i for i, o in enumerate(truth["operations"]) if o["op"] == "read"]

    def broken(mutate):
        t = copy.deepcopy(truth)
        mutate(t)
        return verify.check(pcap, t, dec)

    assert broken(lambda t: t["operations"][reads[0]].update(invoke_id=999))
    assert broken(lambda t: t["operations"][reads[0]].update(op="write"))
    assert broken(lambda t: t["operations"][reads[0]].update(response_pdu="confirmed-ErrorPDU"))
    assert broken(lambda t: t["connections"][0]["operations"].remove(reads[1]))
    assert broken(lambda t: t["connections"][0].update(end="rst"))
    assert broken(lambda t: t["connections"][0].update(information_reports=[{"kind": "report"}]))


# --------------------------------------------------------------------------
# the committed demo capture (tshark only, no root needed)
# --------------------------------------------------------------------------

@pytest.mark.tshark
@needs_tshark
@pytest.mark.skipif(not (DEMO.exists() and DEMO_TRUTH.exists()), reason="captures/demo.pcap not generated")
def test_committed_demo_capture():
    assert DEMO.stat().st_size < 200 * 1024
    truth = json.loads(DEMO_TRUTH.read_text())
    dec = verify.decode(str(DEMO), truth["server"]["port"])
    assert verify.check(str(DEMO), truth, dec) == []
    s = verify.summary(str(DEMO), truth, dec)
    for kind in ("initiate-RequestPDU", "confirmed-RequestPDU", "confirmed-ResponsePDU",
                 "confirmed-ErrorPDU", "rejectPDU", "unconfirmed-PDU", "conclude-RequestPDU"):
        assert s["mms_pdus"].get(kind, 0) >= 1, kind
    for svc in ("identify", "getNameList", "getVariableAccessAttributes", "read", "write",
                "fileDirectory", "fileOpen", "fileRead", "fileClose"):
        assert s["requests_by_service"].get(svc, 0) >= 1, svc
    assert s["acse"].get("rlrq") == 1
    assert s["goose"] == len(truth["goose"]["messages"]) >= 1
    rep = truth["reports"]["rcbs"]
    assert all(r["client_received"] >= 3 for r in rep.values())


@pytest.mark.root
@pytest.mark.slow
@needs_harness
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_make_demo_script_runs(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "captures" / "make_demo.py"), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "demo.pcap").stat().st_size < 200 * 1024
    truth = json.loads((tmp_path / "demo.truth.json").read_text())
    assert truth["pcap"] == "demo.pcap"
