"""MMS Data values, TypeDescription helpers, IEC 61850 references; hypothesis round trips."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ber_encode as E
from mmsanalyze.errors import DecodeError, Malformed
from mmsanalyze.mms import (bitstring_hex, decode_data, decode_mms, iec61850_reference,
                            type_description)
from mmsanalyze.mms.data import data_typed


def roundtrip(typed):
    buf = E.data(typed)
    t, cs, ce = buf[0], None, None
    name, plain = decode_data(buf, 0, len(buf))
    from mmsanalyze.mms._tlv import hdr
    t, cs, ce = hdr(buf, 0, len(buf))
    _, _, back = data_typed(buf, t, cs, ce)
    return name, plain, {name: back}


def to_plain(typed):
    (kind, v), = typed.items()
    if kind in ("structure", "array"):
        return [to_plain(x) for x in v]
    return v


# ------------------------------------------------------------------ vectors

@pytest.mark.parametrize("typed", [
    {"boolean": True}, {"boolean": False},
    {"bit-string": {"bits": ""}}, {"bit-string": {"bits": "0110"}},
    {"bit-string": {"bits": "0000000000000"}},
    {"integer": 0}, {"integer": -1}, {"integer": 2 ** 63 - 1}, {"integer": -(2 ** 63)},
    {"unsigned": 0}, {"unsigned": 255}, {"unsigned": 2 ** 32 - 1},
    {"floating-point": 1.5}, {"floating-point": -0.1}, {"floating-point": math.inf},
    {"octet-string": ""}, {"octet-string": "00ff10"},
    {"visible-string": ""}, {"visible-string": "IED1LD0/LLN0$ST$Mod"},
    {"generalized-time": "20201021080434.000Z"},
    {"binary-time": {"epoch": None, "ms_of_day": 1000, "days": None}},
    {"binary-time": {"epoch": (14661 + 5113) * 86400 + 74755799 / 1000.0, "ms_of_day": 74755799,
                     "days": 14661}},
    {"bcd": 1234}, {"booleanArray": {"bits": "101"}}, {"objId": "1.0.9506.2.1"},
    {"mMSString": "Grüße"},
    {"utc-time": {"utc": 1600000000 + 0x800000 / 16777216.0, "fraction": 0x800000, "quality": 0x0A}},
    {"structure": []}, {"array": [{"integer": 1}, {"integer": 2}]},
    {"structure": [{"structure": [{"floating-point": 230.5}]}, {"bit-string": {"bits": "0000000000000"}},
                   {"utc-time": {"utc": 0.0, "fraction": 0, "quality": 0}}]},
])
def test_data_vectors(typed):
    name, plain, back = roundtrip(typed)
    assert name == next(iter(typed))
    assert back == typed
    assert plain == to_plain(typed)


def test_float_single_and_double():
    assert decode_data(bytes.fromhex("87050841200000"), 0, 7) == ("floating-point", 10.0)
    assert decode_data(b"\x87\x09\x0b" + struct.pack(">d", 0.1), 0, 11) == ("floating-point", 0.1)
    with pytest.raises(Malformed) as ei:
        decode_data(bytes.fromhex("8703084120"), 0, 5)
    assert ei.value.code == "mms.malformed.float"


def test_bad_leaf_lengths():
    for raw in ["8302ffff", "8300", "8500", "8600", "9107" + "00" * 7, "8c03000000", "8400",
                "840208ff", "8f00", "8f0181"]:
        b = bytes.fromhex(raw)
        with pytest.raises(DecodeError):
            decode_data(b, 0, len(b))


def test_unknown_data_tag():
    with pytest.raises(Malformed) as ei:
        decode_data(b"\x80\x00", 0, 2)
    assert ei.value.code == "mms.malformed.data_tag"
    with pytest.raises(Malformed):
        decode_data(b"\xa2\x02\x92\x00", 0, 4)


def test_unsigned_without_leading_zero_is_read_unsigned():
    assert decode_data(b"\x86\x01\xff", 0, 3) == ("unsigned", 255)
    assert decode_data(b"\x85\x01\xff", 0, 3) == ("integer", -1)


def test_bitstring_hex():
    assert bitstring_hex({"bits": ""}) == ""
    assert bitstring_hex({"bits": "0110"}) == "60"
    assert bitstring_hex({"bits": "0000000000000"}) == "0000"
    assert bitstring_hex({"bits": "0111101010"}) == "7a80"
    assert bitstring_hex("1") == "80"


def test_type_description_direct():
    buf = bytes.fromhex("a706020120020108")
    assert type_description(buf, 0xA7, 2, len(buf)) == {
        "floating-point": {"format-width": 32, "exponent-width": 8}}


@pytest.mark.parametrize("domain,item,ref", [
    ("IED1LD0", "MMXU1$MX$TotW$mag$f", "IED1LD0/MMXU1.TotW.mag.f [MX]"),
    ("LD0", "LLN0", "LD0/LLN0"),
    ("LD0", "LLN0$ST", "LD0/LLN0 [ST]"),
    ("LD0", "LLN0$BR$brcb01", "LD0/LLN0.brcb01 [BR]"),
    ("LD0", "GGIO1$CO$SPCSO1$Oper$ctlVal", "LD0/GGIO1.SPCSO1.Oper.ctlVal [CO]"),
    ("LD0", "LLN0$DataSet1", None),
    ("LD0", "", None),
    (None, "XCBR1$ST$Pos", "XCBR1.Pos [ST]"),
    ("LD0", "XCBR1$ST$$Pos", None),
])
def test_iec61850_reference(domain, item, ref):
    assert iec61850_reference(domain, item) == ref


# ------------------------------------------------------------------ hypothesis

def _epoch(days, ms):
    return None if days is None else (days + 5113) * 86400 + ms / 1000.0


def _oid():
    return st.tuples(st.integers(0, 2), st.integers(0, 39),
                     st.lists(st.integers(0, 2 ** 40), max_size=5)).map(
        lambda t: ".".join(str(x) for x in (t[0], t[1], *t[2])))


_bits = st.text("01", max_size=40).map(lambda s: {"bits": s})
_leaf = st.one_of(
    st.booleans().map(lambda v: {"boolean": v}),
    _bits.map(lambda v: {"bit-string": v}),
    st.integers(-2 ** 70, 2 ** 70).map(lambda v: {"integer": v}),
    st.integers(0, 2 ** 64).map(lambda v: {"unsigned": v}),
    st.floats(width=32, allow_nan=False).map(lambda v: {"floating-point": v}),
    st.floats(allow_nan=False).map(lambda v: {"floating-point": v}),
    st.binary(max_size=24).map(lambda v: {"octet-string": v.hex()}),
    st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=24).map(
        lambda v: {"visible-string": v}),
    st.text("0123456789.Z", max_size=20).map(lambda v: {"generalized-time": v}),
    st.tuples(st.integers(0, 2 ** 32 - 1), st.one_of(st.none(), st.integers(0, 65535))).map(
        lambda t: {"binary-time": {"epoch": _epoch(t[1], t[0]), "ms_of_day": t[0], "days": t[1]}}),
    st.integers(0, 10 ** 12).map(lambda v: {"bcd": v}),
    _bits.map(lambda v: {"booleanArray": v}),
    _oid().map(lambda v: {"objId": v}),
    st.text(max_size=24).map(lambda v: {"mMSString": v}),
    st.tuples(st.integers(0, 2 ** 32 - 1), st.integers(0, 2 ** 24 - 1), st.integers(0, 255)).map(
        lambda t: {"utc-time": {"utc": t[0] + t[1] / 16777216.0, "fraction": t[1], "quality": t[2]}}),
)
data_values = st.recursive(
    _leaf,
    lambda kids: st.one_of(st.lists(kids, max_size=6).map(lambda v: {"structure": v}),
                           st.lists(kids, max_size=6).map(lambda v: {"array": v})),
    max_leaves=40)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data_values)
def test_data_roundtrip(typed):
    name, plain, back = roundtrip(typed)
    assert back == typed
    assert plain == to_plain(typed)


_ident = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="/@"),
                 min_size=1, max_size=20)
_names = st.one_of(_ident, st.tuples(_ident, _ident).map("/".join), _ident.map(lambda s: "@" + s))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2 ** 32 - 1), st.lists(_names, min_size=1, max_size=5),
       st.lists(st.one_of(data_values, st.integers(0, 11).map(lambda c: {"failure": c})), max_size=6),
       st.sampled_from(["read-response", "report", "write"]))
def test_random_pdus(iid, names, items, kind):
    from mmsanalyze.mms import DATA_ACCESS_ERRORS
    def enc(x):
        return E.ctx(0, bytes([x["failure"]])) if "failure" in x else E.data(x)
    def exp(x):
        return {"failure": DATA_ACCESS_ERRORS[x["failure"]]} if "failure" in x else to_plain(x)
    if kind == "read-response":
        pdu = E.confirmed_response(iid, 4, E.cons(0, E.list_of_variable(*names)) +
                                   E.cons(1, *(enc(x) for x in items)))
        p = decode_mms(pdu)
        assert (p.pdu, p.service, p.invoke_id) == ("confirmed-ResponsePDU", "read", iid)
        assert p.access_results == tuple(exp(x) for x in items)
    elif kind == "report":
        pdu = E.unconfirmed(0, E.list_of_variable(*names) + E.cons(0, *(enc(x) for x in items)))
        p = decode_mms(pdu)
        assert p.service == "informationReport"
        assert p.access_results == tuple(exp(x) for x in items)
    else:
        values = [x for x in items if "failure" not in x]
        pdu = E.confirmed_request(iid, 5, E.list_of_variable(*names) +
                                  E.cons(0, *(E.data(x) for x in values)))
        p = decode_mms(pdu)
        body = p.detail["confirmed-RequestPDU"]["confirmedServiceRequest"]["write"]
        assert body["listOfData"] == values
    assert p.variables == tuple(names)
    assert p.end == len(pdu)
