"""ISO-on-TCP on a port that is not analysed is detected and reported with the --port
hint; IEC 61850-90-5 datagrams tunnelling layer-2 GOOSE are decoded."""
from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import public  # noqa: E402

from mmsanalyze import cli  # noqa: E402
from mmsanalyze.api import read_capture  # noqa: E402

pytestmark = pytest.mark.skipif(not public.available(), reason="public captures not available (../shared)")
ICCP = "iccp_rustyiccp_sll2_port10002.pcap"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def test_tpkt_on_another_port_gets_the_port_hint():
    """MANIFEST: the ISO stack runs on TCP 10002 in this capture."""
    rc, out, _ = run("summary", public.path(ICCP), "--format", "json")
    f = json.loads(out)
    assert any("--port 10002" in p for p in f["problems"])
    rc, out, err = run("pdus", public.path(ICCP))
    assert rc == 0 and "--port 10002" in err
    rc, out, err = run("pdus", public.path(ICCP), "--format", "jsonl")
    assert "--port 10002" in err
    # with the port given, the stream is analysed and the hint is gone
    rc, out, _ = run("summary", public.path(ICCP), "--port", "10002", "--format", "json")
    f = json.loads(out)
    assert not any("--port" in p for p in f["problems"]) and f["traffic"][0]["protocol"] == "iso-tcp"


@pytest.mark.parametrize("name", ["goose_mdehus_sel351_sel2411_telnet.pcap", "mms_goose_iti_sample_mixed_lan.pcap",
                                  "rgoose_robidev_ge_d60_pigo.pcapng", "mms_emre_read_polling.pcap"])
def test_no_hint_without_iso_on_other_ports(name):
    f = read_capture(public.path(name)).findings()
    assert not len(f) or not (f["code"] == "tpkt.other_port").any()


def test_90_5_tunnelled_goose_is_decoded():
    """The tunnelled frames carry the same publisher as the R-GOOSE frames of the same
    capture (whose gocbRef / goID tshark decodes): same gocbRef, goID and data set."""
    cap = read_capture(public.path("rgoose_rsv_robidev_90-5_samples.pcap"))
    g = cap.goose()
    tun, rg = g[g["transport"] == "r-tunnel"], g[g["transport"] == "r-goose"]
    assert len(tun) == 369 and not tun["malformed"].any()
    for col in ("gocb_ref", "go_id", "dat_set"):
        assert set(tun[col]) == set(rg[col]), col
    t = cap.traffic().set_index("protocol")
    assert t.loc["r-tunnel", "frames"] == 369 and t.loc["r-goose", "frames"] == 166
