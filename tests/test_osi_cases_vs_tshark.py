"""Constructed cases, each written as a pcap and decoded by tshark and by mmsanalyze:

* indefinite-length BER (X.690 8.1.3.6) in presentation, ACSE and MMS of a whole
  association, and in GOOSE and SV;
* a refused association at each layer: session RF carrying a CPR with an AARE-
  (authentication-failure), a CPR with a provider reason, COTP DR "address unknown",
  COTP ER, a TCP RST answering the SYN;
* plain user data on COTP (not a session SPDU);
* GOOSE leniency: sqNum ``86 02 ff ff`` at the wrap, a truncated frame, an unknown
  member, a missing allData; a truncated SV frame;
* the crafted segment ``03 00 00 0c 02 f0 80 0d 03 c1 01 31`` that once crashed ``pdus``.

tshark is the reference for what each frame holds; the association / error tables
must say what happened.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys

import pandas as pd
import pytest

import osi_build as B
from tshark_ref import TSHARK, tshark_mms
from mmsanalyze import read_capture

pytestmark = pytest.mark.skipif(shutil.which(TSHARK) is None and not __import__("os").path.exists(TSHARK),
                                reason="tshark not installed")

READ_VARS = ("LD0/LLN0$ST$Mod$stVal", "LD0/MMXU1$MX$TotW$mag$f")


def fields(path, *names, dfilter=None) -> list[dict]:
    """One dict per frame (matching ``dfilter``) of tshark's values for ``names``."""
    args = [TSHARK, "-n", "-r", str(path), "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
            "-E", "aggregator=,", "-e", "frame.number"]
    for n in names:
        args += ["-e", n]
    if dfilter:
        args += ["-Y", dfilter]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        cols = line.split("|")
        rows.append(dict(zip(("frame",) + names, cols)))
    return rows


def ours_mms(path) -> list[tuple]:
    t = read_capture(str(path)).pdus()
    return [(int(r.frame), _v(r.pdu), _v(r.service), None if _v(r.invoke_id) is None else int(r.invoke_id),
             list(r.variables or [])) for r in t.itertuples()]


def _v(x):
    return None if x is None or pd.isna(x) else x


def theirs_mms(path) -> list[tuple]:
    return [(p["frame"], p["pdu"], p["service"], p["invoke_id"], list(p["variables"]))
            for p in tshark_mms(str(path))]


def full_association(conv, encode=lambda b: b) -> B.Conversation:
    """A whole association with every BER element passed through ``encode``."""
    B.association(conv,
                  connect=B.cn(encode(B.cp(B.aarq(B.initiate_request())))),
                  accept=B.ac(encode(B.cpa(B.aare(0, 0, B.initiate_response())))))
    conv.send(0, B.dt(B.gt_dt(encode(B.td(3, B.read_request(1, *READ_VARS))))))
    conv.send(1, B.dt(B.gt_dt(encode(B.td(3, B.read_response(1, {"integer": 1},
                                                                {"floating-point": 1.5}))))))
    conv.send(0, B.dt(B.gt_dt(B.td(3, encode(B.read_request(2, READ_VARS[0]))))))   # MMS alone
    # Mod on (1): a Mod of 3 (test) would rightly give an "IED left in test" finding
    conv.send(1, B.dt(B.gt_dt(B.td(3, encode(B.read_response(2, {"integer": 1}))))))
    return conv.fin()


# -- indefinite lengths ---------------------------------------------------------------------------

def test_indefinite_lengths_everywhere_decode_like_tshark(tmp_path):
    p = full_association(B.Conversation().handshake(), B.indefinite).write(tmp_path / "indef.pcap")
    ref = full_association(B.Conversation().handshake()).write(tmp_path / "def.pcap")
    theirs = theirs_mms(p)
    # tshark decodes all six MMS PDUs of the indefinite-length association ...
    assert [t[1] for t in theirs] == ["initiate-RequestPDU", "initiate-ResponsePDU", "confirmed-RequestPDU",
                                     "confirmed-ResponsePDU", "confirmed-RequestPDU", "confirmed-ResponsePDU"]
    # ... as we do, field for field, and exactly as the definite-length twin
    assert ours_mms(p) == theirs
    assert ours_mms(ref) == theirs
    cap = read_capture(p)
    a = cap.associations().iloc[0]
    assert (a.end, a.initiate, a.aare_result, a.application_context) == \
        ("fin", "accepted", "accepted", B.MMS_CONTEXT)
    assert a.requests == 2
    tx = cap.transactions()
    assert list(tx["status"]) == ["ok", "ok"] and not tx["request_missing"].any()
    assert not [f for f in cap.findings().itertuples() if f.severity != "note"]
    first = cap.pdus(detail=True)
    assert first.iloc[3]["access_results"] == [1, 1.5]


def test_unclosed_indefinite_length_is_a_finding_not_a_crash(tmp_path):
    pdu = B.indefinite(B.read_request(1, READ_VARS[0]))[:-2]          # last 00 00 missing
    conv = B.association(B.Conversation().handshake())
    conv.send(0, B.dt(B.gt_dt(B.td(3, pdu)))).fin()
    p = conv.write(tmp_path / "cut.pcap")
    cap = read_capture(p)
    bad = [f for f in cap.findings().itertuples() if f.severity == "error"]
    assert bad and "end-of-contents" in bad[0].message
    t = cap.pdus()
    assert t.iloc[-1]["malformed"] and t.iloc[-1]["pdu"] == "confirmed-RequestPDU"


# -- refused associations ------------------------------------------------------------------------

def _assoc(path):
    """Our capture, its one association row and its errors -- after checking that tshark and
    we find the same MMS PDUs (type, service, invokeID, variables, frame) in it."""
    assert ours_mms(path) == theirs_mms(path)
    cap = read_capture(str(path))
    return cap, cap.associations().iloc[0], cap.errors()


def test_session_refuse_with_aare_authentication_failure(tmp_path):
    conv = B.association(B.Conversation().handshake(), password="secret",
                         accept=B.rf(2, B.cpr(B.aare(1, 13))))
    p = conv.fin().write(tmp_path / "rf.pcap")
    t = fields(p, "ses.type", "ses.reason_code", "acse.result", "acse.service_user", dfilter="ses")
    refuse = [r for r in t if r["ses.type"] == "12"]
    assert len(refuse) == 1
    assert (refuse[0]["ses.reason_code"], refuse[0]["acse.result"], refuse[0]["acse.service_user"]) == \
        ("2", "1", "13")
    cap, a, errs = _assoc(p)
    assert (a.end, a.end_by, int(a.end_frame), a.initiate) == ("refused", "server", int(refuse[0]["frame"]),
                                                             "refused")
    assert a.end_reason == "acse: AARE rejected-permanent (authentication-failure)"
    assert a.password_in_clear
    assert list(errs["kind"]) == ["initiate-error"]
    assert errs.iloc[0]["error_code"] == "rejected-permanent/authentication-failure"
    assert errs.iloc[0]["sender"] == "server"
    # tshark shows no MMS in the refusal, neither do we
    assert [x[1] for x in theirs_mms(p)] == [x[1] for x in ours_mms(p)] == ["initiate-RequestPDU"]


def test_presentation_cpr_provider_reason(tmp_path):
    conv = B.association(B.Conversation().handshake(), accept=B.rf(2, B.cpr(provider_reason=3)))
    p = conv.fin().write(tmp_path / "cpr.pcap")
    t = [r for r in fields(p, "pres.provider_reason", dfilter="pres") if r["pres.provider_reason"]]
    assert [r["pres.provider_reason"] for r in t] == ["3"]        # called-presentation-address-unknown
    cap, a, errs = _assoc(p)
    assert (a.end, a.end_by, int(a.end_frame)) == ("refused", "server", int(t[0]["frame"]))
    assert a.end_reason == "pres: CPR called-presentation-address-unknown"
    assert list(zip(errs["kind"], errs["error_class"], errs["error_code"])) == \
        [("refused", "pres", "called-presentation-address-unknown")]


def test_session_refuse_without_user_data(tmp_path):
    conv = B.association(B.Conversation().handshake(), accept=B.rf(129))
    p = conv.fin().write(tmp_path / "rf129.pcap")
    t = [r for r in fields(p, "ses.type", "ses.reason_code", dfilter="ses") if r["ses.type"] == "12"]
    assert [r["ses.reason_code"] for r in t] == ["129"]            # Session Selector unknown
    cap, a, errs = _assoc(p)
    assert (a.end, a.end_reason) == ("refused", "ses: RF session-selector-unknown")
    assert list(zip(errs["kind"], errs["error_class"], errs["error_code"])) == \
        [("refused", "ses", "session-selector-unknown")]


@pytest.mark.parametrize("tpdu,tshark_field,value,reason", [
    (B.dr(3), "cotp.cause", "3", "cotp: DR address-unknown"),
    (B.er(2), "cotp.reject_cause", "2", "cotp: ER invalid-tpdu-type"),
])
def test_cotp_refusal(tmp_path, tpdu, tshark_field, value, reason):
    conv = B.Conversation().handshake().send(0, B.cr()).send(1, tpdu)
    p = conv.fin().write(tmp_path / "cotp.pcap")
    t = [r for r in fields(p, "cotp.type", tshark_field, dfilter="cotp") if r[tshark_field]]
    assert [r[tshark_field] for r in t] == [value]
    cap, a, errs = _assoc(p)
    assert (a.end, a.end_by, int(a.end_frame), a.end_reason) == ("refused", "server", int(t[0]["frame"]), reason)
    assert list(zip(errs["kind"], errs["error_class"])) == [("refused", "cotp")]
    assert errs.iloc[0]["error_code"] == reason.split(" ", 2)[2]


def test_cotp_disconnect_after_cc_is_not_a_refusal(tmp_path):
    conv = B.association(B.Conversation().handshake()).send(1, B.dr(128))
    p = conv.fin().write(tmp_path / "dr.pcap")
    cap, a, errs = _assoc(p)
    assert a.end == "fin" and not len(errs)


def test_tcp_rst_answering_syn(tmp_path):
    p = B.Conversation().syn().rst(1).write(tmp_path / "rst.pcap")
    t = fields(p, "tcp.flags.syn", "tcp.flags.reset", "tcp.flags.ack")
    assert [(r["tcp.flags.syn"], r["tcp.flags.reset"]) for r in t] == [("1", "0"), ("0", "1")]
    cap, a, errs = _assoc(p)
    assert (a.end, a.end_by, a.end_frame, a.tcp_close, a.handshake) == ("refused", "server", 2, "rst", True)
    assert a.end_reason == "tcp: RST answering the SYN"
    assert list(zip(errs["kind"], errs["error_class"], errs["error_code"])) == \
        [("refused", "tcp", "connection-refused")]


def test_rst_after_data_is_not_a_refusal(tmp_path):
    p = B.association(B.Conversation().handshake()).rst(1).write(tmp_path / "rst2.pcap")
    cap, a, errs = _assoc(p)
    assert a.end == "rst" and pd.isna(a.end_reason) and not len(errs)


def test_summary_names_the_refusal(tmp_path):
    conv = B.association(B.Conversation().handshake(), accept=B.rf(2, B.cpr(B.aare(1, 13))))
    p = conv.fin().write(tmp_path / "rf.pcap")
    out = subprocess.run([sys.executable, "-m", "mmsanalyze", "summary", p], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    wrong = out.stdout.split("What is wrong", 1)[1]
    assert "refused by the server: acse: AARE rejected-permanent (authentication-failure)" in wrong


# -- non-session data over COTP ------------------------------------------------------------------

def test_plain_user_data_on_cotp_is_not_a_malformed_session(tmp_path):
    s7 = bytes.fromhex("32010000000000080000f0000001000101e0")        # S7comm setup communication
    conv = B.Conversation().handshake().send(0, B.cr()).send(1, B.cc()).send(0, B.dt(s7))
    conv.send(0, B.dt(b"\xff\x00hello"))
    p = conv.fin().write(tmp_path / "data.pcap")
    protos = {r["frame"]: r["frame.protocols"] for r in fields(p, "frame.protocols")}
    assert "ses" not in protos["6"] and "ses" not in protos["7"]    # tshark: not session either
    cap = read_capture(p)
    f = cap.findings()
    assert not [x for x in f.itertuples() if x.layer in ("ses", "pres") or x.severity == "error"]
    assert list(f["code"]).count("cotp.non_session_data") == 1
    assert len(cap.pdus()) == 0


# -- the crafted segment ----------------------------------------------------------------------------

def test_crafted_segment_is_a_finding(tmp_path):
    p = B.Conversation().raw(0, bytes.fromhex("0300000c02f0800d03c10131")).write(tmp_path / "crafted.pcap")
    for cmd in ("pdus", "summary"):
        out = subprocess.run([sys.executable, "-m", "mmsanalyze", cmd, p, *(["--findings"] if cmd == "pdus" else [])],
                             capture_output=True, text=True)
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    f = read_capture(p).findings()
    assert [(x.frame, x.severity) for x in f.itertuples() if x.severity == "error"] == [(1, "error")]
    # tshark, too, sees a session CONNECT whose one octet of presentation user data is no
    # PPDU ("user-data: Unknown (49)", the octet left as Data); we say it in an error finding
    t = fields(p, "ses.type", "data.data")
    assert (t[0]["ses.type"], t[0]["data.data"]) == ("13", "31")


# -- GOOSE and SV ---------------------------------------------------------------------------------------

def _l2_pcap(path, frames) -> str:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 100 + i, 0, len(fr), len(fr)) + fr)
    return str(path)


def _goose_with(pdu_body_fix):
    from test_goose_decode import goose_pdu
    from ber_encode import tlv
    p = goose_pdu()
    body = p[2:] if p[1] < 0x80 else p[2 + (p[1] & 0x7F):]
    return tlv(0x61, pdu_body_fix(body))


GOOSE_TSHARK = ("goose.gocbRef", "goose.timeAllowedtoLive", "goose.datSet", "goose.goID", "goose.stNum",
                "goose.sqNum", "goose.confRev", "goose.numDatSetEntries", "_ws.malformed", "_ws.expert")
OURS = ("gocb_ref", "time_allowed_to_live", "dat_set", "go_id", "st_num", "sq_num", "conf_rev",
        "num_dat_set_entries")


def _goose_rows(tmp_path, frames):
    p = _l2_pcap(tmp_path / "g.pcap", frames)
    from mmsanalyze import read_capture as rc
    cap = rc(p)
    return fields(p, *GOOSE_TSHARK), cap.goose(), cap.findings()


def _same_fields(theirs, ours):
    for t, o in zip(theirs, OURS):
        v = ours[o]
        v = "" if v is None or pd.isna(v) else str(int(v)) if not isinstance(v, str) else v
        assert t == v, (o, t, v)


def test_goose_cases_against_tshark(tmp_path):
    from test_goose_decode import frame, goose_pdu
    from ber_encode import tlv
    frames = [
        frame(_goose_with(lambda b: b.replace(b"\x86\x01\x07", b"\x86\x02\xff\xff"))),   # sqNum wrap
        frame(goose_pdu(), length=400)[:60],                                            # cut frame
        frame(goose_pdu(extra=tlv(0x8D, b"\x00"))),                                     # unknown member
        frame(goose_pdu(skip=(0xAB,))),                                                 # no allData
        frame(B.indefinite(goose_pdu())),                                               # indefinite
    ]
    theirs, ours, findings = _goose_rows(tmp_path, frames)
    assert len(theirs) == len(ours) == 5
    for t, (_, o) in zip(theirs, ours.iterrows()):
        _same_fields([t[n] for n in GOOSE_TSHARK[:8]], o)
    # 1: 65535 as tshark shows it, a note, the rest decoded
    assert ours.iloc[0].sq_num == 65535 and not ours.iloc[0].malformed and ours.iloc[0]["values"] == [True, -4]
    notes = [f for f in findings.itertuples() if f.frame == 1]
    assert [(f.code, f.severity) for f in notes] == [("goose.note.unsigned_high_bit", "note")]
    assert not theirs[0]["_ws.malformed"]
    # 2: the fields before the cut are kept (tshark shows the same ones), and it is malformed for both
    assert ours.iloc[1].malformed and ours.iloc[1].gocb_ref == "IED/LLN0$GO$gcb" and theirs[1]["_ws.malformed"]
    # 3: tshark warns "field lies beyond the end of the known sequence definition"; so do we, and go on
    assert "beyond the end" in theirs[2]["_ws.expert"]
    w = [(f.code, f.severity) for f in findings.itertuples() if f.frame == 3]
    assert w == [("goose.malformed.unknown_tag", "warning")] and not ours.iloc[2].malformed
    # 4: tshark's BER sequence check does not flag a missing trailing member; IEC 61850-8-1
    #    Annex A makes allData mandatory, so we do (an error finding, every other field kept)
    assert not theirs[3]["_ws.expert"] and ours.iloc[3].malformed and "all_data" in ours.iloc[3].error
    # 5: indefinite lengths: every field and the values, no finding
    assert not ours.iloc[4].malformed and ours.iloc[4]["values"] == [True, -4] and not theirs[4]["_ws.malformed"]
    assert not [f for f in findings.itertuples() if f.frame == 5]


def test_sv_cases_against_tshark(tmp_path):
    from test_sv_decode import asdu, frame, sav
    frames = [frame(sav([asdu(cnt=7), asdu(cnt=8)])),
              frame(B.indefinite(sav([asdu(cnt=9), asdu(cnt=10)]))),
              frame(sav([asdu(cnt=11), asdu(cnt=12)]))[:-80]]            # cut inside the 2nd ASDU
    p = _l2_pcap(tmp_path / "sv.pcap", frames)
    theirs = fields(p, "sv.smpCnt", "sv.svID", "_ws.malformed")
    cap = read_capture(p)
    ours = cap.sv()
    got = {}
    for r in ours.itertuples():
        got.setdefault(int(r.frame), []).append("" if r.smp_cnt != r.smp_cnt or r.smp_cnt is None
                                                else str(int(r.smp_cnt)))
    for t in theirs:
        assert [c for c in t["sv.smpCnt"].split(",") if c] == [c for c in got[int(t["frame"])] if c], t
    assert got[2] == ["9", "10"]
    assert theirs[2]["_ws.malformed"] and bool(ours[ours.frame == 3]["malformed"].all())
    assert got[3][0] == "11"                     # the ASDU before the cut is kept
