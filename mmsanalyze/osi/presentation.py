"""Presentation layer -- ISO 8823-1 / X.226 PPDUs (BER, normal mode).

Decodes CP, CPA, CPR, ARU, ARP and the user data of data transfer (TD:
fully-encoded-data).  Each returns a :class:`PresPdu` whose ``pdvs`` are
``(context_id, start, end)`` offsets of the presentation data values inside the
given buffer -- the bytes are not copied.  The presentation-context table of a
connection is learned from CP (definition list) and CPA (result list); the MMS
and ACSE contexts are found by abstract-syntax OID, never by a fixed id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ber import (read_header, read_header_lenient, children, children_clamped, definite_tlv,
                   read_int, read_oid, app)
from ..errors import DecodeError, Malformed, Truncated

MMS_OID = "1.0.9506.2.1"       # ISO 9506-2 mms-abstract-syntax-version1
MMS_OID_V0 = "1.0.9506.2.3"    # mms-abstract-syntax-version1 (ISO 9506-2 Annex, some stacks)
ACSE_OID = "2.2.1.0.1"         # X.227 acse-as-id
BER_OID = "2.1.1"              # basic encoding of a single ASN.1 type
SYNTAX_NAMES = {MMS_OID: "mms", MMS_OID_V0: "mms", ACSE_OID: "acse"}

SET = 0x31
SEQ = 0x30
INT = 0x02
OID = 0x06
FULLY_ENCODED = app(1, True)        # 0x61
SIMPLY_ENCODED = app(0)             # 0x40
RESULT_NAMES = {0: "acceptance", 1: "user-rejection", 2: "provider-rejection"}
PROVIDER_REASONS = {0: "reason-not-specified", 1: "temporary-congestion", 2: "local-limit-exceeded",
                    3: "called-presentation-address-unknown", 4: "protocol-version-not-supported",
                    5: "default-context-not-supported", 6: "user-data-not-readable",
                    7: "no-PSAP-available"}
ABORT_REASONS = {0: "reason-not-specified", 1: "unrecognized-ppdu", 2: "unexpected-ppdu",
                 3: "unexpected-session-service-primitive", 4: "unrecognized-ppdu-parameter",
                 5: "unexpected-ppdu-parameter", 6: "invalid-ppdu-parameter-value"}


@dataclass(slots=True)
class PresPdu:
    """One decoded PPDU.  ``pdvs``: ((context_id or None, start, end), ...) into the buffer."""

    name: str                        # CP, CPA, CPR, TD, ARU, ARP
    pdvs: list = field(default_factory=list)
    contexts: dict = field(default_factory=dict)   # CP: {id: abstract-syntax OID}
    results: list = field(default_factory=list)    # CPA/CPR: result names in definition-list order
    detail: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)   # (offset, message) of tolerated faults
    #: the buffer ``pdvs`` point into: the one given, or its definite-length re-encoding
    #: when the PPDU used indefinite lengths (X.690 8.1.3.6)
    buf: bytes | None = None


def _definite(buf):
    """``buf`` with its leading element re-encoded with definite lengths, or None if it has none."""
    conv = definite_tlv(buf, 0, len(buf))
    if conv is None:
        return None
    octets, end = conv
    return octets + bytes(buf[end:])


def _user_data(buf, tag: int, cs: int, ce: int, out: PresPdu) -> bool:
    """Fill ``out.pdvs`` from a User-data CHOICE element; False if ``tag`` is not user data."""
    if tag == FULLY_ENCODED:
        for t, s, e in children_clamped(buf, cs, ce, out.problems):
            if t != SEQ:
                raise Malformed(f"PDV-list expected, found tag 0x{t:02x}", s, "pres")
            cid = None
            for t2, s2, e2 in children_clamped(buf, s, e, out.problems):
                if t2 == INT:
                    cid = read_int(buf, s2, e2)
                elif t2 == OID:
                    out.detail["transfer-syntax-name"] = read_oid(buf, s2, e2)
                elif t2 in (0xA0, 0x81, 0x82):   # single-ASN1-type / octet-aligned / arbitrary
                    out.pdvs.append((cid, s2, e2))
        return True
    if tag == SIMPLY_ENCODED:
        out.pdvs.append((None, cs, ce))
        return True
    return False


def parse_user_data(buf) -> PresPdu:
    """Data transfer (TD) user data: a bare fully-encoded-data element."""
    # Fast path for the one shape every MMS data transfer has (X.226 8.4.2):
    # 61 L { 30 L { 02 L context-id, a0 L single-ASN1-type } } filling the buffer exactly.
    n = len(buf)
    try:
        tag, cs, ce = read_header(buf, 0, n)
        if tag == FULLY_ENCODED and ce == n:
            t, s, e = read_header(buf, cs, ce)
            if t == SEQ and e == ce:
                t2, s2, e2 = read_header(buf, s, e)
                if t2 == INT:
                    t3, s3, e3 = read_header(buf, e2, e)
                    if t3 == 0xA0 and e3 == e:
                        return PresPdu("TD", [(read_int(buf, s2, e2), s3, e3)])
    except DecodeError:
        pass                               # the lenient walk below reports what is wrong
    conv = _definite(buf)
    if conv is not None:
        buf = conv
    out = PresPdu("TD", buf=buf)
    first = next(children_clamped(buf, 0, len(buf), out.problems), None)
    if first is None:
        raise Truncated("presentation user data cut short", 0, "pres")
    tag, cs, ce = first
    if not _user_data(buf, tag, cs, ce, out):
        raise Malformed(f"presentation user data has tag 0x{tag:02x}", 0, "pres")
    return out


def _context_list(buf, cs, ce, out: PresPdu) -> None:
    for t, s, e in children(buf, cs, ce):
        cid = oid = None
        for t2, s2, e2 in children(buf, s, e):
            if t2 == INT:
                cid = read_int(buf, s2, e2)
            elif t2 == OID and oid is None:
                oid = read_oid(buf, s2, e2)
        if cid is not None and oid is not None:
            out.contexts[cid] = oid


def _result_list(buf, cs, ce, out: PresPdu) -> None:
    for t, s, e in children(buf, cs, ce):
        res = None
        for t2, s2, e2 in children(buf, s, e):
            if t2 == 0x80:
                try:
                    res = RESULT_NAMES.get(read_int(buf, s2, e2), "unknown")
                except DecodeError:
                    out.problems.append((s2, "empty presentation result (X.226 8.2.x requires a value)"))
                    res = "acceptance?"
        out.results.append(res)


def _normal_mode(buf, cs: int, ce: int, out: PresPdu) -> None:
    for t, s, e in children_clamped(buf, cs, ce, out.problems):
        if t == 0xA4:
            _context_list(buf, s, e, out)
        elif t == 0xA5:
            _result_list(buf, s, e, out)
        elif t in (0x81, 0x82, 0x83):
            key = {0x81: "calling-presentation-selector", 0x82: "called-presentation-selector",
                   0x83: "responding-presentation-selector"}[t]
            out.detail[key] = bytes(buf[s:e]).hex()
        elif t == 0x8A:   # provider-reason (CPR)
            try:
                out.detail["provider-reason"] = PROVIDER_REASONS.get(read_int(buf, s, e), "unknown")
            except DecodeError:
                pass
        else:
            _user_data(buf, t, s, e, out)


_CONNECT_NAMES = {"CN": "CP", "AC": "CPA", "RF": "CPR"}


def parse_ppdu(buf, spdu: str) -> PresPdu:
    """Decode the PPDU in the user data of session SPDU ``spdu`` (CN -> CP, AC -> CPA,
    RF -> CPR, AB -> ARU/ARP, FN/DN -> data)."""
    conv = _definite(buf)
    if conv is not None:
        buf = conv
    out = _ppdu(buf, spdu)
    out.buf = buf
    return out


def _ppdu(buf, spdu: str) -> PresPdu:
    problems = []
    # The outer length may overrun the session user data (seen in an altered capture whose
    # inner elements are intact).  Wireshark decodes on; so do we, with a finding.
    tag, cs, ce, overrun = read_header_lenient(buf, 0, len(buf))
    if overrun is not None:
        problems.append((1, "PPDU length exceeds the session user data"))
    in_connect = spdu in _CONNECT_NAMES
    if tag == SET:                        # CP-type or CPA-PPDU (X.226 8.1, 8.2)
        out = PresPdu(_CONNECT_NAMES.get(spdu, "CP"), problems=problems)
        for t, s, e in children_clamped(buf, cs, ce, problems):
            if t == 0xA2:
                try:
                    _normal_mode(buf, s, e, out)
                except DecodeError as err:
                    # keep what we have: tshark gives up here on several real CPAs
                    out.problems.append((err.offset, str(err)))
        return out
    if tag == SEQ:                        # CPR-PPDU normal mode, or ARP-PPDU
        out = PresPdu("CPR" if in_connect else "ARP", problems=problems)
        if in_connect:
            _normal_mode(buf, cs, ce, out)
        else:
            for t, s, e in children(buf, cs, ce):
                if t == 0x80:
                    out.detail["provider-reason"] = ABORT_REASONS.get(read_int(buf, s, e), "unknown")
        return out
    if tag == 0xA0:                       # ARU-PPDU normal mode
        out = PresPdu("ARU")
        for t, s, e in children(buf, cs, ce):
            _user_data(buf, t, s, e, out)
        return out
    if tag in (FULLY_ENCODED, SIMPLY_ENCODED):
        out = PresPdu("TD")
        _user_data(buf, tag, cs, ce, out)
        return out
    raise Malformed(f"unknown PPDU tag 0x{tag:02x}", 0, "pres")
