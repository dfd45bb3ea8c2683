"""Hostile and broken SCL: refused with one clean line, or loaded in bounded memory.

External entities (XXE), entity-expansion bombs, deep nesting, truncation, random
damage, and 100 MB files (model-heavy and Private-heavy) loaded in a subprocess
whose peak RSS is measured with resource.getrusage.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from mmsanalyze.cli import main
from mmsanalyze.scl import SclError, load_scl
from mmsanalyze.scl.check import check_scl

import scl_gen

NS = scl_gen.NS
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(p)


def _one_line_error(path):
    with pytest.raises(SclError) as ei:
        load_scl(path)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(path)
    return msg


def test_external_entity_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    p = _write(tmp_path, "xxe.scd", f'<?xml version="1.0"?>\n<!DOCTYPE SCL [<!ENTITY x SYSTEM "file://{secret}">]>\n'
               f'<SCL xmlns="{NS}"><Header id="&x;"/></SCL>')
    msg = _one_line_error(p)
    assert ":2:" in msg and "refused" in msg and "TOP-SECRET" not in msg


def test_entity_expansion_bomb_is_refused(tmp_path):
    ents = ['<!ENTITY a0 "lol">'] + [f'<!ENTITY a{i} "{("&a%d;" % (i - 1)) * 10}">' for i in range(1, 10)]
    p = _write(tmp_path, "bomb.scd", f'<!DOCTYPE SCL [{"".join(ents)}]><SCL xmlns="{NS}"><Header id="&a9;"/></SCL>')
    assert "refused" in _one_line_error(p)


def test_doctype_after_comments_and_in_utf16_is_refused(tmp_path):
    body = f'<?xml version="1.0"?><!-- a comment --><!DOCTYPE SCL [<!ENTITY e "x">]><SCL xmlns="{NS}"/>'
    assert "refused" in _one_line_error(_write(tmp_path, "c.scd", body))
    u16 = '<?xml version="1.0" encoding="UTF-16"?>' + body[21:]
    assert "refused" in _one_line_error(_write(tmp_path, "u16.scd", "\ufeff" + u16, "utf-16-le"))


def test_external_dtd_without_internal_subset_is_refused(tmp_path):
    p = _write(tmp_path, "ext.scd", f'<!DOCTYPE SCL SYSTEM "http://127.0.0.1:9/x.dtd"><SCL xmlns="{NS}"/>')
    assert "refused" in _one_line_error(p)


@pytest.mark.parametrize("depth", [100, 5000])
def test_deep_nesting_is_refused(tmp_path, depth):
    p = _write(tmp_path, "deep.scd", f'<SCL xmlns="{NS}">' + "<Private>" * depth + "</Private>" * depth + "</SCL>")
    msg = _one_line_error(p)
    assert "deeper" in msg or "depth" in msg.lower()


def test_deep_sdi_chain_inside_a_logical_node_is_refused(tmp_path):
    sdi = '<SDI name="s">' * 80 + '<DAI name="v"><Val>1</Val></DAI>' + "</SDI>" * 80
    p = _write(tmp_path, "sdi.scd", f'<SCL xmlns="{NS}"><IED name="I"><AccessPoint name="A"><Server><LDevice inst="L">'
               f'<LN0 lnClass="LLN0" inst="" lnType="T"><DOI name="Mod">{sdi}</DOI></LN0></LDevice></Server>'
               '</AccessPoint></IED></SCL>')
    assert "deeper" in _one_line_error(p)


@pytest.mark.parametrize("text, what", [
    ("", "empty"), ("\x00\x01\x02garbage", "not well-formed"), ("SCL version=2007", "not well-formed"),
    ('<SCL xmlns="http://www.iec.ch/61850/2003/SCL"><IED name="x">', "not well-formed"),
    ('<Root/>', "not an SCL file"), ('<?xml version="1.0" encoding="EBCDIC-NOPE"?><SCL/>', ""),
])
def test_broken_files_give_one_line(tmp_path, text, what):
    msg = _one_line_error(_write(tmp_path, "broken.icd", text))
    assert what in msg


def test_missing_file(tmp_path):
    assert "cannot open" in _one_line_error(str(tmp_path / "nope.scd"))


def test_cli_exits_2_with_one_line(tmp_path, capsys):
    p = _write(tmp_path, "bomb.scd", f'<!DOCTYPE SCL [<!ENTITY a "b">]><SCL xmlns="{NS}"/>')
    assert main(["scl", p]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and p in err


def test_random_damage_only_ever_gives_scl_error(tmp_path):
    """Byte flips, insertions and cuts of a generated SCD: a model (then checkable) or SclError."""
    src = tmp_path / "small.scd"
    scl_gen.write_big_scd(str(src), 60_000, lds=1, ggios=3)
    data = src.read_bytes()
    rnd = random.Random(1234)
    outcomes = {"ok": 0, "error": 0}
    for i in range(150):
        b = bytearray(data)
        for _ in range(rnd.randint(1, 8)):
            k = rnd.randrange(len(b))
            op = rnd.random()
            if op < 0.5:
                b[k] = rnd.choice(b'<>/="&\x00 abcXYZ')
            elif op < 0.8:
                b[k:k] = bytes(rnd.choice(b'<>/="&') for _ in range(rnd.randint(1, 5)))
            else:
                del b[k:]
                break
        p = tmp_path / f"d{i}.scd"
        p.write_bytes(bytes(b))
        try:
            m = load_scl(str(p))
        except SclError as err:
            assert "\n" not in str(err)
            outcomes["error"] += 1
            continue
        check_scl(m)
        outcomes["ok"] += 1
    assert outcomes["error"] > 0


_PROBE = """
import json, sys
from mmsanalyze.scl import load_scl
m = load_scl(sys.argv[1])
print(json.dumps({"ieds": len(m.ieds), "ldevices": sum(1 for i in m.ieds for _ in i.ldevices()),
                  "fcdas": sum(len(ds.fcdas) for i in m.ieds for ld in i.ldevices() for ds in ld.datasets),
                  "ctl": m.ctl_model("IED7LD2/GGIO3.SPCSO1")}))
"""

#: Peak RSS allowed while loading the 100 MB model-heavy SCD (measured about 320 MiB:
#: the model itself -- 300,000 FCDAs, 150,000 LNs with values -- and its look-up
#: indexes, not the XML tree).
MAX_RSS_MODEL_MIB = 512
#: Peak RSS allowed for 100 MB that is mostly Substation and Private content (dropped
#: while streaming; measured about 20 MiB): flat, whatever the file size.
MAX_RSS_PRIVATE_MIB = 64


#: Runs the probe as its own child and reports that child's peak RSS
#: (getrusage RUSAGE_CHILDREN).  Linux carries a process's RSS high-water mark across
#: fork+exec, so a probe started straight from the (large) pytest process would report
#: pytest's memory; started from this small launcher it reports only its own.
_LAUNCH = """
import json, resource, subprocess, sys
out = subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], capture_output=True, text=True)
if out.returncode:
    sys.exit(out.stderr[-2000:])
got = json.loads(out.stdout)
got["rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps(got))
"""


def _probe(path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", _LAUNCH, _PROBE, path], capture_output=True, text=True,
                         timeout=600, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


@pytest.mark.slow
def test_100mb_scd_loads_in_bounded_memory(tmp_path):
    p = str(tmp_path / "big.scd")
    counts = scl_gen.write_big_scd(p, 100 * 1024 * 1024)
    assert os.path.getsize(p) >= 100 * 1024 * 1024 - 300_000
    got = _probe(p)
    try:
        os.remove(p)
    finally:
        pass
    assert got["ieds"] == counts["ieds"] and got["ldevices"] == counts["ldevices"] and got["fcdas"] == counts["fcdas"]
    assert got["ctl"] == "direct-with-normal-security"
    assert got["rss_mib"] < MAX_RSS_MODEL_MIB, got


@pytest.mark.slow
def test_100mb_of_private_content_is_streamed(tmp_path):
    p = tmp_path / "private.scd"
    with open(p, "w") as fh:
        fh.write(f'<SCL xmlns="{NS}" xmlns:x="urn:x"><Header id="p"/><Substation name="S">')
        chunk = "".join(f'<Bay name="B{i}"><Private type="t"><x:Blob a="1">{"y" * 900}</x:Blob></Private></Bay>'
                        for i in range(100))
        while fh.tell() < 100 * 1024 * 1024:
            fh.write(chunk)
        fh.write("</Substation>")
        fh.write(scl_gen._ied("IED7", 3, 3))
        fh.write(scl_gen.TEMPLATES + "</SCL>")
    got = _probe(str(p))
    os.remove(p)
    assert got["ieds"] == 1 and got["fcdas"] == 9 and got["ctl"] == "direct-with-normal-security"
    assert got["rss_mib"] < MAX_RSS_PRIVATE_MIB, got
