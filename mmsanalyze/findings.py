"""Findings: what the pipeline records instead of crashing on bad input."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DecodeError


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem seen while decoding, Wireshark expert-info style.

    Attributes:
        code: namespaced stable name, e.g. ``mms.malformed``, ``tcp.gap``.
        severity: ``error`` | ``warning`` | ``note``.
        frame: 1-based frame number (0 when not tied to one frame).
        layer: protocol layer that found it.
        message: one human line, with offset and breadcrumb where known.
        stream: TCP stream index or None.
    """

    code: str
    severity: str
    frame: int
    layer: str
    message: str
    stream: int | None = None

    @classmethod
    def from_error(cls, err: DecodeError, frame: int, stream: int | None = None,
                   layer: str | None = None) -> "Finding":
        return cls(err.code, err.severity, frame, err.layer or layer or "", str(err), stream)

    def as_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "frame": self.frame,
                "layer": self.layer, "message": self.message, "stream": self.stream}
