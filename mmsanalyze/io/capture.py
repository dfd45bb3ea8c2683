"""Open a capture file, whatever its format, and stream its frames.

:func:`open_capture` detects the format by magic number, never by extension
(files lie): classic pcap in either byte order with µs or ns timestamps
(:mod:`.pcap`), pcapng (:mod:`.pcapng`), and either of them gzip-compressed
(streamed with :mod:`gzip`, never inflated whole).  Frames are read one record
at a time from a fixed-size buffer, so memory does not grow with the file.

Problems with the file as a whole raise :class:`~mmsanalyze.errors.CaptureError`
at open time; problems with single records become
:class:`~mmsanalyze.findings.Finding` entries in :attr:`CaptureReader.findings`.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os

from ..errors import CaptureError
from .frame import ByteSource, RawFrame
from .pcap import MAGICS as PCAP_MAGICS, iter_pcap, parse_header
from .pcapng import MAGIC as PCAPNG_MAGIC, iter_pcapng

__all__ = ["RawFrame", "CaptureReader", "open_capture", "GZIP_MAGIC"]

GZIP_MAGIC = b"\x1f\x8b"
#: Bytes needed to recognise and check a file header (pcap header is 24).
_HEAD = 64


def open_capture(source, exact_ts: bool = False) -> "CaptureReader":
    """Open a pcap / pcapng capture (optionally gzip-compressed) for reading.

    Args:
        source: a path (``str`` / ``os.PathLike``) or a binary file object
            positioned at the start of the capture.  A file object is not
            closed by :meth:`CaptureReader.close`.
        exact_ts: yield frames whose ``ts`` is the integer timestamp in the
            units of their interface and whose ``interface`` indexes
            :attr:`CaptureReader.interfaces` (for copying frames exactly, see
            :mod:`mmsanalyze.io.pcapng_write`).  Default: float epoch seconds.

    Returns:
        A :class:`CaptureReader`; iterate it for :class:`RawFrame` tuples.

    Raises:
        CaptureError: missing file, directory, empty file, not a capture
            (unknown magic), a gzip file that holds no capture, or a broken
            file header.
    """
    return CaptureReader(source, exact_ts)


class CaptureReader:
    """Iterable of :class:`RawFrame` in file order (one pass, like a file).

    Attributes:
        name: the path (or the file object's name).
        format: ``"pcap"`` or ``"pcapng"``, with ``" (gzip)"`` appended for
            compressed files.
        linktypes: set of LINKTYPE numbers seen so far (pcap: the one of the
            header; pcapng: those of all interface blocks read so far -- all
            interfaces declared before the first packet are known at open).
        snaplen: the pcap header's snapshot length (0 for pcapng, where it
            is per interface).
        interfaces: ``(linktype, units_per_second, ts_offset_s, snaplen)`` of
            every interface read so far (pcap: the one of the header; pcapng:
            each IDB of each section, in file order).
        findings: :class:`~mmsanalyze.findings.Finding` list, appended while
            iterating: ``capture.truncated_record`` (warning: the file ends
            inside a record), ``capture.malformed_record`` (error: hostile or
            inconsistent length; reading stops), ``capture.read_error``
            (warning: I/O or gzip error ended the stream).
    """

    def __init__(self, source, exact_ts: bool = False):
        self.findings: list = []
        self.linktypes: set[int] = set()
        self.interfaces: list = []
        self.exact_ts = exact_ts
        self._file = self._gzip = None
        self._it = iter(())
        self.name, self._file, owns = _open_source(source)
        self._owns = owns
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        f, name = self._file, self.name
        start = _tell(f)
        src = ByteSource(f)
        head = src.refill(b"", 0, _HEAD)
        if src.error is not None:
            raise CaptureError(f"{name}: cannot read: {src.error}")
        if not head:
            raise CaptureError(f"{name}: empty file")
        suffix = ""
        if head[:2] == GZIP_MAGIC:
            self._gzip = gzip.GzipFile(fileobj=_rewound(f, start, head), mode="rb")
            src = ByteSource(_Read1(self._gzip))
            head = src.refill(b"", 0, _HEAD)
            if len(head) < 4:
                why = src.error or f"only {len(head)} bytes after decompression"
                raise CaptureError(f"{name}: gzip-compressed file holds no capture ({why})")
            if head[:4] not in PCAP_MAGICS and head[:4] != PCAPNG_MAGIC:
                raise CaptureError(f"{name}: gzip-compressed file is not a pcap or pcapng "
                                   f"capture (magic 0x{head[:4].hex()})")
            suffix = " (gzip)"
        magic = head[:4]
        if magic in PCAP_MAGICS:
            self.format = "pcap" + suffix
            order, units, rechdr, linktype, self.snaplen = parse_header(head, name)
            self.linktypes.add(linktype)
            self.interfaces.append((linktype, units, 0, self.snaplen))
            gen = iter_pcap(src, head, order, units, rechdr, linktype, self.findings, self.exact_ts)
        elif magic == PCAPNG_MAGIC:
            self.format = "pcapng" + suffix
            self.snaplen = 0
            gen = iter_pcapng(src, head, self.findings, self.linktypes, name, self.interfaces,
                              self.exact_ts)
        elif len(head) < 4:
            raise CaptureError(f"{name}: not a pcap or pcapng capture "
                               f"(file too short: {len(head)} bytes)")
        else:
            raise CaptureError(f"{name}: not a pcap or pcapng capture (magic 0x{magic.hex()})")
        self._gen = gen
        # Read up to the first frame now: header errors surface at open time and
        # all pcapng interfaces declared before the first packet are known.
        first = next(gen, None)
        self._it = gen if first is None else itertools.chain((first,), gen)

    def __iter__(self):
        return self._it

    def __next__(self) -> RawFrame:
        return next(self._it)

    def close(self) -> None:
        """Stop reading and release the file (a caller's file object stays open)."""
        gen = getattr(self, "_gen", None)
        if gen is not None:
            gen.close()
        self._it = iter(())
        if self._gzip is not None:
            self._gzip.close()
            self._gzip = None
        if self._owns and self._file is not None:
            self._file.close()
        self._file = None

    def __enter__(self) -> "CaptureReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CaptureReader {self.name!r} {getattr(self, 'format', '?')}>"


def _open_source(source):
    """Return ``(name, binary file, we_own_it)`` for a path or file object."""
    if isinstance(source, (str, bytes, os.PathLike)):
        path = os.fspath(source)
        name = os.fsdecode(path)
        if os.path.isdir(path):
            raise CaptureError(f"{name}: is a directory, not a capture file")
        try:
            return name, open(path, "rb", buffering=0), True
        except FileNotFoundError:
            raise CaptureError(f"{name}: no such file") from None
        except OSError as exc:
            raise CaptureError(f"{name}: cannot open: {exc.strerror or exc}") from None
    if isinstance(source, io.TextIOBase):
        raise CaptureError(f"{getattr(source, 'name', '<stream>')}: not opened in binary mode")
    if hasattr(source, "read"):
        return str(getattr(source, "name", "<stream>")), source, False
    raise CaptureError(f"cannot read a capture from a {type(source).__name__}")


def _tell(f):
    try:
        return f.tell() if f.seekable() else None
    except (OSError, AttributeError, ValueError):
        return None


def _rewound(f, start, head: bytes):
    """The stream ``f`` from its start again (seek back, or replay ``head``)."""
    if start is not None:
        f.seek(start)
        return f
    return _Prefixed(head, f)


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of a non-seekable stream."""

    def __init__(self, head: bytes, f):
        self._head, self._f = head, f

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._f.read(len(b)) or b""
        b[:len(data)] = data
        return len(data)


class _Read1:
    """Adapter: ``read`` = ``GzipFile.read1``.

    ``read1`` returns what one inflate step gives, so a gzip stream cut short
    raises only after all its intact data was returned (``read(n)`` would drop
    the last partial block together with the error).
    """

    __slots__ = ("read",)

    def __init__(self, gz):
        self.read = gz.read1
