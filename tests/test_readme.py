"""The README's example outputs are what the commands print today: every fenced block
that starts with ``$ mmsanalyze ...`` is run and its output compared line by line."""
from __future__ import annotations

import contextlib
import io
import os
import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mmsanalyze import cli  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def examples():
    """(command line, expected output lines) of each ``$ mmsanalyze`` block."""
    out, block = [], None
    for line in README.read_text(encoding="utf-8").split("\n"):
        if line.startswith("```"):
            if block is None:
                block = []
                continue
            if block and block[0].startswith("$ mmsanalyze "):
                out.append((block[0][2:], block[1:]))
            block = None
        elif block is not None:
            block.append(line)
    return out


def test_readme_has_examples():
    assert len(examples()) >= 3


@pytest.mark.parametrize("line,want", examples(), ids=[e[0][:60] for e in examples()])
def test_readme_example_output_is_true(line, want, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("COLUMNS", raising=False)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(shlex.split(line)[1:])
    assert rc == 0, err.getvalue()
    assert [x.rstrip() for x in out.getvalue().rstrip("\n").split("\n")] == [x.rstrip() for x in want]
    assert os.getcwd() == str(ROOT)
