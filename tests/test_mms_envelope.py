"""MMSpdu envelope: every PDU type, mms_envelope, looks_like_mms, errors and rejects."""

from __future__ import annotations

import pytest

from ber_encode import (cons, confirmed_request, confirmed_response, ctx, integer, list_of_variable,
                        seq, service_error, tlv, unconfirmed, variable_list_name, object_name)
from mmsanalyze.errors import DecodeError, Malformed, Truncated, Unsupported
from mmsanalyze.mms import (CONFIRMED_SERVICES, DATA_ACCESS_ERRORS, REJECT_REASONS,
                            SERVICE_ERROR_CLASSES, MmsPdu, decode_mms, looks_like_mms,
                            mms_envelope)

READ_REQ = confirmed_request(7, 4, cons(1, list_of_variable("LD0/MMXU1$MX$TotW")))


def test_read_request_envelope_and_record():
    assert mms_envelope(READ_REQ) == ("confirmed-RequestPDU", "read", 7)
    p = decode_mms(READ_REQ)
    assert isinstance(p, MmsPdu)
    assert (p.pdu, p.service, p.invoke_id) == ("confirmed-RequestPDU", "read", 7)
    assert p.variables == ("LD0/MMXU1$MX$TotW",)
    assert p.error is None and p.access_results is None
    assert p.end == len(READ_REQ)
    body = p.detail["confirmed-RequestPDU"]
    assert body["invokeID"] == 7
    assert "read" in body["confirmedServiceRequest"]


def test_dataclass_is_frozen_and_slotted():
    p = decode_mms(READ_REQ)
    with pytest.raises(AttributeError):
        p.pdu = "x"  # type: ignore[misc]
    assert not hasattr(p, "__dict__")


def test_offsets_and_trailing_bytes():
    buf = b"\xde\xad" + READ_REQ + b"\x00\x00"
    p = decode_mms(buf, 2)
    assert p.end == 2 + len(READ_REQ)
    assert mms_envelope(buf, 2, 2 + len(READ_REQ)) == ("confirmed-RequestPDU", "read", 7)
    assert looks_like_mms(buf, 2, 2 + len(READ_REQ))
    assert not looks_like_mms(buf, 2, len(buf))          # trailing bytes: not exactly one PDU
    # memoryview and bytearray work the same
    assert decode_mms(memoryview(buf), 2).variables == p.variables
    assert decode_mms(bytearray(buf), 2).variables == p.variables


def test_every_confirmed_service_is_named_in_envelope():
    for num, name in CONFIRMED_SERVICES.items():
        req = confirmed_request(1, num, b"")
        assert mms_envelope(req) == ("confirmed-RequestPDU", name, 1)
        resp = confirmed_response(2, num, b"")
        assert mms_envelope(resp) == ("confirmed-ResponsePDU", name, 2)


def test_listofmodifier_and_cs_request_detail():
    mod = cons(1, cons(0, object_name("sem")))            # attach-To-Semaphore
    pdu = ctx(0, integer(3) + seq(mod) + ctx(2, b"") + ctx(79, b"\x05\x00", True), True)
    assert mms_envelope(pdu) == ("confirmed-RequestPDU", "identify", 3)
    p = decode_mms(pdu)
    body = p.detail["confirmed-RequestPDU"]
    assert body["listOfModifier"] == [{"attach-To-Semaphore": {"semaphoreName": {"vmd-specific": "sem"}}}]
    assert "cs-request-detail" in body
    assert p.service == "identify"


def test_unconfirmed():
    for num, name in [(0, "informationReport"), (1, "unsolicitedStatus"), (2, "eventNotification")]:
        assert mms_envelope(unconfirmed(num, b"")) == ("unconfirmed-PDU", name, None)


def test_confirmed_error_pdu():
    err = service_error(7, 2, ctx(1, b"\x05") + ctx(2, b"why"))
    pdu = ctx(2, ctx(0, b"\x11") + ctx(1, b"\x01") + ctx(2, err, True), True)
    assert mms_envelope(pdu) == ("confirmed-ErrorPDU", None, 17)
    p = decode_mms(pdu)
    assert p.service is None and p.invoke_id == 17
    assert p.error == {"class": "access", "code": "object-non-existent", "additionalCode": 5,
                       "additionalDescription": "why", "modifierPosition": 1}
    assert p.detail["confirmed-ErrorPDU"]["serviceError"]["errorClass"] == {"access": "object-non-existent"}


def test_service_error_all_classes_and_codes():
    for cls, (cname, codes) in SERVICE_ERROR_CLASSES.items():
        for code, name in list(codes.items()) + [(99, 99)]:
            pdu = ctx(2, ctx(0, b"\x01") + ctx(2, service_error(cls, code), True), True)
            assert decode_mms(pdu).error == {"class": cname, "code": name}


def test_service_specific_information():
    ssi = cons(3, ctx(6, b"\x02"))                       # deleteNamedVariableList: 2 deleted
    pdu = ctx(2, ctx(0, b"\x01") + ctx(2, service_error(2, 1, ssi), True), True)
    p = decode_mms(pdu)
    assert p.service is None
    assert p.error["serviceSpecificInformation"] == {"deleteNamedVariableList": 2}
    ssi = cons(3, ctx(0, b"\x01"))                       # obtainFile: destination-file
    pdu = ctx(2, ctx(0, b"\x01") + ctx(2, service_error(11, 7, ssi), True), True)
    assert decode_mms(pdu).error["serviceSpecificInformation"] == {"obtainFile": "destination-file"}


def test_initiate_and_conclude_errors():
    p = decode_mms(ctx(10, service_error(8, 1), True))
    assert (p.pdu, p.error) == ("initiate-ErrorPDU", {"class": "initiate", "code": "version-incompatible"})
    p = decode_mms(ctx(13, service_error(9, 1), True))
    assert (p.pdu, p.error) == ("conclude-ErrorPDU",
                                {"class": "conclude", "code": "further-communication-required"})


def test_cancel_pdus():
    p = decode_mms(ctx(5, b"\x2a"))
    assert (p.pdu, p.service, p.invoke_id) == ("cancel-RequestPDU", None, 42)
    assert p.detail == {"cancel-RequestPDU": {"originalInvokeID": 42}}
    assert mms_envelope(ctx(6, b"\x2a")) == ("cancel-ResponsePDU", None, 42)
    p = decode_mms(ctx(7, ctx(0, b"\x2a") + cons(1, service_error(10, 1)), True))
    assert (p.pdu, p.invoke_id) == ("cancel-ErrorPDU", 42)
    assert p.error == {"class": "cancel", "code": "invoke-id-unknown"}


def test_conclude():
    for tag, name in [(0x8B, "conclude-RequestPDU"), (0x8C, "conclude-ResponsePDU")]:
        p = decode_mms(bytes([tag, 0]))
        assert (p.pdu, p.service, p.invoke_id, p.detail) == (name, None, None, {name: None})
        assert looks_like_mms(bytes([tag, 0]), 0, 2)
    with pytest.raises(Malformed):
        decode_mms(b"\x8b\x01\x00")


@pytest.mark.parametrize("alt", sorted(REJECT_REASONS))
def test_reject_reasons(alt):
    aname, reasons = REJECT_REASONS[alt]
    for code, rname in reasons.items():
        pdu = ctx(4, ctx(0, b"\x09") + ctx(alt, bytes([code])), True)
        p = decode_mms(pdu)
        assert p.pdu == "rejectPDU" and p.service is None and p.invoke_id == 9
        assert p.error == {"class": aname, "code": rname, "original_invoke_id": 9}
        assert p.detail["rejectPDU"]["rejectReason"] == {aname: rname}
    p = decode_mms(ctx(4, ctx(5, b"\x01"), True))                 # originalInvokeID absent
    assert p.error == {"class": "pdu-error", "code": "invalid-pdu", "original_invoke_id": None}
    assert mms_envelope(ctx(4, ctx(5, b"\x01"), True)) == ("rejectPDU", None, None)


def test_initiate_request_names_cbb_bits():
    from ber_encode import bits_content
    detail = (ctx(0, b"\x01") + ctx(1, bits_content("11100001")) +
              ctx(2, bits_content("1110110000000000000000000000000000000000000000000000000000000"
                                  "0000000000000000000000000000000000")))
    pdu = ctx(8, ctx(0, integer(65000)[2:]) + ctx(1, b"\x05") + ctx(2, b"\x05") + ctx(3, b"\x0a")
              + cons(4, detail), True)
    p = decode_mms(pdu)
    assert (p.pdu, p.service, p.invoke_id) == ("initiate-RequestPDU", None, None)
    d = p.detail["initiate-RequestPDU"]
    assert d["localDetailCalling"] == 65000
    assert d["proposedMaxServOutstandingCalling"] == 5
    assert d["proposedDataStructureNestingLevel"] == 10
    ird = d["initRequestDetail"]
    assert ird["proposedVersionNumber"] == 1
    assert ird["proposedParameterCBB"] == ["str1", "str2", "vnam", "vlis"]
    assert ird["servicesSupportedCalling"] == ["status", "getNameList", "identify", "read", "write"]
    assert looks_like_mms(pdu, 0, len(pdu))


def test_initiate_response():
    from ber_encode import bits_content
    detail = ctx(0, b"\x01") + ctx(1, bits_content("111")) + ctx(2, bits_content("0" * 79 + "1"))
    pdu = ctx(9, ctx(1, b"\x05") + ctx(2, b"\x05") + cons(4, detail), True)
    d = decode_mms(pdu).detail["initiate-ResponsePDU"]
    assert d["negotiatedMaxServOutstandingCalled"] == 5
    assert d["initResponseDetail"]["servicesSupportedCalled"] == ["informationReport"]
    assert d["initResponseDetail"]["negotiatedParameterCBB"] == ["str1", "str2", "vnam"]


def test_looks_like_mms():
    assert looks_like_mms(READ_REQ, 0, len(READ_REQ))
    info = unconfirmed(0, variable_list_name("RPT") + cons(0, ctx(3, b"\x01")))
    assert looks_like_mms(info, 0, len(info))
    for bad in [b"", b"\x30\x00", b"\xa0\x03\x04\x01\x00",      # no INTEGER invokeID
                b"\xa0\x05\x02\x01\x01\x30\x00",               # modifiers but no service
                READ_REQ[:-1], b"\x61\x03\x02\x01\x00",        # ACSE-like
                b"\xa8\x03\x30\x01\x00",                       # initiate without its fields
                b"\xa4\x03\x30\x01\x00",                       # reject without a reason
                b"\xa1\x07\x02\x01\x01\xa4\x00\x05\x03",           # components do not tile
                confirmed_request(1, 99, b"")]:                # unknown service
        assert not looks_like_mms(bad, 0, len(bad)), bad.hex()


def test_envelope_errors_are_decode_errors():
    with pytest.raises(Malformed) as ei:
        mms_envelope(b"\x30\x00")
    assert ei.value.code == "mms.malformed.pdu_tag"
    with pytest.raises(Truncated):
        mms_envelope(READ_REQ[:-3])
    with pytest.raises(Unsupported):
        decode_mms(confirmed_request(1, 99, b""))
    with pytest.raises(Malformed):
        decode_mms(ctx(0, integer(1), True))                   # no service
    with pytest.raises(DecodeError):
        decode_mms(ctx(0, ctx(4, b"", True), True))            # no invokeID


def test_invoke_id_bounds():
    assert mms_envelope(confirmed_request(0xFFFFFFFF, 2, b"", False))[2] == 0xFFFFFFFF
    with pytest.raises(Malformed):
        mms_envelope(ctx(0, tlv(0x02, b"\x01" + b"\x00" * 5) + ctx(2, b""), True))


def test_data_access_errors_table():
    assert DATA_ACCESS_ERRORS[10] == "object-non-existent"
    assert len(DATA_ACCESS_ERRORS) == 12
