"""Recognising the other IEC 61850 multicast transports, and counting them.

* **R-GOOSE / R-SV** (IEC 61850-90-5, IEC 61850-8-1 Ed.2.1): UDP port 102 with
  the 90-5 session header (see :mod:`mmsanalyze.goose.routable`); session
  identifier 0xA1 GOOSE, 0xA2 SV, 0xA0 tunnelled, 0xA3 management.
* **GSSE** (UCA2 GOOSE, IEC 61850-8-1 Ed.1 clause 19): an MMS InformationReport
  of the variable named ``GOOSE`` over the OSI connectionless stack: ISO/IEC
  8802-2 LLC (DSAP = SSAP = 0xFE, UI) carrying ISO 8473 CLNP data PDUs.

The pipeline calls :func:`recognise_udp` / :func:`recognise_llc` (or the
:class:`L2Collector` methods, which also count and forward R-GOOSE / R-SV to the
GOOSE / SV collectors) and reads :meth:`L2Collector.table` for the breakdown.
"""

from __future__ import annotations

import pandas as pd

from ..errors import DecodeError
from ..goose.routable import SI_KINDS, UDP_PORT, parse_session, session_start
from ..net.link import mac_str

__all__ = ["recognise_udp", "recognise_llc", "L2Collector", "L2_KINDS", "GSSE_NAME",
           "other_src_macs", "session_signature"]

#: Kinds this module can name, in breakdown order.
L2_KINDS = ("goose", "sv", "r-goose", "r-sv", "r-tunnel", "r-mngt", "gsse")
#: MMS VMD-specific ObjectName [0] VisibleString "GOOSE": the UCA2 GOOSE variable.
GSSE_NAME = b"\x80\x05GOOSE"
#: How far into the CLNP user data the GOOSE variable name is looked for.
_GSSE_SEARCH = 256
_LLC_OSI = 0xFE       # ISO network layer SAP (ISO/IEC TR 11802-1)
_LLC_UI = 0x03
_NLPID_CLNP = 0x81    # ISO 8473
_CLNP_DT = 0x1C       # data PDU type (low 5 bits of the flags/type octet)


def recognise_udp(sport: int, dport: int, payload, off: int = 0) -> str | None:
    """Name an IEC 61850-90-5 datagram: 'r-goose', 'r-sv', 'r-tunnel', 'r-mngt' or None.

    Only the first octets are read, so the first fragment of a fragmented R-SV
    datagram is recognised too.
    """
    if sport != UDP_PORT and dport != UDP_PORT:
        return None
    s = session_start(payload, off, len(payload))
    return None if s < 0 else SI_KINDS[payload[s]]


def recognise_llc(data, off: int) -> str | None:
    """'gsse' when the 802.2 LLC frame at ``off`` is a UCA2 GOOSE (GSSE) over CLNP, else None."""
    end = len(data)
    if end - off < 9 or data[off] != _LLC_OSI or data[off + 1] != _LLC_OSI \
            or data[off + 2] != _LLC_UI or data[off + 3] != _NLPID_CLNP:
        return None
    clnp = off + 3
    if data[clnp + 4] & 0x1F != _CLNP_DT:
        return None
    user = clnp + data[clnp + 1]
    return "gsse" if data.find(GSSE_NAME, user, min(end, user + _GSSE_SEARCH)) >= 0 else None


class L2Collector:
    """Counts R-GOOSE, R-SV, 90-5 tunnel/management and GSSE frames (and L2 GOOSE/SV).

    ``goose`` / ``sv`` are the pipeline's :class:`~mmsanalyze.goose.GooseCollector`
    and :class:`~mmsanalyze.sv.SvCollector`; when given, R-GOOSE / R-SV payloads are
    decoded into their tables (``transport`` 'r-goose' / 'r-sv') and their L2
    counts join :meth:`table`.
    """

    def __init__(self, goose=None, sv=None, decode_routable: bool = True):
        self.goose = goose
        self.sv = sv
        self.decode_routable = decode_routable
        self._counts: dict = {}
        self.signatures: dict = {}     # (kind, src_mac) -> [frames, signed, first_frame, key ids]

    #: The pure recognisers, so an L2Collector can stand where the pipeline expects
    #: an object with ``recognise_udp`` / ``recognise_llc`` (they do not count).
    recognise_udp = staticmethod(recognise_udp)
    recognise_llc = staticmethod(recognise_llc)

    def count(self, kind: str, ts: float, nbytes: int) -> None:
        """Add one frame of ``kind`` to the breakdown."""
        c = self._counts.get(kind)
        if c is None:
            self._counts[kind] = [1, nbytes, ts, ts]
        else:
            c[0] += 1
            c[1] += nbytes
            if ts < c[2]:
                c[2] = ts
            if ts > c[3]:
                c[3] = ts

    def add_udp(self, frame_number: int, ts: float, sport: int, dport: int, payload,
                src_mac=None, dst_mac=None, vlan_ids=(), vlan_priority=None,
                wire_len: int | None = None) -> str | None:
        """Recognise, count and (for R-GOOSE / R-SV) decode one UDP payload; returns its kind."""
        kind = recognise_udp(sport, dport, payload)
        if kind is None:
            return None
        self.count(kind, ts, len(payload) if wire_len is None else wire_len)
        if kind == "r-tunnel" and self.decode_routable:
            self._tunnel(frame_number, ts, payload, src_mac)
            return kind
        if kind in ("r-goose", "r-sv"):
            self._note_signature(kind, frame_number, payload, src_mac)
        if self.decode_routable:
            if kind == "r-goose" and self.goose is not None:
                self.goose.add_routable(frame_number, ts, payload, src_mac, dst_mac, vlan_ids,
                                        vlan_priority)
            elif kind == "r-sv" and self.sv is not None:
                self.sv.add_routable(frame_number, ts, payload, src_mac, dst_mac, vlan_ids,
                                     vlan_priority)
        return kind

    def _tunnel(self, frame_number, ts, payload, src_mac) -> str | None:
        """Layer-2 GOOSE tunnelled in a 90-5 datagram: decoded by the GOOSE collector
        (``transport='r-tunnel'``); returns 'goose' when it carried GOOSE."""
        from ..errors import DecodeError
        from ..goose.routable import PAYLOAD_TUNNEL, parse_session, tunnelled_frame
        try:
            sess = parse_session(payload, 0, len(payload))
        except DecodeError:
            return None
        carried = None
        for item in sess.payloads:
            if item.tag != PAYLOAD_TUNNEL:
                continue
            # the tunnelled frame's own GOOSE Length bounds it (some senders get the
            # item's APDU length wrong while the session payload length is right)
            inner = tunnelled_frame(payload, item.apdu_start, len(payload))
            if inner is None:
                continue
            dst, vlans, prio, ethertype, off = inner
            if ethertype == 0x88B8 and self.goose is not None:
                frame = bytes(payload)
                self.goose.add_tunnelled(frame_number, ts, frame, off, src_mac, dst, vlans, prio)
                carried = "goose"
        return carried

    def _note_signature(self, kind, frame_number, payload, src_mac) -> None:
        """Per (kind, source MAC): frames, frames with an HMAC signature, first frame, key ids."""
        signed, key_id = session_signature(payload)
        k = (kind, mac_str(src_mac) if src_mac is not None else None)
        c = self.signatures.get(k)
        if c is None:
            c = self.signatures[k] = [0, 0, frame_number, set()]
        c[0] += 1
        c[1] += signed
        if key_id is not None and len(c[3]) < 16:
            c[3].add(key_id)

    def signature_table(self) -> pd.DataFrame:
        """R-GOOSE / R-SV per (kind, src_mac): ``frames``, ``signed`` (frames carrying an HMAC
        signature after the payload, IEC 61850-90-5 11.3), ``first_frame``, ``key_ids``."""
        keys = sorted(self.signatures, key=lambda k: (k[0], k[1] or ""))
        return pd.DataFrame({
            "kind": [k[0] for k in keys], "src_mac": [k[1] for k in keys],
            "frames": pd.array([self.signatures[k][0] for k in keys], dtype="int64"),
            "signed": pd.array([self.signatures[k][1] for k in keys], dtype="int64"),
            "first_frame": pd.array([self.signatures[k][2] for k in keys], dtype="int64"),
            "key_ids": [sorted(self.signatures[k][3]) for k in keys],
        })

    def add_llc(self, frame_number: int, ts: float, data, off: int,
                wire_len: int | None = None) -> str | None:
        """Recognise and count one 802.2 LLC frame (``off`` = DSAP); returns 'gsse' or None."""
        kind = recognise_llc(data, off)
        if kind is not None:
            self.count(kind, ts, len(data) if wire_len is None else wire_len)
        return kind

    def table(self) -> pd.DataFrame:
        """Breakdown rows: ``kind``, ``frames``, ``bytes``, ``first_time``, ``last_time``.

        Kinds in :data:`L2_KINDS` order; 'goose' / 'sv' are the L2 frames of the
        attached collectors; kinds never seen are left out.
        """
        counts = dict(self._counts)
        for kind, col in (("goose", self.goose), ("sv", self.sv)):
            if col is not None and col.frames:
                tab = col.table()
                t = tab["time"][(tab["transport"] == "l2").to_numpy(dtype=bool)]
                if len(t):
                    counts[kind] = [col.frames, col.bytes, float(t.min()), float(t.max())]
        rows = [(k, *counts[k]) for k in L2_KINDS if k in counts]
        rows += [(k, *v) for k, v in counts.items() if k not in L2_KINDS]
        return pd.DataFrame({
            "kind": [r[0] for r in rows],
            "frames": pd.array([r[1] for r in rows], dtype="int64"),
            "bytes": pd.array([r[2] for r in rows], dtype="int64"),
            "first_time": pd.array([r[3] for r in rows], dtype="float64"),
            "last_time": pd.array([r[4] for r in rows], dtype="float64"),
        })


#: 90-5 session trailer tags: padding, then the signature (HMAC) of the SPDU.
_TAG_PADDING, _TAG_SIGNATURE = 0xAF, 0x85


def session_signature(payload) -> tuple:
    """(signed, key_id) of one R-GOOSE / R-SV UDP payload; ``(False, None)`` when unreadable.

    ``signed``: a signature TLV (0x85, non-empty) follows the payload items, after the
    optional padding (IEC 61850-90-5 11.3: the HMAC over the SPDU).
    """
    try:
        sess = parse_session(payload, 0, len(payload))
    except DecodeError:
        return False, None
    if not sess.payloads:
        return False, sess.key_id
    p = sess.payloads[-1].apdu_end
    n = len(payload)
    if p + 2 <= n and payload[p] == _TAG_PADDING:
        p += 2 + payload[p + 1]
    signed = p + 2 <= n and payload[p] == _TAG_SIGNATURE and payload[p + 1] > 0
    return bool(signed), sess.key_id


def other_src_macs(res: pd.DataFrame, keys) -> list:
    """Per row of a streams table: the other ``src_mac`` values seen with the same ``keys``.

    Used for "the same gocbRef / svID published from another MAC" (spoofing sign).
    """
    def norm(v):
        return None if pd.isna(v) else v
    seen: dict = {}
    rows = list(zip(*(res[k] for k in keys), res["src_mac"]))
    for *key, mac in rows:
        seen.setdefault(tuple(norm(k) for k in key), set()).add(norm(mac))
    return [sorted(m for m in seen[tuple(norm(k) for k in key)] if m is not None and m != norm(mac))
            for *key, mac in rows]
