"""Write selected frames of a capture back as pcapng: ``pdus -Y FILTER -w FILE`` and ``split``.

Two passes over the source file, memory bounded by frame *numbers* (never frame bytes):

1. The normal :class:`~mmsanalyze.pipeline.Pipeline`, with a per-connection OSI context
   (:class:`_TrackedOsi`) that also notes which frames carried the octets of each TPKT,
   so every record knows *all* the TCP segments that make it up (not only the frame
   that completes it).  Each frame's owner (TCP stream, or GOOSE/SV publisher) is one
   4-octet entry of an array; each selected record adds its frame numbers to its
   groups; findings are kept as comment texts per frame.
2. The source is read again with exact integer timestamps and each frame that belongs
   to a group is copied into that group's pcapng file
   (:class:`~mmsanalyze.io.pcapng_write.PcapngWriter`), with the findings about it as
   packet comments and its source frame number as ``epb_packetid``.

A file decodes on its own in Wireshark: with the PDUs of a connection go its TCP
handshake (the payload-less frames before its first data), its COTP CR/CC and the
session CN/AC units (ACSE AARQ/AARE with the MMS initiate), whenever the source had
them.  ``split --by association|server|client`` copies whole TCP connections;
``--by service|ln`` and ``-Y`` copy the selected PDUs' segments plus that set-up;
``--by goose|sv`` copies each publisher's frames.
"""

from __future__ import annotations

import array
import collections
import functools
import heapq
import os
import re

from .errors import CaptureError, DecodeError
from .findings import Finding
from .net.link import mac_str
from .net.tcp import SYN
from .osi.stack import OsiConnection
from .pipeline import Pipeline
from .records import OsiEvent, PduRecord

__all__ = ["SPLIT_KEYS", "FramePipeline", "Selection", "write_filtered", "split_capture",
           "safe_name", "MAX_OPEN_FILES", "MAX_PENDING_REQUESTS"]

#: ``split --by`` keys.
SPLIT_KEYS = ("association", "server", "client", "service", "ln", "goose", "sv")
#: Output files kept open at once while splitting; the others are closed and
#: re-opened for appending (a capture may have thousands of associations and a
#: process has about a thousand file descriptors).
MAX_OPEN_FILES = 64
#: Requests remembered while waiting for their response (to put a response in its
#: request's service / logical-node group); the oldest is forgotten beyond this.
MAX_PENDING_REQUESTS = 65536
#: Longest output file name (without the directory), in characters.
MAX_NAME = 120
#: Data segments remembered per TCP direction to find the original of a retransmission
#: (retransmissions repeat recent segments: a few round-trip times).
MAX_RECENT_SEGMENTS = 128

#: OSI units that set an association up (the frames a file needs to decode on its own).
_SETUP_EVENTS = frozenset({("cotp", "CR"), ("cotp", "CC"), ("ses", "CN"), ("ses", "AC"),
                           ("ses", "RF"), ("pres", "CP"), ("pres", "CPA"), ("pres", "CPR"),
                           ("acse", "aarq"), ("acse", "aare")})
_SETUP_PDUS = frozenset({"initiate-RequestPDU", "initiate-ResponsePDU", "initiate-ErrorPDU"})
_ANSWERS = frozenset({"confirmed-ResponsePDU", "confirmed-ErrorPDU", "rejectPDU", "cancel-ResponsePDU",
                      "cancel-ErrorPDU"})
_L2_BASE = -2          # frame owner codes <= -2 are GOOSE/SV publishers (index = -2 - code)


# ---------------------------------------------------------------------------------------------
# pass 1: which frames carry which record

def _take(held: collections.deque, n: int) -> list:
    """Consume ``n`` octets from the front of ``held`` ([frame, octets] entries); their frames."""
    frames = []
    while n > 0 and held:
        ent = held[0]
        if ent[0] not in frames:
            frames.append(ent[0])
        if ent[1] <= n:
            n -= ent[1]
            held.popleft()
        else:
            ent[1] -= n
            n = 0
    return frames


def _keep_last(held: collections.deque, keep: int) -> None:
    """Drop octets from the front of ``held`` until ``keep`` remain."""
    extra = sum(e[1] for e in held) - keep
    if extra > 0:
        _take(held, extra)


class _TrackedOsi(OsiConnection):
    """:class:`OsiConnection` that also records the frames carrying each unit.

    Per direction it mirrors the TPKT framer's buffer as ``[frame, octets]`` entries;
    each TPKT consumes its length from the front, and a COTP SDU spread over several
    DT TPDUs collects the frames of all of them.  Every record a unit produces is
    entered in ``frames_of[id(record)]``.
    """

    __slots__ = ("_held", "_sdu_frames", "_seen", "_frames_of", "hint")

    def __init__(self, stream, endpoints, out, findings, synced=(True, True), frames_of=None):
        super().__init__(stream, endpoints, out, findings, synced)
        self._held = (collections.deque(), collections.deque())
        self._sdu_frames = [(), ()]
        self._seen = [0, 0]          # framer.skipped already accounted for
        self._frames_of = frames_of if frames_of is not None else {}
        #: per direction, set by :class:`FramePipeline` around one segment: the
        #: ``(frame, data)`` of out-of-order segments the reassembler holds, which it
        #: credits to the segment that fills the hole; their own frames are kept here
        self.hint = [None, None]

    def on_chunks(self, direction: int, chunks) -> None:
        held = self._held[direction]
        framer = self.tpkt[direction]
        hint = self.hint[direction]
        for i, chunk in enumerate(chunks):
            carrier = chunk[0]
            if hint:
                data = chunk[2]
                for f, held_data in hint:
                    if data is held_data or (i and held_data.endswith(data)):
                        carrier = f
                        break
            if chunk[3]:              # gap: the framer drops its partial unit, COTP resets
                held.clear()
                self._sdu_frames[direction] = ()
                self._seen[direction] = framer.skipped + len(framer.buf)
            held.append([carrier, len(chunk[2])])
            super().on_chunks(direction, (chunk,))
            _keep_last(held, len(framer.buf))
            self._seen[direction] = framer.skipped

    def _tpdu(self, d: int, frame: int, ts: float, payload: bytes) -> None:
        held = self._held[d]
        skipped = self.tpkt[d].skipped - self._seen[d]
        if skipped > 0:               # octets skipped while resynchronising precede the unit
            _take(held, skipped)
            self._seen[d] += skipped
        frames = _take(held, len(payload) + 4) or [frame]
        cotp = self.cotp[d]
        if cotp.parts and self._sdu_frames[d]:
            frames = list(self._sdu_frames[d]) + [f for f in frames if f not in self._sdu_frames[d]]
        out = self.out
        n0 = len(out)
        super()._tpdu(d, frame, ts, payload)
        if len(out) > n0:
            fs = tuple(frames)
            fo = self._frames_of
            for rec in out[n0:]:
                fo[id(rec)] = fs
        self._sdu_frames[d] = tuple(frames) if cotp.parts else ()


class FramePipeline(Pipeline):
    """The pipeline of pass 1: records as usual, plus frame bookkeeping.

    Attributes:
        frames_of: ``id(record) -> tuple of frame numbers`` carrying it (pop it when
            the record is consumed; records without an entry lie in their own frame).
        owner: per frame (index ``number - 1``): TCP stream index on an analysed port,
            ``-1`` none, ``<= -2`` a GOOSE/SV publisher (see :class:`_L2Keys`).
        handshake: stream -> frames without payload before its first data (SYN, SYN/ACK,
            ACK) -- and, for a connection without data, all of them.
        copies: frame -> frames that retransmitted its whole payload (written with it).
    """

    def __init__(self, ports=(102,), goose=None, sv=None, l2=None, traffic=None):
        super().__init__(ports, goose, sv, l2, traffic)
        self.frames_of: dict = {}
        self.osi_class = functools.partial(_TrackedOsi, frames_of=self.frames_of)
        self.owner = array.array("i")
        self.handshake: dict = {}
        self.copies: dict = {}
        self._recent: dict = {}            # (stream, direction) -> {unwrapped seq: (end, frame)}

    def feed(self, fr) -> list:
        owner = self.owner
        while len(owner) < fr.number:        # frame numbers count from 1, one per frame
            owner.append(-1)
        return super().feed(fr)

    def _tcp(self, fr, src, sport, dst, dport, seq, flags, payload) -> None:
        a, b = (src, sport), (dst, dport)
        key = (a, b) if a < b else (b, a)
        conns = self.table.conns
        conn = conns.get(key)
        user = None
        retrans = -1
        if conn is not None and conn.dirs is not None and isinstance(conn.user, _TrackedOsi):
            d = 0 if a == conn.client else 1
            retrans = conn.dirs[d].retransmitted
            pending = conn.dirs[d].pending
            if pending:
                user = conn.user
                user.hint[d] = [(v[0], v[2]) for v in pending.values()]
        try:
            super()._tcp(fr, src, sport, dst, dport, seq, flags, payload)
        finally:
            if user is not None:
                user.hint[d] = None
        conn = conns[key]
        stream = conn.stream
        number = fr.number
        self.owner[number - 1] = stream
        if not payload:
            if not conn.data_seen:
                self.handshake.setdefault(stream, []).append(number)
        elif conn.dirs is not None:
            self._segment(conn, a, seq, flags, payload, number, retrans)

    def _segment(self, conn, a, seq, flags, payload, number, retrans) -> None:
        """Remember a data segment; file a retransmission as a copy of its original."""
        d = 0 if a == conn.client else 1
        r = conn.dirs[d]
        if r.next_seq is None:
            return
        start = r._unwrap(seq + (1 if flags & SYN else 0))     # same unwrapping as the reassembler
        recent = self._recent.setdefault((conn.stream, d), {})
        if retrans >= 0 and r.retransmitted > retrans:          # nothing new: a copy
            orig = recent.get(start)
            if orig is None:
                orig = next((f for s, (e, f) in recent.items() if s <= start < e), None)
            else:
                orig = orig[1]
            if orig is not None:
                self.copies.setdefault(orig, []).append(number)
            return
        recent[start] = (start + len(payload), number)
        if len(recent) > MAX_RECENT_SEGMENTS:
            del recent[next(iter(recent))]


class _L2Keys:
    """A GOOSE or SV "collector" that only names each frame's publisher.

    GOOSE: source MAC + APPID + gocbRef; SV: source MAC + APPID + svID (of the first
    ASDU), as the ``goose_streams`` / ``sv_streams`` tables key them.  Sets the
    frame's owner in the pipeline to the publisher's code.
    """

    def __init__(self, kind: str, pipe: FramePipeline, publishers: dict):
        self.kind = kind
        self.pipe = pipe
        self.publishers = publishers        # key -> index (shared by GOOSE and SV)
        self.findings: list = []

    def add(self, frame_number, ts, data, off, src_mac, dst_mac, vlan_ids=(), vlan_priority=None):
        ident = None
        appid = None
        err = None
        try:
            if self.kind == "goose":
                from .goose.pdu import decode_goose_pdu, read_l2_header
                appid, _len, _r1, _r2, end = read_l2_header(data, off, len(data))
                rec: dict = {}
                try:
                    decode_goose_pdu(data, off + 8, end, rec)
                except DecodeError as exc:
                    err = exc
                ident = rec.get("gocb_ref")
            else:
                from .sv.pdu import decode_sv
                fr = decode_sv(data, off)
                appid = fr.appid
                ident = fr.asdus[0].sv_id if fr.asdus else None
                err = fr.error
        except DecodeError as exc:
            err = exc
            if len(data) >= off + 2:
                appid = data[off] << 8 | data[off + 1]
        if err is not None:
            self.findings.append(Finding.from_error(err, frame_number, None, self.kind))
        key = (self.kind, mac_str(src_mac) if src_mac is not None else None, appid, ident)
        idx = self.publishers.setdefault(key, len(self.publishers))
        self.pipe.owner[frame_number - 1] = _L2_BASE - idx


# ---------------------------------------------------------------------------------------------
# groups

def safe_name(text: str) -> str:
    """A file-name-safe rendering of ``text``: letters, digits, ``. _ -`` only, never
    empty, never starting with a dot (so never ``.`` or ``..``), at most :data:`MAX_NAME`."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")
    s = s.lstrip(".") or "unnamed"
    return s[:MAX_NAME]


class _Group:
    __slots__ = ("name", "frames", "streams", "pdus")

    def __init__(self, name: str):
        self.name = name
        self.frames = array.array("I")      # selected frames (unsorted, may repeat)
        self.streams: set = set()           # connections whose set-up the file needs
        self.pdus = 0


class Selection:
    """Pass-1 result: named groups of frames, comments per frame, set-up per connection."""

    def __init__(self):
        self.groups: dict[str, _Group] = {}
        self.setup: dict = {}               # stream -> frames of its association set-up
        self.comments: dict = {}            # frame -> [text]
        self.stream_groups: dict = {}       # stream -> [group name] (whole-connection modes)
        self.l2_groups: dict = {}           # publisher index -> group name
        self.pipe: FramePipeline | None = None
        self.interfaces: list = []
        self.frames = 0

    def group(self, name: str) -> _Group:
        g = self.groups.get(name)
        if g is None:
            g = self.groups[name] = _Group(name)
        return g

    def comment(self, frame: int, text: str) -> None:
        if frame > 0:
            self.comments.setdefault(frame, []).append(text)

    def frames_by_group(self) -> dict:
        """group name -> sorted unique uint32 numpy array of its frame numbers (PDU segments,
        set-up, handshake and retransmitted copies); 4 octets per frame."""
        import numpy as np
        pipe = self.pipe
        copies = pipe.copies
        if copies:
            orig = np.fromiter(copies, dtype=np.uint32, count=len(copies))
        out = {}
        for name, g in self.groups.items():
            parts = [np.frombuffer(g.frames, dtype=np.uint32)]
            for s in g.streams:
                parts.append(np.asarray(self.setup.get(s, ()), dtype=np.uint32))
                parts.append(np.asarray(pipe.handshake.get(s, ()), dtype=np.uint32))
            fs = np.unique(np.concatenate(parts))
            if copies:
                hit = orig[np.isin(orig, fs)]
                if len(hit):
                    extra = [c for f in hit.tolist() for c in copies[f]]
                    fs = np.unique(np.concatenate([fs, np.asarray(extra, dtype=np.uint32)]))
            out[name] = fs
        return out


def _finding_text(f) -> str:
    return f"mmsanalyze [{f.severity}] {f.code}: {f.message}"


def _error_comment(rec: PduRecord):
    """A comment for an error outcome carried by ``rec`` (service error, reject, failed items)."""
    if rec.pdu not in ("confirmed-ErrorPDU", "rejectPDU", "initiate-ErrorPDU", "conclude-ErrorPDU",
                       "cancel-ErrorPDU") and not (rec.pdu == "confirmed-ResponsePDU"
                                                   and rec.service in ("write", "read")):
        return None
    m = rec.decoded()
    if m is None:
        return None
    inv = f" invokeID={rec.invoke_id}" if rec.invoke_id is not None else ""
    if m.error:
        code = "/".join(str(v) for k, v in m.error.items() if k in ("class", "code"))
        kind = "mms.reject" if rec.pdu == "rejectPDU" else "mms.service_error"
        return f"mmsanalyze [warning] {kind}: {rec.pdu}{inv}: {code}"
    if m.access_results:
        failed = [(i, r["failure"]) for i, r in enumerate(m.access_results)
                  if isinstance(r, dict) and "failure" in r]
        if failed:
            items = ", ".join(f"#{i} {c}" for i, c in failed[:8])
            more = f" (+{len(failed) - 8})" if len(failed) > 8 else ""
            return (f"mmsanalyze [warning] mms.data_access_error: {rec.service} response{inv}: "
                    f"{len(failed)} of {len(m.access_results)} items failed: {items}{more}")
    return None


def _service_group(rec: PduRecord, pending: dict) -> list:
    key = (rec.stream, rec.invoke_id)
    if rec.pdu in _ANSWERS and rec.invoke_id is not None:
        req = pending.pop(key, None)
        if req is not None:
            return req
    if rec.service:
        name = rec.service
    elif rec.pdu:
        name = rec.pdu.split("-")[0]          # initiate, conclude, cancel, confirmed, reject...
    else:
        name = "malformed"
    return ["service_" + name]


def _ln_groups(rec: PduRecord, pending: dict) -> list:
    key = (rec.stream, rec.invoke_id)
    if rec.pdu in _ANSWERS and rec.invoke_id is not None:
        req = pending.pop(key, None)
        if req is not None:
            return req
    m = rec.decoded()
    lns = []
    for v in (m.variables if m is not None else ()):
        if "/" in v and not v.startswith("@"):
            dom, item = v.split("/", 1)
            ln = item.split("$", 1)[0]
            if ln:
                lns.append(f"ln_{dom}/{ln}")
    return list(dict.fromkeys(lns)) or ["ln_none"]


def _remember(pending: dict, rec: PduRecord, groups: list) -> None:
    if rec.pdu == "confirmed-RequestPDU" and rec.invoke_id is not None:
        pending[(rec.stream, rec.invoke_id)] = groups
        if len(pending) > MAX_PENDING_REQUESTS:
            del pending[next(iter(pending))]


def select(source, by: str | None = None, predicate=None, ports=(102,), count: int | None = None,
           comments=None) -> Selection:
    """Pass 1: read ``source`` and decide which frames go into which group.

    Args:
        source: capture path (a file: the second pass reads it again).
        by: one of :data:`SPLIT_KEYS`, or None with ``predicate`` (one group "selected").
        predicate: for ``-Y``: called with each :class:`PduRecord`, true to keep it.
        ports: TPKT ports.  count: only the first ``count`` frames.
        comments: optional ``{frame: [text]}`` added as packet comments (a hook for
            other analyses' findings).
    """
    from .io import open_capture
    sel = Selection()
    pipe = FramePipeline(ports)
    sel.pipe = pipe
    publishers: dict = {}
    if by in ("goose", "sv"):
        keys = _L2Keys(by, pipe, publishers)
        if by == "goose":
            pipe.goose = keys
        else:
            pipe.sv = keys
    pending: dict = {}
    active: set = set()                     # streams with OSI units (associations)
    stream_pdus: collections.Counter = collections.Counter()
    setup = sel.setup
    frames_of = pipe.frames_of
    reader = open_capture(source)
    with reader:
        frames = reader if count is None else _first(reader, count)

        def consume(recs):
            for rec in recs:
                fs = frames_of.pop(id(rec), None) or (rec.frame,)
                cls = rec.__class__
                if cls is OsiEvent:
                    if rec.layer != "tcp":
                        active.add(rec.stream)
                    if (rec.layer, rec.name) in _SETUP_EVENTS:
                        setup.setdefault(rec.stream, []).extend(fs)
                    continue
                if cls is not PduRecord:
                    continue
                active.add(rec.stream)
                stream_pdus[rec.stream] += 1
                if rec.pdu in _SETUP_PDUS:
                    setup.setdefault(rec.stream, []).extend(fs)
                text = _error_comment(rec)
                if text:
                    sel.comment(rec.frame, text)
                if by is None:
                    if predicate is None or not predicate(rec):
                        continue
                    names = ["selected"]
                elif by == "service":
                    names = _service_group(rec, pending)
                    _remember(pending, rec, names)
                elif by == "ln":
                    names = _ln_groups(rec, pending)
                    _remember(pending, rec, names)
                else:
                    continue
                for name in names:
                    g = sel.group(name)
                    g.frames.extend(fs)
                    g.streams.add(rec.stream)
                    g.pdus += 1

        feed = pipe.feed
        for fr in frames:
            out = feed(fr)
            if out:
                consume(out)
        consume(pipe.finish())
        sel.frames = len(pipe.owner)
        sel.interfaces = list(reader.interfaces)
        l2 = [c for c in (pipe.goose, pipe.sv) if isinstance(c, _L2Keys)]
        for f in list(reader.findings) + pipe.findings + [f for c in l2 for f in c.findings]:
            sel.comment(f.frame, _finding_text(f))
    if comments:
        for frame, texts in comments.items():
            for t in texts:
                sel.comment(frame, t)
    if by in ("association", "server", "client"):
        for c in pipe.connections():
            if c.stream not in active:
                continue
            (ca, cp), (sa, sp) = c.client, c.server
            if by == "association":
                name = f"assoc_{c.stream:04d}_{ca}_{cp}-{sa}_{sp}"
            elif by == "server":
                name = f"server_{sa}_{sp}"
            else:
                name = f"client_{ca}"
            sel.stream_groups[c.stream] = [name]
            g = sel.group(name)
            g.streams.add(c.stream)
            g.pdus += stream_pdus[c.stream]
    elif by in ("goose", "sv"):
        for (kind, mac, appid, ident), idx in publishers.items():
            app = f"{appid:04x}" if appid is not None else "none"
            name = f"{kind}_{ident or 'unknown'}_{app}_{mac or 'none'}"
            sel.l2_groups[idx] = name
            sel.group(name)
    return sel


def _first(reader, count):
    import itertools
    return itertools.islice(reader, count)


# ---------------------------------------------------------------------------------------------
# pass 2: copy the frames

class _Out:
    """One output file, re-opened for appending when it had to be closed."""

    __slots__ = ("path", "writer", "ifaces", "frames", "started")

    def __init__(self, path: str):
        self.path = path
        self.writer = None
        self.ifaces: dict = {}      # the writer's interface table, kept across re-opens
        self.frames = 0
        self.started = False


def _write_pass(source, sel: Selection, paths: dict, count: int | None) -> dict:
    """Pass 2: copy each frame into the files of its groups; returns name -> frames written."""
    from .io import open_capture
    from .io.pcapng_write import PcapngWriter
    outs = {name: _Out(p) for name, p in paths.items()}
    open_lru: collections.OrderedDict = collections.OrderedDict()

    def writer_of(o: _Out):
        if o.writer is not None:
            open_lru.move_to_end(o.path)
            return o.writer
        if len(open_lru) >= MAX_OPEN_FILES:
            _p, old = open_lru.popitem(last=False)
            old.writer.close()
            old.writer = None
        o.writer = PcapngWriter(o.path, resume=o.ifaces if o.started else None)
        o.ifaces = o.writer.interfaces
        o.started = True
        open_lru[o.path] = o
        return o.writer

    # selective groups: sorted frame lists merged with a heap
    lists = sel.frames_by_group()
    heap = [(int(fs[0]), name, 0) for name, fs in lists.items() if len(fs)]
    heapq.heapify(heap)
    stream_groups, l2_groups, owner = sel.stream_groups, sel.l2_groups, sel.pipe.owner
    nowner = len(owner)
    comments = sel.comments
    reader = open_capture(source, exact_ts=True)
    try:
        with reader:
            frames = reader if count is None else _first(reader, count)
            for fr in frames:
                n = fr.number
                names = []
                while heap and heap[0][0] <= n:
                    f, name, i = heapq.heappop(heap)
                    if f == n:
                        names.append(name)
                    fs = lists[name]
                    i += 1
                    if i < len(fs):
                        heapq.heappush(heap, (int(fs[i]), name, i))
                if n <= nowner:
                    o = owner[n - 1]
                    if o >= 0:
                        extra = stream_groups.get(o)
                        if extra:
                            names.extend(x for x in extra if x not in names)
                    elif o <= _L2_BASE:
                        name = l2_groups.get(_L2_BASE - o)
                        if name and name not in names:
                            names.append(name)
                if not names:
                    continue
                lt, units, _off, snap = reader.interfaces[fr.interface]
                texts = comments.get(n, ())
                for name in names:
                    o = outs[name]
                    w = writer_of(o)
                    w.write(w.interface(lt, snap, units), fr.ts, fr.data, fr.orig_len, texts, n)
                    o.frames += 1
    finally:
        for o in outs.values():
            if o.writer is not None:
                o.writer.close()
                o.writer = None
    # groups that got no frame still get a (header-only) file, so every group is a file
    for o in outs.values():
        if not o.started:
            PcapngWriter(o.path).close()
    return {name: o.frames for name, o in outs.items()}


def _check_file_source(source) -> None:
    if hasattr(source, "read") or not os.path.isfile(os.fspath(source)):
        raise CaptureError(f"{os.fsdecode(source) if isinstance(source, (str, bytes, os.PathLike)) else source}: "
                           "writing frames needs a capture file (it is read twice); record live "
                           "traffic with dumpcap first")


def _not_the_source(source, paths) -> None:
    """Refuse to overwrite the capture being read (as tshark refuses ``-r F -w F``)."""
    for p in paths:
        try:
            same = os.path.exists(p) and os.path.samefile(p, source)
        except OSError:
            same = False
        if same:
            raise CaptureError(f"{p}: is the capture being read; write to another file")


def write_filtered(source, out_path, predicate, ports=(102,), count: int | None = None,
                   comments=None) -> dict:
    """``pdus -Y FILTER -w FILE``: the frames of the PDUs ``predicate`` keeps, plus their set-up.

    Returns ``{"frames": written, "pdus": selected PDUs}``.
    """
    _check_file_source(source)
    _not_the_source(source, [out_path])
    sel = select(source, None, predicate, ports, count, comments)
    sel.group("selected")
    written = _write_pass(source, sel, {"selected": os.fspath(out_path)}, count)
    return {"frames": written["selected"], "pdus": sel.groups["selected"].pdus}


def split_capture(source, by: str, outdir, ports=(102,), count: int | None = None,
                  comments=None) -> list:
    """``split``: one pcapng per group of ``by`` in ``outdir`` (created when missing).

    Returns one dict per file: ``group``, ``path``, ``frames``, ``pdus``, ``streams``.
    File names are :func:`safe_name` of the group plus ``.pcapng``; they never leave
    ``outdir``.
    """
    if by not in SPLIT_KEYS:
        raise CaptureError(f"split --by {by}: use one of {', '.join(SPLIT_KEYS)}")
    _check_file_source(source)
    sel = select(source, by, None, ports, count, comments)
    outdir = os.path.abspath(os.fspath(outdir))
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise CaptureError(f"{outdir}: cannot create the output directory: {exc.strerror or exc}") from None
    paths: dict = {}
    used: set = set()
    for name in sorted(sel.groups):
        base = safe_name(name)
        fname, k = base, 1
        while fname.lower() in used:
            k += 1
            fname = f"{base}-{k}"
        used.add(fname.lower())
        path = os.path.join(outdir, fname + ".pcapng")
        if os.path.dirname(os.path.abspath(path)) != outdir:   # defence in depth
            raise CaptureError(f"refusing to write {path}: outside {outdir}")
        paths[name] = path
    _not_the_source(source, paths.values())
    written = _write_pass(source, sel, paths, count)
    result = []
    for name in sorted(sel.groups):
        g = sel.groups[name]
        result.append({"group": name, "path": paths[name], "frames": written[name], "pdus": g.pdus,
                       "streams": sorted(g.streams)})
    return result
