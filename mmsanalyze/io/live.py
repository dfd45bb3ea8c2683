"""Live capture from a Linux network interface, and the one ``source=`` opener.

:func:`open_live` reads frames from a raw ``AF_PACKET`` socket (packet(7)) and
yields the same :class:`~.frame.RawFrame` tuples as a capture file, so the
pipeline treats both alike.  Like libpcap it

* takes kernel receive timestamps (``SO_TIMESTAMPNS``),
* puts back the 802.1Q tag the kernel moved into ``PACKET_AUXDATA`` (VLAN
  offload), so GOOSE/SV VLAN ids and priorities are seen as on the wire,
* skips the outgoing copy of loopback frames (each would be seen twice),
* compiles a BPF filter with ``tcpdump -ddd`` and attaches it with
  ``SO_ATTACH_FILTER`` before binding, so no unfiltered frame slips through.

Needs root (CAP_NET_RAW).  :func:`open_source` picks file or interface.
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import subprocess
import time

from ..errors import CaptureError
from .capture import open_capture
from .frame import MAX_CAPLEN, RawFrame, new_frame

__all__ = ["open_live", "open_source", "LiveReader", "compile_bpf"]

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC, PACKET_AUXDATA = 1, 1, 8
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 0x10, 0x40
#: ARPHRD_* (if_arp.h) -> LINKTYPE of what the packet socket delivers.
_ARPHRD_LINKTYPE = {1: 1, 772: 1, 65534: 101}   # ETHER, LOOPBACK (fake Ethernet), NONE (raw IP)
_ARPHRD_LOOPBACK = 772
#: struct tpacket_auxdata (linux/if_packet.h)
_AUXDATA = struct.Struct("@IIIHHHH")
_TIMESPEC = struct.Struct("@ll")
_SOCK_FILTER = struct.Struct("@HBBI")
#: Seconds one blocking receive waits before re-checking count/timeout/close.
POLL_INTERVAL = 0.25
_SYS_NET = "/sys/class/net"


#: The pseudo-interface that captures on every interface at once (Linux cooked headers).
ANY = "any"
#: struct sockaddr_ll fields -> the 16-octet Linux cooked (SLL v1) header of LINKTYPE 113.
_SLL = struct.Struct("!HHH8sH")
LINKTYPE_LINUX_SLL = 113


def is_interface(name) -> bool:
    """True when ``name`` is a network interface of this host (``/sys/class/net``)."""
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
            and os.path.isdir(os.path.join(_SYS_NET, name)))


def open_source(source, **live_options):
    """Open ``source`` as a capture file if it is an existing path (or a file
    object), else as a live interface if it names one; else :class:`CaptureError`.

    ``live_options`` (``bpf_filter``, ``snaplen``, ``count``, ``timeout``,
    ``promisc``, ``backend``, ``buffer_mb``) apply to interfaces only.  A list or tuple of
    paths is read as one capture (rotated files, ordered by first frame time: :mod:`.multi`).
    """
    if isinstance(source, (list, tuple)):
        from .multi import open_multi
        return open_multi(source)
    if hasattr(source, "read"):
        return open_capture(source)
    if isinstance(source, (str, bytes, os.PathLike)) and os.path.exists(source):
        return open_capture(source)
    if is_interface(source) or source == ANY:
        return open_live(source, **live_options)
    shown = os.fsdecode(source) if isinstance(source, (str, bytes, os.PathLike)) else repr(source)
    raise CaptureError(f"{shown}: no such file or network interface")


def compile_bpf(expression: str, interface: str | None = None) -> list[tuple[int, int, int, int]]:
    """Compile a tcpdump filter expression to classic BPF with ``tcpdump -ddd``.

    Returns ``[(code, jt, jf, k), ...]``.  Raises :class:`CaptureError` if
    tcpdump is missing or rejects the expression.
    """
    where = ["-i", interface] if interface else ["-y", "EN10MB"]
    cmd = ["tcpdump", "-ddd", *where, expression]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise CaptureError(f"cannot compile BPF filter (tcpdump): {exc}") from None
    if out.returncode != 0:
        msg = (out.stderr.strip().splitlines() or ["failed"])[-1]
        raise CaptureError(f"bad capture filter {expression!r}: {msg}")
    lines = out.stdout.split("\n")
    try:
        count = int(lines[0])
        prog = [tuple(int(x) for x in line.split()) for line in lines[1:1 + count]]
    except (ValueError, IndexError):
        raise CaptureError(f"cannot parse tcpdump -ddd output for {expression!r}") from None
    if len(prog) != count or any(len(ins) != 4 for ins in prog):
        raise CaptureError(f"cannot parse tcpdump -ddd output for {expression!r}")
    return prog


#: Live capture backends: ``ring`` (TPACKET_V3 memory-mapped ring, Linux; the default),
#: ``socket`` (one recvmsg per frame, Linux), ``scapy`` (libpcap through scapy: any OS).
BACKENDS = ("ring", "socket", "scapy")


def default_backend() -> str:
    """``ring`` where ``AF_PACKET`` exists (Linux), else ``scapy``."""
    return "ring" if hasattr(socket, "AF_PACKET") else "scapy"


def open_live(interface: str, bpf_filter: str | None = None, snaplen: int = MAX_CAPLEN,
              count: int | None = None, timeout: float | None = None,
              promisc: bool = True, backend: str | None = None, buffer_mb: float | None = None):
    """Capture live from ``interface`` (needs root or CAP_NET_RAW).

    Args:
        interface: interface name (as in ``/sys/class/net``).
        bpf_filter: tcpdump filter expression, or None for everything.
        snaplen: bytes kept per frame (``orig_len`` still tells the wire length).
        count: stop after this many frames (None: no limit).
        timeout: stop this many seconds after iteration starts (None: until
            :meth:`LiveReader.close`; checked every POLL_INTERVAL).
        promisc: put the interface in promiscuous mode while capturing (needed
            to see multicast GOOSE / SV not addressed to this host).
        backend: one of :data:`BACKENDS` (None: :func:`default_backend`).
        buffer_mb: ring size in MiB for the ``ring`` backend (dumpcap's ``-B``;
            default :data:`~.ring.DEFAULT_BUFFER_MB`).

    Raises:
        CaptureError: unknown interface, no permission, unsupported hardware
            type, bad filter.
    """
    backend = backend or default_backend()
    if interface == ANY and backend == "ring":
        backend = "socket"       # -i any: one cooked (SOCK_DGRAM) socket on every interface
    if backend == "ring":
        from .ring import DEFAULT_BUFFER_MB, RingReader
        return RingReader(interface, bpf_filter, snaplen, count, timeout, promisc,
                          DEFAULT_BUFFER_MB if buffer_mb is None else buffer_mb)
    if backend == "scapy":
        from .scapy_live import ScapyReader
        return ScapyReader(interface, bpf_filter, snaplen, count, timeout, promisc)
    if backend == "socket":
        return LiveReader(interface, bpf_filter, snaplen, count, timeout, promisc)
    raise CaptureError(f"unknown capture backend {backend!r} (choose from {', '.join(BACKENDS)})")


def link_of(interface: str) -> tuple[int, bool]:
    """``(LINKTYPE, skip outgoing copies)`` of what a packet socket on ``interface`` delivers
    (from its ARPHRD type in /sys/class/net; loopback frames are seen twice)."""
    try:
        with open(os.path.join(_SYS_NET, interface, "type")) as f:
            hatype = int(f.read().strip())
    except (OSError, ValueError):
        raise CaptureError(f"{interface}: cannot read its hardware type") from None
    linktype = _ARPHRD_LINKTYPE.get(hatype)
    if linktype is None:
        raise CaptureError(f"{interface}: hardware type {hatype} is not supported for capture")
    return linktype, hatype == _ARPHRD_LOOPBACK


def filter_and_bind(sock, interface: str, bpf_filter, promisc: bool) -> None:
    """Attach the BPF filter, then bind ``sock`` (a protocol-0 packet socket receives nothing
    until bound, so no unfiltered frame slips through) and ask for promiscuous mode."""
    if bpf_filter:
        _attach(sock, compile_bpf(bpf_filter, interface))
    sock.bind((interface, ETH_P_ALL))
    if promisc:
        ifindex = socket.if_nametoindex(interface)
        mreq = struct.pack("@iHH8s", ifindex, PACKET_MR_PROMISC, 0, b"")
        sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)


def capture_error(interface: str, exc: Exception) -> CaptureError:
    """The one-line error for a capture that could not be opened."""
    if isinstance(exc, CaptureError):
        return exc
    if isinstance(exc, PermissionError):
        return CaptureError(f"{interface}: live capture needs root (CAP_NET_RAW)")
    return CaptureError(f"{interface}: cannot capture: {getattr(exc, 'strerror', None) or exc}")


class FrameReader:
    """The iterator and context-manager protocol every live reader shares: iterate
    ``self._it`` (a generator of RawFrame); ``with`` closes it."""

    _it = None                 # the frame generator, set once the capture is open

    def _setup(self, name: str, backend: str, snaplen, count, timeout) -> None:
        """The state every live reader has: name, format, backend, findings, limits and
        the kernel counters (``received``/``drops``/``loss_events`` where known)."""
        self.name, self.format, self.backend = name, "live", backend
        self.findings: list = []
        self.snaplen = max(1, min(int(snaplen), MAX_CAPLEN))
        self.count, self.timeout = count, timeout
        self.received = self.drops = self.frames = 0
        #: ``(start, end, dropped, frame)``: between epoch seconds start and end the
        #: kernel dropped ``dropped`` frames; ``frame`` was the last frame delivered then.
        self.loss_events: list = []

    def __iter__(self):
        return self._it

    def __next__(self) -> RawFrame:
        return next(self._it)

    def close(self) -> None:                   # pragma: no cover - every reader overrides it
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LiveReader(FrameReader):
    """Iterable of :class:`RawFrame` from a live interface (same contract as
    :class:`~.capture.CaptureReader`: ``format``, ``linktypes``, ``findings``,
    ``close()``, context manager).  ``RawFrame.interface`` is always 0."""

    def __init__(self, interface, bpf_filter, snaplen, count, timeout, promisc):
        if interface == ANY:
            self._init_any(bpf_filter, snaplen, count, timeout)
            return
        if not is_interface(interface):
            raise CaptureError(f"{interface!r}: no such network interface")
        self._setup(interface, "socket", snaplen, count, timeout)
        self.linktype, self._skip_outgoing = link_of(interface)
        self.linktypes = {self.linktype}
        self._sock = None
        try:
            # Protocol 0: the socket receives nothing until bound, so the filter
            # is in place before the first frame arrives.
            sock = self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            filter_and_bind(sock, interface, bpf_filter, promisc)
        except (OSError, CaptureError) as exc:
            self.close()
            raise capture_error(interface, exc) from None
        self._it = self._frames()

    def _init_any(self, bpf_filter, snaplen, count, timeout) -> None:
        """``-i any``: one SOCK_DGRAM packet socket on every interface; each frame gets a
        Linux cooked (SLL) header built from its sockaddr_ll, as libpcap does."""
        self._setup(ANY, "socket", snaplen, count, timeout)
        self.linktype = LINKTYPE_LINUX_SLL
        self.linktypes = {self.linktype}
        self._skip_outgoing = True         # loopback frames would appear twice
        self._sock = None
        if bpf_filter:
            raise CaptureError("-i any: a capture filter (-f) is not supported; filter on one interface "
                               "or use -Y on the results")
        try:
            sock = self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except PermissionError:
            self.close()
            raise CaptureError("any: live capture needs root (CAP_NET_RAW)") from None
        except OSError as exc:
            self.close()
            raise CaptureError(f"any: cannot capture: {exc.strerror or exc}") from None
        self._it = self._frames_any()

    def _frames_any(self):
        sock = self._sock
        snaplen = self.snaplen
        buf = bytearray(snaplen)
        anc = socket.CMSG_SPACE(_TIMESPEC.size)
        deadline = self._poll_deadline(sock)
        if deadline is False:
            return
        n = 0
        while self.count is None or n < self.count:
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                nbytes, ancdata, _flags, addr = sock.recvmsg_into([buf], anc, socket.MSG_TRUNC)
            except socket.timeout:
                continue
            except (OSError, AttributeError):
                break
            ifname, proto, pkttype, hatype, hwaddr = addr[:5]
            if pkttype == PACKET_OUTGOING and ifname == "lo":
                continue                   # loopback shows every packet twice: keep the received copy
            ts = None
            for level, kind, cdata in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = _TIMESPEC.unpack_from(cdata)
                    ts = sec + nsec / 1e9
            ts = time.time() if ts is None else ts
            caplen = min(nbytes, snaplen - _SLL.size)
            head = _SLL.pack(pkttype, hatype, len(hwaddr), hwaddr[:8].ljust(8, b"\0"), proto)
            n += 1
            yield new_frame(RawFrame, (n, ts, LINKTYPE_LINUX_SLL, head + bytes(buf[:caplen]),
                                       nbytes + len(head), 0))

    def _frames(self):
        sock = self._sock
        snaplen = self.snaplen
        lt = self.linktype
        skip_out = self._skip_outgoing
        buf = bytearray(snaplen)
        anc = socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(_AUXDATA.size)
        deadline = self._poll_deadline(sock)
        if deadline is False:
            return
        limit = self.count
        n = 0
        while limit is None or n < limit:
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                nbytes, ancdata, _flags, addr = sock.recvmsg_into([buf], anc, socket.MSG_TRUNC)
            except socket.timeout:
                continue
            except (OSError, AttributeError):  # closed under us
                break
            if skip_out and addr[2] == PACKET_OUTGOING:
                continue
            ts = None
            orig = nbytes
            tag = None
            for level, kind, cdata in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = _TIMESPEC.unpack_from(cdata)
                    ts = sec + nsec / 1e9
                elif level == SOL_PACKET and kind == PACKET_AUXDATA:
                    status, tp_len, _snap, _mac, _net, tci, tpid = _AUXDATA.unpack_from(cdata)
                    orig = tp_len
                    if status & TP_STATUS_VLAN_VALID or tci:
                        if not status & TP_STATUS_VLAN_TPID_VALID:
                            tpid = 0x8100
                        tag = struct.pack("!HH", tpid, tci)
            caplen = min(nbytes, snaplen)
            data = bytes(buf[:caplen])
            if tag is not None and lt == 1 and caplen >= 12:
                data = (data[:12] + tag + data[12:])[:snaplen]
                orig += 4
            n += 1
            yield new_frame(RawFrame, (n, time.time() if ts is None else ts, lt, data, orig, 0))

    def _poll_deadline(self, sock):
        """Make blocking receives wake every POLL_INTERVAL (to see count/timeout/close);
        the monotonic deadline of ``timeout`` (None: none), or False if the socket is gone."""
        try:
            sock.settimeout(POLL_INTERVAL if self.timeout is None
                            else max(min(POLL_INTERVAL, self.timeout), 0.001))
        except OSError:
            return False
        return None if self.timeout is None else time.monotonic() + self.timeout

    def close(self) -> None:
        """Stop capturing (promiscuous mode ends with the socket)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __repr__(self) -> str:
        return f"<LiveReader {self.name!r} linktype {self.linktype}>"


def _attach(sock, prog) -> None:
    """Attach a classic BPF program (struct sock_fprog) with SO_ATTACH_FILTER."""
    insns = b"".join(_SOCK_FILTER.pack(*ins) for ins in prog)
    buf = ctypes.create_string_buffer(insns, len(insns))
    fprog = struct.pack("@HP", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)

