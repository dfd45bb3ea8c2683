"""MMS associations: one row per TCP connection on an analysed port.

How it ended (``end``), from the units seen on the connection:

* ``conclude+release``  MMS Conclude (9506-2 8.4) then ACSE release (RLRQ/RLRE, or
  session FINISH/DISCONNECT) -- the orderly end;
* ``conclude``  Conclude without a captured release;
* ``release``   ACSE/session release without MMS Conclude;
* ``refused``   the connect failed: TCP RST answering the SYN, COTP DR/ER before CC,
  session REFUSE (RF), presentation CPR, ACSE AARE with a result other than accepted,
  or MMS Initiate-ErrorPDU (``end_reason`` says which and why, ``end_by`` who refused);
* ``abort``     ACSE ABRT or session ABORT;
* ``fin`` / ``rst``  the TCP connection was closed (FIN) or reset (RST) with none of
  the above;
* ``open``      still open when the capture ended.

Initiate parameters come from the Initiate-Request/ResponsePDU (9506-2 8.2; the
response's negotiated values win), authentication from the ACSE AARQ (ISO 8650:
mechanism-name, calling-authentication-value).  A password sent in clear
(authentication-value ``charstring``, or mechanism ``password`` 2.2.3.1) sets
``password_in_clear``.
"""

from __future__ import annotations

from ._table import build, columns_doc, endpoint

__all__ = ["COLUMNS", "ENDS", "associations_table"]

ENDS = ("conclude+release", "conclude", "release", "refused", "abort", "fin", "rst", "open")

COLUMNS = {
    "stream": ("Int64", "TCP stream"),
    "client": ("string", "client 'addr:port'"),
    "server": ("string", "server 'addr:port'"),
    "start": ("float64", "first frame of the connection, epoch seconds"),
    "end_time": ("float64", "last frame of the connection, epoch seconds"),
    "duration": ("float64", "end_time - start, seconds"),
    "end": ("string", "conclude+release | conclude | release | refused | abort | fin | rst | open"),
    "end_by": ("string", "who started the end: client or server (null when open)"),
    "end_frame": ("Int64", "frame of the first unit of the end (conclude request, RLRQ, ABRT, FIN or RST; the refusal)"),
    "tcp_close": ("string", "how TCP ended: fin, rst, fin+rst or null (open)"),
    "handshake": ("bool", "the TCP SYN was captured (False: the capture starts inside the connection)"),
    "initiate": ("string", "accepted (Initiate-ResponsePDU), refused (Initiate-ErrorPDU, AARE rejected, or the connect refused below: RF, CPR, COTP DR/ER, RST), unanswered, or null when the initiate was not captured"),
    "max_pdu_size_calling": ("Int64", "localDetailCalling: the client's maximum MMS PDU size"),
    "max_pdu_size_called": ("Int64", "localDetailCalled: the server's maximum MMS PDU size"),
    "max_serv_outstanding_calling": ("Int64", "negotiated (else proposed) MaxServOutstandingCalling"),
    "max_serv_outstanding_called": ("Int64", "negotiated (else proposed) MaxServOutstandingCalled"),
    "nesting_level": ("Int64", "negotiated (else proposed) DataStructureNestingLevel"),
    "version": ("Int64", "negotiated (else proposed) MMS version number"),
    "parameter_cbb": ("object", "list of negotiated (else proposed) ParameterSupportOptions names"),
    "services_calling": ("object", "list of the client's ServiceSupportOptions names"),
    "services_called": ("object", "list of the server's ServiceSupportOptions names"),
    "application_context": ("string", "ACSE application-context-name OID"),
    "calling_ap_title": ("string", "ACSE calling-AP-title"),
    "called_ap_title": ("string", "ACSE called-AP-title"),
    "acse_mechanism": ("string", "ACSE authentication mechanism (password, certificate-based, or the OID)"),
    "auth_kind": ("string", "kind of calling-authentication-value: charstring, bitstring, external, other"),
    "password_in_clear": ("bool", "a password travelled in clear text (charstring value or password mechanism)"),
    "aare_result": ("string", "ACSE AARE result (accepted, rejected-permanent, rejected-transient)"),
    "pdus_client": ("Int64", "MMS PDUs sent by the client"),
    "pdus_server": ("Int64", "MMS PDUs sent by the server"),
    "bytes_client": ("Int64", "octets of the MMS PDUs sent by the client"),
    "bytes_server": ("Int64", "octets of the MMS PDUs sent by the server"),
    "requests": ("Int64", "confirmed requests (both directions)"),
    "reports": ("Int64", "InformationReports (unconfirmed)"),
    "end_reason": ("string", "why a refused (or aborted) association ended, 'layer: unit reason', e.g. "
                   "'acse: AARE rejected-permanent (authentication-failure)', 'cotp: DR address-unknown', "
                   "'tcp: RST answering the SYN'"),
}

#: Which layer's refusal explains best (the innermost wins: an RF carrying a CPR carrying
#: an AARE- is an ACSE refusal with its diagnostic).
_REFUSAL_RANK = {"mms": 0, "acse": 1, "pres": 2, "ses": 3, "cotp": 4, "tcp": 5}


class _Assoc:
    __slots__ = ("stream", "client", "server", "start", "last", "concluded", "released", "aborted",
                 "end_ev", "fin", "rst", "syn", "init_req", "init_rsp", "init_err", "aarq", "aare",
                 "pdus", "bytes", "requests", "reports", "refusal", "cc", "abort_reason")

    def __init__(self, stream):
        self.stream = stream
        self.client = self.server = None
        self.start = self.last = None
        self.concluded = self.released = self.aborted = False
        self.end_ev = {}                  # reason -> (frame, direction) of its first unit
        self.fin = self.rst = False
        self.syn = False
        self.init_req = self.init_rsp = self.init_err = None
        self.aarq = self.aare = None
        self.pdus = [0, 0]
        self.bytes = [0, 0]
        self.requests = self.reports = 0
        self.refusal = {}                 # layer -> (frame, direction, reason)
        self.cc = False                   # COTP CC seen: the transport connection was accepted
        self.abort_reason = None

    def refuse(self, layer, frame, direction, reason):
        self.refusal.setdefault(layer, (frame, direction, reason))

    def mark(self, reason, frame, direction):
        self.end_ev.setdefault(reason, (frame, direction))

    def seen(self, t):
        if self.start is None or t < self.start:
            self.start = t
        if self.last is None or t > self.last:
            self.last = t


def _body(rec, key):
    m = rec.decoded() if rec is not None else None
    return (m.detail.get(key) or {}) if m is not None else {}


def associations_table(pdus, events, conns=None):
    """One row per connection of ``conns`` (and any other stream with records).

    Columns:
    """
    conns = conns or {}
    a: dict[int, _Assoc] = {}

    def get(s):
        x = a.get(s)
        if x is None:
            x = a[s] = _Assoc(s)
        return x

    for s, c in conns.items():
        x = get(s)
        x.client, x.server = endpoint(c.client), endpoint(c.server)
        x.seen(c.first_time)
        x.seen(c.last_time)
        x.syn = c.syn
    for r in pdus:
        x = get(r.stream)
        if x.client is None:
            ends = [endpoint((r.src, r.sport)), endpoint((r.dst, r.dport))]
            x.client, x.server = ends if r.direction == 0 else ends[::-1]
        x.seen(r.time)
        x.pdus[r.direction] += 1
        x.bytes[r.direction] += len(r.raw)
        p = r.pdu
        if p == "confirmed-RequestPDU":
            x.requests += 1
        elif p == "unconfirmed-PDU" and r.service == "informationReport":
            x.reports += 1
        elif p == "initiate-RequestPDU":
            x.init_req = x.init_req or r
        elif p == "initiate-ResponsePDU":
            x.init_rsp = x.init_rsp or r
        elif p == "initiate-ErrorPDU":
            x.init_err = x.init_err or r
            x.refuse("mms", r.frame, r.direction, "mms: initiate-ErrorPDU" + _mms_error(r))
        elif p == "conclude-RequestPDU":
            x.mark("conclude", r.frame, r.direction)
        elif p == "conclude-ResponsePDU":
            x.concluded = True
    for e in events:
        x = get(e.stream)
        x.seen(e.time)
        n = e.name
        if e.layer == "tcp":
            if n == "syn":
                x.syn = True
            elif n == "fin":
                x.fin = True
                x.mark("fin", e.frame, e.direction)
            elif n == "rst":
                x.rst = True
                x.mark("rst", e.frame, e.direction)
                if (e.detail or {}).get("refused"):
                    x.refuse("tcp", e.frame, e.direction, "tcp: RST answering the SYN")
        elif e.layer == "cotp":
            d = e.detail or {}
            if n == "CC":
                x.cc = True
            elif n in ("DR", "ER") and not x.cc:
                x.refuse("cotp", e.frame, e.direction, f"cotp: {n} {d.get('reason_name') or ''}".rstrip())
        elif e.layer == "pres" and n == "CPR":
            d = e.detail or {}
            why = d.get("provider-reason") or ", ".join(r for r in d.get("results") or () if r) or ""
            x.refuse("pres", e.frame, e.direction, f"pres: CPR {why}".rstrip())
        elif e.layer == "acse":
            if n == "aarq":
                x.aarq = x.aarq or e.detail
            elif n == "aare":
                x.aare = x.aare or e.detail
                d = e.detail or {}
                if d.get("result") not in (None, "accepted"):
                    diag = d.get("result-source-diagnostic")
                    why = next(iter(diag.values())) if isinstance(diag, dict) and diag else None
                    x.refuse("acse", e.frame, e.direction,
                             f"acse: AARE {d.get('result')}" + (f" ({why})" if why else ""))
            elif n in ("rlrq", "rlre"):
                x.released = True
                x.mark("release", e.frame, e.direction)
            elif n == "abrt":
                x.aborted = True
                x.mark("abort", e.frame, e.direction)
                d = e.detail or {}
                if x.abort_reason is None:
                    x.abort_reason = "acse: ABRT " + " ".join(
                        str(d[k]) for k in ("abort-source", "abort-diagnostic") if d.get(k) is not None)
        elif e.layer == "ses":
            if n in ("FN", "DN"):
                x.released = True
                x.mark("release", e.frame, e.direction)
            elif n == "AB":
                x.aborted = True
                x.mark("abort", e.frame, e.direction)
            elif n == "RF":
                d = e.detail or {}
                x.refuse("ses", e.frame, e.direction, f"ses: RF {d.get('reason') or ''}".rstrip())
    for s, c in conns.items():       # the connection's own flags cover FIN/RST before any record
        x = a[s]
        x.fin = x.fin or any(c.fin)
        x.rst = x.rst or c.rst
    cols = {k: [] for k in COLUMNS}
    for s in sorted(a):
        _row(a[s], cols)
    return build(COLUMNS, cols)


def _refusal(x):
    """(frame, direction, reason) of the refusal that explains best, or None when the
    association was accepted (an Initiate-ResponsePDU) or never refused."""
    if not x.refusal or x.init_rsp is not None:
        return None
    return x.refusal[min(x.refusal, key=_REFUSAL_RANK.__getitem__)]


def _end(x):
    if _refusal(x) is not None:
        return "refused", "refused"
    if x.aborted:
        return "abort", "abort"
    if x.concluded and x.released:
        return "conclude+release", "conclude"
    if x.concluded:
        return "conclude", "conclude"
    if x.released:
        return "release", "release"
    if x.rst and (not x.fin or x.end_ev.get("rst", (1 << 62,))[0] < x.end_ev.get("fin", (1 << 62,))[0]):
        return "rst", "rst"
    if x.fin:
        return "fin", "fin"
    return "open", None


def _row(x, cols):
    end, ev = _end(x)
    reason = None
    if ev == "refused":
        frame, direction, reason = _refusal(x)
    else:
        frame, direction = x.end_ev.get(ev, (None, None)) if ev else (None, None)
        if ev == "abort":
            reason = x.abort_reason
    req = _body(x.init_req, "initiate-RequestPDU")
    rsp = _body(x.init_rsp, "initiate-ResponsePDU")
    rqd, rsd = req.get("initRequestDetail") or {}, rsp.get("initResponseDetail") or {}
    aarq, aare = x.aarq or {}, x.aare or {}
    if x.init_rsp is not None:
        initiate = "accepted" if aare.get("result") in (None, "accepted") else "refused"
    elif x.init_err is not None or aare.get("result") not in (None, "accepted") or _refusal(x):
        initiate = "refused"
    elif x.init_req is not None:
        initiate = "unanswered"
    else:
        initiate = None
    kind = aarq.get("authentication-kind")
    mech = aarq.get("mechanism")
    has_value = "calling-authentication-value" in aarq

    def pick(r_key, q_key, r=rsp, q=req):
        v = r.get(r_key)
        return q.get(q_key) if v is None else v

    tcp = "fin+rst" if x.fin and x.rst else "fin" if x.fin else "rst" if x.rst else None
    vals = {
        "stream": x.stream, "client": x.client, "server": x.server, "start": x.start,
        "end_time": x.last, "duration": (x.last - x.start) if x.start is not None else None,
        "end": end, "end_by": None if direction is None else ("client", "server")[direction],
        "end_frame": frame, "tcp_close": tcp, "handshake": bool(x.syn), "initiate": initiate,
        "max_pdu_size_calling": req.get("localDetailCalling"),
        "max_pdu_size_called": rsp.get("localDetailCalled"),
        "max_serv_outstanding_calling": pick("negotiatedMaxServOutstandingCalling", "proposedMaxServOutstandingCalling"),
        "max_serv_outstanding_called": pick("negotiatedMaxServOutstandingCalled", "proposedMaxServOutstandingCalled"),
        "nesting_level": pick("negotiatedDataStructureNestingLevel", "proposedDataStructureNestingLevel"),
        "version": pick("negotiatedVersionNumber", "proposedVersionNumber", rsd, rqd),
        "parameter_cbb": list(pick("negotiatedParameterCBB", "proposedParameterCBB", rsd, rqd) or []),
        "services_calling": list(rqd.get("servicesSupportedCalling") or []),
        "services_called": list(rsd.get("servicesSupportedCalled") or []),
        "application_context": aarq.get("application-context-name") or aare.get("application-context-name"),
        "calling_ap_title": _text(aarq.get("calling-AP-title")),
        "called_ap_title": _text(aarq.get("called-AP-title")),
        "acse_mechanism": mech, "auth_kind": kind,
        "password_in_clear": bool(has_value and (kind == "charstring" or mech == "password")),
        "aare_result": aare.get("result"),
        "pdus_client": x.pdus[0], "pdus_server": x.pdus[1],
        "bytes_client": x.bytes[0], "bytes_server": x.bytes[1],
        "requests": x.requests, "reports": x.reports, "end_reason": reason,
    }
    for k in COLUMNS:
        v = vals[k]
        if COLUMNS[k][0] == "Int64" and v is not None and not isinstance(v, int):
            v = None
        cols[k].append(v)


def _mms_error(r):
    m = r.decoded()
    err = m.error if m is not None else None
    if not err:
        return ""
    return f" {err.get('class')}/{err.get('code')}"


def _text(v):
    return None if v is None else str(v)


associations_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
