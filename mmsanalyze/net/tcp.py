"""TCP connection tracking and per-direction byte-stream reassembly.

Bytes in, ordered byte chunks out; no I/O.  Each TCP connection gets a 0-based
stream index in order of first appearance, counted over *every* TCP connection
in the capture, as Wireshark's ``tcp.stream`` does, so the two can be compared.
Only connections on the analysed ports are reassembled.

A direction's :class:`Reassembler` keeps the next expected sequence number and
the out-of-order segments beyond it.  It trims retransmissions and overlaps
(first copy wins, as in Wireshark), delivers in-order data at once, and when a
hole does not fill within :data:`MAX_PENDING_SEGMENTS` segments or
:data:`MAX_PENDING_BYTES` bytes it gives the hole up: the data after it is
delivered with a ``gap`` count so the framer above can resynchronise.
"""

from __future__ import annotations

from ..findings import Finding

#: Segments held beyond a hole before we decide it was lost (not just reordered).
#: Real reordering on a LAN spans a few segments; 32 bounds memory per direction.
MAX_PENDING_SEGMENTS = 32
#: Bytes held beyond a hole (same reason): one maximal MMS PDU is ~64 KiB.
MAX_PENDING_BYTES = 256 * 1024

_MOD = 1 << 32
_HALF = 1 << 31

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


class Reassembler:
    """One direction of a TCP connection.

    :meth:`add` returns a list of ``(frame, ts, data, gap)`` chunks in sequence
    order: ``frame``/``ts`` are those of the frame credited with the chunk (the
    frame that carried it, or the later frame that filled the hole before it),
    ``gap`` the number of bytes known lost just before it (0 normally).
    """

    __slots__ = ("next_seq", "pending", "pending_bytes", "retransmitted", "lost_bytes", "started_with_syn")

    def __init__(self) -> None:
        self.next_seq: int | None = None   # absolute (unwrapped) sequence number
        self.pending: dict[int, tuple[int, float, bytes]] = {}
        self.pending_bytes = 0
        self.retransmitted = 0
        self.lost_bytes = 0
        self.started_with_syn = False

    def _unwrap(self, seq: int) -> int:
        nxt = self.next_seq
        return nxt + ((seq - nxt + _HALF) % _MOD - _HALF)

    def syn(self, seq: int) -> None:
        """A SYN consumes one sequence number; data starts at seq + 1."""
        if self.next_seq is None:
            self.next_seq = seq + 1
            self.started_with_syn = True

    def add(self, seq: int, data: bytes, frame: int, ts: float) -> list:
        if not data:
            return []
        if self.next_seq is None:
            self.next_seq = seq   # capture started mid-stream
        a = self._unwrap(seq)
        nxt = self.next_seq
        end = a + len(data)
        if end <= nxt:
            self.retransmitted += 1
            return []
        if a < nxt:          # overlap with delivered data: keep the first copy
            data = data[nxt - a:]
            a = nxt
        if a > nxt:          # beyond a hole: hold it
            old = self.pending.get(a)
            if old is None or len(old[2]) < len(data):
                self.pending_bytes += len(data) - (len(old[2]) if old else 0)
                self.pending[a] = (frame, ts, data)
            if len(self.pending) > MAX_PENDING_SEGMENTS or self.pending_bytes > MAX_PENDING_BYTES:
                return self._skip_hole()
            return []
        out = [(frame, ts, data, 0)]
        self.next_seq = end
        if self.pending:
            self._drain(out, (frame, ts))
        return out

    def _drain(self, out: list, credit) -> None:
        """Deliver pending segments that now continue the stream.

        ``credit`` = (frame, ts) credits them to the frame that filled the hole;
        None keeps each segment's own frame (used when the hole was given up).
        """
        pending = self.pending
        while pending:
            a = min(pending)
            nxt = self.next_seq
            if a > nxt:
                return
            f, t, data = pending.pop(a)
            self.pending_bytes -= len(data)
            end = a + len(data)
            if end <= nxt:
                continue
            if a < nxt:
                data = data[nxt - a:]
            out.append((f, t, data, 0) if credit is None else (credit[0], credit[1], data, 0))
            self.next_seq = end

    def _skip_hole(self) -> list:
        a = min(self.pending)
        gap = a - self.next_seq
        self.lost_bytes += gap
        self.next_seq = a
        out: list = []
        self._drain(out, None)
        if out:
            f, t, d, _ = out[0]
            out[0] = (f, t, d, gap)
        return out

    def flush(self) -> list:
        """End of the connection or capture: give up every remaining hole."""
        out: list = []
        while self.pending:
            out.extend(self._skip_hole())
        return out


class Connection:
    """State of one TCP connection (both directions)."""

    __slots__ = ("stream", "key", "client", "server", "syn_seq", "fin", "rst", "data_seen",
                 "dirs", "user", "first_frame", "first_time", "last_time", "synack")

    def __init__(self, stream: int, key, client, server, frame: int, ts: float):
        self.stream = stream
        self.key = key
        self.client = client          # (addr, port) that opened it (or our best guess)
        self.server = server
        self.syn_seq: int | None = None
        self.fin = [False, False]     # per direction: 0 = client->server, 1 = server->client
        self.rst = False
        self.data_seen = False
        self.synack = False           # the server's SYN/ACK was seen (the connect was answered)
        self.dirs = None              # [Reassembler, Reassembler] when reassembled
        self.user = None              # the upper layer's per-connection context
        self.first_frame = frame
        self.first_time = ts
        self.last_time = ts

    @property
    def closed(self) -> bool:
        return self.rst or (self.fin[0] and self.fin[1])


class ConnectionTable:
    """Assigns stream indexes and finds the connection of each segment.

    ``lookup`` returns ``(conn, direction, is_new)``; direction 0 is from the
    client.  The client is the SYN sender; without a SYN, the side not on a
    server port (``server_ports``), else the first sender.
    """

    def __init__(self, server_ports=frozenset({102})):
        self.server_ports = frozenset(server_ports)
        self.conns: dict = {}          # 4-tuple -> its current connection
        self.all: list = []            # every connection in stream order (port reuse keeps the old one)
        self.count = 0
        self.findings: list[Finding] = []

    def lookup(self, src, sport, dst, dport, flags: int, seq: int, frame: int, ts: float):
        a = (src, sport)
        b = (dst, dport)
        key = (a, b) if a < b else (b, a)
        conn = self.conns.get(key)
        if conn is not None and flags & SYN and not flags & ACK:
            if conn.syn_seq != seq and (conn.closed or conn.data_seen or conn.syn_seq is not None):
                conn = None   # port reuse: a new connection on the same 4-tuple
        is_new = conn is None
        if is_new:
            if flags & SYN and not flags & ACK:
                client, server = a, b
            elif flags & SYN:          # SYN/ACK: the sender is the server
                client, server = b, a
            elif dport in self.server_ports and sport not in self.server_ports:
                client, server = a, b
            elif sport in self.server_ports and dport not in self.server_ports:
                client, server = b, a
            else:
                client, server = a, b
            conn = Connection(self.count, key, client, server, frame, ts)
            self.count += 1
            self.conns[key] = conn
            self.all.append(conn)
        conn.last_time = ts
        direction = 0 if a == conn.client else 1
        if flags & SYN and not flags & ACK and conn.syn_seq is None:
            conn.syn_seq = seq
        elif flags & SYN and flags & ACK:
            conn.synack = True
        return conn, direction, is_new

    def __iter__(self):
        """Every connection seen, in stream order (including ones replaced by port reuse)."""
        return iter(self.all)
