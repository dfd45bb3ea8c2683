"""``mmsanalyze pdus``: output formats, display filter, details pane."""

import csv
import io
import json
from contextlib import redirect_stderr, redirect_stdout

import pytest

import public
from mmsanalyze.cli import main
from mmsanalyze.dfilter import FilterError, compile_filter

CAP = public.path("mms_iti_pcapr_reports_identify_write.pcap")
pytestmark = pytest.mark.skipif(not public.available(), reason="../shared captures not present")


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def jsonl(*extra):
    rc, out, err = run("pdus", CAP, "--format", "jsonl", *extra)
    assert rc == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_jsonl_fields_and_order():
    rows = jsonl()
    assert len(rows) == public.manifest_int("mms_iti_pcapr_reports_identify_write.pcap", "mms")
    need = {"frame", "time", "stream", "src", "sport", "dst", "dport", "pdu", "service", "invoke_id",
            "variables", "error", "access_results", "detail"}
    assert need <= set(rows[0])
    assert [r["frame"] for r in rows] == sorted(r["frame"] for r in rows)
    first = rows[0]
    assert first["pdu"] == "initiate-RequestPDU" and first["service"] is None and first["invoke_id"] is None
    assert first["frame"] == 11 and first["stream"] == 0 and first["dport"] == 102
    reads = [r for r in rows if r["service"] == "read" and r["pdu"] == "confirmed-RequestPDU"]
    assert reads[0]["variables"] == ["KIRKLAND/Bilateral_Table_ID", "TASE2_Version", "Supported_Features"]
    resp = [r for r in rows if r["pdu"] == "confirmed-ResponsePDU" and r["invoke_id"] == reads[0]["invoke_id"]]
    assert resp[0]["access_results"][1] == [1996, 8]
    assert "confirmed-ResponsePDU" in resp[0]["detail"]


def test_filter_by_fields():
    rows = jsonl("-Y", "service==read && pdu==confirmed-RequestPDU")
    assert rows and all(r["service"] == "read" and r["pdu"] == "confirmed-RequestPDU" for r in rows)
    rows = jsonl("-Y", "invoke_id == 4432")
    assert {r["invoke_id"] for r in rows} == {4432} and len(rows) == 2
    rows = jsonl("-Y", "variables ~ tase2_version")
    assert rows and all(any("TASE2_Version" in v for v in r["variables"]) for r in rows)
    assert len(jsonl("-Y", "stream == 0")) == len(jsonl()) and jsonl("-Y", "stream == 1") == []
    rows = jsonl("-Y", "!(service == informationReport) and frame < 60")
    assert rows and all(r["service"] != "informationReport" and r["frame"] < 60 for r in rows)


def test_bad_filter_is_one_line_error():
    rc, out, err = run("pdus", CAP, "-Y", "nosuchfield == 3")
    assert rc == 2 and "unknown field" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(FilterError):
        compile_filter("service ==", ["service"])


def test_table_and_details():
    rc, out, err = run("pdus", CAP, "-c", "40")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split()[0] == "11" and "initiate-RequestPDU" in lines[0]
    assert any("read" in line and "invokeID=4432" in line for line in lines)
    rc, out, err = run("pdus", CAP, "-V", "-Y", "invoke_id==4432")
    assert "confirmed-RequestPDU" in out and "KIRKLAND" in out and "listOfAccessResult" in out


def test_csv():
    rc, out, err = run("pdus", CAP, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(jsonl())
    assert rows[0]["pdu"] == "initiate-RequestPDU"


def test_extra_port():
    cap = public.path("iccp_rustyiccp_sll2_port10002.pcap")
    rc, out, err = run("pdus", cap, "--findings", "-d", "tcp.port==10002,tpkt")
    assert rc == 0
    # session-level bring-up only: the ISO stack is decoded (findings, no traceback) but no MMS PDU
    assert out == "(none)\n"


def test_parallel_rendering_gives_the_same_output(monkeypatch):
    """Large captures are formatted by worker processes in batches: same lines, same order."""
    import mmsanalyze.commands.pdus as pdus
    rc, serial, _ = run("pdus", CAP, "--format", "jsonl", "-Y", "frame > 0")
    monkeypatch.setattr(pdus, "PARALLEL_MIN", 10)
    monkeypatch.setattr(pdus, "BATCH", 7)
    for fmt in ("jsonl", "csv", "table"):
        rc1, seq_out, _ = run("pdus", CAP, "--format", fmt) if fmt != "jsonl" else (0, serial, "")
        monkeypatch.setattr(pdus, "PARALLEL_MIN", 10 ** 9)
        rc2, one_process, _ = run("pdus", CAP, "--format", fmt)
        monkeypatch.setattr(pdus, "PARALLEL_MIN", 10)
        rc3, parallel, _ = run("pdus", CAP, "--format", fmt)
        assert rc2 == rc3 == 0
        assert parallel == one_process and parallel.count("\n") >= 160
