"""Traffic scenarios against a real libiec61850 server, captured with tcpdump.

Each public scenario function returns ``(pcap_path, truth)``.  ``truth`` is a
JSON-serialisable dict (also written next to the pcap as ``*.truth.json``)::

    scenario     name
    pcap         path of the capture
    server       {"ip", "port" (102 inside a netns), "ied", "domains", "library", "stats": {...}}
    capture      {"netns", "iface", "bpf", "decode_as" (tshark -d arg when port != 102), "tcpdump"}
    connections  [{"id", "client_port", "server_port", "end": conclude|abort|fin|rst,
                   "operations": [seq...], "information_reports": [...]}]
    operations   [{"seq", "conn", "op", "invoke_id", "args", "ok", "error", "error_kind",
                   "response_pdu", "value", "t_request", "t_response", ...}]   # in order
    reports      (reports scenario) per-RCB counts: received by the client / created by the server
    files        (files scenario) served files with size + sha256, before/after trees
    controls     (controls scenario) server-side control actions
    goose        (demo) GOOSE messages published

``op`` is the MMS service name: initiate, conclude, abort, close-tcp, reset-tcp,
identify, status, getNameList, read, write, getVariableAccessAttributes,
getNamedVariableListAttributes, defineNamedVariableList,
deleteNamedVariableList, fileDirectory, fileOpen, fileRead, fileClose,
fileDelete, fileRename, obtainFile.  ``invoke_id`` is the invokeID the library
put on the wire (None for PDUs without one).  ``error_kind`` is
DataAccessError (inside a read/write response), ServiceError
(confirmed-ErrorPDU; ``error`` = "class/code"), Result (a normal response
saying "no", e.g. numberDeleted=0) or Reject.
"""
from __future__ import annotations

import time

from .capture import Session
from .files import make_client_files

LD0 = "DEMOLD0"
CTRL = "DEMOCTRL"
URCB = "LLN0$RP$urcbEvents01"
BRCB = "LLN0$BR$brcbMeas01"


def _sleep_until(t):
    d = t - time.time()
    if d > 0:
        time.sleep(d)


# --------------------------------------------------------------------------
# reusable step groups (operate on a connected ClientHandle)
# --------------------------------------------------------------------------


def steps_browse(c, full=True):
    c.op("identify")
    c.op("getNameList", object_class="domain", scope="vmd")
    c.op("getNameList", object_class="namedVariable", scope="domain", domain=LD0)
    if full:
        c.op("getNameList", object_class="namedVariable", scope="domain", domain=CTRL)
        c.op("getNameList", object_class="namedVariable", scope="domain", domain=LD0,
             continue_after="LLN0$ST", follow=False)
    c.op("getNameList", object_class="namedVariableList", scope="domain", domain=LD0)
    c.op("getVariableAccessAttributes", domain=LD0, item="MMXU1$MX$TotW")
    if full:
        c.op("getVariableAccessAttributes", domain=LD0, item="LLN0")
        c.op("getVariableAccessAttributes", domain=LD0, item="GGIO1$ST$Nope")
        c.op("status")


def steps_reads(c, full=True):
    c.read(LD0, "GGIO1$ST$Ind1$stVal")
    c.read(LD0, "MMXU1$MX$TotW")
    c.read(LD0, "LLN0$DC$NamPlt$d")
    c.read(LD0, "GGIO1$ST$Nope")                     # object-non-existent
    c.op("readMultiple", domain=LD0, items=["GGIO1$ST$Ind1$stVal", "MMXU1$MX$Hz$mag$f",
                                            "GGIO1$MX$Nope", "LLN0$DC$NamPlt$vendor"])
    c.op("readDataSet", domain=LD0, name="LLN0$Events")
    if full:
        c.read("NODOMAIN", "LLN0$ST")                  # unknown domain
        c.read(LD0, "LPHD1$DC$PhyNam")
        c.read(CTRL, "CSWI1$ST$Pos")
        c.op("readDataSet", domain=LD0, name="LLN0$Measurements")
        c.op("readDataSet", domain=LD0, name="LLN0$NoSuchDataSet")


def steps_writes(c, full=True):
    c.write(LD0, "GGIO1$SP$SetPt1$setMag$f", 12.5)                  # ok (SP writable)
    c.write(LD0, "LLN0$DC$NamPlt$d", "written by the harness")      # ok (DC allowed)
    c.write(LD0, "GGIO1$ST$Ind1$stVal", True)                       # ST -> object-access-denied
    c.write(LD0, "GGIO1$SP$SetPt1$setMag$f", 7)                     # int on float -> type-inconsistent
    c.write(LD0, "GGIO1$SP$Locked1$setVal", 3)                      # handler -> object-access-denied
    if full:
        c.write(LD0, "GGIO1$SP$IntSet1$setVal", 42)                 # handler accepts
        c.write(LD0, "GGIO1$SP$IntSet1$setVal", 500)                # handler -> object-value-invalid
        c.write(LD0, "GGIO1$SP$Nope", 1)                            # object-non-existent
        c.op("writeMultiple", domain=LD0,
             items=["GGIO1$SP$SetPt1$setMag$f", "GGIO1$MX$AnIn1$mag$f", "GGIO1$SP$IntSet1$setVal"],
             values=[13.25, 1.0, 77])
        c.read(LD0, "GGIO1$SP$SetPt1$setMag$f")                     # read back 13.25


def steps_nvl(c):
    c.op("getNamedVariableListAttributes", domain=LD0, name="LLN0$Events")
    c.op("getNamedVariableListAttributes", domain=LD0, name="LLN0$Nope")
    c.op("defineNamedVariableList", domain=LD0, name="LLN0$HarnessDS",
         entries=[[LD0, "GGIO1$ST$Ind1"], [LD0, "MMXU1$MX$Hz"], [LD0, "GGIO1$SP$SetPt1"]])
    c.op("defineNamedVariableList", domain=None, name="@HarnessAA",
         entries=[[LD0, "GGIO1$ST$Ind2"], [CTRL, "CSWI1$ST$Pos"]])
    c.op("defineNamedVariableList", domain=LD0, name="LLN0$BadDS",
         entries=[[LD0, "GGIO1$ST$Nope"]])                          # definition/object-undefined
    c.op("getNameList", object_class="namedVariableList", scope="domain", domain=LD0)
    c.op("getNameList", object_class="namedVariableList", scope="aa")
    c.op("getNamedVariableListAttributes", domain=LD0, name="LLN0$HarnessDS")
    c.op("getNamedVariableListAttributes", domain=None, name="@HarnessAA")
    c.op("readDataSet", domain=LD0, name="LLN0$HarnessDS")
    c.op("readDataSet", domain=None, name="@HarnessAA")
    c.op("deleteNamedVariableList", domain=LD0, name="LLN0$HarnessDS")
    c.op("deleteNamedVariableList", domain=None, name="@HarnessAA")
    c.op("deleteNamedVariableList", domain=LD0, name="LLN0$Events")  # permanent: numberDeleted=0
    c.op("deleteNamedVariableList", domain=LD0, name="LLN0$Gone")    # numberMatched=0


def steps_reports(s, c, intg_pd_ms=500, changes=4, change_interval=0.15, hold=1.3,
                  buffered=True, unbuffered=True):
    """Enable URCB/BRCB, GI, server-side data changes, integrity period, disable.

    Returns the ``reports`` truth section."""
    rcbs = {}
    if unbuffered:
        rcbs[URCB] = {"rpt_id": "DEMO/Events", "buffered": False, "data_set": f"{LD0}/LLN0$Events"}
    if buffered:
        rcbs[BRCB] = {"rpt_id": "DEMO/Meas", "buffered": True, "data_set": f"{LD0}/LLN0$Measurements"}
    for rcb in rcbs:
        c.read(LD0, rcb)                                              # whole RCB structure
    if unbuffered:
        c.write(LD0, URCB + "$Resv", True)
        c.write(LD0, URCB + "$OptFlds", "0111110010", type="bits")    # seq ts reason ds dataRef confRev
        c.write(LD0, URCB + "$TrgOps", "011011", type="bits")         # dchg qchg integrity gi
        c.write(LD0, URCB + "$IntgPd", intg_pd_ms, type="uint")
    if buffered:
        c.op("writeMultiple", domain=LD0,
             items=[BRCB + "$TrgOps", BRCB + "$IntgPd", BRCB + "$PurgeBuf"],
             values=["010011", intg_pd_ms, True], types=["bits", "uint", "bool"])
    for rcb in rcbs:
        st0 = s.server_call("stats")
        c.write(LD0, rcb + "$RptEna", True)
        rcbs[rcb]["enabled_at"] = time.time()
        rcbs[rcb]["server_created_before"] = st0["reports_created"].get(rcb.split("$")[-1], 0)
    for rcb in rcbs:
        c.write(LD0, rcb + "$GI", True)
    updates = []
    t0 = time.time()
    for i in range(changes):
        _sleep_until(t0 + (i + 1) * change_interval)
        if unbuffered:
            updates.append(s.server_call("update", ref=f"{LD0}/GGIO1.Ind{1 + i % 2}.stVal",
                                         type="bool", value=bool((i // 2 + 1) % 2)))
        if buffered:
            updates.append(s.server_call("update", ref=f"{LD0}/MMXU1.TotW.mag.f", type="float",
                                         value=1000.0 + 10 * (i + 1)))
    if unbuffered:                                                  # one quality change
        updates.append(s.server_call("update", ref=f"{LD0}/GGIO1.Ind2.q", type="quality",
                                     value=0x0040, with_time=False))  # questionable/oldData
    _sleep_until(t0 + hold)
    for rcb in rcbs:
        c.write(LD0, rcb + "$RptEna", False)
        rcbs[rcb]["disabled_at"] = time.time()
    time.sleep(0.15)
    infos = c.info_reports()
    st = s.server_call("stats")
    for rcb, d in rcbs.items():
        name = rcb.split("$")[-1]
        got = [r for r in infos if r.get("kind") == "report" and r.get("rpt_id") == d["rpt_id"]]
        d["client_received"] = len(got)
        d["seq_nums"] = [r.get("seq_num") for r in got]
        by_reason = {}
        for r in got:
            for x in sorted({x for rr in (r.get("reasons") or []) for x in rr}):
                by_reason[x] = by_reason.get(x, 0) + 1
        d["reports_by_reason"] = by_reason
        d["server_created_total"] = st["reports_created"].get(name, 0)
        d["server_created_while_enabled"] = server_reports_for_enable(st["rcb_events"], name, d["buffered"])
        d["intg_pd_ms"] = intg_pd_ms
        d["gi"] = True
    return {"rcbs": rcbs, "server_updates": updates, "intg_pd_ms": intg_pd_ms,
            "note": "client_received counts the InformationReports (variableListName 'RPT') the "
                    "client decoded; every one is an unconfirmed-PDU informationReport on the wire"}


def server_reports_for_enable(rcb_events, name, buffered):
    """Reports the server created for the (last) enabled period of one RCB.

    Counted in the server's own event order (IedServer RCB event handler):
    REPORT_CREATED events after ENABLE -- for a BRCB after the last PURGEBUF
    before ENABLE, because a BRCB also buffers while disabled and delivers the
    buffer when enabled -- up to DISABLE."""
    ev = [e for e in rcb_events if e["rcb"] == name]
    i_en = max((i for i, e in enumerate(ev) if e["event"] == "ENABLE"), default=None)
    if i_en is None:
        return 0
    i_dis = next((i for i in range(i_en, len(ev)) if ev[i]["event"] == "DISABLE"), len(ev))
    start = i_en
    if buffered:
        i_pg = max((i for i in range(i_en) if ev[i]["event"] in ("PURGEBUF", "DISABLE")), default=-1)
        start = i_pg + 1
    return sum(1 for e in ev[start:i_dis] if e["event"] == "REPORT_CREATED")


def steps_files(s, c, full=True):
    """Directory, download (open/read*/close), errors, obtainFile, rename, delete."""
    c.op("fileDirectory")
    if full:
        c.op("fileDirectory", spec="COMTRADE")
    c.op("getFile", name="COMTRADE/REC_0001.cfg")
    c.op("getFile", name="COMTRADE/REC_0001.dat")
    c.op("fileOpen", name="COMTRADE/REC_9999.dat")                  # file-non-existent
    if full:
        c.op("getFile", name="LOG/events.log")
        client_store = s.work / "client_files"
        make_client_files(client_store)
        c.op("obtainFile", source="upload/settings_new.xml", destination="settings_new.xml",
             filestore=str(client_store))
        # libiec61850 1.6.1 as bundled does not implement FileRename -> RejectPDU
        c.op("fileRename", current="settings_new.xml", new="settings_v2.xml")
        c.op("fileDirectory")
        c.op("fileDelete", name="obsolete.tmp")
        c.op("fileDelete", name="readme.txt")                       # denied by file access handler
        c.op("fileDelete", name="nothing_here.bin")                 # file-non-existent


def steps_controls(s, c, full=True):
    """DPC SBO-with-enhanced-security (SBOw, Oper, Cancel), direct-enhanced, direct-normal."""
    now = lambda: int(time.time() * 1000)  # noqa: E731
    orig = {"origin.orCat": (3, "int"), "origin.orIdent": (b"mmsanalyze".hex(), "octets")}

    def oper(ctl_val, ctl_num, check="00"):
        f = {"ctlVal": (ctl_val, "bool"), "ctlNum": (ctl_num, "uint"), "T": (now(), "utc"),
             "Test": (False, "bool"), "Check": (check, "bits")}
        f.update(orig)
        return f

    def cancel(ctl_val, ctl_num):
        f = {"ctlVal": (ctl_val, "bool"), "ctlNum": (ctl_num, "uint"), "T": (now(), "utc"),
             "Test": (False, "bool")}
        f.update(orig)
        return f

    pos1, pos2 = "CSWI1$CO$Pos", "CSWI2$CO$Pos"
    c.read(CTRL, "CSWI1$CF$Pos$ctlModel")
    c.op("getVariableAccessAttributes", domain=CTRL, item=pos1 + "$Oper")
    c.op("getVariableAccessAttributes", domain=CTRL, item=pos1 + "$Cancel")
    c.read(CTRL, "CSWI1$ST$Pos$stVal")
    # select-before-operate (enhanced): SBOw -> Oper -> CommandTermination
    c.op("writeStruct", domain=CTRL, item=pos1 + "$SBOw", spec_item=pos1 + "$Oper",
         fields=oper(True, 1), label="SelectWithValue")
    c.op("writeStruct", domain=CTRL, item=pos1 + "$Oper", fields=oper(True, 1), label="Operate")
    time.sleep(0.2)
    c.read(CTRL, "CSWI1$ST$Pos$stVal")
    if full:
        # select then cancel
        c.op("writeStruct", domain=CTRL, item=pos1 + "$SBOw", spec_item=pos1 + "$Oper",
             fields=oper(False, 2), label="SelectWithValue")
        c.op("writeStruct", domain=CTRL, item=pos1 + "$Cancel", fields=cancel(False, 2), label="Cancel")
        # operate without selection -> negative response + LastApplError
        c.op("writeStruct", domain=CTRL, item=pos1 + "$Oper", fields=oper(False, 3),
             label="Operate (not selected)")
        # direct with enhanced security: ok, then interlock check refused by the server
        c.read(CTRL, "CSWI2$CF$Pos$ctlModel")
        c.op("getVariableAccessAttributes", domain=CTRL, item=pos2 + "$Oper")
        c.op("writeStruct", domain=CTRL, item=pos2 + "$Oper", fields=oper(True, 4), label="Operate")
        c.op("writeStruct", domain=CTRL, item=pos2 + "$Oper", fields=oper(False, 5, check="01"),
             label="Operate (interlock-check, refused)")
        # direct normal SPC
        c.op("getVariableAccessAttributes", domain=LD0, item="GGIO1$CO$SPCSO1$Oper")
        c.op("writeStruct", domain=LD0, item="GGIO1$CO$SPCSO1$Oper", fields=oper(True, 6),
             label="Operate")
        c.read(LD0, "GGIO1$ST$SPCSO1$stVal")
    time.sleep(0.3)
    c.info_reports()


def _control_truth(s):
    st = s.server.call("stats")
    return {"server_actions": st["control_actions"]}


# --------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------


def basic_services(outdir=None, netns=None):
    """associate, identify, browse, reads (ok + errors), writes (ok / denied / type /
    value-invalid / non-existent), NVL attributes, define/delete NVLs, conclude."""
    with Session("basic_services", outdir, netns) as s:
        c = s.client()
        c.connect(local_detail=2400)   # small PDU size -> GetNameList needs continuation
        steps_browse(c)
        steps_reads(c)
        steps_writes(c)
        steps_nvl(c)
        c.conclude()
        return s.finish()


def reports(outdir=None, netns=None, intg_pd_ms=500, changes=4):
    with Session("reports", outdir, netns) as s:
        c = s.client()
        c.connect()
        rep = steps_reports(s, c, intg_pd_ms=intg_pd_ms, changes=changes)
        c.conclude()
        pcap, truth = s.finish()
        truth["reports"] = rep
        _rewrite_truth(truth)
        return pcap, truth


def files(outdir=None, netns=None):
    with Session("files", outdir, netns, files=True) as s:
        c = s.client()
        c.connect(local_detail=4000)   # 12800-byte .dat -> several FileRead PDUs
        steps_files(s, c)
        c.conclude()
        pcap, truth = s.finish()
        _files_truth(truth)
        return pcap, truth


def controls(outdir=None, netns=None):
    with Session("controls", outdir, netns) as s:
        c = s.client()
        c.connect()
        steps_controls(s, c)
        ctl = _control_truth(s)
        c.conclude()
        pcap, truth = s.finish()
        truth["controls"] = ctl
        _rewrite_truth(truth)
        return pcap, truth


def _end_session(name, ends, outdir, netns):
    with Session(name, outdir, netns) as s:
        for how in ends:
            c = s.client(label=how)
            c.connect()
            c.op("identify")
            c.read(LD0, "GGIO1$ST$Ind1$stVal")
            getattr(c, how)()
            c.exit()
            time.sleep(0.3)
        return s.finish()


def abort(outdir=None, netns=None):
    """MMS/ACSE abort (ABRT inside a session ABORT SPDU), then TCP close by the server."""
    return _end_session("abort", ["abort"], outdir, netns)


def fin(outdir=None, netns=None):
    """TCP connection closed (FIN) by the client without conclude/release."""
    return _end_session("fin", ["fin"], outdir, netns)


def rst(outdir=None, netns=None):
    """TCP connection reset (RST) by the client: SO_LINGER 0 + process exit."""
    return _end_session("rst", ["rst"], outdir, netns)


def connection_ends(outdir=None, netns=None):
    """Three consecutive associations ending with conclude, abort, FIN, RST."""
    return _end_session("connection_ends", ["conclude", "abort", "fin", "rst"], outdir, netns)


def demo(outdir=None, netns=None, goose=True, pcap_name="demo.pcap"):
    """The rich-but-small demo capture (see captures/README.md)."""
    with Session("demo", outdir, netns, files=True, goose=goose, pcap_name=pcap_name) as s:
        c = s.client()
        c.connect(local_detail=4000)
        steps_browse(c, full=False)
        steps_reads(c, full=False)
        steps_writes(c, full=False)
        c.op("getNamedVariableListAttributes", domain=LD0, name="LLN0$Events")
        rep = steps_reports(s, c, intg_pd_ms=500, changes=2, change_interval=0.2, hold=1.2)
        steps_files(s, c, full=False)
        c.op("fileRename", current="readme.txt", new="readme.old")   # RejectPDU (not implemented)
        steps_controls(s, c, full=False)
        ctl = _control_truth(s)
        gse = None
        if goose:
            gse = s.server_call("goose_burst", iface="lo", count=4, interval=0.05)
        c.conclude()
        pcap, truth = s.finish()
        truth["reports"] = rep
        truth["controls"] = ctl
        if gse:
            truth["goose"] = gse
        _files_truth(truth)
        return pcap, truth


#: The ACSE password of the security scenario (it travels in clear: the analysis must mask it).
SECURITY_PASSWORD = "harness-Pa55word"
#: Source address of the client the security scenario's allowlist does not name.
OUTSIDER_IP = "127.0.0.2"


def _oper(ctl_val, ctl_num):
    return {"ctlVal": (ctl_val, "bool"), "ctlNum": (ctl_num, "uint"), "T": (int(time.time() * 1000), "utc"),
            "Test": (False, "bool"), "Check": ("00", "bits"),
            "origin.orCat": (3, "int"), "origin.orIdent": (b"mmsanalyze".hex(), "octets")}


def security(outdir=None, netns=None):
    """Security posture traffic.

    * ``auth``: ACSE password authentication; a write, a select-before-operate of
      CSWI1 (SBOw then Oper), a read, conclude;
    * ``wrongpw``: a password the server refuses (association rejected);
    * ``anon``: no authentication; a write, a direct operate of CSWI2 (direct with
      enhanced security), an Operate of CSWI1 (SBO with enhanced security) without a
      select, a fileDelete, conclude;
    * ``outsider``: no authentication, from a second source address
      (:data:`OUTSIDER_IP`); a read, conclude.
    """
    pos1, pos2 = "CSWI1$CO$Pos", "CSWI2$CO$Pos"
    with Session("security", outdir, netns, files=True, server_password=SECURITY_PASSWORD) as s:
        a = s.client("auth")
        a.connect(password=SECURITY_PASSWORD)
        a.write(LD0, "GGIO1$SP$SetPt1$setMag$f", 12.5)
        a.op("getVariableAccessAttributes", domain=CTRL, item=pos1 + "$Oper")
        a.op("writeStruct", domain=CTRL, item=pos1 + "$SBOw", spec_item=pos1 + "$Oper", fields=_oper(True, 1),
             label="SelectWithValue")
        a.op("writeStruct", domain=CTRL, item=pos1 + "$Oper", fields=_oper(True, 1), label="Operate")
        time.sleep(0.2)
        a.read(CTRL, "CSWI1$ST$Pos$stVal")
        a.conclude()
        a.exit()
        w = s.client("wrongpw")
        w.connect(password="not-the-password")
        w.exit()
        b = s.client("anon")
        b.connect()
        b.write(LD0, "GGIO1$SP$SetPt1$setMag$f", 13.5)
        b.op("getVariableAccessAttributes", domain=CTRL, item=pos2 + "$Oper")
        b.op("getVariableAccessAttributes", domain=CTRL, item=pos1 + "$Oper")
        b.op("writeStruct", domain=CTRL, item=pos2 + "$Oper", fields=_oper(True, 2), label="Operate")
        b.op("writeStruct", domain=CTRL, item=pos1 + "$Oper", fields=_oper(False, 3),
             label="Operate (SBO object, not selected)")
        b.op("fileDelete", name="obsolete.tmp")
        time.sleep(0.2)
        b.conclude()
        b.exit()
        x = s.client("outsider")
        x.connect(local_ip=OUTSIDER_IP)
        x.read(LD0, "GGIO1$ST$Ind1$stVal")
        x.conclude()
        x.exit()
        pcap, truth = s.finish()
        truth["security"] = {"password": SECURITY_PASSWORD, "outsider_ip": OUTSIDER_IP,
                             "auth_attempts": truth["server"]["stats"].get("auth_attempts", [])}
        _rewrite_truth(truth)
        return pcap, truth


def security_clean(outdir=None, netns=None):
    """Browsing and reads only, one anonymous client from the usual address: nothing to flag."""
    with Session("security_clean", outdir, netns) as s:
        c = s.client()
        c.connect()
        steps_browse(c, full=False)
        steps_reads(c, full=False)
        c.conclude()
        return s.finish()


def _files_truth(truth):
    before = truth.get("files", {}).get("server_root_before", {})
    served = []
    for op in truth["operations"]:
        if op["op"] == "fileOpen" and op.get("download"):
            name = op["args"]["fileName"]
            served.append({"file": name, "size": before.get(name, {}).get("size"),
                           "sha256": before.get(name, {}).get("sha256"),
                           "client_bytes": op["download"]["bytes"],
                           "client_sha256": op["download"]["sha256"]})
    truth.setdefault("files", {})["served"] = served
    after = truth["files"].get("server_root_after", {})
    obtained = []
    for op in truth["operations"]:
        if op["op"] == "obtainFile":
            import hashlib
            from .files import UPLOAD
            src = UPLOAD if op["args"]["sourceFile"] == "upload/settings_new.xml" else None
            dst = op["args"]["destinationFile"]
            obtained.append({"source": op["args"]["sourceFile"], "destination": dst,
                             "source_size": len(src) if src else None,
                             "source_sha256": hashlib.sha256(src).hexdigest() if src else None,
                             "server_has": after.get(dst)})
            # while the obtainFile request is outstanding the *server* reads the file
            # from the client: fileOpen, fileRead (one PDU: the file is < 1 KB), fileClose
            op["peer_requests"] = [{"op": "fileOpen", "direction": "server->client",
                                    "args": {"fileName": op["args"]["sourceFile"]}},
                                   {"op": "fileRead", "direction": "server->client"},
                                   {"op": "fileClose", "direction": "server->client"}]
    truth["files"]["obtained"] = obtained
    truth["files"]["server_file_access"] = truth["server"]["stats"].get("file_access", [])
    _rewrite_truth(truth)


def _rewrite_truth(truth):
    import json
    from pathlib import Path
    p = truth.get("truth_file")
    if p:
        Path(p).write_text(json.dumps({k: v for k, v in truth.items() if k != "truth_file"},
                                      indent=1, default=str))


SCENARIOS = {
    "basic_services": basic_services,
    "reports": reports,
    "files": files,
    "controls": controls,
    "abort": abort,
    "fin": fin,
    "rst": rst,
    "connection_ends": connection_ends,
    "demo": demo,
    "security": security,
    "security_clean": security_clean,
}


def main(argv=None):
    """``python -m iec.scenarios NAME [OUTDIR]`` -- run one scenario, print a summary."""
    import json
    import sys
    argv = argv if argv is not None else sys.argv[1:]
    name = argv[0] if argv else "basic_services"
    outdir = argv[1] if len(argv) > 1 else None
    t = time.time()
    pcap, truth = SCENARIOS[name](outdir)
    print(json.dumps({"pcap": pcap, "truth": truth.get("truth_file"),
                      "operations": len(truth["operations"]),
                      "seconds": round(time.time() - t, 2)}, indent=1))


if __name__ == "__main__":
    main()
