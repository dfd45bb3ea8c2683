"""One behaviour for every command: no traceback, one line and status 2 for unusable
input or bad options, the same for every command given the same bad input.

Every command (``cli.COMMANDS``, so commands added later are covered too) runs with
every output format its parser offers, on a set of public captures and on each
bad-input case of issue 14.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import public  # noqa: E402

from mmsanalyze import cli  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "captures" / "demo.pcap"
PUBLIC = pytest.mark.skipif(not public.available(), reason="public captures not available (../shared)")
#: Small public captures covering MMS, GOOSE, SV, files and an extra TPKT port.
MATRIX = ["mms_adsc_libiec61850_fileOpenReadClose.pcap", "goose_brogoose_attack3_poison_newstate.pcapng",
          "sv_emre_truncated_malformed.pcap", "iso9506_iti_mms-readRequest.pcap",
          "iccp_rustyiccp_sll2_port10002.pcap"]


#: Commands whose input is not a capture, left out of the capture matrix and of the
#: "same line for every command" comparison (their bad-input lines name their own input),
#: but still held to one line and status 2 on every bad input:
NOT_A_CAPTURE = {
    "scl": "reads an SCL file (XML), so a bad capture is a bad SCL file to it",
    "batch": "takes inputs (files, directories, globs) and needs --out STORE",
    "query": "reads a store made by batch, not a capture",
}


def required(cmd, tmp_path) -> list:
    """The options a capture command cannot run without (its own test checks that they are
    asked for, after the capture: test_required_options_are_asked_for_after_the_capture_is_checked)."""
    if cmd == "split":
        return ["--by", "server", "-o", tmp_path / "split"]
    if cmd == "scl-check":
        from test_scl_libiec61850 import demo_scd
        scd = tmp_path / "demo.scd"
        if not scd.exists():
            scd.write_text(demo_scd("127.0.0.1"))
        return ["--scl", scd]
    return []


def run(*argv, stdout=None):
    out = stdout if stdout is not None else io.StringIO()
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    text = out.getvalue() if hasattr(out, "getvalue") else ""
    return rc, text, err.getvalue()


def subparsers():
    ap = cli.build_parser()
    for act in ap._actions:
        if act.__class__.__name__ == "_SubParsersAction":
            return act.choices
    raise AssertionError("no subcommands")


def formats(parser) -> tuple:
    for act in parser._actions:
        if "--format" in act.option_strings:
            return tuple(act.choices)
    return ()


def has_option(parser, opt) -> bool:
    return any(opt in a.option_strings for a in parser._actions)


def generic(err: str, cmd: str) -> str:
    """stderr with the command's own name (and its own table's column list) taken out."""
    return re.sub(r"; available: .*", "", err.replace(f"mmsanalyze {cmd}", "mmsanalyze CMD"))


def one_line_error(rc, err):
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmsanalyze"), err
    return lines[0]


def linktype_only(tmp_path, linktype=153) -> Path:
    f = tmp_path / f"dlt{linktype}.pcap"
    f.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
                  + struct.pack("<IIII", 1, 0, 4, 4) + b"abcd")
    return f


# -- the Verify matrix ---------------------------------------------------------------

def ascii_stdout():
    """A stdout that cannot encode anything but ASCII (LANG=C, a serial console)."""
    return io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict", newline="\n")


@PUBLIC
@pytest.mark.parametrize("name", MATRIX)
def test_every_command_every_format(name, tmp_path):
    """Every command, every format, on an ASCII-only stdout: exit 0 (or 2 with one line)."""
    ports = [a for p in public.ports(name) for a in ("--port", str(p))]
    for cmd, parser in subparsers().items():
        if cmd in NOT_A_CAPTURE:
            continue
        for fmt in formats(parser) or (None,):
            argv = [cmd, public.path(name), *ports, *required(cmd, tmp_path)] + (["--format", fmt] if fmt else [])
            rc, out, err = run(*argv, stdout=ascii_stdout())
            assert rc in (0, 2), (argv, err)
            assert "Traceback" not in err, argv
            if rc == 2:
                one_line_error(rc, err)


def bad_inputs(tmp_path):
    """(label, argv after the command, needs option) of each bad-input case."""
    text = tmp_path / "notes.pcap"
    text.write_text("this is not a capture\n" * 10)
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    return [
        ("missing file", [tmp_path / "nope.pcap"], None),
        ("not a capture", [text], None),
        ("empty file", [empty], None),
        ("directory", [tmp_path], None),
        ("unsupported link type only", [linktype_only(tmp_path)], None),
        ("negative count", [DEMO, "-c", "-5"], None),
        ("zero count", [DEMO, "-c", "0"], None),
        ("port out of range", [DEMO, "--port", "70000"], None),
        ("decode-as port out of range", [DEMO, "-d", "tcp.port==70000,tpkt"], None),
        ("plot into a missing directory", [DEMO, "--plot", tmp_path / "nodir" / "p.png"], "--plot"),
        ("plot with unknown image type", [DEMO, "--plot", tmp_path / "p.txt"], "--plot"),
        ("output into a missing directory", [DEMO, "--output", tmp_path / "nodir" / "t.csv"], "--output"),
        ("output with unknown extension", [DEMO, "--output", tmp_path / "t.xlsx"], "--output"),
        ("unknown column", [DEMO, "--columns", "nosuchcolumn"], "--columns"),
        ("no capture", [], None),
    ]


def test_bad_input_same_behaviour_for_every_command(tmp_path):
    """Each bad input, every command and every one of its formats: the same one line
    (the commands of NOT_A_CAPTURE: one line and status 2, their own)."""
    for label, argv, needs in bad_inputs(tmp_path):
        seen = {}
        for cmd, parser in subparsers().items():
            if needs and not has_option(parser, needs):
                continue
            for fmt in formats(parser) or (None,):
                rc, out, err = run(cmd, *argv, *required(cmd, tmp_path), *(["--format", fmt] if fmt else []))
                line = one_line_error(rc, err)
                if cmd not in NOT_A_CAPTURE:
                    seen[(cmd, fmt)] = generic(line, cmd)
        assert len(set(seen.values())) == 1, (label, seen)


def test_unsupported_link_type_names_the_number_once(tmp_path):
    f = linktype_only(tmp_path, 153)
    for cmd in subparsers():
        if cmd in NOT_A_CAPTURE:
            continue
        rc, out, err = run(cmd, f, *required(cmd, tmp_path))
        line = one_line_error(rc, err)
        assert "linktype 153" in line and "(153)" not in line, line
        assert out == "", cmd
    rc, _, err = run("summary", linktype_only(tmp_path, 9))      # a named link type: name (number)
    assert "ppp (9)" in one_line_error(rc, err)


def test_option_values_are_checked_with_the_valid_choices():
    for argv, choice in ((["transactions", "--status", "bogus"], "unanswered"),
                         (["errors", "--kind", "bogus"], "last-appl-error"),
                         (["transactions", "--service", "nosuch"], "getNameList"),
                         (["latency", "--slowest", "-1"], "positive"),
                         (["pdus", "--port", "70000"], "65535")):
        rc, out, err = run(argv[0], DEMO, *argv[1:])
        line = one_line_error(rc, err)
        assert choice in line, line
    rc, out, err = run("transactions", DEMO, "--status", "error", "--service", "read", "--format", "csv")
    assert rc == 0 and out.count("\n") >= 2


def test_non_utf8_stdout_falls_back_to_ascii():
    for argv in (["pdus", DEMO], ["pdus", DEMO, "-V"], ["summary", DEMO], ["transactions", DEMO],
                 ["pdus", DEMO, "--format", "jsonl"]):
        raw = io.BytesIO()
        out = io.TextIOWrapper(raw, encoding="ascii", errors="strict", newline="\n")
        rc, _, err = run(*argv, stdout=out)
        out.flush()
        assert rc == 0 and "Traceback" not in err, (argv, err)
        text = raw.getvalue().decode("ascii" if argv[-1] != "jsonl" else "utf-8")
        assert text.strip(), argv
        if argv[:2] == ["pdus", DEMO] and len(argv) == 2:
            assert " -> " in text


def test_non_utf8_stdout_in_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "mmsanalyze", "pdus", str(DEMO)], capture_output=True,
                          cwd=ROOT, timeout=120, env={"PYTHONIOENCODING": "ascii", "PATH": "/usr/bin:/bin",
                                                      "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"Traceback" not in proc.stderr and b" -> " in proc.stdout


def test_plot_without_extension_writes_what_it_says(tmp_path):
    target = tmp_path / "noext"
    rc, out, err = run("traffic", DEMO, "--plot", target)
    assert rc == 0
    said = re.search(r"plot written to (\S+)", err).group(1)
    assert Path(said).is_file() and Path(said).read_bytes()[:4] == b"\x89PNG"
    assert not target.exists() or str(target) == said


def test_transactions_plot_differs_from_latency_plot_time(tmp_path):
    a, b = tmp_path / "tx.png", tmp_path / "lat.png"
    assert run("transactions", DEMO, "--plot", a)[0] == 0
    assert run("latency", DEMO, "--plot-time", b)[0] == 0
    assert hashlib.sha256(a.read_bytes()).digest() != hashlib.sha256(b.read_bytes()).digest()


def test_goose_and_sv_plots_say_when_there_is_nothing(tmp_path, monkeypatch):
    from mmsanalyze import plots
    said = []
    real = plots._empty

    def spy(path, title, msg):
        said.append(msg)
        return real(path, title, msg)
    monkeypatch.setattr(plots, "_empty", spy)
    # the demo's first 100 frames are MMS only (its GOOSE comes later)
    assert run("goose", DEMO, "-c", "100", "--plot", tmp_path / "g.png")[0] == 0
    assert run("sv", DEMO, "-c", "100", "--plot", tmp_path / "s.png")[0] == 0
    assert said == ["no GOOSE in this capture", "no Sampled Values in this capture"]
    assert (tmp_path / "g.png").stat().st_size > 0 and (tmp_path / "s.png").stat().st_size > 0


def test_goose_anomalies_marked_on_the_injected_frames():
    """brogoose attack 3: the injected stNum 2 sequence (frames 8, 9, 11, 13, 15) is
    interleaved with the publisher's own stNum 1 retransmissions (MANIFEST: poisoning with
    a new state); the marks go on the injected frames, not on the genuine ones."""
    import numpy as np
    from mmsanalyze.analysis.goose import attribute_frames
    # the same shape as the capture, without needing it
    st = np.array([1] * 7 + [2, 2, 1, 2, 1, 2, 1, 2] + [1] * 11, dtype=float)
    sq = np.array([0, 1, 2, 3, 4, 5, 5, 0, 1, 6, 2, 7, 3, 8, 4] + list(range(9, 20)), dtype=float)
    foreign, repeat, event = attribute_frames(st, sq)
    frames = np.arange(1, len(st) + 1)
    assert list(frames[foreign]) == [8, 9, 11, 13, 15]
    assert list(frames[repeat]) == [7]
    assert not event.any()
    # a genuine event (the old state stops when the new one starts) is an event, not foreign
    st2 = np.array([1, 1, 1, 2, 2, 2, 3, 3], dtype=float)
    sq2 = np.array([0, 1, 2, 0, 1, 2, 0, 1], dtype=float)
    f2, r2, e2 = attribute_frames(st2, sq2)
    assert not f2.any() and not r2.any() and list(np.flatnonzero(e2) + 1) == [4, 7]


@PUBLIC
def test_goose_attack_capture_marks(tmp_path):
    import mmsanalyze
    from mmsanalyze.analysis.goose import attribute_frames
    g = mmsanalyze.read_capture(public.path("goose_brogoose_attack3_poison_newstate.pcapng")).goose()
    foreign, _, _ = attribute_frames(g["st_num"].to_numpy(float), g["sq_num"].to_numpy(float))
    assert sorted(g["frame"][foreign]) == [8, 9, 11, 13, 15]
    assert set(g["st_num"][foreign]) == {2}
    cap = mmsanalyze.read_capture(public.path("goose_brogoose_attack3_poison_newstate.pcapng"))
    row = cap.goose_streams().iloc[0]
    assert row["foreign_frames"] == [8, 9, 11, 13, 15] and "injected: frames 8, 9, 11, 13, 15" in row["anomalies"]
    g = mmsanalyze.read_capture(public.path("goose_brogoose_normal3_manychanges.pcapng")).goose()
    foreign, repeat, _ = attribute_frames(g["st_num"].to_numpy(float), g["sq_num"].to_numpy(float))
    assert not foreign.any() and not repeat.any()


@PUBLIC
def test_extract_never_overwrites_without_force(tmp_path):
    cap = public.path("mms_adsc_libiec61850_fileOpenReadClose.pcap")
    out = tmp_path / "x"
    rc, _, err = run("files", cap, "--extract", out)
    assert rc == 0
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written
    victim = written[0]
    original = victim.read_bytes()
    victim.write_bytes(b"my own notes")
    rc, _, err = run("files", cap, "--extract", out)
    assert rc == 0 and victim.read_bytes() == b"my own notes"
    copy = victim.with_name(victim.name + ".1")
    assert copy.read_bytes() == original, err
    rc, _, err = run("files", cap, "--extract", out)            # again: nothing new
    assert "exists (same content)" in err and not victim.with_name(victim.name + ".2").exists()
    rc, _, err = run("files", cap, "--extract", out, "--force")
    assert rc == 0 and victim.read_bytes() == original


# -- commands merged from other branches: the same conventions -----------------------

def test_required_options_are_asked_for_after_the_capture_is_checked(tmp_path):
    """split needs --by and -o, scl-check needs --scl: said in the common style, once the
    capture itself is known to be good (a bad capture gives every command's line)."""
    for argv, want in ((["split", DEMO], "mmsanalyze: split needs --by KEY"),
                       (["split", DEMO, "--by", "server"], "mmsanalyze: split needs -o DIR"),
                       (["scl-check", DEMO], "mmsanalyze: scl-check needs --scl FILE")):
        rc, out, err = run(*argv)
        assert one_line_error(rc, err).startswith(want) and out == "", (argv, err)
    for cmd in ("split", "scl-check"):
        rc, _, err = run(cmd, tmp_path / "nope.pcap")
        assert one_line_error(rc, err) == generic(run("summary", tmp_path / "nope.pcap")[2].strip(), "summary")


def test_several_files_where_one_is_read(tmp_path):
    """pdus -w, split and scl read exactly one file: one line, not a traceback."""
    for argv in (["pdus", DEMO, DEMO, "-w", tmp_path / "x.pcapng"],
                 ["split", DEMO, DEMO, "--by", "server", "-o", tmp_path / "s"],
                 ["scl", DEMO, DEMO]):
        rc, out, err = run(*argv)
        assert "one" in one_line_error(rc, err) and "2 given" in err, (argv, err)
    assert not (tmp_path / "x.pcapng").exists() and not (tmp_path / "s").exists()


def test_scl_where_it_is_not_used_is_refused(tmp_path):
    scd = tmp_path / "x.scd"
    scd.write_text("<SCL/>")
    for argv in (["split", DEMO, "--by", "server", "-o", tmp_path / "s"], ["batch", DEMO, "--out", tmp_path / "st"],
                 ["query", tmp_path], ["verify", DEMO], ["monitor", DEMO],
                 ["pdus", DEMO, "-w", tmp_path / "w.pcapng"]):
        rc, out, err = run(*argv, "--scl", scd)
        assert "does not use --scl" in one_line_error(rc, err), (argv, err)
    assert not any(tmp_path.glob("[swt]*"))


def test_unknown_option_names_the_command():
    rc, out, err = run("summary", DEMO, "--bogus")
    assert one_line_error(rc, err).startswith("mmsanalyze summary: unrecognized arguments: --bogus")
    rc, out, err = run("--bogus")
    assert one_line_error(rc, err).startswith("mmsanalyze: unrecognized arguments: --bogus")


def test_errors_kind_ied_mode_is_accepted():
    rc, out, err = run("errors", DEMO, "--list", "--kind", "ied-mode", "--format", "json")
    assert rc == 0 and out.strip() == "[]", err
