"""Frames -> decoded records + findings.  The same path for files and live interfaces.

:class:`Pipeline` takes :class:`~mmsanalyze.io.capture.RawFrame` objects one at a
time (:meth:`Pipeline.feed`) and returns the records each one completes; at the
end :meth:`Pipeline.finish` flushes what is still held (out-of-order segments,
unfinished units).  Records are :class:`~mmsanalyze.records.PduRecord` and
:class:`~mmsanalyze.records.OsiEvent`; problems become :class:`Finding` in
``pipeline.findings``.  Layer-2 process-bus frames (GOOSE, SV) go to optional
collectors, and an optional :class:`~mmsanalyze.analysis.traffic.TrafficCounter`
sees every frame.

Memory stays bounded: per TCP connection a few framer buffers and at most
``MAX_PENDING_*`` out-of-order bytes; records are handed out, not kept.
"""

from __future__ import annotations

from .errors import DecodeError
from .findings import Finding
from .net.ip import FragmentReassembler, parse_ipv4, parse_ipv6, parse_tcp, parse_udp
from .net.link import parse_link
from .net.tcp import ConnectionTable, Reassembler, FIN, RST, SYN, ACK
from .osi.stack import OsiConnection
from .records import OsiEvent

ETH_IPV4, ETH_IPV6, ETH_GOOSE, ETH_SV, ETH_GSSE = 0x0800, 0x86DD, 0x88B8, 0x88BA, 0x88B9
IPPROTO_TCP, IPPROTO_UDP = 6, 17
#: COTP TPDU codes (ISO 8073 13.1, high nibble): CR, CC, DR, DC, DT, ED, AK, EA, RJ, ER.
_COTP_CODES = frozenset((0xE0, 0xD0, 0x80, 0xC0, 0xF0, 0x10, 0x60, 0x20, 0x50, 0x70))

#: protocol codes used by the traffic counter
P_OTHER, P_MMS, P_GOOSE, P_SV, P_RGOOSE, P_RSV, P_GSSE, P_TCP102, P_RTUNNEL = 0, 1, 2, 3, 4, 5, 6, 7, 8
PROTO_NAMES = ("other", "mms", "goose", "sv", "r-goose", "r-sv", "gsse", "iso-tcp", "r-tunnel")


class Pipeline:
    """Decode frames into records.

    Args:
        ports: TCP ports carrying TPKT (102 plus any the user names with ``--port``).
        goose, sv: collectors with ``add(frame, ts, data, off, src, dst, vlans, prio)``
            (see :mod:`mmsanalyze.goose`, :mod:`mmsanalyze.sv`), or None to skip.
        l2: optional :class:`~mmsanalyze.analysis.l2.L2Collector` (``add_udp`` / ``add_llc``):
            recognises, counts and decodes R-GOOSE / R-SV (IEC 61850-90-5) and GSSE.
        traffic: optional counter with ``add(ts, length, proto, src)``.
        tcp_watcher: optional :class:`~mmsanalyze.analysis.tls.TcpWatcher` that sees the TCP
            segments of the other ports (TLS on 3782, ISO-TSAP on unexpected ports).
    """

    #: Factory of the per-connection OSI context, called as
    #: ``osi_class(stream, (client, server), out, findings)``: a subclass may track
    #: more (see :mod:`mmsanalyze.writeback`, which records the frames of each unit).
    osi_class = OsiConnection

    def __init__(self, ports=(102,), goose=None, sv=None, l2=None, traffic=None, tcp_watcher=None):
        self.ports = frozenset(ports)
        self.table = ConnectionTable(self.ports)
        self.findings: list[Finding] = []
        self.frag = FragmentReassembler()
        self.goose = goose
        self.sv = sv
        self.l2 = l2
        self.traffic = traffic
        self.tcp_watcher = tcp_watcher
        self.out: list = []
        self.tpkt_ports: set = set()       # unanalysed ports where TPKT was seen (reported once)
        self.frames = 0
        self.last_time = 0.0

    # ---------------------------------------------------------------------------------
    def feed(self, fr) -> list:
        """Decode one frame; returns the records it completed (possibly none)."""
        self.frames += 1
        number = fr.number
        ts = fr.ts
        data = fr.data
        self.last_time = ts
        proto = P_OTHER
        src_addr = None
        try:
            ethertype, off, smac, dmac, vlans, prio = parse_link(fr.linktype, data)
            if ethertype == ETH_IPV4 or ethertype == ETH_IPV6:
                proto, src_addr = self._ip(fr, ethertype, data, off, smac, dmac, vlans, prio)
            elif ethertype == ETH_SV:
                proto = P_SV
                if self.sv is not None:
                    self.sv.add(number, ts, data, off, smac, dmac, vlans, prio)
            elif ethertype == ETH_GOOSE:
                proto = P_GOOSE
                if self.goose is not None:
                    self.goose.add(number, ts, data, off, smac, dmac, vlans, prio)
            elif ethertype == ETH_GSSE or (self.l2 is not None and ethertype is not None and ethertype < 0
                                           and self.l2.add_llc(number, ts, data, off, fr.orig_len)):
                proto = P_GSSE
            if src_addr is None and smac is not None:
                src_addr = smac
        except DecodeError as err:
            self.findings.append(Finding.from_error(err, number, None))
        if self.traffic is not None:
            self.traffic.add(ts, fr.orig_len, proto, src_addr)
        out = self.out
        if out:
            recs = out[:]       # the OSI contexts hold this list: empty it in place
            out.clear()
            return recs
        return []

    def _ip(self, fr, ethertype, data, off, smac=None, dmac=None, vlans=(), prio=None):
        if ethertype == ETH_IPV4:
            src, dst, proto, poff, pend, frag, cut = parse_ipv4(data, off)
        else:
            src, dst, proto, poff, pend, frag, cut = parse_ipv6(data, off)
        if cut:
            self.findings.append(Finding("ip.truncated", "warning", fr.number, "ip",
                                         "IP datagram cut short by the capture (snaplen)"))
        if frag is not None:
            whole = self.frag.add((src, dst, proto, frag[0]), frag[1], frag[2], data[poff:pend], fr.ts,
                                  fr.number)
            if self.frag.findings:
                self.findings.extend(self.frag.findings)
                self.frag.findings.clear()
            if whole is None:
                return P_OTHER, src
            data, poff, pend = whole, 0, len(whole)
        if proto == IPPROTO_TCP:
            sport, dport, seq, ack, flags, toff = parse_tcp(data, poff, pend)
            if sport in self.ports or dport in self.ports:
                self._tcp(fr, src, sport, dst, dport, seq, flags, data[toff:pend])
                return P_TCP102, src
            conn, d, _ = self.table.lookup(src, sport, dst, dport, flags, seq, fr.number, fr.ts)
            if toff + 7 <= pend and data[toff] == 3 and data[toff + 1] == 0:
                self._other_port_tpkt(fr, sport, dport, data, toff, pend)
            if self.tcp_watcher is not None:
                self.tcp_watcher.add(fr.number, fr.ts, conn.stream, d, conn.client, conn.server,
                                     data[toff:pend])
            return P_OTHER, src
        if proto == IPPROTO_UDP and self.l2 is not None:
            sport, dport, uoff, uend = parse_udp(data, poff, pend)
            kind = self.l2.add_udp(fr.number, fr.ts, sport, dport, data[uoff:uend], smac, dmac, vlans, prio,
                                   fr.orig_len)
            if kind == "r-goose":
                return P_RGOOSE, src
            if kind == "r-sv":
                return P_RSV, src
            if kind == "r-tunnel":
                return P_RTUNNEL, src
        return P_OTHER, src

    def _other_port_tpkt(self, fr, sport, dport, data, off, end) -> None:
        """ISO-on-TCP on a port that is not analysed: a TPKT header (RFC 1006: version 3,
        length >= 7) around a COTP TPDU whose length indicator and code fit.  Reported
        once per port with the ``--port`` hint (a finding, code ``tpkt.other_port``)."""
        length = data[off + 2] << 8 | data[off + 3]
        li, code = data[off + 4], data[off + 5] & 0xF0
        if length < 7 or li + 5 > length or code not in _COTP_CODES:
            return
        port = min(sport, dport)
        if port in self.tpkt_ports:
            return
        self.tpkt_ports.add(port)
        self.findings.append(Finding(
            "tpkt.other_port", "warning", fr.number, "tpkt",
            f"TPKT/COTP (ISO-on-TCP) on TCP port {port}, which is not analysed: "
            f"add --port {port} (or -d tcp.port=={port},tpkt)"))

    def _tcp(self, fr, src, sport, dst, dport, seq, flags, payload) -> None:
        number, ts = fr.number, fr.ts
        conn, d, is_new = self.table.lookup(src, sport, dst, dport, flags, seq, number, ts)
        if is_new or conn.dirs is None:
            conn.dirs = [Reassembler(), Reassembler()]
            # a connection seen from its SYN starts aligned on a TPKT header
            conn.user = self.osi_class(conn.stream, (conn.client, conn.server), self.out, self.findings)
            if not flags & SYN:
                self.findings.append(Finding("tcp.midstream", "note", number, "tcp",
                                             "capture starts inside this TCP connection", conn.stream))
                conn.user.tpkt[0].synced = conn.user.tpkt[1].synced = False
        r = conn.dirs[d]
        if flags & SYN:
            r.syn(seq)
            if not flags & ACK:
                self.out.append(OsiEvent(number, ts, conn.stream, d, "tcp", "syn", {}))
        if payload:
            conn.data_seen = True
            chunks = r.add(seq + (1 if flags & SYN else 0), payload, number, ts)
            if chunks:
                conn.user.on_chunks(d, chunks)
        if flags & FIN and not conn.fin[d]:
            conn.fin[d] = True
            rest = r.flush()
            if rest:
                conn.user.on_chunks(d, rest)
            self.out.append(OsiEvent(number, ts, conn.stream, d, "tcp", "fin", {}))
        if flags & RST and not conn.rst:
            conn.rst = True
            # a RST from the server to a SYN it never answered: the connect was refused
            refused = d == 1 and conn.syn_seq is not None and not conn.synack and not conn.data_seen
            self.out.append(OsiEvent(number, ts, conn.stream, d, "tcp", "rst",
                                     {"refused": True} if refused else {}))

    # ---------------------------------------------------------------------------------
    def finish(self) -> list:
        """Flush what is still held at the end of the capture."""
        for conn in self.table:
            if conn.dirs is None:
                continue
            for d in (0, 1):
                rest = conn.dirs[d].flush()
                if rest:
                    conn.user.on_chunks(d, rest)
            conn.user.finish()
        recs = self.out[:]
        self.out.clear()
        return recs

    def connections(self):
        """Connections that were reassembled (analysed ports), in stream order."""
        return [c for c in self.table if c.dirs is not None]


def iter_records(frames, pipeline: Pipeline):
    """Yield every record of ``frames`` through ``pipeline``, then the flushed ones."""
    feed = pipeline.feed
    for fr in frames:
        out = feed(fr)
        if out:
            yield from out
    yield from pipeline.finish()
