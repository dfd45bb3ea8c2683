"""``SclModel``: a loaded SCL file and the look-ups other analyses call.

The resolver API (stable; used by the SCL-aware tables, ``scl-check``, and meant for
the IED-modes and security analyses):

* :meth:`SclModel.members` ``(dat_set_ref)`` -> list of :class:`Member` of a data set
  (``'IEDLD/LLN0$Events'``), each with its FCDA reference ``LD/LN.DO.DA [FC]``, SCL
  type (bType or CDC), MMS type and enumeration;
* :meth:`SclModel.name_goose_member` ``(gocb_ref, index)`` -> :class:`Member` or None;
* :meth:`SclModel.fcda_for_report` ``(dat_set_ref, index)`` -> :class:`Member` or None;
* :meth:`SclModel.enum_name` ``(member_or_enum_id, value)`` -> name (``'test'``) or None;
* :meth:`SclModel.ied_for_ip` ``(addr)`` -> IED name or None;
  :meth:`SclModel.ied_for_domain` ``(domain)`` -> IED name or None;
* :meth:`SclModel.ctl_model` ``(ref)`` -> ``'sbo-with-enhanced-security'`` ... or None
  (``ref`` as ``'LD/LN.DO'``, ``'LD/LN$CO$DO'`` or ``'LD/LN$CO$DO$Oper'``);
* :meth:`SclModel.value` ``(ref)`` -> a configured DAI value (``'LD/LLN0.NamPlt.swRev'``);
* :meth:`SclModel.gocb` / :meth:`SclModel.svcb` / :meth:`SclModel.rcb` -> the control
  block found by reference (or svID / rptID) with its IED, LDevice and address.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import edition_of

__all__ = ["SclModel", "Member", "ControlBlock", "MMS_TYPE", "ENCODED_SIZE"]

#: bType -> the MMS Data alternative it is carried in (IEC 61850-8-1 table 8).
MMS_TYPE = {
    "BOOLEAN": "boolean", "INT8": "integer", "INT16": "integer", "INT24": "integer", "INT32": "integer",
    "INT64": "integer", "INT128": "integer", "INT8U": "unsigned", "INT16U": "unsigned", "INT24U": "unsigned",
    "INT32U": "unsigned", "FLOAT32": "floating-point", "FLOAT64": "floating-point", "Enum": "integer",
    "Dbpos": "bit-string", "Tcmd": "bit-string", "Quality": "bit-string", "Timestamp": "utc-time",
    "VisString32": "visible-string", "VisString64": "visible-string", "VisString65": "visible-string",
    "VisString129": "visible-string", "VisString255": "visible-string", "Octet64": "octet-string",
    "Unicode255": "mMSString", "Struct": "structure", "EntryTime": "binary-time", "Check": "bit-string",
    "ObjRef": "visible-string", "Currency": "visible-string", "PhyComAddr": "structure",
    "TrgOps": "bit-string", "OptFlds": "bit-string", "SvOptFlds": "bit-string", "EntryID": "octet-string",
}
#: bType -> octets in an SV seqData (IEC 61850-9-2 table 14); absent = not fixed-size.
ENCODED_SIZE = {
    "BOOLEAN": 1, "INT8": 1, "INT16": 2, "INT32": 4, "INT64": 8, "INT8U": 1, "INT16U": 2, "INT32U": 4,
    "FLOAT32": 4, "FLOAT64": 8, "Enum": 4, "Dbpos": 4, "Tcmd": 4, "Quality": 4, "Timestamp": 8,
}
#: ctlModel ordinals (IEC 61850-7-3 CtlModelKind) for files that give the number.
CTL_MODELS = {0: "status-only", 1: "direct-with-normal-security", 2: "sbo-with-normal-security",
              3: "direct-with-enhanced-security", 4: "sbo-with-enhanced-security"}


@dataclass(frozen=True, slots=True)
class Member:
    """One data set member resolved against the SCL."""
    index: int
    ref: str                    # 'IEDLD/LN.DO.DA [FC]'
    fc: str
    scl_type: str | None        # bType ('INT32', 'Dbpos', 'Enum'...) or CDC ('DPC') for a DO
    mms_type: str | None        # MMS Data alternative expected on the wire
    enum_type: str | None       # EnumType id for Enum members
    size: int | None            # octets in an SV seqData (None when not fixed)
    fcda: object = None


@dataclass(frozen=True, slots=True)
class ControlBlock:
    """A configured GoCB / SVCB / RCB with where it lives."""
    kind: str                   # 'GoCB', 'SVCB', 'RCB'
    ref: str                    # 'IEDLD/LLN0$GO$name' (RCB: '$RP$' or '$BR$')
    ied: str
    ld_inst: str
    domain: str
    block: object               # GseControl / SvControl / ReportControl
    dat_set_ref: str            # 'IEDLD/LLN0$DataSet' ('' when none)
    address: object             # model.Address or None


class SclModel:
    """A loaded SCL file (see :func:`mmsanalyze.scl.load_scl`) with look-up methods."""

    def __init__(self, path, version, revision, release, header, ieds, connected_aps, templates, notes=()):
        self.path = path
        self.version, self.revision, self.release = version, revision, release
        self.header = header
        self.ieds = ieds
        self.connected_aps = connected_aps
        self.templates = templates
        self.notes = notes
        self._ix = None

    @property
    def edition(self) -> str:
        return edition_of(self.version, self.revision, self.release)

    def __repr__(self):
        return f"<SclModel {self.path!r} {self.edition}: {len(self.ieds)} IEDs>"

    # -- indexes --------------------------------------------------------------------
    def _index(self):
        if self._ix is not None:
            return self._ix
        ix = {"domain": {}, "ln": {}, "ds": {}, "cb": [], "ip": {}, "addr": {}}
        for cap in self.connected_aps:
            if cap.ip:
                ix["ip"].setdefault(cap.ip, cap.ied_name)
            for a in cap.gse + cap.smv:
                ix["addr"].setdefault((a.kind, a.ied_name, a.ld_inst, a.cb_name), a)
        for ied in self.ieds:
            lds = {ld.inst: ld for ld in ied.ldevices()}
            for ld in ied.ldevices():
                dom = ld.domain(ied.name)
                ix["domain"].setdefault(dom, (ied, ld))
                for ln in ld.lns:
                    ix["ln"].setdefault((dom, ln.name), (ied, ld, ln))
                for ds in ld.datasets:
                    ix["ds"].setdefault(f"{dom}/{ds.ln}${ds.name}", (ied, ld, ds))
                for kind, blocks, fc, akind in (("GoCB", ld.gocbs, "GO", "GSE"), ("SVCB", ld.svcbs, "MS", "SMV"),
                                                ("RCB", ld.reports, None, None)):
                    for b in blocks:
                        f = fc or ("BR" if b.buffered else "RP")
                        if kind == "SVCB" and not b.multicast:
                            f = "US"
                        addr = ix["addr"].get((akind, ied.name, ld.inst, b.name)) if akind else None
                        dsr = f"{dom}/{b.ln}${b.dat_set}" if b.dat_set else ""
                        ix["cb"].append(ControlBlock(kind, f"{dom}/{b.ln}${f}${b.name}", ied.name, ld.inst, dom,
                                                     b, dsr, addr))
            del lds
        self._ix = ix
        return ix

    def control_blocks(self, kind: str | None = None) -> list:
        """Every configured :class:`ControlBlock` (``kind`` 'GoCB', 'SVCB' or 'RCB' to filter)."""
        return [c for c in self._index()["cb"] if kind is None or c.kind == kind]

    def gocb(self, gocb_ref: str):
        """The GoCB :class:`ControlBlock` with this gocbRef (``'IEDLD/LLN0$GO$name'``), or None."""
        for c in self._index()["cb"]:
            if c.kind == "GoCB" and c.ref == gocb_ref:
                return c
        return None

    def svcb(self, sv_id: str):
        """The SVCB whose smvID is ``sv_id`` (or whose reference it is), or None."""
        for c in self._index()["cb"]:
            if c.kind == "SVCB" and (c.block.smv_id == sv_id or c.ref == sv_id):
                return c
        return None

    def rcb(self, rpt_id: str | None = None, ref: str | None = None):
        """The RCB with this RptID, or by reference (an indexed instance ``name01`` also matches)."""
        for c in self._index()["cb"]:
            if c.kind != "RCB":
                continue
            if rpt_id is not None and c.block.rpt_id == rpt_id:
                return c
            if ref is not None and _rcb_ref_matches(c, ref):
                return c
        return None

    def ldevice(self, domain: str):
        """``(Ied, LDevice)`` of an MMS domain name, or None."""
        return self._index()["domain"].get(domain)

    def ln(self, domain: str, ln_name: str):
        """``(Ied, LDevice, Ln)`` or None."""
        return self._index()["ln"].get((domain, ln_name))

    def dataset(self, dat_set_ref: str):
        """``(Ied, LDevice, DataSet)`` of ``'IEDLD/LLN0$Name'`` (``.`` also accepted), or None."""
        ix = self._index()["ds"]
        hit = ix.get(dat_set_ref)
        if hit is None and "/" in dat_set_ref:
            dom, _, rest = dat_set_ref.partition("/")
            hit = ix.get(f"{dom}/{rest.replace('.', '$', 1)}")
        return hit

    def ied_for_ip(self, addr: str):
        """The IED whose ConnectedAP has IP address ``addr`` (``'10.0.0.2'``; a port is ignored)."""
        if addr is None:
            return None
        a = str(addr)
        if a.count(":") == 1:
            a = a.rsplit(":", 1)[0]
        elif a.startswith("[") and "]" in a:
            a = a[1:a.index("]")]
        return self._index()["ip"].get(a)

    def ip_map(self) -> dict:
        """``{IP address: IED name}`` of every ConnectedAP with an IP."""
        return dict(self._index()["ip"])

    def ied_for_domain(self, domain: str):
        hit = self.ldevice(domain)
        return hit[0].name if hit else None

    # -- data set members ------------------------------------------------------------
    def members(self, dat_set_ref: str) -> list:
        """The resolved :class:`Member` list of a data set (empty when unknown)."""
        hit = self.dataset(dat_set_ref)
        if hit is None:
            return []
        ied, _ld, ds = hit
        return [self._member(ied, i, f) for i, f in enumerate(ds.fcdas)]

    def name_goose_member(self, gocb_ref: str, index: int):
        """Member ``index`` (0-based) of the data set of GoCB ``gocb_ref``, or None."""
        cb = self.gocb(gocb_ref)
        if cb is None or not cb.dat_set_ref:
            return None
        m = self.members(cb.dat_set_ref)
        return m[index] if 0 <= index < len(m) else None

    def fcda_for_report(self, dat_set_ref: str, index: int):
        """Member ``index`` (0-based data set position) of a report's data set, or None."""
        m = self.members(dat_set_ref)
        return m[index] if 0 <= index < len(m) else None

    def enum_name(self, member_or_enum, value):
        """The EnumVal name of ``value`` (``Member`` or EnumType id), or None."""
        eid = member_or_enum.enum_type if isinstance(member_or_enum, Member) else member_or_enum
        et = self.templates.enum_types.get(eid) if eid else None
        if et is None or not isinstance(value, int) or isinstance(value, bool):
            return None
        return et.values.get(value)

    def fcda_ref(self, ied, f) -> str:
        """The reference of an FCDA of ``ied`` with the MMS domain of its LD (``ldName`` aware)."""
        ld = next((d for d in ied.ldevices() if d.inst == f.ld_inst), None)
        return f.ref(ied.name, ld.domain(ied.name) if ld is not None else None)

    def _member(self, ied, i, f) -> Member:
        ref = self.fcda_ref(ied, f)
        leaf = self.resolve_fcda(ied, f)
        if leaf is None:
            return Member(i, ref, f.fc, None, None, None, None, f)
        kind, obj = leaf
        if kind == "DO":
            return Member(i, ref, f.fc, obj.cdc, "structure", None, self._size(obj.children, f.fc), f)
        b = obj.b_type
        if b == "Struct":
            dat = self.templates.da_types.get(obj.type or "")
            size = self._size(dat.children, None) if dat else None
            return Member(i, ref, f.fc, "Struct", "structure", None, size, f)
        if obj.count:
            return Member(i, ref, f.fc, f"{b}[{obj.count}]", "array", None, None, f)
        return Member(i, ref, f.fc, b, MMS_TYPE.get(b), obj.type if b == "Enum" else None,
                      ENCODED_SIZE.get(b), f)

    def resolve_fcda(self, ied, f):
        """``('DO', DoType)`` or ``('DA', DaDef)`` an FCDA points at, or None if dangling."""
        t = self.templates
        ld = next((d for d in ied.ldevices() if d.inst == f.ld_inst), None)
        if ld is None:
            return None
        ln = next((n for n in ld.lns if n.name == f.ln_name and n.ln_class == f.ln_class), None)
        lnt = t.lnode_types.get(ln.ln_type) if ln else None
        if lnt is None:
            return None
        parts = [p.split("(")[0] for p in f.do_name.split(".") if p]
        if not parts:
            return None
        dot = t.do_types.get(lnt.dos.get(parts[0], ""))
        for p in parts[1:]:
            if dot is None:
                return None
            sdo = dot.children.get(p)
            dot = t.do_types.get(sdo.type or "") if sdo is not None and sdo.kind == "SDO" else None
        if dot is None:
            return None
        if not f.da_name:
            return ("DO", dot)
        das = [p.split("(")[0] for p in f.da_name.split(".") if p]
        cur = dot.children.get(das[0])
        while cur is not None and cur.kind == "SDO" and len(das) > 1:
            # some tools put SDO names (array elements of Ed2 CDCs) into daName
            dot = t.do_types.get(cur.type or "")
            das = das[1:]
            cur = dot.children.get(das[0]) if dot else None
        if cur is None or cur.kind == "SDO":
            return None
        for p in das[1:]:
            dat = t.da_types.get(cur.type or "")
            cur = dat.children.get(p) if dat else None
            if cur is None:
                return None
        return ("DA", cur)

    def _size(self, children, fc, depth=0):
        """Octets of the members with functional constraint ``fc`` in an SV seqData."""
        if depth > 16:
            return None
        total = 0
        for d in children.values():
            if fc is not None and d.kind == "DA" and d.fc != fc:
                continue
            if d.kind == "SDO":
                sub = self.templates.do_types.get(d.type or "")
                n = self._size(sub.children, fc, depth + 1) if sub else None
            elif d.b_type == "Struct":
                sub = self.templates.da_types.get(d.type or "")
                n = self._size(sub.children, None, depth + 1) if sub else None
            else:
                n = ENCODED_SIZE.get(d.b_type or "")
            if n is None or d.count:
                return None
            total += n
        return total

    # -- values and control models --------------------------------------------------
    def value(self, ref: str):
        """A configured DAI value (DOI/DAI ``Val``, else the type's default), or None.

        ``ref``: ``'LD/LN.DO.DA'`` (``$`` separators and an FC between LN and DO accepted).
        """
        dom, ln_name, path = _split_ref(ref)
        hit = self.ln(dom, ln_name)
        if hit is None:
            return None
        _ied, _ld, ln = hit
        v = ln.values.get(path)
        if v is not None:
            return v
        parts = path.split(".")
        lnt = self.templates.lnode_types.get(ln.ln_type)
        dot = self.templates.do_types.get(lnt.dos.get(parts[0], "")) if lnt else None
        if dot is not None and len(parts) == 2:
            d = dot.children.get(parts[1])
            return d.val if d is not None else None
        return None

    def ctl_model(self, ref: str):
        """The ``ctlModel`` of a controllable data object, or None when not configured."""
        dom, ln_name, path = _split_ref(ref)
        do = path.split(".")[0]
        v = self.value(f"{dom}/{ln_name}.{do}.ctlModel")
        if v is None:
            return None
        v = v.strip()
        if v.isdigit():
            return CTL_MODELS.get(int(v), v)
        return v


def _split_ref(ref: str):
    """``'LD/LN$CO$DO$Oper'`` or ``'LD/LN.DO.DA'`` -> ``(LD, LN, 'DO.DA')`` (FC dropped)."""
    dom, _, rest = ref.partition("/")
    rest = rest.split(" [")[0]
    parts = [p for p in rest.replace("$", ".").split(".") if p]
    if len(parts) > 1 and len(parts[1]) == 2 and parts[1].isupper():
        parts.pop(1)                # functional constraint
    return dom, (parts[0] if parts else ""), ".".join(parts[1:])


def _rcb_ref_matches(cb: ControlBlock, ref: str) -> bool:
    """``'IEDLD/LLN0$BR$EventsRCB01'`` names the (possibly indexed) RCB ``EventsRCB``."""
    dom, _, item = ref.partition("/")
    if dom != cb.domain:
        return False
    parts = item.split("$")
    if len(parts) < 3 or parts[0] != cb.block.ln or parts[1] not in ("BR", "RP"):
        return False
    name = parts[2]
    b = cb.block
    if name == b.name:
        return True
    if b.indexed and name.startswith(b.name) and name[len(b.name):].isdigit():
        return True
    return False
