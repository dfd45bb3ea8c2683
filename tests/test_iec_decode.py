"""A real libiec61850 server and client (pyiec61850-ng) talk on loopback in a network
namespace while tcpdump captures; we must decode every request and response the
client made (the harness' ground truth), and agree with tshark on every body."""

from __future__ import annotations

import collections

import pytest

from mmsanalyze.io import open_capture
from mmsanalyze.pipeline import Pipeline
from mmsanalyze.records import OsiEvent, PduRecord
from test_vs_tshark import body_mismatches, decode_theirs

pytestmark = [pytest.mark.root, pytest.mark.tshark]
SCENARIOS = ["basic_services", "reports", "files", "controls", "connection_ends"]


def decode(pcap, truth):
    port = truth["server"]["port"]
    pipe = Pipeline(tuple({102, port}))
    recs = []
    with open_capture(pcap) as r:
        for fr in r:
            recs += pipe.feed(fr)
    recs += pipe.finish()
    return recs, pipe


def stream_of_conn(recs, truth):
    """truth connection id -> our stream index, via the client's TCP port."""
    ports = {c["client_port"]: c["id"] for c in truth["connections"]}
    out = {}
    for r in recs:
        if isinstance(r, PduRecord):
            cport = r.sport if r.direction == 0 else r.dport
            if cport in ports:
                out[ports[cport]] = r.stream
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_client_operation_is_decoded(iec_scenario, name):
    pcap, truth = iec_scenario(name)
    recs, pipe = decode(pcap, truth)
    pdus = [r for r in recs if isinstance(r, PduRecord)]
    assert not [r for r in pdus if r.error], [r.error for r in pdus if r.error][:3]
    streams = stream_of_conn(recs, truth)
    requests = {(r.stream, r.invoke_id): r for r in pdus if r.pdu == "confirmed-RequestPDU" and r.direction == 0}
    answers = {(r.stream, r.invoke_id): r for r in pdus if r.direction == 1 and r.pdu in
               ("confirmed-ResponsePDU", "confirmed-ErrorPDU", "rejectPDU")}
    checked = 0
    for op in truth["operations"]:
        s = streams.get(op["conn"])
        if op["invoke_id"] is None:
            if op["op"] == "initiate":
                assert any(r.stream == s and r.pdu == "initiate-RequestPDU" for r in pdus)
                assert any(r.stream == s and r.pdu == "initiate-ResponsePDU" for r in pdus)
            elif op["op"] == "conclude":
                assert any(r.stream == s and r.pdu == "conclude-RequestPDU" for r in pdus)
            continue
        key = (s, op["invoke_id"])
        assert key in requests, f"request {op['op']} invokeID {op['invoke_id']} not decoded"
        assert requests[key].service == op["op"]
        if op.get("response_pdu"):
            assert key in answers, f"answer to {op['op']} invokeID {op['invoke_id']} not decoded"
            a = answers[key]
            assert a.pdu == op["response_pdu"]
            if a.pdu == "confirmed-ResponsePDU":
                assert a.service == op["op"]
            m = a.decoded()
            if op.get("error_kind") == "ServiceError":
                cls, code = op["error"].split("/", 1)
                assert (m.error["class"], str(m.error["code"])) == (cls, code)
            elif op.get("error_kind") == "DataAccessError" and op["op"] in ("read", "write"):
                assert any(isinstance(x, dict) and "failure" in x for x in m.access_results)
        checked += 1
    assert checked >= 3
    # unconfirmed InformationReports (RPT, CommandTermination, LastApplError) all decoded
    want = sum(len(c.get("information_reports", [])) for c in truth["connections"])
    got = sum(1 for r in pdus if r.service == "informationReport")
    assert got == want


def test_connection_ends(iec_scenario):
    pcap, truth = iec_scenario("connection_ends")
    recs, pipe = decode(pcap, truth)
    streams = stream_of_conn(recs, truth)
    ev = collections.defaultdict(set)
    for r in recs:
        if isinstance(r, OsiEvent):
            ev[r.stream].add(r.name)
    for c in truth["connections"]:
        names = ev[streams[c["id"]]]
        if c["end"] == "abort":
            assert "abrt" in names or "AB" in names
        elif c["end"] == "fin":
            assert "fin" in names and "rlrq" not in names
        elif c["end"] == "rst":
            assert "rst" in names
        elif c["end"] == "conclude":
            assert "rlrq" in names and "rlre" in names


@pytest.mark.parametrize("name", SCENARIOS)
def test_bodies_match_tshark(iec_scenario, name):
    pcap, truth = iec_scenario(name)
    port = truth["server"]["port"]
    ports = () if port == 102 else (port,)
    ours = tuple(r for r in decode(pcap, truth)[0] if isinstance(r, PduRecord))
    theirs = decode_theirs(str(pcap), ports)
    assert len(theirs) >= 5
    assert body_mismatches(name, ours, theirs) == []
