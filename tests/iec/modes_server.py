"""libiec61850 IED server with Mode/Behaviour semantics (IEC 61850-7-4 Annex A), for the
``modes`` scenario.  Runs like :mod:`iec.server` (``python -m iec.modes_server --port 102``,
JSON lines on stdin/stdout) and adds the commands ``goose`` and ``set_beh``.

Data model (IED ``MODES``, MMS domain ``MODESLD0``)::

    LLN0   Mod (ENC, direct-normal: the handler applies Annex A) Beh Health NamPlt;
           data sets Modes (Mod/Beh/Health of every LN, LPHD1.Sim, GGIO1.Ind1),
           GseDS (GGIO1.Ind1.stVal, GGIO1.Ind1.q); URCB urcbModes (RptID MODES/Modes,
           no data references: members are named from the data set)
    LPHD1  PhyNam PhyHealth Proxy Sim
    PTOC1  Mod Beh Health  -- deliberately faulty: its Beh follows only its own Mod,
           never the LD's (a "stuck" LN)
    CSWI1  Mod Beh; Pos (DPC direct-normal): strict check handler -- refuses with
           AddCause blocked-by-mode when Beh is off or Test=true outside test(/blocked)
    GGIO1  Beh (no own Mod) Ind1; SPCSO1 (SPC direct-normal): sloppy check handler --
           accepts whatever the mode, refuses only in off, with AddCause
           blocked-by-interlocking

The server keeps a chronological log (``stats()["modes"]``) of what it did: every
Mod operate it accepted, every Beh it set (and why), every control check with its
result and AddCause, every value update, and every GOOSE message it published.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import lib as L
from .server import DemoServer, _b

IED = "MODES"
LD = IED + "LD0"
MODE_NAMES = {1: "on", 2: "on-blocked", 3: "test", 4: "test/blocked", 5: "off"}
ADD_CAUSE_BLOCKED_BY_MODE = 8
ADD_CAUSE_BLOCKED_BY_INTERLOCKING = 10
LNS = ("LLN0", "PTOC1", "CSWI1", "GGIO1")
OWN_MOD = ("LLN0", "PTOC1", "CSWI1")

GoosePublisher_setSimulation = L._fn("GoosePublisher_setSimulation", None, L.p, L.c_bool)


def annex_a(ld_mod: int, ln_mod: int | None) -> int:
    """Beh from LD Mod and LN Mod (the server's own implementation of 7-4 Annex A)."""
    ln_mod = 1 if ln_mod is None else ln_mod
    if 5 in (ld_mod, ln_mod):
        return 5
    test = ld_mod in (3, 4) or ln_mod in (3, 4)
    blocked = ld_mod in (2, 4) or ln_mod in (2, 4)
    return 4 if test and blocked else 3 if test else 2 if blocked else 1


class ModesServer(DemoServer):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.mod = {"LLN0": 1, "PTOC1": 1, "CSWI1": 1}
        self.beh = {ln: 1 for ln in LNS}
        self.log: list[dict] = []
        self.gse = None
        self.gse_st = 0

    def _mlog(self, kind, **kw):
        rec = {"t": time.time(), "kind": kind, **kw}
        with self.lock:
            self.log.append(rec)
        return rec

    # ---------------------------------------------------------------- model
    def build_model(self):
        m = L.IedModel_create(_b(IED))
        self.model = m
        ld = L.LogicalDevice_create(b"LD0", m)
        mod_ctl = L.CTL_MODEL_DIRECT_NORMAL | L.CTL_OPTION_ORIGIN | L.CTL_OPTION_CTL_NUM
        lln0 = L.LogicalNode_create(b"LLN0", ld)
        L.CDC_ENC_create(b"Mod", lln0, 0, mod_ctl)
        L.CDC_ENS_create(b"Beh", lln0, 0)
        L.CDC_ENS_create(b"Health", lln0, 0)
        L.CDC_LPL_create(b"NamPlt", lln0, L.CDC_OPTION_AC_LN0_M)
        lphd = L.LogicalNode_create(b"LPHD1", ld)
        L.CDC_DPL_create(b"PhyNam", lphd, 0)
        L.CDC_ENS_create(b"PhyHealth", lphd, 0)
        L.CDC_SPS_create(b"Proxy", lphd, 0)
        L.CDC_SPS_create(b"Sim", lphd, 0)
        ptoc = L.LogicalNode_create(b"PTOC1", ld)
        L.CDC_ENC_create(b"Mod", ptoc, 0, mod_ctl)
        L.CDC_ENS_create(b"Beh", ptoc, 0)
        L.CDC_ENS_create(b"Health", ptoc, 0)
        cswi = L.LogicalNode_create(b"CSWI1", ld)
        L.CDC_ENC_create(b"Mod", cswi, 0, mod_ctl)
        L.CDC_ENS_create(b"Beh", cswi, 0)
        L.CDC_DPC_create(b"Pos", cswi, 0, L.CTL_MODEL_DIRECT_NORMAL | L.CTL_OPTION_ORIGIN | L.CTL_OPTION_CTL_NUM)
        ggio = L.LogicalNode_create(b"GGIO1", ld)
        L.CDC_ENS_create(b"Beh", ggio, 0)
        L.CDC_SPS_create(b"Ind1", ggio, 0)
        L.CDC_SPC_create(b"SPCSO1", ggio, 0, L.CTL_MODEL_DIRECT_NORMAL | L.CTL_OPTION_ORIGIN
                         | L.CTL_OPTION_CTL_NUM)
        ds = L.DataSet_create(b"Modes", lln0)
        for ref in (b"LLN0$ST$Mod", b"LLN0$ST$Beh", b"LLN0$ST$Health", b"LPHD1$ST$Sim", b"PTOC1$ST$Mod",
                    b"PTOC1$ST$Beh", b"CSWI1$ST$Mod", b"CSWI1$ST$Beh", b"GGIO1$ST$Beh", b"GGIO1$ST$Ind1"):
            L.DataSetEntry_create(ds, ref, -1, None)
        gds = L.DataSet_create(b"GseDS", lln0)
        for ref in (b"GGIO1$ST$Ind1$stVal", b"GGIO1$ST$Ind1$q"):
            L.DataSetEntry_create(gds, ref, -1, None)
        L.ReportControlBlock_create(b"urcbModes", lln0, b"MODES/Modes", False, b"Modes", 1,
                                    L.TRG_DCHG | L.TRG_QCHG | L.TRG_GI,
                                    L.RPT_SEQ_NUM | L.RPT_REASON | L.RPT_DATA_SET | L.RPT_CONF_REV, 0, 0)
        return m

    # ------------------------------------------------------------ handlers
    def _install_handlers(self):
        srv = self.server

        def set_beh(ln, value, why):
            if self.beh[ln] == value:
                return
            self.beh[ln] = value
            self._mlog("beh", ln=ln, value=MODE_NAMES[value], why=why)     # logged before it can be reported
            L.IedServer_updateInt32AttributeValue(srv, self.node(f"{LD}/{ln}.Beh.stVal"), value)

        self.set_beh = set_beh

        def make_mod_handler(ln):
            def ch(action, param, ctl_val, test):
                v = L.mms_value_to_py(ctl_val)
                self._mlog("mod", ln=ln, value=MODE_NAMES.get(v, v), test=bool(test),
                           ctl_num=L.ControlAction_getCtlNum(action))
                self.mod[ln] = v
                L.IedServer_updateInt32AttributeValue(srv, self.node(f"{LD}/{ln}.Mod.stVal"), v)
                ld_mod = self.mod["LLN0"]
                for x in LNS:
                    if x == "PTOC1" and ln == "LLN0":
                        continue                       # the stuck LN ignores its LD
                    if x == "LLN0":
                        new = ld_mod
                    elif x == "PTOC1":
                        new = self.mod["PTOC1"]
                    else:
                        new = annex_a(ld_mod, self.mod.get(x))
                    if x == ln or ln == "LLN0":
                        set_beh(x, new, f"{ln}.Mod={MODE_NAMES[v]}")
                return L.CONTROL_RESULT_OK
            h = L.ControlHandler(ch)
            self._keep.append(h)
            return h

        def mod_check(action, param, ctl_val, test, interlock):
            v = L.mms_value_to_py(ctl_val)
            return L.CONTROL_ACCEPTED if v in MODE_NAMES else L.CONTROL_OBJECT_ACCESS_DENIED
        mod_check_h = L.ControlPerformCheckHandler(mod_check)
        self._keep.append(mod_check_h)
        for ln in OWN_MOD:
            do = self.node(f"{LD}/{ln}.Mod")
            L.IedServer_setControlHandler(srv, do, make_mod_handler(ln), None)
            L.IedServer_setPerformCheckHandler(srv, do, mod_check_h, None)

        def make_check(ln, policy):
            def ck(action, param, ctl_val, test, interlock):
                beh = MODE_NAMES[self.beh[ln]]
                cause = None
                if policy == "strict" and (beh == "off" or (test and beh not in ("test", "test/blocked"))):
                    cause = ADD_CAUSE_BLOCKED_BY_MODE
                elif policy == "sloppy" and beh == "off":
                    cause = ADD_CAUSE_BLOCKED_BY_INTERLOCKING
                if cause is not None:
                    L.ControlAction_setAddCause(action, cause)
                self._mlog("check", ln=ln, test=bool(test), beh=beh, ctl_val=L.mms_value_to_py(ctl_val),
                           ctl_num=L.ControlAction_getCtlNum(action),
                           result="accepted" if cause is None else "refused", add_cause=cause)
                return L.CONTROL_ACCEPTED if cause is None else L.CONTROL_OBJECT_ACCESS_DENIED
            h = L.ControlPerformCheckHandler(ck)
            self._keep.append(h)
            return h

        def make_operate(ref, dbpos):
            def ch(action, param, ctl_val, test):
                v = L.mms_value_to_py(ctl_val)
                self._mlog("operate", ref=ref, ctl_val=v, test=bool(test))
                if dbpos:
                    L.IedServer_updateDbposValue(srv, self.node(ref + ".stVal"), L.DBPOS_ON if v else L.DBPOS_OFF)
                else:
                    L.IedServer_updateBooleanAttributeValue(srv, self.node(ref + ".stVal"), bool(v))
                return L.CONTROL_RESULT_OK
            h = L.ControlHandler(ch)
            self._keep.append(h)
            return h

        for ln, ref, policy, dbpos in (("CSWI1", f"{LD}/CSWI1.Pos", "strict", True),
                                       ("GGIO1", f"{LD}/GGIO1.SPCSO1", "sloppy", False)):
            do = self.node(ref)
            L.IedServer_setControlHandler(srv, do, make_operate(ref, dbpos), None)
            L.IedServer_setPerformCheckHandler(srv, do, make_check(ln, policy), None)

    def initial_values(self):
        for ln in OWN_MOD:
            self._set(f"{LD}/{ln}.Mod.stVal", "int", 1)
        for ln in LNS:
            self._set(f"{LD}/{ln}.Beh.stVal", "int", 1)
        for ref in ("LLN0.Health", "PTOC1.Health", "LPHD1.PhyHealth"):
            self._set(f"{LD}/{ref}.stVal", "int", 1)
        self._set(f"{LD}/LPHD1.Sim.stVal", "bool", False)
        self._set(f"{LD}/CSWI1.Pos.stVal", "dbpos", L.DBPOS_OFF)
        self._set(f"{LD}/LLN0.NamPlt.vendor", "str", "mmsanalyze")
        self._mlog("initial", mod={k: MODE_NAMES[v] for k, v in self.mod.items()},
                   beh={k: MODE_NAMES[v] for k, v in self.beh.items()})

    def stats(self):
        st = super().stats()
        with self.lock:
            st["modes"] = list(self.log)
        return st

    # ------------------------------------------------------------ commands
    def update_logged(self, ref, kind, value):
        """A server-side value change (logged first; Beh changes also update the server's Beh view)."""
        rec = self._mlog("update", ref=ref, type=kind, value=value)
        ln = ref.split("/", 1)[1].split(".", 1)[0]
        if ref.endswith(".Beh.stVal"):
            self.beh[ln] = int(value)
        L.IedServer_lockDataModel(self.server)
        try:
            self._set(ref, kind, value)
        finally:
            L.IedServer_unlockDataModel(self.server)
        return rec

    def goose(self, iface="lo", simulation=False, test=False, count=2, interval=0.05):
        """Publish ``count`` GOOSE messages of MODESLD0/LLN0$GO$gcbModes (GseDS: Ind1.stVal,
        Ind1.q) with the simulation flag and the quality test bit as given."""
        if self.gse is None:
            cp = L.CommParameters()
            cp.vlanPriority, cp.vlanId, cp.appId = 4, 0, 0x3001
            for i, b in enumerate((0x01, 0x0C, 0xCD, 0x01, 0x00, 0x30)):
                cp.dstAddress[i] = b
            self.gse = L.GoosePublisher_create(L.ctypes.byref(cp), _b(iface))
            if not self.gse:
                raise RuntimeError("GoosePublisher_create failed")
            L.GoosePublisher_setGoCbRef(self.gse, _b(LD + "/LLN0$GO$gcbModes"))
            L.GoosePublisher_setGoID(self.gse, b"MODES/gcbModes")
            L.GoosePublisher_setDataSetRef(self.gse, _b(LD + "/LLN0$GseDS"))
            L.GoosePublisher_setConfRev(self.gse, 1)
            L.GoosePublisher_setTimeAllowedToLive(self.gse, 2000)
        GoosePublisher_setSimulation(self.gse, bool(simulation))
        sent = []
        for i in range(count):
            q = L.MmsValue_newBitString(13)
            if test:
                L.MmsValue_setBitStringBit(q, 11, True)
            lst = L.LinkedList_create()
            L.LinkedList_add(lst, L.MmsValue_newBoolean(bool(i % 2)))
            L.LinkedList_add(lst, q)
            if self.gse_st:
                L.GoosePublisher_increaseStNum(self.gse)
            self.gse_st += 1
            rc = L.GoosePublisher_publish(self.gse, lst)
            sent.append(self._mlog("goose", simulation=bool(simulation), test=bool(test), st_num=self.gse_st,
                                   rc=rc))
            time.sleep(interval)
        return sent


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=102)
    ap.add_argument("--bind", default=None)
    ap.add_argument("--files", default=None)
    a = ap.parse_args(argv)
    srv = ModesServer(a.port, None, a.bind, None)
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
            cmd = req.pop("cmd", None)
            if cmd == "update":
                res = srv.update_logged(req["ref"], req.get("type", "int"), req["value"])
            elif cmd == "goose":
                res = srv.goose(**req)
            elif cmd == "stats":
                res = srv.stats()
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
