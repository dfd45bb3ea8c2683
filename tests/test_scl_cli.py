"""``--scl`` on every command, ``mmsanalyze scl`` and ``scl-check`` output, summary section."""

from __future__ import annotations

import json
import os

import pytest

from mmsanalyze.cli import COMMANDS, build_parser, main

import scl_gen

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.path.join(os.path.dirname(HERE), "captures", "demo.pcap")
NS = scl_gen.NS


@pytest.fixture
def demo_scd(tmp_path):
    """The demo capture's server (captures/demo.truth.json: 127.0.0.1, IED DEMO) as an SCD."""
    from test_scl_libiec61850 import demo_scd as make
    p = tmp_path / "demo.scd"
    p.write_text(make("127.0.0.1"))
    return str(p)


#: Options a command cannot be parsed without (batch writes a store).
REQUIRED = {"batch": ["--out", "store"]}


def test_every_command_takes_scl():
    """Every command parses --scl; those that do not use it refuse it with one line
    (test_cli_behaviour.test_scl_where_it_is_not_used_is_refused)."""
    ap = build_parser()
    for name in COMMANDS:
        args = ap.parse_args([name, "x.pcap", "--scl", "f.scd", *REQUIRED.get(name, [])])
        assert args.scl == "f.scd", name


def test_scl_text_and_json(demo_scd, capsys):
    assert main(["scl", demo_scd]) == 0
    out = capsys.readouterr().out
    assert "edition Ed2.1" in out and "IED DEMO" in out and "GoCB  DEMOLD0/LLN0$GO$gcbBurst" in out
    assert main(["scl", demo_scd, "--format", "json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["inventory"]["edition"] == "Ed2.1"
    assert {c["ref"] for c in js["inventory"]["control_blocks"]} >= {"DEMOLD0/LLN0$GO$gcbBurst",
                                                                     "DEMOMUMU/LLN0$MS$MSVCB01"}


@pytest.mark.parametrize("cmd", ["goose", "summary", "scl-check", "associations", "pdus"])
def test_bad_scl_gives_one_line_and_status_2(tmp_path, capsys, cmd):
    bad = tmp_path / "bad.scd"
    bad.write_text(f'<!DOCTYPE SCL [<!ENTITY a "b">]><SCL xmlns="{NS}"/>')
    assert main([cmd, DEMO, "--scl", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused" in err


def test_scl_check_needs_scl(capsys):
    assert main(["scl-check", DEMO]) == 2
    assert "--scl" in capsys.readouterr().err


def test_scl_check_json_and_problems(demo_scd, capsys):
    assert main(["scl-check", DEMO, "--scl", demo_scd, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any(r["object"] == "DEMOLD0/LLN0$GO$gcbBurst" and r["check"] == "appid" and r["result"] == "match"
               for r in rows)
    assert main(["scl-check", DEMO, "--scl", demo_scd, "--problems", "--format", "json"]) == 0
    assert all(r["severity"] != "ok" for r in json.loads(capsys.readouterr().out))


def test_summary_has_an_scl_section(demo_scd, capsys):
    assert main(["summary", DEMO, "--scl", demo_scd]) == 0
    out = capsys.readouterr().out
    assert "\nSCL " in out and "matches" in out
    assert main(["summary", DEMO, "--scl", demo_scd, "--format", "json"]) == 0
    f = json.loads(capsys.readouterr().out)
    assert f["scl"]["verdict"].startswith("matches") and f["scl"]["seen"] >= 3


def test_pdus_jsonl_names_ieds(demo_scd, capsys):
    assert main(["pdus", DEMO, "--scl", demo_scd, "--format", "jsonl", "-c", "40"]) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x]
    assert recs and all("DEMO" in (r["src_ied"], r["dst_ied"]) for r in recs)


def test_tables_without_scl_are_unchanged(demo_scd):
    from mmsanalyze import read_capture
    plain = read_capture(DEMO)
    named = read_capture(DEMO, scl=demo_scd)
    for t in ("goose", "reports", "associations", "controls", "transactions"):
        a, b = getattr(plain, t)(), getattr(named, t)()
        assert list(b.columns[:len(a.columns)]) == list(a.columns)
        extra = set(b.columns) - set(a.columns)
        assert extra and all(c.endswith("_ied") or c in ("ied", "member_names", "member_types", "values_named",
                                                          "ctl_model") for c in extra), (t, extra)
    with pytest.raises(RuntimeError):
        plain.scl_check()


def test_pdus_ied_columns(demo_scd, capsys):
    """With --scl, src_ied / dst_ied are fields like the others: --columns, -Y, csv, table."""
    assert main(["pdus", DEMO, "--scl", demo_scd, "-c", "40", "--columns", "frame,src_ied,dst_ied"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["frame", "src_ied", "dst_ied"] and all("DEMO" in x for x in out[1:]) and out[1:]
    assert main(["pdus", DEMO, "--scl", demo_scd, "-c", "40", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].endswith(",src_ied,dst_ied") and rows[1].endswith(",DEMO,DEMO")
    assert main(["pdus", DEMO, "--scl", demo_scd, "-c", "40", "-Y", "src_ied == DEMO && dst_ied == NOPE"]) == 0
    assert capsys.readouterr().out.strip() == "(none)"
    assert main(["pdus", DEMO, "--scl", demo_scd, "-c", "40", "-Y", "src_ied == DEMO", "--format", "jsonl"]) == 0
    assert len(capsys.readouterr().out.splitlines()) > 3
    # without --scl (in the same process): no IED fields, and asking for them is an error
    assert main(["pdus", DEMO, "-c", "40", "--format", "jsonl"]) == 0
    assert "src_ied" not in capsys.readouterr().out
    assert main(["pdus", DEMO, "-c", "40", "--columns", "frame,src_ied"]) == 2
    assert "unknown column(s) src_ied" in capsys.readouterr().err
