"""A real TLS session (Python's ssl = OpenSSL on both ends) written as a pcap on TCP 3782.

The client and server talk through memory BIOs (nothing is sent on any network);
each flight of TLS records becomes one TCP segment of a scapy-built conversation
with handshake and FIN, so tshark and mmsanalyze read the very bytes OpenSSL made.
The server certificate is a fresh self-signed one made by the ``openssl`` CLI.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

CLIENT = ("10.61.0.10", 50123)
SERVER = ("10.61.0.2", 3782)
SUBJECT = "/CN=IED7.station.example/O=Example Utility"


def available() -> bool:
    return shutil.which("openssl") is not None


def make_cert(outdir) -> tuple[str, str]:
    out = Path(outdir)
    key, crt = out / "ied.key", out / "ied.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", SUBJECT, "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    return str(crt), str(key)


def _pump(src, dst_bio) -> bytes:
    data = src.read()
    if data:
        dst_bio.write(data)
    return data


def tls_flights(cert, key, version) -> list[tuple[int, bytes]]:
    """[(direction, bytes)] of a TLS handshake plus one request/response, direction 0 = client."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    for ctx in (sctx, cctx):
        ctx.minimum_version = ctx.maximum_version = version
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = cctx.wrap_bio(c_in, c_out, server_side=False, server_hostname="ied7.station.example")
    server = sctx.wrap_bio(s_in, s_out, server_side=True)
    flights = []
    c_done = s_done = False
    for _ in range(20):
        if not c_done:
            try:
                client.do_handshake()
                c_done = True
            except ssl.SSLWantReadError:
                pass
        d = _pump(c_out, s_in)
        if d:
            flights.append((0, d))
        if not s_done:
            try:
                server.do_handshake()
                s_done = True
            except ssl.SSLWantReadError:
                pass
        d = _pump(s_out, c_in)
        if d:
            flights.append((1, d))
        if c_done and s_done:
            break
    client.write(b"\x03\x00\x00\x16\x11\xe0\x00\x00\x00\x01\x00\xc0\x01\x0d\xc2\x02\x00\x01\xc1\x02\x00\x01")
    flights.append((0, _pump(c_out, s_in)))
    server.read(1024)
    server.write(b"\x03\x00\x00\x0b\x06\xd0\x00\x01\x00\x01\x00")
    flights.append((1, _pump(s_out, c_in)))
    return [(d, b) for d, b in flights if b]


def write_pcap(path, flights, client=CLIENT, server=SERVER) -> list[int]:
    """The conversation as a pcap; returns the frame number of each flight."""
    from scapy.all import IP, TCP, Ether, wrpcap
    eth = {0: Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:02"),
           1: Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:0a")}
    ends = {0: (client, server), 1: (server, client)}
    seq = {0: 1000, 1: 5000}
    pkts = []
    t = 1_700_000_000.0

    def add(d, flags, payload=b""):
        nonlocal t
        (sa, sp), (da, dp) = ends[d]
        p = eth[d] / IP(src=sa, dst=da) / TCP(sport=sp, dport=dp, flags=flags, seq=seq[d],
                                             ack=seq[1 - d] if "A" in flags else 0) / payload
        p.time = t
        t += 0.001
        pkts.append(p)
        seq[d] += len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        return len(pkts)

    add(0, "S")
    add(1, "SA")
    add(0, "A")
    frames = [add(d, "PA", b) for d, b in flights]
    add(0, "FA")
    add(1, "FA")
    add(0, "A")
    wrpcap(str(path), pkts)
    return frames
