"""Deterministic file trees for the MMS file-service scenarios.

The server file store holds a small COMTRADE record (ASCII .cfg + BINARY .dat
with known bytes), a text file and a log; the client file store holds the
file the server pulls with ObtainFile.  Everything is generated from fixed
formulas so sizes and SHA-256 sums are stable across runs and machines.
"""
from __future__ import annotations

import math
import struct
from pathlib import Path

SAMPLES = 800
RATE = 4000

COMTRADE_CFG = """DEMO-IED,REC_0001,1999
4,3A,1D
1,IA,A,,A,0.01,0,0,-32767,32767,1000,1,P
2,IB,B,,A,0.01,0,0,-32767,32767,1000,1,P
3,VA,A,,kV,0.001,0,0,-32767,32767,110,0.1,P
4,TRIP,,,0
50
1
{rate},{n}
01/01/2024,00:00:00.000000
01/01/2024,00:00:00.020000
BINARY
1
""".format(rate=RATE, n=SAMPLES).replace("\n", "\r\n")


def comtrade_dat(n=SAMPLES, rate=RATE) -> bytes:
    """BINARY COMTRADE samples: n, timestamp(us), IA, IB, VA (int16), digital word."""
    out = bytearray()
    for i in range(n):
        t = i / rate
        ia = int(round(20000 * math.sin(2 * math.pi * 50 * t)))
        ib = int(round(20000 * math.sin(2 * math.pi * 50 * t - 2 * math.pi / 3)))
        va = int(round(30000 * math.sin(2 * math.pi * 50 * t + 0.3)))
        trip = 1 if i >= n // 2 else 0
        out += struct.pack("<IIhhhH", i + 1, int(round(t * 1e6)), ia, ib, va, trip)
    return bytes(out)


README = b"mmsanalyze demo IED file store\r\nCOMTRADE/ holds one disturbance record.\r\n"
EVENTS_LOG = b"".join(b"2024-01-01T00:00:%02d.000Z event %d: breaker %s\n" % (i, i, b"open" if i % 2 else b"close")
                      for i in range(40))
UPLOAD = (b"<?xml version=\"1.0\"?>\n<Settings ied=\"DEMO\">\n"
          + b"".join(b"  <Set name=\"p%02d\" value=\"%d\"/>\n" % (i, i * 7) for i in range(30))
          + b"</Settings>\n")


def make_server_files(root) -> Path:
    root = Path(root)
    (root / "COMTRADE").mkdir(parents=True, exist_ok=True)
    (root / "LOG").mkdir(exist_ok=True)
    (root / "COMTRADE" / "REC_0001.cfg").write_bytes(COMTRADE_CFG.encode())
    (root / "COMTRADE" / "REC_0001.dat").write_bytes(comtrade_dat())
    (root / "readme.txt").write_bytes(README)
    (root / "LOG" / "events.log").write_bytes(EVENTS_LOG)
    (root / "obsolete.tmp").write_bytes(b"to be deleted\n")
    return root


def make_client_files(root) -> Path:
    root = Path(root)
    (root / "upload").mkdir(parents=True, exist_ok=True)
    (root / "upload" / "settings_new.xml").write_bytes(UPLOAD)
    return root
