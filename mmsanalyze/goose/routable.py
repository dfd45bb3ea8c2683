"""IEC 61850-90-5 session protocol: the header of R-GOOSE and R-SV over UDP port 102.

Used by both routable GOOSE and routable SV (the SV package imports it from here).
Layout of the UDP payload (IEC 61850-90-5 clause 11.3; IEC 61850-8-1 Ed.2.1 Annex)::

    [CLTP UD header 0x01 0x40]           ISO 8602 connectionless transport, optional
    SI (1)   session identifier: 0xA0 tunnelled, 0xA1 GOOSE, 0xA2 SV, 0xA3 management
    LI (1)   length of the rest of the session header
    0x80 (1) common session header identifier, LI (1)
    SPDU length (4) | SPDU number (4) | version (2)
    security: time of current key (4) | time of next key (2) | key id (4)
              | IV length (1) | IV
    user information: payload length (4), then payload items:
        type tag (1: 0x81 GOOSE, 0x82 SV, 0x83 tunnel, 0x84 management)
        simulation (1) | APPID (2) | APDU length (2) | APDU (goosePdu / savPdu)
    [padding 0xAF len bytes] [signature / HMAC]

Pre-standard (draft) encoders, e.g. the 90-5 reference samples, put a few extra
octets before the first payload item; :func:`parse_session` then looks for the
first item whose APDU tag and BER length agree with its APDU length field, at
most :data:`MAX_DRAFT_SLACK` octets further on, and says so in ``draft_layout``.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import Malformed, Truncated

__all__ = [
    "UDP_PORT", "SI_TUNNEL", "SI_GOOSE", "SI_SV", "SI_MNGT", "SI_KINDS", "PAYLOAD_GOOSE",
    "PAYLOAD_SV", "PAYLOAD_TUNNEL", "PAYLOAD_MNGT", "CLTP_UD", "MAX_DRAFT_SLACK",
    "SessionPayload", "Session", "session_start", "parse_session",
]

UDP_PORT = 102
SI_TUNNEL, SI_GOOSE, SI_SV, SI_MNGT = 0xA0, 0xA1, 0xA2, 0xA3
#: Session identifier -> traffic kind, as counted in the breakdown.
SI_KINDS = {SI_TUNNEL: "r-tunnel", SI_GOOSE: "r-goose", SI_SV: "r-sv", SI_MNGT: "r-mngt"}
PAYLOAD_GOOSE, PAYLOAD_SV, PAYLOAD_TUNNEL, PAYLOAD_MNGT = 0x81, 0x82, 0x83, 0x84
#: APDU tag expected after each payload type tag (goosePdu / savPdu).
_APDU_TAG = {PAYLOAD_GOOSE: 0x61, PAYLOAD_SV: 0x60}
#: ISO 8602 CLTP "unit data" TPDU header: LI=1, code UD (0x40).
CLTP_UD = b"\x01\x40"
#: How far past the standard position a draft encoder's first payload item may sit.
MAX_DRAFT_SLACK = 16
#: Smallest session header: SI, LI, 0x80, LI, SPDU len/num, version, security (11).
_MIN_HEADER = 2 + 2 + 4 + 4 + 2 + 11


class SessionPayload(NamedTuple):
    """One payload item of the session user information."""

    tag: int          # 0x81 GOOSE, 0x82 SV, 0x83 tunnel, 0x84 management
    simulation: int   # simulation octet (non-zero = simulated)
    appid: int
    apdu_start: int   # offset of the APDU (goosePdu / savPdu) in the buffer
    apdu_end: int


class Session(NamedTuple):
    """A parsed 90-5 session header."""

    si: int
    kind: str          # 'r-goose', 'r-sv', 'r-tunnel', 'r-mngt'
    spdu_length: int
    spdu_number: int
    version: int
    key_id: int
    payloads: tuple    # of SessionPayload
    draft_layout: bool


def session_start(buf, off: int, end: int) -> int:
    """Offset of the SI octet: skips an ISO 8602 CLTP UD header if present; -1 if none."""
    if end - off >= 3 and buf[off] == 0x01 and buf[off + 1] == 0x40:
        off += 2
    if off < end and buf[off] in SI_KINDS and end - off >= 4 and buf[off + 2] == 0x80:
        return off
    return -1


def parse_session(buf, off: int, end: int) -> Session:
    """Parse the session header and payload items of the UDP payload ``buf[off:end]``.

    Raises :class:`Malformed` when there is no session header at ``off`` and
    :class:`Truncated` when it is cut short.  A payload item whose APDU does not
    fit is reported as Truncated (R-SV often arrives as IP fragments).
    """
    s = session_start(buf, off, end)
    if s < 0:
        raise Malformed("no IEC 61850-90-5 session header", off, "goose",
                        code="goose.malformed.session")
    if end - s < _MIN_HEADER:
        raise Truncated(f"session header needs {_MIN_HEADER} octets, {end - s} left", s,
                        "goose", code="goose.malformed.truncated")
    si = buf[s]
    p = s + 4
    spdu_length = int.from_bytes(buf[p:p + 4], "big")
    spdu_number = int.from_bytes(buf[p + 4:p + 8], "big")
    version = buf[p + 8] << 8 | buf[p + 9]
    key_id = int.from_bytes(buf[p + 16:p + 20], "big")
    iv_len = buf[p + 20]
    user = p + 21 + iv_len
    if user + 4 > end:
        raise Truncated("session user information cut short", user, "goose",
                        code="goose.malformed.truncated")
    payload_len = int.from_bytes(buf[user:user + 4], "big")
    pos = user + 4
    draft = False
    if not _item_ok(buf, pos, end):
        for q in range(pos - 4, pos + MAX_DRAFT_SLACK):
            if q != pos and _item_ok(buf, q, end):
                pos, draft = q, True
                payload_len = end - pos
                break
    items = []
    stop = min(end, pos + payload_len)
    while pos + 6 <= stop and buf[pos] in (PAYLOAD_GOOSE, PAYLOAD_SV, PAYLOAD_TUNNEL,
                                          PAYLOAD_MNGT):
        tag = buf[pos]
        apdu_len = buf[pos + 4] << 8 | buf[pos + 5]
        a = pos + 6
        if a + apdu_len > end:
            raise Truncated(f"APDU length {apdu_len} exceeds the {end - a} octets left",
                            pos + 4, "goose", code="goose.malformed.truncated")
        items.append(SessionPayload(tag, buf[pos + 1], buf[pos + 2] << 8 | buf[pos + 3],
                                    a, a + apdu_len))
        pos = a + apdu_len
    return Session(si, SI_KINDS[si], spdu_length, spdu_number, version, key_id,
                   tuple(items), draft)


def _item_ok(buf, q: int, end: int) -> bool:
    """Does a payload item whose APDU tag and BER length agree start at ``q``?"""
    if q < 0 or q + 8 > end:
        return False
    tag = buf[q]
    want = _APDU_TAG.get(tag)
    if want is None:
        return tag in (PAYLOAD_TUNNEL, PAYLOAD_MNGT) and q + 6 + (buf[q + 4] << 8 | buf[q + 5]) <= end
    apdu_len = buf[q + 4] << 8 | buf[q + 5]
    a = q + 6
    if buf[a] != want:
        return False
    n = buf[a + 1]
    if n < 0x80:
        return 2 + n == apdu_len
    k = n & 0x7F
    if k == 0 or k > 3 or a + 2 + k > end:
        return False
    return 2 + k + int.from_bytes(buf[a + 2:a + 2 + k], "big") == apdu_len


#: Ethertypes a 90-5 tunnel may carry (GOOSE, GSE management, SV) and the 802.1Q TPIDs.
_TUNNEL_ETHERTYPES = (0x88B8, 0x88B9, 0x88BA)


def tunnelled_frame(buf, start: int, end: int):
    """The layer-2 frame inside a 90-5 tunnel APDU ``buf[start:end]`` (payload type 0x83:
    destination MAC, an optional 4-octet 802.1Q tag, Ethertype, then the Ethertype PDU).

    Returns ``(dst_mac_bytes, vlan_ids, vlan_priority, ethertype, offset of the APPID)``,
    or None when no GOOSE / SV / GSE Ethertype is found where the layout puts it.
    """
    for tag in (0, 4):
        e = start + 6 + tag
        if e + 2 <= end and (buf[e] << 8 | buf[e + 1]) in _TUNNEL_ETHERTYPES:
            vlans, prio = (), None
            if tag:
                tci = buf[start + 8] << 8 | buf[start + 9]
                vlans, prio = (tci & 0x0FFF,), tci >> 13
            return bytes(buf[start:start + 6]), vlans, prio, buf[e] << 8 | buf[e + 1], e + 2
    return None
