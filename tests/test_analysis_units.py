"""Unit tests of the analysis modules on hand-made records (no capture needed).

Records carry a pre-decoded :class:`MmsPdu`, so each test states exactly the PDU
sequence it is about: invokeID reuse, duplicated PDUs, responses without their
request, cancel and reject, report layouts per OptFlds, segmented reports, SeqNum
health, the traffic counter, association ends and safe file extraction.
"""
from __future__ import annotations

import os

import pandas as pd
import pytest

from mmsanalyze.analysis import associations as A
from mmsanalyze.analysis import files as F
from mmsanalyze.analysis import reports as R
from mmsanalyze.analysis.errors import errors_table
from mmsanalyze.analysis.traffic import TrafficCounter
from mmsanalyze.analysis.transactions import match_transactions, transactions_table
from mmsanalyze.mms import MmsPdu
from mmsanalyze.pipeline import P_GOOSE, P_MMS, P_TCP102
from mmsanalyze.records import OsiEvent, PduRecord

REQ, RSP, ERR, REJ = "confirmed-RequestPDU", "confirmed-ResponsePDU", "confirmed-ErrorPDU", "rejectPDU"


def rec(frame, d, pdu, service=None, iid=None, *, variables=(), error=None, results=None, detail=None,
        raw=None, stream=0, t=None):
    m = MmsPdu(pdu, service, iid, tuple(variables), error, results, detail or {pdu: {}}, 0)
    ends = (("10.0.0.1", 40000), ("10.0.0.2", 102))
    (src, sport), (dst, dport) = ends if d == 0 else ends[::-1]
    return PduRecord(frame, 1000.0 + frame / 1000 if t is None else t, stream, d, src, sport, dst, dport,
                     pdu, service, iid, raw if raw is not None else b"f%d" % frame, "pres", None, _decoded=m)


def table(recs):
    return transactions_table(match_transactions(recs))


# ---------------------------------------------------------------------------------
# transactions
# ---------------------------------------------------------------------------------

def test_invoke_id_reuse_matches_oldest_outstanding_first():
    t = table([rec(1, 0, REQ, "read", 1, raw=b"a"), rec(2, 0, REQ, "read", 1, raw=b"b"),
               rec(3, 1, RSP, "read", 1, results=(5,)), rec(4, 1, RSP, "read", 1, results=(6,))])
    assert t[["request_frame", "response_frame"]].values.tolist() == [[1, 3], [2, 4]]
    assert (t["status"] == "ok").all()
    assert t["latency_ms"].round(6).tolist() == [2.0, 2.0]


def test_invoke_id_reused_after_completion():
    t = table([rec(1, 0, REQ, "read", 7), rec(2, 1, RSP, "read", 7), rec(3, 0, REQ, "write", 7),
               rec(4, 1, RSP, "write", 7, results=("success",))])
    assert t["service"].tolist() == ["read", "write"]
    assert t["response_frame"].tolist() == [2, 4]


def test_duplicated_request_and_response_are_counted_once():
    t = table([rec(1, 0, REQ, "read", 5, raw=b"same"), rec(2, 0, REQ, "read", 5, raw=b"same"),
               rec(3, 1, RSP, "read", 5, raw=b"ans"), rec(4, 1, RSP, "read", 5, raw=b"ans")])
    assert len(t) == 1
    assert t.loc[0, "duplicates"] == 2
    assert t.loc[0, "response_frame"] == 3


def test_response_without_request():
    t = table([rec(9, 1, ERR, None, 42, error={"class": "access", "code": "object-non-existent"})])
    row = t.iloc[0]
    assert row["request_missing"] and pd.isna(row["request_frame"]) and pd.isna(row["latency_ms"])
    assert row["status"] == "error" and row["error_code"] == "access/object-non-existent"
    assert row["requester"] == "client"


def test_server_initiated_requests_do_not_clash_with_client_ones():
    # obtainFile (client iid 1) makes the server send fileOpen with its own iid 1
    t = table([rec(1, 0, REQ, "obtainFile", 1), rec(2, 1, REQ, "fileOpen", 1), rec(3, 0, RSP, "fileOpen", 1),
               rec(4, 1, RSP, "obtainFile", 1)])
    got = {(r.service, r.requester): (r.request_frame, r.response_frame) for r in t.itertuples()}
    assert got == {("obtainFile", "client"): (1, 4), ("fileOpen", "server"): (2, 3)}


def test_data_access_error_status_and_first_code():
    t = table([rec(1, 0, REQ, "read", 3, variables=("D/a", "D/b", "D/c")),
               rec(2, 1, RSP, "read", 3, results=(1, {"failure": "object-access-denied"},
                                                    {"failure": "object-non-existent"}))])
    row = t.iloc[0]
    assert (row["status"], row["error_kind"], row["error_code"], row["failed_items"]) == \
        ("error", "data-access-error", "object-access-denied", 2)
    assert row["item_errors"] == ["D/b: object-access-denied", "D/c: object-non-existent"]


def test_reject_cancel_unanswered():
    recs = [rec(1, 0, REQ, "fileRename", 1),
            rec(2, 1, REJ, None, 1, error={"class": "confirmed-requestPDU", "code": "unrecognized-service",
                                           "original_invoke_id": 1}),
            rec(3, 0, REQ, "read", 2), rec(4, 0, "cancel-RequestPDU", None, 2), rec(5, 1, "cancel-ResponsePDU", None, 2),
            rec(6, 1, ERR, None, 2, error={"class": "service-preempt", "code": "cancel"}),
            rec(7, 0, REQ, "identify", 3)]
    t = table(recs)
    st = dict(zip(t["invoke_id"], zip(t["status"], t["error_code"].fillna(""))))
    assert st[1] == ("rejected", "confirmed-requestPDU/unrecognized-service")
    assert st[2] == ("cancelled", "service-preempt/cancel")
    assert st[3] == ("unanswered", "")
    assert t.loc[t["invoke_id"] == 2, "cancel_frame"].iloc[0] == 4
    errs = errors_table(recs, [], match_transactions(recs))
    assert errs["kind"].tolist() == ["reject", "service-error"]
    assert errs.loc[0, "service"] == "fileRename"


def test_streams_are_separate():
    t = table([rec(1, 0, REQ, "read", 1, stream=0), rec(2, 0, REQ, "read", 1, stream=1),
               rec(3, 1, RSP, "read", 1, stream=1), rec(4, 1, RSP, "read", 1, stream=0)])
    assert dict(zip(t["stream"], t["response_frame"])) == {0: 4, 1: 3}


# ---------------------------------------------------------------------------------
# reports
# ---------------------------------------------------------------------------------

def report(frame, items, stream=0):
    """An RPT InformationReport from ``(alternative, plain value)`` items."""
    typed = [{alt: v} for alt, v in items]
    plain = tuple(v for _, v in items)
    detail = {"unconfirmed-PDU": {"unconfirmedService": {"informationReport": {"listOfAccessResult": typed}}}}
    return rec(frame, 1, "unconfirmed-PDU", "informationReport", variables=("RPT",), results=plain,
               detail=detail, stream=stream)


def bits(*on, n):
    return {"bits": "".join("1" if i in on else "0" for i in range(n))}


def test_report_every_optional_field():
    of = bits(1, 2, 3, 4, 5, 6, 7, 8, 9, n=10)
    items = [("visible-string", "RID"), ("bit-string", of), ("unsigned", 17),
             ("binary-time", {"epoch": 1.5e9, "ms_of_day": 0, "days": 1}), ("visible-string", "LD/LLN0$DS"),
             ("boolean", False), ("octet-string", "0011223344556677"), ("unsigned", 3), ("unsigned", 0),
             ("boolean", False), ("bit-string", bits(1, 3, n=4)), ("visible-string", "LD/X$ST$a"),
             ("visible-string", "LD/X$ST$b"), ("boolean", True), ("integer", 5),
             ("bit-string", bits(1, n=7)), ("bit-string", bits(4, 5, n=7))]
    r = R.decode_report(report(1, items).decoded())
    assert r["malformed"] is None
    assert r["opt_flds"] == list(R.OPT_FLDS[1:])
    assert (r["rpt_id"], r["seq_num"], r["time_of_entry"], r["dataset"], r["buf_ovfl"], r["entry_id"],
            r["conf_rev"], r["sub_seq_num"], r["more_segments_follow"]) == \
        ("RID", 17, 1.5e9, "LD/LLN0$DS", False, "0011223344556677", 3, 0, False)
    assert r["member_index"] == [1, 3] and r["data_refs"] == ["LD/X$ST$a", "LD/X$ST$b"]
    assert r["values"] == [True, 5]
    assert r["reason_codes"] == [["data-change"], ["integrity", "general-interrogation"]]
    assert r["reasons"] == ["data-change", "integrity", "general-interrogation"]


def test_report_minimal_and_malformed():
    r = R.decode_report(report(1, [("visible-string", "R"), ("bit-string", bits(n=10)),
                                   ("bit-string", bits(0, n=2)), ("integer", 1)]).decoded())
    assert r["malformed"] is None and r["values"] == [1] and r["seq_num"] is None
    bad = R.decode_report(report(1, [("visible-string", "R"), ("bit-string", bits(1, n=10)),
                                     ("visible-string", "not a seqnum"), ("bit-string", bits(0, n=1)),
                                     ("integer", 1)]).decoded())
    assert "expected unsigned" in bad["malformed"]
    short = R.decode_report(report(1, [("visible-string", "R"), ("bit-string", bits(n=10)),
                                       ("bit-string", bits(0, 1, n=2)), ("integer", 1)]).decoded())
    assert "end at item" in short["malformed"]


def test_segmented_reports_are_reassembled():
    def seg(frame, seq, sub, more, value):
        return report(frame, [("visible-string", "R"), ("bit-string", bits(1, 9, n=10)), ("unsigned", seq),
                              ("unsigned", sub), ("boolean", more), ("bit-string", bits(0, n=1)),
                              ("integer", value)])
    recs = [seg(1, 4, 0, True, 10), seg(2, 4, 1, True, 11), seg(3, 4, 2, False, 12),   # complete
            seg(4, 5, 1, False, 13),                                                   # first segment lost
            seg(5, 6, 0, True, 14)]                                                    # last segment lost
    rep = R.reports_table(recs)
    assert len(rep) == 5
    whole = R.reassemble(rep)
    assert whole["seq_num"].tolist() == [4, 5, 6]
    assert whole["segments"].tolist() == [3, 1, 1]
    assert whole["complete"].tolist() == [True, False, False]
    assert whole["values"].iloc[0] == [10, 11, 12]
    assert whole["frames"].iloc[0] == [1, 2, 3]
    cad = R.report_cadence(whole)
    assert cad.loc[0, "segmented"] == 1 and cad.loc[0, "incomplete"] == 2 and cad.loc[0, "pdus"] == 5


def test_special_information_reports_are_not_reports():
    lae = rec(1, 1, "unconfirmed-PDU", "informationReport", variables=("LastApplError",),
              results=(["D/CSWI1$CO$Pos$Oper", 0, [3, "ab"], 7, 18],))
    term = rec(2, 1, "unconfirmed-PDU", "informationReport", variables=("D/CSWI1$CO$Pos$Oper",), results=([True],))
    assert [R.report_kind(r.decoded()) for r in (lae, term)] == ["last-appl-error", "command-termination"]
    assert len(R.reports_table([lae, term])) == 0
    e = errors_table([lae, term], [], [])
    assert e[["kind", "error_class", "error_code", "object"]].values.tolist() == \
        [["last-appl-error", "no-error", "object-not-selected", "D/CSWI1$CO$Pos$Oper"]]


@pytest.mark.parametrize("seqs,mod,want", [
    ([1, 2, 3], 256, (0, 0, 0, 0)),
    ([1, 2, 5, 6], 256, (1, 2, 0, 0)),
    ([1, 2, 2, 3], 256, (0, 0, 1, 0)),
    ([254, 255, 0, 1], 256, (0, 0, 0, 0)),         # 8-bit wrap
    ([254, 255, 2], 256, (1, 2, 0, 0)),            # wrap with two lost
    ([200, 201, 0, 1], 256, (0, 0, 0, 1)),         # RCB re-enabled: restart
    ([65534, 65535, 0], 65536, (0, 0, 0, 0)),      # 16-bit wrap
])
def test_seq_health(seqs, mod, want):
    assert R.seq_health(seqs, mod) == want


# ---------------------------------------------------------------------------------
# traffic
# ---------------------------------------------------------------------------------

def test_traffic_counter_and_reclassify():
    t = TrafficCounter()
    t.add(10.2, 100, P_TCP102, "10.0.0.1")
    t.reclassify_last(P_MMS)
    t.add(10.7, 60, P_TCP102, "10.0.0.2")
    t.add(11.1, 200, P_GOOSE, b"\x00\x01\x02\x03\x04\x05")
    tab = t.table().set_index("protocol")
    assert tab.loc["mms", "bytes"] == 100 and tab.loc["iso-tcp", "frames"] == 1 and tab.loc["goose", "bytes"] == 200
    assert abs(tab["byte_share"].sum() - 1) < 1e-12
    assert tab.loc["goose", "bits_per_s"] == pytest.approx(200 * 8 / 0.9)
    sec = t.per_second_table()
    assert sec[["second", "protocol", "bytes"]].values.tolist() == [[10, "mms", 100], [10, "iso-tcp", 60],
                                                                    [11, "goose", 200]]
    src = t.per_source_table()
    assert src["source"].tolist()[0] == "00:01:02:03:04:05"


# ---------------------------------------------------------------------------------
# associations
# ---------------------------------------------------------------------------------

def ev(frame, d, layer, name, detail=None, stream=0):
    return OsiEvent(frame, 1000.0 + frame / 1000, stream, d, layer, name, detail or {})


@pytest.mark.parametrize("events,pdus,end,by", [
    ([ev(9, 0, "acse", "rlrq"), ev(10, 1, "acse", "rlre"), ev(11, 1, "tcp", "fin")],
     [rec(7, 0, "conclude-RequestPDU"), rec(8, 1, "conclude-ResponsePDU")], "conclude+release", "client"),
    ([ev(9, 1, "ses", "AB"), ev(9, 1, "acse", "abrt"), ev(10, 0, "tcp", "rst")], [], "abort", "server"),
    ([ev(9, 1, "tcp", "rst"), ev(10, 0, "tcp", "fin")], [], "rst", "server"),
    ([ev(9, 0, "tcp", "fin"), ev(10, 1, "tcp", "rst")], [], "fin", "client"),
    ([ev(9, 0, "acse", "rlrq")], [], "release", "client"),
    ([], [rec(7, 0, "conclude-RequestPDU"), rec(8, 1, "conclude-ResponsePDU")], "conclude", "client"),
    ([], [rec(7, 0, REQ, "read", 1)], "open", None),
])
def test_association_end(events, pdus, end, by):
    a = A.associations_table(pdus, events)
    assert a.loc[0, "end"] == end
    if by:
        assert a.loc[0, "end_by"] == by
    else:
        assert pd.isna(a.loc[0, "end_by"])


def test_password_in_clear_and_initiate_parameters():
    aarq = {"mechanism-name": "2.2.3.1", "mechanism": "password", "authentication-kind": "charstring",
            "calling-authentication-value": "secret", "calling-AP-title": "1.1.1.999"}
    init = {"initiate-RequestPDU": {"localDetailCalling": 65000, "proposedMaxServOutstandingCalling": 5,
                                    "initRequestDetail": {"proposedVersionNumber": 1,
                                                          "servicesSupportedCalling": ["read", "write"]}}}
    resp = {"initiate-ResponsePDU": {"localDetailCalled": 32000, "negotiatedMaxServOutstandingCalling": 3,
                                     "initResponseDetail": {"negotiatedVersionNumber": 1,
                                                            "servicesSupportedCalled": ["read"]}}}
    pdus = [rec(3, 0, "initiate-RequestPDU", detail=init), rec(4, 1, "initiate-ResponsePDU", detail=resp)]
    a = A.associations_table(pdus, [ev(3, 0, "acse", "aarq", aarq), ev(4, 1, "acse", "aare", {"result": "accepted"})])
    row = a.iloc[0]
    assert row["password_in_clear"] and row["acse_mechanism"] == "password" and row["auth_kind"] == "charstring"
    assert "secret" not in " ".join(str(v) for v in row.values)           # never the password itself
    assert (row["max_pdu_size_calling"], row["max_pdu_size_called"], row["max_serv_outstanding_calling"]) == \
        (65000, 32000, 3)
    assert row["services_calling"] == ["read", "write"] and row["services_called"] == ["read"]
    assert row["initiate"] == "accepted" and row["calling_ap_title"] == "1.1.1.999"
    # certificate-based authentication sends no password in clear
    cert = dict(aarq, **{"mechanism": "certificate-based", "authentication-kind": "external"})
    assert not A.associations_table([], [ev(3, 0, "acse", "aarq", cert)]).loc[0, "password_in_clear"]


def test_rejected_association():
    aare = {"result": "rejected-permanent", "result-source-diagnostic": {"acse-service-user": "authentication-failure"}}
    events = [ev(3, 0, "acse", "aarq"), ev(4, 1, "acse", "aare", aare)]
    a = A.associations_table([rec(3, 0, "initiate-RequestPDU")], events)
    assert a.loc[0, "initiate"] == "refused"
    e = errors_table([], events, [])
    assert e[["kind", "error_class", "error_code"]].values.tolist() == \
        [["initiate-error", "acse", "rejected-permanent/authentication-failure"]]


# ---------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------

def _transfer(name, data=b"x", complete=True):
    t = F.Transfer(0, 0, name)
    t.frsm, t.chunks, t.more = 1, [data], not complete
    return t


@pytest.mark.parametrize("name,ok", [
    ("COMTRADE/REC_1.cfg", True), ("a\\b.txt", True), ("./x", True),
    ("../evil", False), ("a/../../evil", False), ("/etc/passwd", False), ("\\evil", False),
    ("C:\\Windows\\x", False), ("//server/share/x", False), ("bad\x00name", False), ("", False), ("/", False),
])
def test_safe_relative_path(name, ok):
    parts, why = F.safe_relative_path(name)
    assert (parts is not None) == ok, why


def test_extract_never_writes_outside(tmp_path):
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    os.symlink(outside, out / "link")                       # a symlinked directory inside DIR
    os.symlink(outside / "target", out / "file_link")       # a symlink where a file would go
    transfers = [_transfer("ok/a.txt", b"A"), _transfer("../escape", b"E"), _transfer("/abs", b"B"),
                 _transfer("link/x", b"L"), _transfer("file_link", b"F"), _transfer("part", b"P", complete=False),
                 _transfer("ok/a.txt", b"A"), _transfer("ok/a.txt", b"other")]
    res = F.extract(transfers, out)
    notes = [n for _, _, n in res]
    assert notes[0] == "written" and (out / "ok" / "a.txt").read_bytes() == b"A"
    assert notes[1].startswith("refused") and notes[2].startswith("refused")
    assert notes[3].startswith("refused") and notes[4].startswith("refused")
    assert notes[5] == "incomplete" and notes[6] == "duplicate" and notes[7] == "written"
    assert (out / "ok" / "a.txt.1").read_bytes() == b"other"
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "escape").exists()
    # --strip-root maps the filestore root onto DIR
    res = F.extract([_transfer("/abs/f", b"B")], out, strip_root=True)
    assert res[0][2] == "written" and (out / "abs" / "f").read_bytes() == b"B"


def test_generalized_time():
    assert F.generalized_time("20201104113214.000Z") == 1604489534.0
    assert F.generalized_time("20201104113214.5+0100") == 1604489534.5 - 3600
    assert F.generalized_time("garbage") is None
