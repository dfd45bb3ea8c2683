"""Session layer -- ISO 8327-1 / X.225 SPDUs, kernel + duplex as used by MMS.

:func:`parse_spdus` decodes one transport SDU: a single SPDU (CN, AC, RF, FN,
DN, AB, NF...) or the concatenation GT+DT (ISO 8327 6.3.7: a category-0 Give
Tokens SPDU followed by the category-2 Data Transfer SPDU) that carries user
data.  It returns the SPDU names and the session user data for the presentation
layer (PGI 193 User Data / PGI 194 Extended User Data, or the user information
after DT).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Malformed, Truncated

# ISO 8327-1 8.3 SPDU identifiers (SI)
SPDU_NAMES = {
    0: "ER", 1: "DT", 2: "PT", 5: "EX", 7: "PR", 8: "NF", 9: "FN", 10: "DN", 12: "RF", 13: "CN",
    14: "AC", 15: "CDO", 16: "OA", 21: "GTC", 22: "GTA", 25: "AB", 26: "AA", 29: "AR", 33: "TD",
    34: "RA", 41: "MAP", 42: "MAA", 45: "AS", 48: "ED", 49: "MIP", 50: "MIA", 53: "RS", 57: "AD",
    58: "ADA", 61: "CD", 62: "CDA",
}
GT_DT = 1
#: PI/PGI codes that carry user data (ISO 8327-1 8.3.1.x)
USER_DATA_PGI = (193, 194)
PI_NAMES = {1: "connection-identifier", 5: "connect-accept-item", 16: "token-item",
            17: "transport-disconnect", 19: "protocol-options", 20: "session-user-requirements",
            21: "tsdu-max-size", 22: "version-number", 23: "initial-serial-number",
            25: "enclosure-item", 26: "token-setting-item", 49: "serial-number", 50: "reason-code",
            51: "calling-ssap", 52: "called-ssap", 193: "user-data", 194: "extended-user-data",
            60: "data-overflow"}
#: PI 50 Reason Code of RF (ISO 8327-1 8.3.6.11 / X.225 8.3.6.11).  With value 2 the
#: octets after the first are SS-user data (the presentation CPR-PPDU of a refused connect).
REASON_CODE = 50
REASON_NAMES = {0: "rejection-by-ss-user-reason-not-specified",
                1: "rejection-by-ss-user-temporary-congestion",
                2: "rejection-by-ss-user",
                129: "session-selector-unknown", 130: "ss-user-not-attached-to-ssap",
                131: "spm-congestion-at-connect-time", 132: "proposed-protocol-versions-not-supported",
                133: "rejection-by-spm-reason-not-specified",
                134: "rejection-by-spm-implementation-restriction"}
#: PI 17 transport-disconnect bits (ISO 8327-1 8.3.9.3): bit 1 = transport connection released
TRANSPORT_KEPT, TRANSPORT_RELEASED, USER_ABORT, PROTOCOL_ERROR = 0, 1, 2, 4


@dataclass(frozen=True, slots=True)
class SessionPdu:
    """Decoded SPDU(s) of one transport SDU.

    ``name`` is the significant SPDU (``DT`` for GT+DT), ``names`` all of them;
    ``user_data`` what goes to the presentation layer (None if absent);
    ``params`` the named parameters of the significant SPDU.
    """

    name: str
    si: int
    names: tuple
    params: dict
    user_data: bytes | None
    problems: tuple = ()


def _li(buf, i: int, n: int) -> tuple[int, int]:
    if i >= n:
        raise Truncated("session length indicator missing", i, "ses")
    li = buf[i]
    if li == 255:
        if i + 3 > n:
            raise Truncated("session extended length cut short", i, "ses")
        return (buf[i + 1] << 8) | buf[i + 2], i + 3
    return li, i + 1


def _params(buf, i: int, end: int, out: dict, depth: int = 0, problems: list | None = None):
    """Walk PI/PGI units in ``buf[i:end]``; returns user data if a user-data PGI is there."""
    user = None
    while i < end:
        code = buf[i]
        ln, j = _li(buf, i + 1, end)
        if j + ln > end:
            raise Malformed(f"session parameter {code} of length {ln} overruns its SPDU", i, "ses")
        name = PI_NAMES.get(code, str(code))
        if code in USER_DATA_PGI:
            if ln == 0 and j < end and problems is not None:
                # A user-data PGI of length 0 followed by the user data itself (seen in a
                # real IEC 61850 stack's AC SPDU): take the rest of the SPDU, say so.
                problems.append((i, "user-data PGI with length 0 before the user data"))
                return buf[j:end]
            user = buf[j:j + ln]
        elif code == REASON_CODE and ln >= 1:
            out[name] = buf[j]
            out["reason"] = REASON_NAMES.get(buf[j], str(buf[j]))
            if ln > 1 and user is None:
                user = buf[j + 1:j + ln]         # SS-user data after the reason octet
        elif code in (1, 5) and depth == 0:      # PGIs holding PIs
            sub: dict = {}
            _params(buf, j, j + ln, sub, 1)
            out[name] = sub
        elif ln <= 4:
            out[name] = int.from_bytes(buf[j:j + ln], "big") if ln else None
        else:
            out[name] = bytes(buf[j:j + ln]).hex()
        i = j + ln
    return user


def looks_like_session(buf) -> bool:
    """Whether a transport SDU is a session SPDU at all, by tshark's test (``dissect_ses_heur``).

    The first octet must be a known SPDU identifier (and, after a Give Tokens, the second
    SPDU's too); ``0x32`` followed by an unknown parameter code is a Siemens S7 PDU, not
    MIA; and the SPDU length must not exceed the octets present.  Anything else is plain
    user data on COTP (tshark shows it as "Data"), not a malformed session unit.
    """
    n = len(buf)
    if n < 2 or buf[0] not in SPDU_NAMES:
        return False
    si = buf[0]
    if si == GT_DT and n >= 4 and buf[2] not in SPDU_NAMES:
        return False
    if si == 0x32 and n >= 3 and buf[2] not in PI_NAMES:
        return False
    li = buf[1]
    if li == 255:
        if n < 4:
            return False
        li = (buf[2] << 8) | buf[3]
    return li <= n


def parse_spdus(buf) -> SessionPdu:
    """Decode the SPDU(s) of one transport SDU (ISO 8327-1 clause 8)."""
    n = len(buf)
    if n < 2:
        raise Truncated("session SPDU cut short", 0, "ses")
    if n > 4 and buf[0] == 1 and buf[1] == 0 and buf[2] == 1 and buf[3] == 0:
        return SessionPdu("DT", GT_DT, ("GT", "DT"), {}, buf[4:])    # GT+DT without parameters
    si = buf[0]
    li, p = _li(buf, 1, n)
    problems: list = []
    if p + li > n:
        if si == GT_DT or p + li > n + 8:
            raise Truncated(f"session SPDU length {li} exceeds the {n - p} octets left", 1, "ses")
        # Some stacks count one or two octets too many in CN/AC; Wireshark decodes on.
        problems.append((1, f"session SPDU length {li} exceeds the {n - p} octets left"))
        li = n - p
    name = SPDU_NAMES.get(si)
    if name is None:
        raise Malformed(f"unknown session SPDU identifier {si}", 0, "ses")
    params: dict = {}
    if si == GT_DT:
        # GT (category 0) followed by DT (category 2) -- or a lone DT
        names = ["GT"]
        q = p + li
        if q + 2 <= n and buf[q] == GT_DT:
            li2, r = _li(buf, q + 1, n)
            if r + li2 > n:
                raise Truncated("session DT SPDU cut short", q, "ses")
            names.append("DT")
            _params(buf, r, r + li2, params)
            return SessionPdu("DT", si, tuple(names), params, buf[r + li2:])
        _params(buf, p, p + li, params)
        return SessionPdu("DT", si, ("DT",), params, buf[p + li:])
    user = _params(buf, p, p + li, params, 0, problems)
    problems = tuple(problems)
    if si == 2 and p + li < n:      # PT may be followed by a category-2 SPDU too
        return SessionPdu(name, si, (name,), params, None, problems)
    if si == 33:                    # TD: typed data, user info follows
        return SessionPdu(name, si, (name,), params, buf[p + li:], problems)
    return SessionPdu(name, si, (name,), params, user, problems)
