"""Write pcapng files (draft-ietf-opsawg-pcapng, "PCAP Next Generation Dump File Format").

The writing counterpart of :mod:`.pcapng`, used by ``pdus -w`` and ``split`` to hand
captures on.  One file is one section, little-endian:

* Section Header Block (§4.1) whose ``shb_userappl`` option (4) names the
  mmsanalyze version that wrote the file;
* one Interface Description Block (§4.2) per distinct ``(linktype, snaplen,
  units per second)`` of the source, with ``if_tsresol`` (9) saying the
  source's resolution, so a nanosecond capture stays a nanosecond capture;
* one Enhanced Packet Block (§4.3) per frame: the source's integer timestamp,
  captured and original lengths, the bytes, and options ``opt_comment`` (1,
  one per finding: Wireshark shows them as packet comments, tshark as the
  ``frame.comment`` field) and ``epb_packetid`` (5: the frame's number in the
  source capture, tshark's ``frame.packet_id``).

Frames come from a reader opened with ``exact_ts=True`` (see
:func:`mmsanalyze.io.capture.open_capture`): their ``ts`` is already an integer
count of the interface's units, so nothing is lost to float rounding.
"""

from __future__ import annotations

import struct

from .frame import MAX_CAPLEN

__all__ = ["PcapngWriter", "tsresol_option", "MAX_COMMENT", "BYTE_ORDER_MAGIC"]

SHB, IDB, EPB = 0x0A0D0D0A, 1, 6
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_ENDOFOPT, OPT_COMMENT = 0, 1
SHB_USERAPPL = 4
IF_TSRESOL = 9
EPB_PACKETID = 5
#: Longest comment text written per option (octets of UTF-8).  An option length is
#: 16 bits (§3.5); longer texts are cut and end with an ellipsis.
MAX_COMMENT = 65000

_U32 = struct.Struct("<I")
_OPT = struct.Struct("<HH")
_EPB_HEAD = struct.Struct("<IIIIIII")


def tsresol_option(units: int) -> int:
    """The ``if_tsresol`` octet for ``units`` ticks per second (10^-n or, top bit set, 2^-n)."""
    if units < 1:
        raise ValueError(f"timestamp units must be positive, not {units}")
    n, u = 0, units
    while u % 10 == 0:
        u //= 10
        n += 1
    if u == 1:
        return n
    if units & (units - 1) == 0:
        return 0x80 | (units.bit_length() - 1)
    raise ValueError(f"{units} ticks per second is neither a power of 10 nor of 2")


def _option(code: int, value: bytes) -> bytes:
    return _OPT.pack(code, len(value)) + value + b"\0" * (-len(value) & 3)


def _block(btype: int, body: bytes) -> bytes:
    tlen = len(body) + 12
    return _U32.pack(btype) + _U32.pack(tlen) + body + _U32.pack(tlen)


def _comment(text: str) -> bytes:
    raw = text.encode("utf-8", "replace")
    if len(raw) > MAX_COMMENT:
        raw = raw[:MAX_COMMENT].decode("utf-8", "ignore").encode() + "\u2026".encode()
    return _option(OPT_COMMENT, raw)


class PcapngWriter:
    """Stream frames into a new pcapng file.

    Args:
        dest: a path (created or truncated) or a binary file object (not closed).
        application: the ``shb_userappl`` text; default ``mmsanalyze <version>``.
        resume: the :attr:`interfaces` of an earlier writer of the same path: append
            to that file (no new section header; its interface ids stay valid).
            Lets a caller close files and re-open them (bounded open files).

    Use :meth:`interface` to get the output interface of a source interface, then
    :meth:`write` per frame.  Nothing is buffered beyond the file object's own buffer.
    """

    def __init__(self, dest, application: str | None = None, resume: dict | None = None):
        if application is None:
            from .. import __version__
            application = f"mmsanalyze {__version__}"
        if hasattr(dest, "write"):
            self._fh, self._owns = dest, False
        else:
            self._fh, self._owns = open(dest, "ab" if resume is not None else "wb"), True
        #: ``(linktype, snaplen, units) -> interface id`` of the IDBs written so far
        self.interfaces: dict = resume if resume is not None else {}
        self._ifaces = self.interfaces
        #: frames written so far (by this writer object)
        self.frames = 0
        if resume is not None:
            return
        body = (_U32.pack(BYTE_ORDER_MAGIC) + struct.pack("<HHq", 1, 0, -1)
                + _option(SHB_USERAPPL, application.encode("utf-8"))
                + _option(OPT_ENDOFOPT, b""))
        self._fh.write(_block(SHB, body))

    def interface(self, linktype: int, snaplen: int = 0, units: int = 1_000_000) -> int:
        """The output interface id for frames of this link type, snaplen and resolution.

        One IDB is written the first time a combination is asked for.
        """
        key = (linktype, snaplen, units)
        ifid = self._ifaces.get(key)
        if ifid is None:
            ifid = self._ifaces[key] = len(self._ifaces)
            opts = b""
            if units != 1_000_000:                     # §4.2: 10^-6 is the default
                opts = _option(IF_TSRESOL, bytes((tsresol_option(units),)))
            body = (struct.pack("<HHI", linktype & 0xFFFF, 0, snaplen & 0xFFFFFFFF) + opts
                    + (_option(OPT_ENDOFOPT, b"") if opts else b""))
            self._fh.write(_block(IDB, body))
        return ifid

    def write(self, ifid: int, ts: int, data: bytes, orig_len: int | None = None,
              comments=(), packet_id: int | None = None) -> None:
        """Write one Enhanced Packet Block.

        Args:
            ifid: from :meth:`interface`.
            ts: integer timestamp in that interface's units (negative clamps to 0).
            data: the captured bytes (at most :data:`~.frame.MAX_CAPLEN`).
            orig_len: length on the wire (default ``len(data)``).
            comments: texts written as ``opt_comment`` options, in order.
            packet_id: written as ``epb_packetid`` (e.g. the source frame number).
        """
        if ifid >= len(self._ifaces) or ifid < 0:
            raise ValueError(f"interface {ifid} was not declared")
        if len(data) > MAX_CAPLEN:
            raise ValueError(f"frame of {len(data)} octets exceeds {MAX_CAPLEN}")
        ts = max(int(ts), 0) & 0xFFFFFFFFFFFFFFFF
        caplen = len(data)
        opts = b"".join(_comment(c) for c in comments)
        if packet_id is not None:
            opts += _option(EPB_PACKETID, struct.pack("<Q", packet_id & 0xFFFFFFFFFFFFFFFF))
        if opts:
            opts += _option(OPT_ENDOFOPT, b"")
        pad = b"\0" * (-caplen & 3)
        tlen = 32 + caplen + len(pad) + len(opts)
        self._fh.write(b"".join((
            _EPB_HEAD.pack(EPB, tlen, ifid, ts >> 32, ts & 0xFFFFFFFF, caplen,
                           caplen if orig_len is None else max(orig_len, caplen) & 0xFFFFFFFF),
            data, pad, opts, _U32.pack(tlen))))
        self.frames += 1

    def close(self) -> None:
        """Flush, and close the file if this writer opened it."""
        if self._fh is None:
            return
        if self._owns:
            self._fh.close()
        else:
            self._fh.flush()
        self._fh = None

    def __enter__(self) -> "PcapngWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
