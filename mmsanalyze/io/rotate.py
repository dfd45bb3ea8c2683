"""Write every captured frame to pcapng while analysing, with dumpcap's ring buffer.

``-w FILE.pcapng`` writes one file; ``-b`` switches to the next file by size
(``filesize:KB``, kilobytes as dumpcap counts them), by time (``duration:SEC``) and
keeps at most ``files:N`` files, deleting the oldest (a ring buffer).  Rotated files
are named as dumpcap names them: ``NAME_00001_20261201083000.pcapng``.  Timestamps are
kept in nanoseconds (the live reader's resolution).
"""

from __future__ import annotations

import os
import time

from ..errors import CaptureError
from .pcapng_write import PcapngWriter

__all__ = ["RotatingWriter", "parse_ring_options"]

NS = 1_000_000_000


def parse_ring_options(specs) -> dict:
    """``["filesize:1000", "files:5"]`` or ``"filesize:1000,files:5"`` -> options dict."""
    out = {}
    items = []
    for s in ([specs] if isinstance(specs, str) else list(specs or ())):
        items.extend(x for x in s.split(",") if x)
    for item in items:
        key, _, val = item.partition(":")
        try:
            if key == "filesize":
                out["filesize_kb"] = int(val)
            elif key == "files":
                out["files"] = int(val)
            elif key == "duration":
                out["duration"] = float(val)
            else:
                raise ValueError
        except ValueError:
            raise CaptureError(f"unsupported ring buffer option '{item}' "
                               "(use -b filesize:KB, -b files:N, -b duration:SEC)") from None
        if not (out.get("filesize_kb", 1) > 0 and out.get("files", 1) > 0 and out.get("duration", 1) > 0):
            raise CaptureError(f"ring buffer option '{item}' must be positive")
    return out


class RotatingWriter:
    """Write live frames to ``path`` (one file) or to a ring of files (``-b`` options)."""

    def __init__(self, path: str, linktype: int, filesize_kb: int | None = None,
                 files: int | None = None, duration: float | None = None):
        self.path, self.linktype = path, linktype
        self.limit = filesize_kb * 1000 if filesize_kb else None
        self.keep, self.duration = files, duration
        self.ring = bool(self.limit or self.duration)
        self.written: list[str] = []
        self.frames = 0
        self._w = None
        self._ifid = 0
        self._opened_at = 0.0
        self._n = 0
        self._open()

    def _name(self) -> str:
        if not self.ring:
            return self.path
        base, ext = os.path.splitext(self.path)
        return f"{base}_{self._n:05d}_{time.strftime('%Y%m%d%H%M%S')}{ext or '.pcapng'}"

    def _open(self) -> None:
        self._n += 1
        name = self._name()
        try:
            fh = open(name, "wb")
        except OSError as exc:
            raise CaptureError(f"-w {name}: {exc.strerror or exc}") from None
        self._w = PcapngWriter(fh)
        self._fh = fh
        self._ifid = self._w.interface(self.linktype, 0, NS)
        self._opened_at = time.monotonic()
        self.written.append(name)
        if self.keep and len(self.written) > self.keep:
            old = self.written.pop(0)
            try:
                os.remove(old)
            except OSError:
                pass

    def write(self, fr) -> None:
        """One :class:`~.frame.RawFrame` (float seconds -> integer nanoseconds)."""
        if self.ring and self.frames and (
                (self.limit and self._fh.tell() >= self.limit)
                or (self.duration and time.monotonic() - self._opened_at >= self.duration)):
            self._w.close()
            self._fh.close()
            self._open()
        self._w.write(self._ifid, int(round(fr.ts * NS)), fr.data, fr.orig_len)
        self.frames += 1

    def close(self) -> None:
        if self._w is not None:
            self._w.close()
            self._fh.close()
            self._w = None
