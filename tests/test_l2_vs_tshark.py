"""Our GOOSE / SV / R-GOOSE decoding against tshark on the public captures.

For every capture the MANIFEST lists with GOOSE, SV or R-GOOSE frames:

* frame counts equal tshark's ``-Y goose`` / ``-Y sv`` / ``-Y r-goose`` (``-Y goose``
  does not match GOOSE inside R-GOOSE, so it is compared with our L2 rows only);
* field by field per frame: GOOSE stNum, sqNum, goID, gocbRef, datSet, APPID,
  timeAllowedToLive, confRev, simulation, ndsCom, numDatSetEntries and the
  boolean / integer leaves of allData; SV smpCnt, svID, APPID, noASDU, confRev,
  smpSynch of every ASDU; R-GOOSE stNum / sqNum / gocbRef where tshark decodes it.
"""

from __future__ import annotations

import subprocess

import pytest

import public
from l2_publish import feed_capture
from mmsanalyze.analysis.l2 import L2Collector
from mmsanalyze.goose import GooseCollector
from mmsanalyze.sv import SvCollector
from tshark_ref import TSHARK

pytestmark = pytest.mark.tshark

AGG = "|"


def _names(column):
    return [n for n in public.captures() if public.manifest_int(n, column)]


def tshark_fields(path, dfilter, fields):
    """frame number -> list of per-field lists (all occurrences, '|' aggregated)."""
    args = [TSHARK, "-n", "-r", path, "-Y", dfilter, "-T", "fields", "-E", "occurrence=a",
            "-E", f"aggregator={AGG}"]
    for f in ("frame.number",) + tuple(fields):
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        cells = line.split("\t")
        rows[int(cells[0])] = [c.split(AGG) if c else [] for c in cells[1:]]
    return rows


def _collect(name):
    g, s = GooseCollector(), SvCollector()
    l2 = L2Collector(goose=g, sv=s)
    feed_capture(public.path(name), goose=g, sv=s, l2=l2)
    return g, s, l2


def _leaves(value, out):
    """Flatten a decoded Data value into (bools, ints) in document order."""
    if isinstance(value, bool):
        out[0].append(value)
    elif isinstance(value, int):
        out[1].append(value)
    elif isinstance(value, list):
        for v in value:
            _leaves(v, out)
    return out


GOOSE_FIELDS = ("goose.stNum", "goose.sqNum", "goose.goID", "goose.gocbRef", "goose.datSet",
                "goose.appid", "goose.timeAllowedtoLive", "goose.confRev", "goose.simulation",
                "goose.ndsCom", "goose.numDatSetEntries", "goose.boolean", "goose.integer",
                "goose.unsigned")


@pytest.mark.skipif(not public.available(), reason="public captures not present")
@pytest.mark.parametrize("name", _names("goose"))
def test_goose_matches_tshark(name):
    g, _, _ = _collect(name)
    t = g.table()
    mine = t[t.transport == "l2"]
    ref = tshark_fields(public.path(name), "goose", GOOSE_FIELDS)
    assert len(mine) == len(ref) == public.manifest_int(name, "goose")
    assert not mine.malformed.any() and g.findings == []
    for row in mine.itertuples(index=False):
        (st, sq, goid, gocb, ds, appid, tal, conf, sim, nds, nent, bools, ints,
         uints) = ref[row.frame]
        assert [row.st_num, row.sq_num] == [int(st[0]), int(sq[0])], row.frame
        assert (row.go_id or "") == (goid[0] if goid else "")
        assert row.gocb_ref == gocb[0] and row.dat_set == ds[0]
        assert row.appid == int(appid[0], 16)
        assert row.time_allowed_to_live == int(tal[0]) and row.conf_rev == int(conf[0])
        assert bool(row.simulation) == (sim[0] in ("1", "True"))
        assert bool(row.nds_com) == (nds[0] in ("1", "True"))
        assert row.num_dat_set_entries == int(nent[0])
        my_bools, my_ints = _leaves(row.values, ([], []))
        assert my_bools == [b in ("1", "True") for b in bools], row.frame
        assert sorted(my_ints) == sorted(int(v) for v in ints + uints), row.frame


SV_FIELDS = ("sv.smpCnt", "sv.svID", "sv.appid", "sv.noASDU", "sv.confRev", "sv.smpSynch")


@pytest.mark.skipif(not public.available(), reason="public captures not present")
@pytest.mark.parametrize("name", _names("sv"))
def test_sv_matches_tshark(name):
    _, s, _ = _collect(name)
    t = s.table()
    mine = t[t.transport == "l2"]
    ref = tshark_fields(public.path(name), "sv", SV_FIELDS)
    assert s.frames == mine.frame.nunique() == len(ref) == public.manifest_int(name, "sv")
    for frame, rows in mine.groupby("frame", sort=True):
        cnt, svid, appid, noasdu, conf, synch = ref[frame]
        assert list(rows.smp_cnt) == [int(v) for v in cnt], frame
        assert list(rows.sv_id.astype(str)) == svid, frame
        assert (rows.appid == int(appid[0], 16)).all()
        assert (rows.no_asdu == int(noasdu[0])).all()
        assert list(rows.conf_rev) == [int(v) for v in conf]
        assert list(rows.smp_synch) == [int(v) for v in synch]
    malformed = public.manifest_int(name, "malformed") or 0
    assert mine.groupby("frame").malformed.any().sum() == malformed
    assert len({f.frame for f in s.findings}) == malformed


@pytest.mark.skipif(not public.available(), reason="public captures not present")
@pytest.mark.parametrize("name", _names("r-goose"))
def test_rgoose_matches_tshark(name):
    g, _, l2 = _collect(name)
    counts = l2.table().set_index("kind")["frames"]
    ref = tshark_fields(public.path(name), "r-goose",
                        ("goose.stNum", "goose.sqNum", "goose.gocbRef"))
    assert counts["r-goose"] == len(ref) == public.manifest_int(name, "r-goose")
    t = g.table()
    mine = t[t.transport == "r-goose"]
    assert not mine.malformed.any()
    assert set(mine.frame) == set(ref)
    for frame, rows in mine.groupby("frame"):
        st, sq, gocb = ref[frame]
        if not st:       # tshark 4.0 does not decode the pre-standard 90-5 samples
            continue
        assert list(rows.st_num) == [int(v) for v in st]
        assert list(rows.sq_num) == [int(v) for v in sq]
        assert list(rows.gocb_ref) == gocb
