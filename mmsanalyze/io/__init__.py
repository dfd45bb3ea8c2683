"""Capture input: files and live interfaces -> :class:`RawFrame` tuples.

The only package of mmsanalyze that does I/O.  ``open_source`` takes a path,
a binary file object or an interface name; every reader iterates
``RawFrame(number, ts, linktype, data, orig_len, interface)`` and collects
``findings``.
"""

from .capture import CaptureReader, open_capture
from .frame import RawFrame
from .live import LiveReader, open_live, open_source

__all__ = ["RawFrame", "CaptureReader", "LiveReader", "open_capture", "open_live", "open_source"]
