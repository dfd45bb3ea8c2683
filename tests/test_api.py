"""The public Python API: ``mmsanalyze.read_capture`` and :class:`Capture`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmsanalyze.api import Capture, columns_markdown, read_capture  # noqa: E402
from mmsanalyze.errors import CaptureError  # noqa: E402

DEMO = ROOT / "captures" / "demo.pcap"
TABLES = ("pdus", "transactions", "latency_stats", "reports", "report_cadence", "controls", "errors",
          "associations", "files", "file_directory", "traffic", "findings")


@pytest.fixture(scope="module")
def cap():
    return read_capture(DEMO)


def test_top_level_import_is_small_and_lazy():
    code = ("import sys, mmsanalyze; assert 'pandas' not in sys.modules; "
            "print(sorted(mmsanalyze.__all__)); c = mmsanalyze.read_capture(sys.argv[1]); "
            "print(type(c).__name__, mmsanalyze.decode_mms.__name__)")
    r = subprocess.run([sys.executable, "-c", code, str(DEMO)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Capture decode_mms" in r.stdout
    assert "'read_capture'" in r.stdout


def test_one_pass_and_caching(cap):
    assert cap.frames > 0 and cap.records and cap.conns
    assert cap.duration > 0
    for name in TABLES:
        df = getattr(cap, name)()
        assert isinstance(df, pd.DataFrame)
        assert getattr(cap, name)() is df                   # cached
    assert cap.reports(reassemble=True) is cap.reports(reassemble=True)
    assert "MMS PDUs" in repr(cap)


def test_every_table_method_documents_its_columns(cap):
    for name in TABLES:
        doc = getattr(Capture, name).__doc__
        assert "Columns" in doc, name
        for col in getattr(cap, name)().columns:
            assert f"``{col}``" in doc, (name, col)


def test_docs_columns_md_is_current():
    path = ROOT / "docs" / "columns.md"
    text = columns_markdown()
    if os.environ.get("MMSA_REGEN_DOCS"):
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, \
        "docs/columns.md is stale: MMSA_REGEN_DOCS=1 pytest tests/test_api.py -k columns_md"


def test_sources_file_object_count_and_errors(tmp_path):
    with open(DEMO, "rb") as fh:
        c = read_capture(fh, count=20)
    assert c.frames == 20
    with pytest.raises(CaptureError):
        read_capture(tmp_path / "missing.pcap")
    with pytest.raises(ValueError):
        read_capture(DEMO).traffic(by="minute")


def test_traffic_views(cap):
    t = cap.traffic()
    assert t["frames"].sum() == cap.frames
    assert cap.traffic(by="second")["bytes"].sum() == t["bytes"].sum() == cap.traffic(by="source")["bytes"].sum()
    assert set(t["protocol"]) >= {"mms", "iso-tcp"}


def test_goose_and_sv_tables(cap):
    if cap.goose_collector is None:
        pytest.skip("GOOSE support not installed")
    assert len(cap.goose()) == (cap.traffic().set_index("protocol")["frames"].get("goose", 0))
    assert isinstance(cap.goose_streams(), pd.DataFrame)
    assert isinstance(cap.sv(), pd.DataFrame) and isinstance(cap.sv_streams(), pd.DataFrame)


def test_progress_bar_only_on_a_terminal(monkeypatch):
    import io

    import mmsanalyze.api as api

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(api, "PROGRESS_MIN_BYTES", 0)
    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    read_capture(DEMO, progress=True)
    assert "%" in err.getvalue() and "frames" in err.getvalue()
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    read_capture(DEMO, progress=True)                 # not a terminal: nothing
    assert quiet.getvalue() == ""
