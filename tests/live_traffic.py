"""Live-capture test traffic: 9-2LE SV streams made from a real merging unit's frame.

The frame template is the first SV frame of a public capture (a real 9-2LE publisher);
each stream gets its own svID-length-preserving APPID and source MAC, and its smpCnt
is patched per frame.  Frames are written to a pcap and replayed with ``tcpreplay``
(a C-speed sender from Debian) at a chosen rate, or sent from Python in a burst.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess

import public
from mmsanalyze.io import open_capture
from mmsanalyze.net.link import parse_link
from mmsanalyze.sv.pdu import decode_sv

TCPREPLAY = shutil.which("tcpreplay")
SV_TEMPLATE_CAPTURE = "sv_seapath_92le_50hz_fault_z1.pcap"
ETH_SV = 0x88BA


def sv_template() -> tuple[bytes, int]:
    """(untagged Ethernet SV frame with one ASDU, offset of its 2-octet smpCnt)."""
    with open_capture(public.path(SV_TEMPLATE_CAPTURE)) as rd:
        for fr in rd:
            ethertype, off, *_ = parse_link(fr.linktype, fr.data)
            if ethertype != ETH_SV:
                continue
            sv = decode_sv(fr.data, off, len(fr.data))
            if len(sv.asdus) != 1 or "smp_cnt" not in sv.asdus[0].spans:
                continue
            s, e = sv.asdus[0].spans["smp_cnt"]
            assert e - s == 2
            # rebuild as an untagged frame (dst, src, 0x88BA, PDU)
            frame = fr.data[:12] + struct.pack("!H", ETH_SV) + fr.data[off:]
            return bytes(frame), s - off + 14
    raise RuntimeError("no single-ASDU SV frame in the template capture")


def stream_frames(stream: int, counts, template=None) -> list[bytes]:
    """Frames of stream ``stream`` (own APPID 0x4100+stream and source MAC) with the given smpCnts."""
    frame, cnt_off = template or sv_template()
    base = bytearray(frame)
    base[6:12] = bytes([0x02, 0x00, 0x5e, 0x10, 0x00, stream & 0xFF])      # source MAC
    base[14:16] = struct.pack("!H", 0x4100 + stream)                       # APPID
    out = []
    for c in counts:
        base[cnt_off:cnt_off + 2] = struct.pack("!H", c % 4000)
        out.append(bytes(base))
    return out


def interleave(streams: int, per_stream: int, wrap: int = 4000) -> list[bytes]:
    """``streams`` merging units in lockstep, ``per_stream`` frames each, smpCnt 0.. wrapping."""
    tpl = sv_template()
    cols = [stream_frames(k, range(per_stream), tpl) for k in range(streams)]
    return [cols[k][i] for i in range(per_stream) for k in range(streams)]


def write_pcap(path: str, frames: list[bytes], rate: float = 4000.0) -> None:
    """A classic pcap (µs) of Ethernet frames spaced 1/rate s apart."""
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1_700_000_000.0
        for i, f in enumerate(frames):
            ts = t + i / rate
            sec = int(ts)
            fh.write(struct.pack("<IIII", sec, int(round((ts - sec) * 1e6)) % 1_000_000, len(f), len(f)))
            fh.write(f)


def tcpreplay(iface: str, path: str, pps: float) -> dict:
    """Replay ``path`` on ``iface`` at ``pps`` frames/s; tcpreplay's own counts."""
    r = subprocess.run([TCPREPLAY, "-q", "-i", iface, f"--pps={pps}", "--pps-multi=16", path],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"tcpreplay failed: {r.stderr.strip()}")
    text = r.stdout + r.stderr
    m = re.search(r"Actual: (\d+) packets", text)
    failed = re.search(r"Failed packets:\s+(\d+)", text)
    return {"sent": int(m.group(1)) if m else None, "failed": int(failed.group(1)) if failed else 0,
            "text": text}


def burst(iface: str, frames: list[bytes]) -> int:
    """Send ``frames`` back to back from Python on a raw socket; number sent."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.bind((iface, 0))
        for f in frames:
            s.send(f)
    finally:
        s.close()
    return len(frames)


def can_replay() -> bool:
    return os.geteuid() == 0 and TCPREPLAY is not None and public.available()
