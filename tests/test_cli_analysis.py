"""The analysis commands of the CLI, run in-process through ``cli.main``.

Every command runs on every public capture without a traceback; the formats and
``--output`` files are well-formed; ``--plot`` writes PNGs; ``files --extract``
writes the reconstructed files.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import public  # noqa: E402

from mmsanalyze import cli  # noqa: E402

COMMANDS = ("summary", "latency", "transactions", "reports", "errors", "associations", "files", "traffic",
            "goose", "sv")
DEMO = Path(__file__).resolve().parent.parent / "captures" / "demo.pcap"
PUBLIC = pytest.mark.skipif(not public.available(), reason="public captures not available")


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def port_args(name):
    return [a for p in public.ports(name) for a in ("--port", str(p))]


def test_commands_are_registered():
    assert set(COMMANDS) <= set(cli.COMMANDS)
    for name in COMMANDS:
        mod = cli._command_module(name)
        assert mod is not None and mod.HELP and callable(mod.register) and callable(mod.run)


@PUBLIC
@pytest.mark.parametrize("name", public.captures())
def test_every_command_on_every_public_capture(name):
    for cmd in COMMANDS:
        rc, out, err = run(cmd, public.path(name), *port_args(name))
        assert rc in (0, 1), (cmd, err)          # 1: goose/sv support missing
        assert "Traceback" not in err
        assert out.strip(), (cmd, name)


@PUBLIC
@pytest.mark.parametrize("name", ["mms_goose_iti_sample_mixed_lan.pcap", "mms_adsc_libiec61850_fileOpenReadClose.pcap",
                                  "mms_goose_sv_robidev_sll_control_reports_dedup.pcapng", "sv_emre_truncated_malformed.pcap"])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_machine_formats_parse(name, fmt):
    for cmd in COMMANDS:
        rc, out, err = run(cmd, public.path(name), "--format", fmt if cmd != "summary" or fmt == "json" else "text")
        assert rc in (0, 1), (cmd, err)
        if rc == 1:
            continue
        if fmt == "json" or cmd == "summary":
            if fmt == "json":
                json.loads(out)
        else:
            rows = list(csv.reader(io.StringIO(out)))
            assert rows and all(len(r) == len(rows[0]) for r in rows), cmd


def test_transactions_filters_and_columns():
    rc, out, _ = run("transactions", DEMO, "--failed", "--format", "json", "--columns", "service,status,error_code")
    rows = json.loads(out)
    assert rc == 0 and rows and all(set(r) == {"service", "status", "error_code"} for r in rows)
    assert all(r["status"] != "ok" for r in rows)
    rc, out, err = run("transactions", DEMO, "--columns", "nope")
    assert rc == 2 and "unknown column" in err


@pytest.mark.parametrize("cmd,extra", [("transactions", []), ("reports", []), ("reports", ["--list"]),
                                       ("errors", ["--list"]), ("associations", []), ("files", []),
                                       ("traffic", ["--by", "source"]), ("latency", ["--by", "server"])])
def test_output_parquet(tmp_path, cmd, extra):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "t.parquet"
    rc, text, err = run(cmd, DEMO, "--output", out, *extra)
    assert rc == 0, err
    t = pq.read_table(out)
    rc, js, _ = run(cmd, DEMO, "--format", "json", *extra)
    assert t.num_rows == len(json.loads(js))


def test_output_csv_and_json(tmp_path):
    for ext in ("csv", "json"):
        out = tmp_path / f"t.{ext}"
        rc, _, _ = run("transactions", DEMO, "--output", out)
        assert rc == 0 and out.stat().st_size > 0
    assert len(json.loads((tmp_path / "t.json").read_text())) == \
        len(list(csv.reader((tmp_path / "t.csv").open()))) - 1
    rc, _, err = run("transactions", DEMO, "--output", tmp_path / "t.xlsx")
    assert rc == 2 and "parquet" in err


@pytest.mark.parametrize("cmd,opt", [("latency", "--plot"), ("latency", "--plot-time"), ("transactions", "--plot"),
                                     ("reports", "--plot"), ("traffic", "--plot")])
def test_plots_written(tmp_path, cmd, opt):
    png = tmp_path / "p.png"
    rc, _, err = run(cmd, DEMO, opt, png)
    assert rc == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@PUBLIC
def test_files_extract(tmp_path):
    name = "mms_adsc_libiec61850_fileOpenReadClose.pcap"
    rc, out, err = run("files", public.path(name), "--format", "json", "--extract", tmp_path / "x")
    assert rc == 0
    rows = json.loads(out)
    complete = [r for r in rows if r["complete"]]
    assert complete
    for r in complete:
        p = tmp_path / "x" / r["name"].lstrip("/")
        assert hashlib.sha256(p.read_bytes()).hexdigest() == r["sha256"]
    assert "written" in err


def test_summary_one_screen():
    rc, out, err = run("summary", DEMO)
    assert rc == 0 and not err                       # no progress bar when stderr is not a terminal
    assert "What is wrong" in out and "Service mix" in out and "Reports" in out
    assert len(out.splitlines()) <= 60
    rc, out, _ = run("summary", DEMO, "--format", "json")
    f = json.loads(out)
    assert f["associations"]["count"] == 1 and f["problems"]


def test_unusable_capture_is_one_line(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    for cmd in COMMANDS:
        rc, out, err = run(cmd, bad)
        assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
