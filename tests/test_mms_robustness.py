"""Hostile input: only mmsanalyze.errors.DecodeError subclasses may come out, bounded work."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ber_encode as E
from mmsanalyze.errors import DecodeError, Malformed, Truncated
from mmsanalyze.mms import decode_data, decode_mms, looks_like_mms, mms_envelope

#: Valid PDUs: hand-made ones plus a few real ones (public IEC 61850 captures).
CORPUS = [
    E.confirmed_request(7, 4, E.cons(1, E.list_of_variable("LD0/MMXU1$MX$TotW", "x", "@y"))),
    E.confirmed_response(7, 4, E.cons(1, E.data({"structure": [
        {"structure": [{"floating-point": 1.5}]}, {"bit-string": {"bits": "0" * 13}},
        {"utc-time": {"utc": 1.0, "fraction": 0, "quality": 0}}]}), E.ctx(0, b"\x0a"))),
    E.unconfirmed(0, E.variable_list_name("RPT") + E.cons(0, E.data({"visible-string": "rcb"}))),
    E.ctx(2, E.ctx(0, b"\x01") + E.ctx(2, E.service_error(7, 2), True), True),
    E.ctx(4, E.ctx(0, b"\x01") + E.ctx(1, b"\x01"), True),
    # initiate-RequestPDU, getNameList request/response, write request (IEC 61850 clients)
    bytes.fromhex("a82580027d00810114820114830104a416800101810305fb00820c036e1d000000000064000198"),
    E.confirmed_request(1, 1, E.cons(0, E.ctx(0, b"\x09")) + E.cons(1, E.ctx(0))),
    E.confirmed_response(1, 1, E.cons(0, E.vstr("LD0"), E.vstr("LD1")) + E.ctx(1, b"\x00")),
    E.confirmed_request(3, 5, E.list_of_variable("LD0/LLN0$BR$brcb$RptEna") +
                        E.cons(0, E.data({"boolean": True}))),
    E.confirmed_response(3, 6, E.ctx(0, b"\x00") + E.cons(2, E.cons(2, E.cons(1, E.seq(
        E.ctx(0, b"f"), E.cons(1, E.cons(7, E.integer(32), E.integer(8)))))))),
    bytes.fromhex("a1820172020104a482016ba1820167a205a203850100a237a2268a008a01478a1f437573746f6d65722"
                  "0696e666f726d6174696f6e204e616d6520706c617465a20d8a034142428a008a008a008a00a281e6a2"
                  "768a0b5245783631353a323031348a23524578363135204d4943533a323031343e4945432036313835"
                  "302d372d343a323030338a164142424945443630305f4c504c5f4c44305f4c494e468a044645313"
                  "28a065245463631358a07352e30204650318a01308a01308a01308a01308a01308a01308a0130a26c8"
                  "a23524578363135204d4943533a323031343e4945432036313835302d372d343a323030338a164142"
                  "424945443630305f44504c5f656570726f6d5f328a008a008a008a008a008a2352457836313520"
                  "4d4943533a323031343e4945432036313835302d372d343a32303033a23ca212850101840303000"
                  "091085c53d68a3c2d763fa212850101840303000091085c53d68a3c2d763fa21285010184030300"
                  "0091085c53d68a3c2d763f"),
    bytes.fromhex("a054a1058003525054a04b8a074576656e7473318403067a808601008c060474aed739458a1e4945"
                  "44315f5843425247656e65726963494f2f4c4c4e30244576656e747383010186010184020780840"
                  "2068084020240"),
]


def _valid_corpus():
    out = []
    for b in CORPUS:
        try:
            decode_mms(b)
            out.append(b)
        except DecodeError:
            pass
    return out


VALID = _valid_corpus()


def test_corpus_is_valid():
    assert len(VALID) >= 8


def run_all(buf, off=0, end=None):
    """Exercise every entry point; return normally or raise DecodeError."""
    end = len(buf) if end is None else end
    assert looks_like_mms(buf, off, end) in (True, False)
    try:
        mms_envelope(buf, off, end)
    except DecodeError:
        pass
    try:
        decode_data(buf, off, end)
    except DecodeError:
        pass
    decode_mms(buf, off, end)


def check(buf):
    try:
        run_all(buf)
    except DecodeError:
        pass


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(buf):
    check(buf)


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(VALID))), st.lists(st.tuples(st.integers(0, 10 ** 6),
                                                              st.integers(0, 255)), min_size=1,
                                                    max_size=4))
def test_byte_flips(idx, flips):
    buf = bytearray(VALID[idx])
    for pos, val in flips:
        buf[pos % len(buf)] = val
    check(bytes(buf))


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(VALID))), st.integers(0, 10 ** 6), st.binary(min_size=1, max_size=8))
def test_insertions(idx, pos, ins):
    buf = VALID[idx]
    pos %= len(buf)
    check(buf[:pos] + ins + buf[pos:])


def test_every_prefix_is_truncated():
    for buf in VALID:
        for n in range(len(buf)):
            with pytest.raises(DecodeError):
                decode_mms(buf[:n])
            with pytest.raises(DecodeError):
                mms_envelope(buf[:n])
            assert not looks_like_mms(buf[:n], 0, n)


def test_exhaustive_single_byte_values_at_each_position():
    for buf in VALID[:6]:
        for pos in range(len(buf)):
            for v in (0x00, 0x1F, 0x30, 0x7F, 0x80, 0x81, 0x84, 0x85, 0xA0, 0xA2, 0xBF, 0xFF):
                b = bytearray(buf)
                b[pos] = v
                check(bytes(b))


def _nest(tag, depth, leaf=b"\x85\x01\x01"):
    content = leaf
    for _ in range(depth):
        content = E.tlv(tag, content)
    return content


def test_deep_data_nesting_is_malformed():
    deep = _nest(0xA2, 10000)
    with pytest.raises(Malformed) as ei:
        decode_data(deep, 0, len(deep))
    assert "nesting" in ei.value.code
    pdu = E.confirmed_response(1, 4, E.cons(1, deep))
    with pytest.raises(Malformed) as ei:
        decode_mms(pdu)
    assert "nesting" in ei.value.code
    pdu = E.unconfirmed(0, E.variable_list_name("R") + E.cons(0, _nest(0xA1, 10000)))
    with pytest.raises(Malformed) as ei:
        decode_mms(pdu)
    assert "nesting" in ei.value.code


def test_moderate_nesting_is_fine():
    shallow = _nest(0xA2, 50)
    name, value = decode_data(shallow, 0, len(shallow))
    assert name == "structure"
    for _ in range(49):
        value = value[0]
    assert value == [1]


def test_deep_type_description_and_alternate_access_are_malformed():
    t = E.ctx(3)
    for _ in range(5000):
        t = E.cons(1, E.ctx(1, b"\x01"), E.cons(2, t))                 # array of array of ...
    pdu = E.confirmed_response(1, 6, E.ctx(0, b"\x00") + E.cons(2, t))
    with pytest.raises(Malformed) as ei:
        decode_mms(pdu)
    assert "nesting" in ei.value.code
    items = E.ctx(1, b"x")                                      # selectAccess component
    for _ in range(5000):
        items = E.cons(0, E.ctx(0, b"c"), E.seq(items))         # selectAlternateAccess
    item = E.seq(E.cons(0, E.object_name("x")), E.ctx(5, items, True))
    pdu = E.confirmed_request(1, 4, E.cons(1, E.cons(0, item)))
    with pytest.raises(Malformed) as ei:
        decode_mms(pdu)
    assert "nesting" in ei.value.code


def test_deep_generic_tree_is_malformed():
    deep = _nest(0xA0, 5000, b"")
    pdu = E.confirmed_request(1, 81, deep)                 # exchangeData: generic tree
    with pytest.raises(Malformed) as ei:
        decode_mms(pdu)
    assert "nesting" in ei.value.code


def test_indefinite_length_decoded_like_definite():
    """X.690 8.1.3.6: an indefinite length (0x80 ... 00 00) decodes to the same PDU as the
    definite form, as tshark decodes both; ``end`` points past the end-of-contents."""
    definite = b"\xa0\x05\x02\x01\x01\x82\x00"
    indefinite = b"\xa0\x80\x02\x01\x01\x82\x00\x00\x00"
    a, b = decode_mms(definite), decode_mms(indefinite + b"\xff")
    assert (a.pdu, a.service, a.invoke_id, a.detail) == (b.pdu, b.service, b.invoke_id, b.detail)
    assert b.end == len(indefinite)
    inner_def = b"\xa2\x03\x85\x01\x01"
    inner_indef = b"\xa2\x80\x85\x01\x01\x00\x00"
    pdus = [E.ctx(1, E.integer(1) + E.ctx(4, E.ctx(1, x, True), True), True)
            for x in (inner_def, inner_indef)]
    a, b = decode_mms(pdus[0]), decode_mms(pdus[1])
    assert a.detail == b.detail and a.access_results == b.access_results
    assert mms_envelope(pdus[1]) == mms_envelope(pdus[0])


def test_indefinite_length_without_end_of_contents_is_truncated():
    for buf in [b"\xa0\x80\x02\x01\x01\x82\x00",            # no 00 00 at all
                b"\xa0\x80\x02\x01\x01\x82\x00\x00"]:       # one 00: cut inside the EOC
        with pytest.raises(Truncated) as ei:
            decode_mms(buf)
        assert ei.value.code == "ber.truncated.indefinite_length"
    with pytest.raises(Malformed) as ei:                        # primitive indefinite
        decode_mms(b"\xa0\x80\x02\x80\x01\x00\x00")
    assert "indefinite" in ei.value.code


def test_lengths_past_the_buffer_rejected():
    with pytest.raises(Truncated):
        decode_mms(b"\xa0\x10\x02\x01\x01")
    with pytest.raises(Truncated):
        decode_mms(b"\xa0\x84\xff\xff\xff\xff\x02")
    with pytest.raises(Malformed):
        decode_mms(b"\xa0\x85\x00\x00\x00\x00\x01\x00")     # 5 length octets
    # inner length running past its parent
    pdu = bytes.fromhex("a10a020101a405a1038505")
    with pytest.raises(Truncated):
        decode_mms(pdu)
    # end= shorter than the buffer is respected
    good = VALID[0]
    with pytest.raises(Truncated):
        decode_mms(good + b"\x00" * 10, 0, len(good) - 1)


def test_many_elements_are_linear():
    n = 30000
    pdu = E.confirmed_response(1, 4, E.cons(1, E.ctx(1, b"\xa2\x00" * n, True)))
    assert len(pdu) < 65536
    t = time.perf_counter()
    p = decode_mms(pdu)
    small = time.perf_counter() - t
    assert len(p.access_results[0]) == n
    pdu2 = E.confirmed_response(1, 4, E.cons(1, E.ctx(1, b"\xa2\x00" * (4 * n), True)))
    t = time.perf_counter()
    decode_mms(pdu2)
    big = time.perf_counter() - t
    assert big < 12 * small + 0.5                          # ~4x, never quadratic


def test_many_top_level_names_are_linear():
    names = [f"LD0/V{i}" for i in range(3000)]
    pdu = E.confirmed_request(1, 4, E.cons(1, E.list_of_variable(*names)))
    p = decode_mms(pdu)
    assert p.variables == tuple(names)


def test_indefinite_data_value_and_goose_all_data():
    from mmsanalyze.goose import decode_all_data
    indef = bytes.fromhex("a280" "850105" "a280" "8301ff" "0000" "0000")       # structure{5, structure{T}}
    definite = bytes.fromhex("a208" "850105" "a203" "8301ff")
    assert decode_data(indef, 0, len(indef)) == decode_data(definite, 0, len(definite)) == \
        ("structure", [5, [True]])
    tail = bytes.fromhex("850107")
    assert decode_all_data(indef + tail, 0, len(indef) + 3) == ([[5, [True]], 7], ["structure", "integer"])
