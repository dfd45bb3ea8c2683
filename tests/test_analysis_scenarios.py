"""The analysis tables against what a real libiec61850 client and server did.

Each scenario of the harness (tests/iec) runs a libiec61850 server and client,
captures the traffic with tcpdump and records the ground truth: every request
with its invokeID and outcome, every report the client received, the files
served, how each connection ended.  Every count in the tables must equal it.
"""
from __future__ import annotations

import collections
import hashlib
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from iec import requirements_missing  # noqa: E402

from mmsanalyze.api import read_capture  # noqa: E402

_missing = requirements_missing()
pytestmark = [pytest.mark.root, pytest.mark.slow,
              pytest.mark.skipif(bool(_missing), reason="harness needs: " + ", ".join(_missing))]

#: truth ``op`` -> MMS service of the request on the wire
_CONNECTION_OPS = {"initiate", "conclude", "abort", "close-tcp", "reset-tcp"}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """scenario(name) -> (Capture, truth); each scenario runs once per module."""
    cache = {}

    def run(name):
        if name not in cache:
            from iec import scenarios
            out = tmp_path_factory.mktemp(name)
            pcap, truth = scenarios.SCENARIOS[name](outdir=str(out))
            cache[name] = (read_capture(pcap), truth)
        return cache[name]
    return run


def _requests(truth):
    """Truth operations that put a confirmed request on the wire (client side)."""
    return [o for o in truth["operations"]
            if o["op"] not in _CONNECTION_OPS and o.get("invoke_id") is not None and o.get("error_kind") != "Connection"]


def _expected_status(op):
    kind = op.get("error_kind")
    if op["ok"] or kind == "Result":          # a normal response (numberDeleted=0 is still a response)
        return "ok", None, None
    if kind == "ServiceError":
        return "error", "service-error", op["error"]
    if kind == "DataAccessError":
        err = op["error"]
        first = next(e for e in err if e) if isinstance(err, list) else err
        return "error", "data-access-error", first
    if kind == "Reject":
        return "rejected", "reject", op["error"].split("/", 1)[1]
    raise AssertionError(f"unexpected truth {op}")


_WIRE = {"readMultiple": "read", "readDataSet": "read", "writeStruct": "write", "writeMultiple": "write"}


def _wire_service(op):
    return _WIRE.get(op["op"], op["op"])


@pytest.mark.parametrize("name", ["basic_services", "reports", "files", "controls", "abort", "fin", "rst"])
def test_every_request_matched_with_its_outcome(scenario, name):
    cap, truth = scenario(name)
    tx = cap.transactions()
    client = tx[tx["requester"] == "client"]
    reqs = _requests(truth)
    assert len(client) == len(reqs), (len(client), len(reqs))
    by_iid = {int(r.invoke_id): r for r in client.itertuples()}
    for op in reqs:
        row = by_iid[op["invoke_id"]]
        status, kind, code = _expected_status(op)
        assert row.status == status, (op, row)
        if kind is None:
            assert pd.isna(row.error_kind)
        else:
            assert row.error_kind == kind, (op, row)
            if kind == "reject":
                assert row.error_code.endswith("/" + code)
            else:
                assert row.error_code == code, (op, row)
        assert not row.request_missing
        assert row.latency_ms >= 0
    # requests per service equal what the client issued
    want = collections.Counter(_wire_service(o) for o in reqs)
    got = collections.Counter(client["service"])
    assert got == want
    # nothing unanswered, nothing duplicated in these clean captures
    assert (tx["status"] != "unanswered").all()
    assert (tx["duplicates"] == 0).all()


def test_failures_of_several_kinds(scenario):
    cap, truth = scenario("basic_services")
    tx = cap.transactions()
    codes = collections.Counter(zip(tx["error_kind"].fillna(""), tx["error_code"].fillna("")))
    assert codes[("data-access-error", "object-non-existent")] >= 3
    assert codes[("data-access-error", "object-access-denied")] >= 2
    assert codes[("data-access-error", "type-inconsistent")] == 1
    assert codes[("service-error", "access/object-non-existent")] >= 2
    # errors(): one row per failed item (readMultiple / writeMultiple have several items)
    errs = cap.errors()
    failed_items = sum(len([e for e in (o["error"] if isinstance(o["error"], list) else [o["error"]]) if e])
                       for o in truth["operations"] if o.get("error_kind") == "DataAccessError")
    assert (errs["kind"] == "data-access-error").sum() == failed_items
    assert (errs["kind"] == "service-error").sum() == sum(
        1 for o in truth["operations"] if o.get("error_kind") == "ServiceError")
    # the failed item of the readMultiple is named by its variable
    multi = tx[tx["failed_items"] > 0]
    assert any("GGIO1$MX$Nope: object-non-existent" in " ".join(x) for x in multi["item_errors"])


def test_file_not_found_and_file_errors(scenario):
    cap, truth = scenario("files")
    tx = cap.transactions()
    fo = tx[(tx["service"] == "fileOpen") & (tx["status"] == "error")]
    assert fo["error_code"].tolist() == ["file/file-non-existent"]
    errs = cap.errors()
    want = sorted(o["error"] for o in truth["operations"] if o.get("error_kind") == "ServiceError")
    got = sorted((errs[errs["kind"] == "service-error"]["error_class"] + "/" +
                  errs[errs["kind"] == "service-error"]["error_code"]).tolist())
    assert got == want
    assert (errs["kind"] == "reject").sum() == sum(1 for o in truth["operations"] if o.get("error_kind") == "Reject")


def test_latency_counts_per_service(scenario):
    cap, truth = scenario("basic_services")
    stats = cap.latency_stats()
    want = collections.Counter(_wire_service(o) for o in _requests(truth))
    assert dict(zip(stats["service"], stats["count"])) == dict(want)
    for r in stats.itertuples():
        assert r.min_ms <= r.p50_ms <= r.p90_ms <= r.p99_ms <= r.max_ms
    srv = cap.latency_stats("server")
    assert srv["count"].sum() == sum(want.values())
    assert len(cap.slowest(5)) == 5


def test_reports_buffered_and_unbuffered(scenario):
    cap, truth = scenario("reports")
    rep = cap.reports()
    assert rep["malformed"].isna().all()
    cad = cap.report_cadence().set_index("rpt_id")
    intg = truth["reports"]["intg_pd_ms"]
    for rcb, d in truth["reports"]["rcbs"].items():
        row = cad.loc[d["rpt_id"]]
        assert row["reports"] == d["client_received"]
        mine = rep[rep["rpt_id"] == d["rpt_id"]]
        assert mine["seq_num"].tolist() == d["seq_nums"]
        assert set(mine["dataset"]) == {d["data_set"]}
        for reason, n in d["reports_by_reason"].items():
            assert row[reason.replace("-", "_")] == n, (rcb, reason)
        assert row["general_interrogation"] == 1
        assert abs(row["integrity_period_ms"] - intg) < 0.1 * intg
        assert row["seq_gaps"] == row["seq_duplicates"] == row["seq_restarts"] == 0
        # buffered is known from EntryID/BufOvfl; an unbuffered RCB leaves it unknown (NA)
        assert (row["buffered"] is not pd.NA and bool(row["buffered"])) == d["buffered"]
        if d["buffered"]:
            assert mine["entry_id"].notna().all()
    # a data-change report carries one member, a GI / integrity report all of them
    assert set(rep[rep["reasons"].map(lambda r: r == ["data-change"])]["members"]) == {1}


def test_files_directory_and_reads(scenario):
    cap, truth = scenario("files")
    files = cap.files()
    served = {s["file"]: s for s in truth["files"]["served"]}
    done = files[files["complete"]]
    for name, s in served.items():
        row = done[done["name"] == name].iloc[0]
        assert row["sha256"] == s["sha256"] and row["size"] == s["size"] == row["bytes"]
    ob = truth["files"]["obtained"][0]
    row = files[files["kind"] == "obtainFile"].iloc[0]
    assert row["name"] == ob["source"] and row["destination"] == ob["destination"]
    assert row["sha256"] == ob["source_sha256"] and row["complete"]
    # the directory listings equal the server's file store at the time
    d = cap.file_directory()
    first = d[d["frame"] == d["frame"].min()]
    before = truth["files"]["server_root_before"]
    assert dict(zip(first["name"], first["size"])) == {k: v["size"] for k, v in before.items()}


def test_extract_writes_exactly_the_served_files(scenario, tmp_path):
    cap, truth = scenario("files")
    res = cap.extract_files(tmp_path)
    written = {p for _, p, note in res if note == "written"}
    for s in truth["files"]["served"]:
        p = tmp_path / s["file"]
        assert str(p) in written
        assert hashlib.sha256(p.read_bytes()).hexdigest() == s["sha256"]


@pytest.mark.parametrize("name,end", [("abort", "abort"), ("fin", "fin"), ("rst", "rst"),
                                      ("basic_services", "conclude+release")])
def test_association_ends(scenario, name, end):
    cap, truth = scenario(name)
    a = cap.associations()
    assert len(a) == len(truth["connections"]) == 1
    row = a.iloc[0]
    assert row["end"] == end
    assert row["end_by"] == "client"
    assert row["client"].endswith(f":{truth['connections'][0]['client_port']}")
    assert row["initiate"] == "accepted"
    assert row["requests"] == len(_requests(truth))
    assert not row["password_in_clear"]
    if name == "abort":
        assert (cap.errors()["kind"] == "abort").sum() == 1


def test_controls_view(scenario):
    cap, truth = scenario("controls")
    c = cap.controls()
    actions = truth["controls"]["server_actions"]
    operated = [a for a in actions if a["phase"] == "operate"]
    ok_ops = c[(c["action"] == "operate") & (c["result"] == "ok")]
    assert sorted(ok_ops["ctl_num"].tolist()) == sorted(a["ctlNum"] for a in operated)
    assert (c["action"] == "command-termination").sum() >= 1
    refused = c[(c["action"] == "operate") & (c["result"] == "error")]
    assert refused["add_cause"].notna().all() and len(refused) == 2
    assert "object-not-selected" in set(refused["add_cause"])
    # LastApplError / CommandTermination reports are not IEC 61850 reports
    assert len(cap.reports()) == 0
    assert (cap.errors()["kind"] == "last-appl-error").sum() == len(refused)


def test_traffic_counts_every_frame(scenario):
    cap, _ = scenario("basic_services")
    t = cap.traffic()
    assert t["frames"].sum() == cap.frames
    assert abs(t["frame_share"].sum() - 1) < 1e-9
    mms = int(t.loc[t["protocol"] == "mms", "frames"].iloc[0])
    assert mms == len({(r.frame) for r in cap.records})
    assert cap.traffic(by="second")["frames"].sum() == cap.frames
    assert cap.traffic(by="source")["bytes"].sum() == t["bytes"].sum()
