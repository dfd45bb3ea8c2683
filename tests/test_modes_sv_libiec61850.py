"""SV quality test bit in the IED-mode tables, against a libiec61850 SV publisher.

libiec61850's SVPublisher has no simulate-bit setter, so this checks the 9-2LE quality
test bit (bit 11 of the 32-bit quality word): the frames published with it form one
``q.test`` run, with the first and last frame and the count the publisher sent.
"""
from __future__ import annotations

import os

import pytest

from l2_publish import SvPub, can_publish, tcpdump, veth_pair
from mmsanalyze import read_capture

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(not can_publish(), reason="needs root, ip, tcpdump, pyiec61850")]

TEST_BIT = 0x0800
FLAGGED = range(10, 20)          # smpCnt published with the test bit


def test_sv_quality_test_bit_run(tmp_path):
    pcap = str(tmp_path / "sv_test.pcap")
    with veth_pair("mt") as (tx, rx):
        with tcpdump(rx, pcap):
            p = SvPub(tx, 0x4101, ["MODES_MU01"], smp_rate=80, dat_set="MODESMU/LLN0$PhsMeas1")
            try:
                for cnt in range(30):
                    q = [TEST_BIT if cnt in FLAGGED else 0] * 8
                    p.publish([cnt], [[cnt] * 8], [q])
            finally:
                p.close()
    assert os.path.getsize(pcap) > 24
    cap = read_capture(pcap)
    sv = cap.sv()
    sv = sv[sv["sv_id"] == "MODES_MU01"].reset_index(drop=True)
    assert list(sv["smp_cnt"]) == list(range(30))                     # nothing lost on the veth
    frames = {int(c): int(f) for c, f in zip(sv["smp_cnt"], sv["frame"])}
    st = cap.ied_states()
    runs = st[(st["source"] == "sv") & (st["attribute"] == "q.test")]
    assert list(runs["value"]) == ["true", "false"]
    on = runs.iloc[0]
    assert (on["frame"], on["last_frame"], on["count"]) == (frames[10], frames[19], 10)
    assert runs.iloc[1]["frame"] == frames[20] and runs.iloc[1]["count"] == 10
    assert on["ld"] == "MODESMU"
    f = cap.ied_mode_findings()
    assert list(f["code"]) == ["iec61850.test.data"] and int(f["frame"].iloc[0]) == frames[10]
    sim = st[(st["source"] == "sv") & (st["attribute"] == "simulation")]
    assert list(sim["value"]) == ["false"] and int(sim["count"].iloc[0]) == 30
