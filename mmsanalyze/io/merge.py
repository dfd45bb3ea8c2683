"""Several capture readers as one, frames merged in time order (like mergecap).

Frames are renumbered 1..N in the merged order; on equal times the earlier file comes
first.  The merged reader has the same contract as :class:`~.capture.CaptureReader`:
``name``, ``format``, ``linktypes``, ``findings``, ``close()``, context manager.
"""

from __future__ import annotations

import heapq

from .frame import RawFrame

__all__ = ["MergedReader", "merge_readers"]


def merge_readers(readers) -> "MergedReader":
    """One reader over ``readers`` (already opened), merged by frame time."""
    return MergedReader(list(readers))


class MergedReader:
    """Iterable of :class:`RawFrame` from several readers, in time order."""

    def __init__(self, readers):
        self.readers = readers
        self.name = " + ".join(str(getattr(r, "name", "?")) for r in readers)
        formats = sorted({str(getattr(r, "format", "?")) for r in readers})
        self.format = "merged " + "/".join(formats)
        self.linktypes: set = set()
        for r in readers:
            self.linktypes |= set(getattr(r, "linktypes", ()) or ())
        self._it = self._frames()

    @property
    def findings(self) -> list:
        out = []
        for r in self.readers:
            out.extend(getattr(r, "findings", []))
        return out

    def _frames(self):
        streams = [((fr.ts, i, fr) for fr in r) for i, r in enumerate(self.readers)]
        n = 0
        for _ts, _i, fr in heapq.merge(*streams, key=lambda x: (x[0], x[1])):
            n += 1
            yield RawFrame(n, fr.ts, fr.linktype, fr.data, fr.orig_len, fr.interface)

    def __iter__(self):
        return self._it

    def __next__(self) -> RawFrame:
        return next(self._it)

    def close(self) -> None:
        for r in self.readers:
            r.close()

    def __enter__(self) -> "MergedReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
