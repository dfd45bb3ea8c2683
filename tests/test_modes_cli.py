"""``mmsanalyze modes``, the summary's "Test and simulation" section and the errors view."""
from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import public  # noqa: E402

from mmsanalyze import cli  # noqa: E402

IEDSCOUT = "mms_goose_emre_iedscout_midassoc.pcapng"
DEMO = Path(__file__).resolve().parent.parent / "captures" / "demo.pcap"
PUBLIC = pytest.mark.skipif(not public.available(), reason="public captures not available")


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def test_registered():
    assert "modes" in cli.COMMANDS


@PUBLIC
def test_modes_on_simulated_goose(tmp_path):
    path = public.path(IEDSCOUT)
    rc, out, err = run("modes", path)
    assert rc == 0 and "OG_TRALD0" in out and "goose simulation=true" in out
    rc, out, _ = run("modes", path, "--states", "--format", "json")
    rows = json.loads(out)
    assert rc == 0 and rows[0]["attribute"] == "simulation" and rows[0]["count"] == 63
    rc, out, _ = run("modes", path, "--findings", "--format", "json")
    assert [r["code"] for r in json.loads(out)] == ["iec61850.sim.traffic"]
    png = tmp_path / "modes.png"
    rc, _, err = run("modes", path, "--plot", png)
    assert rc == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rc, out, _ = run("summary", path)
    assert "Test and simulation" in out and "63 message(s)" in out
    wrong = out.split("What is wrong", 1)[1]
    assert "nothing stands out" not in wrong and "iec61850.sim.traffic" in wrong
    rc, out, _ = run("errors", path, "--list", "--kind", "ied-mode", "--format", "json")
    assert [r["error_code"] for r in json.loads(out)] == ["iec61850.sim.traffic"]


@pytest.mark.skipif(not DEMO.exists(), reason="captures/demo.pcap absent")
def test_demo_has_no_mode_findings_and_unchanged_summary(tmp_path):
    rc, out, _ = run("modes", DEMO, "--findings")
    assert rc == 0 and out.strip() == "(none)"
    png = tmp_path / "m.png"
    assert run("modes", DEMO, "--plot", png)[0] == 0 and png.exists()


def test_bad_input_exits_2(tmp_path):
    bad = tmp_path / "x.pcap"
    bad.write_bytes(b"not a capture at all")
    rc, _, err = run("modes", bad)
    assert rc == 2 and "Traceback" not in err
