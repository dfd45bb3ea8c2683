"""Security posture of a station from its traffic: communication matrix and findings.

Built only from the other tables (associations, transactions, controls, GOOSE/SV
streams, the TCP watcher of :mod:`mmsanalyze.analysis.tls`), so it adds no decoding.
IEC 61850 / IEC 62351 guidance it measures the capture against: TCP 102 only between
known SCADA and IED addresses, never from public networks; IEC 62351-4 (TLS on TCP
3782, ACSE authentication) where possible; IEC 62351-6 / 61850-90-5 authentication of
GOOSE, SV, R-GOOSE and R-SV; controls and configuration changes only from expected,
authenticated clients.

Findings have a ``severity`` (``info`` < ``low`` < ``medium`` < ``high`` <
``critical``), a ``group`` (``exposure``, ``authentication``, ``operations``,
``process-bus``), a registered ``code`` (:data:`CODES`), a ``subject`` (client ->
server, or a source MAC), a message and the evidence ``frames``.  ``info`` findings
are posture facts (an association without authentication that only reads, a GOOSE
publisher without signature); anything from ``low`` up is a flag.

Inputs beyond the capture (all optional):

* ``allow``: the expected matrix, :class:`AllowRule` rows (``--allow FILE``, the CSV
  that ``--export-allowlist csv`` writes);
* ``allowed_addresses``: ``{ip: name}`` of the addresses declared for the station --
  the hook for an SCL loader's ConnectedAP addresses (IED name per IP);
* ``ctl_models``: ``{control object: ctlModel}`` (e.g. from SCL), with objects as
  ``'LD/LN$CO$DO'`` or ``'LD/LN.DO'`` and ctlModel as its number (0..4) or name.

Passwords are never output whole: :func:`mask` keeps the first character.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from typing import NamedTuple

import pandas as pd

from ._table import build, columns_doc

__all__ = ["CODES", "SEVERITIES", "GROUPS", "FINDING_COLUMNS", "MATRIX_COLUMNS", "AllowRule",
           "security_tables", "read_allowlist", "parse_allowlist", "allowlist_csv", "allowlist_nft",
           "allowlist_iptables", "mask", "summary_facts", "MMS_PORTS", "MAX_EVIDENCE_FRAMES"]

SEVERITIES = ("info", "low", "medium", "high", "critical")
GROUPS = ("exposure", "authentication", "operations", "process-bus")
#: Ports where MMS is expected: ISO-on-TCP (RFC 1006) and its TLS-secured port (IEC 62351-4).
MMS_PORTS = (102, 3782)
TLS_PORT = 3782
#: Evidence frames kept per finding (the count column says how many there were).
MAX_EVIDENCE_FRAMES = 50

#: code -> (group, default severity, title).  Every finding code is registered here once.
CODES = {
    "exposure.public_address": ("exposure", "high", "MMS peer with a public (globally routable) address"),
    "exposure.not_allowlisted": ("exposure", "high", "MMS flow not in the allowlist"),
    "exposure.unknown_address": ("exposure", "medium", "MMS peer not among the declared (SCL/allowed) addresses"),
    "exposure.nonstandard_port": ("exposure", "medium", "MMS / ISO-on-TCP on a port other than 102/3782"),
    "exposure.iso_tsap_port": ("exposure", "medium", "ISO-TSAP (TPKT + COTP CR: MMS, ICCP ...) on an unexpected TCP port"),
    "exposure.clear_on_tls_port": ("exposure", "high", "ISO/MMS in clear on the TLS port 3782"),
    "authentication.password_in_clear": ("authentication", "high", "ACSE password sent in clear"),
    "authentication.none": ("authentication", "info", "MMS association without ACSE authentication"),
    "authentication.rejected": ("authentication", "medium", "association refused by the server"),
    "authentication.clear_mms": ("authentication", "info", "MMS in clear (no IEC 62351-4 TLS)"),
    "authentication.tls": ("authentication", "info", "TLS on TCP 3782 (IEC 62351-4)"),
    "authentication.tls_weak": ("authentication", "medium", "TLS version older than 1.2 on TCP 3782"),
    "operations.write_unauthenticated": ("operations", "medium", "writes from an association without authentication"),
    "operations.control_unauthenticated": ("operations", "high", "controls from an association without authentication"),
    "operations.direct_operate_sbo": ("operations", "high", "operate without select on a select-before-operate object"),
    "operations.file_change": ("operations", "medium", "file deleted, renamed or pushed into the server (obtainFile)"),
    "operations.domain_change": ("operations", "high", "domain download / load / store / delete"),
    "operations.program_invocation": ("operations", "high", "program invocation control (create/delete/start/stop/resume/reset/kill)"),
    "operations.setting_change": ("operations", "medium", "setting group change or setting edit (SGCB, FC SE)"),
    "operations.rcb_reconfiguration": ("operations", "info", "report control block reconfigured (DatSet, TrgOps, IntgPd ...)"),
    "operations.security_read": ("operations", "low", "read of a security-relevant object or configuration file"),
    "process-bus.goose_anomaly": ("process-bus", "high", "GOOSE replay / injection / poisoning anomaly"),
    "process-bus.goose_spoofed": ("process-bus", "high", "GOOSE control block published from a second MAC"),
    "process-bus.sv_anomaly": ("process-bus", "high", "SV injection / deletion anomaly"),
    "process-bus.sv_spoofed": ("process-bus", "high", "SV stream published from a second MAC"),
    "process-bus.goose_unauthenticated": ("process-bus", "info", "GOOSE without IEC 62351-6 authentication"),
    "process-bus.routable_no_hmac": ("process-bus", "medium", "R-GOOSE / R-SV without HMAC signature (IEC 61850-90-5)"),
}

FINDING_COLUMNS = {
    "severity": ("string", "info, low, medium, high or critical"),
    "group": ("string", "exposure, authentication, operations or process-bus"),
    "code": ("string", "finding code (mmsanalyze.analysis.security.CODES)"),
    "subject": ("string", "who: 'client -> server:port' of the flow, or the source MAC"),
    "stream": ("Int64", "TCP stream when the finding is about one connection"),
    "message": ("string", "what was seen (passwords masked)"),
    "count": ("Int64", "occurrences (PDUs, messages, connections)"),
    "first_frame": ("Int64", "first evidence frame"),
    "frames": ("object", "evidence frame numbers (at most MAX_EVIDENCE_FRAMES)"),
}

MATRIX_COLUMNS = {
    "client": ("string", "client address (the side that opened the connection)"),
    "server": ("string", "server address"),
    "port": ("Int64", "server TCP port"),
    "transport": ("string", "mms (MMS PDUs seen), iso-tcp (ISO stack, no MMS PDU), tls (TLS on 3782), iso-tsap (TPKT+COTP on a port not analysed)"),
    "connections": ("Int64", "TCP connections (associations)"),
    "streams": ("object", "their TCP stream numbers"),
    "services": ("object", "confirmed services the client requested"),
    "requests": ("Int64", "confirmed requests (both directions)"),
    "bytes": ("Int64", "MMS PDU octets (mms), TCP payload octets (tls, iso-tsap)"),
    "auth": ("object", "ACSE authentication seen: none, password, certificate-based, <OID>, unknown (association not captured)"),
    "password_in_clear": ("bool", "a password travelled in clear on this flow"),
    "tls_version": ("string", "negotiated TLS version (tls transport)"),
    "first_frame": ("Int64", "first frame of the first connection"),
    "first_time": ("float64", "its time, epoch seconds"),
    "last_time": ("float64", "last frame time of the flow, epoch seconds"),
    "public": ("bool", "client or server has a globally routable address"),
    "allowed": ("boolean", "the flow matches the allowlist (NA when none was given)"),
    "ied": ("string", "server name: from the declared addresses, else the logical device (MMS domain) used most"),
}


class AllowRule(NamedTuple):
    """One expected flow: client and server networks (an address is a /32 or /128), server port."""

    client: object        # ipaddress network
    server: object
    port: int | None      # None: any port
    comment: str = ""

    def matches(self, client: str, server: str, port) -> bool:
        try:
            c, s = ipaddress.ip_address(client), ipaddress.ip_address(server)
        except ValueError:
            return False
        return (c.version == self.client.version and c in self.client and s.version == self.server.version
                and s in self.server and (self.port is None or self.port == port))


# -- small helpers ---------------------------------------------------------------------

def mask(secret) -> str:
    """A password as shown in findings: first character, then one '*' per other character."""
    s = "" if secret is None else str(secret)
    return (s[:1] + "*" * (len(s) - 1)) if len(s) > 1 else "*" * len(s)


def _split(ep):
    """'10.0.0.1:102' / '[::1]:102' -> ('10.0.0.1', 102)."""
    if ep is None or ep is pd.NA:
        return None, None
    ep = str(ep)
    host, _, port = ep.rpartition(":")
    host = host[1:-1] if host.startswith("[") else host
    try:
        return host, int(port)
    except ValueError:
        return host, None


def _public(addr) -> bool:
    try:
        return ipaddress.ip_address(addr).is_global
    except ValueError:
        return False


def _ints(v):
    return [int(x) for x in v if x is not None and x == x]


def _is(v, text) -> bool:
    """NA-safe ``v == text``."""
    return isinstance(v, str) and v == text


def _int(v):
    """An int, or None for NA / NaN / None."""
    try:
        return None if v is None or v is pd.NA or v != v else int(v)
    except (TypeError, ValueError):
        return None


def _flow_text(client, server, port) -> str:
    return f"{client} -> {server}:{port}"


class _Findings:
    def __init__(self):
        self.rows = []

    def add(self, code, subject, message, frames=(), stream=None, severity=None, count=None):
        group, sev, _title = CODES[code]
        fr = sorted(set(_ints(frames)))
        self.rows.append({"severity": severity or sev, "group": group, "code": code, "subject": subject,
                          "stream": stream, "message": message,
                          "count": len(fr) if count is None else count,
                          "first_frame": fr[0] if fr else None, "frames": fr[:MAX_EVIDENCE_FRAMES]})

    def table(self):
        rows = sorted(self.rows, key=lambda r: (-SEVERITIES.index(r["severity"]), GROUPS.index(r["group"]),
                                                r["first_frame"] if r["first_frame"] is not None else 1 << 62,
                                                r["code"]))
        return build(FINDING_COLUMNS, {k: [r[k] for r in rows] for k in FINDING_COLUMNS})


def _bump(sev: str) -> str:
    return SEVERITIES[min(SEVERITIES.index(sev) + 1, len(SEVERITIES) - 1)]


# -- IEC 61850 object classes -------------------------------------------------------------

_CO = re.compile(r"^(?P<obj>.+\$CO\$[^$]+)\$(?P<attr>SBOw|SBO|Oper|Cancel)(?:\$.*)?$")
_CF_CTLMODEL = re.compile(r"^(?P<ln>.+)\$CF\$(?P<do>[^$]+)\$ctlModel$")
_SGCB = re.compile(r"\$SP\$SGCB\$(ActSG|EditSG|CnfEdit)$|\$SE\$")
_RCB = re.compile(r"\$(RP|BR)\$[^$]+\$(DatSet|RptID|TrgOps|IntgPd|OptFlds|BufTm|ConfRev)$")
_SECURITY_NAME = re.compile(r"(?i)passw|pwd|secret|credential|privkey|private.?key|\bkeys?\b|\$key|cert|"
                            r"\bauth|\$auth|psk")
_CONFIG_FILE = re.compile(r"(?i)\.(cid|icd|scd|iid|sed|ssd|xml|cfg\.xml|ini|conf|config|json|pem|key|crt|der|p12|pfx)$")
def _security_name(var: str) -> bool:
    """A variable whose name speaks of passwords, keys, certificates or authentication --
    not its description / name-space attributes (FC DC, EX)."""
    item = var.split("/", 1)[-1]
    return "$DC$" not in item and "$EX$" not in item and bool(_SECURITY_NAME.search(item))


#: MMS services that change a domain (9506-2 clause 11) or a program invocation (clause 12).
_DOMAIN_SERVICES = {"initiateDownloadSequence", "downloadSegment", "terminateDownloadSequence",
                    "loadDomainContent", "storeDomainContent", "deleteDomain", "requestDomainDownload"}
_PROGRAM_SERVICES = {"createProgramInvocation", "deleteProgramInvocation", "start", "stop", "resume",
                     "reset", "kill", "alterProgramInvocationAttributes"}
_FILE_SERVICES = {"fileDelete", "fileRename", "obtainFile"}
_SBO_MODELS = {2, 4, "sbo-with-normal-security", "sbo-with-enhanced-security"}


def _norm_object(ref: str) -> str:
    """'LD/LN.DO' (IEC 61850 reading) -> 'LD/LN$CO$DO'; MMS names are kept."""
    if "$" in ref or "/" not in ref:
        return ref
    ld, rest = ref.split("/", 1)
    ln, _, do = rest.partition(".")
    return f"{ld}/{ln}$CO${do.replace('.', '$')}" if do else ref


# -- the tables -----------------------------------------------------------------------

def security_tables(cap, allow=None, allowed_addresses=None, ctl_models=None):
    """``(findings, matrix)`` DataFrames of a :class:`~mmsanalyze.api.Capture`.

    Args:
        cap: the capture.
        allow: iterable of :class:`AllowRule` (the expected matrix), or None.
        allowed_addresses: ``{ip: name}`` of the declared addresses (SCL ConnectedAP), or None.
        ctl_models: ``{control object: ctlModel}`` (SCL), or None.

    Findings columns:

    Matrix columns:
    """
    allow = list(allow) if allow is not None else None
    declared = {str(ipaddress.ip_address(k)): v for k, v in (allowed_addresses or {}).items()}
    F = _Findings()
    assoc = cap.associations()
    txns = cap.transactions()
    aarq, aare = _acse_units(cap.events)
    first_frames = _first_frames(cap)
    auth_by_stream = {}
    for r in assoc.itertuples(index=False):
        s = int(r.stream)
        if s in aarq:
            mech = r.acse_mechanism if isinstance(r.acse_mechanism, str) else None
            auth_by_stream[s] = mech or ("password" if bool(r.password_in_clear) else "none")
        else:
            auth_by_stream[s] = "unknown"
    matrix = _matrix(cap, assoc, txns, auth_by_stream, first_frames, allow, declared)

    _exposure(F, cap, matrix, assoc, first_frames, allow, declared)
    _authentication(F, cap, assoc, aarq, aare, auth_by_stream, first_frames)
    allowed_stream = {}
    for m in matrix.itertuples(index=False):
        for s in m.streams:
            allowed_stream[s] = m.allowed
    _operations(F, cap, txns, auth_by_stream, allowed_stream, ctl_models or {})
    _process_bus(F, cap)
    return F.table(), matrix


# -- ACSE units per stream ------------------------------------------------------------------

def _acse_units(events):
    aarq, aare = {}, {}
    for e in events:
        if e.layer == "acse":
            if e.name == "aarq" and e.stream not in aarq:
                aarq[e.stream] = e
            elif e.name == "aare" and e.stream not in aare:
                aare[e.stream] = e
    return aarq, aare


def _first_frames(cap) -> dict:
    out = {s: c.first_frame for s, c in cap.conns.items()}
    watcher = getattr(cap, "tcp_watcher", None)
    if watcher is not None:
        for s, f in watcher.flows.items():
            out.setdefault(s, f.first_frame)
    for r in cap.records:
        out.setdefault(r.stream, r.frame)
    return out


# -- matrix -----------------------------------------------------------------------------------

def _ied_names(txns) -> dict:
    """stream -> most used MMS domain (logical device) in the client's requests."""
    counts: dict = {}
    if len(txns):
        for s, obj in zip(txns["stream"], txns["object"]):
            if obj is None or obj is pd.NA or "/" not in str(obj) or s is pd.NA:
                continue
            d = str(obj).split("/", 1)[0]
            c = counts.setdefault(int(s), {})
            c[d] = c.get(d, 0) + 1
    return {s: max(c, key=lambda k: (c[k], k)) for s, c in counts.items()}


def _matrix(cap, assoc, txns, auth_by_stream, first_frames, allow, declared):
    flows: dict = {}
    lds = _ied_names(txns)
    services: dict = {}
    if len(txns):
        sel = txns[(txns["requester"] == "client").to_numpy(dtype=bool, na_value=False)]
        for s, svc in zip(sel["stream"], sel["service"]):
            if svc is not None and svc is not pd.NA:
                services.setdefault(int(s), set()).add(str(svc))

    def flow(client, server, port, transport):
        k = (client, server, port, transport)
        f = flows.get(k)
        if f is None:
            f = flows[k] = {"streams": [], "services": set(), "requests": 0, "bytes": 0, "auth": set(),
                            "password_in_clear": False, "tls_version": None, "first_frame": None,
                            "first_time": None, "last_time": None, "ld": {}}
        return f

    def seen(f, frame, t0, t1):
        if frame is not None and (f["first_frame"] is None or frame < f["first_frame"]):
            f["first_frame"], f["first_time"] = frame, t0
        if t1 is not None and t1 == t1 and (f["last_time"] is None or t1 > f["last_time"]):
            f["last_time"] = t1

    for r in assoc.itertuples(index=False):
        s = int(r.stream)
        c, _ = _split(r.client)
        sv, port = _split(r.server)
        if c is None or sv is None:
            continue
        transport = "mms" if (r.pdus_client or 0) + (r.pdus_server or 0) else "iso-tcp"
        f = flow(c, sv, port, transport)
        f["streams"].append(s)
        f["services"] |= services.get(s, set())
        f["requests"] += int(r.requests or 0)
        f["bytes"] += int(r.bytes_client or 0) + int(r.bytes_server or 0)
        f["auth"].add(auth_by_stream.get(s, "unknown"))
        f["password_in_clear"] |= bool(r.password_in_clear)
        seen(f, first_frames.get(s), r.start, r.end_time)
        if s in lds:
            f["ld"][lds[s]] = f["ld"].get(lds[s], 0) + 1
    watcher = getattr(cap, "tcp_watcher", None)
    wt = watcher.table() if watcher is not None else None
    if wt is not None:
        for r in wt.itertuples(index=False):
            if r.kind not in ("tls", "iso-clear", "iso-tsap"):
                continue
            c, _ = _split(r.client)
            sv, port = _split(r.server)
            transport = {"tls": "tls", "iso-clear": "iso-tcp", "iso-tsap": "iso-tsap"}[r.kind]
            f = flow(c, sv, port, transport)
            f["streams"].append(int(r.stream))
            f["bytes"] += int(r.bytes)
            if r.kind == "tls" and isinstance(r.version, str):
                f["tls_version"] = r.version
            seen(f, int(r.first_frame), r.first_time, None)
    cols = {k: [] for k in MATRIX_COLUMNS}
    for (c, sv, port, transport), f in sorted(flows.items(), key=lambda kv: (kv[1]["first_frame"] or 0)):
        ied = declared.get(sv)
        if ied is None and f["ld"]:
            ied = max(f["ld"], key=lambda k: (f["ld"][k], k))
        allowed = None if allow is None else any(a.matches(c, sv, port) for a in allow)
        vals = {"client": c, "server": sv, "port": port, "transport": transport,
                "connections": len(f["streams"]), "streams": sorted(f["streams"]),
                "services": sorted(f["services"]), "requests": f["requests"], "bytes": f["bytes"],
                "auth": sorted(f["auth"]), "password_in_clear": f["password_in_clear"],
                "tls_version": f["tls_version"], "first_frame": f["first_frame"],
                "first_time": f["first_time"], "last_time": f["last_time"],
                "public": _public(c) or _public(sv), "allowed": allowed, "ied": ied}
        for k in MATRIX_COLUMNS:
            cols[k].append(vals[k])
    return build(MATRIX_COLUMNS, cols)


# -- exposure ------------------------------------------------------------------------------

def _exposure(F, cap, matrix, assoc, first_frames, allow, declared):
    for m in matrix.itertuples(index=False):
        subj = _flow_text(m.client, m.server, m.port)
        frames = [first_frames.get(s, m.first_frame) for s in m.streams]
        if m.public:
            who = [a for a in (m.client, m.server) if _public(a)]
            F.add("exposure.public_address", subj,
                  f"{' and '.join(who)} {'is a' if len(who) == 1 else 'are'} public (globally routable) "
                  f"address{'es' if len(who) > 1 else ''}: MMS must stay inside the station network "
                  f"({m.connections} connection{'s' if m.connections != 1 else ''})", frames,
                  count=m.connections)
        if allow is not None and not m.allowed:
            F.add("exposure.not_allowlisted", subj,
                  f"{m.transport} flow not in the allowlist ({m.connections} connection"
                  f"{'s' if m.connections != 1 else ''}; services: {', '.join(m.services) or 'none'})",
                  frames, count=m.connections)
        if declared:
            unknown = [a for a in (m.client, m.server) if a not in declared]
            if unknown:
                F.add("exposure.unknown_address", subj,
                      f"{', '.join(unknown)} not among the declared station addresses", frames,
                      count=m.connections)
        if m.transport in ("mms", "iso-tcp") and m.port not in MMS_PORTS:
            F.add("exposure.nonstandard_port", subj,
                  f"ISO-on-TCP{' with MMS' if m.transport == 'mms' else ''} on TCP {m.port} "
                  f"(expected 102, or 3782 with TLS)", frames, count=m.connections)
        if m.transport in ("mms", "iso-tcp") and m.port == TLS_PORT:
            F.add("exposure.clear_on_tls_port", subj,
                  "ISO/MMS in clear on TCP 3782, the IEC 62351-4 TLS port", frames, count=m.connections)
        if m.transport == "iso-tsap":
            F.add("exposure.iso_tsap_port", subj,
                  f"TPKT + COTP connection request on TCP {m.port} (MMS, ICCP/TASE.2 or another OSI "
                  f"application); decode it with --port {m.port}", frames, count=m.connections)


# -- authentication and encryption ----------------------------------------------------------

def _authentication(F, cap, assoc, aarq, aare, auth_by_stream, first_frames):
    by_flow_none: dict = {}
    clear = []
    for r in assoc.itertuples(index=False):
        s = int(r.stream)
        c, _ = _split(r.client)
        sv, port = _split(r.server)
        subj = _flow_text(c, sv, port)
        q = aarq.get(s)
        if q is not None and bool(r.password_in_clear):
            pw = q.detail.get("calling-authentication-value")
            F.add("authentication.password_in_clear", subj,
                  f"ACSE {q.detail.get('mechanism') or 'authentication'} value sent in clear "
                  f"({q.detail.get('authentication-kind')}): {mask(pw)}"
                  + (f"; calling AP title {r.calling_ap_title}" if isinstance(r.calling_ap_title, str) else ""),
                  [q.frame], stream=s)
        if q is not None and auth_by_stream.get(s) == "none":
            by_flow_none.setdefault(subj, []).append(q.frame)
        a = aare.get(s)
        if (a is not None and a.detail.get("result") not in (None, "accepted")) or _is(r.initiate, "refused"):
            diag = (a.detail.get("result-source-diagnostic") or {}) if a is not None else {}
            why = next(iter(diag.values()), None) if isinstance(diag, dict) else None
            F.add("authentication.rejected", subj,
                  f"association refused ({a.detail.get('result') if a is not None else 'initiate error'}"
                  + (f": {why}" if why else "") + ")",
                  [a.frame] if a is not None else [first_frames.get(s)], stream=s,
                  severity="high" if why in ("authentication-failure", "authentication-required",
                                             "authentication-mechanism-name-not-recognized") else None)
        elif q is not None and a is None and _is(r.end_by, "server") and isinstance(r.end, str) \
                and r.end in ("fin", "rst", "abort"):
            F.add("authentication.rejected", subj,
                  f"the server ended the connection ({r.end}) without answering the AARQ"
                  + (f" that carried a {q.detail.get('mechanism')}" if q.detail.get("mechanism") else "")
                  + " (association refused, e.g. authentication failure)",
                  [q.frame, r.end_frame], stream=s)
        if r.pdus_client or r.pdus_server:
            clear.append(first_frames.get(s))
    for subj, frames in by_flow_none.items():
        F.add("authentication.none", subj,
              f"{len(frames)} association{'s' if len(frames) != 1 else ''} without ACSE authentication "
              "(AARQ without mechanism or value)", frames)
    if clear:
        F.add("authentication.clear_mms", "all MMS associations",
              f"{len(clear)} MMS association{'s' if len(clear) != 1 else ''} in clear (no IEC 62351-4 TLS)",
              clear)
    watcher = getattr(cap, "tcp_watcher", None)
    wt = watcher.table() if watcher is not None else None
    if wt is None:
        return
    for r in wt.itertuples(index=False):
        if r.kind != "tls":
            continue
        c, _ = _split(r.client)
        sv, port = _split(r.server)
        subj = _flow_text(c, sv, port)
        ver = r.version if isinstance(r.version, str) else None
        parts = [f"offered {', '.join(r.client_versions)}" if r.client_versions else None,
                 f"negotiated {ver}" if ver else "handshake not seen",
                 f"cipher suite {r.cipher_suite}" if isinstance(r.cipher_suite, str) else None,
                 f"SNI {r.server_name}" if isinstance(r.server_name, str) else None,
                 f"certificate subject '{r.cert_subject}'" if isinstance(r.cert_subject, str) else
                 ("certificate encrypted (TLS 1.3)" if ver == "TLS 1.3" else None),
                 f"issuer '{r.cert_issuer}'" if isinstance(r.cert_issuer, str) else None]
        frames = [x for x in (r.client_hello_frame, r.server_hello_frame, r.cert_frame) if x is not pd.NA]
        frames = frames or [r.first_frame]
        F.add("authentication.tls", subj, "TLS: " + "; ".join(p for p in parts if p), frames,
              stream=int(r.stream), count=1)
        if ver in ("SSL 3.0", "TLS 1.0", "TLS 1.1"):
            F.add("authentication.tls_weak", subj, f"{ver} negotiated (IEC 62351-3 asks for TLS 1.2 or later)",
                  [r.server_hello_frame], stream=int(r.stream))


# -- dangerous operations ----------------------------------------------------------------------

def _ctl_model_reads(cap, txns) -> list:
    """[(frame, object, ctlModel)] of answered reads of '<LN>$CF$<DO>$ctlModel'."""
    out = []
    if not len(txns):
        return out
    want = {}
    for t in txns.itertuples(index=False):
        if not (_is(t.service, "read") and _is(t.status, "ok") and isinstance(t.variables, list)
                and len(t.variables) == 1 and _int(t.response_frame) is not None and _int(t.invoke_id) is not None):
            continue
        m = _CF_CTLMODEL.match(t.variables[0])
        if m:
            want[(int(t.stream), int(t.response_frame), int(t.invoke_id))] = f"{m['ln']}$CO${m['do']}"
    if not want:
        return out
    for r in cap.records:
        obj = want.get((r.stream, r.frame, r.invoke_id))
        if obj is None or r.pdu != "confirmed-ResponsePDU":
            continue
        m = r.decoded()
        v = (m.access_results or [None])[0] if m is not None else None
        if isinstance(v, dict) and len(v) == 1:
            v = next(iter(v.values()))
        if isinstance(v, int):
            out.append((r.frame, obj, v))
    return out


def _operations(F, cap, txns, auth_by_stream, allowed_stream, ctl_models):
    def subj(t):
        return f"{_split(t.client)[0]} -> {t.server}"

    per: dict = {}              # (code, stream) -> [subject, frames, details]

    def note(code, t, detail, frame=None):
        k = (code, int(t.stream))
        e = per.setdefault(k, [subj(t), [], []])
        e[1].append(t.request_frame if frame is None else frame)
        if detail not in e[2]:
            e[2].append(detail)

    if len(txns):
        sel = txns[(txns["requester"] == "client").to_numpy(dtype=bool, na_value=False)]
        for t in sel.itertuples(index=False):
            if _int(t.request_frame) is None or _int(t.stream) is None:
                continue
            s = int(t.stream)
            svc = t.service if isinstance(t.service, str) else None
            vars_ = list(t.variables) if isinstance(t.variables, list) else []
            obj = str(t.object) if isinstance(t.object, str) else ""
            if svc == "write":
                ctl = [v for v in vars_ if _CO.match(v)]
                if auth_by_stream.get(s) == "none" and len(ctl) < len(vars_):
                    note("operations.write_unauthenticated", t, obj)
                if any(_SGCB.search(v) for v in vars_):
                    note("operations.setting_change", t, obj)
                if any(_RCB.search(v) for v in vars_):
                    note("operations.rcb_reconfiguration", t, obj)
            elif svc in _FILE_SERVICES:
                note("operations.file_change", t, f"{svc} {obj}")
            elif svc in _DOMAIN_SERVICES:
                note("operations.domain_change", t, f"{svc} {obj}".strip())
            elif svc in _PROGRAM_SERVICES:
                note("operations.program_invocation", t, f"{svc} {obj}".strip())
            elif svc == "read" and any(_security_name(v) for v in vars_):
                hits = [v for v in vars_ if _security_name(v)]
                note("operations.security_read", t, hits[0] + (f" (+{len(hits) - 1})" if len(hits) > 1 else ""))
            elif svc == "fileOpen" and _CONFIG_FILE.search(obj):
                note("operations.security_read", t, f"fileOpen {obj}")
    ctl = cap.controls()
    if len(ctl):
        reqs = ctl[ctl["action"].isin(["select", "select-with-value", "operate", "cancel"])]
        for t in reqs.itertuples(index=False):
            if _int(t.stream) is not None and auth_by_stream.get(int(t.stream)) == "none" and _int(t.frame) is not None:
                note("operations.control_unauthenticated", t, f"{t.action} {t.object}", t.frame)
    _direct_operate(F, cap, txns, ctl, ctl_models)
    for (code, s), (sj, frames, details) in sorted(per.items(), key=lambda kv: min(_ints(kv[1][1]) or [0])):
        sev = CODES[code][1]
        extra = ""
        if code not in ("operations.write_unauthenticated", "operations.control_unauthenticated",
                        "operations.security_read") and allowed_stream.get(s) is False:
            sev = _bump(sev if sev != "info" else "low")
            extra = " by a client not in the allowlist"
        shown = ", ".join(details[:5]) + (f" (+{len(details) - 5} more)" if len(details) > 5 else "")
        n = len(frames)
        F.add(code, sj, f"{n} request{'s' if n != 1 else ''}{extra}: {shown}", frames, stream=s, severity=sev,
              count=n)


def _direct_operate(F, cap, txns, ctl, ctl_models):
    sbo_known: dict = {}          # object -> how it became known as SBO
    for k, v in ctl_models.items():
        if v in _SBO_MODELS:
            sbo_known[_norm_object(k)] = "SCL ctlModel"
    names = {2: "sbo-with-normal-security", 4: "sbo-with-enhanced-security"}
    events = [(f, "ctlmodel", obj, v) for f, obj, v in _ctl_model_reads(cap, txns)]
    if len(ctl):
        for t in ctl.itertuples(index=False):
            if _int(t.frame) is not None and _int(t.stream) is not None and isinstance(t.object, str) \
                    and t.action in ("select", "select-with-value", "operate", "cancel"):
                events.append((int(t.frame), t.action, t.object, t))
    events.sort(key=lambda e: e[0])
    selected: dict = {}
    for frame, kind, obj, x in events:
        if kind == "ctlmodel":
            if x in _SBO_MODELS:
                sbo_known.setdefault(obj, f"ctlModel {names.get(x, x)} read in frame {frame}")
            continue
        key = (int(x.stream), obj)
        if kind in ("select", "select-with-value"):
            sbo_known.setdefault(obj, f"selected in frame {frame}")
            selected[key] = _is(x.result, "ok")
        elif kind == "cancel":
            selected[key] = False
        elif kind == "operate":
            if obj in sbo_known and not selected.get(key):
                src = "select-before-operate: " + sbo_known[obj]
                F.add("operations.direct_operate_sbo", f"{_split(x.client)[0]} -> {x.server}",
                      f"Operate of {obj} without a preceding select on this association ({src}); "
                      f"result {x.result}" + (f", {x.add_cause}" if isinstance(x.add_cause, str) else ""),
                      [frame], stream=int(x.stream))
            selected[key] = False


# -- process bus ---------------------------------------------------------------------------------

def _goose_evidence(rows) -> list:
    """Frames that break the publisher's monotonic (stNum, sqNum) order, with the frame each
    one collides with (the earlier copy of a repeated stNum/sqNum, or the message that
    introduced the newer state); when there are none, the frames of its state changes."""
    bad, events = set(), []
    newest = last_sq = None
    first_of: dict = {}           # (stNum, sqNum) -> first frame
    state_frame = None
    for frame, st, sq in rows:
        first_of.setdefault((st, sq), frame)
        if newest is None or st > newest:
            if newest is not None:
                events.append(frame)
            newest, last_sq, state_frame = st, sq, frame
        elif st < newest or sq <= last_sq:
            bad.add(frame)
            bad.add(first_of[(st, sq)] if st == newest and first_of[(st, sq)] != frame else state_frame)
        else:
            last_sq = sq
    return sorted(bad) or events


def _process_bus(F, cap):
    try:
        gt = cap.goose() if cap.goose_collector is not None else None
        gs = cap.goose_streams() if gt is not None and len(gt) else None
    except RuntimeError:
        gt = gs = None
    if gs is not None and len(gs):
        rows_of: dict = {}              # (src_mac, appid, gocb_ref) -> row positions in gt (one pass)
        for i, key in enumerate(zip(gt["src_mac"].tolist(), gt["appid"].tolist(), gt["gocb_ref"].tolist())):
            rows_of.setdefault(tuple(_key(v) for v in key), []).append(i)
        malformed = gt["malformed"].to_numpy(dtype=bool)

        def publisher(r, good_only):
            idx = rows_of.get((_key(r.src_mac), _key(r.appid), _key(r.gocb_ref)), [])
            if good_only:
                idx = [i for i in idx if not malformed[i]]
            return gt.iloc[idx]
        first = {}
        for r in gs.itertuples(index=False):
            k = (r.appid if r.appid is not pd.NA else None, r.gocb_ref)
            if k not in first or r.first_time < first[k]:
                first[k] = r.first_time
        for r in gs.itertuples(index=False):
            sub = publisher(r, True)
            k = (r.appid if r.appid is not pd.NA else None, r.gocb_ref)
            appid = f"0x{int(r.appid):04X}" if r.appid is not pd.NA else "?"
            if r.other_src_macs and r.first_time > first[k]:
                F.add("process-bus.goose_spoofed", str(r.src_mac),
                      f"{r.gocb_ref} (APPID {appid}) also published by {', '.join(r.other_src_macs)}, "
                      f"which was first; {len(sub)} messages from this MAC", sub["frame"].tolist(),
                      count=int(r.messages))
            elif r.suspicious:
                sub = sub[(sub["st_num"].notna() & sub["sq_num"].notna()).to_numpy(dtype=bool)]
                rows = zip(sub["frame"].tolist(), sub["st_num"].astype("int64").tolist(),
                           sub["sq_num"].astype("int64").tolist())
                ev = _goose_evidence(rows)
                F.add("process-bus.goose_anomaly", str(r.src_mac),
                      f"{r.gocb_ref} (APPID {appid}): {r.anomalies}", ev, count=len(ev))
        unsigned: dict = {}
        for r in gs.itertuples(index=False):
            sub = publisher(r, False)
            if not len(sub):
                continue
            signed = sub["security"].to_numpy(dtype=bool) | (sub["reserved2"].fillna(0).to_numpy() != 0)
            if not signed.any() and r.transport == "l2":
                e = unsigned.setdefault(str(r.src_mac), [[], 0])
                e[0].append(int(sub["frame"].iloc[0]))
                e[1] += 1
        for mac, (frames, n) in unsigned.items():
            F.add("process-bus.goose_unauthenticated", mac,
                  f"{n} GOOSE control block{'s' if n != 1 else ''} without IEC 62351-6 authentication "
                  "(no security field, reserved2 = 0)", frames, count=n)
    try:
        ss = cap.sv_streams() if cap.sv_collector is not None else None
    except RuntimeError:
        ss = None
    if ss is not None and len(ss):
        bad = ss[ss["suspicious"].to_numpy(dtype=bool)]
        if len(bad):
            st = cap.sv()
            st_mac = st["src_mac"].astype(object).to_numpy()
            st_id = st["sv_id"].astype(object).to_numpy()
            st_ok = ~st["malformed"].to_numpy(dtype=bool)
            first = {}
            for r in ss.itertuples(index=False):
                k = (r.sv_id, r.appid if r.appid is not pd.NA else None)
                first[k] = min(first.get(k, r.first_time), r.first_time)
            groups: dict = {}
            for r in bad.itertuples(index=False):
                k = (r.sv_id, r.appid if r.appid is not pd.NA else None)
                code = "process-bus.sv_spoofed" if r.other_src_macs and r.first_time > first[k] \
                    else "process-bus.sv_anomaly"
                groups.setdefault((code, str(r.src_mac), k[1]), []).append(r)
            for (code, mac, appid), rows in groups.items():
                frames = []
                for r in rows:
                    sub = st[(st_mac == r.src_mac) & (st_id == r.sv_id) & st_ok]
                    frames += _sv_evidence(sub["frame"].to_numpy(), sub["smp_cnt"].to_numpy(dtype="float64"),
                                           int(r.wrap) if r.wrap is not pd.NA and r.wrap == r.wrap else 0)
                ids = [str(r.sv_id) for r in rows]
                shown = ", ".join(ids[:4]) + (f" (+{len(ids) - 4} more)" if len(ids) > 4 else "")
                a = f"0x{int(appid):04X}" if appid is not None else "?"
                F.add(code, mac, f"APPID {a}, svID {shown}: {rows[0].anomalies}", frames)
    l2 = cap.l2_collector
    if l2 is not None and getattr(l2, "signatures", None):
        t = l2.signature_table()
        for r in t.itertuples(index=False):
            if r.signed < r.frames:
                F.add("process-bus.routable_no_hmac", str(r.src_mac),
                      f"{r.frames - r.signed} of {r.frames} {r.kind.upper()} frames without HMAC signature "
                      f"(key id{'s' if len(r.key_ids) != 1 else ''} {', '.join(map(str, r.key_ids)) or '?'})",
                      [r.first_frame], count=int(r.frames - r.signed))


def _key(v):
    """A table value as a dict key part: NA / NaN -> None, numpy ints -> int."""
    if v is None or v is pd.NA:
        return None
    try:
        if v != v:
            return None
    except (TypeError, ValueError):
        return None
    return int(v) if hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "iu" else v


def _sv_evidence(frames, cnt, wrap) -> list:
    """Frames whose smpCnt is not the previous one + 1 (modulo ``wrap``): injections, deletions."""
    out = []
    prev = None
    for f, c in zip(frames.tolist(), cnt.tolist()):
        if c != c:
            continue
        if prev is not None:
            step = (c - prev) % wrap if wrap else c - prev
            if step != 1:
                out.append(f)
        prev = c
        if len(out) >= MAX_EVIDENCE_FRAMES:
            break
    return out


def summary_facts(cap, top: int = 8) -> dict:
    """For ``summary``: finding counts per severity and the ``top`` findings from ``low`` up."""
    findings, _ = cap.security()
    counts = findings["severity"].value_counts()
    flagged = findings[(findings["severity"] != "info").to_numpy(dtype=bool)].head(top)
    return {"counts": {s: int(counts[s]) for s in reversed(SEVERITIES) if s in counts},
            "top": [{"severity": r.severity, "code": r.code, "subject": r.subject, "message": r.message,
                     "first_frame": None if r.first_frame is pd.NA else int(r.first_frame)}
                    for r in flagged.itertuples(index=False)]}


# -- allowlist files -------------------------------------------------------------------------------

ALLOWLIST_FIELDS = ("client", "server", "port", "comment")


def parse_allowlist(text: str) -> list:
    """AllowRule list from CSV text with columns client, server, port[, comment].

    Addresses may be networks ('10.0.0.0/24'); an empty port (or '*') means any port.
    Lines starting with '#' are comments.  Raises ValueError with the line number.
    """
    rules = []
    rows = csv.reader(line for line in io.StringIO(text) if line.strip() and not line.lstrip().startswith("#"))
    for i, row in enumerate(rows, 1):
        row = [x.strip() for x in row]
        if i == 1 and [x.lower() for x in row[:3]] == ["client", "server", "port"]:
            continue
        if len(row) < 2:
            raise ValueError(f"allowlist row {i}: needs client,server[,port[,comment]]")
        try:
            c = ipaddress.ip_network(row[0], strict=False)
            s = ipaddress.ip_network(row[1], strict=False)
        except ValueError as e:
            raise ValueError(f"allowlist row {i}: {e}") from None
        port = row[2] if len(row) > 2 else ""
        if port in ("", "*"):
            p = None
        elif port.isdigit() and 0 < int(port) < 65536:
            p = int(port)
        else:
            raise ValueError(f"allowlist row {i}: bad port {port!r}")
        rules.append(AllowRule(c, s, p, row[3] if len(row) > 3 else ""))
    return rules


def read_allowlist(path) -> list:
    """:func:`parse_allowlist` of a file."""
    with open(path, encoding="utf-8", newline="") as fh:
        return parse_allowlist(fh.read())


def _export_rows(matrix) -> list:
    """(client, server, port, comment) of the flows to allow: MMS/ISO/TLS flows, one per triple."""
    out, seen = [], set()
    for m in matrix.itertuples(index=False):
        k = (m.client, m.server, int(m.port))
        if k in seen:
            continue
        seen.add(k)
        ied = f" ({m.ied})" if isinstance(m.ied, str) else ""
        comment = f"client {m.client} -> server {m.server}{ied} {m.transport}"
        out.append((m.client, m.server, int(m.port), _clean(comment)))
    return out


def _clean(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9 _.:/()>+\-]", "_", s)[:120]


def allowlist_csv(matrix) -> str:
    """The matrix as an allowlist CSV (client,server,port,comment) that :func:`parse_allowlist` reads."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ALLOWLIST_FIELDS)
    for row in _export_rows(matrix):
        w.writerow(row)
    return buf.getvalue()


def _ports(rows) -> list:
    return sorted({102} | {p for _, _, p, _ in rows})


def allowlist_nft(matrix, table: str = "mmsanalyze_mms", hook: str = "forward") -> str:
    """An nftables ruleset allowing exactly the matrix's flows on their MMS ports and dropping the rest.

    One rule per direction of each flow (client -> server:port, and the server's
    answers from that port), each with a comment; then a drop of any other TCP
    traffic to or from those ports.  Other traffic is untouched (policy accept).
    Load with ``nft -f FILE`` (check with ``nft -c -f FILE``).
    """
    rows = _export_rows(matrix)
    ports = _ports(rows)
    pset = "{ " + ", ".join(map(str, ports)) + " }" if len(ports) > 1 else str(ports[0])
    lines = [f"# MMS allowlist generated by mmsanalyze: {len(rows)} flow(s), ports {', '.join(map(str, ports))}",
             f"table inet {table} {{",
             f"\tchain {hook}_mms {{",
             f"\t\ttype filter hook {hook} priority 0; policy accept;"]
    for c, s, p, comment in rows:
        fam = "ip6" if ":" in c else "ip"
        lines.append(f'\t\t{fam} saddr {c} {fam} daddr {s} tcp dport {p} accept comment "{comment}"')
        lines.append(f'\t\t{fam} saddr {s} {fam} daddr {c} tcp sport {p} accept comment "{_clean("reply: " + comment)}"')
    lines.append(f'\t\ttcp dport {pset} drop comment "MMS: any other client or server"')
    lines.append(f'\t\ttcp sport {pset} drop comment "MMS: any other client or server"')
    lines += ["\t}", "}", ""]
    return "\n".join(lines)


def allowlist_iptables(matrix, chain: str = "MMS_ALLOW", hook: str = "FORWARD") -> str:
    """The same allowlist in ``iptables-restore`` format (IPv4; IPv6 flows become comments)."""
    rows = _export_rows(matrix)
    ports = _ports(rows)
    plist = ",".join(map(str, ports))
    lines = ["# MMS allowlist generated by mmsanalyze (iptables-restore format)", "*filter",
             f":{chain} - [0:0]",
             f"-A {hook} -p tcp -m multiport --dports {plist} -j {chain}",
             f"-A {hook} -p tcp -m multiport --sports {plist} -j {chain}"]
    for c, s, p, comment in rows:
        if ":" in c:
            lines.append(f"# IPv6 flow (use ip6tables): {c} -> {s} port {p}")
            continue
        lines.append(f'-A {chain} -s {c}/32 -d {s}/32 -p tcp --dport {p} -m comment --comment "{comment}" -j ACCEPT')
        lines.append(f'-A {chain} -s {s}/32 -d {c}/32 -p tcp --sport {p} -m comment '
                     f'--comment "{_clean("reply: " + comment)}" -j ACCEPT')
    lines += [f'-A {chain} -m comment --comment "MMS: any other client or server" -j DROP', "COMMIT", ""]
    return "\n".join(lines)


security_tables.__doc__ = security_tables.__doc__.replace(
    "    Findings columns:\n", "    Findings columns:\n\n" + columns_doc(FINDING_COLUMNS, "    ") + "\n").replace(
    "    Matrix columns:\n", "    Matrix columns:\n\n" + columns_doc(MATRIX_COLUMNS, "    ") + "\n")
