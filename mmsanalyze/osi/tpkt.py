"""TPKT (RFC 1006 section 6): the 4-octet header that frames ISO transport over TCP.

``03 00 LL LL`` -- version 3, reserved 0, total length including the header.
:class:`TpktFramer` is an h11-style framer: feed it byte chunks of one direction,
it returns complete TPKT payloads (COTP TPDUs) and keeps the partial one.
After a gap, or when a capture starts mid-stream, it resynchronises on the next
plausible header (version 3, reserved 0, length >= 7, a COTP length indicator
that fits, and a known COTP TPDU code) and records what it skipped.
"""

from __future__ import annotations

#: RFC 1006: a TPKT carries at most 65,531 octets of TPDU; the header counts too.
MAX_TPKT = 65535
#: Smallest TPKT: header (4) + a COTP DT header (3).
MIN_TPKT = 7
#: COTP TPDU codes (ISO 8073 13.1, high nibble) that may follow a TPKT header, with the
#: range of length indicators a real class-0/2 header of that type has (13.2-13.12).
_COTP_LI = {0xF0: (2, 2), 0xE0: (6, 64), 0xD0: (6, 64), 0x80: (6, 64), 0xC0: (6, 6),
            0x70: (4, 32), 0x10: (2, 16), 0x60: (4, 16), 0x20: (4, 16), 0x50: (4, 16)}


def plausible_header(buf, i: int, n: int) -> bool:
    """Whether a TPKT header starting at ``buf[i]`` looks real (needs 6 octets, else True if the prefix fits)."""
    if buf[i] != 3 or (i + 1 < n and buf[i + 1] != 0):
        return False
    if i + 4 > n:
        return True
    length = (buf[i + 2] << 8) | buf[i + 3]
    if length < MIN_TPKT:
        return False
    if i + 6 > n:
        return True
    li = buf[i + 4]
    rng = _COTP_LI.get(buf[i + 5] & 0xF0)
    return rng is not None and rng[0] <= li <= rng[1] and li + 1 <= length - 4


class TpktFramer:
    """Frames one direction of a TCP stream into TPKT payloads.

    :meth:`feed` returns a list of ``(frame, ts, payload)``; ``frame``/``ts``
    are those credited with the chunk that completed the unit.  ``skipped`` counts octets
    discarded while resynchronising; ``resyncs`` how often that happened.
    """

    __slots__ = ("buf", "synced", "skipped", "resyncs", "events")

    def __init__(self, synced: bool = True):
        self.buf = b""
        self.synced = synced
        self.skipped = 0
        self.resyncs = 0
        self.events: list = []   # (frame, message) of resynchronisations, for findings

    def gap(self) -> None:
        """Bytes were lost before the next chunk: drop the partial unit."""
        if self.buf:
            self.skipped += len(self.buf)
        self.buf = b""
        self.synced = False

    def feed(self, data: bytes, frame: int, ts: float) -> list:
        buf = self.buf + data if self.buf else data
        n = len(buf)
        i = 0
        out = []
        while i < n:
            if not self.synced:
                j = self._find_header(buf, i, n)
                if j < 0:
                    keep = max(i, n - 5)
                    self.skipped += keep - i
                    i = keep
                    break
                if j > i:
                    self.skipped += j - i
                    self.events.append((frame, f"skipped {j - i} octets to resynchronise on a TPKT header"))
                    self.resyncs += 1
                i = j
                self.synced = True
            if n - i < 4:
                break
            if buf[i] != 3 or buf[i + 1] != 0:
                self.synced = False
                self.events.append((frame, f"bad TPKT header {bytes(buf[i:i + 4]).hex()}"))
                continue
            length = (buf[i + 2] << 8) | buf[i + 3]
            if length < MIN_TPKT:
                self.synced = False
                self.events.append((frame, f"TPKT length {length} below the minimum {MIN_TPKT}"))
                i += 1
                continue
            if n - i < length:
                break
            out.append((frame, ts, buf[i + 4:i + length]))
            i += length
        self.buf = buf[i:] if i < n else b""
        return out

    @staticmethod
    def _find_header(buf, i: int, n: int) -> int:
        while True:
            j = buf.find(b"\x03\x00", i)
            if j < 0 or j > n - 2:
                return -1
            if plausible_header(buf, j, n):
                return j
            i = j + 1
