"""Traffic breakdown: frames and bytes per protocol, overall, per second and per source.

:class:`TrafficCounter` is the object the pipeline calls for every frame
(``add(ts, orig_len, proto, src)``, proto codes of :mod:`mmsanalyze.pipeline`); it
aggregates on the fly into per-second and per-source counters, so memory grows with
the capture's duration and number of talkers, not with its frames.

Protocol names: ``mms`` frames in which an MMS PDU ends (Wireshark's protocol column
shows MMS on the same frames); ``iso-tcp`` the other frames on the ISO-on-TCP ports
(TCP handshakes and ACKs, COTP/session/ACSE control, segments of a longer PDU);
``goose``, ``sv``, ``r-goose``, ``r-sv``, ``gsse``; ``other`` everything else.
Bytes are original frame lengths (``frame.len``), so they count headers too.
"""

from __future__ import annotations

from ._table import build, columns_doc

__all__ = ["TrafficCounter", "COLUMNS", "SECOND_COLUMNS", "SOURCE_COLUMNS", "PROTOCOLS"]

#: Protocol names by the pipeline's codes (P_OTHER=0 ... P_TCP102=7, P_RTUNNEL=8: IEC 61850-90-5
#: datagrams tunnelling layer-2 frames).
PROTOCOLS = ("other", "mms", "goose", "sv", "r-goose", "r-sv", "gsse", "iso-tcp", "r-tunnel")
#: Order of the protocols in tables and plots.
ORDER = ("mms", "iso-tcp", "goose", "r-goose", "gsse", "sv", "r-sv", "r-tunnel", "other")

COLUMNS = {
    "protocol": ("string", "mms, iso-tcp, goose, r-goose, gsse, sv, r-sv or other"),
    "frames": ("Int64", "number of frames"),
    "bytes": ("Int64", "sum of original frame lengths (octets)"),
    "frame_share": ("float64", "fraction of all frames (0..1)"),
    "byte_share": ("float64", "fraction of all bytes (0..1)"),
    "bits_per_s": ("float64", "average rate over the capture duration (NaN for a single instant)"),
}
SECOND_COLUMNS = {
    "second": ("Int64", "epoch second (floor of the frame time)"),
    "protocol": ("string", "protocol name"),
    "frames": ("Int64", "frames in that second"),
    "bytes": ("Int64", "octets in that second (= bytes per second)"),
}
SOURCE_COLUMNS = {
    "source": ("string", "source IP address, or source MAC for non-IP frames"),
    "protocol": ("string", "protocol name"),
    "frames": ("Int64", "frames sent"),
    "bytes": ("Int64", "octets sent"),
    "byte_share": ("float64", "fraction of all bytes of the capture"),
}


class TrafficCounter:
    """Per-frame counter the pipeline feeds; see :meth:`table`."""

    __slots__ = ("per_second", "per_source", "first", "last", "_last")

    def __init__(self):
        self.per_second: dict = {}     # (second, proto) -> [frames, bytes]
        self.per_source: dict = {}     # (src, proto) -> [frames, bytes]
        self.first = None
        self.last = None
        self._last = None              # (second, proto, src, length) of the latest frame

    def add(self, ts: float, length: int, proto: int, src) -> None:
        """Count one frame of ``length`` octets (called by the pipeline)."""
        if self.first is None:
            self.first = ts
        self.last = ts
        sec = int(ts // 1)
        k = (sec, proto)
        c = self.per_second.get(k)
        if c is None:
            self.per_second[k] = [1, length]
        else:
            c[0] += 1
            c[1] += length
        k = (src, proto)
        c = self.per_source.get(k)
        if c is None:
            self.per_source[k] = [1, length]
        else:
            c[0] += 1
            c[1] += length
        self._last = (sec, proto, src, length)

    def reclassify_last(self, proto: int) -> None:
        """Move the latest frame to ``proto`` (e.g. iso-tcp -> mms once it completed a PDU)."""
        if self._last is None or self._last[1] == proto:
            return
        sec, old, src, length = self._last
        for table, key in ((self.per_second, sec), (self.per_source, src)):
            c = table[(key, old)]
            c[0] -= 1
            c[1] -= length
            if c[0] == 0:
                del table[(key, old)]
            n = table.setdefault((key, proto), [0, 0])
            n[0] += 1
            n[1] += length
        self._last = (sec, proto, src, length)

    # -- tables -------------------------------------------------------------------
    def totals(self) -> dict:
        """protocol name -> [frames, bytes]."""
        tot: dict = {}
        for (_, p), (f, b) in self.per_second.items():
            t = tot.setdefault(PROTOCOLS[p], [0, 0])
            t[0] += f
            t[1] += b
        return tot

    def table(self):
        """Frames, bytes and shares per protocol over the whole capture.

        Columns:
        """
        tot = self.totals()
        nf = sum(v[0] for v in tot.values()) or 1
        nb = sum(v[1] for v in tot.values()) or 1
        dur = (self.last - self.first) if self.first is not None else 0.0
        names = [p for p in ORDER if p in tot]
        return build(COLUMNS, {
            "protocol": names,
            "frames": [tot[p][0] for p in names],
            "bytes": [tot[p][1] for p in names],
            "frame_share": [tot[p][0] / nf for p in names],
            "byte_share": [tot[p][1] / nb for p in names],
            "bits_per_s": [tot[p][1] * 8 / dur if dur > 0 else None for p in names],
        })

    def per_second_table(self):
        """Frames and bytes per epoch second and protocol (seconds without traffic absent).

        Columns:
        """
        keys = sorted(self.per_second, key=lambda k: (k[0], ORDER.index(PROTOCOLS[k[1]])))
        return build(SECOND_COLUMNS, {
            "second": [k[0] for k in keys],
            "protocol": [PROTOCOLS[k[1]] for k in keys],
            "frames": [self.per_second[k][0] for k in keys],
            "bytes": [self.per_second[k][1] for k in keys],
        })

    def per_source_table(self):
        """Frames and bytes per source address and protocol, most bytes first.

        Columns:
        """
        nb = sum(v[1] for v in self.per_source.values()) or 1
        rows = sorted(((_addr_text(s), PROTOCOLS[p], f, b) for (s, p), (f, b) in self.per_source.items()),
                      key=lambda r: (-r[3], r[0] or "", r[1]))
        return build(SOURCE_COLUMNS, {
            "source": [r[0] for r in rows],
            "protocol": [r[1] for r in rows],
            "frames": [r[2] for r in rows],
            "bytes": [r[3] for r in rows],
            "byte_share": [r[3] / nb for r in rows],
        })


def _addr_text(a):
    if a is None:
        return None
    if isinstance(a, (bytes, bytearray)):
        if len(a) == 6:
            return ":".join(f"{x:02x}" for x in a)
        return bytes(a).hex()
    return str(a)


TrafficCounter.table.__doc__ += "\n" + columns_doc(COLUMNS) + "\n"
TrafficCounter.per_second_table.__doc__ += "\n" + columns_doc(SECOND_COLUMNS) + "\n"
TrafficCounter.per_source_table.__doc__ += "\n" + columns_doc(SOURCE_COLUMNS) + "\n"
