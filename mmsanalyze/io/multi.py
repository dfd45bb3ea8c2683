"""Several capture files read as one capture (rotated captures).

Capture tools rotate files (``tcpdump -G``/``-C``, dumpcap ring buffers): one TCP
connection, report stream or GOOSE publisher then spans several files.
:class:`MultiReader` orders the files by the time of their first frame and yields
their frames as one stream, numbered 1, 2, 3 ... across the files, so the pipeline
reassembles and matches across the file boundaries exactly as if the capture had
not been split (Wireshark's ``mergecap -a`` followed by opening the result).

Only one file is open at a time.  Findings of each file (truncated last record ...)
are renumbered to the continuous frame numbers.
"""

from __future__ import annotations

import dataclasses
import os

from ..errors import CaptureError
from .capture import open_capture
from .frame import RawFrame, new_frame

__all__ = ["MultiReader", "open_multi", "first_time"]


def first_time(path) -> float | None:
    """Time of the first frame of the capture file ``path`` (None when it has none).

    Raises:
        CaptureError: the file is not a usable capture.
    """
    with open_capture(path) as r:
        for fr in r:
            return fr.ts
    return None


def open_multi(paths) -> "MultiReader":
    """Open the capture files ``paths`` as one capture, ordered by first frame time."""
    return MultiReader(paths)


class MultiReader:
    """Iterable of :class:`RawFrame` over several files ordered by their first frame.

    Attributes:
        name: ``"first.pcap (+N more)"``.  paths: the files in reading order.
        format: the formats of the files, joined with ``+`` when they differ.
        linktypes: union of the files' link types (known at open).
        findings: the files' findings with continuous frame numbers (complete once
            iteration ended).

    Files are ordered by the time of their first frame (ties and empty files by
    name); every file is checked at open time, so an unusable one raises
    :class:`CaptureError` before any frame is read.
    """

    def __init__(self, paths):
        paths = [os.fspath(p) for p in paths]
        if not paths:
            raise CaptureError("no capture files given")
        keyed, formats = [], []
        self.linktypes: set[int] = set()
        for p in paths:
            with open_capture(p) as r:
                formats.append(r.format)
                self.linktypes |= r.linktypes
                first = next(iter(r), None)
            keyed.append((first is None, first.ts if first is not None else 0.0, os.fsdecode(p), p))
        keyed.sort()
        self.paths = [k[3] for k in keyed]
        self.name = os.fsdecode(self.paths[0]) + (f" (+{len(paths) - 1} more)" if len(paths) > 1 else "")
        self.format = "+".join(dict.fromkeys(formats))
        self.findings: list = []
        self._reader = None
        self._it = self._frames()

    def _frames(self):
        offset = 0
        for p in self.paths:
            r = self._reader = open_capture(p)
            n = 0
            try:
                for fr in r:
                    n = fr.number
                    yield new_frame(RawFrame, (offset + n, fr.ts, fr.linktype, fr.data, fr.orig_len,
                                               fr.interface))
            finally:
                self._reader = None
                r.close()
                self.findings.extend(dataclasses.replace(f, frame=f.frame + offset) if f.frame else f
                                     for f in r.findings)
            offset += n

    def __iter__(self):
        return self._it

    def __next__(self) -> RawFrame:
        return next(self._it)

    def close(self) -> None:
        """Stop reading and close the open file."""
        self._it.close()
        if self._reader is not None:
            self._reader.close()

    def __enter__(self) -> "MultiReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<MultiReader {len(self.paths)} files {self.name!r}>"
