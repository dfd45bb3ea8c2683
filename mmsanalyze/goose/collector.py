"""GooseCollector: one row per GOOSE message, from L2 frames and R-GOOSE datagrams.

The pipeline calls :meth:`GooseCollector.add` for every frame whose EtherType is
0x88B8 and :meth:`GooseCollector.add_routable` for R-GOOSE UDP payloads; it reads
:attr:`findings`, :meth:`table` and :meth:`streams` at the end.  Nothing here
raises on bad input: a malformed message is a row with ``malformed=True`` and an
``error`` text, plus a :class:`~mmsanalyze.findings.Finding`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ber import IndefiniteLength, definite_tlv
from ..errors import DecodeError, Truncated, Unsupported
from ..findings import Finding
from ..net.link import mac_str
from .data import decode_all_data
from .pdu import HEADER_LEN, SIM_BIT, decode_goose_pdu, read_l2_header
from .routable import PAYLOAD_GOOSE, parse_session

__all__ = ["GooseCollector", "GOOSE_COLUMNS"]

#: Column name -> pandas dtype of :meth:`GooseCollector.table` (documented in
#: :func:`GooseCollector.table`).  The row tuples are built in this order.
GOOSE_COLUMNS = {
    "time": "float64", "frame": "int64", "src_mac": "object", "dst_mac": "object",
    "vlan_id": "Int64", "vlan_priority": "Int64", "appid": "Int64", "length": "Int64",
    "reserved1": "Int64", "reserved2": "Int64", "sim_bit": "bool", "gocb_ref": "object",
    "go_id": "object", "dat_set": "object", "time_allowed_to_live": "Int64", "t": "float64",
    "t_quality": "Int64", "st_num": "Int64", "sq_num": "Int64", "simulation": "boolean",
    "test": "boolean", "conf_rev": "Int64", "nds_com": "boolean",
    "num_dat_set_entries": "Int64", "values": "object", "value_types": "object",
    "all_data": "object", "security": "bool", "transport": "object", "malformed": "bool",
    "error": "object",
}
_NCOL = len(GOOSE_COLUMNS)
#: Distinct allData encodings whose decoded values are remembered (heartbeats
#: repeat the same bytes, so most messages are a dict hit).
_VALUES_CACHE_MAX = 4096



class GooseCollector:
    """Collects GOOSE messages into a table; see :meth:`table` for the columns."""

    def __init__(self):
        #: Findings for malformed / unsupported messages, in frame order.
        self.findings: list[Finding] = []
        #: L2 GOOSE frames and their bytes seen by :meth:`add` (for the breakdown).
        self.frames = 0
        self.bytes = 0
        self._rows: list[tuple] = []
        self._values: dict = {}

    # -- input ---------------------------------------------------------------------

    def add(self, frame_number: int, ts: float, data, l3_offset: int, src_mac, dst_mac,
            vlan_ids=(), vlan_priority=None) -> None:
        """Decode the GOOSE frame ``data`` whose header (APPID) starts at ``l3_offset``."""
        self.frames += 1
        self.bytes += len(data)
        rec = {}
        notes: list = []
        err = None
        end = len(data)
        try:
            try:
                appid, length, r1, r2, end = read_l2_header(data, l3_offset, end)
            except Truncated as exc:
                if end - l3_offset < HEADER_LEN:
                    raise
                # Length beyond the captured octets (snaplen, cut frame): decode what is there
                err = exc
                claimed = data[l3_offset + 2] << 8 | data[l3_offset + 3]
                appid, length, r1, r2, _ = read_l2_header(data, l3_offset, l3_offset + claimed)
            rec.update(appid=appid, length=length, reserved1=r1, reserved2=r2)
            data, exc = _decode_pdu(data, l3_offset + HEADER_LEN, end, rec, notes)
            err = err or exc
        except DecodeError as exc:
            err = err or exc
        self._row(frame_number, ts, data, rec, err, src_mac, dst_mac, vlan_ids,
                  vlan_priority, "l2", notes)

    def add_routable(self, frame_number: int, ts: float, payload, src_mac=None, dst_mac=None,
                     vlan_ids=(), vlan_priority=None, off: int = 0, end: int | None = None) -> int:
        """Decode the goosePdus of an R-GOOSE UDP payload (IEC 61850-90-5); returns rows added.

        APPID and the simulation flag come from the session payload item; such
        rows have ``transport='r-goose'`` and no L2 ``length``/``reserved`` fields.
        """
        end = len(payload) if end is None else end
        try:
            sess = parse_session(payload, off, end)
        except DecodeError as exc:
            self._row(frame_number, ts, payload, {}, exc, src_mac, dst_mac, vlan_ids,
                      vlan_priority, "r-goose")
            return 1
        n = 0
        for item in sess.payloads:
            if item.tag != PAYLOAD_GOOSE:
                continue
            rec = {"appid": item.appid, "reserved1": SIM_BIT if item.simulation else 0}
            notes: list = []
            buf, err = _decode_pdu(payload, item.apdu_start, item.apdu_end, rec, notes)
            self._row(frame_number, ts, buf, rec, err, src_mac, dst_mac, vlan_ids,
                      vlan_priority, "r-goose", notes)
            n += 1
        return n

    def add_tunnelled(self, frame_number: int, ts: float, data, l3_offset: int, src_mac, dst_mac,
                      vlan_ids=(), vlan_priority=None) -> None:
        """Decode a layer-2 GOOSE frame carried in an IEC 61850-90-5 tunnel (session
        identifier 0xA0, payload type 0x83: see :func:`mmsanalyze.goose.routable.tunnelled_frame`);
        ``l3_offset`` is its APPID.  Such rows have ``transport='r-tunnel'``."""
        rec = {}
        notes: list = []
        err = None
        end = len(data)
        try:
            appid, length, r1, r2, end = read_l2_header(data, l3_offset, end)
            rec.update(appid=appid, length=length, reserved1=r1, reserved2=r2)
            data, err = _decode_pdu(data, l3_offset + HEADER_LEN, end, rec, notes)
        except DecodeError as exc:
            err = exc
        self._row(frame_number, ts, data, rec, err, src_mac, dst_mac, vlan_ids, vlan_priority,
                  "r-tunnel", notes)

    def _row(self, frame, ts, data, rec, err, src, dst, vlan_ids, prio, transport, notes=()):
        values = types = raw = None
        span = rec.get("all_data")
        if span is not None:
            raw = bytes(data[span[0]:span[1]])
            hit = self._values.get(raw)
            if hit is None:
                try:
                    hit = decode_all_data(raw, 0, len(raw))
                except DecodeError as exc:
                    hit = exc
                if len(self._values) < _VALUES_CACHE_MAX:
                    self._values[raw] = hit
            if isinstance(hit, DecodeError):
                if err is None:
                    # a new error each time: the cached one stays as decode_all_data made it
                    err = hit.shifted(span[0]).within("allData").within("goosePdu")
            else:
                values, types = list(hit[0]), list(hit[1])
        for note in notes:
            self.findings.append(Finding(note.code, note.severity, frame, "goose", str(note)))
        error = None
        malformed = False
        if err is not None:
            if err.layer in ("", "ber", "mms"):
                kind = "unsupported" if isinstance(err, Unsupported) else "malformed"
                err = err.relabel("goose", f"goose.{kind}." + err.code.rsplit(".", 1)[-1])
            error = str(err)
            malformed = not isinstance(err, Unsupported)
            self.findings.append(Finding(err.code, err.severity, frame, "goose", error))
        r1 = rec.get("reserved1")
        sim = rec.get("simulation")
        self._rows.append((
            ts, frame, src, dst, vlan_ids[0] if vlan_ids else None, prio, rec.get("appid"),
            rec.get("length"), r1, rec.get("reserved2"), bool(r1 and r1 & SIM_BIT),
            rec.get("gocb_ref"), rec.get("go_id"), rec.get("dat_set"),
            rec.get("time_allowed_to_live"), rec.get("t"), rec.get("t_quality"),
            rec.get("st_num"), rec.get("sq_num"), sim, sim, rec.get("conf_rev"),
            rec.get("nds_com"), rec.get("num_dat_set_entries"), values, types, raw,
            "security" in rec, transport, malformed, error))

    # -- output --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self) -> list:
        """The message rows as tuples in :data:`GOOSE_COLUMNS` order (no DataFrame:
        for live monitoring, which folds a second's messages at a time)."""
        return self._rows

    def table(self) -> pd.DataFrame:
        """One row per GOOSE message, in capture order.

        Columns (IEC 61850-8-1 names in snake_case):

        * ``time`` capture time (float epoch s); ``frame`` 1-based frame number.
        * ``src_mac``, ``dst_mac`` 'aa:bb:cc:dd:ee:ff'; ``vlan_id``, ``vlan_priority``
          of the outermost 802.1Q tag (NA untagged).
        * ``appid``, ``length``, ``reserved1``, ``reserved2`` L2 header (length and
          reserved NA for R-GOOSE); ``sim_bit`` reserved1 bit 15 (Ed.2 "simulate"),
          for R-GOOSE the session payload's simulation octet.
        * ``gocb_ref``, ``go_id``, ``dat_set``, ``time_allowed_to_live`` (ms),
          ``t`` (float epoch s), ``t_quality`` (UtcTime quality octet),
          ``st_num``, ``sq_num``, ``conf_rev``, ``nds_com``, ``num_dat_set_entries``.
        * ``simulation`` goosePdu field [7] (Ed.2 name); ``test`` the same field
          under its Ed.1 name -- always equal, kept so either vocabulary works.
        * ``values`` allData as Python values (mmsanalyze.mms.decode_data), and
          ``value_types`` their MMS Data type names; ``all_data`` the raw allData
          content octets (bytes) used for replay / poisoning checks.
        * ``security`` goosePdu [12] present; ``transport`` 'l2', 'r-goose' or 'r-tunnel'
          (layer-2 GOOSE tunnelled in IEC 61850-90-5).
        * ``malformed`` / ``error``: the message failed to decode (partial fields
          are kept); a matching Finding is in :attr:`findings`.
        """
        cols = list(zip(*self._rows)) if self._rows else [()] * _NCOL
        out = {}
        for (name, dtype), col in zip(GOOSE_COLUMNS.items(), cols):
            if name in ("src_mac", "dst_mac"):
                col = [None if m is None else mac_str(m) for m in col]
            if dtype == "object":
                arr = np.empty(len(col), dtype=object)
                arr[:] = col
                out[name] = arr
            else:
                out[name] = pd.array(col, dtype=dtype) if dtype in ("Int64", "boolean") \
                    else np.array([np.nan if v is None else v for v in col], dtype=dtype) \
                    if dtype == "float64" else np.array(col, dtype=dtype)
        return pd.DataFrame(out)

    def streams(self) -> pd.DataFrame:
        """Per-publisher health table: see :func:`mmsanalyze.analysis.goose.goose_streams`."""
        from ..analysis.goose import goose_streams
        return goose_streams(self.table(), capture_loss=getattr(self, "capture_loss", None))


def _decode_pdu(buf, off: int, end: int, rec: dict, notes: list):
    """decode_goose_pdu into ``rec``; returns ``(buffer the spans point into, error or None)``.

    A goosePdu with indefinite lengths (X.690 8.1.3.6) is decoded again from its
    definite-length re-encoding, spliced into a copy of the frame after the header so
    the header offsets stay valid.
    """
    head = dict(rec)
    try:
        decode_goose_pdu(buf, off, end, rec, notes)
        return buf, None
    except DecodeError as exc:
        if not isinstance(exc, IndefiniteLength):
            return buf, exc
        try:
            conv = definite_tlv(buf, off, end)
        except DecodeError as exc2:
            return buf, exc2
        if conv is None:
            return buf, exc
    buf = bytes(buf[:off]) + conv[0]
    rec.clear()
    rec.update(head)
    notes.clear()
    try:
        decode_goose_pdu(buf, off, len(buf), rec, notes)
    except DecodeError as exc:
        return buf, exc
    return buf, None
