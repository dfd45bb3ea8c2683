"""The Parquet store: ``batch`` (local pool and Dask), resuming, failures, Ctrl-C,
``--continuous`` over rotated files, ``open_store``, table commands on a store, ``query``.

Every table read back from a store is compared with the table the API builds from the
same capture (read again, independently); the rotated-files test compares against the
unsplit capture.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import public

pytestmark = pytest.mark.skipif(not public.available(), reason="../shared/captures/public is absent")

pytest.importorskip("pyarrow")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Small public captures covering every table: reports and writes, file transfer, controls +
#: reports + GOOSE + SV (Linux cooked), GOOSE poisoning, SV streams, malformed MMS (findings),
#: gzip-compressed GOOSE, two connections.
SET = ["mms_iti_pcapr_reports_identify_write.pcap", "mms_adsc_libiec61850_fileOpenReadClose.pcap",
       "mms_goose_sv_robidev_sll_control_reports_dedup.pcapng", "goose_brogoose_attack1_poison.pcapng",
       "sv_emre_multistream_noasdu5.pcap", "mms_robidev_sll_midassoc_malformed.pcapng",
       "goose_emre_ge_f650_gzip.pcap", "mms_iti_iec_write_two_conns.pcap", "mms_goose_iti_sample_mixed_lan.pcap"]


def cli(*args, check=True, **kw):
    p = subprocess.run([sys.executable, "-m", "mmsanalyze", *args], cwd=REPO, capture_output=True, text=True,
                       timeout=600, **kw)
    if check and p.returncode not in (0,):
        raise AssertionError(f"exit {p.returncode}: {p.stderr}\n{p.stdout}")
    return p


def sha256(path) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _norm(v, dtype):
    """A cell as comparable plain data (the store's JSON encoding applied to API values)."""
    from mmsanalyze.cli import dumps
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if dtype == "json":
        return json.loads(dumps(v))
    if isinstance(v, (list, tuple, np.ndarray)):
        return [None if x is None else (str(x) if dtype == "list<string>" else x) for x in list(v)]
    if hasattr(v, "item"):
        v = v.item()
    if dtype in ("string", "category"):
        return str(v)
    return v


def assert_table_equal(got: pd.DataFrame, want: pd.DataFrame, columns: dict, label: str):
    got = got.drop(columns=[c for c in ("capture",) if c in got.columns]).reset_index(drop=True)
    assert list(got.columns) == list(columns), label
    assert len(got) == len(want), f"{label}: {len(got)} rows in the store, {len(want)} from the API"
    for c, dtype in columns.items():
        assert c in want.columns, f"{label}.{c} missing from the API table"
        g = [_norm(v, dtype) for v in got[c].tolist()]
        w = [_norm(v, dtype) for v in want[c].tolist()]
        assert g == w, f"{label}.{c} differs"
        if dtype in ("Int64", "float64", "bool", "boolean", "int64"):
            assert str(got[c].dtype) == dtype, f"{label}.{c}: dtype {got[c].dtype}"


def assert_store_matches_api(store_path, paths):
    """Every table of every capture in the store equals the API's table of that capture."""
    import mmsanalyze
    from mmsanalyze.store.layout import capture_id
    from mmsanalyze.store.schema import TABLES
    st = mmsanalyze.open_store(store_path)
    man = st.manifest()
    by_sha = dict(zip(man["sha256"], man["capture"]))
    assert len(man) == len(paths)
    for p in paths:
        cid = by_sha[sha256(p)]
        assert cid == capture_id(sha256(p))
        cap = mmsanalyze.read_capture(p)
        row = man[man["capture"] == cid].iloc[0]
        assert row["frames"] == cap.frames and row["first_time"] == cap.first_time
        assert row["last_time"] == cap.last_time and row["size"] == os.path.getsize(p)
        for name, t in TABLES.items():
            got = st.table(name)
            got = got[got["capture"] == cid]
            assert_table_equal(got, t.build(cap), t.columns, f"{os.path.basename(p)}:{name}")


def store_files(store) -> dict:
    """relative path -> sha256 of every Parquet file of a store (manifest included)."""
    out = {}
    for root, _, names in os.walk(store):
        for n in names:
            if n.endswith(".parquet"):
                full = os.path.join(root, n)
                out[os.path.relpath(full, store)] = sha256(full)
    return out


# -- batch, resume, table equality -------------------------------------------------------------

def test_batch_twice_second_run_skips_and_tables_equal_api(tmp_path):
    paths = [public.path(n) for n in SET]
    store = str(tmp_path / "store")
    p = cli("batch", *paths, "--out", store, "-j", "2")
    assert f"{len(SET)} analysed, 0 skipped" in p.stdout and "0 failed" in p.stdout
    before = {f: os.stat(os.path.join(store, f)).st_mtime_ns for f in store_files(store)}
    # directory + glob inputs name the same files again: everything is skipped, nothing rewritten
    p = cli("batch", public.path("mms_iti_*.pcap"), *paths, "--out", store, "-j", "2")
    n_iti = len([n for n in public.captures() if n.startswith("mms_iti_") and n.endswith(".pcap")])
    assert "skipped" in p.stdout
    new = n_iti - len([n for n in SET if n.startswith("mms_iti_") and n.endswith(".pcap")])
    assert p.stdout.startswith(f"{new} analysed, {len(SET)} skipped"), p.stdout
    for f, m in before.items():
        assert os.stat(os.path.join(store, f)).st_mtime_ns == m, f"{f} rewritten"
    p = cli("batch", *paths, "--out", store, "-j", "1")
    assert p.stdout.startswith(f"0 analysed, {len(SET)} skipped"), p.stdout
    allpaths = paths + [public.path(n) for n in public.captures()
                        if n.startswith("mms_iti_") and n.endswith(".pcap") and n not in SET]
    assert_store_matches_api(store, allpaths)


def test_table_commands_and_open_store_read_a_store(tmp_path):
    import mmsanalyze
    paths = [public.path(n) for n in SET[:4]]
    store = str(tmp_path / "s")
    from mmsanalyze.store.batch import run_batch
    res = run_batch(paths, store, jobs=1)
    assert len(res.analysed) == 4
    caps = [mmsanalyze.read_capture(p) for p in paths]
    st = mmsanalyze.open_store(store)
    # transactions as CSV: the rows of the captures, in first-time order
    order = sorted(range(4), key=lambda i: caps[i].first_time)
    out = cli("transactions", store, "--format", "json").stdout
    rows = json.loads(out)
    want = pd.concat([caps[i].transactions() for i in order], ignore_index=True)
    assert [r["request_frame"] for r in rows] == [None if pd.isna(v) else int(v) for v in want["request_frame"]]
    assert {r["capture"] for r in rows} <= set(st.captures())
    # summary over the store counts what the captures hold
    f = json.loads(cli("summary", store, "--format", "json").stdout)
    assert f["frames"] == sum(c.frames for c in caps)
    assert f["mms_pdus"] == sum(len(c.records) for c in caps)
    assert sum(f["transactions"].values()) == sum(len(c.transactions()) for c in caps)
    g = json.loads(cli("goose", store, "--format", "json").stdout)
    assert len(g) == sum(len(c.goose_streams()) for c in caps)
    e = json.loads(cli("errors", store, "--list", "--format", "json").stdout)
    assert len(e) == sum(len(c.errors()) for c in caps)
    t = json.loads(cli("traffic", store, "--format", "json").stdout)
    for proto in ("mms", "goose", "sv"):
        want_frames = sum(int(c.traffic().set_index("protocol")["frames"].get(proto, 0)) for c in caps)
        assert next(r["frames"] for r in t if r["protocol"] == proto) == want_frames
    # Arrow dataset over the committed captures
    assert st.dataset("pdus").count_rows() == sum(len(c.pdus()) for c in caps)


def test_corrupt_file_recorded_failed_others_complete(tmp_path):
    import mmsanalyze
    good = [public.path(n) for n in SET[:3]]
    bad1 = tmp_path / "corrupt.pcap"
    bad1.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 9, 4, 0, 0, 65535, 1) + os.urandom(200))
    bad2 = tmp_path / "random.pcapng"
    bad2.write_bytes(b"not a capture at all" * 10)
    store = str(tmp_path / "store")
    p = cli("batch", *good, str(bad1), str(bad2), "--out", store, "-j", "2", check=False)
    assert p.returncode == 1, p.stderr
    assert "3 analysed, 0 skipped (already in the store), 2 failed" in p.stdout
    man = mmsanalyze.open_store(store).manifest(all=True)
    failed = man[man["status"] == "failed"].set_index("path")
    assert set(failed.index) == {str(bad1), str(bad2)}
    assert "unsupported pcap version 9" in failed.loc[str(bad1), "error"]
    assert "not a pcap or pcapng capture" in failed.loc[str(bad2), "error"]
    assert all("\n" not in e for e in failed["error"])
    st = mmsanalyze.open_store(store)
    assert len(st.captures()) == 3
    assert_store_matches_api(store, good)


def _replicas(tmp_path, n, frames):
    sys.path.insert(0, os.path.join(REPO, "bench"))
    from replicate import replicate
    d = tmp_path / "in"
    d.mkdir()
    src = public.path("mms_iti_pcapr_reports_identify_write.pcap")
    for i in range(n):
        replicate(src, str(d / f"r{i:02d}.pcap"), frames + i)    # distinct contents
    return d


@pytest.mark.parametrize("jobs", [1, 2])
def test_interrupt_then_rerun_completes_without_duplicates(tmp_path, jobs):
    import mmsanalyze
    from mmsanalyze.store.layout import MARKER, STAGING
    from mmsanalyze.store.schema import TABLES
    d = _replicas(tmp_path, 6, 6000)
    store = str(tmp_path / "store")
    proc = subprocess.Popen([sys.executable, "-m", "mmsanalyze", "batch", str(d), "--out", store, "-j", str(jobs)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    man_dir = os.path.join(store, "manifest")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if os.path.isdir(man_dir) and os.listdir(man_dir):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    # consistent: every committed capture has every table; nothing else is visible
    st = mmsanalyze.open_store(store)
    done = st.captures()
    assert 1 <= len(done) < 6
    for name in TABLES:
        assert set(st.table(name)["capture"].unique()) <= set(done)
        for c in done:
            assert os.path.isfile(os.path.join(store, name, f"capture={c}", "part-0.parquet"))
    # the rerun completes the store: each capture once, with its own rows once
    p = cli("batch", str(d), "--out", store, "-j", str(jobs))
    assert p.stdout.startswith(f"{6 - len(done)} analysed, {len(done)} skipped"), p.stdout
    assert not os.listdir(os.path.join(store, STAGING)) if os.path.isdir(os.path.join(store, STAGING)) else True
    assert os.path.isfile(os.path.join(store, MARKER))
    st = mmsanalyze.open_store(store)
    assert len(st.captures()) == 6 and len(st.manifest(all=True)) == 6
    pdus = st.pdus()
    for f in sorted(os.listdir(d)):
        cap = mmsanalyze.read_capture(str(d / f))
        cid = st.manifest().set_index("path").loc[str(d / f), "capture"]
        mine = pdus[pdus["capture"] == cid]
        assert len(mine) == len(cap.pdus())
        assert mine["frame"].tolist() == cap.pdus()["frame"].tolist()


def _children(pid: int) -> list[int]:
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(x) for x in fh.read().split()]
        except OSError:
            pass
    return out


def test_killed_worker_fails_its_capture_others_complete_rerun_retries(tmp_path):
    import mmsanalyze
    d = _replicas(tmp_path, 6, 8000)
    store = str(tmp_path / "store")
    proc = subprocess.Popen([sys.executable, "-m", "mmsanalyze", "batch", str(d), "--out", store, "-j", "2"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    man_dir = os.path.join(store, "manifest")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (os.path.isdir(man_dir) and os.listdir(man_dir)):
        time.sleep(0.02)
    kids = _children(proc.pid)
    assert kids
    os.kill(kids[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "Traceback" not in err, (out, err)
    man = mmsanalyze.open_store(store).manifest(all=True)
    bad = man[man["status"] == "failed"]
    assert len(bad) >= 1 and all(e.startswith("worker died") for e in bad["error"])
    assert len(man) == 6                    # the batch went on with the other captures
    p = cli("batch", str(d), "--out", store, "-j", "2")
    assert p.stdout.startswith(f"{len(bad)} analysed, {6 - len(bad)} skipped"), p.stdout
    st = mmsanalyze.open_store(store)
    assert len(st.captures()) == 6
    pdus = st.pdus()
    for f in sorted(os.listdir(d)):
        cid = st.manifest().set_index("path").loc[str(d / f), "capture"]
        assert (pdus["capture"] == cid).sum() == len(mmsanalyze.read_capture(str(d / f)).pdus())


# -- Dask --------------------------------------------------------------------------------------

def test_dask_local_cluster_store_identical_to_local_pool(tmp_path):
    pytest.importorskip("dask.distributed")
    from mmsanalyze.store.batch import run_batch
    paths = [public.path(n) for n in SET[:6]] + [str(tmp_path / "bad.pcap")]
    (tmp_path / "bad.pcap").write_bytes(b"\x00" * 64)
    a, b = str(tmp_path / "pool"), str(tmp_path / "dask")
    ra = run_batch(paths, a, jobs=2)
    rb = run_batch(paths, b, jobs=2, dask="local")
    assert len(ra.analysed) == len(rb.analysed) == 6 and len(ra.failed) == len(rb.failed) == 1
    fa, fb = store_files(a), store_files(b)
    assert fa and fa == fb          # same partitions, byte-identical Parquet files (manifest included)
    assert_store_matches_api(b, paths[:6])
    import mmsanalyze
    assert mmsanalyze.open_store(b).manifest(all=True).equals(mmsanalyze.open_store(a).manifest(all=True))
    # a running cluster, by scheduler address (what --dask tcp://host:port does)
    from dask.distributed import LocalCluster
    c = str(tmp_path / "remote")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        rc = run_batch(paths, c, jobs=1, dask=cluster.scheduler_address)
    assert len(rc.analysed) == 6 and store_files(c) == fa


# -- rotated files --------------------------------------------------------------------------------

def _write_pcap(path, frames, linktype):
    """Classic pcap (nanosecond magic) of RawFrames."""
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, linktype))
        for fr in frames:
            ns = round(fr.ts * 1e9)
            fh.write(struct.pack("<IIII", ns // 10**9, ns % 10**9, len(fr.data), fr.orig_len))
            fh.write(fr.data)


def test_continuous_rotated_files_equal_unsplit_capture(tmp_path):
    import mmsanalyze
    from mmsanalyze.io import open_capture
    from mmsanalyze.store.schema import TABLES
    src = public.path("mms_goose_sv_robidev_sll_control_reports_dedup.pcapng")
    with open_capture(src) as r:
        frames = list(r)
    assert len({f.linktype for f in frames}) == 1
    whole = str(tmp_path / "whole.pcap")
    _write_pcap(whole, frames, frames[0].linktype)
    ref = mmsanalyze.read_capture(whole)
    rep = ref.reports()
    (stream, rpt_id), part = next(iter(rep.groupby(["stream", "rpt_id"])))
    lo, hi = int(part["frame"].min()), int(part["frame"].max())
    b1, b2 = lo + (hi - lo) // 3, lo + 2 * (hi - lo) // 3
    # the report stream and its TCP connection cross both boundaries
    assert (part["frame"] < b1).any() and ((part["frame"] >= b1) & (part["frame"] < b2)).any() \
        and (part["frame"] >= b2).any()
    conn = ref.conns[int(stream)]
    assert conn.first_frame < b1
    tx = ref.transactions()
    assert (tx["stream"] == stream).any()
    # rotated files, given out of order: they are ordered by first frame time
    names = [str(tmp_path / n) for n in ("c.pcap", "a.pcap", "b.pcap")]
    for name, chunk in zip(names, (frames[:b1 - 1], frames[b1 - 1:b2 - 1], frames[b2 - 1:])):
        _write_pcap(name, chunk, frames[0].linktype)
    rot = mmsanalyze.read_capture(sorted(names))
    assert rot.frames == ref.frames
    checked = 0
    for name, t in TABLES.items():
        want, got = t.build(ref), t.build(rot)
        assert_table_equal(got, want, t.columns, f"continuous:{name}")
        checked += len(want)
    assert checked > 1000
    pd.testing.assert_frame_equal(rot.pdus(detail=True), ref.pdus(detail=True))
    assert (rot.report_cadence()["reports"] == ref.report_cadence()["reports"]).all()
    # ... while reading the files one by one does not give the same (the test can fail)
    apart = [mmsanalyze.read_capture(n) for n in names]
    assert sum(len(c.reports()) for c in apart) == len(rep)
    assert sum(len(c.associations()) for c in apart) > len(ref.associations())
    # batch --continuous: one capture in the store whose tables are the unsplit capture's
    store = str(tmp_path / "store")
    p = cli("batch", *names, "--out", store, "--continuous", "-j", "1")
    assert p.stdout.startswith("1 analysed"), p.stdout
    st = mmsanalyze.open_store(store)
    m = st.manifest()
    assert len(m) == 1 and m["files"][0] == names   # c, a, b: by first frame time
    assert m["frames"][0] == ref.frames
    for name, t in TABLES.items():
        assert_table_equal(st.table(name), t.build(ref), t.columns, f"store-continuous:{name}")
    p = cli("batch", *names, "--out", store, "--continuous", "-j", "1")
    assert p.stdout.startswith("0 analysed, 3 skipped"), p.stdout


def test_continuous_set_with_more_files_supersedes_the_earlier_set(tmp_path):
    """A rotated set analysed again after the next file appeared replaces the earlier
    capture (its frames would otherwise be counted twice)."""
    import mmsanalyze
    from mmsanalyze.io import open_capture
    from mmsanalyze.store.schema import TABLES
    src = public.path("mms_goose_iti_sample_mixed_lan.pcap")
    with open_capture(src) as r:
        frames = list(r)
    whole = str(tmp_path / "whole.pcap")
    _write_pcap(whole, frames, frames[0].linktype)
    ref = mmsanalyze.read_capture(whole)
    k = len(frames) // 3
    names = [str(tmp_path / f"ring_{i}.pcap") for i in range(3)]
    for name, chunk in zip(names, (frames[:k], frames[k:2 * k], frames[2 * k:])):
        _write_pcap(name, chunk, frames[0].linktype)
    store = str(tmp_path / "store")
    cli("batch", *names[:2], "--out", store, "--continuous", "-j", "1")
    first = mmsanalyze.open_store(store).captures()
    assert len(first) == 1
    p = cli("batch", *names, "--out", store, "--continuous", "-j", "1")
    assert p.stdout.splitlines()[-1].startswith("1 analysed") and f"superseded (replaced by the new rotated set): {first[0]}" \
        in p.stdout, p.stdout
    st = mmsanalyze.open_store(store)
    assert len(st.captures()) == 1 and st.captures() != first
    man = st.manifest(all=True).set_index("capture")
    assert man.loc[first[0], "status"] == "superseded" and man.loc[st.captures()[0], "supersedes"] == first
    for name, t in TABLES.items():
        assert_table_equal(st.table(name), t.build(ref), t.columns, f"superseding:{name}")
        assert not os.path.exists(os.path.join(store, name, f"capture={first[0]}"))
    assert json.loads(cli("query", store, "SELECT count(*) AS n FROM pdus", "--format", "json").stdout)[0]["n"] \
        == len(ref.pdus())


# -- query ---------------------------------------------------------------------------------------

def test_query_p99_latency_per_server_per_day_agrees_with_pandas(tmp_path):
    pytest.importorskip("duckdb")
    import mmsanalyze
    names = [n for n in public.captures() if n.startswith(("mms_iti_", "mms_adsc_libiec61850", "mms_emre_read"))]
    paths = [public.path(n) for n in names]
    store = str(tmp_path / "store")
    cli("batch", *paths, "--out", store, "-j", "2", check=False)
    sql = ("SELECT server, CAST(to_timestamp(request_time) AS DATE) AS day, count(*) AS n, "
           "quantile_cont(latency_ms, 0.99) AS p99_ms FROM transactions WHERE latency_ms IS NOT NULL "
           "GROUP BY ALL ORDER BY server, day")
    got = json.loads(cli("query", store, sql, "--format", "json").stdout)
    # pandas over the API tables of the same captures
    tx = pd.concat([mmsanalyze.read_capture(p).transactions() for p in paths], ignore_index=True)
    tx = tx[tx["latency_ms"].notna()]
    tx = tx.assign(day=pd.to_datetime(tx["request_time"], unit="s").dt.strftime("%Y-%m-%d"))
    want = tx.groupby(["server", "day"])["latency_ms"].agg(n="size", p99_ms=lambda s: s.quantile(0.99))
    want = want.reset_index().sort_values(["server", "day"]).to_dict("records")
    assert len(got) == len(want) > 3
    for g, w in zip(got, want):
        assert (g["server"], g["day"][:10], g["n"]) == (w["server"], w["day"], w["n"])
        assert g["p99_ms"] == pytest.approx(w["p99_ms"], rel=1e-12, abs=1e-9)
    # csv export and --output like the other commands
    out = tmp_path / "p99.csv"
    cli("query", store, sql, "--format", "csv", "--output", str(out))
    assert pd.read_csv(out)["n"].sum() == len(tx)
    # a bad query is one line and exit 2
    p = cli("query", store, "SELECT nope FROM transactions", check=False)
    assert p.returncode == 2 and p.stderr.startswith("mmsanalyze: query failed:") and p.stderr.count("\n") == 1


# -- the CLI's positional inputs, the later tables, commands on a store ---------------------------

def test_batch_takes_every_positional_input_files_directories_globs_and_r(tmp_path):
    """``batch a.pcap DIR 'glob/**/*.pcap' -r b.pcap --out STORE``: every positional (the shared
    ``captures`` list) and -r are inputs (not only the first one, and no TypeError)."""
    import shutil
    import mmsanalyze
    names = SET[:5]
    src = [public.path(n) for n in names]
    d = tmp_path / "dir"
    (d / "deeper").mkdir(parents=True)
    g = tmp_path / "globbed" / "x" / "y"
    g.mkdir(parents=True)
    a = shutil.copy(src[0], tmp_path / names[0])
    shutil.copy(src[1], d / names[1])
    shutil.copy(src[2], d / "deeper" / names[2])
    shutil.copy(src[3], g / names[3])
    b = shutil.copy(src[4], tmp_path / names[4])
    store = str(tmp_path / "store")
    p = cli("batch", str(a), str(d), str(tmp_path / "globbed" / "**" / "*.pcap*"), "-r", str(b),
            "--out", store, "-j", "1")
    assert p.stdout.startswith("5 analysed, 0 skipped"), p.stdout
    man = mmsanalyze.open_store(store).manifest()
    assert sorted(man["sha256"]) == sorted(sha256(x) for x in src)
    p = cli("batch", str(tmp_path / "nothing-*.pcap"), "--out", store, check=False)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "matches no file" in p.stderr


def test_query_store_and_sql_positionals_tables_listing_and_too_many(tmp_path):
    pytest.importorskip("duckdb")
    from mmsanalyze.store.batch import run_batch
    store = str(tmp_path / "store")
    run_batch([public.path(SET[0])], store, jobs=1)
    import mmsanalyze
    cap = mmsanalyze.read_capture(public.path(SET[0]))
    got = json.loads(cli("query", store, "SELECT count(*) AS n FROM transactions", "-T", "json").stdout)
    assert got == [{"n": len(cap.transactions())}]
    got = json.loads(cli("query", "-r", store, "SELECT count(*) AS n FROM identify", "-T", "json").stdout)
    assert got == [{"n": len(cap.identify())}]
    tables = {r["table"] for r in json.loads(cli("query", store, "-T", "json").stdout)}
    assert {"transactions", "goose_streams", "identify", "ied_states", "manifest"} <= tables
    p = cli("query", store, "SELECT 1", "SELECT 2", check=False)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "one SQL query" in p.stderr, p.stderr
    p = cli("query", check=False)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "no store given" in p.stderr


def test_store_schema_carries_every_column_of_the_api_tables():
    """A column an analysis adds (goose_streams foreign_frames / capture_lost, sv_streams
    capture_lost ...) must be in the store schema, or the store silently drops it."""
    import mmsanalyze
    from mmsanalyze.store.schema import TABLES
    for name in ("mms_goose_sv_robidev_sll_control_reports_dedup.pcapng", "goose_brogoose_attack1_poison.pcapng"):
        cap = mmsanalyze.read_capture(public.path(name))
        for t in TABLES.values():
            api = list(t.build(cap).columns)
            assert api == list(t.columns), f"{name}:{t.name}: API {api} vs store {list(t.columns)}"
    assert TABLES["goose_streams"].columns["foreign_frames"] == "list<int64>"
    assert TABLES["goose_streams"].columns["capture_lost"] == "int64"
    assert TABLES["sv_streams"].columns["capture_lost"] == "int64"
    assert {"identify", "control_sequences", "ied_states", "ied_modes", "ied_mode_findings",
            "security_findings", "security_matrix"} <= set(TABLES)


def test_table_commands_on_a_store_answer_or_refuse_in_one_line(tmp_path):
    """summary / errors / associations / controls / modes / security on a store: the tables of
    every capture (never a traceback); what needs the capture itself is exit 2, one line."""
    import mmsanalyze
    from mmsanalyze.store.batch import run_batch
    names = ["mms_iti_pcapr_reports_identify_write.pcap", "mms_goose_sv_robidev_sll_control_reports_dedup.pcapng"]
    paths = [public.path(n) for n in names]
    store = str(tmp_path / "store")
    run_batch(paths, store, jobs=1)
    caps = [mmsanalyze.read_capture(p) for p in paths]
    for cmd in ("summary", "errors", "associations", "controls", "modes", "security"):
        p = cli(cmd, store, check=False)
        assert p.returncode == 0 and "Traceback" not in p.stderr, (cmd, p.stderr)
    f = json.loads(cli("summary", store, "--format", "json").stdout)
    assert f["frames"] == sum(c.frames for c in caps)
    assert len(f["assets"]) == sum(len(c.identify().drop_duplicates(["server", "vendor", "model", "revision"]))
                                   for c in caps) > 0
    assert f["other_information_reports"]["count"] == 117
    want = pd.concat([c.security()[0] for c in caps])["severity"].value_counts()
    assert f["security"]["counts"] == {k: int(v) for k, v in want.items()}
    a = json.loads(cli("associations", store, "-T", "json").stdout)
    assert len(a) == sum(len(c.associations()) for c in caps)
    assert {r["vendor"] for r in a if r.get("vendor")} == {v for c in caps for v in c.identify()["vendor"]}
    s = json.loads(cli("controls", store, "-T", "json").stdout)
    assert len(s) == sum(len(c.control_sequences()) for c in caps) > 0
    m = json.loads(cli("modes", store, "-T", "json").stdout)
    assert len(m) == sum(len(c.ied_modes()) for c in caps) > 0
    e = json.loads(cli("errors", store, "--list", "-T", "json").stdout)
    assert len(e) == sum(len(c.errors()) + len(c.ied_mode_findings()) for c in caps)
    sec = json.loads(cli("security", store, "--matrix", "-T", "json").stdout)
    assert len(sec) == sum(len(c.security()[1]) for c in caps) > 0
    allow = tmp_path / "allow.csv"
    allow.write_text("client,server,port\n10.0.0.11,10.0.0.2,102\n")
    for extra in (["modes", "--follow-timeout", "3"], ["security", "--allow", str(allow)]):
        p = cli(extra[0], store, *extra[1:], check=False)
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and "capture files" in p.stderr, p.stderr


def test_store_written_before_a_column_was_added_reads_it_as_null(tmp_path):
    """A store written by an older version (no goose_streams.foreign_frames / capture_lost)
    still gives every column of the schema: the missing ones all-null."""
    import pyarrow.parquet as pq
    import mmsanalyze
    from mmsanalyze.store.batch import run_batch
    from mmsanalyze.store.schema import TABLES
    store = str(tmp_path / "store")
    run_batch([public.path("goose_brogoose_attack1_poison.pcapng")], store, jobs=1)
    st = mmsanalyze.open_store(store)
    part = st._files("goose_streams")[0]
    old = pq.read_table(part)
    pq.write_table(old.drop_columns(["foreign_frames", "capture_lost"]), part)
    df = mmsanalyze.open_store(store).goose_streams()
    assert set(TABLES["goose_streams"].columns) <= set(df.columns)
    assert len(df) == old.num_rows > 0 and df["foreign_frames"].isna().all()
