"""The analysis tables on the public captures (../shared/captures/public).

* every confirmed request whose response (same stream, invokeID, opposite
  direction) is in the PDU list is matched in ``transactions()``;
* golden tables for a few captures (tests/golden/<capture>/<table>.csv) keep
  regressions visible.  Regenerate after an intended change with
  ``MMSA_REGEN_GOLDEN=1 pytest tests/test_analysis_public.py -k golden`` (or
  ``python tests/test_analysis_public.py``) and review the diff;
* the golden transactions are checked against tshark's own decoding (request and
  response frames, invokeIDs, services, error codes, failed items).
"""
from __future__ import annotations

import collections
import csv
import io
import math
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import public  # noqa: E402

from mmsanalyze.api import read_capture  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden"
REGEN = bool(os.environ.get("MMSA_REGEN_GOLDEN"))

pytestmark = pytest.mark.skipif(not public.available(), reason="public captures not available")

#: capture -> tables kept as golden CSV
GOLDEN_SET = {
    "mms_goose_iti_sample_mixed_lan.pcap": ("transactions", "reports", "report_cadence", "associations", "errors",
                                            "traffic", "latency_stats"),
    "mms_adsc_libiec61850_fileOpenReadClose.pcap": ("transactions", "files", "associations", "latency_stats"),
    "mms_adsc_libiec61850_obtainFile.pcap": ("transactions", "files", "associations"),
    "mms_adsc_libiec61850_fileDirectory.pcap": ("transactions", "file_directory", "associations", "errors"),
    "mms_robidev_sll_midassoc_malformed.pcapng": ("report_cadence", "errors", "controls", "associations", "traffic"),
    "mms_iti_piccolo_identify_status.pcap": ("transactions", "associations"),
    "iso9506_iti_mms-readRequest.pcap": ("transactions", "associations"),
    "mms_adsc_libiec61850_defineNVL_deleteNVL.pcap": ("transactions", "errors"),
}
#: golden CSVs drop these (large or derived from other columns)
DROP = {"reports": ("values",), "transactions": ("values",)}


_CACHE: dict = {}


def capture(name):
    if name not in _CACHE:
        _CACHE.clear()
        _CACHE[name] = read_capture(public.path(name), ports=(102,) + public.ports(name))
    return _CACHE[name]


# ---------------------------------------------------------------------------------
# every request whose response is captured is matched
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", public.captures())
def test_every_answered_request_is_matched(name):
    cap = capture(name)
    p = cap.pdus()
    req = p[p["pdu"] == "confirmed-RequestPDU"]
    rsp = p[p["pdu"].isin(["confirmed-ResponsePDU", "confirmed-ErrorPDU"])]
    # key: (stream, requester direction, invokeID); a response travels the other way
    nreq = collections.Counter(zip(req["stream"], req["direction"], req["invoke_id"]))
    flip = {"client->server": "server->client", "server->client": "client->server"}
    nrsp = collections.Counter(zip(rsp["stream"], rsp["direction"].map(flip), rsp["invoke_id"]))
    tx = cap.transactions()
    both = tx[tx["request_frame"].notna() & tx["response_frame"].notna() & (tx["response_pdu"] != "rejectPDU")]
    req_dir = both["requester"].map({"client": "client->server", "server": "server->client"})
    matched = collections.Counter(zip(both["stream"], req_dir, both["invoke_id"]))
    dups = tx.groupby(["stream", "invoke_id"])["duplicates"].sum()
    expected_total = 0
    for key, n in nreq.items():
        want = min(n, nrsp.get(key, 0))
        expected_total += want
        if dups.get((key[0], key[2]), 0) == 0:
            assert matched.get(key, 0) == want, (name, key, n, nrsp.get(key, 0))
    assert sum(matched.values()) >= expected_total - int(tx["duplicates"].sum())
    # every request PDU is a row (or folded into one as a duplicate)
    assert tx["request_frame"].notna().sum() + int(tx["duplicates"].sum()) >= len(req)
    # responses whose request is missing are flagged, never silently dropped
    assert len(rsp) <= len(both) + int(tx["request_missing"].sum()) + int(tx["duplicates"].sum())


@pytest.mark.parametrize("name", public.captures())
def test_tables_have_declared_dtypes(name):
    from mmsanalyze.analysis import associations, errors, files, reports, transactions
    cap = capture(name)
    for df, spec in ((cap.transactions(), transactions.COLUMNS), (cap.reports(), reports.COLUMNS),
                     (cap.errors(), errors.COLUMNS), (cap.associations(), associations.COLUMNS),
                     (cap.files(), files.COLUMNS), (cap.report_cadence(), reports.CADENCE_COLUMNS)):
        assert list(df.columns) == list(spec)
        for col, (dtype, _) in spec.items():
            assert str(df[col].dtype) == dtype, (name, col, df[col].dtype)


# ---------------------------------------------------------------------------------
# golden tables
# ---------------------------------------------------------------------------------

def _fmt(v):
    if v is None or v is pd.NA:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6f}"
    if isinstance(v, (list, tuple, dict)):
        from mmsanalyze.cli import dumps
        return dumps(_round(v))
    if hasattr(v, "item"):
        return _fmt(v.item())
    return str(v)


def _round(v):
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, (list, tuple)):
        return [_round(x) for x in v]
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    return v


def golden_csv(df) -> str:
    """Deterministic CSV text of a table (floats to 6 decimals, lists/dicts as JSON)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(df.columns)
    for row in df.itertuples(index=False, name=None):
        w.writerow([_fmt(v) for v in row])
    return buf.getvalue()


def table_of(cap, table):
    df = getattr(cap, table)()
    return df.drop(columns=[c for c in DROP.get(table, ()) if c in df.columns])


GOLDEN_CASES = [(n, t) for n, ts in GOLDEN_SET.items() for t in ts]


@pytest.mark.parametrize("name,table", GOLDEN_CASES)
def test_golden(name, table):
    if not os.path.exists(public.path(name)):
        pytest.skip("capture missing")
    text = golden_csv(table_of(capture(name), table))
    path = GOLDEN / Path(name).stem / f"{table}.csv"
    if REGEN or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not REGEN:
            pytest.skip(f"golden {path.name} created; commit it")
        return
    want = path.read_text(encoding="utf-8")
    if text != want:
        a, b = want.splitlines(), text.splitlines()
        diff = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        pytest.fail(f"{name} {table} differs from {path} at line {diff + 1}:\n"
                    f"  golden: {a[diff] if diff < len(a) else '<end>'}\n"
                    f"  now:    {b[diff] if diff < len(b) else '<end>'}\n"
                    f"(MMSA_REGEN_GOLDEN=1 to accept an intended change)")


# ---------------------------------------------------------------------------------
# golden transactions against tshark
# ---------------------------------------------------------------------------------

@pytest.mark.tshark
@pytest.mark.parametrize("name", [n for n, ts in GOLDEN_SET.items() if "transactions" in ts])
def test_golden_transactions_agree_with_tshark(name):
    import tshark_ref
    if not os.path.exists(tshark_ref.TSHARK):
        pytest.skip("tshark not installed")
    ts = tshark_ref.tshark_mms(public.path(name), public.ports(name), public.midassoc(name))
    tx = capture(name).transactions()
    t_req = {(p["frame"], p["invoke_id"]): p for p in ts if p["pdu"].startswith("confirmed-RequestPDU")}
    t_ans = {(p["frame"], p["invoke_id"]): p for p in ts
             if p["pdu"].startswith(("confirmed-ResponsePDU", "confirmed-ErrorPDU"))}
    ours_req = {(int(r.request_frame), int(r.invoke_id)): r for r in tx.itertuples() if not pd.isna(r.request_frame)}
    assert set(ours_req) == set(t_req), name
    for key, r in ours_req.items():
        assert r.service == t_req[key]["service"]
        if pd.isna(r.response_frame) or r.response_pdu == "rejectPDU":
            continue
        t = t_ans[(int(r.response_frame), int(r.invoke_id))]
        if t["error"]:
            assert r.error_code == f"{t['error']['class']}/{t['error']['code']}"
        fails = [x for x in (t["results"] or []) if x[0] == "failure"]
        assert r.failed_items == len(fails)
        if fails:
            assert r.error_code == fails[0][1]
    answered = {k for k in t_ans}
    assert {(int(r.response_frame), int(r.invoke_id)) for r in tx.itertuples()
            if not pd.isna(r.response_frame) and r.response_pdu != "rejectPDU"} == answered


if __name__ == "__main__":      # python tests/test_analysis_public.py: regenerate the golden tables
    for n, t in GOLDEN_CASES:
        if os.path.exists(public.path(n)):
            p = GOLDEN / Path(n).stem / f"{t}.csv"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(golden_csv(table_of(capture(n), t)), encoding="utf-8")
            print("wrote", p)
