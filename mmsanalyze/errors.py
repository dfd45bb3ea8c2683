"""The one exception tree of mmsanalyze's decoders.

Every decoder (BER, TPKT, COTP, Session, Presentation, ACSE, MMS, GOOSE, SV, link
layers) raises only :class:`DecodeError` or one of its subclasses; nothing else
(IndexError, struct.error, UnicodeDecodeError, RecursionError) may escape.  The
pipeline turns these into :class:`~mmsanalyze.findings.Finding` records and goes
on with the next unit.

* :class:`Truncated`   -- the unit ends before its own lengths say it should
  (snaplen-cut packets, lost segments).  A subtype of "malformed", as in dpkt.
* :class:`Malformed`   -- the bytes contradict the standard (bad tag, hostile
  length, nesting too deep, indefinite length where DER-like BER is required).
* :class:`Unsupported` -- well-formed but not something we decode (yet).

``CaptureError`` is separate: it is raised by the I/O layer for a file that is
unusable as a whole (missing, not a capture, unknown format) and makes the CLI
print a one-line error.
"""

from __future__ import annotations


class DecodeError(Exception):
    """A unit could not be decoded.

    Attributes:
        message: what is wrong.
        offset: byte offset inside the unit being decoded (or None).
        layer: short protocol name ("ber", "tpkt", "cotp", "ses", "pres",
            "acse", "mms", "goose", "sv", "eth", "ip", "tcp").
        path: breadcrumb of ASN.1 / structure names walked so far, outermost
            first ("while parsing X" in asn1crypto's words).
        code: stable machine name of the problem, Wireshark style
            (``mms.malformed.length``).
    """

    severity = "error"
    kind = "malformed"

    def __init__(self, message: str, offset: int | None = None, layer: str = "",
                 path: tuple[str, ...] = (), code: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.layer = layer
        self.path = tuple(path)
        self.code = code or f"{layer or 'decode'}.{self.kind}"

    def within(self, name: str, layer: str | None = None) -> "DecodeError":
        """Prefix the breadcrumb with ``name`` (and set the layer if unset); returns self."""
        self.path = (name,) + self.path
        if layer and not self.layer:
            self.layer = layer
            self.code = f"{layer}.{self.kind}"
        return self

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(" > ".join(self.path))
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        return self.message + (f" ({', '.join(where)})" if where else "")


class Malformed(DecodeError):
    """Bytes that contradict the standard."""


class Truncated(Malformed):
    """The unit ends before its own lengths say it should."""

    kind = "truncated"


class Unsupported(DecodeError):
    """Well-formed input we do not decode."""

    severity = "note"
    kind = "unsupported"


class CaptureError(Exception):
    """A capture file (or interface) that cannot be used at all."""
