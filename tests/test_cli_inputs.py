"""Inputs: several captures merged in time order, -r - (standard input), --version, -D,
examples in every --help."""
from __future__ import annotations

import contextlib
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from mmsanalyze import cli  # noqa: E402
from mmsanalyze.api import read_capture  # noqa: E402
from mmsanalyze.io import open_capture  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "captures" / "demo.pcap"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def split_pcap(src: Path, a: Path, b: Path) -> int:
    """Write the odd frames of ``src`` to ``a`` and the even ones to ``b`` (classic pcap)."""
    raw = src.read_bytes()
    head, off = raw[:24], 24
    parts = [bytearray(head), bytearray(head)]
    n = 0
    while off + 16 <= len(raw):
        incl = struct.unpack_from("<I", raw, off + 8)[0]
        parts[n % 2] += raw[off:off + 16 + incl]
        off += 16 + incl
        n += 1
    a.write_bytes(parts[0])
    b.write_bytes(parts[1])
    return n


def test_several_captures_are_merged_in_time_order(tmp_path):
    a, b = tmp_path / "odd.pcap", tmp_path / "even.pcap"
    n = split_pcap(DEMO, a, b)
    whole = read_capture(DEMO)
    assert n == whole.frames
    for cmd in (["transactions"], ["goose", "--list"], ["errors", "--list"]):
        rc1, merged, err = run(cmd[0], b, a, *cmd[1:], "--format", "json")      # order of the files does not matter
        rc2, single, _ = run(cmd[0], DEMO, *cmd[1:], "--format", "json")
        assert rc1 == rc2 == 0, err
        assert json.loads(merged) == json.loads(single), cmd
    rc, out, _ = run("summary", a, b, "--format", "json")
    f = json.loads(out)
    assert f["frames"] == whole.frames and f["mms_pdus"] == len(whole.records)


def test_standard_input():
    proc = subprocess.run([sys.executable, "-m", "mmsanalyze", "transactions", "-r", "-", "--format", "json"],
                          input=DEMO.read_bytes(), capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rc, out, _ = run("transactions", DEMO, "--format", "json")
    assert json.loads(proc.stdout) == json.loads(out)
    gz = subprocess.run(["gzip", "-c", str(DEMO)], capture_output=True, check=True).stdout
    proc = subprocess.run([sys.executable, "-m", "mmsanalyze", "pdus", "-r", "-", "-c", "10"], input=gz,
                          capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and proc.stdout.count(b"\n") == 3      # frames 8, 9, 10 carry MMS
    with open_capture(DEMO) as rd:
        assert rd.format == "pcap"


def test_version_and_interfaces():
    rc, out, err = run("--version")
    assert rc == 0 and out.startswith("mmsanalyze ")
    rc, out, _ = run("-D")
    lines = out.splitlines()
    assert rc == 0 and any(line.endswith(". lo") for line in lines) and "any" in lines[-1]
    assert all(line.split(". ", 1)[0] == str(i) for i, line in enumerate(lines, 1))


def test_every_help_has_examples():
    ap = cli.build_parser()
    sub = next(a for a in ap._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        text = p.format_help()
        assert "examples:" in text and f"mmsanalyze {name} " in text, name
    assert "examples:" in ap.format_help()


def test_help_examples_parse():
    """Every example line in a --help is a valid command line for its parser."""
    import re
    import shlex
    ap = cli.build_parser()
    sub = next(a for a in ap._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        lines = [x.strip() for x in (p.epilog or "").splitlines() if x.strip().startswith("mmsanalyze ")]
        assert lines, name
        for line in lines:
            line = re.sub(r"\s+\(.*\)$", "", line).split(" | ")[0]
            argv = shlex.split(line)[1:]
            try:
                ap.parse_args(argv)
            except SystemExit as stop:
                raise AssertionError(f"{name}: example does not parse: {line}") from stop
