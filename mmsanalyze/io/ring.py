"""Live capture through a memory-mapped ``TPACKET_V3`` receive ring (Linux, packet(7)).

A process bus carries thousands of SV frames a second per merging unit.  One
``recvmsg`` per frame (:class:`~.live.LiveReader`) costs a system call each, and the
socket's default 208 KiB receive buffer holds only about 256 SV frames: a 20 ms
pause of the analysis and the kernel drops frames, silently.  Like libpcap and
dumpcap, :class:`RingReader` instead maps a ring of blocks shared with the kernel
(``PACKET_RX_RING``): the kernel fills a block with many frames and hands it over;
we walk the block in place and give it back.  No system call per frame, and the
ring (``buffer_mb``, dumpcap's ``-B``) absorbs bursts and analysis pauses.

The kernel's own counters (``PACKET_STATISTICS``: frames received and dropped) are
read after every block; :attr:`RingReader.drops` is the running total and
:attr:`RingReader.loss_events` lists ``(time, frame number, dropped)`` where the
total went up, so analyses can tell capture loss from loss on the wire.  A
``capture.dropped`` finding is added when the capture ends with drops.

It yields the same :class:`~.frame.RawFrame` tuples as a file, with the same
conventions as :class:`~.live.LiveReader` (kernel timestamps in nanoseconds, the
802.1Q tag put back from the ring's metadata, outgoing loopback copies skipped,
BPF filter attached before the socket is bound).
"""

from __future__ import annotations

import mmap
import select
import socket
import struct
import time

from ..errors import CaptureError
from ..findings import Finding
from .frame import MAX_CAPLEN, RawFrame, new_frame
from .live import (PACKET_OUTGOING, POLL_INTERVAL, SOL_PACKET, TP_STATUS_VLAN_TPID_VALID,
                   TP_STATUS_VLAN_VALID, FrameReader, capture_error, filter_and_bind, is_interface,
                   link_of)

__all__ = ["RingReader", "DEFAULT_BUFFER_MB", "BLOCK_SIZE", "BLOCK_TIMEOUT_MS"]

# linux/if_packet.h
PACKET_RX_RING, PACKET_STATISTICS, PACKET_VERSION = 5, 6, 10
TPACKET_V3 = 2
TP_STATUS_KERNEL, TP_STATUS_USER = 0, 1

#: Ring size when none is given: 64 MiB hold about 2 s of eight 9-2LE merging units
#: (32,000 frames/s of ~130 octets in 2 KiB-aligned slots is about 4 MB/s of ring
#: space... with block overheads well under a block per 8,000 frames), so an analysis
#: pause of a second never drops a frame.  dumpcap's default is 2 MiB.
DEFAULT_BUFFER_MB = 64
#: One block: 256 KiB (a power-of-two number of pages, as the kernel requires).  The
#: kernel hands over a block when it is full or after BLOCK_TIMEOUT_MS, and a block
#: handed over part-full wastes the rest: at 11,000 frames/s and an 8 ms timeout, 1 MiB
#: blocks were 5 % used and a 64 MiB ring held half a second.  256 KiB blocks with a
#: 32 ms timeout are most of the way full at process-bus rates (measured: a 30 MB burst
#: of MMS at 11,300 frames/s and 8 SV streams at 4,000 frames/s each fit).
BLOCK_SIZE = 1 << 18
#: A partly filled block is retired after this many milliseconds: the longest a frame
#: on a quiet link waits before the analysis sees it.
BLOCK_TIMEOUT_MS = 32
#: ``tp_frame_size`` given to the kernel (only a sizing hint for TPACKET_V3 blocks).
_FRAME_HINT = 2048

# struct tpacket_req3 {block_size, block_nr, frame_size, frame_nr, retire_blk_tov,
#                      sizeof_priv, feature_req_word}
_REQ3 = struct.Struct("@7I")
# struct tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1:
# block_status, num_pkts, offset_to_first_pkt, blk_len, seq_num (u64), ts_first, ts_last
_BLOCK_HDR = struct.Struct("@IIIII")          # version .. offset_to_first_pkt
_OFF_BLOCK_STATUS = 8
# struct tpacket3_hdr: next_offset, sec, nsec, snaplen, len, status, mac, net,
#   hv1 {rxhash, vlan_tci, vlan_tpid, padding}
_PKT_HDR = struct.Struct("@IIIIIIHHIIH")
#: struct sockaddr_ll follows the (aligned) tpacket3_hdr; sll_pkttype is its 11th octet.
_SLL_PKTTYPE = 48 + 10
_STATS_V3 = struct.Struct("@III")             # tp_packets, tp_drops, tp_freeze_q_cnt
_VLAN = struct.Struct("!HH")


class RingReader(FrameReader):
    """Iterable of :class:`RawFrame` from a ``TPACKET_V3`` ring on ``interface``.

    Same contract as :class:`~.live.LiveReader` (``format``, ``linktypes``,
    ``findings``, ``close()``, context manager), plus ``received``/``drops``
    (kernel totals so far), ``loss_events`` and :meth:`stats`.

    Args:
        interface: interface name.  bpf_filter: tcpdump expression or None.
        snaplen: octets kept per frame.  count: stop after this many frames.
        timeout: stop this many seconds after iteration starts.
        promisc: promiscuous mode (multicast GOOSE/SV not addressed to this host).
        buffer_mb: ring size in MiB (dumpcap's ``-B``).
    """

    def __init__(self, interface, bpf_filter=None, snaplen=MAX_CAPLEN, count=None, timeout=None,
                 promisc=True, buffer_mb=DEFAULT_BUFFER_MB):
        if not is_interface(interface):
            raise CaptureError(f"{interface!r}: no such network interface")
        self._setup(interface, "ring", snaplen, count, timeout)
        self._last_ts = None
        self.linktype, self._skip_outgoing = link_of(interface)
        self.linktypes = {self.linktype}
        try:
            mb = float(buffer_mb)
        except (TypeError, ValueError):
            raise CaptureError(f"bad buffer size {buffer_mb!r} (MiB)") from None
        if not 1 <= mb <= 4096:
            raise CaptureError(f"buffer size {buffer_mb} MiB out of range (1..4096)")
        self.block_nr = max(2, int(mb * (1 << 20)) // BLOCK_SIZE)
        self.buffer_mb = self.block_nr * BLOCK_SIZE >> 20
        self._sock = self._map = None
        try:
            sock = self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            req = _REQ3.pack(BLOCK_SIZE, self.block_nr, _FRAME_HINT,
                             BLOCK_SIZE // _FRAME_HINT * self.block_nr, BLOCK_TIMEOUT_MS, 0, 0)
            sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
            self._map = mmap.mmap(sock.fileno(), BLOCK_SIZE * self.block_nr,
                                  mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            filter_and_bind(sock, interface, bpf_filter, promisc)
            self._stats()            # start the kernel counters from zero
            self.received = self.drops = 0
        except (OSError, CaptureError) as exc:
            self.close()
            raise capture_error(interface, exc) from None
        self._it = self._frames()

    # -- kernel statistics ---------------------------------------------------------------
    def _stats(self) -> int:
        """Add the kernel's counters since the last call (reading resets them); new drops."""
        sock = self._sock
        if sock is None:
            return 0
        try:
            raw = sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS_V3.size)
        except OSError:
            return 0
        packets, drops, _freeze = _STATS_V3.unpack(raw[:_STATS_V3.size])
        # tp_packets counts every frame the filter accepted, dropped ones included
        self.received += packets
        self.drops += drops
        return drops

    def stats(self) -> dict:
        """``{"received", "dropped", "delivered", "buffer_mb"}`` so far (kernel counters)."""
        self._stats()
        return {"received": self.received, "dropped": self.drops, "delivered": self.frames,
                "buffer_mb": self.buffer_mb}

    def ring_usage(self) -> float:
        """Share of the ring's blocks filled by the kernel and not yet read (0.0-1.0):
        how close the capture is to dropping frames."""
        mm = self._map
        if mm is None:
            return 0.0
        try:
            full = sum(1 for i in range(self.block_nr)
                       if struct.unpack_from("@I", mm, i * BLOCK_SIZE + _OFF_BLOCK_STATUS)[0]
                       & TP_STATUS_USER)
        except (ValueError, TypeError):      # closed under us
            return 0.0
        return full / self.block_nr

    # -- frames ------------------------------------------------------------------------
    def _frames(self):
        sock, mm = self._sock, self._map
        mv = memoryview(mm)
        snaplen, lt, skip_out = self.snaplen, self.linktype, self._skip_outgoing
        block_nr = self.block_nr
        unpack_block, unpack_pkt = _BLOCK_HDR.unpack_from, _PKT_HDR.unpack_from
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        limit = self.count
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN | select.POLLERR)
        idx = 0
        n = 0
        try:
            while limit is None or n < limit:
                base = idx * BLOCK_SIZE
                _version, _priv, status, num, first = unpack_block(mm, base)
                if not status & TP_STATUS_USER:
                    if deadline is not None:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        wait = min(POLL_INTERVAL, left)
                    else:
                        wait = POLL_INTERVAL
                    try:
                        poller.poll(int(wait * 1000) + 1)
                    except InterruptedError:
                        pass
                    if self._sock is None:
                        break
                    continue
                off = base + first
                last_ts = None
                for _ in range(num):
                    (nxt, sec, nsec, caplen, wirelen, pstatus, mac, _net, _hash, tci,
                     tpid) = unpack_pkt(mm, off)
                    if skip_out and mm[off + _SLL_PKTTYPE] == PACKET_OUTGOING:
                        off += nxt
                        continue
                    start = off + mac
                    keep = caplen if caplen < snaplen else snaplen
                    data = bytes(mv[start:start + keep])
                    if pstatus & TP_STATUS_VLAN_VALID and lt == 1 and keep >= 12:
                        if not pstatus & TP_STATUS_VLAN_TPID_VALID:
                            tpid = 0x8100
                        data = (data[:12] + _VLAN.pack(tpid, tci) + data[12:])[:snaplen]
                        wirelen += 4
                    n += 1
                    last_ts = sec + nsec * 1e-9
                    yield new_frame(RawFrame, (n, last_ts, lt, data, wirelen, 0))
                    if limit is not None and n >= limit:
                        break
                    off += nxt
                self.frames = n
                # hand the block back to the kernel, then see whether it dropped anything
                if self._map is None:
                    break
                struct.pack_into("@I", mm, base + _OFF_BLOCK_STATUS, TP_STATUS_KERNEL)
                dropped = self._stats()
                if dropped:
                    # every frame dropped since the last reading arrived while this block
                    # was still in the ring, so after its last frame, and before now
                    self._last_ts = last_ts if last_ts is not None else self._last_ts
                    self.loss_events.append((self._last_ts or time.time(), time.time(), dropped, n))
                elif last_ts is not None:
                    self._last_ts = last_ts
                idx = idx + 1 if idx + 1 < block_nr else 0
                if deadline is not None and time.monotonic() >= deadline:
                    break
        finally:
            self.frames = n
            mv.release()

    def close(self) -> None:
        """Stop capturing; a ``capture.dropped`` finding records any kernel drops."""
        if self._sock is not None:
            dropped = self._stats()
            if dropped:
                self.loss_events.append((self._last_ts or time.time(), time.time(), dropped,
                                         self.frames))
            if self.drops and not any(f.code == "capture.dropped" for f in self.findings):
                first = self.loss_events[0][3] if self.loss_events else 0
                self.findings.append(Finding(
                    "capture.dropped", "warning", first, "capture",
                    f"the kernel dropped {self.drops} of {self.received} frames on {self.name} "
                    f"(ring {self.buffer_mb} MiB): gaps near frame {first} are capture loss, "
                    "not loss on the wire"))
        it = getattr(self, "_it", None)
        if it is not None:
            try:
                it.close()           # releases the memoryview before the map goes
            except (ValueError, RuntimeError):
                pass
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:      # a view still exported (generator not finished)
                pass
            self._map = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __repr__(self) -> str:
        return f"<RingReader {self.name!r} linktype {self.linktype} {self.buffer_mb} MiB>"
