"""-Y on every table command (typed, with time_relative / time_epoch) and -t time formats."""
from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from mmsanalyze import cli  # noqa: E402
from mmsanalyze.api import read_capture  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "captures" / "demo.pcap"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def table_commands():
    ap = cli.build_parser()
    sub = next(a for a in ap._actions if a.__class__.__name__ == "_SubParsersAction")
    return [n for n, p in sub.choices.items() if any("--columns" in a.option_strings for a in p._actions)]


def required(cmd, tmp_path) -> list:
    """The options a command cannot run without (scl-check compares with an SCL file;
    query reads a store, which batch makes)."""
    if cmd == "scl-check":
        from test_scl_libiec61850 import demo_scd
        scd = tmp_path / "demo.scd"
        scd.write_text(demo_scd("127.0.0.1"))
        return ["--scl", scd]
    return []


def test_every_table_command_has_a_checked_filter(tmp_path):
    cmds = table_commands()
    assert {"transactions", "errors", "goose", "reports", "associations", "files", "traffic", "controls",
            "scl-check", "modes", "security"} <= set(cmds)
    for cmd in cmds + ["pdus"]:
        if cmd == "query":              # reads a store, not a capture (test_store checks its -Y)
            continue
        rc, out, err = run(cmd, DEMO, *required(cmd, tmp_path), "-Y", "nosuchfield == 1")
        assert rc == 2 and "unknown field 'nosuchfield'" in err and out == "", (cmd, err)


def test_filter_selects_rows_like_pandas():
    cap = read_capture(DEMO)
    tx = cap.transactions()
    want = sorted(tx[(tx["status"] != "ok") & (tx["service"] == "write")]["request_frame"].tolist())
    rc, out, err = run("transactions", DEMO, "-Y", "status != ok && service == write", "--format", "json")
    assert rc == 0 and sorted(r["request_frame"] for r in json.loads(out)) == want and want
    g = cap.goose()
    rc, out, _ = run("goose", DEMO, "--list", "-Y", "st_num >= 2 and not st_num == 4", "--format", "json")
    assert sorted(r["frame"] for r in json.loads(out)) == sorted(g[(g.st_num >= 2) & (g.st_num != 4)]["frame"])


def test_type_errors_are_errors():
    for argv in (["pdus", DEMO, "-Y", "frame > abc"], ["transactions", DEMO, "-Y", "latency_ms > fast"],
                 ["goose", DEMO, "--list", "-Y", "st_num == abc"], ["associations", DEMO, "-Y", "password_in_clear == 7"]):
        rc, out, err = run(*argv)
        assert rc == 2 and len(err.strip().splitlines()) == 1 and out == "", (argv, err)
    rc, _, err = run("pdus", DEMO, "-Y", "frame > abc")
    assert "'abc' is not a number" in err


def test_time_in_a_filter_is_what_the_output_shows():
    cap = read_capture(DEMO)
    t0 = cap.first_time
    pd_ = cap.pdus()
    cut = 0.5
    want = sorted(pd_[pd_["time"] - t0 < cut]["frame"])
    frames = lambda text: sorted(int(line.split()[0]) for line in text.splitlines() if line.strip())  # noqa: E731
    # table (relative times): time == time_relative
    assert frames(run("pdus", DEMO, "-Y", f"time < {cut}")[1]) == want
    assert frames(run("pdus", DEMO, "-Y", f"time_relative < {cut}")[1]) == want
    # jsonl shows epoch times: time == time_epoch
    rc, out, _ = run("pdus", DEMO, "--format", "jsonl", "-Y", f"time_epoch < {t0 + cut}")
    assert sorted(json.loads(x)["frame"] for x in out.splitlines()) == want
    rc, out, _ = run("pdus", DEMO, "--format", "jsonl", "-Y", f"time < {t0 + cut}")
    assert sorted(json.loads(x)["frame"] for x in out.splitlines()) == want
    # table commands too
    tx = cap.transactions()
    want = sorted(tx[tx["request_time"] - t0 < cut]["request_frame"])
    rc, out, _ = run("transactions", DEMO, "-Y", f"request_time < {cut}", "--columns", "request_frame")
    assert sorted(int(x) for x in out.split()[1:]) == want
    rc, out, _ = run("transactions", DEMO, "-Y", f"time_epoch < {t0 + cut}", "--format", "json")
    assert sorted(r["request_frame"] for r in json.loads(out)) == want


def test_time_formats():
    cap = read_capture(DEMO)
    first = cap.records[0]
    lines = {f: run("pdus", DEMO, "-t", f, "-c", "8")[1].split()[1] for f in ("r", "e", "a", "ad", "u", "ud")}
    assert float(lines["r"]) == round(first.time - cap.first_time, 6)
    assert float(lines["e"]) == round(first.time, 6)
    assert lines["u"] == time.strftime("%H:%M:%S", time.gmtime(first.time)) + lines["e"][-7:]
    assert lines["a"] == time.strftime("%H:%M:%S", time.localtime(first.time)) + lines["e"][-7:]
    rc, out, _ = run("pdus", DEMO, "-t", "ud", "-c", "8")
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(first.time)) in out
    # traffic --by second: readable seconds
    rc, out, _ = run("traffic", DEMO, "--by", "second")
    assert out.splitlines()[1].split()[0] == "0"
    rc, out, _ = run("traffic", DEMO, "--by", "second", "-t", "ud")
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(cap.first_time))) in out
    rc, _, err = run("traffic", DEMO, "-t", "x")
    assert rc == 2 and "ad" in err


def test_write_uses_the_same_typed_filter(tmp_path):
    """pdus -Y ... -w selects exactly the PDUs pdus -Y ... lists (typed fields, time and
    time_relative as seconds since the first frame); a type error is the same error."""
    from mmsanalyze.io import open_capture
    cap = read_capture(DEMO)
    t0 = cap.first_time
    cut = cap.pdus()["time"].quantile(0.5) - t0
    for flt in (f"time < {cut}", f"time_relative < {cut} && invoke_id > 3", "service == write"):
        rc, listed, _ = run("pdus", DEMO, "-Y", flt)          # the table: relative times
        want = {int(line.split()[0]) for line in listed.splitlines() if line.strip()}
        out = tmp_path / "w.pcapng"
        rc, _, err = run("pdus", DEMO, "-Y", flt, "-w", out)
        assert rc == 0 and f"({len(want)} selected MMS PDUs)" in err, (flt, err)
        with open_capture(out) as rd:
            assert sum(1 for _ in rd) >= len(want) > 0
    rc, out, err = run("pdus", DEMO, "-Y", "frame > abc", "-w", tmp_path / "bad.pcapng")
    assert rc == 2 and "'abc' is not a number" in err and not (tmp_path / "bad.pcapng").exists()
