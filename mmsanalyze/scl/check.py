"""Checks of an SCL file on its own (``mmsanalyze scl FILE``).

:func:`inventory` says what the file holds (edition, IEDs, LDs, control blocks and
their addresses); :func:`check_scl` lists what is wrong or unusual, one row per
finding: ``severity`` (``error`` breaks use of the file, ``warning`` contradicts
IEC 61850-6/-8-1/-9-2, ``info`` is legal but worth knowing), ``code``, ``line``,
``object``, ``message``.  Codes are registered once in :data:`CODES`.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict

__all__ = ["CODES", "COLUMNS", "check_scl", "inventory", "findings_table"]

#: Every finding code, its severity and meaning.
CODES = {
    "scl.schema.missing-name": ("warning", "a mandatory name attribute is missing"),
    "scl.namespace": ("warning", "the root element is not in the SCL namespace"),
    "scl.edition.uncommon": ("info", "root version/revision/release other than Ed1, 2007B or 2007B4"),
    "scl.edition.ed2-attribute": ("info", "an Ed2 attribute in a file whose root says Ed1"),
    "scl.file.extension": ("info", "the file's content does not fit its extension"),
    "scl.type.missing": ("error", "an LN/DO/DA type that DataTypeTemplates does not define"),
    "scl.type.nonstandard": ("info", "a data attribute typed differently from IEC 61850-7-3/-7-4"),
    "scl.fcda.dangling": ("error", "an FCDA naming a missing LD, LN, DO or DA"),
    "scl.dataset.duplicate-fcda": ("warning", "the same FCDA twice in one data set"),
    "scl.dataset.cross-ld": ("info", "a data set whose members live in another logical device"),
    "scl.ln.empty-inst": ("warning", "a logical node other than LLN0 with an empty inst"),
    "scl.cb.dataset-missing": ("error", "a control block whose datSet names no data set of its LN"),
    "scl.cb.no-dataset": ("warning", "a GoCB/SVCB without datSet"),
    "scl.cb.no-address": ("warning", "a GoCB/SVCB without a GSE/SMV address in Communication"),
    "scl.cb.confrev-missing": ("info", "a GoCB/SVCB without confRev"),
    "scl.cb.confrev-zero": ("info", "confRev 0"),
    "scl.cb.goid-duplicate": ("warning", "two GoCBs with the same goID (appID attribute)"),
    "scl.cb.goid-like-appid": ("info", "a goID that looks like an APPID but differs from the GSE APPID"),
    "scl.cb.gsse": ("info", "a GSSE (UCA) control block"),
    "scl.cb.unicast-sv": ("info", "a unicast SVCB"),
    "scl.address.dangling": ("warning", "a GSE/SMV address for a control block that does not exist"),
    "scl.address.foreign-ied": ("info", "a ConnectedAP of an IED whose section is not in this file"),
    "scl.address.appid-format": ("warning", "APPID not 4 hexadecimal digits (tP_APPID)"),
    "scl.address.appid-range": ("warning", "APPID outside the range of its protocol (GOOSE 0000-3FFF, SV 4000-7FFF)"),
    "scl.address.appid-duplicate": ("warning", "one APPID shared by several control blocks"),
    "scl.address.mac-format": ("warning", "MAC-Address not six hyphen-separated octets"),
    "scl.address.mac-range": ("warning", "destination MAC outside 01-0C-CD-01 (GOOSE) / 01-0C-CD-04 (SV)"),
    "scl.address.mac-duplicate": ("warning", "one destination MAC shared by several control blocks"),
    "scl.address.vlan-format": ("warning", "VLAN-ID not 3 upper-case hexadecimal digits (tP_VLAN-ID)"),
    "scl.address.vlan-hex-letter": ("info", "VLAN-ID with a hex letter (readers taking it as decimal fail)"),
    "scl.address.vlan-priority": ("warning", "VLAN-PRIORITY not 0..7"),
    "scl.address.routable": ("info", "an IP (R-GOOSE / R-SV) address for a GSE/SMV"),
    "scl.address.vlan-in-mms": ("info", "VLAN parameters in an MMS ConnectedAP address"),
    "scl.extref.unresolved": ("warning", "an ExtRef whose srcCBName names no control block of its IED"),
    "scl.name.length": ("warning", "a name longer than IEC 61850 allows"),
    "scl.name.at-limit": ("info", "a name exactly at its maximum length"),
}

COLUMNS = {
    "severity": ("string", "error / warning / info"),
    "code": ("string", "finding code (see mmsanalyze.scl.check.CODES)"),
    "line": ("Int64", "line in the SCL file"),
    "object": ("string", "what the finding is about (IED, control block, address, FCDA...)"),
    "message": ("string", "what is wrong, with the configured value"),
}

_HEX4 = re.compile(r"^[0-9A-F]{4}$")
_HEX3 = re.compile(r"^[0-9A-F]{3}$")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){5}$")
#: Name length limits (IEC 61850-7-2 Ed2 / -8-1): name -> max characters.
LIMITS = {"ld_inst": 64, "cb_name": 32, "dat_set": 32, "go_id": 129, "smv_id": 129, "rpt_id": 129}
_ED1_SMV_ID = 65


def inventory(m) -> dict:
    """What the file holds, as plain data (``scl --format json`` prints it)."""
    ieds = []
    for ied in m.ieds:
        lds = [{"inst": ld.inst, "domain": ld.domain(ied.name), "lns": len(ld.lns), "datasets": len(ld.datasets),
                "gocbs": [g.name for g in ld.gocbs], "svcbs": [s.name for s in ld.svcbs],
                "rcbs": [r.name for r in ld.reports]} for ld in ied.ldevices()]
        ips = sorted({c.ip for c in m.connected_aps if c.ied_name == ied.name and c.ip})
        ieds.append({"name": ied.name, "manufacturer": ied.manufacturer, "type": ied.type,
                     "config_version": ied.config_version, "ips": ips,
                     "access_points": [ap.name for ap in ied.access_points], "ldevices": lds})
    cbs = []
    for c in m.control_blocks():
        a = c.address
        b = c.block
        cbs.append({"kind": c.kind, "ref": c.ref, "dat_set": c.dat_set_ref or None,
                    "id": getattr(b, "app_id", None) or getattr(b, "smv_id", None) or getattr(b, "rpt_id", None),
                    "conf_rev": b.conf_rev, "members": len(m.members(c.dat_set_ref)) if c.dat_set_ref else 0,
                    "mac": a.mac if a else None, "appid": a.appid if a else None,
                    "vlan_id": a.vlan_id if a else None, "vlan_priority": a.vlan_priority if a else None,
                    "ip": a.ip if a else None,
                    "min_time_ms": a.min_time if a else None, "max_time_ms": a.max_time if a else None})
    t = m.templates
    return {"file": m.path, "edition": m.edition, "version": m.version, "revision": m.revision,
            "release": m.release, "header": m.header, "ieds": ieds, "control_blocks": cbs,
            "connected_aps": len(m.connected_aps),
            "ext_refs": sum(len(i.ext_refs) for i in m.ieds),
            "templates": {"lnode_types": len(t.lnode_types), "do_types": len(t.do_types),
                          "da_types": len(t.da_types), "enum_types": len(t.enum_types)}}


def check_scl(m) -> list[dict]:
    """Every finding of the file, as dicts with the :data:`COLUMNS` keys."""
    out = []

    def add(code, line, obj, msg):
        out.append({"severity": CODES[code][0], "code": code, "line": line or None, "object": obj, "message": msg})

    for line, code, msg in m.notes:
        add(code, line, "", msg)
    _edition(m, add)
    _types_and_fcdas(m, add)
    _control_blocks(m, add)
    _addresses(m, add)
    _ext_refs(m, add)
    out.sort(key=lambda r: ({"error": 0, "warning": 1, "info": 2}[r["severity"]], r["line"] or 0))
    return out


def findings_table(rows):
    from ..analysis._table import build
    return build(COLUMNS, {k: [r[k] for r in rows] for k in COLUMNS})


def _edition(m, add):
    tag = (m.version, m.revision, m.release)
    if tag not in ((None, None, None), ("2007", "B", None), ("2007", "B", "4")):
        add("scl.edition.uncommon", 1, "SCL", f"root says version={m.version!r} revision={m.revision!r} "
            f"release={m.release!r} ({m.edition})")
    if m.version is None:
        for ied in m.ieds:
            for ld in ied.ldevices():
                for s in ld.svcbs:
                    if s.smp_mod is not None:
                        add("scl.edition.ed2-attribute", s.line, f"{ld.domain(ied.name)}/{s.ln}$MS${s.name}",
                            f"smpMod={s.smp_mod!r} (Ed2 attribute) in a file whose root says Ed1")
    ext = os.path.splitext(m.path)[1].lower()
    if ext == ".ssd" and m.ieds:
        add("scl.file.extension", 1, "SCL", f"an .ssd (specification) file holding {len(m.ieds)} full IED "
            "section(s): an SCD in all but name")
    if ext in (".icd", ".cid", ".iid") and len(m.ieds) > 1:
        add("scl.file.extension", 1, "SCL", f"an {ext} file holding {len(m.ieds)} IEDs")


def _types_and_fcdas(m, add):
    t = m.templates
    for ied in m.ieds:
        if len(ied.name) > LIMITS["ld_inst"]:
            add("scl.name.length", ied.line, ied.name, "IED name longer than 64")
        for ld in ied.ldevices():
            dom = ld.domain(ied.name)
            if len(ld.inst) > LIMITS["ld_inst"]:
                add("scl.name.length", ld.line, dom, f"LDevice inst {ld.inst!r} has {len(ld.inst)} characters (max 64)")
            elif len(ld.inst) == LIMITS["ld_inst"]:
                add("scl.name.at-limit", ld.line, dom, f"LDevice inst {ld.inst!r} has 64 characters (the maximum)")
            for ln in ld.lns:
                if ln.ln_class != "LLN0" and ln.inst == "":
                    add("scl.ln.empty-inst", ln.line, f"{dom}/{ln.name}",
                        f"{ln.ln_class} with empty inst (MMS names become {ln.name}$..)")
                lnt = t.lnode_types.get(ln.ln_type)
                if lnt is None:
                    add("scl.type.missing", ln.line, f"{dom}/{ln.name}", f"lnType {ln.ln_type!r} is not defined")
                    continue
                if "Pos" in lnt.dos and ln.ln_class in ("XCBR", "XSWI", "CSWI"):
                    dot = t.do_types.get(lnt.dos["Pos"])
                    st = dot.children.get("stVal") if dot else None
                    if st is not None and st.b_type != "Dbpos":
                        add("scl.type.nonstandard", ln.line, f"{dom}/{ln.name}.Pos.stVal",
                            f"Pos.stVal is {st.b_type} (CDC {dot.cdc}); IEC 61850-7-4 has DPC with Dbpos")
            for ds in ld.datasets:
                seen = set()
                cross = set()
                if len(ds.name) > LIMITS["dat_set"]:
                    add("scl.name.length", ds.line, f"{dom}/{ds.ln}${ds.name}", f"data set name has {len(ds.name)} characters (max 32)")
                elif len(ds.name) == LIMITS["dat_set"]:
                    add("scl.name.at-limit", ds.line, f"{dom}/{ds.ln}${ds.name}", "data set name has 32 characters (the maximum)")
                for f in ds.fcdas:
                    key = (f.ld_inst, f.prefix, f.ln_class, f.ln_inst, f.do_name, f.da_name, f.fc)
                    if key in seen:
                        add("scl.dataset.duplicate-fcda", ds.line, f"{dom}/{ds.ln}${ds.name}",
                            f"{m.fcda_ref(ied, f)} appears more than once")
                    seen.add(key)
                    if f.ld_inst != ld.inst:
                        cross.add(f.ld_inst)
                    if m.resolve_fcda(ied, f) is None:
                        add("scl.fcda.dangling", ds.line, f"{dom}/{ds.ln}${ds.name}",
                            f"FCDA {m.fcda_ref(ied, f)} names {_what_missing(m, ied, f)}")
                if cross:
                    add("scl.dataset.cross-ld", ds.line, f"{dom}/{ds.ln}${ds.name}",
                        f"data set in LD {ld.inst} with members in LD {', '.join(sorted(cross))}")
    for dot in t.do_types.values():
        for d in dot.children.values():
            if d.kind == "SDO" and d.type not in t.do_types:
                add("scl.type.missing", None, f"DOType {dot.id}", f"SDO {d.name} type {d.type!r} is not defined")
            elif d.b_type == "Struct" and d.type not in t.da_types:
                add("scl.type.missing", None, f"DOType {dot.id}", f"DA {d.name} type {d.type!r} is not defined")
            elif d.b_type == "Enum" and d.type not in t.enum_types:
                add("scl.type.missing", None, f"DOType {dot.id}", f"DA {d.name} EnumType {d.type!r} is not defined")
    for lnt in t.lnode_types.values():
        for name, tid in lnt.dos.items():
            if tid not in t.do_types:
                add("scl.type.missing", None, f"LNodeType {lnt.id}", f"DO {name} type {tid!r} is not defined")


def _what_missing(m, ied, f) -> str:
    ld = next((d for d in ied.ldevices() if d.inst == f.ld_inst), None)
    if ld is None:
        return f"a missing LDevice {f.ld_inst!r}"
    if not any(n.name == f.ln_name for n in ld.lns):
        return f"a missing LN {f.ln_name!r}"
    return f"a missing DO/DA {'.'.join(x for x in (f.do_name, f.da_name) if x)!r}"


def _control_blocks(m, add):
    goids = defaultdict(list)
    for c in m.control_blocks():
        b = c.block
        ied = next(i for i in m.ieds if i.name == c.ied)
        ld = next(d for d in ied.ldevices() if d.inst == c.ld_inst)
        if b.dat_set:
            if not any(ds.name == b.dat_set and ds.ln == b.ln for ds in ld.datasets):
                add("scl.cb.dataset-missing", b.line, c.ref, f"datSet {b.dat_set!r} is not a data set of {b.ln}")
        elif c.kind != "RCB":
            add("scl.cb.no-dataset", b.line, c.ref, f"{c.kind} without datSet")
        if len(b.name) > LIMITS["cb_name"]:
            add("scl.name.length", b.line, c.ref, f"control block name has {len(b.name)} characters (max 32)")
        elif len(b.name) == LIMITS["cb_name"]:
            add("scl.name.at-limit", b.line, c.ref, "control block name has 32 characters (the maximum)")
        if c.kind == "RCB":
            continue
        if c.address is None:
            add("scl.cb.no-address", b.line, c.ref,
                f"no {'GSE' if c.kind == 'GoCB' else 'SMV'} address for {c.ld_inst}/{b.name} in Communication")
        if b.conf_rev is None:
            add("scl.cb.confrev-missing", b.line, c.ref, f"{c.kind} without confRev")
        elif b.conf_rev == 0:
            add("scl.cb.confrev-zero", b.line, c.ref, "confRev=\"0\"")
        if c.kind == "GoCB":
            goids[b.app_id].append(c)
            if b.type == "GSSE":
                add("scl.cb.gsse", b.line, c.ref, "GSEControl type=\"GSSE\" (UCA GSSE, not GOOSE)")
            _length(add, b.line, c.ref, "goID", b.app_id, LIMITS["go_id"])
            if c.address is not None and _HEX4.match(b.app_id or "") and c.address.appid \
                    and b.app_id.upper() != c.address.appid.upper():
                add("scl.cb.goid-like-appid", b.line, c.ref,
                    f"goID {b.app_id!r} looks like an APPID but the GSE APPID is {c.address.appid!r}")
        else:
            if not b.multicast:
                add("scl.cb.unicast-sv", b.line, c.ref, "SampledValueControl multicast=\"false\"")
            lim = _ED1_SMV_ID if m.version is None else LIMITS["smv_id"]
            _length(add, b.line, c.ref, "smvID", b.smv_id, lim)
            if m.version is not None and len(b.smv_id or "") >= _ED1_SMV_ID:
                add("scl.name.at-limit", b.line, c.ref,
                    f"smvID has {len(b.smv_id)} characters (Ed1 readers stop at 65)")
    for goid, cbs in goids.items():
        if goid and len(cbs) > 1:
            for c in cbs:
                add("scl.cb.goid-duplicate", c.block.line, c.ref,
                    f"goID {goid!r} also used by {', '.join(x.ref for x in cbs if x is not c)}")


def _length(add, line, obj, what, value, limit):
    n = len(value or "")
    if n > limit:
        add("scl.name.length", line, obj, f"{what} has {n} characters (max {limit})")
    elif n == limit:
        add("scl.name.at-limit", line, obj, f"{what} has {n} characters (the maximum)")


def _addresses(m, add):
    ieds = {i.name: i for i in m.ieds}
    by_appid = defaultdict(list)
    by_mac = defaultdict(list)
    for cap in m.connected_aps:
        ied = ieds.get(cap.ied_name)
        if ied is None and (cap.gse or cap.smv):
            add("scl.address.foreign-ied", cap.line, f"{cap.ied_name}/{cap.ap_name}",
                f"ConnectedAP of IED {cap.ied_name!r} (not in this file) with {len(cap.gse)} GSE / "
                f"{len(cap.smv)} SMV address(es)")
        for a in cap.gse + cap.smv:
            obj = f"{a.kind} {a.ied_name}/{a.ld_inst}/{a.cb_name}"
            if ied is not None:
                ld = next((d for d in ied.ldevices() if d.inst == a.ld_inst), None)
                blocks = (ld.gocbs if a.kind == "GSE" else ld.svcbs) if ld else ()
                if not any(b.name == a.cb_name for b in blocks):
                    add("scl.address.dangling", a.line, obj,
                        f"{a.kind} address (APPID {a.appid}) for {a.ld_inst}/{a.cb_name}, which "
                        + ("has no LDevice" if ld is None else "is not a control block of that LDevice"))
            if a.appid is not None:
                if not _HEX4.match(a.appid):
                    add("scl.address.appid-format", a.line, obj, f"APPID {a.appid!r} (want 4 upper-case hex digits)")
                try:
                    v = int(a.appid, 16)
                except ValueError:
                    v = None
                if v is not None:
                    ok = (0x4000 <= v <= 0x7FFF) if a.kind == "SMV" else (v <= 0x3FFF or 0x8000 <= v <= 0xBFFF)
                    if not ok:
                        add("scl.address.appid-range", a.line, obj, f"{a.kind} APPID 0x{v:04X} outside the "
                            + ("SV range 4000-7FFF" if a.kind == "SMV" else "GOOSE ranges 0000-3FFF / 8000-BFFF"))
                    by_appid[(a.kind, v)].append(obj)
            if a.mac is not None:
                if not _MAC.match(a.mac):
                    add("scl.address.mac-format", a.line, obj, f"MAC-Address {a.mac!r}")
                else:
                    mac = a.mac.upper()
                    want = "01-0C-CD-04" if a.kind == "SMV" else "01-0C-CD-01"
                    if not mac.startswith(want) and not (a.kind == "GSE" and mac.startswith("01-0C-CD-02")):
                        add("scl.address.mac-range", a.line, obj, f"{a.kind} MAC {a.mac} outside {want}-00-00..{want}-01-FF")
                    by_mac[mac].append(obj)
            if a.vlan_id is not None:
                if not _HEX3.match(a.vlan_id):
                    add("scl.address.vlan-format", a.line, obj, f"VLAN-ID {a.vlan_id!r} (want 3 upper-case hex digits)")
                elif any(ch in "ABCDEF" for ch in a.vlan_id):
                    add("scl.address.vlan-hex-letter", a.line, obj, f"VLAN-ID {a.vlan_id!r} = {int(a.vlan_id, 16)}")
            if a.vlan_priority is not None and a.vlan_priority not in tuple("01234567"):
                add("scl.address.vlan-priority", a.line, obj, f"VLAN-PRIORITY {a.vlan_priority!r}")
            if a.ip:
                add("scl.address.routable", a.line, obj, f"IP {a.ip}" + (f" and MAC {a.mac}" if a.mac else " (no MAC)"))
        if cap.vlan_in_mms:
            add("scl.address.vlan-in-mms", cap.line, f"{cap.ied_name}/{cap.ap_name}",
                "VLAN-ID/VLAN-PRIORITY given in the MMS Address of the ConnectedAP")
    for (kind, v), objs in by_appid.items():
        if len(objs) > 1:
            add("scl.address.appid-duplicate", None, f"{kind} APPID {v:04X}",
                f"APPID {v:04X} shared by {len(objs)}: {', '.join(objs[:6])}{' ...' if len(objs) > 6 else ''}")
    for mac, objs in by_mac.items():
        if len(objs) > 1:
            add("scl.address.mac-duplicate", None, f"MAC {mac}",
                f"MAC {mac} shared by {len(objs)}: {', '.join(objs[:6])}{' ...' if len(objs) > 6 else ''}")


def _ext_refs(m, add):
    ieds = {i.name: i for i in m.ieds}
    for ied in m.ieds:
        for x in ied.ext_refs:
            if not x.src_cb_name:
                continue
            src = ieds.get(x.src_ied)
            if src is None:
                continue            # publisher not in this file: cannot be resolved here
            ld = next((d for d in src.ldevices() if d.inst == x.src_ld_inst), None)
            names = {b.name for b in (ld.gocbs + ld.svcbs + ld.reports)} if ld else set()
            if x.src_cb_name not in names:
                add("scl.extref.unresolved", x.line, f"{ied.name} ExtRef",
                    f"{x.service_type or 'ExtRef'} subscription to {x.src_ied}/{x.src_ld_inst}/{x.src_cb_name}: "
                    + ("no such LDevice" if ld is None else
                       f"no such control block (has {', '.join(sorted(names)) or 'none'})"))
