"""Consistent, complete views: values in pdus/transactions, identify (assets), IEC 61850
references beside MMS names, CSV lists as JSON everywhere, pdus --output/--columns and
(none), tables fitted to the terminal, summary facts, GOOSE heartbeat."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import public  # noqa: E402

from mmsanalyze import cli  # noqa: E402
from mmsanalyze.api import read_capture  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "captures" / "demo.pcap"
TRUTH = json.loads(DEMO.with_suffix(".truth.json").read_text())
PUBLIC = pytest.mark.skipif(not public.available(), reason="public captures not available (../shared)")


def run(*argv, env=None):
    out, err = io.StringIO(), io.StringIO()
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main([str(a) for a in argv])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return rc, out.getvalue(), err.getvalue()


def test_values_in_pdus_lines_and_transactions():
    """The values the harness wrote (truth: write operations and their data) appear in the
    write request's one-liner and in the transactions' values column."""
    writes = [o for o in TRUTH["operations"] if o["op"] == "write"]
    cap = read_capture(DEMO)
    tx = cap.transactions()
    w = tx[tx["service"] == "write"].reset_index(drop=True)
    assert len(w) == len(writes)
    # the float set-point written first (SetPt1 = 12.5 in the demo) and the string NamPlt.d
    assert [12.5] in w["values"].tolist() and ["written by the harness"] in w["values"].tolist()
    rc, out, _ = run("pdus", DEMO, "-Y", "service == write && pdu == confirmed-RequestPDU")
    assert "= 12.5" in out and "= 'written by the harness'" in out
    # read responses: the values tshark also decodes (a failed item as !code)
    rc, out, _ = run("pdus", DEMO, "-Y", "invoke_id == 10 && pdu == confirmed-ResponsePDU")
    assert "= false, 50, !object-non-existent, 'mmsanalyze'" in out
    r = tx[tx["invoke_id"] == 10].iloc[0]
    assert r["values"][2] == {"failure": "object-non-existent"}


def test_identify_in_associations_and_summary():
    ident = TRUTH["server"] if "server" in TRUTH else {}
    cap = read_capture(DEMO)
    resp = cap.identify()
    assert len(resp) == 1 and resp["vendor"][0] == "mmsanalyze" and resp["model"][0] == "DEMO-IED"
    rc, out, _ = run("associations", DEMO, "--format", "json")
    row = json.loads(out)[0]
    assert (row["vendor"], row["model"], row["revision"]) == (resp["vendor"][0], resp["model"][0], resp["revision"][0])
    rc, out, _ = run("summary", DEMO, "--format", "json")
    assert json.loads(out)["assets"] == [{"server": "127.0.0.1:102", "vendor": "mmsanalyze", "model": "DEMO-IED",
                                         "revision": resp["revision"][0]}]
    assert ident is not None


def test_references_beside_mms_names():
    for argv, col in ((["transactions"], "object"), (["errors", "--list"], "object"), (["controls", "--list"], "object")):
        rc, out, _ = run(*argv[:1], DEMO, *argv[1:], "--format", "json")
        rows = json.loads(out)
        assert rows and all("reference" in r for r in rows), argv
        named = [r for r in rows if r[col] and "$ST$" in r[col]]
        for r in named:
            assert "[ST]" in r["reference"] and "$" not in r["reference"].split(" [")[0].split("/", 1)[1]
    rc, out, _ = run("transactions", DEMO, "--format", "json", "-Y", "invoke_id == 6")
    r = json.loads(out)[0]
    assert r["object"] == "DEMOLD0/GGIO1$ST$Ind1$stVal" and r["reference"] == "DEMOLD0/GGIO1.Ind1.stVal [ST]"
    assert r["references"] == ["DEMOLD0/GGIO1.Ind1.stVal [ST]"]
    rc, out, _ = run("reports", DEMO, "--list", "--format", "json", "-Y", "data_refs ~ GGIO1")
    rows = json.loads(out)
    assert rows and all(len(r["data_references"]) == len(r["data_refs"]) for r in rows)
    assert "DEMOLD0/GGIO1.Ind1 [ST]" in rows[0]["data_references"]


def test_csv_lists_are_json_everywhere():
    rc, out, _ = run("pdus", DEMO, "--format", "csv", "-Y", "invoke_id == 10")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert json.loads(rows[0]["variables"])[0] == "DEMOLD0/GGIO1$ST$Ind1$stVal"
    rc, out, _ = run("transactions", DEMO, "--format", "csv", "-Y", "invoke_id == 10")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert json.loads(rows[0]["variables"])[0] == "DEMOLD0/GGIO1$ST$Ind1$stVal"


def test_pdus_output_columns_and_none(tmp_path):
    rc, out, _ = run("pdus", DEMO, "-Y", "invoke_id == 99999")
    assert rc == 0 and out == "(none)\n"
    rc, out, _ = run("pdus", DEMO, "--format", "jsonl", "--columns", "frame,service", "-Y", "invoke_id == 10")
    assert [json.loads(x) for x in out.splitlines()] == [{"frame": 28, "service": "read"},
                                                          {"frame": 29, "service": "read"}]
    rc, out, _ = run("pdus", DEMO, "--columns", "frame,invoke_id", "-Y", "invoke_id == 10")
    assert out.split() == ["frame", "invoke_id", "28", "10", "29", "10"]
    target = tmp_path / "p.json"
    rc, out, _ = run("pdus", DEMO, "--output", target, "-Y", "service == read")
    saved = json.loads(target.read_text())
    assert rc == 0 and len(saved) == len(read_capture(DEMO).pdus().query("service == 'read'"))
    assert len(out.splitlines()) == len(saved)
    rc, _, err = run("pdus", DEMO, "--columns", "nope")
    assert rc == 2 and "unknown column" in err


def test_tables_fit_the_terminal_without_cutting_what_was_asked():
    rc, out, _ = run("transactions", DEMO, env={"COLUMNS": "100"})
    assert max(len(x) for x in out.splitlines()) <= 100
    assert "more column(s) not shown" in out.splitlines()[-1]
    rc, wide, _ = run("transactions", DEMO, env={"COLUMNS": "1000"})
    assert max(len(x) for x in wide.splitlines()) > 100
    cap = read_capture(DEMO)
    digests = [d for d in cap.files()["sha256"].tolist() if isinstance(d, str)]
    rc, out, _ = run("files", DEMO, env={"COLUMNS": "80"})
    # never cut a digest: shown whole, or the column is named as not shown
    assert all(d in out for d in digests) or "not shown: sha256" in out
    assert not any(d[:8] in out for d in digests) or all(d in out for d in digests)
    rc, out, _ = run("files", DEMO, env={"COLUMNS": "160"})
    assert all(d in out for d in digests)
    rc, out, _ = run("transactions", DEMO, "--columns", "object,values", env={"COLUMNS": "40"})
    objects = [o for o in cap.transactions()["object"].tolist() if isinstance(o, str)]
    assert all(o in out for o in objects)                       # asked-for columns are whole
    rc, out, _ = run("transactions", DEMO, "--format", "csv", env={"COLUMNS": "40"})
    assert "\u2026" not in out


def test_summary_capture_ended_is_not_a_failure():
    # the first 28 frames end with the read request of invokeID 10 (its response is frame 29)
    rc, out, _ = run("summary", DEMO, "-c", "28", "--format", "json")
    f = json.loads(out)
    assert f["transactions"].get("unanswered (capture ended)") == 1 and "unanswered" not in f["transactions"]
    assert not any("unanswered" in p for p in f["problems"])


def test_summary_truncated_capture(tmp_path):
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(DEMO.read_bytes()[:-10])
    rc, out, _ = run("summary", cut, "--format", "json")
    f = json.loads(out)
    assert rc == 0 and f["truncated"] and "the capture file is truncated (its last record is cut off)" in f["problems"]
    rc, out, _ = run("summary", DEMO, "--format", "json")
    assert not json.loads(out)["truncated"]


@PUBLIC
def test_summary_names_publishers_simulation_and_other_reports():
    rc, out, _ = run("summary", public.path("goose_brogoose_attack3_poison_newstate.pcapng"))
    assert "LIED10CTRL/LLN0$Status" in out and "older stNum" in out and "Associations" not in out
    assert "MMS " not in out
    rc, out, _ = run("summary", public.path("mms_goose_emre_iedscout_midassoc.pcapng"))
    assert "simulation flag" in out
    rc, out, _ = run("summary", public.path("mms_iti_pcapr_reports_identify_write.pcap"), "--format", "json")
    other = json.loads(out)["other_information_reports"]
    assert other["count"] == 115 and other["by_name"]["BELLEVUE/ANALOG_ICCP_IN"] == 80
    rc, out, _ = run("summary", public.path("sv_emre_truncated_malformed.pcap"))
    assert "`mmsanalyze sv --list -Y malformed`" in out
    rc, listed, _ = run("sv", public.path("sv_emre_truncated_malformed.pcap"), "--list", "-Y", "malformed",
                        "--format", "json")
    assert len(json.loads(listed)) == 10                         # the hint lists the 10 findings


@PUBLIC
def test_goose_heartbeat_is_the_steady_state_interval():
    """IEDScout: the steady messages (sqNum in the hundreds, no ramp) are 10 s apart."""
    cap = read_capture(public.path("mms_goose_emre_iedscout_midassoc.pcapng"))
    g = cap.goose()
    steady = g[g["sq_num"] >= 100]
    gaps = steady["time"].diff().dropna() * 1000
    assert len(gaps) >= 1 and all(9900 < x < 10100 for x in gaps)
    hb = float(cap.goose_streams()["heartbeat_ms"].iloc[0])
    assert 9900 < hb < 10100, hb
