"""Bad input never crashes or hangs: truncated files, flipped bytes, garbage, non-captures."""

import io
import os
import random
import signal
import subprocess
import sys
from contextlib import contextmanager, redirect_stderr, redirect_stdout

import pytest
from hypothesis import given, settings, strategies as st

import public
from mmsanalyze.cli import main
from mmsanalyze.io import open_capture
from mmsanalyze.io.frame import RawFrame
from mmsanalyze.osi.stack import OsiConnection
from mmsanalyze.pipeline import Pipeline

MMS_RICH = ["mms_iti_pcapr_reports_identify_write.pcap", "mms_adsc_libiec61850_fileOpenReadClose.pcap",
            "mms_emre_siemens_model_browse.pcapng", "mms_goose_iti_sample_mixed_lan.pcap",
            "iso9506_iti_mms-startRequest.pcap", "mms_robidev_sll_midassoc_malformed.pcapng",
            "goose_emre_ge_f650_gzip.pcap"]
needs_public = pytest.mark.skipif(not public.available(), reason="../shared captures not present")


@contextmanager
def deadline(seconds: int):
    def boom(*_):
        raise TimeoutError(f"no result within {seconds} s (a hang?)")
    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def test_missing_empty_directory_and_non_capture(tmp_path):
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    text = tmp_path / "notes.pcap"
    text.write_text("this is not a capture\n" * 10)
    for target in (tmp_path / "nope.pcap", empty, text, tmp_path):
        rc, out, err = run_cli("pdus", str(target))
        assert rc == 2, (target, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mmsanalyze: "), err
        assert "Traceback" not in err


def test_cli_subprocess_gives_one_line(tmp_path):
    bad = tmp_path / "x.pcapng"
    bad.write_bytes(b"\x0a\x0d\x0d\x0a" + os.urandom(40))
    proc = subprocess.run([sys.executable, "-m", "mmsanalyze", "pdus", str(bad)], capture_output=True, text=True,
                          timeout=60)
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 2)


def test_unsupported_link_type_only(tmp_path):
    import struct
    f = tmp_path / "dlt147.pcap"
    f.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147)
                  + struct.pack("<IIII", 1, 0, 4, 4) + b"abcd")
    rc, out, err = run_cli("pdus", str(f))
    assert rc == 2 and "link type" in err and len(err.strip().splitlines()) == 1


@needs_public
@pytest.mark.parametrize("name", MMS_RICH)
def test_truncated_files(name, tmp_path):
    data = open(public.path(name), "rb").read()
    rnd = random.Random(name)
    cuts = sorted({rnd.randrange(1, len(data)) for _ in range(6)} | {24, len(data) - 3})
    for cut in cuts:
        p = tmp_path / f"cut{cut}"
        p.write_bytes(data[:cut])
        with deadline(60):
            rc, out, err = run_cli("pdus", str(p), "--format", "jsonl")
        assert rc in (0, 2) and "Traceback" not in err


def flipped_frames(name, seed, flips=3):
    rnd = random.Random(seed)
    with open_capture(public.path(name)) as r:
        for fr in r:
            data = bytearray(fr.data)
            if len(data) > 54 and rnd.random() < 0.5:
                for _ in range(flips):
                    i = rnd.randrange(14, len(data))      # keep the Ethernet header, damage the rest
                    data[i] ^= 1 << rnd.randrange(8)
            if rnd.random() < 0.05:
                data = data[:rnd.randrange(1, len(data) + 1)]   # snaplen-style cut
            yield RawFrame(fr.number, fr.ts, fr.linktype, bytes(data), fr.orig_len, fr.interface)


@needs_public
@pytest.mark.parametrize("name", MMS_RICH)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_byte_flips(name, seed):
    p = Pipeline()
    n = 0
    with deadline(60):
        for fr in flipped_frames(name, seed):
            for rec in p.feed(fr):
                n += 1
                if hasattr(rec, "decoded"):
                    rec.decoded()           # full body decode must not raise either
        p.finish()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=300), max_size=12), st.booleans())
def test_osi_stack_on_garbage(chunks, synced):
    out, findings = [], []
    c = OsiConnection(0, (("1.1.1.1", 1000), ("2.2.2.2", 102)), out, findings, (synced, synced))
    for i, data in enumerate(chunks):
        c.on_chunks(i % 2, [(i + 1, float(i), data, 0)])
    c.finish()
    for rec in out:
        if hasattr(rec, "decoded"):
            rec.decoded()


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=200))
def test_tpkt_wrapped_garbage(payload):
    """Garbage inside well-formed TPKT/COTP DT framing reaches every upper layer."""
    out, findings = [], []
    c = OsiConnection(0, (("1.1.1.1", 1000), ("2.2.2.2", 102)), out, findings)
    unit = b"\x02\xf0\x80" + payload
    c.on_chunks(0, [(1, 0.0, bytes([3, 0]) + (len(unit) + 4).to_bytes(2, "big") + unit, 0)])
    for rec in out:
        if hasattr(rec, "decoded"):
            rec.decoded()
