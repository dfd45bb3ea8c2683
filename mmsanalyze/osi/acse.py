"""ACSE -- ISO 8650-1 / X.227 association control APDUs (AARQ, AARE, RLRQ, RLRE, ABRT).

:func:`parse_acse` returns an :class:`AcseApdu` with the fields analysts look
at (application context, AP titles, AE qualifiers, authentication mechanism and
value, result and diagnostic, release/abort reason) and the offsets of the
user-information EXTERNALs (X.227 7.1.4: an MMS initiate PDU travels there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ber import children, children_clamped, definite_tlv, read_int, read_oid, read_bitstring
from ..errors import DecodeError, Malformed

APDU_NAMES = {0x60: "aarq", 0x61: "aare", 0x62: "rlrq", 0x63: "rlre", 0x64: "abrt"}
AARQ_FIELDS = {0x80: "protocol-version", 0xA1: "application-context-name", 0xA2: "called-AP-title",
               0xA3: "called-AE-qualifier", 0xA4: "called-AP-invocation-identifier",
               0xA5: "called-AE-invocation-identifier", 0xA6: "calling-AP-title",
               0xA7: "calling-AE-qualifier", 0xA8: "calling-AP-invocation-identifier",
               0xA9: "calling-AE-invocation-identifier", 0x8A: "sender-acse-requirements",
               0x8B: "mechanism-name", 0xAC: "calling-authentication-value",
               0xAD: "application-context-name-list", 0xBD: "implementation-information"}
AARE_FIELDS = {0x80: "protocol-version", 0xA1: "application-context-name", 0xA2: "result",
               0xA3: "result-source-diagnostic", 0xA4: "responding-AP-title",
               0xA5: "responding-AE-qualifier", 0xA6: "responding-AP-invocation-identifier",
               0xA7: "responding-AE-invocation-identifier", 0x88: "responder-acse-requirements",
               0x89: "mechanism-name", 0xAA: "responding-authentication-value",
               0xAB: "application-context-name-list", 0xBD: "implementation-information"}
RESULTS = {0: "accepted", 1: "rejected-permanent", 2: "rejected-transient"}
USER_DIAG = {0: "null", 1: "no-reason-given", 2: "application-context-name-not-supported",
             3: "calling-AP-title-not-recognized", 4: "calling-AP-invocation-identifier-not-recognized",
             5: "calling-AE-qualifier-not-recognized", 6: "calling-AE-invocation-identifier-not-recognized",
             7: "called-AP-title-not-recognized", 8: "called-AP-invocation-identifier-not-recognized",
             9: "called-AE-qualifier-not-recognized", 10: "called-AE-invocation-identifier-not-recognized",
             11: "authentication-mechanism-name-not-recognized",
             12: "authentication-mechanism-name-required", 13: "authentication-failure",
             14: "authentication-required"}
PROVIDER_DIAG = {0: "null", 1: "no-reason-given", 2: "no-common-acse-version"}
RELEASE_REQ = {0: "normal", 1: "urgent", 30: "user-defined"}
RELEASE_RSP = {0: "normal", 1: "not-finished", 30: "user-defined"}
ABORT_SOURCE = {0: "acse-service-user", 1: "acse-service-provider"}
#: Well-known authentication mechanisms (ISO 8650 / IEC 62351-4)
MECHANISMS = {"2.2.3.1": "password", "1.0.62351.4.1.1": "certificate-based",
              "1.3.12.2.1107.1.1.6": "password"}
AUTH_CHOICES = {0x80: "charstring", 0x81: "bitstring", 0xA2: "external", 0xA3: "other"}


@dataclass(slots=True)
class AcseApdu:
    name: str                                      # aarq, aare, rlrq, rlre, abrt
    detail: dict = field(default_factory=dict)
    user_info: list = field(default_factory=list)  # (context_id or None, direct_ref OID or None, start, end)
    problems: list = field(default_factory=list)   # (offset, message) of overrunning lengths cut short
    #: the buffer ``user_info`` offsets point into: the one given, or the APDU re-encoded
    #: with definite lengths (offsets from 0) when it used indefinite ones (X.690 8.1.3.6)
    buf: bytes | None = None


def _int_in(buf, s, e):
    """An EXPLICIT INTEGER: the first child's value."""
    for t, s2, e2 in children(buf, s, e):
        return read_int(buf, s2, e2)
    return None


def _title(buf, s, e):
    for t, s2, e2 in children(buf, s, e):
        if t == 0x06:
            return read_oid(buf, s2, e2)
        if t == 0x02:
            return read_int(buf, s2, e2)
        return bytes(buf[s2:e2]).hex()
    return None


def _user_information(buf, s, e, out: AcseApdu) -> None:
    for t, s2, e2 in children_clamped(buf, s, e, out.problems):
        if t != 0x28:                  # EXTERNAL
            continue
        cid = oid = None
        for t3, s3, e3 in children_clamped(buf, s2, e2, out.problems):
            if t3 == 0x02:
                cid = read_int(buf, s3, e3)
            elif t3 == 0x06:
                oid = read_oid(buf, s3, e3)
            elif t3 == 0xA0:           # single-ASN1-type
                out.user_info.append((cid, oid, s3, e3))
            elif t3 in (0x81, 0x82):   # octet-aligned / arbitrary
                out.user_info.append((cid, oid, s3, e3))


def parse_acse(buf, off: int = 0, end: int | None = None) -> AcseApdu:
    """Decode the ACSE APDU at ``buf[off:end]`` (ISO 8650-1 / X.227); raises only DecodeError.

    ``user_info`` offsets point into ``result.buf`` (``buf`` itself unless the APDU used
    indefinite lengths and was re-encoded).
    """
    end = len(buf) if end is None else min(end, len(buf))
    conv = definite_tlv(buf, off, end)
    if conv is not None:
        buf, off, end = conv[0], 0, len(conv[0])
    out = _parse_acse(buf, off, end)
    out.buf = buf
    return out


def _parse_acse(buf, off: int, end: int) -> AcseApdu:
    problems: list = []
    first = next(children_clamped(buf, off, end, problems), None)
    if first is None:
        raise Malformed("empty ACSE APDU", off, "acse")
    tag, cs, ce = first
    name = APDU_NAMES.get(tag)
    if name is None:
        raise Malformed(f"unknown ACSE APDU tag 0x{tag:02x}", off, "acse")
    out = AcseApdu(name, problems=problems)
    d = out.detail
    try:
        for t, s, e in children_clamped(buf, cs, ce, problems):
            if t == 0xBE:
                _user_information(buf, s, e, out)
                continue
            if name == "aarq" or name == "aare":
                fname = (AARQ_FIELDS if name == "aarq" else AARE_FIELDS).get(t)
                if fname is None:
                    continue
                if fname == "application-context-name":
                    for _, s2, e2 in children(buf, s, e):
                        d[fname] = read_oid(buf, s2, e2)
                elif fname in ("protocol-version", "sender-acse-requirements", "responder-acse-requirements"):
                    v, nb = read_bitstring(buf, s, e)
                    d[fname] = format(v, f"0{nb}b") if nb else ""
                elif fname == "mechanism-name":
                    oid = read_oid(buf, s, e)
                    d[fname] = oid
                    d["mechanism"] = MECHANISMS.get(oid, oid)
                elif fname.endswith("authentication-value"):
                    for t2, s2, e2 in children(buf, s, e):
                        kind = AUTH_CHOICES.get(t2, "unknown")
                        d["authentication-kind"] = kind
                        if kind == "charstring":
                            d[fname] = bytes(buf[s2:e2]).decode("latin-1")
                        else:
                            d[fname] = bytes(buf[s2:e2]).hex()
                elif fname == "result":
                    r = _int_in(buf, s, e)
                    d[fname] = RESULTS.get(r, str(r))
                elif fname == "result-source-diagnostic":
                    for t2, s2, e2 in children(buf, s, e):
                        v = _int_in(buf, s2, e2)
                        if t2 == 0xA1:
                            d[fname] = {"acse-service-user": USER_DIAG.get(v, str(v))}
                        else:
                            d[fname] = {"acse-service-provider": PROVIDER_DIAG.get(v, str(v))}
                elif fname.endswith(("AP-title", "AE-qualifier", "invocation-identifier")):
                    d[fname] = _title(buf, s, e)
            elif name in ("rlrq", "rlre") and t == 0x80:
                v = read_int(buf, s, e)
                d["reason"] = (RELEASE_REQ if name == "rlrq" else RELEASE_RSP).get(v, str(v))
            elif name == "abrt":
                if t == 0x80:
                    v = read_int(buf, s, e)
                    d["abort-source"] = ABORT_SOURCE.get(v, str(v))
                elif t == 0x81:
                    d["abort-diagnostic"] = read_int(buf, s, e)
    except DecodeError as err:
        raise err.within(name, "acse")
    return out
