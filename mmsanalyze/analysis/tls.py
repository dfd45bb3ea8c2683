"""TCP connections outside the analysed ISO-on-TCP ports: MMS over TLS and stray ISO-TSAP.

The pipeline hands every TCP segment of a port it does not reassemble to
:meth:`TcpWatcher.add` (when one is attached).  The watcher keeps a little state
for two kinds of connection only:

* **TLS on TCP 3782** (IEC 62351-4: MMS secured by TLS, the "secure ISO-on-TCP"
  port of RFC 2126 / IEC 62351-3).  The first :data:`MAX_HANDSHAKE_OCTETS` of each
  direction are parsed as TLS records (RFC 5246 6.2, RFC 8446 5.1): the ClientHello
  (legacy version, supported_versions, server_name), the ServerHello (negotiated
  version and cipher suite) and, while the handshake is still in clear (TLS <= 1.2),
  the subject and issuer of the server's first certificate.  A connection on 3782
  whose first octets are a TPKT instead is ISO/MMS in clear on the TLS port.
* **ISO-TSAP on another port**: a connection whose first client payload is a TPKT
  carrying a COTP Connection Request (RFC 1006 + ISO 8073) -- MMS, ICCP/TASE.2 or
  another OSI application on a port the user did not name with ``--port``.

Segments are taken in arrival order (no reordering: a handshake that arrives out
of order is reported as not recognised).  Memory is bounded by
:data:`MAX_FLOWS` connections of interest and :data:`MAX_HANDSHAKE_OCTETS` per
direction.  Nothing here raises on bad input.
"""

from __future__ import annotations

__all__ = ["TcpWatcher", "TLS_PORT", "MAX_FLOWS", "MAX_HANDSHAKE_OCTETS", "TLS_VERSIONS",
           "FLOW_COLUMNS", "parse_tls_handshake", "x509_names"]

#: IEC 62351-4: ISO-on-TCP secured by TLS (IANA port 3782, "secure ISO TP0 port").
TLS_PORT = 3782
#: Connections of interest kept (TLS on 3782 and ISO-TSAP elsewhere); later ones are only counted.
MAX_FLOWS = 4096
#: Octets of each direction kept for the TLS handshake (ClientHello, ServerHello, Certificate).
MAX_HANDSHAKE_OCTETS = 32 * 1024
#: Streams remembered as "not of interest" before the watcher stops looking at new ones.
MAX_IGNORED = 1 << 16

TLS_VERSIONS = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2",
                0x0304: "TLS 1.3"}
_X509_ATTRS = {"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
               "2.5.4.11": "OU", "2.5.4.5": "serialNumber", "1.2.840.113549.1.9.1": "emailAddress"}

FLOW_COLUMNS = {
    "stream": ("Int64", "TCP stream (tshark's tcp.stream)"),
    "client": ("string", "client 'addr:port'"),
    "server": ("string", "server 'addr:port'"),
    "kind": ("string", "tls (TLS records on 3782), iso-clear (TPKT on 3782), iso-tsap (TPKT+COTP CR on another port), unknown"),
    "first_frame": ("Int64", "first frame of the connection seen by the watcher"),
    "first_time": ("float64", "its time, epoch seconds"),
    "frames": ("Int64", "frames of the connection"),
    "bytes": ("Int64", "TCP payload octets, both directions"),
    "client_hello_frame": ("Int64", "frame of the ClientHello"),
    "client_versions": ("object", "versions the client offers (supported_versions, else the legacy version)"),
    "server_name": ("string", "server_name (SNI) of the ClientHello"),
    "version": ("string", "negotiated TLS version (ServerHello)"),
    "cipher_suite": ("string", "negotiated cipher suite, hex (e.g. 0xc02f)"),
    "server_hello_frame": ("Int64", "frame of the ServerHello"),
    "cert_subject": ("string", "subject of the server's first certificate (TLS <= 1.2 only)"),
    "cert_issuer": ("string", "issuer of that certificate"),
    "cert_frame": ("Int64", "frame of the Certificate message"),
}


class _Flow:
    __slots__ = ("stream", "client", "server", "kind", "first_frame", "first_time", "frames", "bytes",
                 "buf", "done", "info")

    def __init__(self, stream, client, server, frame, ts):
        self.stream, self.client, self.server = stream, client, server
        self.kind = None
        self.first_frame, self.first_time = frame, ts
        self.frames = self.bytes = 0
        self.buf = [bytearray(), bytearray()]
        self.done = [False, False]
        self.info: dict = {}


class TcpWatcher:
    """Watches TCP connections on ports the pipeline does not reassemble (see module doc)."""

    def __init__(self, tls_port: int = TLS_PORT):
        self.tls_port = tls_port
        self.flows: dict[int, _Flow] = {}
        self.ignored: set = set()
        self.overflow = 0                 # connections of interest not kept (MAX_FLOWS)

    def add(self, frame: int, ts: float, stream: int, direction: int, client, server, payload) -> None:
        """One TCP segment of ``stream`` (``direction`` 0 = from ``client``); ``payload`` may be empty."""
        f = self.flows.get(stream)
        if f is None:
            if stream in self.ignored:
                return
            tls = server[1] == self.tls_port or client[1] == self.tls_port
            if not tls:
                if not payload:
                    return
                if not _cotp_cr(payload):
                    if len(self.ignored) < MAX_IGNORED:
                        self.ignored.add(stream)
                    return
            if len(self.flows) >= MAX_FLOWS:
                self.overflow += 1
                if len(self.ignored) < MAX_IGNORED:
                    self.ignored.add(stream)
                return
            if not tls and direction == 1:       # the CR came from the side the table calls server
                client, server = server, client
                direction = 0
                f = _Flow(stream, client, server, frame, ts)
                f.info["swapped"] = True
            else:
                f = _Flow(stream, client, server, frame, ts)
            f.kind = None if tls else "iso-tsap"
            self.flows[stream] = f
        elif f.info.get("swapped"):
            direction ^= 1
        f.frames += 1
        if not payload:
            return
        f.bytes += len(payload)
        if f.kind == "iso-tsap" or f.done[direction]:
            return
        if f.kind is None:                      # first payload on 3782 decides
            if payload[0] == 0x03 and len(payload) > 1 and payload[1] == 0x00:
                f.kind = "iso-clear"
                f.done = [True, True]
                return
            f.kind = "tls" if payload[0] in (20, 21, 22, 23) else "unknown"
            if f.kind == "unknown":
                f.done = [True, True]
                return
        b = f.buf[direction]
        b += payload[:MAX_HANDSHAKE_OCTETS - len(b)]
        try:
            finished = parse_tls_handshake(bytes(b), direction, frame, f.info)
        except (IndexError, ValueError):
            finished = True
        if finished or len(b) >= MAX_HANDSHAKE_OCTETS:
            f.done[direction] = True
            f.buf[direction] = bytearray()

    def table(self):
        """One row per watched connection (columns :data:`FLOW_COLUMNS`)."""
        from ._table import build, endpoint
        cols = {k: [] for k in FLOW_COLUMNS}
        for s in sorted(self.flows):
            f = self.flows[s]
            i = f.info
            vals = {"stream": f.stream, "client": endpoint(f.client), "server": endpoint(f.server),
                    "kind": f.kind or "unknown", "first_frame": f.first_frame, "first_time": f.first_time,
                    "frames": f.frames, "bytes": f.bytes,
                    "client_hello_frame": i.get("client_hello_frame"),
                    "client_versions": i.get("client_versions"), "server_name": i.get("server_name"),
                    "version": i.get("version"), "cipher_suite": i.get("cipher_suite"),
                    "server_hello_frame": i.get("server_hello_frame"),
                    "cert_subject": i.get("cert_subject"), "cert_issuer": i.get("cert_issuer"),
                    "cert_frame": i.get("cert_frame")}
            for k in FLOW_COLUMNS:
                cols[k].append(vals[k])
        return build(FLOW_COLUMNS, cols)


def _cotp_cr(p) -> bool:
    """TPKT (version 3, reserved 0) whose COTP TPDU is a Connection Request (0xE0)."""
    return len(p) >= 7 and p[0] == 0x03 and p[1] == 0x00 and (p[2] << 8 | p[3]) >= 7 \
        and p[4] >= 6 and p[5] & 0xF0 == 0xE0


def parse_tls_handshake(b: bytes, direction: int, frame: int, info: dict) -> bool:
    """Read the handshake messages in the TLS records of ``b`` into ``info``.

    Returns True when nothing more can be learned from this direction (a
    ChangeCipherSpec or application data was reached, or the hello and certificate
    are in).  Messages split over records are joined; a record not yet complete
    leaves the rest for the next call.
    """
    hs = bytearray()
    pos = 0
    end_seen = False
    while pos + 5 <= len(b):
        ctype, length = b[pos], b[pos + 3] << 8 | b[pos + 4]
        if ctype not in (20, 21, 22, 23):
            return True
        if pos + 5 + length > len(b):
            break
        if ctype == 22:
            hs += b[pos + 5:pos + 5 + length]
        else:
            end_seen = True            # ChangeCipherSpec / alert / application data: encrypted from here
            break
        pos += 5 + length
    q = 0
    while q + 4 <= len(hs):
        mtype, mlen = hs[q], int.from_bytes(hs[q + 1:q + 4], "big")
        if q + 4 + mlen > len(hs):
            break
        body = bytes(hs[q + 4:q + 4 + mlen])
        if mtype == 1 and direction == 0 and "client_hello_frame" not in info:
            _client_hello(body, info)
            info["client_hello_frame"] = frame
        elif mtype == 2 and direction == 1 and "server_hello_frame" not in info:
            _server_hello(body, info)
            info["server_hello_frame"] = frame
            if info.get("version") == "TLS 1.3":
                return True            # everything after the ServerHello is encrypted
        elif mtype == 11 and direction == 1 and "cert_frame" not in info:
            _certificate(body, info)
            info["cert_frame"] = frame
            return True
        q += 4 + mlen
    return end_seen


def _version(v: int) -> str:
    return TLS_VERSIONS.get(v, f"0x{v:04x}")


def _extensions(body: bytes, p: int):
    if p + 2 > len(body):
        return
    end = min(len(body), p + 2 + (body[p] << 8 | body[p + 1]))
    p += 2
    while p + 4 <= end:
        et, el = body[p] << 8 | body[p + 1], body[p + 2] << 8 | body[p + 3]
        yield et, body[p + 4:p + 4 + el]
        p += 4 + el


def _client_hello(body: bytes, info: dict) -> None:
    legacy = body[0] << 8 | body[1]
    p = 2 + 32
    p += 1 + body[p]                              # session id
    p += 2 + (body[p] << 8 | body[p + 1])         # cipher suites
    p += 1 + body[p]                              # compression methods
    versions = None
    for et, ev in _extensions(body, p):
        if et == 43 and ev:                       # supported_versions
            versions = [_version(ev[i] << 8 | ev[i + 1]) for i in range(1, min(len(ev) - 1, 1 + ev[0]), 2)
                        if not (ev[i] & 0x0F == 0x0A and ev[i] == ev[i + 1])]   # skip GREASE
        elif et == 0 and len(ev) > 5 and ev[2] == 0:  # server_name, host_name
            n = ev[3] << 8 | ev[4]
            info["server_name"] = ev[5:5 + n].decode("ascii", "replace")
    info["client_versions"] = versions or [_version(legacy)]


def _server_hello(body: bytes, info: dict) -> None:
    version = body[0] << 8 | body[1]
    p = 2 + 32
    p += 1 + body[p]
    info["cipher_suite"] = f"0x{body[p] << 8 | body[p + 1]:04x}"
    p += 3
    for et, ev in _extensions(body, p):
        if et == 43 and len(ev) >= 2:
            version = ev[0] << 8 | ev[1]
    info["version"] = _version(version)


def _certificate(body: bytes, info: dict) -> None:
    # TLS 1.2: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>
    if len(body) < 6:
        return
    n = int.from_bytes(body[3:6], "big")
    der = body[6:6 + n]
    subject, issuer = x509_names(der)
    info["cert_subject"], info["cert_issuer"] = subject, issuer


# -- a minimal DER walk for the X.509 names (RFC 5280 4.1) ---------------------------

def _tlv(b: bytes, p: int, end: int):
    tag = b[p]
    ln = b[p + 1]
    p += 2
    if ln & 0x80:
        k = ln & 0x7F
        if k == 0 or k > 4:
            raise ValueError("bad DER length")
        ln = int.from_bytes(b[p:p + k], "big")
        p += k
    if p + ln > end:
        raise ValueError("DER value overruns")
    return tag, p, p + ln


def _oid(v: bytes) -> str:
    if not v:
        return ""
    parts = [v[0] // 40, v[0] % 40] if v[0] < 80 else [2, v[0] - 80]
    n = 0
    for x in v[1:]:
        n = n << 7 | (x & 0x7F)
        if not x & 0x80:
            parts.append(n)
            n = 0
    return ".".join(map(str, parts))


def _name(b: bytes, s: int, e: int) -> str:
    out = []
    p = s
    while p < e:
        _, rs, re_ = _tlv(b, p, e)            # SET
        q = rs
        while q < re_:
            _, as_, ae = _tlv(b, q, re_)      # SEQUENCE {type, value}
            _, os_, oe = _tlv(b, as_, ae)
            _, vs, ve = _tlv(b, oe, ae)
            key = _X509_ATTRS.get(_oid(b[os_:oe]), _oid(b[os_:oe]))
            out.append(f"{key}={b[vs:ve].decode('utf-8', 'replace')}")
            q = ae
        p = re_
    return ", ".join(out)


def x509_names(der: bytes) -> tuple:
    """(subject, issuer) of a DER certificate as 'CN=..., O=...' text; (None, None) if unreadable."""
    try:
        _, cs, ce = _tlv(der, 0, len(der))           # Certificate
        _, ts, te = _tlv(der, cs, ce)                # tbsCertificate
        p = ts
        tag, s, e = _tlv(der, p, te)
        if tag == 0xA0:                              # [0] version
            p = e
        fields = []
        while p < te and len(fields) < 5:            # serial, signature, issuer, validity, subject
            tag, s, e = _tlv(der, p, te)
            fields.append((s, e))
            p = e
        if len(fields) < 5:
            return None, None
        return _name(der, *fields[4]), _name(der, *fields[2])
    except (IndexError, ValueError):
        return None, None
