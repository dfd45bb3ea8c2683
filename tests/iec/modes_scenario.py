"""The ``modes`` scenario: Mod/Beh/test/simulation against :mod:`iec.modes_server`.

A client learns the data sets (getNamedVariableListAttributes), enables a report
of the Modes data set, then writes ``LLN0.Mod`` to test, test/blocked, on-blocked,
off and on; after each change it reads every Beh and operates CSWI1.Pos (strict
LN) and GGIO1.SPCSO1 (sloppy LN) with ``Test=false`` and ``Test=true``.  The server
meanwhile makes GGIO1.Beh contradict the hierarchy once, raises Health to
warning, sets LPHD1.Sim, and publishes GOOSE plain, with the quality test bit,
simulated while Sim is false, and simulated while Sim is true.  At the end CSWI1
is put in test/blocked and left there.

``truth["modes"]`` is the server's log (:class:`iec.modes_server.ModesServer`);
``truth["operations"]`` the client's operations.
"""
from __future__ import annotations

import time

from .capture import Session

LD = "MODESLD0"
MODES = {"on": 1, "on-blocked": 2, "test": 3, "test/blocked": 4, "off": 5}
BEHS = ["LLN0$ST$Beh$stVal", "PTOC1$ST$Beh$stVal", "CSWI1$ST$Beh$stVal", "GGIO1$ST$Beh$stVal"]


def run(outdir=None, netns=None):
    with Session("modes", outdir, netns, goose=True, server_module="iec.modes_server") as s:
        c = s.client()
        c.connect()
        num = iter(range(1, 1000))
        now = lambda: int(time.time() * 1000)  # noqa: E731
        orig = {"origin.orCat": (3, "int"), "origin.orIdent": (b"mmsanalyze".hex(), "octets")}

        def oper(ctl_val, kind, test):
            f = {"ctlVal": (ctl_val, kind), "ctlNum": (next(num), "uint"), "T": (now(), "utc"),
                 "Test": (test, "bool"), "Check": ("00", "bits")}
            f.update(orig)
            return f

        def set_mod(ln, mode):
            c.op("writeStruct", domain=LD, item=f"{ln}$CO$Mod$Oper", fields=oper(MODES[mode], "int", False),
                 label=f"Mod={mode}")

        def controls():
            for test in (False, True):
                c.op("writeStruct", domain=LD, item="CSWI1$CO$Pos$Oper", fields=oper(True, "bool", test),
                     label=f"Pos Test={test}")
                c.op("writeStruct", domain=LD, item="GGIO1$CO$SPCSO1$Oper", fields=oper(True, "bool", test),
                     label=f"SPCSO1 Test={test}")

        c.op("getNamedVariableListAttributes", domain=LD, name="LLN0$Modes")
        c.op("getNamedVariableListAttributes", domain=LD, name="LLN0$GseDS")
        for item in ("LLN0$CO$Mod$Oper", "PTOC1$CO$Mod$Oper", "CSWI1$CO$Mod$Oper", "CSWI1$CO$Pos$Oper",
                     "GGIO1$CO$SPCSO1$Oper"):
            c.op("getVariableAccessAttributes", domain=LD, item=item)
        c.write(LD, "LLN0$RP$urcbModes$RptEna", True)
        c.write(LD, "LLN0$RP$urcbModes$GI", True)
        c.op("readMultiple", domain=LD, items=BEHS)
        c.read(LD, "LPHD1$ST$Sim$stVal")
        c.read(LD, "LLN0$ST$Mod")                                   # the whole DO: stVal first
        controls()
        s.server_call("goose", simulation=False, test=False)
        s.server_call("goose", simulation=False, test=True)          # test data while Beh on
        s.server_call("goose", simulation=True, test=False)          # simulated while Sim false
        for mode in ("test", "test/blocked", "on-blocked", "off", "on"):
            set_mod("LLN0", mode)
            time.sleep(0.3)
            c.op("readMultiple", domain=LD, items=BEHS)
            controls()
            if mode == "test/blocked":                               # a buggy IED: GGIO1 back to on
                s.server_call("update", ref=f"{LD}/GGIO1.Beh.stVal", type="int", value=1)
                time.sleep(0.2)
                c.read(LD, "GGIO1$ST$Beh$stVal")
        s.server_call("update", ref=f"{LD}/LLN0.Health.stVal", type="int", value=2)
        time.sleep(0.2)
        s.server_call("update", ref=f"{LD}/LLN0.Health.stVal", type="int", value=1)
        s.server_call("update", ref=f"{LD}/LPHD1.Sim.stVal", type="bool", value=True)
        time.sleep(0.2)
        c.read(LD, "LPHD1$ST$Sim$stVal")
        s.server_call("goose", simulation=True, test=False)          # simulated while Sim true
        set_mod("CSWI1", "test/blocked")                             # left in test/blocked
        time.sleep(0.3)
        c.read(LD, "CSWI1$ST$Beh$stVal")
        controls()
        time.sleep(0.3)
        c.info_reports()
        c.conclude()
        pcap, truth = s.finish()
        truth["server"]["ied"] = "MODES"
        truth["server"]["domains"] = [LD]
        truth["modes"] = truth["server"]["stats"].get("modes", [])
        return pcap, truth


if __name__ == "__main__":
    import json
    import sys
    p, t = run(sys.argv[1] if len(sys.argv) > 1 else None)
    print(json.dumps({"pcap": p, "log": t["modes"]}, indent=1, default=str))
