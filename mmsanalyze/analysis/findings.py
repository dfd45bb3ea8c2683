"""Decoding findings (Wireshark expert-info style) as a table."""

from __future__ import annotations

from ._table import build, columns_doc

__all__ = ["COLUMNS", "findings_table"]

COLUMNS = {
    "frame": ("Int64", "frame number (0 when not tied to one frame)"),
    "severity": ("string", "error | warning | note"),
    "code": ("string", "namespaced code, e.g. mms.malformed.length, tcp.gap"),
    "layer": ("string", "layer that found it"),
    "stream": ("Int64", "TCP stream, when known"),
    "message": ("string", "one human line"),
}


def findings_table(findings):
    """One row per :class:`~mmsanalyze.findings.Finding`, in frame order.

    Columns:
    """
    rows = sorted(findings, key=lambda f: f.frame or 0)
    return build(COLUMNS, {k: [getattr(f, k) for f in rows] for k in COLUMNS})


findings_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
