"""The per-connection OSI context: TPKT -> COTP -> Session -> Presentation -> ACSE/MMS.

One :class:`OsiConnection` lives for each reassembled TCP connection (Zeek's
per-connection analyzer tree, in miniature).  It owns the TPKT framers and COTP
reassemblers of both directions and the presentation-context table learned from
CP/CPA, and turns byte chunks into :class:`~mmsanalyze.records.PduRecord` and
:class:`~mmsanalyze.records.OsiEvent` records plus findings.  No I/O.

Dispatch of presentation data values is by the abstract syntax negotiated for
their context id (MMS 1.0.9506.2.1, ACSE 2.2.1.0.1).  When the association was
not captured the id is unknown: an ACSE APDU is recognised by its APPLICATION
tag in connect/release/abort SPDUs, MMS by its structure (``looks_like_mms``);
such PDUs are marked ``via="pres-inferred"`` and one note-level finding says so.
"""

from __future__ import annotations

from ..ber import read_header
from ..errors import DecodeError
from ..findings import Finding
from ..mms import mms_envelope, looks_like_mms
from ..mms.names import PDU_TAGS
from ..records import OsiEvent, PduRecord, VIA_ACSE, VIA_COTP, VIA_PRES, VIA_PRES_INFERRED
from .acse import parse_acse, APDU_NAMES
from .cotp import CotpReassembler, DT, parse_tpdu, reason_name
from .presentation import MMS_OID, SYNTAX_NAMES, parse_ppdu, parse_user_data
from .session import looks_like_session, parse_spdus
from .tpkt import TpktFramer

#: First octets of the MMSpdu CHOICE alternatives (ISO 9506-2 7.1): [0]-[4], [7]-[10], [13]
#: constructed; cancel-Request/Response [5]/[6] and conclude-Request/Response [11]/[12] primitive.
_MMS_FIRST = frozenset((0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0x85, 0x86, 0xA7, 0xA8, 0xA9, 0xAA, 0x8B, 0x8C, 0xAD))
_CONNECT_SPDUS = frozenset({"CN", "AC", "RF"})


class OsiConnection:
    """Decodes both directions of one TCP connection.

    ``endpoints`` is ``((client_addr, client_port), (server_addr, server_port))``;
    records go to ``out`` (a list the pipeline drains), findings to ``findings``.
    """

    __slots__ = ("stream", "endpoints", "out", "findings", "tpkt", "cotp", "contexts",
                 "inferred_noted", "inferred", "pdus", "data_noted")

    def __init__(self, stream: int, endpoints, out: list, findings: list, synced=(True, True)):
        self.stream = stream
        self.endpoints = endpoints
        self.out = out
        self.findings = findings
        self.tpkt = [TpktFramer(synced[0]), TpktFramer(synced[1])]
        self.cotp = [CotpReassembler(), CotpReassembler()]
        self.contexts: dict = {}
        self.inferred_noted = False
        self.inferred: set = set()
        self.pdus = [0, 0]
        self.data_noted = False

    # -- findings -------------------------------------------------------------------------
    def _finding(self, frame: int, err: DecodeError, layer: str) -> None:
        self.findings.append(Finding.from_error(err, frame, self.stream, layer))

    def _note(self, frame: int, code: str, severity: str, layer: str, message: str) -> None:
        self.findings.append(Finding(code, severity, frame, layer, message, self.stream))

    # -- TCP -> TPKT ----------------------------------------------------------------------
    def on_chunks(self, direction: int, chunks) -> None:
        framer = self.tpkt[direction]
        for frame, ts, data, gap in chunks:
            if gap:
                self._note(frame, "tcp.gap", "warning", "tcp",
                           f"{gap} bytes missing before this segment (lost or not captured); resynchronising")
                framer.gap()
                self.cotp[direction].reset()
            for f, t, payload in framer.feed(data, frame, ts):
                self._tpdu(direction, f, t, payload)
            if framer.events:
                for f, msg in framer.events:
                    self._note(f, "tpkt.resync", "warning", "tpkt", msg)
                framer.events.clear()

    # -- COTP ------------------------------------------------------------------------------
    def _tpdu(self, d: int, frame: int, ts: float, payload: bytes) -> None:
        try:
            tp = parse_tpdu(payload)
        except DecodeError as err:
            self._finding(frame, err, "cotp")
            return
        if tp.code == DT:
            try:
                sdu = self.cotp[d].add(tp.data, tp.eot, frame)
            except DecodeError as err:
                self._finding(frame, err, "cotp")
                return
            if sdu is not None:
                self._sdu(d, frame, ts, sdu)
            return
        detail = {"dst_ref": tp.dst_ref, "src_ref": tp.src_ref}
        detail.update(tp.params)
        if tp.reason is not None:
            detail["reason"] = tp.reason
            detail["reason_name"] = reason_name(tp.code, tp.reason)
        self.out.append(OsiEvent(frame, ts, self.stream, d, "cotp", tp.name, detail))

    # -- Session ---------------------------------------------------------------------------
    def _sdu(self, d: int, frame: int, ts: float, sdu: bytes) -> None:
        if not sdu:
            return
        n = len(sdu)
        if sdu[0] in _MMS_FIRST:
            # ISO 9506 directly on COTP: no session SPDU identifier is >= 0x80 (ISO 8327-1 8.3)
            self._mms(d, frame, ts, sdu, 0, n, VIA_COTP)
            return
        if not looks_like_session(sdu):
            # plain user data on COTP (not a session SPDU), as tshark classifies it
            self.out.append(OsiEvent(frame, ts, self.stream, d, "cotp", "data", {"length": n}))
            if not self.data_noted:
                self.data_noted = True
                self._note(frame, "cotp.non_session_data", "note", "cotp",
                           f"COTP user data that is not a session SPDU (first octet 0x{sdu[0]:02x}); "
                           "not decoded as OSI/MMS")
            return
        try:
            sp = parse_spdus(sdu)
        except DecodeError as err:
            self._finding(frame, err, "ses")
            return
        ud = sp.user_data
        for off, msg in sp.problems:
            self._note(frame, "ses.malformed", "warning", "ses", f"{msg}; decoding went on")
        if sp.name != "DT":
            self.out.append(OsiEvent(frame, ts, self.stream, d, "ses", sp.name, sp.params))
        if not ud:
            return
        try:
            pres = parse_user_data(ud) if sp.name == "DT" else parse_ppdu(ud, sp.name)
        except DecodeError as err:
            self._finding(frame, err, "pres")
            return
        if pres.contexts:
            self.contexts.update(pres.contexts)
        if pres.name != "TD":
            detail = dict(pres.detail)
            if pres.contexts:
                detail["contexts"] = {str(k): v for k, v in pres.contexts.items()}
            if pres.results:
                detail["results"] = pres.results
            self.out.append(OsiEvent(frame, ts, self.stream, d, "pres", pres.name, detail))
        for off, msg in pres.problems:
            self._note(frame, "pres.malformed", "warning", "pres", f"{msg}; decoding went on")
        pbuf = ud if pres.buf is None else pres.buf
        for cid, s, e in pres.pdvs:
            self._pdv(d, frame, ts, pbuf, cid, s, e, sp.name)

    # -- Presentation data values -------------------------------------------------------------
    def _pdv(self, d, frame, ts, buf, cid, s, e, spdu: str) -> None:
        syntax = SYNTAX_NAMES.get(self.contexts.get(cid)) if cid is not None else None
        if syntax is None and s < e:
            first = buf[s]
            if first in APDU_NAMES and spdu != "DT":
                syntax = "acse"
            elif first in _MMS_FIRST and looks_like_mms(buf, s, e):
                syntax = "mms-inferred"
        if syntax == "mms":
            self._mms(d, frame, ts, buf, s, e, VIA_PRES_INFERRED if cid in self.inferred else VIA_PRES)
        elif syntax == "mms-inferred":
            if not self.inferred_noted:
                self.inferred_noted = True
                self._note(frame, "pres.context_inferred", "note", "pres",
                           f"presentation context {cid} was not negotiated in the capture; "
                           "MMS recognised by its structure")
            if cid is not None:
                self.contexts[cid] = MMS_OID      # later PDVs on this context are MMS too
                self.inferred.add(cid)
            self._mms(d, frame, ts, buf, s, e, VIA_PRES_INFERRED)
        elif syntax == "acse":
            self._acse(d, frame, ts, buf, s, e)
        else:
            self._note(frame, "pres.unknown_context", "warning", "pres",
                       f"data for presentation context {cid} of unknown abstract syntax "
                       f"{self.contexts.get(cid)}")

    def _acse(self, d, frame, ts, buf, s, e) -> None:
        try:
            apdu = parse_acse(buf, s, e)
        except DecodeError as err:
            self._finding(frame, err, "acse")
            return
        self.out.append(OsiEvent(frame, ts, self.stream, d, "acse", apdu.name, apdu.detail))
        for off, msg in apdu.problems:
            self._note(frame, "acse.malformed", "warning", "acse", f"{msg}; decoding went on")
        if apdu.buf is not None:
            buf = apdu.buf
        for cid, oid, s2, e2 in apdu.user_info:
            if s2 >= e2:
                continue
            syntax = SYNTAX_NAMES.get(oid) or SYNTAX_NAMES.get(self.contexts.get(cid))
            if syntax == "mms" or (syntax is None and looks_like_mms(buf, s2, e2)):
                self._mms(d, frame, ts, buf, s2, e2, VIA_ACSE)

    # -- MMS -------------------------------------------------------------------------------
    def _mms(self, d, frame, ts, buf, s, e, via) -> None:
        (c_addr, c_port), (s_addr, s_port) = self.endpoints
        if d:
            src, sport, dst, dport = s_addr, s_port, c_addr, c_port
        else:
            src, sport, dst, dport = c_addr, c_port, s_addr, s_port
        raw = bytes(buf[s:e])
        self.pdus[d] += 1
        try:
            pdu, service, invoke_id = mms_envelope(raw, 0, len(raw))
        except DecodeError as err:
            self._finding(frame, err, "mms")
            pdu, invoke_id = _partial_envelope(raw)
            self.out.append(PduRecord(frame, ts, self.stream, d, src, sport, dst, dport,
                                      pdu, None, invoke_id, raw, via, str(err)))
            return
        self.out.append(PduRecord(frame, ts, self.stream, d, src, sport, dst, dport,
                                  pdu, service, invoke_id, raw, via))

    def finish(self) -> None:
        for d in (0, 1):
            if self.cotp[d].segments:
                self._note(0, "cotp.incomplete", "warning", "cotp",
                           f"{self.cotp[d].segments} DT TPDUs without EOT at the end of the capture")
            if self.tpkt[d].buf:
                self._note(0, "tpkt.incomplete", "note", "tpkt",
                           f"{len(self.tpkt[d].buf)} octets of an unfinished TPKT at the end of the capture")


def _partial_envelope(raw: bytes):
    """What can still be said of a malformed MMSpdu: its type and a leading invokeID.

    Wireshark shows these too (e.g. a confirmed-ResponsePDU with an invokeID and no
    service); returns ``(pdu or None, invoke_id or None)`` and never raises.
    """
    try:
        tag, cs, ce = read_header(raw, 0, len(raw))
    except DecodeError:
        if raw:
            try:    # the outer length may overrun: read the tag alone
                tag, cs, ce = raw[0], 2 if len(raw) > 1 and raw[1] < 0x80 else len(raw), len(raw)
            except IndexError:
                return None, None
        else:
            return None, None
    name = PDU_TAGS.get(tag)
    if name is None:
        return None, None
    if tag in (0x85, 0x86):
        return name, int.from_bytes(raw[cs:ce], "big") if 0 < ce - cs <= 5 else None
    if tag in (0xA0, 0xA1, 0xA2, 0xA7) and cs < ce:
        try:
            t, a, b = read_header(raw, cs, ce)
        except DecodeError:
            return name, None
        if t in (0x02, 0x80) and 0 < b - a <= 5:
            return name, int.from_bytes(raw[a:b], "big")
    return name, None
