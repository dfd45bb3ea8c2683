"""pyshark (tshark driven from Python) as a second, independent cross-check of the frames
that carry MMS, on a few small captures (tests/test_vs_tshark.py is the full comparison)."""

import pytest

import public
from test_vs_tshark import ours

pyshark = pytest.importorskip("pyshark")
pytestmark = [pytest.mark.tshark, pytest.mark.skipif(not public.available(), reason="no ../shared")]


@pytest.mark.parametrize("name", ["mms_adsc_libiec61850_identify.pcap", "mms_adsc_libiec61850_fileRename.pcap",
                                  "mms_goose_iti_sample_mixed_lan.pcap"])
def test_mms_frames_match_pyshark(name):
    cap = pyshark.FileCapture(public.path(name), display_filter="mms", keep_packets=False,
                              custom_parameters=["-o", "tcp.reassemble_out_of_order:TRUE"])
    try:
        theirs = {int(p.number) for p in cap}
    finally:
        cap.close()
    mine = {r.frame for r in ours(name)[0] if r.via != "pres-inferred"}
    assert theirs and theirs == mine
