"""libiec61850 IED server worker (runs in its own process).

Start with ``python -m iec.server --port 102 --files DIR`` (``tests/`` on
``sys.path``).  The process builds the demo data model (see ``build_model``),
starts the server and then serves JSON-line commands on stdin, one JSON reply
per line on stdout:

    {"cmd": "update", "ref": "DEMOLD0/GGIO1.Ind1.stVal", "type": "bool", "value": true}
    {"cmd": "stats"}
    {"cmd": "goose_burst", "iface": "lo", "count": 5}
    {"cmd": "stop"}

The first line written is ``{"ready": true, ...}`` once the server listens.

Data model (IED name ``DEMO``; MMS domains ``DEMOLD0`` and ``DEMOCTRL``)::

    DEMOLD0/LLN0   Mod Beh Health NamPlt; data sets Events, Measurements;
                   URCB urcbEvents01 (RptID "DEMO/Events", Events),
                   BRCB brcbMeas01 (RptID "DEMO/Meas", Measurements),
                   GoCB gcbEvents (Events)
    DEMOLD0/LPHD1  PhyNam PhyHealth Proxy
    DEMOLD0/GGIO1  Beh Ind1 Ind2 AnIn1 SPCSO1(direct-normal) SetPt1(ASG)
                   IntSet1(ING, write handler: range 0..100 -> object-value-invalid)
                   Locked1(ING, write handler: always object-access-denied)
    DEMOLD0/MMXU1  Beh TotW Hz
    DEMOCTRL/LLN0  Mod Beh Health NamPlt
    DEMOCTRL/CSWI1 Pos (DPC, sbo-with-enhanced-security, Cancel)
    DEMOCTRL/CSWI2 Pos (DPC, direct-with-enhanced-security; interlock check -> denied)
    DEMOCTRL/XCBR1 Pos (DPC, status-only)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

from . import lib as L

IED = "DEMO"
LD0 = IED + "LD0"
CTRL = IED + "CTRL"


def _b(s):
    return s.encode() if isinstance(s, str) else s


class DemoServer:
    def __init__(self, port: int, files: str | None, bind: str | None = None,
                 goose_iface: str | None = None, password: str | None = None):
        self.port = port
        self.password = password                # ACSE password authentication (None: no check)
        self.auth_attempts: list[dict] = []
        self.files = files
        self.bind = bind
        self.goose_iface = goose_iface
        self.lock = threading.Lock()
        self.events: list[dict] = []            # chronological server-side log
        self.reports_created: dict[str, int] = {}
        self.rcb_events: list[dict] = []
        self.write_handler_calls: list[dict] = []
        self.control_actions: list[dict] = []
        self.file_access: list[dict] = []
        self.connections: list[dict] = []
        self._keep = []                         # keep ctypes callbacks alive
        self.model = None
        self.server = None

    # ---------------------------------------------------------------- model
    def build_model(self):
        m = L.IedModel_create(_b(IED))
        self.model = m
        std = L.CDC_OPTION_DESC

        # ---- LD0
        ld0 = L.LogicalDevice_create(b"LD0", m)
        lln0 = L.LogicalNode_create(b"LLN0", ld0)
        L.CDC_ENC_create(b"Mod", lln0, 0, L.CTL_MODEL_NONE)
        L.CDC_ENS_create(b"Beh", lln0, 0)
        L.CDC_ENS_create(b"Health", lln0, 0)
        L.CDC_LPL_create(b"NamPlt", lln0, L.CDC_OPTION_AC_LN0_M | std)
        lphd = L.LogicalNode_create(b"LPHD1", ld0)
        L.CDC_DPL_create(b"PhyNam", lphd, L.CDC_OPTION_DPL_MODEL | L.CDC_OPTION_DPL_SERNUM
                         | L.CDC_OPTION_DPL_SWREV)
        L.CDC_ENS_create(b"PhyHealth", lphd, 0)
        L.CDC_SPS_create(b"Proxy", lphd, 0)
        ggio = L.LogicalNode_create(b"GGIO1", ld0)
        L.CDC_ENS_create(b"Beh", ggio, 0)
        L.CDC_SPS_create(b"Ind1", ggio, std)
        L.CDC_SPS_create(b"Ind2", ggio, 0)
        L.CDC_MV_create(b"AnIn1", ggio, L.CDC_OPTION_UNIT, False)
        L.CDC_SPC_create(b"SPCSO1", ggio, 0, L.CTL_MODEL_DIRECT_NORMAL | L.CTL_OPTION_ORIGIN
                         | L.CTL_OPTION_CTL_NUM)
        L.CDC_ASG_create(b"SetPt1", ggio, 0, False)
        L.CDC_ING_create(b"IntSet1", ggio, 0)
        L.CDC_ING_create(b"Locked1", ggio, 0)
        mmxu = L.LogicalNode_create(b"MMXU1", ld0)
        L.CDC_ENS_create(b"Beh", mmxu, 0)
        L.CDC_MV_create(b"TotW", mmxu, L.CDC_OPTION_UNIT, False)
        L.CDC_MV_create(b"Hz", mmxu, 0, False)

        ds = L.DataSet_create(b"Events", lln0)
        for ref in (b"GGIO1$ST$Ind1", b"GGIO1$ST$Ind2", b"GGIO1$ST$SPCSO1"):
            L.DataSetEntry_create(ds, ref, -1, None)
        ds2 = L.DataSet_create(b"Measurements", lln0)
        for ref in (b"MMXU1$MX$TotW", b"MMXU1$MX$Hz", b"GGIO1$MX$AnIn1$mag"):
            L.DataSetEntry_create(ds2, ref, -1, None)

        opts_u = (L.RPT_SEQ_NUM | L.RPT_TIME_STAMP | L.RPT_REASON | L.RPT_DATA_SET
                  | L.RPT_CONF_REV | L.RPT_DATA_REF)
        opts_b = (L.RPT_SEQ_NUM | L.RPT_TIME_STAMP | L.RPT_REASON | L.RPT_DATA_SET
                  | L.RPT_CONF_REV | L.RPT_ENTRY_ID | L.RPT_BUF_OVFL)
        trg = L.TRG_DCHG | L.TRG_QCHG | L.TRG_INTEGRITY | L.TRG_GI
        L.ReportControlBlock_create(b"urcbEvents01", lln0, b"DEMO/Events", False, b"Events",
                                    1, trg, opts_u, 0, 0)
        L.ReportControlBlock_create(b"brcbMeas01", lln0, b"DEMO/Meas", True, b"Measurements",
                                    1, trg, opts_b, 50, 0)
        gcb = L.GSEControlBlock_create(b"gcbEvents", lln0, b"DEMO/gcbEvents", b"Events", 1,
                                       False, 20, 2000)
        dst = (L.c_uint8 * 6)(0x01, 0x0C, 0xCD, 0x01, 0x00, 0x01)
        L.GSEControlBlock_addPhyComAddress(gcb, L.PhyComAddress_create(4, 0, 0x1001, dst))

        # ---- CTRL
        ldc = L.LogicalDevice_create(b"CTRL", m)
        lln0c = L.LogicalNode_create(b"LLN0", ldc)
        L.CDC_ENC_create(b"Mod", lln0c, 0, L.CTL_MODEL_NONE)
        L.CDC_ENS_create(b"Beh", lln0c, 0)
        L.CDC_ENS_create(b"Health", lln0c, 0)
        L.CDC_LPL_create(b"NamPlt", lln0c, L.CDC_OPTION_AC_LN0_M)
        ctl_opts = (L.CTL_OPTION_ORIGIN | L.CTL_OPTION_CTL_NUM | L.CTL_OPTION_ST_SELD
                    | L.CTL_OPTION_SBO_TIMEOUT | L.CTL_OPTION_OP_RCVD | L.CTL_OPTION_OP_OK)
        cswi1 = L.LogicalNode_create(b"CSWI1", ldc)
        L.CDC_DPC_create(b"Pos", cswi1, 0, L.CTL_MODEL_SBO_ENHANCED | L.CTL_HAS_CANCEL | ctl_opts)
        cswi2 = L.LogicalNode_create(b"CSWI2", ldc)
        L.CDC_DPC_create(b"Pos", cswi2, 0, L.CTL_MODEL_DIRECT_ENHANCED | L.CTL_OPTION_ORIGIN
                         | L.CTL_OPTION_CTL_NUM)
        xcbr = L.LogicalNode_create(b"XCBR1", ldc)
        L.CDC_DPC_create(b"Pos", xcbr, 0, L.CTL_MODEL_NONE)
        return m

    def node(self, ref: str):
        n = L.IedModel_getModelNodeByObjectReference(self.model, _b(ref))
        if not n:
            raise KeyError(ref)
        return n

    # ------------------------------------------------------------ callbacks
    def _log(self, kind, **kw):
        rec = {"t": time.time(), "kind": kind, **kw}
        with self.lock:
            self.events.append(rec)
        return rec

    def _install_handlers(self):
        srv = self.server

        def rcb_event(param, rcb, conn, event, pname, serr):
            name = (L.ReportControlBlock_getName(rcb) or b"").decode()
            ev = L.RCB_EVENTS.get(event, str(event))
            if event == L.RCB_EVENT_REPORT_CREATED:
                with self.lock:
                    self.reports_created[name] = self.reports_created.get(name, 0) + 1
            rec = {"t": time.time(), "rcb": name, "event": ev,
                   "param": pname.decode() if pname else None,
                   "error": L.DATA_ACCESS_ERRORS.get(serr)}
            with self.lock:
                self.rcb_events.append(rec)
        h = L.RCBEventHandler(rcb_event)
        self._keep.append(h)
        L.IedServer_setRCBEventHandler(srv, h, None)

        def conn_ind(server, conn, connected, param):
            peer = L.ClientConnection_getPeerAddress(conn)
            rec = {"t": time.time(), "peer": peer.decode() if peer else None,
                   "connected": bool(connected)}
            with self.lock:
                self.connections.append(rec)
        h = L.ConnectionIndicationHandler(conn_ind)
        self._keep.append(h)
        L.IedServer_setConnectionIndicationHandler(srv, h, None)

        # write handlers
        def make_write_handler(ref, policy):
            def wh(da, value, conn, param):
                v = L.mms_value_to_py(value)
                if policy == "deny":
                    res = L.DAE["object-access-denied"]
                elif policy == "range":
                    ok = isinstance(v, int) and 0 <= v <= 100
                    res = L.DATA_ACCESS_ERROR_SUCCESS if ok else L.DAE["object-value-invalid"]
                else:
                    res = L.DATA_ACCESS_ERROR_SUCCESS
                with self.lock:
                    self.write_handler_calls.append({"t": time.time(), "ref": ref, "value": v,
                                                     "result": L.DATA_ACCESS_ERRORS.get(res) or "success"})
                return res
            h = L.WriteAccessHandler(wh)
            self._keep.append(h)
            return h
        for ref, pol in ((LD0 + "/GGIO1.IntSet1.setVal", "range"),
                         (LD0 + "/GGIO1.Locked1.setVal", "deny")):
            L.IedServer_handleWriteAccess(srv, self.node(ref), make_write_handler(ref, pol), None)

        # controls
        def make_control_handler(ref):
            def ch(action, param, ctlVal, test):
                v = L.mms_value_to_py(ctlVal)
                ctl_num = L.ControlAction_getCtlNum(action)
                with self.lock:
                    self.control_actions.append({"t": time.time(), "ref": ref, "phase": "operate",
                                                 "ctlVal": v, "ctlNum": ctl_num, "test": bool(test)})
                st = ref + ".stVal"
                if "Pos" in ref:
                    L.IedServer_updateDbposValue(srv, self.node(st), L.DBPOS_ON if v else L.DBPOS_OFF)
                else:
                    L.IedServer_updateBooleanAttributeValue(srv, self.node(st), bool(v))
                L.IedServer_updateUTCTimeAttributeValue(srv, self.node(ref + ".t"), int(time.time() * 1000))
                return L.CONTROL_RESULT_OK
            h = L.ControlHandler(ch)
            self._keep.append(h)
            return h

        def make_check_handler(ref, deny_interlock):
            def ck(action, param, ctlVal, test, interlock):
                sel = bool(L.ControlAction_isSelect(action))
                res = L.CONTROL_ACCEPTED
                if deny_interlock and interlock:
                    res = L.CONTROL_OBJECT_ACCESS_DENIED
                    L.ControlAction_setAddCause(action, 10)  # AddCause 10 = Blocked-by-interlocking
                with self.lock:
                    self.control_actions.append({"t": time.time(), "ref": ref,
                                                 "phase": "select-check" if sel else "check",
                                                 "ctlVal": L.mms_value_to_py(ctlVal),
                                                 "interlockCheck": bool(interlock),
                                                 "result": "accepted" if res == L.CONTROL_ACCEPTED
                                                 else "object-access-denied"})
                return res
            h = L.ControlPerformCheckHandler(ck)
            self._keep.append(h)
            return h

        for ref, deny in ((CTRL + "/CSWI1.Pos", False), (CTRL + "/CSWI2.Pos", True),
                          (LD0 + "/GGIO1.SPCSO1", False)):
            do = self.node(ref)
            L.IedServer_setControlHandler(srv, do, make_control_handler(ref), None)
            L.IedServer_setPerformCheckHandler(srv, do, make_check_handler(ref, deny), None)

        # file service
        def fah(param, conn, service, local, other):
            svc = L.FILE_SERVICES.get(service, str(service))
            local_s = local.decode() if local else None
            res = L.MMS_ERROR_NONE
            if svc in ("fileDelete", "fileRename") and local_s and os.path.basename(local_s) == "readme.txt":
                res = L.MMS_ERROR_FILE_FILE_ACCESS_DENIED
            with self.lock:
                self.file_access.append({"t": time.time(), "service": svc, "file": local_s,
                                         "other": other.decode() if other else None,
                                         "handler_result": L.mms_error(res)[1] or "accepted"})
            return res
        h = L.FileAccessHandler(fah)
        self._keep.append(h)
        L.MmsServer_installFileAccessHandler(L.IedServer_getMmsServer(srv), h, None)

    # --------------------------------------------------------------- server
    def initial_values(self):
        now = int(time.time() * 1000)
        upd = [
            (LD0 + "/LLN0.NamPlt.vendor", "str", "mmsanalyze"),
            (LD0 + "/LLN0.NamPlt.swRev", "str", "1.0"),
            (LD0 + "/LLN0.NamPlt.d", "str", "demo IED for the mmsanalyze test harness"),
            (LD0 + "/LLN0.NamPlt.configRev", "str", "rev-1"),
            (LD0 + "/LLN0.Mod.stVal", "int", 1),
            (LD0 + "/LLN0.Beh.stVal", "int", 1),
            (LD0 + "/LLN0.Health.stVal", "int", 1),
            (LD0 + "/LPHD1.PhyNam.vendor", "str", "mmsanalyze"),
            (LD0 + "/LPHD1.PhyNam.model", "str", "DEMO-IED"),
            (LD0 + "/LPHD1.PhyNam.serNum", "str", "SN-0001"),
            (LD0 + "/LPHD1.PhyNam.swRev", "str", L.LibIEC61850_getVersionString().decode()),
            (LD0 + "/LPHD1.PhyHealth.stVal", "int", 1),
            (LD0 + "/GGIO1.Ind1.d", "str", "Indication 1"),
            (LD0 + "/GGIO1.AnIn1.mag.f", "float", 42.5),
            (LD0 + "/GGIO1.SetPt1.setMag.f", "float", 10.0),
            (LD0 + "/GGIO1.IntSet1.setVal", "int", 5),
            (LD0 + "/GGIO1.Locked1.setVal", "int", 7),
            (LD0 + "/MMXU1.TotW.mag.f", "float", 1234.5),
            (LD0 + "/MMXU1.Hz.mag.f", "float", 50.0),
            (CTRL + "/LLN0.NamPlt.vendor", "str", "mmsanalyze"),
            (CTRL + "/LLN0.NamPlt.configRev", "str", "rev-1"),
            (CTRL + "/CSWI1.Pos.stVal", "dbpos", L.DBPOS_OFF),
            (CTRL + "/CSWI2.Pos.stVal", "dbpos", L.DBPOS_OFF),
            (CTRL + "/XCBR1.Pos.stVal", "dbpos", L.DBPOS_OFF),
        ]
        for ref, kind, val in upd:
            self.update(ref, kind, val, with_time=False)
        for ref in ("GGIO1.Ind1", "GGIO1.Ind2", "GGIO1.SPCSO1", "MMXU1.TotW", "MMXU1.Hz",
                    "GGIO1.AnIn1"):
            self._set(LD0 + "/" + ref + ".t", "utc", now)
        for ref in ("CSWI1.Pos", "CSWI2.Pos", "XCBR1.Pos"):
            self._set(CTRL + "/" + ref + ".t", "utc", now)

    def _set(self, ref, kind, val):
        s, n = self.server, self.node(ref)
        if kind == "bool":
            L.IedServer_updateBooleanAttributeValue(s, n, bool(val))
        elif kind == "float":
            L.IedServer_updateFloatAttributeValue(s, n, float(val))
        elif kind == "int":
            L.IedServer_updateInt32AttributeValue(s, n, int(val))
        elif kind == "dbpos":
            L.IedServer_updateDbposValue(s, n, int(val))
        elif kind == "utc":
            L.IedServer_updateUTCTimeAttributeValue(s, n, int(val))
        elif kind == "str":
            L.IedServer_updateVisibleStringAttributeValue(s, n, _b(val))
        elif kind == "quality":
            L.IedServer_updateQuality(s, n, int(val))
        else:
            raise ValueError(kind)

    def update(self, ref, kind, val, with_time=True):
        L.IedServer_lockDataModel(self.server)
        try:
            if with_time:
                base = ref.rsplit(".", 1)[0]
                while base.count(".") > 1:           # e.g. MMXU1.TotW.mag.f -> MMXU1.TotW
                    base = base.rsplit(".", 1)[0]
                try:
                    self._set(base + ".t", "utc", int(time.time() * 1000))
                except KeyError:
                    pass
            self._set(ref, kind, val)
        finally:
            L.IedServer_unlockDataModel(self.server)
        return self._log("update", ref=ref, type=kind, value=val)

    def start(self):
        self.build_model()
        cfg = L.IedServerConfig_create()
        L.IedServerConfig_setReportBufferSize(cfg, 100000)
        L.IedServerConfig_setMaxMmsConnections(cfg, 5)
        L.IedServerConfig_enableDynamicDataSetService(cfg, True)
        if self.files:
            L.IedServerConfig_enableFileService(cfg, True)
            L.IedServerConfig_setFileServiceBasePath(cfg, _b(os.path.join(self.files, "")))
        self.server = L.IedServer_createWithConfig(self.model, None, cfg)
        L.IedServer_setServerIdentity(self.server, b"mmsanalyze", b"DEMO-IED",
                                      L.LibIEC61850_getVersionString())
        if self.files:
            L.IedServer_setFilestoreBasepath(self.server, _b(os.path.join(self.files, "")))
        if self.bind:
            L.IedServer_setLocalIpAddress(self.server, _b(self.bind))
        if self.goose_iface:
            L.IedServer_setGooseInterfaceId(self.server, _b(self.goose_iface))
        # DC (descriptions) writable in addition to the library defaults (CF, SP, SV, SE)
        L.IedServer_setWriteAccessPolicy(self.server, L.FC["DC"], L.ACCESS_POLICY_ALLOW)
        self._install_handlers()
        if self.password is not None:
            self._install_authenticator()
        self.initial_values()
        L.IedServer_start(self.server, self.port)
        if not L.IedServer_isRunning(self.server):
            raise RuntimeError(f"IedServer failed to listen on port {self.port}")

    def _install_authenticator(self):
        """Accept associations without authentication, and password ones with the right password.

        Every attempt (mechanism, accepted) goes into the truth; the password is not recorded."""
        want = self.password.encode()

        def auth(param, ap, token, app_ref):
            mech = L.AcseAuthenticationParameter_getAuthMechanism(ap)
            ok = mech == L.ACSE_AUTH_NONE
            if mech == L.ACSE_AUTH_PASSWORD:
                n = L.AcseAuthenticationParameter_getPasswordLength(ap)
                ptr = L.AcseAuthenticationParameter_getPassword(ap)
                got = L.ctypes.string_at(ptr, n) if ptr and n > 0 else b""
                ok = got == want
            with self.lock:
                self.auth_attempts.append({"t": time.time(), "mechanism": L.ACSE_AUTH_NAMES.get(mech, str(mech)),
                                           "accepted": bool(ok)})
            return bool(ok)
        h = L.AcseAuthenticator(auth)
        self._keep.append(h)
        L.IedServer_setAuthenticator(self.server, h, None)

    def stop(self):
        if self.server:
            L.IedServer_stop(self.server)

    def stats(self):
        with self.lock:
            return {
                "reports_created": dict(self.reports_created),
                "rcb_events": list(self.rcb_events),
                "write_handler_calls": list(self.write_handler_calls),
                "control_actions": list(self.control_actions),
                "file_access": list(self.file_access),
                "connections": list(self.connections),
                "auth_attempts": list(self.auth_attempts),
                "events": list(self.events),
                "open_connections": L.IedServer_getNumberOfOpenConnections(self.server),
            }

    # ---------------------------------------------------------------- GOOSE
    def goose_burst(self, iface="lo", count=5, interval=0.05, appid=0x1001):
        """Publish ``count`` GOOSE messages with a standalone GoosePublisher.

        Every message is a state change (stNum increments, sqNum restarts);
        returns what was sent so the truth can list it.
        """
        cp = L.CommParameters()
        cp.vlanPriority = 4
        cp.vlanId = 0
        cp.appId = appid
        for i, b in enumerate((0x01, 0x0C, 0xCD, 0x01, 0x00, 0x01)):
            cp.dstAddress[i] = b
        pub = L.GoosePublisher_create(L.ctypes.byref(cp), _b(iface))
        if not pub:
            raise RuntimeError("GoosePublisher_create failed (needs root / AF_PACKET)")
        # deliberately *not* the model's gcbEvents: this is a standalone publisher with
        # synthetic values (BOOLEAN, INTEGER, FLOAT32)
        gocb = LD0 + "/LLN0$GO$gcbBurst"
        goid = "DEMO/gcbBurst"
        dset = LD0 + "/LLN0$BurstDS"
        L.GoosePublisher_setGoCbRef(pub, _b(gocb))
        L.GoosePublisher_setGoID(pub, _b(goid))
        L.GoosePublisher_setDataSetRef(pub, _b(dset))
        L.GoosePublisher_setConfRev(pub, 1)
        L.GoosePublisher_setTimeAllowedToLive(pub, 2000)
        sent = []
        for i in range(count):
            vals = [bool(i % 2), i, float(i) * 1.5]
            lst = L.LinkedList_create()
            objs = [L.MmsValue_newBoolean(vals[0]), L.MmsValue_newIntegerFromInt32(vals[1]),
                    L.MmsValue_newFloat(vals[2])]
            for o in objs:
                L.LinkedList_add(lst, o)
            if i:
                L.GoosePublisher_increaseStNum(pub)
            rc = L.GoosePublisher_publish(pub, lst)
            sent.append({"t": time.time(), "stNum": i + 1, "sqNum": 0, "values": vals, "rc": rc})
            time.sleep(interval)
        L.GoosePublisher_destroy(pub)
        return {"gocbRef": gocb, "goID": goid, "datSet": dset, "confRev": 1,
                "timeAllowedToLive": 2000, "appid": appid, "vlan_priority": 4, "vlan_id": 0,
                "dst": "01:0c:cd:01:00:01", "iface": iface, "messages": sent}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=102)
    ap.add_argument("--files", default=None)
    ap.add_argument("--bind", default=None)
    ap.add_argument("--goose-iface", default=None)
    ap.add_argument("--password", default=None, help="ACSE password the server checks (anonymous still allowed)")
    a = ap.parse_args(argv)
    srv = DemoServer(a.port, a.files, a.bind, a.goose_iface, a.password)
    out = sys.stdout

    def reply(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    try:
        srv.start()
    except Exception as e:  # pragma: no cover - reported to the parent
        reply({"ready": False, "error": repr(e)})
        return 1
    reply({"ready": True, "port": a.port, "pid": os.getpid(),
           "version": L.LibIEC61850_getVersionString().decode()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            cmd = req.get("cmd")
            if cmd == "update":
                res = srv.update(req["ref"], req.get("type", "bool"), req["value"],
                                 req.get("with_time", True))
            elif cmd == "stats":
                res = srv.stats()
            elif cmd == "goose_burst":
                res = srv.goose_burst(req.get("iface", "lo"), req.get("count", 5),
                                      req.get("interval", 0.05))
            elif cmd == "stop":
                st = srv.stats()
                srv.stop()
                reply({"ok": True, "result": st})
                return 0
            else:
                raise ValueError(f"unknown command {cmd!r}")
            reply({"ok": True, "result": res})
        except Exception as e:
            reply({"ok": False, "error": repr(e)})
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
