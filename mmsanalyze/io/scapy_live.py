"""Live capture through scapy's libpcap binding: the backend where ``AF_PACKET`` is missing.

On Linux :class:`~.ring.RingReader` (a ``TPACKET_V3`` ring) is the default.  On macOS,
the BSDs and Windows (Npcap) there is no ``AF_PACKET``; scapy wraps libpcap on all of
them, so :class:`ScapyReader` opens the interface through ``conf.L2listen`` with
``conf.use_pcap`` and yields the same :class:`~.frame.RawFrame` tuples (link type from
``pcap_datalink``, wire length from the pcap header, the filter compiled by libpcap).
Selected with ``--backend scapy`` (also on Linux, so both backends can be compared on
the same traffic).  libpcap's timestamps are in microseconds.
"""

from __future__ import annotations

import time

from ..errors import CaptureError
from ..findings import Finding
from .frame import MAX_CAPLEN, RawFrame, new_frame
from .live import FrameReader

__all__ = ["ScapyReader", "scapy_available"]


def scapy_available() -> bool:
    """scapy is installed and finds libpcap."""
    try:
        from scapy.config import conf
        conf.use_pcap = True
        from scapy.arch import libpcap  # noqa: F401
        return bool(getattr(conf, "use_pcap", False))
    except Exception:        # noqa: BLE001 - scapy raises many kinds when libpcap is absent
        return False


class ScapyReader(FrameReader):
    """Iterable of :class:`RawFrame` from ``interface`` through scapy + libpcap.

    Same contract as :class:`~.live.LiveReader`; ``received``/``drops`` come from
    ``pcap_stats`` when the platform's libpcap gives them.
    """

    def __init__(self, interface, bpf_filter=None, snaplen=MAX_CAPLEN, count=None, timeout=None,
                 promisc=True, buffer_mb=None):
        self._setup(interface, "scapy", snaplen, count, timeout)
        try:
            from scapy.config import conf
            conf.use_pcap = True
            from scapy.arch.libpcap import L2pcapListenSocket
            import scapy.layers.l2  # noqa: F401  (registers the link types libpcap reports)
        except Exception as exc:         # noqa: BLE001 - no scapy or no libpcap
            raise CaptureError(f"the scapy backend needs scapy with libpcap: {exc}") from None
        try:
            self._sock = L2pcapListenSocket(iface=interface, promisc=promisc, filter=bpf_filter)
        except PermissionError:
            raise CaptureError(f"{interface}: live capture needs root (CAP_NET_RAW)") from None
        except Exception as exc:         # noqa: BLE001 - scapy wraps libpcap errors variously
            text = str(exc).strip() or exc.__class__.__name__
            if bpf_filter and "filter" in text.lower():
                raise CaptureError(f"bad capture filter {bpf_filter!r}: {text}") from None
            raise CaptureError(f"{interface}: cannot capture (scapy/libpcap): {text}") from None
        self._fd = self._sock.pcap_fd
        self.linktype = int(self._fd.datalink())
        self.linktypes = {self.linktype}
        self._it = self._frames()

    def _frames(self):
        fd = self._fd
        lt, snaplen = self.linktype, self.snaplen
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        limit = self.count
        n = 0
        while (limit is None or n < limit) and self._sock is not None:
            if deadline is not None and time.monotonic() >= deadline:
                break
            ts, pkt = fd.next()          # returns after libpcap's 100 ms timeout at most
            if pkt is None:
                continue
            wirelen = int(fd.header.contents.len)
            n += 1
            self.frames = n
            yield new_frame(RawFrame, (n, ts, lt, pkt[:snaplen], wirelen, 0))

    def stats(self) -> dict:
        """``{"received", "dropped", "delivered"}`` from ``pcap_stats`` (when available;
        the last values once closed)."""
        if self._sock is None:
            return {"received": self.received, "dropped": self.drops, "delivered": self.frames}
        try:
            from ctypes import byref
            from scapy.libs.winpcapy import pcap_stat, pcap_stats
            st = pcap_stat()
            if pcap_stats(self._fd.pcap, byref(st)) == 0:
                self.received, self.drops = int(st.ps_recv), int(st.ps_drop)
        except Exception:                # noqa: BLE001 - pcap_stats is optional per platform
            pass
        return {"received": self.received, "dropped": self.drops, "delivered": self.frames}

    def close(self) -> None:
        if self._sock is not None:
            if self._fd is not None:
                self.stats()
                if self.drops:
                    self.findings.append(Finding(
                        "capture.dropped", "warning", 0, "capture",
                        f"libpcap dropped {self.drops} of {self.received} frames on {self.name}"))
            try:
                self._sock.close()
            except Exception:            # noqa: BLE001
                pass
            self._sock = None

    def __repr__(self) -> str:
        return f"<ScapyReader {self.name!r} linktype {self.linktype}>"
