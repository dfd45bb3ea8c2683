"""Test-side builders for whole ISO-on-TCP associations (RFC 1006 / ISO 8073 / 8327 / 8823 /
8650 / 9506), written as pcap files for tshark and mmsanalyze to decode side by side.

Independent of the decoder: bytes are assembled from the standards' layouts with
:mod:`ber_encode`; :func:`indefinite` re-encodes a BER element with the indefinite
length form (X.690 8.1.3.6) everywhere it is allowed (constructed elements).
"""

from __future__ import annotations

import struct

import ber_encode as E

ACSE_OID = "2.2.1.0.1"
MMS_OID = "1.0.9506.2.1"
BER_OID = "2.1.1"
MMS_CONTEXT = "1.0.9506.2.3"           # application-context-name of IEC 61850 stacks


# -- BER ---------------------------------------------------------------------------------

def oid(dotted: str) -> bytes:
    return E.tlv(0x06, E.oid_content(dotted))


def _read(buf: bytes, i: int):
    """(content start, content end) of the definite TLV at i."""
    j = i + 1
    if buf[i] & 0x1F == 0x1F:
        while buf[j] & 0x80:
            j += 1
        j += 1
    n = buf[j]
    j += 1
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[j:j + k], "big")
        j += k
    return j, j + n


def indefinite(buf: bytes, skip=()) -> bytes:
    """Every constructed element of the TLV string ``buf`` re-encoded with the indefinite
    length form (``0x80`` ... ``00 00``), except elements whose identifier octet is in
    ``skip`` (kept definite, content still converted)."""
    out = b""
    i = 0
    while i < len(buf):
        j = i + 1
        if buf[i] & 0x1F == 0x1F:
            while buf[j] & 0x80:
                j += 1
            j += 1
        ident = buf[i:j]
        cs, ce = _read(buf, i)
        content = buf[cs:ce]
        if buf[i] & 0x20:
            inner = indefinite(content, skip)
            if buf[i] in skip:
                out += ident + E.length(len(inner)) + inner
            else:
                out += ident + b"\x80" + inner + b"\x00\x00"
        else:
            out += buf[i:ce]
        i = ce
    return out


# -- MMS ---------------------------------------------------------------------------------

def initiate_request() -> bytes:
    detail = E.tlv(0xA4, E.ctx(0, b"\x01") + E.ctx(1, b"\x05\xf1\x00")
                   + E.ctx(2, b"\x03\xee\x1c\x00\x00\x04\x08\x00\x00\x79\xef\x18"))
    return E.tlv(0xA8, E.ctx(0, b"\x00\xfd\xe8") + E.ctx(1, b"\x05") + E.ctx(2, b"\x05")
                 + E.ctx(3, b"\x0a") + detail)


def initiate_response() -> bytes:
    detail = E.tlv(0xA4, E.ctx(0, b"\x01") + E.ctx(1, b"\x05\xf1\x00")
                   + E.ctx(2, b"\x03\xee\x1c\x00\x00\x04\x08\x00\x00\x79\xef\x18"))
    return E.tlv(0xA9, E.ctx(0, b"\x00\xfd\xe8") + E.ctx(1, b"\x05") + E.ctx(2, b"\x05")
                 + E.ctx(3, b"\x0a") + detail)


def read_request(invoke_id: int, *names: str) -> bytes:
    return E.confirmed_request(invoke_id, 4, E.cons(1, E.list_of_variable(*names)))


def read_response(invoke_id: int, *values: dict) -> bytes:
    return E.confirmed_response(invoke_id, 4, E.cons(1, *(E.data(v) for v in values)))


# -- ACSE (ISO 8650-1) -----------------------------------------------------------------------

def _external(ctx_id: int, apdu: bytes) -> bytes:
    return E.tlv(0xBE, E.tlv(0x28, E.integer(ctx_id) + E.tlv(0xA0, apdu)))


def aarq(mms: bytes, password: str | None = None) -> bytes:
    parts = E.tlv(0xA1, oid(MMS_CONTEXT)) + E.tlv(0xA2, oid("1.1.1.999.1")) \
        + E.tlv(0xA3, E.integer(12)) + E.tlv(0xA6, oid("1.1.1.999")) + E.tlv(0xA7, E.integer(12))
    if password is not None:
        parts += E.tlv(0x8A, b"\x07\x80") + E.tlv(0x8B, E.oid_content("2.2.3.1")) \
            + E.tlv(0xAC, E.tlv(0x80, password.encode()))
    return E.tlv(0x60, parts + _external(3, mms))


def aare(result: int = 0, user_diag: int = 0, mms: bytes | None = None) -> bytes:
    """AARE; ``result`` 0 accepted / 1 rejected-permanent, ``user_diag`` 13 = authentication-failure."""
    parts = E.tlv(0xA1, oid(MMS_CONTEXT)) + E.tlv(0xA2, E.integer(result)) \
        + E.tlv(0xA3, E.tlv(0xA1, E.integer(user_diag)))
    if mms is not None:
        parts += _external(3, mms)
    return E.tlv(0x61, parts)


# -- Presentation (ISO 8823-1) -----------------------------------------------------------------

def _pdv_list(ctx_id: int, apdu: bytes) -> bytes:
    return E.tlv(0x61, E.seq(E.integer(ctx_id) + E.tlv(0xA0, apdu)))


def cp(acse_apdu: bytes) -> bytes:
    ctx_list = E.tlv(0xA4, E.seq(E.integer(1) + oid(ACSE_OID) + E.seq(oid(BER_OID)))
                     + E.seq(E.integer(3) + oid(MMS_OID) + E.seq(oid(BER_OID))))
    normal = E.tlv(0x81, b"\x00\x00\x00\x01") + E.tlv(0x82, b"\x00\x00\x00\x01") + ctx_list \
        + _pdv_list(1, acse_apdu)
    return E.tlv(0x31, E.tlv(0xA0, E.tlv(0x80, b"\x01")) + E.tlv(0xA2, normal))


def cpa(acse_apdu: bytes) -> bytes:
    results = E.tlv(0xA5, E.seq(E.tlv(0x80, b"\x00")) + E.seq(E.tlv(0x80, b"\x00")))
    normal = E.tlv(0x83, b"\x00\x00\x00\x01") + results + _pdv_list(1, acse_apdu)
    return E.tlv(0x31, E.tlv(0xA0, E.tlv(0x80, b"\x01")) + E.tlv(0xA2, normal))


def cpr(acse_apdu: bytes | None = None, provider_reason: int | None = None) -> bytes:
    """CPR-PPDU normal mode (X.226 8.3): user rejection carrying an AARE-, or a provider reason."""
    parts = E.tlv(0x83, b"\x00\x00\x00\x01")
    if provider_reason is not None:
        parts += E.tlv(0x8A, bytes([provider_reason]))
    if acse_apdu is not None:
        parts += E.tlv(0xA5, E.seq(E.tlv(0x80, b"\x00")) + E.seq(E.tlv(0x80, b"\x00")))
        parts += _pdv_list(1, acse_apdu)
    return E.seq(parts)


def td(ctx_id: int, mms: bytes) -> bytes:
    return _pdv_list(ctx_id, mms)


# -- Session (ISO 8327-1) ---------------------------------------------------------------------

def _pi(code: int, value: bytes) -> bytes:
    n = len(value)
    return bytes([code]) + (bytes([n]) if n < 255 else b"\xff" + struct.pack(">H", n)) + value


def _spdu(si: int, params: bytes) -> bytes:
    n = len(params)
    return bytes([si]) + (bytes([n]) if n < 255 else b"\xff" + struct.pack(">H", n)) + params


def cn(ppdu: bytes) -> bytes:
    return _spdu(13, _pi(5, _pi(19, b"\x00") + _pi(22, b"\x02")) + _pi(20, b"\x00\x02")
                 + _pi(51, b"\x00\x01") + _pi(52, b"\x00\x01") + _pi(193, ppdu))


def ac(ppdu: bytes) -> bytes:
    return _spdu(14, _pi(5, _pi(19, b"\x00") + _pi(22, b"\x02")) + _pi(20, b"\x00\x02")
                 + _pi(193, ppdu))


def rf(reason: int, ppdu: bytes | None = None) -> bytes:
    """REFUSE: PI 17 transport-disconnect (released), PI 50 reason code [+ SS-user data]."""
    return _spdu(12, _pi(17, b"\x01") + _pi(50, bytes([reason]) + (ppdu or b"")))


def gt_dt(ppdu: bytes) -> bytes:
    return b"\x01\x00\x01\x00" + ppdu


# -- COTP (ISO 8073) and TPKT (RFC 1006) --------------------------------------------------------

def cr() -> bytes:
    params = b"\xc0\x01\x0d" + b"\xc2\x02\x00\x01" + b"\xc1\x02\x00\x01"
    return bytes([6 + len(params), 0xE0, 0, 0, 0, 1, 0]) + params


def cc() -> bytes:
    params = b"\xc0\x01\x0d" + b"\xc2\x02\x00\x01" + b"\xc1\x02\x00\x01"
    return bytes([6 + len(params), 0xD0, 0, 1, 0, 1, 0]) + params


def dr(reason: int) -> bytes:
    return bytes([6, 0x80, 0, 1, 0, 0, reason])


def er(cause: int) -> bytes:
    return bytes([4, 0x70, 0, 1, cause])


def dt(data: bytes) -> bytes:
    return b"\x02\xf0\x80" + data


def tpkt(tpdu: bytes) -> bytes:
    return struct.pack(">BBH", 3, 0, 4 + len(tpdu)) + tpdu


# -- TCP conversation as a pcap -----------------------------------------------------------------

class Conversation:
    """One TCP connection client 10.0.0.1:40001 -> server 10.0.0.2:102, frame by frame."""

    def __init__(self, client=("10.0.0.1", 40001), server=("10.0.0.2", 102)):
        self.client, self.server = client, server
        self.seq = [1000, 5000]
        self.frames: list[bytes] = []

    def _frame(self, d: int, flags: str, payload: bytes = b"") -> None:
        from scapy.all import IP, TCP, Ether
        src, dst = (self.client, self.server) if d == 0 else (self.server, self.client)
        ack = self.seq[1 - d] if "A" in flags else 0
        pkt = Ether(src="02:00:00:00:00:0%d" % (d + 1), dst="02:00:00:00:00:0%d" % (2 - d)) \
            / IP(src=src[0], dst=dst[0]) / TCP(sport=src[1], dport=dst[1], flags=flags,
                                               seq=self.seq[d], ack=ack, window=8192) / payload
        self.frames.append(bytes(pkt))
        self.seq[d] += len(payload) + (1 if "S" in flags or "F" in flags else 0)

    def handshake(self) -> "Conversation":
        self._frame(0, "S")
        self._frame(1, "SA")
        self._frame(0, "A")
        return self

    def syn(self) -> "Conversation":
        self._frame(0, "S")
        return self

    def rst(self, d: int) -> "Conversation":
        self._frame(d, "RA")
        return self

    def send(self, d: int, *tpdus: bytes) -> "Conversation":
        """One segment from ``d`` (0 client, 1 server) carrying these TPDUs, each in a TPKT."""
        self._frame(d, "PA", b"".join(tpkt(t) for t in tpdus))
        return self

    def raw(self, d: int, payload: bytes) -> "Conversation":
        self._frame(d, "PA", payload)
        return self

    def fin(self) -> "Conversation":
        self._frame(0, "FA")
        self._frame(1, "FA")
        return self

    def write(self, path) -> str:
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for i, fr in enumerate(self.frames):
                f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(fr), len(fr)))
                f.write(fr)
        return str(path)


def association(conv: Conversation, connect=None, accept=None, password=None) -> Conversation:
    """CR/CC, CN(CP(AARQ(initiate))) and the answer ``accept`` (default AC(CPA(AARE(+))))."""
    conv.send(0, cr()).send(1, cc())
    conv.send(0, dt(connect if connect is not None else cn(cp(aarq(initiate_request(), password)))))
    conv.send(1, dt(accept if accept is not None else ac(cpa(aare(0, 0, initiate_response())))))
    return conv
