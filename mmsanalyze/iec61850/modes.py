"""IED operating state over time: Mode, Behaviour, Health, test and simulation.

IEC 61850-7-4 (Ed.2, 6.2 and Annex A): every logical node (LN) has a Behaviour
``Beh`` (read only) that results from its own Mode ``Mod`` and the Mode of its
logical device (``LLN0.Mod``).  Values (ENUMERATED ``BehaviourModeKind``)::

    1 on   2 on-blocked   3 test   4 test/blocked   5 off

In on / on-blocked an LN ignores data whose quality has the test bit set (it is
processed as invalid); in test and test/blocked it processes it; in off nothing
is processed.  Control commands carry a ``Test`` flag: one with ``Test=true`` is
only executed by an LN in test or test/blocked, and no command is executed in off
(the refusal has AddCause ``blocked-by-mode``).  Simulation is a separate axis
(7-4 LPHD.Sim, 8-1 GOOSE ``simulation`` / the L2 header's simulate bit, 9-2 SV
simulate bit): simulated frames are used only by an IED whose ``LPHD.Sim`` is true,
and they replace the real ones there.

:class:`ModeTracker` turns the decoded traffic into

* observations (:meth:`ModeTracker.states`): Mod/Beh/Health/Sim values seen in read
  responses and reports, Mod/Sim changes requested by writes of ``$CO$Mod$Oper``
  / ``$SBOw`` with their outcome (transaction status, LastApplError AddCause,
  CommandTermination), other controls with their ``Test`` flag, and the runs of
  test-flagged or simulated GOOSE / SV / report data;
* intervals per (server, LD, LN) (:meth:`ModeTracker.intervals`) with the Beh
  derived from the hierarchy (``beh_expected``) beside the observed one;
* findings (:meth:`ModeTracker.findings`), each naming the frames that prove it.

Names come from the MMS names themselves (``LLN0$ST$Mod$stVal``,
``LPHD1$ST$Sim$stVal``, ``$CO$Mod$Oper``), from report data references, and from
the data set member lists learned from ``getNamedVariableListAttributes``
responses (and ``defineNamedVariableList`` requests) earlier in the capture, so
that report members and GOOSE ``allData`` positions can be named.  A
:class:`Namer` (e.g. one built from SCL) can add what the wire does not carry.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from ..findings import Finding

__all__ = ["ModeTracker", "Namer", "behaviour", "quality_test", "MODES", "HEALTH", "BEH_TEST", "CODES",
           "FOLLOW_TIMEOUT_S", "STATE_COLUMNS", "MODE_COLUMNS", "FINDING_COLUMNS"]

#: BehaviourModeKind (IEC 61850-7-4 Ed.2 Table 7 / 7-3 ENS/ENC of Mod and Beh).
MODES = {1: "on", 2: "on-blocked", 3: "test", 4: "test/blocked", 5: "off"}
_MODE_NAMES = frozenset(MODES.values())
#: HealthKind (7-4 / 7-3 ENS Health).
HEALTH = {1: "ok", 2: "warning", 3: "alarm"}
#: Behaviours in which test-flagged data and ``Test=true`` commands are processed.
BEH_TEST = frozenset({"test", "test/blocked"})
#: Behaviours that are not the normal one (an IED should not be left in them).
BEH_ABNORMAL = frozenset({"on-blocked", "test", "test/blocked", "off"})
#: Seconds within which Beh must follow an accepted Mod change (default of
#: ``ModeTracker(follow_timeout=...)`` and ``modes --follow-timeout``).
FOLLOW_TIMEOUT_S = 5.0
#: Quality is a 13-bit BVSTRING (7-3 6.2); bit 11 is ``test`` (bit 0 first).
QUALITY_BITS = 13
QUALITY_TEST_BIT = 11
#: 9-2LE 32-bit quality word: the same bit numbered from the least significant bit.
SV_QUALITY_TEST_MASK = 1 << 11
#: Deepest structure searched for quality values inside one data set member.
MAX_QUALITY_DEPTH = 6
#: Frames listed in a finding's ``frames`` (the message says how many there are).
MAX_FINDING_FRAMES = 20

#: Every finding code with its severity and meaning (registered once).
CODES = {
    "iec61850.mode.beh_not_followed": ("warning", "a Mod change was accepted but Beh did not follow to the value "
                                                  "Annex A gives (within the follow timeout) or followed to another"),
    "iec61850.mode.beh_hierarchy": ("warning", "a Beh value contradicts the LD/LN hierarchy (Annex A): e.g. LD in "
                                               "test and an LN reporting on"),
    "iec61850.mode.left_abnormal": ("warning", "an LD/LN is still on-blocked, test, test/blocked or off at the end "
                                               "of the capture"),
    "iec61850.mode.health": ("warning", "Health is warning or alarm"),
    "iec61850.test.data_while_on": ("warning", "test-flagged data (quality test bit) sent by an LD whose Beh is "
                                               "on or on-blocked"),
    "iec61850.test.data": ("note", "test-flagged data (quality test bit) sent: only receivers in test or "
                                   "test/blocked process it"),
    "iec61850.sim.ignored": ("warning", "simulated GOOSE/SV sent while the IEDs seen have LPHD.Sim false: they "
                                        "ignore it"),
    "iec61850.sim.traffic": ("warning", "simulated GOOSE/SV on the network: IEDs whose LPHD.Sim is true use it "
                                        "instead of the real data"),
    "iec61850.control.test_not_in_test": ("warning", "a control with Test=true accepted by an LN whose Beh is not "
                                                     "test or test/blocked (or a control accepted in off)"),
    "iec61850.control.blocked_by_mode": ("note", "a control rejected with AddCause blocked-by-mode"),
    "iec61850.control.rejected_other_cause": ("warning", "a control the mode forbids was rejected with an AddCause "
                                                         "other than blocked-by-mode"),
}

STATE_COLUMNS = {
    "time": ("float64", "time of the observation (response / report / GOOSE frame) or of the request, epoch seconds"),
    "frame": ("Int64", "frame of the observation or request"),
    "stream": ("Int64", "TCP stream (MMS), null for GOOSE/SV"),
    "server": ("string", "IED address: MMS server 'addr:port', GOOSE/SV source MAC"),
    "ied": ("string", "IED name when known (Namer / SCL), else null"),
    "ld": ("string", "logical device (MMS domain; for GOOSE/SV the domain of gocbRef / datSet, else svID)"),
    "ln": ("string", "logical node (LLN0, LPHD1, CSWI1 ...); for GOOSE the control block 'LLN0$GO$name'"),
    "attribute": ("string", "Mod, Beh, Health, Sim (LPHD.Sim), q.test (quality test bit), simulation (GOOSE/SV simulation flag) or control (an operate of another control object, with its Test flag)"),
    "value": ("string", "on, on-blocked, test, test/blocked, off; ok, warning, alarm; true/false; for control the ctlVal"),
    "kind": ("string", "requested (write / control request) or observed (read response, report, CommandTermination, GOOSE, SV)"),
    "source": ("string", "read, report, write, command-termination, goose or sv"),
    "action": ("string", "requests: operate, select-with-value, cancel or write"),
    "test": ("boolean", "the control's Test flag (requests of $Oper/$SBOw)"),
    "outcome": ("string", "requests: ok, error, rejected, unanswered ...; command-termination: positive / negative"),
    "error_code": ("string", "DataAccessError / '<class>/<code>' of a refused request"),
    "add_cause": ("string", "AddCause of the LastApplError / negative CommandTermination for this request"),
    "response_frame": ("Int64", "requests: frame of the response"),
    "reference": ("string", "the MMS name observed or written ('LD/LN$FC$DO$DA'), or the data set member"),
    "count": ("Int64", "GOOSE/SV/report runs: messages in the run (this value until it changes); 1 otherwise"),
    "last_frame": ("Int64", "GOOSE/SV/report runs: frame of the last message of the run"),
}

MODE_COLUMNS = {
    "server": ("string", "IED address (MMS server 'addr:port' or GOOSE/SV source MAC)"),
    "ied": ("string", "IED name when known"),
    "ld": ("string", "logical device"),
    "ln": ("string", "logical node (LLN0 stands for the LD)"),
    "start": ("float64", "interval start, epoch seconds"),
    "end": ("float64", "interval end (next change or end of capture), epoch seconds"),
    "start_frame": ("Int64", "frame of the observation / request that started the interval"),
    "mod": ("string", "Mod of this LN: last observed value or accepted request (null when unknown)"),
    "beh": ("string", "Beh last observed for this LN (null when unknown)"),
    "health": ("string", "Health last observed (ok, warning, alarm)"),
    "sim": ("boolean", "LPHD.Sim of the IED (same server) last observed"),
    "beh_expected": ("string", "Beh derived (7-4 Annex A) from the LD's Mod (LLN0) and this LN's Mod"),
    "beh_mismatch": ("bool", "beh and beh_expected are both known and differ"),
    "simulated_traffic": ("bool", "this publisher sends GOOSE/SV with the simulation flag in the interval"),
    "test_traffic": ("bool", "data with the quality test bit is sent from this LD in the interval"),
    "cause": ("string", "what started the interval: '<source> <attribute>=<value>'"),
}

FINDING_COLUMNS = {
    "time": ("float64", "time of that event (the end of the capture for left_abnormal), epoch seconds"),
    "frame": ("Int64", "frame of the event the finding is about (request, observation, first message of a run)"),
    "severity": ("string", "warning | note"),
    "code": ("string", "iec61850.mode.*, iec61850.test.*, iec61850.sim.*, iec61850.control.*"),
    "server": ("string", "IED address"),
    "ld": ("string", "logical device"),
    "ln": ("string", "logical node (or control block)"),
    "frames": ("object", "sorted list of the frames that prove it: the event and the observations it is judged against (at most 20)"),
    "message": ("string", "one human line"),
}


def behaviour(ld_mod: str | None, ln_mod: str | None) -> str | None:
    """Beh of an LN from the Mod of its LD and its own Mod (IEC 61850-7-4 Annex A).

    ``None`` for an unknown Mod; an LN without own Mod (``ln_mod=None``) follows its
    LD.  off wins; then test and blocked combine into test/blocked::

        LD \\ LN      on           on-blocked    test          test/blocked  off
        on           on           on-blocked    test          test/blocked  off
        on-blocked   on-blocked   on-blocked    test/blocked  test/blocked  off
        test         test         test/blocked  test          test/blocked  off
        test/blocked test/blocked test/blocked  test/blocked  test/blocked  off
        off          off          off           off           off           off
    """
    if ln_mod is not None and ln_mod not in _MODE_NAMES:
        return None                                   # not a BehaviourModeKind: nothing to derive
    if ld_mod is None or ld_mod not in _MODE_NAMES:
        return "off" if ln_mod == "off" else None
    if ln_mod is None:
        ln_mod = "on"
    both = (ld_mod, ln_mod)
    if "off" in both:
        return "off"
    test = any(m in ("test", "test/blocked") for m in both)
    blocked = any(m in ("on-blocked", "test/blocked") for m in both)
    if test and blocked:
        return "test/blocked"
    if test:
        return "test"
    if blocked:
        return "on-blocked"
    return "on"


def quality_test(v, depth: int = 0) -> bool:
    """True when ``v`` is, or contains, a 13-bit quality bit-string with the test bit set."""
    if isinstance(v, dict):
        bits = v.get("bits")
        return isinstance(bits, str) and len(bits) == QUALITY_BITS and bits[QUALITY_TEST_BIT] == "1"
    if isinstance(v, list) and depth < MAX_QUALITY_DEPTH:
        return any(quality_test(x, depth + 1) for x in v)
    return False


class Namer:
    """Naming hook: what the wire does not say (e.g. from SCL; see issue 12).

    Subclass and override; the default knows nothing.  :class:`ModeTracker` asks it
    only when the capture itself (data references, learned data set member lists)
    does not name a thing.
    """

    def ied_name(self, address: str) -> str | None:
        """IED name of an IP address or MAC address ('aa:bb:..'), or None."""
        return None

    def fcda(self, ref: str, index: int) -> str | None:
        """Member ``index`` (0-based) of the data set ``ref`` ('LD/LLN0$DataSet') or of the
        data set of the GOOSE/SV control block ``ref`` ('LD/LLN0$GO$gcb'), as
        'LD/LN$FC$DO[$DA]', or None."""
        return None


# -- MMS names -> (ld, ln, attribute, shape) ------------------------------------------------------

_ST_DOS = {"Mod": "Mod", "Beh": "Beh", "Health": "Health", "PhyHealth": "Health", "Sim": "Sim"}
_CO_DOS = ("Mod", "Sim")
_CO_ACTIONS = {"Oper": "operate", "SBOw": "select-with-value", "Cancel": "cancel"}


def parse_reference(name: str | None):
    """``'LD/LLN0$ST$Mod$stVal'`` -> ``('LD', 'LLN0', 'Mod', 'leaf')``; None if not a state attribute.

    shape: ``leaf`` (the value is stVal), ``do`` (the value is the DO structure,
    stVal first), ``q`` (the DO's quality), ``Oper``/``SBOw``/``Cancel`` (control).
    """
    if not name or "/" not in name:
        return None
    ld, item = name.split("/", 1)
    parts = item.split("$")
    if len(parts) < 3:
        return None
    ln, fc, do = parts[0], parts[1], parts[2]
    if fc == "ST" and do in _ST_DOS:
        attr = _ST_DOS[do]
        if (attr == "Sim" or do == "PhyHealth") and "LPHD" not in ln:
            return None
        if len(parts) == 3:
            return ld, ln, attr, "do"
        if len(parts) == 4 and parts[3] in ("stVal", "q"):
            return ld, ln, attr, "leaf" if parts[3] == "stVal" else "q"
        return None
    if fc == "CO" and do in _CO_DOS and len(parts) == 4 and parts[3] in _CO_ACTIONS:
        if do == "Sim" and "LPHD" not in ln:
            return None
        return ld, ln, do, parts[3]
    return None


def _value_name(attr, v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if attr in ("Mod", "Beh") and isinstance(v, int):
        return MODES.get(v, str(v))
    if attr == "Health" and isinstance(v, int):
        return HEALTH.get(v, str(v))
    if attr == "Sim" and isinstance(v, int):
        return "true" if v else "false"
    return None if v is None else str(v)


def _is_quality(x):
    return isinstance(x, dict) and isinstance(x.get("bits"), str) and len(x["bits"]) == QUALITY_BITS


def _stval(shape, v):
    """stVal of a leaf, of a DO's ST structure, or ctlVal of an Oper/SBOw/Cancel structure.

    A controllable DO's ST structure starts with origin and ctlNum (7-3 ENC, SPC:
    origin, ctlNum, stVal, q, t ...): stVal is the component just before the first
    quality; a status DO starts with stVal.
    """
    if shape == "leaf":
        return v
    if not isinstance(v, list) or not v:
        return None
    if shape == "do":
        i = next((k for k, x in enumerate(v) if _is_quality(x)), None)
        x = v[i - 1] if i else v[0]
        return None if isinstance(x, (list, dict)) else x
    if shape in ("Oper", "SBOw", "Cancel"):
        return v[0]
    return None


def oper_test(v) -> bool | None:
    """The ``Test`` flag of an Oper/SBOw/Cancel structure value (7-2 / 8-1 Table 101).

    Oper = ctlVal, [operTm], origin, ctlNum, T, Test, Check; the origin is the first
    structure after ctlVal.
    """
    if not isinstance(v, list) or len(v) < 5:
        return None
    origin = next((i for i in range(1, min(len(v), 3)) if isinstance(v[i], list)), None)
    if origin is None or origin + 3 >= len(v):
        return None
    t = v[origin + 3]
    return t if isinstance(t, bool) else None


def _short(v):
    if isinstance(v, dict) and "bits" in v:
        return v["bits"]
    s = str(v)
    return s if len(s) <= 40 else s[:39] + "\u2026"


@dataclass(slots=True)
class _Pending:
    """A Mod change whose Beh has to follow: key -> expected Beh."""
    time: float
    frame: int
    reference: str
    expected: str
    old: str | None
    wrong: list


class ModeTracker:
    """Operating-state engine: feed it the capture's tables, then ask for rows.

    Args:
        namer: optional :class:`Namer` (IED names, data set members from SCL).
        follow_timeout: seconds within which Beh must follow an accepted Mod change.

    Feed with :meth:`add_data_sets`, :meth:`add_mms`, :meth:`add_reports`,
    :meth:`add_goose`, :meth:`add_sv` (any order), then :meth:`finish` with the
    capture's last time; read :meth:`states`, :meth:`intervals`, :meth:`findings`.
    """

    def __init__(self, namer: Namer | None = None, follow_timeout: float = FOLLOW_TIMEOUT_S):
        self.namer = namer or Namer()
        self.follow_timeout = float(follow_timeout)
        #: data set reference 'LD/LLN0$DS' -> member names learned from the capture
        self.data_sets: dict[str, list[str]] = {}
        self._rows: list[dict] = []
        self._intervals: list[dict] = []
        self._findings: list[dict] = []
        self._done = False
        self._had_true: set = set()   # run keys that had a flag set (their end is a row too)

    # -- input --------------------------------------------------------------------------------
    def add_data_sets(self, txns) -> None:
        """Learn data set member lists from getNamedVariableListAttributes responses and
        defineNamedVariableList requests (``txns``: :func:`~mmsanalyze.analysis.transactions.match_transactions`)."""
        from ..analysis._mms import object_name_text, service_body
        for t in txns:
            if t.service == "getNamedVariableListAttributes" and t.request is not None and t.response is not None:
                q, r = t.request.decoded(), t.response.decoded()
                if q is None or r is None or r.pdu != "confirmed-ResponsePDU":
                    continue
                name = object_name_text(service_body(q))
                body = service_body(r)
                members = _members(body.get("listOfVariable") if isinstance(body, dict) else None)
            elif t.service == "defineNamedVariableList" and t.request is not None and t.response is not None \
                    and t.response.pdu == "confirmed-ResponsePDU":
                q = t.request.decoded()
                body = service_body(q) if q is not None else None
                if not isinstance(body, dict):
                    continue
                name = object_name_text(body.get("variableListName"))
                members = _members(body.get("listOfVariable"))
            else:
                continue
            if name and members:
                self.data_sets[name] = members

    def member(self, data_set: str | None, index: int, gocb: str | None = None) -> str | None:
        """Name of member ``index`` of ``data_set``: learned list first, then the Namer."""
        if data_set:
            m = self.data_sets.get(data_set)
            if m is not None and 0 <= index < len(m):
                return m[index]
            n = self.namer.fcda(data_set, index)
            if n:
                return n
        if gocb:
            return self.namer.fcda(gocb, index)
        return None

    def _ied(self, server):
        if not server:
            return None
        addr = server.rsplit(":", 1)[0].strip("[]") if server.count(":") == 1 or server.startswith("[") \
            else server
        return self.namer.ied_name(addr)

    def _row(self, **kw):
        r = dict.fromkeys(STATE_COLUMNS)
        r.update(kw)
        r["ied"] = self._ied(r["server"])
        if r["count"] is None:
            r["count"] = 1
        self._rows.append(r)

    def add_mms(self, txns, controls, conns=None) -> None:
        """Reads, writes and controls: ``txns`` (Transaction objects) and the controls table."""
        from ..analysis._table import endpoint
        from ..analysis.controls import _write_value
        conns = conns or {}
        ctl = {}
        if controls is not None and len(controls):
            for c in controls.to_dict("records"):
                if c["action"] in ("command-termination", "last-appl-error"):
                    self._control_report(c)
                else:
                    ctl[(c["stream"], c["frame"])] = c
        for t in txns:
            req, rsp = t.request, t.response
            if t.service not in ("read", "write"):
                continue
            rec = req or rsp
            c = conns.get(t.stream)
            if c is not None:
                server = endpoint(c.server)
            else:
                a = (rec.dst, rec.dport) if rec.direction == 0 else (rec.src, rec.sport)
                server = endpoint(a)
            if t.service == "read" and req is not None and rsp is not None and rsp.pdu == "confirmed-ResponsePDU":
                self._read(t, server)
            elif t.service == "write" and req is not None:
                self._write(t, server, _write_value(req), ctl.get((t.stream, req.frame)))

    def _read(self, t, server):
        q, r = t.request.decoded(), t.response.decoded()
        if q is None or r is None:
            return
        names = list(q.variables)
        res = list(r.access_results or ())
        if len(names) == 1 and len(res) > 1 and names[0] in self.data_sets:
            names = self.data_sets[names[0]]                       # read of a data set
        if len(names) != len(res):
            return
        rsp = t.response
        for name, v in zip(names, res):
            p = parse_reference(name)
            if p is None or (isinstance(v, dict) and "failure" in v):
                continue
            ld, ln, attr, shape = p
            if shape not in ("leaf", "do"):
                continue
            val = _value_name(attr, _stval(shape, v))
            if val is None:
                continue
            self._row(time=rsp.time, frame=rsp.frame, stream=t.stream, server=server, ld=ld, ln=ln,
                      attribute=attr, value=val, kind="observed", source="read", reference=name)

    def _write(self, t, server, value, ctl):
        req, rsp = t.request, t.response
        q = req.decoded()
        if q is None or len(q.variables) != 1:
            return
        name = q.variables[0]
        p = parse_reference(name)
        status, code, cause = None, None, None
        if ctl is not None:
            status, code, cause = ctl["result"], ctl["error_code"], ctl["add_cause"]
        else:
            status, code = _write_status(t)
        base = dict(time=req.time, frame=req.frame, stream=t.stream, server=server, kind="requested",
                    source="write", outcome=status, error_code=code, add_cause=cause,
                    response_frame=rsp.frame if rsp is not None else None, reference=name)
        if p is not None:
            ld, ln, attr, shape = p
            if shape == "q":
                return
            action = _CO_ACTIONS.get(shape, "write")
            val = _value_name(attr, _stval(shape, value))
            self._row(ld=ld, ln=ln, attribute=attr, value=val, action=action,
                      test=oper_test(value) if shape in _CO_ACTIONS else None, **base)
            return
        if ctl is None or ctl["action"] not in ("operate", "select-with-value"):
            return
        obj = ctl["object"] or ""
        if "/" not in obj:
            return
        ld, item = obj.split("/", 1)
        self._row(ld=ld, ln=item.split("$", 1)[0], attribute="control", value=_short(ctl["ctl_val"]),
                  action=ctl["action"], test=oper_test(value), **base)

    def _control_report(self, c):
        if c["action"] != "command-termination":
            return
        obj = c["object"] or ""
        p = parse_reference(obj + "$Oper") if obj else None
        if p is None:
            return
        ld, ln, attr, _ = p
        self._row(time=c["time"], frame=c["frame"], stream=c["stream"], server=c["server"], ld=ld, ln=ln,
                  attribute=attr, value=_value_name(attr, c["ctl_val"]), kind="observed",
                  source="command-termination", action="operate", outcome=c["result"], add_cause=c["add_cause"],
                  reference=obj + "$Oper")

    def add_reports(self, reports) -> None:
        """Report members (reassembled reports table): Mod/Beh/Health/Sim values and quality test bits."""
        if reports is None or not len(reports):
            return
        runs: dict = {}
        for r in reports.to_dict("records"):
            ds = r.get("dataset")
            refs = r.get("data_refs") or []
            idx = r.get("member_index") or []
            vals = r.get("values") or []
            flagged = None
            for k, v in enumerate(vals):
                ref = refs[k] if k < len(refs) else None
                if not ref and k < len(idx):
                    ref = self.member(ds, idx[k])
                p = parse_reference(ref)
                if p is not None and p[3] in ("leaf", "do"):
                    ld, ln, attr, shape = p
                    val = _value_name(attr, _stval(shape, v))
                    if val is not None:
                        self._row(time=r["time"], frame=r["frame"], stream=r["stream"], server=r["server"], ld=ld,
                                  ln=ln, attribute=attr, value=val, kind="observed", source="report", reference=ref)
                if flagged is None and quality_test(v):
                    flagged = ref or f"{ds or r.get('rpt_id')}[{idx[k] if k < len(idx) else k}]"
            key = (r["stream"], r.get("rpt_id"))
            # the LD: of the data set, else of an RptID that is an RCB reference ('LD/LLN0$...')
            ld = (ds or "").split("/", 1)[0] or _ld_of(r.get("rpt_id") if "$" in str(r.get("rpt_id")) else None)
            self._run(runs, key, flagged is not None, r["time"], r["frame"],
                      dict(stream=r["stream"], server=r["server"], ld=ld or _ld_of(flagged), ln=_ln_of(flagged),
                           attribute="q.test", source="report", reference=flagged))
        self._close_runs(runs)

    def add_goose(self, goose) -> None:
        """GOOSE table: simulation flag (goosePdu ``simulation`` or the header simulate bit) and
        quality test bits in allData, as runs per control block."""
        if goose is None or not len(goose):
            return
        import pandas as pd
        sim_runs: dict = {}
        test_runs: dict = {}
        cuts = self._state_changes()
        cols = ["time", "frame", "src_mac", "gocb_ref", "dat_set", "simulation", "sim_bit", "values"]
        for time_, frame, src, gocb, ds, sim, sim_bit, values in goose[cols].itertuples(index=False, name=None):
            gocb = gocb if isinstance(gocb, str) else None
            ds = ds if isinstance(ds, str) else None
            ld, ln = _split_cb(gocb)
            base = dict(stream=None, server=src, ld=ld, ln=ln)
            s = bool(sim_bit) or (sim is not None and sim is not pd.NA and bool(sim))
            self._run(sim_runs, ("sim", src, gocb), s, time_, frame,
                      dict(base, attribute="simulation", source="goose", reference=gocb), emit_false=True,
                      cuts=cuts)
            flagged = None
            if isinstance(values, list):
                for k, v in enumerate(values):
                    if quality_test(v):
                        flagged = self.member(ds, k, gocb) or f"{ds or gocb}[{k}]"
                        break
            self._run(test_runs, ("test", src, gocb), flagged is not None, time_, frame,
                      dict(base, attribute="q.test", source="goose", reference=flagged), cuts=cuts)
        self._close_runs(sim_runs)
        self._close_runs(test_runs)

    def add_sv(self, sv, samples=None) -> None:
        """SV table (simulate bit) and, for 9-2LE, the samples' quality words (test bit)."""
        if sv is None or not len(sv):
            return
        import numpy as np
        t = sv[["time", "frame", "src_mac", "sv_id", "dat_set", "sim_bit"]]
        test = np.zeros(len(t), dtype=bool)
        if samples is not None and len(samples) == len(t):
            qcols = [c for c in samples.columns if c.startswith("q_")]
            if qcols:
                q = samples[qcols].to_numpy(dtype=np.int64)
                test = (q & SV_QUALITY_TEST_MASK).any(axis=1)
        cuts = self._state_changes()
        groups = t.groupby(["src_mac", "sv_id"], sort=False, observed=True, dropna=False).indices
        for (src, sv_id), idx in groups.items():
            idx = np.asarray(idx)
            sub = t.iloc[idx]
            src, sv_id = str(src), str(sv_id)
            ds = sub["dat_set"].iloc[0]
            ds = ds if isinstance(ds, str) else None
            ld = ds.split("/", 1)[0] if ds and "/" in ds else sv_id
            base = dict(stream=None, server=src, ld=ld, ln=sv_id)
            for attr, flags, emit_false in (("simulation", sub["sim_bit"].to_numpy(dtype=bool), True),
                                            ("q.test", test[idx], False)):
                epoch = np.searchsorted(np.asarray(cuts, dtype=float), sub["time"].to_numpy(), side="right")
                change = np.flatnonzero(np.concatenate(([True], (flags[1:] != flags[:-1])
                                                        | (epoch[1:] != epoch[:-1]))))
                ends = np.concatenate((change[1:], [len(flags)]))
                times, frames = sub["time"].to_numpy(), sub["frame"].to_numpy()
                seen_true = False
                for a, b in zip(change, ends):
                    on = bool(flags[a])
                    seen_true |= on
                    if not on and not emit_false and not seen_true:
                        continue
                    self._row(time=float(times[a]), frame=int(frames[a]), attribute=attr,
                              value="true" if on else "false", kind="observed", source="sv", reference=sv_id,
                              count=int(b - a), last_frame=int(frames[b - 1]), **base)

    def _state_changes(self) -> list[float]:
        """Times at which a Mod/Beh/Sim value changed (runs of GOOSE/SV/report flags are cut
        there, so each run is judged against one state)."""
        last: dict = {}
        out = []
        for r in sorted(self._rows, key=lambda r: (r["time"], r["frame"])):
            if r["attribute"] in ("Mod", "Beh", "Sim") and r["kind"] == "observed" \
                    and r["source"] in ("read", "report"):
                k = (r["server"], r["ld"], r["ln"], r["attribute"])
                if k in last and last[k] != r["value"]:
                    out.append(r["time"])
                last[k] = r["value"]
        return sorted(out)

    # runs: one row when a flag starts (and, with emit_false, when it ends)
    def _run(self, runs, key, on, time_, frame, base, emit_false=False, cuts=()):
        cur = runs.get(key)
        if cur is not None and cur["value"] == ("true" if on else "false") and \
                bisect.bisect_right(cuts, cur["last_time"]) == bisect.bisect_right(cuts, time_):
            cur["count"] += 1
            cur["last_frame"] = frame
            cur["last_time"] = time_
            return
        if cur is not None:
            self._flush_run(cur)
        if on:
            self._had_true.add(key)
        if on or emit_false or key in self._had_true:
            runs[key] = dict(base, time=time_, frame=frame, value="true" if on else "false", kind="observed",
                             count=1, last_frame=frame, last_time=time_)
        else:
            runs[key] = {"value": "false", "count": 1, "last_frame": frame, "last_time": time_, "_skip": True}

    def _flush_run(self, cur):
        if not cur.get("_skip"):
            cur = dict(cur)
            cur.pop("last_time", None)
            self._row(**cur)

    def _close_runs(self, runs):
        for cur in runs.values():
            self._flush_run(cur)
        runs.clear()

    # -- the state machine ------------------------------------------------------------------
    def finish(self, last_time: float | None = None) -> "ModeTracker":
        """Order the observations and compute intervals and findings (idempotent)."""
        if self._done:
            return self
        self._done = True
        self._rows.sort(key=lambda r: (r["time"], r["frame"]))
        _Machine(self, last_time).run()
        return self

    def states(self) -> list[dict]:
        """Observation rows (keys :data:`STATE_COLUMNS`), in time order."""
        return self._rows

    def intervals(self) -> list[dict]:
        """Interval rows (keys :data:`MODE_COLUMNS`)."""
        return self._intervals

    def finding_rows(self) -> list[dict]:
        """Finding rows (keys :data:`FINDING_COLUMNS`), in frame order."""
        return sorted(self._findings, key=lambda f: (f["frame"] or 0, f["code"]))

    def findings(self) -> list[Finding]:
        """The findings as :class:`~mmsanalyze.findings.Finding` (layer ``iec61850``)."""
        return [Finding(f["code"], f["severity"], int(f["frame"] or 0), "iec61850", f["message"], None)
                for f in self.finding_rows()]


def _members(lst) -> list[str]:
    from ..analysis._mms import object_name_text
    out = []
    if not isinstance(lst, list):
        return out
    for e in lst:
        spec = e.get("variableSpecification") if isinstance(e, dict) else None
        name = object_name_text(spec.get("name")) if isinstance(spec, dict) else None
        out.append(name or "?")
    return out


def _write_status(t):
    r = t.response
    if r is None:
        return "unanswered", None
    if r.pdu != "confirmed-ResponsePDU":
        m = r.decoded()
        err = m.error if m is not None else None
        code = f"{err.get('class')}/{err.get('code')}" if err else None
        return ("rejected" if r.pdu == "rejectPDU" else "error"), code
    m = r.decoded()
    res = list(m.access_results or ()) if m is not None else []
    bad = next((x for x in res if isinstance(x, dict) and "failure" in x), None)
    if bad is not None:
        return "error", str(bad["failure"])
    return "ok", None


def _split_cb(ref):
    if not ref or "/" not in ref:
        return ref, None
    ld, item = ref.split("/", 1)
    return ld, item


def _ld_of(ref):
    return ref.split("/", 1)[0] if ref and "/" in ref else None


def _ln_of(ref):
    if not ref or "/" not in ref:
        return None
    return ref.split("/", 1)[1].split("$", 1)[0].split("[", 1)[0] or None


class _Machine:
    """Walks the ordered observations once: intervals, expectations, findings."""

    def __init__(self, tracker: ModeTracker, last_time):
        self.t = tracker
        self.last_time = last_time
        self.mod: dict = {}          # (server, ld, ln) -> mod
        self.beh: dict = {}          # (server, ld, ln) -> beh
        self.health: dict = {}
        self.sim: dict = {}          # server -> (bool, frame)
        self.sim_traffic: dict = {}  # (server, ld, ln) -> bool
        self.test_traffic: dict = {}  # (server, ld) -> bool
        self.open: dict = {}         # key -> interval row
        self.since: dict = {}        # key -> (frame, value) when the current abnormal state began
        self.pending: dict = {}      # key -> _Pending
        self.flagged: dict = {}      # key -> (observed, expected) already reported (hierarchy)
        self.health_flag: dict = {}
        self.lns: dict = {}          # (server, ld) -> set of ln
        self.mod_frame: dict = {}    # key -> frame of the latest Mod observation / accepted request
        self.beh_frame: dict = {}    # key -> frame of the latest Beh observation
        self.now = None              # time of the row being walked
        self.prev_mod: dict = {}     # key -> Mod before the last accepted request (negative CommandTermination)

    # -- helpers
    def ld_mod(self, server, ld):
        return self.mod.get((server, ld, "LLN0"))

    def expected(self, key):
        server, ld, ln = key
        if ln == "LLN0":
            return self.mod.get(key)
        return behaviour(self.ld_mod(server, ld), self.mod.get(key))

    def beh_of(self, key):
        b = self.beh.get(key)
        if b is None:
            b = self.expected(key)
        if b is None and key[2] != "LLN0":
            b = self.beh.get((key[0], key[1], "LLN0"))
        return b

    def add_finding(self, code, frames, server, ld, ln, message):
        sev = CODES[code][0]
        frames = [int(f) for f in frames if f is not None]
        self.t._findings.append({"time": self.now, "frame": frames[0] if frames else None, "severity": sev,
                                 "code": code,
                                 "server": server, "ld": ld, "ln": ln,
                                 "frames": sorted(set(frames))[:MAX_FINDING_FRAMES], "message": message})

    def touch(self, key, time_, frame, cause):
        """Re-evaluate the interval of ``key``; open a new one when anything changed."""
        server, ld, ln = key
        self.lns.setdefault((server, ld), set()).add(ln)
        sim = self.sim.get(server)
        state = (self.mod.get(key), self.beh.get(key), self.health.get(key), sim[0] if sim else None,
                 self.expected(key), bool(self.sim_traffic.get(key)), bool(self.test_traffic.get((server, ld))))
        cur = self.open.get(key)
        if cur is not None and cur["_state"] == state:
            return
        if cur is not None:
            cur["end"] = time_
        mod, beh, health, simv, exp, simt, testt = state
        row = {"server": server, "ied": self.t._ied(server), "ld": ld, "ln": ln, "start": time_, "end": None,
               "start_frame": frame, "mod": mod, "beh": beh, "health": health, "sim": simv, "beh_expected": exp,
               "beh_mismatch": beh is not None and exp is not None and beh != exp,
               "simulated_traffic": simt, "test_traffic": testt, "cause": cause, "_state": state}
        self.t._intervals.append(row)
        self.open[key] = row
        now = beh or mod
        prev = self.since.get(key)
        if now in BEH_ABNORMAL:
            if prev is None or prev[1] != now:
                self.since[key] = (frame, now)
        else:
            self.since.pop(key, None)

    def ld_keys(self, server, ld):
        return [(server, ld, ln) for ln in sorted(self.lns.get((server, ld), ()))]

    # -- the walk
    def run(self):
        for r in self.t._rows:
            self.now = r["time"]
            attr = r["attribute"]
            if attr in ("Mod", "Beh", "Health", "Sim"):
                self.state_row(r)
            elif attr == "control":
                self.control(r)
            elif attr == "simulation":
                self.simulation(r)
            elif attr == "q.test":
                self.test_data(r)
        for key, p in list(self.pending.items()):
            self.resolve(key, p, None)
        end = self.last_time
        for row in self.t._intervals:
            if row["end"] is None:
                row["end"] = end if end is not None else row["start"]
            row.pop("_state", None)
        self.now = end
        self.left_abnormal()

    def state_row(self, r):
        server, ld, ln, attr, val = r["server"], r["ld"], r["ln"], r["attribute"], r["value"]
        key = (server, ld, ln)
        cause = f"{r['source']} {attr}={val}"
        if r["kind"] == "requested":
            if attr == "Mod" and r["action"] == "operate" and r["outcome"] == "ok" and val in MODES.values():
                self.mod_change(key, val, r)
            elif attr == "Sim" and r["action"] == "operate" and r["outcome"] == "ok":
                self.sim[server] = (val == "true", r["frame"])
                self.touch(key, r["time"], r["frame"], cause)
            return
        if r["source"] == "command-termination":
            if r["outcome"] == "negative" and attr == "Mod":
                p = self.pending.pop(key, None)            # the change was not done after all
                for k in (self.ld_keys(server, ld) if ln == "LLN0" else [key]):
                    self.pending.pop(k, None)
                if key in self.prev_mod:
                    old = self.prev_mod.pop(key)
                    if old is None:
                        self.mod.pop(key, None)
                    else:
                        self.mod[key] = old
                    for k in (self.ld_keys(server, ld) if ln == "LLN0" else []):
                        self.touch(k, r["time"], r["frame"], cause)
                self.touch(key, r["time"], r["frame"], cause)
            return
        if attr == "Mod":
            self.mod_frame[key] = r["frame"]
            if self.mod.get(key) != val:
                self.mod[key] = val
                for k in (self.ld_keys(server, ld) if ln == "LLN0" else [key]):
                    self.touch(k, r["time"], r["frame"], cause)
            self.touch(key, r["time"], r["frame"], cause)
        elif attr == "Beh":
            self.beh[key] = val
            self.beh_frame[key] = r["frame"]
            self.beh_observed(key, val, r)
            self.touch(key, r["time"], r["frame"], cause)
        elif attr == "Health":
            self.health[key] = val
            self.touch(key, r["time"], r["frame"], cause)
            if val in ("warning", "alarm"):
                if self.health_flag.get(key) != val:
                    self.health_flag[key] = val
                    self.add_finding("iec61850.mode.health", [r["frame"]], server, ld, ln,
                                     f"{ld}/{ln} Health={val} ({r['source']}, frame {r['frame']})")
            else:
                self.health_flag.pop(key, None)
        elif attr == "Sim":
            on = val == "true"
            self.sim[server] = (on, r["frame"])
            for k in {key, *(kk for kk in self.open if kk[0] == server)}:
                self.touch(k, r["time"], r["frame"], cause)

    def mod_change(self, key, val, r):
        server, ld, ln = key
        old_exp = {}
        affected = self.ld_keys(server, ld) if ln == "LLN0" else [key]
        if key not in affected:
            affected.append(key)
        for k in affected:
            old_exp[k] = self.beh.get(k)
        self.prev_mod[key] = self.mod.get(key)
        self.mod[key] = val
        self.mod_frame[key] = r["frame"]
        for k in affected:
            prev = self.pending.pop(k, None)
            if prev is not None:
                self.resolve(k, prev, None)
            exp = self.expected(k)
            if exp is not None and (k in self.beh or k == key):
                self.pending[k] = _Pending(r["time"], r["frame"], r["reference"], exp, old_exp.get(k), [])
            self.touch(k, r["time"], r["frame"], f"write Mod={val}")

    def beh_observed(self, key, val, r):
        if val not in _MODE_NAMES:
            return                                    # e.g. 0 from an uninitialised model: nothing to check
        p = self.pending.get(key)
        if p is not None:
            if val == p.expected:
                del self.pending[key]
                self.flagged.pop(key, None)
                return
            if r["time"] - p.time > self.t.follow_timeout:
                p.wrong.append((r["frame"], val))
                del self.pending[key]
                self.resolve(key, p, r)
                return
            p.wrong.append((r["frame"], val))
            return
        exp = self.expected(key)
        server, ld, ln = key
        bad = False
        if exp is not None and val != exp:
            if ln != "LLN0" and self.mod.get(key) is None:
                # LN Mod unknown: Beh must be one Annex A allows for the LD's Mod
                ldm = self.ld_mod(server, ld)
                bad = ldm is not None and val not in {behaviour(ldm, m) for m in MODES.values()}
            else:
                bad = True
        if not bad:
            self.flagged.pop(key, None)
            return
        if self.flagged.get(key) == (val, exp):
            return
        self.flagged[key] = (val, exp)
        ldm = self.ld_mod(server, ld)
        src = self.mod_source(key)
        self.add_finding("iec61850.mode.beh_hierarchy", [r["frame"]] + src, server, ld, ln,
                         f"{ld}/{ln} Beh={val} (frame {r['frame']}) but LD Mod={ldm}"
                         + (f", LN Mod={self.mod.get(key)}" if ln != "LLN0" and self.mod.get(key) else "")
                         + (f" gives {exp}" if self.mod.get(key) or ln == "LLN0" else
                            " allows only " + "/".join(sorted({behaviour(ldm, m) for m in MODES.values()})))
                         + " (7-4 Annex A)")

    def mod_source(self, key):
        """Frames of the latest Mod observations/requests of the LD and of the LN (to cite)."""
        return [self.mod_frame[k] for k in {key, (key[0], key[1], "LLN0")} if k in self.mod_frame]

    def resolve(self, key, p, r):
        """A pending expectation ends without the expected Beh: report it if there is evidence."""
        if not p.wrong:
            return
        server, ld, ln = key
        frames = [p.frame] + [f for f, _ in p.wrong]
        last = p.wrong[-1][1]
        now, self.now = self.now, p.time
        if last == p.old:
            how = f"stayed {last}"
        else:
            how = f"went to {last}"
        self.add_finding("iec61850.mode.beh_not_followed", frames, server, ld, ln,
                         f"Mod change {p.reference} accepted (frame {p.frame}); {ld}/{ln} Beh should be "
                         f"{p.expected} but {how} (frame {p.wrong[-1][0]})")
        self.now = now

    def control(self, r):
        if r["kind"] != "requested" or r["action"] not in ("operate", "select-with-value"):
            return
        key = (r["server"], r["ld"], r["ln"])
        beh = self.beh_of(key)
        test = r["test"]
        accepted = r["outcome"] == "ok"
        cause = r["add_cause"]
        server, ld, ln = key
        where = f"{r['reference']} ({r['action']}, Test={'true' if test else 'false'}, frame {r['frame']})"
        forbidden = beh == "off" or (test is True and beh is not None and beh not in BEH_TEST)
        if accepted and forbidden:
            self.add_finding("iec61850.control.test_not_in_test", [r["frame"], r["response_frame"]], server, ld, ln,
                             f"{where} accepted while {ld}/{ln} Beh={beh}")
        elif not accepted and cause == "blocked-by-mode":
            self.add_finding("iec61850.control.blocked_by_mode", [r["frame"], r["response_frame"]], server, ld, ln,
                             f"{where} rejected: blocked-by-mode (Beh={beh or 'unknown'})")
        elif not accepted and forbidden and r["outcome"] not in ("unanswered",):
            self.add_finding("iec61850.control.rejected_other_cause", [r["frame"], r["response_frame"]], server, ld,
                             ln, f"{where} rejected with AddCause {cause or 'none'} ({r['error_code'] or r['outcome']})"
                             f" although Beh={beh} forbids it: blocked-by-mode expected")

    def simulation(self, r):
        key = (r["server"], r["ld"], r["ln"])
        on = r["value"] == "true"
        self.sim_traffic[key] = on
        self.touch(key, r["time"], r["frame"], f"{r['source']} simulation={r['value']}")
        if not on:
            return
        frames = [r["frame"], r["last_frame"]]
        what = f"{r['count']} simulated {r['source'].upper()} message(s) from {r['server']} ({r['reference']}, " \
               f"frames {r['frame']}-{r['last_frame']})"
        sim_true = [s for s, (v, _) in self.sim.items() if v]
        sim_false = [s for s, (v, _) in self.sim.items() if not v]
        if sim_false and not sim_true:
            self.add_finding("iec61850.sim.ignored", frames + [self.sim[s][1] for s in sim_false], r["server"],
                             r["ld"], r["ln"], what + ": ignored by " + ", ".join(
                                 f"{s} (LPHD.Sim false, frame {self.sim[s][1]})" for s in sorted(sim_false)))
        else:
            users = ", ".join(f"{s} (LPHD.Sim true, frame {self.sim[s][1]})" for s in sorted(sim_true))
            self.add_finding("iec61850.sim.traffic", frames + [self.sim[s][1] for s in sim_true], r["server"],
                             r["ld"], r["ln"], what + (": used by " + users if users else
                                                       ": IEDs with LPHD.Sim true use it instead of the real data"))

    def test_data(self, r):
        server, ld = r["server"], r["ld"]
        on = r["value"] == "true"
        self.test_traffic[(server, ld)] = on
        for k in self.ld_keys(server, ld) or [(server, ld, r["ln"] or "LLN0")]:
            self.touch(k, r["time"], r["frame"], f"{r['source']} q.test={r['value']}")
        if not on:
            return
        ln = r["ln"] or "LLN0"
        if (server, ld, "LLN0") not in self.mod and (server, ld, "LLN0") not in self.beh:
            # GOOSE/SV: the publisher's address is a MAC; its LD is known by name from MMS
            server = next((s for (s, l_) in self.lns if l_ == ld and ((s, l_, "LLN0") in self.beh or
                                                                    (s, l_, "LLN0") in self.mod)), server)
        beh = self.beh_of((server, ld, ln)) if (server, ld, ln) in self.open else self.beh_of((server, ld, "LLN0"))
        frames = [r["frame"], r["last_frame"]]
        what = f"{r['count']} {r['source']} message(s) with the quality test bit from {ld} " \
               f"({r['reference']}, frames {r['frame']}-{r['last_frame']})"
        if beh in ("on", "on-blocked"):
            src = [f for k, f in self.beh_frame.items() if k[:2] == (server, ld)][-1:]
            self.add_finding("iec61850.test.data_while_on", frames + src, r["server"], ld, r["ln"],
                             what + f" while its Beh is {beh}")
        elif beh not in BEH_TEST:
            self.add_finding("iec61850.test.data", frames, r["server"], ld, r["ln"],
                             what + ": processed only by receivers in test or test/blocked")

    def left_abnormal(self):
        by_ld: dict = {}
        for key, (frame, val) in self.since.items():
            by_ld.setdefault((key[0], key[1]), []).append((key[2], val, frame))
        for (server, ld), items in sorted(by_ld.items()):
            items.sort(key=lambda x: (x[0] != "LLN0", x[0]))
            text = ", ".join(f"{ln} {val} since frame {frame}" for ln, val, frame in items)
            self.add_finding("iec61850.mode.left_abnormal", [f for _, _, f in items], server, ld, items[0][0],
                             f"{ld} left in a non-normal state at the end of the capture: {text}")
