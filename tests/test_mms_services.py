"""Hand-made byte vectors for ISO 9506-2 service bodies (requests and responses)."""

from __future__ import annotations

import pytest

from ber_encode import (bits_content, cons, confirmed_request, confirmed_response, ctx, data,
                        file_name, gstr, int_content, integer, list_of_variable, object_name, seq,
                        service_error, tlv, unconfirmed, variable_list_name, vstr)
from mmsanalyze.errors import DecodeError
from mmsanalyze.mms import CONFIRMED_SERVICES, decode_mms
from mmsanalyze.mms.services import GENERIC_SERVICES, REQUESTS, RESPONSES


def req(num, body, constructed=True, iid=1):
    p = decode_mms(confirmed_request(iid, num, body, constructed))
    assert p.service == CONFIRMED_SERVICES[num]
    return p, p.detail["confirmed-RequestPDU"]["confirmedServiceRequest"][p.service]


def resp(num, body, constructed=True, iid=1):
    p = decode_mms(confirmed_response(iid, num, body, constructed))
    assert p.service == CONFIRMED_SERVICES[num]
    return p, p.detail["confirmed-ResponsePDU"]["confirmedServiceResponse"][p.service]


DOM = {"domain-specific": {"domainId": "LD0", "itemId": "LLN0$ST$Mod"}}


# ------------------------------------------------------------------ VMD support

def test_status():
    assert req(0, b"\x00", False)[1] is False
    body = ctx(0, b"\x00") + ctx(1, b"\x01") + ctx(2, bits_content("101"))
    assert resp(0, body)[1] == {"vmdLogicalStatus": "state-changes-allowed",
                                "vmdPhysicalStatus": "partially-operational",
                                "localDetail": {"bits": "101"}}


def test_get_name_list():
    body = cons(0, ctx(0, b"\x00")) + cons(1, ctx(1, b"LD0")) + ctx(2, b"GGIO1")
    assert req(1, body)[1] == {"objectClass": {"basicObjectClass": "namedVariable"},
                               "objectScope": {"domainSpecific": "LD0"},
                               "continueAfter": "GGIO1"}
    body = cons(0, ctx(0, b"\x09")) + cons(1, ctx(0))
    assert req(1, body)[1] == {"objectClass": {"basicObjectClass": "domain"},
                               "objectScope": {"vmdSpecific": None}}
    _, v = resp(1, cons(0, vstr("LD0"), vstr("LD1")) + ctx(1, b"\x00"))
    assert v == {"listOfIdentifier": ["LD0", "LD1"], "moreFollows": False}
    _, v = resp(1, cons(0))                             # moreFollows DEFAULT TRUE
    assert v == {"listOfIdentifier": [], "moreFollows": True}


def test_identify():
    assert req(2, b"", False)[1] is None
    body = (ctx(0, b"MZ Automation") + ctx(1, b"libiec61850") + ctx(2, b"1.5") +
            cons(3, tlv(0x06, bytes.fromhex("28ca220201"))))
    assert resp(2, body)[1] == {"vendorName": "MZ Automation", "modelName": "libiec61850",
                                "revision": "1.5", "listOfAbstractSyntaxes": ["1.0.9506.2.1"]}


def test_rename():
    body = cons(0, ctx(0, b"\x02")) + cons(1, object_name("LD0/DS1")) + ctx(2, b"DS2")
    assert req(3, body)[1] == {"objectClass": {"basicObjectClass": "namedVariableList"},
                               "currentName": {"domain-specific": {"domainId": "LD0", "itemId": "DS1"}},
                               "newIdentifier": "DS2"}
    assert resp(3, b"", False)[1] is None


def test_get_capability_list():
    assert req(71, vstr("cap1"))[1] == {"continueAfter": "cap1"}
    assert resp(71, cons(0, vstr("a"), vstr("b")) + ctx(1, b"\x00"))[1] == {
        "listOfCapabilities": ["a", "b"], "moreFollows": False}


# ------------------------------------------------------------------ read / write / report

def test_read_request_list_of_variable():
    p, v = req(4, ctx(0, b"\x01") + cons(1, list_of_variable("LD0/LLN0$ST$Mod", "vmdvar", "@aa")))
    assert p.variables == ("LD0/LLN0$ST$Mod", "vmdvar", "@aa")
    assert v["specificationWithResult"] is True
    lov = v["variableAccessSpecification"]["listOfVariable"]
    assert [x["variableSpecification"]["name"] for x in lov] == [
        DOM, {"vmd-specific": "vmdvar"}, {"aa-specific": "aa"}]


def test_read_request_variable_list_name_and_alternate_access():
    p, v = req(4, cons(1, variable_list_name("LD0/LLN0$DataSet1")))
    assert p.variables == ("LD0/LLN0$DataSet1",)
    assert v["variableAccessSpecification"] == {
        "variableListName": {"domain-specific": {"domainId": "LD0", "itemId": "LLN0$DataSet1"}}}
    # alternateAccess: selectAlternateAccess(component 'MX' then selectAccess component 'A')
    # and a named selectAccess with an index range
    alt = cons(5,
               cons(0, ctx(0, b"MX"), seq(ctx(1, b"A"))),
               cons(5, ctx(0, b"cmp"), cons(3, ctx(0, b"\x01"), ctx(1, b"\x04"))),
               ctx(4))
    item = seq(cons(0, object_name("LD0/MMXU1")), alt)
    p, v = req(4, cons(1, cons(0, item)))
    assert p.variables == ("LD0/MMXU1",)
    aa = v["variableAccessSpecification"]["listOfVariable"][0]["alternateAccess"]
    assert aa == [
        {"unnamed": {"selectAlternateAccess": {
            "accessSelection": {"component": "MX"},
            "alternateAccess": [{"unnamed": {"selectAccess": {"component": "A"}}}]}}},
        {"named": {"componentName": "cmp",
                   "access": {"selectAccess": {"indexRange": {"lowIndex": 1, "numberOfElements": 4}}}}},
        {"unnamed": {"selectAccess": {"allElements": None}}},
    ]


def test_read_request_by_address():
    item = seq(cons(1, ctx(0, b"\x10")))
    p, v = req(4, cons(1, cons(0, item, seq(cons(1, ctx(1, b"R100"))))))
    assert p.variables == ("#16", "#R100")
    assert v["variableAccessSpecification"]["listOfVariable"][0] == {
        "variableSpecification": {"address": {"numericAddress": 16}}}


def test_read_response():
    mx = {"structure": [{"structure": [{"floating-point": 1.5}]},
                        {"bit-string": {"bits": "0000000000000"}},
                        {"utc-time": {"utc": 1600000000.5, "fraction": 0x800000, "quality": 10}}]}
    body = cons(1, data(mx), ctx(0, b"\x0a"), data({"boolean": True}))
    p, v = resp(4, body)
    assert p.variables == ()
    assert p.access_results == (
        [[1.5], {"bits": "0000000000000"}, {"utc": 1600000000.5, "fraction": 0x800000, "quality": 10}],
        {"failure": "object-non-existent"},
        True)
    assert v == {"listOfAccessResult": [mx, {"failure": "object-non-existent"}, {"boolean": True}]}


def test_read_response_with_specification():
    body = cons(0, variable_list_name("LD0/DS")) + cons(1, data({"integer": -3}))
    p, v = resp(4, body)
    assert p.variables == ("LD0/DS",)
    assert p.access_results == (-3,)


def test_write():
    body = list_of_variable("LD0/CSWI1$CO$Pos$Oper", "LD0/X") + cons(0, data(
        {"structure": [{"boolean": True}, {"utc-time": {"utc": 0.0, "fraction": 0, "quality": 0}}]}),
        data({"visible-string": "abc"}))
    p, v = req(5, body)
    assert p.variables == ("LD0/CSWI1$CO$Pos$Oper", "LD0/X")
    assert v["listOfData"] == [
        {"structure": [{"boolean": True}, {"utc-time": {"utc": 0.0, "fraction": 0, "quality": 0}}]},
        {"visible-string": "abc"}]
    assert p.access_results is None
    p, v = resp(5, ctx(1) + ctx(0, b"\x03") + ctx(1))
    assert p.access_results == ("success", {"failure": "object-access-denied"}, "success")
    assert v == ["success", {"failure": "object-access-denied"}, "success"]


def test_information_report():
    body = variable_list_name("RPT") + cons(0, data({"visible-string": "urcb01"}),
                                              data({"bit-string": {"bits": "0111101010"}}),
                                              data({"unsigned": 7}))
    p = decode_mms(unconfirmed(0, body))
    assert (p.pdu, p.service, p.invoke_id) == ("unconfirmed-PDU", "informationReport", None)
    assert p.variables == ("RPT",)
    assert p.access_results == ("urcb01", {"bits": "0111101010"}, 7)
    v = p.detail["unconfirmed-PDU"]["unconfirmedService"]["informationReport"]
    assert v["variableAccessSpecification"] == {"variableListName": {"vmd-specific": "RPT"}}
    p = decode_mms(unconfirmed(0, list_of_variable("LD0/a", "LD0/b") + cons(0, ctx(0, b"\x02"))))
    assert p.variables == ("LD0/a", "LD0/b")
    assert p.access_results == ({"failure": "temporarily-unavailable"},)


def test_unsolicited_status():
    p = decode_mms(unconfirmed(1, ctx(0, b"\x01") + ctx(1, b"\x00")))
    assert p.detail["unconfirmed-PDU"]["unconfirmedService"]["unsolicitedStatus"] == {
        "vmdLogicalStatus": "no-state-changes-allowed", "vmdPhysicalStatus": "operational"}


# ------------------------------------------------------------------ variable attributes

def _component(name, type_bytes):
    return seq(ctx(0, name.encode()), cons(1, type_bytes))


def test_get_variable_access_attributes():
    p, v = req(6, cons(0, object_name("LD0/LLN0")))
    assert v == {"name": {"domain-specific": {"domainId": "LD0", "itemId": "LLN0"}}}
    _, v = req(6, cons(1, ctx(1, b"sym")))
    assert v == {"address": {"symbolicAddress": "sym"}}
    types = cons(2, cons(1,
        _component("b", ctx(3)), _component("bs", ctx(4, b"\x0d")), _component("i", ctx(5, b"\x20")),
        _component("u", ctx(6, b"\x08")), _component("f", cons(7, integer(32), integer(8))),
        _component("os", ctx(9, b"\x40")), _component("vs", ctx(10, int_content(-255))),
        _component("gt", ctx(11)), _component("bt", ctx(12, b"\x01")), _component("bcd", ctx(13, b"\x04")),
        _component("oid", ctx(15)), _component("ms", ctx(16, b"\x7f")), _component("t", ctx(17)),
        _component("arr", cons(1, ctx(1, b"\x05"), cons(2, ctx(3)))),
        _component("named", cons(0, object_name("LD0/MyType")))))
    _, v = resp(6, ctx(0, b"\x00") + cons(2, types))
    assert v["mmsDeletable"] is False
    comps = v["typeDescription"]["structure"]["components"]
    got = {c["componentName"]: c["componentType"] for c in comps}
    assert got == {
        "b": {"boolean": None}, "bs": {"bit-string": 13}, "i": {"integer": 32},
        "u": {"unsigned": 8}, "f": {"floating-point": {"format-width": 32, "exponent-width": 8}},
        "os": {"octet-string": 64}, "vs": {"visible-string": -255},
        "gt": {"generalized-time": None}, "bt": {"binary-time": True}, "bcd": {"bcd": 4},
        "oid": {"objId": None}, "ms": {"mMSString": 127}, "t": {"utc-time": None},
        "arr": {"array": {"packed": False, "numberOfElements": 5, "elementType": {"boolean": None}}},
        "named": {"typeName": {"domain-specific": {"domainId": "LD0", "itemId": "MyType"}}},
    }
    assert v["typeDescription"]["structure"]["packed"] is False


def test_named_variable_scattered_access():
    _, v = req(7, cons(0, object_name("LD0/v")) + cons(1, ctx(0, b"\x01")) + cons(2, ctx(3)))
    assert v == {"variableName": {"domain-specific": {"domainId": "LD0", "itemId": "v"}},
                 "address": {"numericAddress": 1}, "typeSpecification": {"boolean": None}}
    sad = seq(ctx(0, b"c"), cons(1, cons(0, object_name("x"))))
    _, v = req(8, cons(0, object_name("sa")) + ctx(1, sad, True))
    assert v == {"scatteredAccessName": {"vmd-specific": "sa"},
                 "scatteredAccessDescription": [
                     {"componentName": "c", "variableSpecification": {"name": {"vmd-specific": "x"}}}]}
    assert req(9, object_name("sa"))[1] == {"vmd-specific": "sa"}
    assert resp(9, ctx(0, b"\x01") + ctx(1, sad, True))[1]["mmsDeletable"] is True
    _, v = req(10, ctx(0, b"\x02") + ctx(2, b"LD0"))
    assert v == {"scopeOfDelete": "domain", "domainName": "LD0"}
    assert resp(10, ctx(0, b"\x03") + ctx(1, b"\x02"))[1] == {"numberMatched": 3, "numberDeleted": 2}


def test_named_variable_lists():
    body = object_name("LD0/LLN0$newDS") + cons(0, seq(cons(0, object_name("LD0/GGIO1$ST$Ind1"))),
                                                seq(cons(0, object_name("LD0/GGIO1$ST$Ind2"))))
    p, v = req(11, body)
    assert v["variableListName"] == {"domain-specific": {"domainId": "LD0", "itemId": "LLN0$newDS"}}
    assert [x["variableSpecification"]["name"]["domain-specific"]["itemId"]
            for x in v["listOfVariable"]] == ["GGIO1$ST$Ind1", "GGIO1$ST$Ind2"]
    assert resp(11, b"", False)[1] is None
    assert req(12, object_name("LD0/LLN0$DS"))[1] == {
        "domain-specific": {"domainId": "LD0", "itemId": "LLN0$DS"}}
    _, v = resp(12, ctx(0, b"\x01") + cons(1, seq(cons(0, object_name("LD0/a")))))
    assert v == {"mmsDeletable": True, "listOfVariable": [
        {"variableSpecification": {"name": {"domain-specific": {"domainId": "LD0", "itemId": "a"}}}}]}
    _, v = req(13, cons(1, object_name("LD0/DS1"), object_name("@DS2")))
    assert v == {"scopeOfDelete": "specific", "listOfVariableListName": [
        {"domain-specific": {"domainId": "LD0", "itemId": "DS1"}}, {"aa-specific": "DS2"}]}
    assert resp(13, ctx(0, b"\x01") + ctx(1, b"\x01"))[1] == {"numberMatched": 1, "numberDeleted": 1}


def test_named_types():
    _, v = req(14, object_name("LD0/T") + ctx(5, b"\x10"))
    assert v == {"typeName": {"domain-specific": {"domainId": "LD0", "itemId": "T"}},
                 "typeSpecification": {"integer": 16}}
    assert req(15, object_name("T"))[1] == {"vmd-specific": "T"}
    assert resp(15, ctx(0, b"\x00") + cons(2, cons(1, _component("x", ctx(3)))))[1] == {
        "mmsDeletable": False, "typeSpecification": {"structure": {"packed": False, "components": [
            {"componentName": "x", "componentType": {"boolean": None}}]}}}
    assert req(16, ctx(0, b"\x03"))[1] == {"scopeOfDelete": "vmd"}
    assert resp(16, ctx(0, b"\x00") + ctx(1, b"\x00"))[1] == {"numberMatched": 0, "numberDeleted": 0}


# ------------------------------------------------------------------ files

def test_file_services():
    _, v = req(72, cons(0, file_name("dir", "COMTRADE.cfg")) + ctx(1, b"\x00"))
    assert v == {"fileName": ["dir", "COMTRADE.cfg"], "initialPosition": 0}
    _, v = resp(72, ctx(0, b"\x05") + cons(1, ctx(0, int_content(2087744)) +
                                            tlv(0x81, b"20201021080434.000Z")))
    assert v == {"frsmID": 5, "fileAttributes": {"sizeOfFile": 2087744,
                                                   "lastModified": "20201021080434.000Z"}}
    assert req(73, b"\x05", False)[1] == 5
    assert resp(73, ctx(0, b"\x01\x02") + ctx(1, b"\x00"))[1] == {"fileData": "0102", "moreFollows": False}
    assert resp(73, ctx(0, b""))[1] == {"fileData": "", "moreFollows": True}
    assert req(74, b"\x05", False)[1] == 5
    assert resp(74, b"", False)[1] is None
    assert req(75, cons(0, file_name("a")) + cons(1, file_name("b")))[1] == {
        "currentFileName": ["a"], "newFileName": ["b"]}
    assert resp(75, b"", False)[1] is None
    assert req(76, file_name("old.txt"))[1] == ["old.txt"]
    assert resp(76, b"", False)[1] is None
    assert req(77, cons(0, file_name("/")) + cons(1, file_name("x")))[1] == {
        "fileSpecification": ["/"], "continueAfter": ["x"]}
    assert req(77, b"")[1] == {}
    entry = seq(cons(0, file_name("f1")), cons(1, ctx(0, b"\x05")))
    explicit_form = cons(0, seq(entry, entry)) + ctx(1, b"\x01")     # [0] SEQUENCE OF (explicit)
    implicit_form = cons(0, entry, entry)
    for body in (explicit_form, implicit_form):
        _, v = resp(77, body)
        assert v["listOfDirectoryEntry"] == [{"fileName": ["f1"], "fileAttributes": {"sizeOfFile": 5}}] * 2
    assert resp(77, implicit_form)[1]["moreFollows"] is False
    assert resp(77, cons(0, seq()))[1]["listOfDirectoryEntry"] == []


def test_obtain_file():
    app = seq(cons(0, tlv(0x06, bytes.fromhex("2a0304"))), cons(3, integer(7)))
    body = cons(0, app[2:]) + cons(1, file_name("src")) + cons(2, file_name("dst"))
    _, v = req(46, body)
    assert v == {"sourceFileServer": {"ap-title": "1.2.3.4", "ae-invocation-id": 7},
                 "sourceFile": ["src"], "destinationFile": ["dst"]}
    assert resp(46, b"", False)[1] is None


# ------------------------------------------------------------------ semaphores, operator, domains, PIs

def test_semaphores_and_operator():
    _, v = req(19, cons(0, object_name("reserved")) + ctx(3, b"\x01") + ctx(6, b"\xff"))
    assert v == {"semaphoreName": {"vmd-specific": "reserved"}, "acceptableDelay": 1,
                 "relinquishIfConnectionLost": True}
    assert resp(19, ctx(1, b"tok"))[1] == {"namedToken": "tok"}
    assert resp(19, ctx(0))[1] == {"noResult": None}
    assert req(20, cons(0, object_name("s")))[1] == {"semaphoreName": {"vmd-specific": "s"}}
    assert req(21, cons(0, object_name("s")) + ctx(1, b"\x02"))[1]["numberOfTokens"] == 2
    assert req(22, object_name("s"))[1] == {"vmd-specific": "s"}
    assert resp(23, ctx(0, b"\x00") + ctx(1, b"\x01") + ctx(2, b"\x03") + ctx(3, b"\x01") +
                ctx(4, b"\x00"))[1] == {"mmsDeletable": False, "class": "pool", "numberOfTokens": 3,
                                        "numberOfOwnedTokens": 1, "numberOfHungTokens": 0}
    assert resp(24, cons(0, ctx(0, b"a"), ctx(2, b"b")))[1] == {
        "listOfNamedTokens": [{"freeNamedToken": "a"}, {"hungNamedToken": "b"}], "moreFollows": True}
    assert req(25, cons(0, object_name("s")) + ctx(1, b"\x02"))[1]["state"] == "hung"
    _, v = req(17, ctx(0, b"op") + cons(2, vstr("p1")) + ctx(3, b"\x0a"))
    assert v == {"operatorStationName": "op", "listOfPromptData": ["p1"], "inputTimeOut": 10}
    assert resp(17, b"typed", False)[1] == "typed"
    assert req(18, ctx(0, b"op") + cons(1, vstr("hello")))[1] == {
        "operatorStationName": "op", "listOfOutputData": ["hello"]}


def test_domains():
    _, v = req(26, ctx(0, b"D") + cons(1, vstr("cap")) + ctx(2, b"\x00"))
    assert v == {"domainName": "D", "listOfCapabilities": ["cap"], "sharable": False}
    assert req(27, b"D", False)[1] == "D"
    assert resp(27, ctx(0, b"\xca\xfe") + ctx(1, b"\x00"))[1] == {
        "loadData": {"non-coded": "cafe"}, "moreFollows": False}
    _, v = req(28, ctx(0, b"D") + cons(1, service_error(0, 3)))
    assert v == {"domainName": "D", "discard": {"errorClass": {"vmd-state": "domain-transfer-problem"}}}
    assert req(29, b"D", False)[1] == "D"
    assert resp(29, ctx(0, b"\x07") + cons(1))[1] == {"ulsmID": 7, "listOfCapabilities": []}
    assert req(30, b"\x07", False)[1] == 7
    assert resp(30, ctx(0, b"\x00"))[1] == {"loadData": {"non-coded": "00"}, "moreFollows": True}
    assert req(31, b"\x07", False)[1] == 7
    _, v = req(32, ctx(0, b"D") + ctx(2, b"\x00") + cons(4, file_name("f")))
    assert v == {"domainName": "D", "sharable": False, "fileName": ["f"]}
    assert req(33, ctx(0, b"D") + cons(1, file_name("f")))[1] == {"domainName": "D", "fileName": ["f"]}
    assert req(34, ctx(0, b"D") + ctx(2, b"\x01") + cons(4, file_name("f")))[1]["sharable"] is True
    assert req(35, ctx(0, b"D") + cons(1, file_name("f")))[1]["fileName"] == ["f"]
    assert req(36, b"D", False)[1] == "D"
    assert req(37, b"DTLogFilesDomain", False)[1] == "DTLogFilesDomain"
    _, v = resp(37, cons(0) + ctx(1, b"\x02") + ctx(2, b"\x00") + ctx(3, b"\x01") +
                cons(4, vstr("PI1")) + ctx(5, b"\x00"))
    assert v == {"listOfCapabilities": [], "state": "ready", "mmsDeletable": False, "sharable": True,
                 "listOfProgramInvocations": ["PI1"], "uploadInProgress": 0}


def test_program_invocations():
    _, v = req(38, ctx(0, b"PI") + cons(1, vstr("D1")) + ctx(2, b"\x00"))
    assert v == {"programInvocationName": "PI", "listOfDomainName": ["D1"], "reusable": False}
    assert req(39, b"PI", False)[1] == "PI"
    assert req(40, ctx(0, b"PI") + ctx(1, b"arg"))[1] == {
        "programInvocationName": "PI", "executionArgument": {"simpleString": "arg"}}
    for num in (41, 43, 44):
        assert req(num, ctx(0, b"PI"))[1] == {"programInvocationName": "PI"}
    assert req(42, ctx(0, b"PI"))[1] == {"programInvocationName": "PI"}
    for num in range(38, 45):
        assert resp(num, b"", False)[1] is None
    assert req(45, b"PI", False)[1] == "PI"
    _, v = resp(45, ctx(0, b"\x03") + cons(1, vstr("D")) + ctx(2, b"\x01") + ctx(3, b"\x01") +
                ctx(4, b"\x00") + ctx(5, b"go"))
    assert v == {"state": "running", "listOfDomainNames": ["D"], "mmsDeletable": True,
                 "reusable": True, "monitor": False, "startArgument": "go"}


# ------------------------------------------------------------------ events, journals

def test_event_conditions():
    _, v = req(47, cons(0, object_name("EC")) + ctx(1, b"\x01") + ctx(2, b"\x40") +
               cons(6, cons(0, object_name("LD0/v"))))
    assert v == {"eventConditionName": {"vmd-specific": "EC"}, "class": "monitored", "priority": 64,
                 "monitoredVariable": {"name": {"domain-specific": {"domainId": "LD0", "itemId": "v"}}}}
    assert req(48, cons(0, object_name("EC")))[1] == {"specific": [{"vmd-specific": "EC"}]}
    assert req(48, ctx(3))[1] == {"vmd": None}
    assert resp(48, b"\x00", False)[1] == 0
    assert req(49, object_name("EC"))[1] == {"vmd-specific": "EC"}
    _, v = resp(49, ctx(1, b"\x00") + cons(6, ctx(1)))
    assert v == {"class": "network-triggered", "monitoredVariable": {"undefined": None}}
    assert req(50, object_name("EC"))[1] == {"vmd-specific": "EC"}
    _, v = resp(50, ctx(0, b"\x02") + ctx(1, b"\x01") + cons(3, ctx(1, b"\x05")))
    assert v == {"currentState": "active", "numberOfEventEnrollments": 1,
                 "timeOfLastTransitionToActive": {"timeSequenceIdentifier": 5}}
    assert req(51, cons(0, object_name("EC")) + ctx(1, b"\x01"))[1]["enabled"] is True
    assert req(52, cons(0, object_name("EC")) + ctx(1, b"\x05"))[1]["priority"] == 5


def test_event_actions_and_enrollments():
    nested = cons(2, ctx(5, list_of_variable("LD0/x") + cons(0, data({"boolean": True})), True))
    _, v = req(53, cons(0, object_name("EA")) + nested)
    assert v["confirmedServiceRequest"]["write"]["listOfData"] == [{"boolean": True}]
    assert req(54, ctx(3, b"D"))[1] == {"domain": "D"}
    assert resp(54, b"\x01", False)[1] == 1
    assert req(55, object_name("EA"))[1] == {"vmd-specific": "EA"}
    assert resp(55, ctx(0, b"\x00") + cons(1))[1] == {"mmsDeletable": False, "listOfModifier": []}
    assert req(56, object_name("EA"))[1] == {"vmd-specific": "EA"}
    assert resp(56, b"\x02", False)[1] == 2
    _, v = req(57, cons(0, object_name("EE")) + cons(1, object_name("EC")) +
               ctx(2, bits_content("0000011")) + ctx(3, b"\x01"))
    assert v["eventConditionTransitions"] == ["idle-to-active", "any-to-deleted"]
    assert v["alarmAcknowledgementRule"] == "simple"
    assert req(58, cons(1, object_name("EC")))[1] == {"ec": {"vmd-specific": "EC"}}
    assert req(59, cons(0, object_name("EE")) + ctx(2, b"\x03"))[1]["alarmAcknowledgmentRule"] == "ack-all"
    _, v = resp(59, cons(0, ctx(0, b"\x07")) + cons(1, ctx(0, bytes.fromhex("0123456701f4"))))
    assert v["currentState"] == {"state": "activeAcked"}
    assert v["transitionTime"]["timeOfDayT"]["days"] == 500
    assert req(60, object_name("EE"))[1] == {"vmd-specific": "EE"}
    _, v = resp(60, ctx(0, bits_content("1")) + ctx(2, b"\x01") + ctx(4, b"\x02"))
    assert v == {"eventConditionTransitions": ["idle-to-disabled"], "duration": "permanent",
                 "currentState": "active"}
    assert req(61, ctx(0, b"\x00"))[1] == {"scopeOfRequest": "specific"}
    ee = seq(cons(0, object_name("EE")), cons(1, ctx(1)), ctx(5, b"\x01"), ctx(7, b"\x09"))
    _, v = resp(61, cons(0, ee))
    assert v == {"listOfEventEnrollment": [{"eventEnrollmentName": {"vmd-specific": "EE"},
                                            "eventConditionName": {"undefined": None},
                                            "enrollmentClass": "notification", "invokeID": 9}],
                 "moreFollows": False}
    _, v = req(62, cons(0, object_name("EE")) + ctx(2, b"\x01") + cons(3, ctx(1, b"\x01")))
    assert v["acknowledgedState"] == "idle"
    _, v = req(63, ctx(0, b"\x00") + ctx(1, b"\x00") + cons(3, ctx(0, b"\x01"), ctx(1, b"\x7f")))
    assert v == {"enrollmentsOnly": False, "activeAlarmsOnly": False,
                 "severityFilter": {"mostSevere": 1, "leastSevere": 127}}
    summary = seq(cons(0, object_name("EC")), ctx(1, b"\x05"), ctx(2, b"\x02"), ctx(3, b"\x03"))
    assert resp(63, cons(0, summary))[1]["listOfAlarmSummary"][0]["unacknowledgedState"] == "both"
    assert req(64, ctx(2, b"\x02"))[1] == {"acknowledgmentFilter": "all"}
    aes = seq(cons(0, object_name("EE")), ctx(3, b"\x01"), ctx(4, b"\x00"))
    assert resp(64, cons(0, aes))[1]["listOfAlarmEnrollmentSummary"][0]["currentState"] == "disabled"


def test_journals():
    _, v = req(65, cons(0, object_name("LD0/Log")) + cons(1, ctx(0, bytes.fromhex("00000064"))) +
               cons(2, ctx(1, b"\x0a")) + cons(5, ctx(0, bytes.fromhex("00000000")), ctx(1, b"\x01")))
    assert v["journalName"] == {"domain-specific": {"domainId": "LD0", "itemId": "Log"}}
    assert v["rangeStartSpecification"] == {"startingTime": {"epoch": None, "ms_of_day": 100, "days": None}}
    assert v["rangeStopSpecification"] == {"numberOfEntries": 10}
    assert v["entryToStartAfter"]["entrySpecification"] == "01"
    content = (ctx(0, bytes.fromhex("000000640001")) +
               cons(2, cons(1, seq(ctx(0, b"LD0/v"), cons(1, data({"integer": 5}))))))
    entry = seq(ctx(0, b"\x01"), cons(1, seq()), ctx(2, content, True))
    _, v = resp(65, cons(0, entry) + ctx(1, b"\x01"))
    je = v["listOfJournalEntry"][0]
    assert je["entryIdentifier"] == "01"
    assert je["entryContent"]["data"]["listOfVariables"] == [
        {"variableTag": "LD0/v", "valueSpecification": {"integer": 5}}]
    assert je["entryContent"]["occurrenceTime"]["days"] == 1
    assert v["moreFollows"] is True
    _, v = req(66, cons(0, object_name("J")) + cons(1, seq(ctx(0, b"\x00\x00\x00\x01"), ctx(3, b"note"))))
    assert v["listOfJournalEntry"][0]["annotation"] == "note"
    assert req(67, cons(0, object_name("J")))[1] == {"journalName": {"vmd-specific": "J"}}
    assert resp(67, b"\x05", False)[1] == 5
    assert req(68, object_name("J"))[1] == {"vmd-specific": "J"}
    assert resp(68, ctx(0, b"\x10") + ctx(1, b"\x00"))[1] == {"currentEntries": 16, "mmsDeletable": False}
    assert req(69, cons(0, object_name("J")))[1] == {"journalName": {"vmd-specific": "J"}}
    assert req(70, cons(0, object_name("J")))[1] == {"journalName": {"vmd-specific": "J"}}


def test_event_notification():
    action = cons(8, object_name("EA"), cons(0, ctx(3, b"", False)))   # success: rename (NULL)
    body = (cons(0, object_name("EE")) + cons(1, cons(0, object_name("EC"))) + ctx(2, b"\x05") +
            cons(4, ctx(1, b"\x03")) + action)
    p = decode_mms(unconfirmed(2, body))
    v = p.detail["unconfirmed-PDU"]["unconfirmedService"]["eventNotification"]
    assert v["eventConditionName"] == {"eventCondition": {"vmd-specific": "EC"}}
    assert v["severity"] == 5
    assert v["transitionTime"] == {"timeSequenceIdentifier": 3}
    assert v["actionResult"] == {"eventActionName": {"vmd-specific": "EA"},
                                 "eventActionResult": {"success": {"rename": None}}}
    failure = cons(8, object_name("EA"), cons(1, service_error(7, 3)))
    p = decode_mms(unconfirmed(2, cons(0, object_name("EE")) + cons(1, ctx(1)) + ctx(2, b"\x01") +
                               cons(4, ctx(1, b"\x00")) + failure))
    v = p.detail["unconfirmed-PDU"]["unconfirmedService"]["eventNotification"]
    assert v["actionResult"]["eventActionResult"] == {
        "failure": {"errorClass": {"access": "object-access-denied"}}}


# ------------------------------------------------------------------ coverage of the dispatch

def test_every_service_has_request_and_response_decoders():
    for num, name in CONFIRMED_SERVICES.items():
        assert num in REQUESTS and num in RESPONSES, name


@pytest.mark.parametrize("num", sorted(CONFIRMED_SERVICES))
def test_every_service_decodes_or_raises_decode_error_on_empty_body(num):
    for builder in (confirmed_request, confirmed_response):
        for constructed in (True, False):
            try:
                p = decode_mms(builder(1, num, b"", constructed))
            except DecodeError:
                continue
            assert p.service == CONFIRMED_SERVICES[num]


def test_generic_services_keep_a_tree():
    assert "exchangeData" in GENERIC_SERVICES
    p, v = req(81, ctx(0, b"\x01") + cons(1, ctx(0, b"x")))
    assert v == [{"[0]": "01"}, {"[1]": [{"[0]": "78"}]}]


def test_unknown_components_are_kept_generically():
    _, v = req(72, cons(0, file_name("f")) + ctx(1, b"\x00") + ctx(9, b"\xaa"))
    assert v == {"fileName": ["f"], "initialPosition": 0, "[9]": "aa"}


def test_filename_graphicstring_utf8_and_latin1():
    _, v = req(76, gstr("ä.txt") + tlv(0x19, b"\xe4"))
    assert v == ["ä.txt", "ä"]
