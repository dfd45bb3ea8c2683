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
* :class:`Tolerated`   -- a fault decoded past (never raised; handed out as a value).

Errors are values: :meth:`DecodeError.within` and :meth:`DecodeError.relabel` return
new errors and never change the one they are called on.

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
        """A new error like this one with ``name`` prefixed to the breadcrumb (and the layer
        set if unset).  Errors are values: ``self`` is never changed, so an error kept in a
        cache can be re-raised or relabelled any number of times."""
        new = self._copy()
        new.path = (name,) + self.path
        if layer and not self.layer:
            new.layer = layer
            new.code = f"{layer}.{self.kind}"
        return new

    def relabel(self, layer: str | None = None, code: str | None = None,
                offset: int | None | type(...) = ..., path: tuple | None = None) -> "DecodeError":
        """A new error like this one with some of ``layer``, ``code``, ``offset``, ``path`` replaced.

        Used to re-home a BER error under a protocol's namespace (``ber.truncated.length`` ->
        ``goose.malformed.length``) or to shift an offset into an enclosing buffer."""
        new = self._copy()
        if layer is not None:
            new.layer = layer
        if code is not None:
            new.code = code
        if offset is not ...:
            new.offset = offset
        if path is not None:
            new.path = tuple(path)
        return new

    def shifted(self, delta: int) -> "DecodeError":
        """A new error whose offset is moved by ``delta`` (offset of a sub-buffer in its parent)."""
        return self.relabel(offset=None if self.offset is None else self.offset + delta)

    def _copy(self) -> "DecodeError":
        new = self.__class__.__new__(self.__class__)
        Exception.__init__(new, *self.args)
        new.__dict__.update(self.__dict__)
        return new

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


class Tolerated(DecodeError):
    """A fault the decoder read past, as Wireshark does (an unsigned field sent with its high
    bit set, an unknown member skipped).  Never raised: decoders hand these out as values
    (``notes`` lists) and the pipeline reports them as findings of ``severity`` note
    (default) or warning."""

    severity = "note"
    kind = "tolerated"

    def __init__(self, message: str, offset: int | None = None, layer: str = "",
                 path: tuple[str, ...] = (), code: str | None = None, severity: str | None = None):
        super().__init__(message, offset, layer, path, code)
        if severity is not None:
            self.severity = severity


class CaptureError(Exception):
    """A capture file (or interface) that cannot be used at all."""
