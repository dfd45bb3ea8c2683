"""COTP -- ISO 8073 / X.224 connection-oriented transport, class 0 as used by RFC 1006.

:func:`parse_tpdu` decodes one TPDU (the payload of one TPKT).  :class:`CotpReassembler`
joins DT TPDUs of one direction until the EOT bit (ISO 8073 13.7.3) into one
transport SDU for the session layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Malformed, Truncated

#: Largest transport SDU we reassemble.  MMS PDUs are bounded by the negotiated
#: maxPduSize (libiec61850: 65000); 4 MiB leaves room for any real peer and
#: bounds memory against a stream of DTs that never sets EOT.
MAX_SDU = 4 * 1024 * 1024

# ISO 8073 13.1 TPDU codes (high nibble of the second octet)
CR, CC, DR, DC, DT, ED, AK, EA, RJ, ER = 0xE0, 0xD0, 0x80, 0xC0, 0xF0, 0x10, 0x60, 0x20, 0x50, 0x70
TPDU_NAMES = {CR: "CR", CC: "CC", DR: "DR", DC: "DC", DT: "DT", ED: "ED", AK: "AK", EA: "EA", RJ: "RJ", ER: "ER"}

# ISO 8073 13.3.4 parameter codes
PARAM_NAMES = {0xC0: "tpdu-size", 0xC1: "calling-tsap", 0xC2: "called-tsap", 0xC3: "checksum",
               0xC4: "version", 0xC5: "protection", 0xC6: "additional-options",
               0xC7: "alternative-classes", 0x85: "ack-time", 0x86: "residual-error-rate",
               0x87: "priority", 0x88: "transit-delay", 0x89: "throughput", 0x8A: "subsequence-number",
               0x8B: "reassignment-time", 0x8C: "flow-control", 0xF0: "preferred-max-tpdu-size",
               0xF2: "inactivity-timer", 0xE0: "additional-information", 0xC9: "invalid-tpdu"}

DR_REASONS = {0: "not-specified", 1: "congestion", 2: "session-not-attached", 3: "address-unknown",
              128: "normal", 129: "remote-congestion", 130: "negotiation-failed", 131: "duplicate-ref",
              132: "mismatched-refs", 133: "protocol-error", 135: "reference-overflow",
              136: "refused", 138: "invalid-length", 139: "ref-unknown"}

#: ER TPDU reject cause (ISO 8073 13.12.3 c)
ER_CAUSES = {0: "reason-not-specified", 1: "invalid-parameter-code", 2: "invalid-tpdu-type",
             3: "invalid-parameter-value"}


def reason_name(code: int, reason: int | None) -> str | None:
    """Name of a DR reason or an ER cause (None when there is none)."""
    if reason is None:
        return None
    table = DR_REASONS if code == DR else ER_CAUSES if code == ER else {}
    return table.get(reason, str(reason))


@dataclass(frozen=True, slots=True)
class Tpdu:
    """One decoded TPDU.  ``data`` is the user data (DT/ED/CR/CC/DR payload)."""

    code: int
    name: str
    eot: bool = True
    dst_ref: int | None = None
    src_ref: int | None = None
    params: tuple = ()          # ((name, value), ...)
    reason: int | None = None   # DR reason / ER cause
    data: bytes = b""


def parse_tpdu(buf) -> Tpdu:
    """Decode one TPDU (ISO 8073 13): its code, references, parameters, DR reason / ER
    cause and user data.  Raises only :class:`~mmsanalyze.errors.DecodeError`."""
    n = len(buf)
    if n < 2:
        raise Truncated("COTP header cut short", 0, "cotp")
    li = buf[0]
    if li == 255:
        raise Malformed("COTP length indicator 255 is reserved", 0, "cotp")
    if li + 1 > n or li < 1:
        raise Truncated(f"COTP length indicator {li} exceeds the {n - 1} octets left", 0, "cotp")
    code = buf[1] & 0xF0
    hend = li + 1
    if code == DT:
        if li < 2:
            raise Malformed("COTP DT header shorter than 2", 0, "cotp")
        return Tpdu(DT, "DT", bool(buf[2] & 0x80), data=buf[hend:])
    name = TPDU_NAMES.get(code)
    if name is None:
        raise Malformed(f"unknown COTP TPDU code 0x{buf[1]:02x}", 1, "cotp")
    if code in (CR, CC, DR):
        if li < 6:
            raise Malformed(f"COTP {name} header of {li} octets", 0, "cotp")
        dst = (buf[2] << 8) | buf[3]
        src = (buf[4] << 8) | buf[5]
        reason = buf[6] if code == DR else None
        params = _params(buf, 7, hend)
        return Tpdu(code, name, True, dst, src, params, reason, buf[hend:])
    if code == DC:
        if li < 5:
            raise Malformed("COTP DC header too short", 0, "cotp")
        return Tpdu(code, name, True, (buf[2] << 8) | buf[3], (buf[4] << 8) | buf[5],
                    _params(buf, 6, hend))
    if code == ER:
        if li < 4:
            raise Malformed("COTP ER header too short", 0, "cotp")
        return Tpdu(code, name, True, (buf[2] << 8) | buf[3], None, _params(buf, 5, hend), buf[4])
    return Tpdu(code, name, True, (buf[2] << 8) | buf[3] if li >= 3 else None, data=buf[hend:])


def _params(buf, i: int, end: int) -> tuple:
    out = []
    while i + 2 <= end:
        code, ln = buf[i], buf[i + 1]
        v = buf[i + 2:i + 2 + ln]
        if i + 2 + ln > end:
            raise Malformed(f"COTP parameter 0x{code:02x} overruns the header", i, "cotp")
        name = PARAM_NAMES.get(code, f"0x{code:02x}")
        if code == 0xC0 and ln == 1:
            val = 1 << v[0]
        elif code in (0xC1, 0xC2):
            val = bytes(v).hex()
        elif ln <= 4:
            val = int.from_bytes(v, "big")
        else:
            val = bytes(v).hex()
        out.append((name, val))
        i += 2 + ln
    return tuple(out)


class CotpReassembler:
    """Joins DT TPDUs of one direction until EOT."""

    __slots__ = ("parts", "size", "first_frame")

    def __init__(self):
        self.parts: list = []
        self.size = 0
        self.first_frame = 0

    def add(self, data: bytes, eot: bool, frame: int):
        """Returns the whole SDU when ``eot`` closes it, else None.  Raises Malformed past MAX_SDU."""
        if not self.parts:
            if eot:
                return data
            self.first_frame = frame
        self.parts.append(data)
        self.size += len(data)
        if self.size > MAX_SDU:
            self.reset()
            raise Malformed(f"COTP SDU larger than {MAX_SDU} octets without EOT", None, "cotp",
                            code="cotp.malformed.sdu_too_large")
        if not eot:
            return None
        sdu = b"".join(self.parts)
        self.reset()
        return sdu

    @property
    def segments(self) -> int:
        return len(self.parts)

    def reset(self) -> None:
        self.parts = []
        self.size = 0
