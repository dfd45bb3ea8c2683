"""The frame record every input produces, and the limits shared by all readers.

File readers (:mod:`.pcap`, :mod:`.pcapng`) and the live reader (:mod:`.live`)
yield the same :class:`RawFrame` tuples, so the pipeline does not know where
its frames come from (nfstream's one ``source=``).
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

from ..findings import Finding

__all__ = ["RawFrame", "MAX_CAPLEN", "MAX_BLOCK", "CHUNK", "new_frame", "ByteSource"]

#: Largest captured length accepted for one record: 256 KiB, Wireshark's
#: WTAP_MAX_PACKET_SIZE_STANDARD and libpcap's MAXIMUM_SNAPLEN.  Anything larger
#: in a file is a corrupt or hostile length field, not a frame.
MAX_CAPLEN = 262144
#: Largest pcapng block we will buffer (16 MiB, Wireshark's limit for
#: non-packet blocks).  Bounds memory whatever the length field claims.
MAX_BLOCK = 16 * 1024 * 1024
#: Bytes read from the file at a time.  Records are sliced out of this buffer
#: by offset, so memory stays at about CHUNK + one record however big the file.
CHUNK = 256 * 1024


class RawFrame(NamedTuple):
    """One captured frame, before any decoding.

    A plain tuple (cheap to build, unpackable as
    ``number, ts, linktype, data, orig_len, interface``).

    Attributes:
        number: 1-based frame number, as Wireshark numbers frames.
        ts: capture time, float seconds since the Unix epoch (UTC).
        linktype: LINKTYPE_* number of the frame's link layer (1 = Ethernet).
        data: the captured bytes (may be shorter than ``orig_len``).
        orig_len: length of the frame on the wire.
        interface: pcapng interface id (0 for pcap and live captures).

    A reader opened with ``open_capture(source, exact_ts=True)`` (used to copy frames,
    see :mod:`.pcapng_write`) gives ``ts`` as the integer timestamp in the units of the
    frame's interface and ``interface`` as an index into ``reader.interfaces``.
    """

    number: int
    ts: float
    linktype: int
    data: bytes
    orig_len: int
    interface: int = 0


#: Fast constructor: ``new_frame(RawFrame, (number, ts, linktype, data, orig_len, interface))``
#: skips the Python-level ``__new__`` of the named tuple (about 3x cheaper).
new_frame = tuple.__new__


class ByteSource:
    """Chunked reader over a binary stream, shared by the file readers.

    Read errors of the underlying stream (a corrupt or cut gzip member, an
    I/O error) end the stream instead of raising; they are kept in
    :attr:`error` and reported as a ``capture.read_error`` finding.
    """

    __slots__ = ("_read", "error")

    def __init__(self, fileobj):
        self._read = fileobj.read
        self.error: str | None = None

    def read(self, n: int) -> bytes:
        if self.error is not None:
            return b""
        try:
            return self._read(n) or b""
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return b""

    def refill(self, buf: bytes, pos: int, need: int) -> bytes:
        """Return ``buf[pos:]`` extended with more input to at least ``need`` bytes.

        Fewer than ``need`` bytes come back only at end of input.
        """
        parts = [buf[pos:]]
        have = len(parts[0])
        while have < need:
            chunk = self.read(max(CHUNK, need - have))
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        return b"".join(parts) if len(parts) > 1 else parts[0]

    def finish(self, findings: list, frame: int) -> None:
        """Append a finding for a read error, if one ended the stream."""
        if self.error is not None:
            findings.append(Finding("capture.read_error", "warning", frame, "capture",
                                    f"reading stopped after frame {frame}: {self.error}"))


def truncated_finding(frame: int, need: int, have: int, what: str = "record") -> Finding:
    """``capture.truncated_record``: the file ends inside a record."""
    return Finding("capture.truncated_record", "warning", frame, "capture",
                   f"capture file ends inside {what} of frame {frame}: "
                   f"{have} of {need} bytes present")


def malformed_finding(frame: int, message: str) -> Finding:
    """``capture.malformed_record``: a hostile or inconsistent record; reading stops."""
    return Finding("capture.malformed_record", "error", frame, "capture",
                   f"{message}; reading stopped before frame {frame}")
