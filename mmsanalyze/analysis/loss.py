"""Capture loss: the times a live capture itself dropped frames.

A live capture that cannot keep up loses frames in the kernel (``PACKET_STATISTICS``
drops, see :class:`mmsanalyze.io.ring.RingReader`).  The missing smpCnt / sqNum values
that follow look exactly like loss on the wire, an outage or a deletion attack.  The
reader records windows ``(start, end, dropped, ...)`` in epoch seconds in which the
drops happened; the SV and GOOSE stream analyses ask :func:`in_windows` whether a gap
overlaps one and then count it as capture loss instead.
"""

from __future__ import annotations

import numpy as np

__all__ = ["in_windows"]


def in_windows(t_from: np.ndarray, t_to: np.ndarray, windows) -> np.ndarray:
    """For each interval ``[t_from[i], t_to[i]]``: does it overlap one of ``windows``
    (``[(start, end), ...]`` in epoch seconds, e.g. the times a live capture dropped
    frames)?  Vectorised: windows sorted by start, one ``searchsorted``."""
    if not windows or len(t_from) == 0:
        return np.zeros(len(t_from), dtype=bool)
    w = np.array(sorted((float(a), float(b)) for a, b, *_ in windows), dtype=np.float64)
    # the latest end among windows starting at or before each window (windows may overlap)
    ends = np.maximum.accumulate(w[:, 1])
    i = np.searchsorted(w[:, 0], t_to, side="right") - 1
    ok = i >= 0
    out = np.zeros(len(t_from), dtype=bool)
    out[ok] = ends[i[ok]] >= t_from[ok]
    return out
