"""Per-layer byte vectors: BER read_header / definite_tlv, COTP parse_tpdu, session
parse_spdus, presentation parse_ppdu / parse_user_data, ACSE parse_acse.

Expected values come from the standards' layouts (X.690, ISO 8073 13, ISO 8327-1 8,
X.226 8, X.227 7), written out by hand or built by the test-side encoder (osi_build).
"""

from __future__ import annotations

import pytest

import ber_encode as E
import osi_build as B
from mmsanalyze.ber import (IndefiniteLength, children_clamped, ctx, definite_tlv, read_header,
                            read_header_lenient)
from mmsanalyze.errors import DecodeError, Malformed, Truncated
from mmsanalyze.osi.acse import parse_acse
from mmsanalyze.osi.cotp import CotpReassembler, parse_tpdu, reason_name
from mmsanalyze.osi.presentation import ACSE_OID, MMS_OID, parse_ppdu, parse_user_data
from mmsanalyze.osi.session import looks_like_session, parse_spdus


# -- BER (X.690 8.1) --------------------------------------------------------------------------------

@pytest.mark.parametrize("buf,expect", [
    (b"\x02\x01\x05", (0x02, 2, 3)),                                   # INTEGER 5
    (b"\x30\x00", (0x30, 2, 2)),                                       # empty SEQUENCE
    (b"\x9f\x49\x01\xff", (ctx(73), 3, 4)),                            # [73] high-tag form
    (b"\xbf\x81\x00\x00", (ctx(128, True), 4, 4)),                     # [128] two tag octets
    (b"\x04\x81\x80" + bytes(128), (0x04, 3, 131)),                    # long form, one octet
    (b"\x04\x82\x01\x00" + bytes(256), (0x04, 4, 260)),                # long form, two octets
    (b"\x04\x81\x05" + bytes(5), (0x04, 3, 8)),                        # non-minimal long form
])
def test_read_header(buf, expect):
    assert read_header(buf, 0, len(buf)) == expect


@pytest.mark.parametrize("buf,err,code", [
    (b"", Truncated, None),
    (b"\x30", Truncated, None),                                         # no length octet
    (b"\x1f", Truncated, None),                                         # tag number cut
    (b"\x1f\x81", Truncated, None),
    (b"\x1f\x81\x81\x81\x81\x01\x00", Malformed, None),                 # tag number > 4 octets
    (b"\x04\x85\x00\x00\x00\x00\x01", Malformed, "ber.malformed.length"),
    (b"\x04\x82\x01", Truncated, None),                                 # length octets cut
    (b"\x30\x05\x02\x01", Truncated, "ber.truncated.length"),
    (b"\x30\x80\x00\x00", IndefiniteLength, "ber.malformed.indefinite_length"),
])
def test_read_header_errors(buf, err, code):
    with pytest.raises(err) as ei:
        read_header(buf, 0, len(buf))
    if code:
        assert ei.value.code == code


def test_read_header_clamps_a_generous_end_to_the_buffer():
    # the crafted session user data: one octet 0x31 (SET) and nothing else
    for buf, end in ((b"\x31", 0x10001), (b"\x30\x05\x02", 0x10000), (b"\x02\x01", 1 << 40)):
        with pytest.raises(Truncated):
            read_header(buf, 0, end)
    assert read_header(b"\x02\x01\x07", 0, 0x10000) == (2, 2, 3)
    with pytest.raises(Truncated):
        read_header(b"\x02\x01\x07", 5, 0x10000)                       # offset past the buffer


def test_lenient_header_and_clamped_children():
    buf = b"\x30\x09\x02\x01\x05\x04\x03ab"                              # SEQUENCE overruns by 3
    tag, cs, ce, problem = read_header_lenient(buf, 0, len(buf))
    assert (tag, cs, ce) == (0x30, 2, len(buf)) and problem.code == "ber.truncated.length"
    assert read_header_lenient(b"\x02\x01\x05", 0, 3) == (2, 2, 3, None)
    problems = []
    assert list(children_clamped(buf, 2, len(buf), problems)) == [(2, 4, 5), (4, 7, 9)]
    assert len(problems) == 1 and problems[0][0] == 5
    with pytest.raises(Truncated):
        read_header_lenient(b"\x30", 0, 1)                              # the header itself is cut


@pytest.mark.parametrize("indef,definite", [
    (b"\x30\x80\x02\x01\x05\x00\x00", b"\x30\x03\x02\x01\x05"),
    (b"\xa0\x80\x30\x80\x04\x00\x00\x00\x00\x00", b"\xa0\x04\x30\x02\x04\x00"),
    (b"\x30\x05\xa1\x80\x00\x00\x05", None),                            # not BER inside: left alone
    (b"\x30\x06\xa1\x80\x80\x00\x00\x00", b"\x30\x04\xa1\x02\x80\x00"),  # indefinite inside definite
    (b"\x30\x03\x02\x01\x05", None),                                    # nothing to do
    (b"\x02\x01\x05", None),
])
def test_definite_tlv(indef, definite):
    got = definite_tlv(indef, 0, len(indef))
    if definite is None:
        assert got is None
    else:
        assert got[0] == definite
        assert got[1] == len(indef)


@pytest.mark.parametrize("buf,code", [
    (b"\x30\x80\x02\x01\x05", "ber.truncated.indefinite_length"),       # no end-of-contents
    (b"\x30\x80\x02\x01\x05\x00", "ber.truncated.indefinite_length"),   # cut inside it
    (b"\x30\x80\x00\x01\x00", "ber.malformed.eoc"),                     # 00 with a length
    (b"\x04\x80\x00\x00", "ber.malformed.indefinite_length"),           # primitive
    (b"\x30\x80" * 70 + b"\x00\x00" * 70, "ber.malformed.nesting"),     # deeper than MAX_DEPTH
])
def test_definite_tlv_errors(buf, code):
    with pytest.raises(DecodeError) as ei:
        definite_tlv(buf, 0, len(buf))
    assert ei.value.code == code


# -- COTP (ISO 8073 13) --------------------------------------------------------------------------------

def test_cotp_connect_request():
    tp = parse_tpdu(B.cr())
    assert (tp.name, tp.dst_ref, tp.src_ref, tp.reason, tp.data) == ("CR", 0, 1, None, b"")
    assert dict(tp.params) == {"tpdu-size": 8192, "called-tsap": "0001", "calling-tsap": "0001"}


@pytest.mark.parametrize("buf,name,reason,rname", [
    (B.dr(3), "DR", 3, "address-unknown"),
    (B.dr(128), "DR", 128, "normal"),
    (B.er(2), "ER", 2, "invalid-tpdu-type"),
    (B.er(0), "ER", 0, "reason-not-specified"),
])
def test_cotp_disconnect_and_error(buf, name, reason, rname):
    tp = parse_tpdu(buf)
    assert (tp.name, tp.dst_ref, tp.reason, reason_name(tp.code, tp.reason)) == (name, 1, reason, rname)


def test_cotp_data_and_reassembly():
    a, b = parse_tpdu(b"\x02\xf0\x00abc"), parse_tpdu(b"\x02\xf0\x80de")
    assert (a.name, a.eot, a.data, b.eot, b.data) == ("DT", False, b"abc", True, b"de")
    r = CotpReassembler()
    assert r.add(a.data, a.eot, 1) is None and r.add(b.data, b.eot, 2) == b"abcde"


@pytest.mark.parametrize("buf,err", [
    (b"\x01", Truncated), (b"\xff\xf0\x80", Malformed), (b"\x05\xf0\x80", Truncated),
    (b"\x02\x30\x80", Malformed),                                       # no TPDU code 0x30
    (b"\x01\xf0", Malformed),                                           # DT header of 1
    (b"\x08\xe0\x00\x00\x00\x01\x00\xc1\x05", Malformed),               # parameter overruns header
    (b"\x04\xe0\x00\x00\x00", Malformed),                               # CR header too short
])
def test_cotp_errors(buf, err):
    with pytest.raises(err):
        parse_tpdu(buf)


# -- Session (ISO 8327-1 8) -----------------------------------------------------------------------------

def test_session_connect_and_accept():
    ppdu = B.cp(B.aarq(B.initiate_request()))
    sp = parse_spdus(B.cn(ppdu))
    assert (sp.name, sp.names, sp.user_data) == ("CN", ("CN",), ppdu)
    assert sp.params["calling-ssap"] == 1 and sp.params["called-ssap"] == 1
    assert sp.params["connect-accept-item"] == {"protocol-options": 0, "version-number": 2}
    sp = parse_spdus(B.ac(b"\x31\x00"))
    assert (sp.name, sp.user_data) == ("AC", b"\x31\x00")


def test_session_refuse_reason_code_carries_user_data():
    ppdu = B.cpr(B.aare(1, 13))
    sp = parse_spdus(B.rf(2, ppdu))
    assert (sp.name, sp.params["reason-code"], sp.params["reason"], sp.user_data) == \
        ("RF", 2, "rejection-by-ss-user", ppdu)
    assert sp.params["transport-disconnect"] == 1
    sp = parse_spdus(B.rf(129))
    assert (sp.params["reason"], sp.user_data) == ("session-selector-unknown", None)


def test_session_data_transfer_and_release():
    sp = parse_spdus(b"\x01\x00\x01\x00\x61\x00")
    assert (sp.name, sp.names, sp.user_data) == ("DT", ("GT", "DT"), b"\x61\x00")
    sp = parse_spdus(b"\x09\x03\x11\x01\x03")                          # FINISH, PI 17 transport-disconnect
    assert (sp.name, sp.params["transport-disconnect"]) == ("FN", 3)
    sp = parse_spdus(b"\x19\x03\x11\x01\x03")
    assert sp.name == "AB"


@pytest.mark.parametrize("buf,err", [
    (b"\x0d", Truncated), (b"\x01\x00\x01\x10\x00", Truncated), (b"\x03\x00", Malformed),
    (b"\x0d\x20\x05", Truncated), (b"\x0d\x04\xc1\x05\x00\x00", Malformed),
])
def test_session_errors(buf, err):
    with pytest.raises(err):
        parse_spdus(buf)


@pytest.mark.parametrize("buf,expect", [
    (b"\x01\x00\x01\x00\x61\x00", True), (B.cn(b"\x31\x00"), True), (B.rf(129), True),
    (bytes.fromhex("32010000000000080000f0000001000101e0"), False),     # S7comm, not MIA
    (b"\xff\x00hello", False), (b"\x03\x00", False), (b"\x0d\x20\x05", False), (b"\x0d", False),
    (b"\x01\x00\x03\x00", False),                                       # GT then no SPDU
])
def test_looks_like_session(buf, expect):
    assert looks_like_session(buf) is expect


# -- Presentation (X.226 8) -------------------------------------------------------------------------------

def test_presentation_cp_contexts_and_user_data():
    acse = B.aarq(B.initiate_request())
    buf = B.cp(acse)
    p = parse_ppdu(buf, "CN")
    assert (p.name, p.contexts, p.problems) == ("CP", {1: ACSE_OID, 3: MMS_OID}, [])
    assert [(c, bytes(p.buf[s:e])) for c, s, e in p.pdvs] == [(1, acse)]
    assert p.detail["calling-presentation-selector"] == "00000001"


def test_presentation_cpa_cpr():
    p = parse_ppdu(B.cpa(B.aare()), "AC")
    assert (p.name, p.results) == ("CPA", ["acceptance", "acceptance"])
    p = parse_ppdu(B.cpr(provider_reason=3), "RF")
    assert (p.name, p.detail["provider-reason"], p.pdvs) == ("CPR", "called-presentation-address-unknown", [])
    aare = B.aare(1, 13)
    p = parse_ppdu(B.cpr(aare), "RF")
    assert p.name == "CPR" and [bytes(p.buf[s:e]) for _, s, e in p.pdvs] == [aare]


def test_presentation_abort_and_data():
    abrt = b"\x64\x03\x80\x01\x01"
    p = parse_ppdu(E.tlv(0xA0, B.td(1, abrt)), "AB")                  # ARU-PPDU normal mode
    assert p.name == "ARU" and [(c, bytes(p.buf[s:e])) for c, s, e in p.pdvs] == [(1, abrt)]
    p = parse_ppdu(b"\x30\x03\x80\x01\x01", "AB")
    assert (p.name, p.detail["provider-reason"]) == ("ARP", "unrecognized-ppdu")
    mms = B.read_request(1, "LD/LN$X")
    p = parse_user_data(B.td(3, mms))
    assert [(c, bytes((p.buf or B.td(3, mms))[s:e])) for c, s, e in p.pdvs] == [(3, mms)]


def test_presentation_indefinite_lengths():
    acse = B.aarq(B.initiate_request())
    p = parse_ppdu(B.indefinite(B.cp(acse)), "CN")
    assert p.contexts == {1: ACSE_OID, 3: MMS_OID}
    assert [bytes(p.buf[s:e]) for _, s, e in p.pdvs] == [acse]      # re-encoded definite
    mms = B.read_request(7, "LD/LN$X")
    p = parse_user_data(B.indefinite(B.td(3, mms)))
    assert [(c, bytes(p.buf[s:e])) for c, s, e in p.pdvs] == [(3, mms)]


def test_presentation_overrunning_length_is_decoded_with_a_problem():
    buf = bytearray(B.cp(B.aarq(B.initiate_request())))
    buf[2] += 2                                                      # outer long-form length + 2
    p = parse_ppdu(bytes(buf), "CN")
    assert p.contexts == {1: ACSE_OID, 3: MMS_OID} and p.problems


@pytest.mark.parametrize("buf", [b"\x31", b"", b"\x02\x01\x00", b"\x31\x80\x30\x00"])
def test_presentation_errors(buf):
    with pytest.raises(DecodeError):
        parse_ppdu(buf, "CN")


# -- ACSE (X.227 7) ------------------------------------------------------------------------------------------

def test_acse_aarq_with_password():
    init = B.initiate_request()
    a = parse_acse(B.aarq(init, password="secret"))
    d = a.detail
    assert a.name == "aarq"
    assert (d["application-context-name"], d["called-AP-title"], d["calling-AE-qualifier"]) == \
        (B.MMS_CONTEXT, "1.1.1.999.1", 12)
    assert (d["mechanism"], d["authentication-kind"], d["calling-authentication-value"]) == \
        ("password", "charstring", "secret")
    assert [(c, o, bytes(a.buf[s:e])) for c, o, s, e in a.user_info] == [(3, None, init)]


def test_acse_aare_rejected_and_others():
    d = parse_acse(B.aare(1, 13)).detail
    assert (d["result"], d["result-source-diagnostic"]) == \
        ("rejected-permanent", {"acse-service-user": "authentication-failure"})
    assert parse_acse(b"\x64\x03\x80\x01\x01").detail == {"abort-source": "acse-service-provider"}
    assert parse_acse(b"\x62\x03\x80\x01\x00").detail == {"reason": "normal"}
    assert parse_acse(b"\x63\x03\x80\x01\x00").name == "rlre"


def test_acse_indefinite():
    init = B.initiate_response()
    plain, indef = parse_acse(B.aare(0, 0, init)), parse_acse(B.indefinite(B.aare(0, 0, init)))
    assert plain.detail == indef.detail
    assert [bytes(indef.buf[s:e]) for *_, s, e in indef.user_info] == [init]


@pytest.mark.parametrize("buf,err", [
    (b"", Malformed), (b"\x65\x00", Malformed), (b"\x61\x05\xa2\x03\x02\x01", DecodeError),
    (b"\x60\x80\xa1\x00", Truncated),
])
def test_acse_errors(buf, err):
    with pytest.raises(err):
        parse_acse(buf)
