"""io.multi: rotated capture files read as one frame stream."""

from __future__ import annotations

import struct

import pytest

from mmsanalyze.errors import CaptureError
from mmsanalyze.io import open_capture
from mmsanalyze.io.multi import MultiReader

import public

pytestmark = pytest.mark.skipif(not public.available(), reason="../shared/captures/public is absent")


def _write(path, frames, linktype, cut: int = 0):
    data = bytearray(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, linktype))
    for fr in frames:
        ns = round(fr.ts * 1e9)
        data += struct.pack("<IIII", ns // 10**9, ns % 10**9, len(fr.data), fr.orig_len) + fr.data
    path.write_bytes(bytes(data[:len(data) - cut]))


def test_frames_renumbered_in_time_order_and_findings_follow(tmp_path):
    with open_capture(public.path("mms_iti_pcapr_reports_identify_write.pcap")) as r:
        frames = list(r)
    a, b, empty = tmp_path / "b_first.pcap", tmp_path / "a_second.pcap", tmp_path / "empty.pcap"
    _write(a, frames[:100], 1)
    _write(b, frames[100:200], 1, cut=5)            # the last record is cut: a finding
    _write(empty, [], 1)
    r = MultiReader([empty, b, a])                   # given in the wrong order
    assert [str(p) for p in r.paths] == [str(a), str(b), str(empty)]
    got = list(r)
    r.close()
    assert [f.number for f in got] == list(range(1, 200))
    assert [(f.ts, f.data) for f in got] == [(f.ts, f.data) for f in frames[:199]]
    assert [(f.code, f.frame) for f in r.findings] == [("capture.truncated_record", 200)]
    assert r.name.endswith("(+2 more)")


def test_unusable_file_in_the_set_is_a_capture_error(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"garbage" * 10)
    with pytest.raises(CaptureError, match="not a pcap or pcapng"):
        MultiReader([public.path("goose_emre_ge_f650_gzip.pcap"), bad])
    with pytest.raises(CaptureError):
        MultiReader([])
