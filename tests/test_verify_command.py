"""``mmsanalyze verify``: our decode against tshark's (through pyshark), field by field."""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import public  # noqa: E402

from mmsanalyze import cli, crosscheck  # noqa: E402

pytest.importorskip("pyshark")
pytestmark = [pytest.mark.tshark, pytest.mark.skipif(shutil.which("tshark") is None, reason="no tshark")]
DEMO = Path(__file__).resolve().parent.parent / "captures" / "demo.pcap"
PUBLIC = pytest.mark.skipif(not public.available(), reason="public captures not available (../shared)")


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def test_demo_agrees_with_tshark():
    rc, out, err = run("verify", DEMO, "--format", "json")
    assert rc == 0 and json.loads(out) == []
    assert "115 MMS PDUs decoded by mmsanalyze, 115 by tshark; 0 difference(s)" in err


@PUBLIC
@pytest.mark.parametrize("name", ["mms_iti_pcapr_reports_identify_write.pcap", "mms_emre_siemens_model_browse.pcapng",
                                  "mms_adsc_midassoc_write.pcap", "mms_goose_iti_sample_mixed_lan.pcap"])
def test_public_captures_agree(name):
    diffs, ours, theirs = crosscheck.cross_check(public.path(name), public.ports(name))
    assert ours == theirs > 0 and len(diffs) == 0, diffs.to_string()


@PUBLIC
def test_known_extra_pdu_is_reported():
    """README "Correctness": the conclude-RequestPDU sent directly on COTP is ours only."""
    rc, out, err = run("verify", public.path("iso9506_iti_mms-cancelRequest.pcap"), "--format", "json")
    rows = json.loads(out)
    assert rc == 0 and len(rows) == 1
    assert rows[0]["field"] == "pdu" and rows[0]["ours"] == "conclude-RequestPDU" and rows[0]["tshark"] == ""


def test_a_wrong_decode_shows_field_by_field(monkeypatch):
    """Corrupt our side (an invokeID, a value, a variable): each shows as its own difference."""
    real = crosscheck.our_pdus

    def broken(*a, **k):
        out = real(*a, **k)
        read = next(p for f in sorted(out) for p in out[f] if p["service"] == "read"
                    and p["pdu"] == "confirmed-RequestPDU" and p["variables"])
        read["invoke_id"] += 1000
        read["variables"][0] = "NOPE/" + read["variables"][0]
        resp = next(p for f in sorted(out) for p in out[f] if p["integers"])
        resp["integers"][0] += 1
        return out
    monkeypatch.setattr(crosscheck, "our_pdus", broken)
    rc, out, err = run("verify", DEMO, "--format", "json")
    fields = sorted(r["field"] for r in json.loads(out))
    assert rc == 0 and fields == ["integers", "invoke_id", "variables"], out
