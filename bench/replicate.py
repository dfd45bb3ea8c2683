"""Make a large capture by replicating a real MMS session.

Each replica is shifted in time (after the previous one) and gets its own TCP
4-tuple (client address 10.R.x.y and a fresh client port; the server address is
kept), so tools see independent connections rather than retransmissions.
Only Ethernet/IPv4 frames are kept (the frames of the session).  Output is
classic pcap, microsecond resolution.

    python bench/replicate.py SOURCE.pcap OUT.pcap --frames 100000
"""

from __future__ import annotations

import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from mmsanalyze.io import open_capture  # noqa: E402


def _ip_tcp(data: bytes):
    """(ip_offset, tcp_offset) of an untagged/tagged Ethernet IPv4 TCP frame, else None."""
    off = 12
    et = int.from_bytes(data[off:off + 2], "big")
    while et in (0x8100, 0x88A8):
        off += 4
        et = int.from_bytes(data[off:off + 2], "big")
    if et != 0x0800 or data[off + 2 + 9] != 6:
        return None
    ip = off + 2
    return ip, ip + (data[ip] & 0x0F) * 4


def load_session(source: str, server_port: int = 102):
    frames = []
    with open_capture(source) as r:
        for fr in r:
            if fr.linktype != 1:
                continue
            pos = _ip_tcp(fr.data)
            if pos is None:
                continue
            ip, tcp = pos
            sport, dport = struct.unpack_from(">HH", fr.data, tcp)
            if server_port not in (sport, dport):
                continue
            frames.append((fr.ts, bytearray(fr.data), fr.orig_len, ip, tcp, sport == server_port))
    if not frames:
        raise SystemExit(f"no Ethernet/IPv4 TCP-{server_port} frames in {source}")
    return frames


def replicate(source: str, out: str, nframes: int, server_port: int = 102) -> int:
    session = load_session(source, server_port)
    t0 = session[0][0]
    span = session[-1][0] - t0 + 0.01
    written = 0
    with open(out, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        rep = 0
        while written < nframes:
            cport = 1024 + rep % 60000
            caddr = bytes([10, (rep >> 16) & 0xFF | 64, (rep >> 8) & 0xFF, rep & 0xFF])
            shift = rep * span
            for ts, data, orig, ip, tcp, from_server in session:
                if written >= nframes:
                    break
                d = bytearray(data)
                if from_server:
                    d[ip + 16:ip + 20] = caddr
                    struct.pack_into(">H", d, tcp + 2, cport)
                else:
                    d[ip + 12:ip + 16] = caddr
                    struct.pack_into(">H", d, tcp, cport)
                t = ts - t0 + 1_700_000_000 + shift
                sec = int(t)
                usec = int(round((t - sec) * 1e6))
                if usec >= 1_000_000:
                    sec, usec = sec + 1, usec - 1_000_000
                fh.write(struct.pack("<IIII", sec, usec, len(d), orig))
                fh.write(d)
                written += 1
            rep += 1
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--port", type=int, default=102)
    a = ap.parse_args(argv)
    n = replicate(a.source, a.out, a.frames, a.port)
    print(f"wrote {n} frames to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
