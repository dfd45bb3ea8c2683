"""Configured (SCL) versus observed (capture): ``Capture.scl_check()`` / ``mmsanalyze scl-check``.

One row per finding (:data:`COLUMNS`).  ``result`` is ``match`` (observed =
configured), ``mismatch``, ``not-seen`` (configured, absent from the capture),
``not-in-scl`` (observed, not configured), ``dynamic`` (a data set created by a
client), ``seen`` or ``not-checkable`` (the capture cannot show it, e.g. no
destination MAC on Linux cooked captures).  ``severity`` is ``ok`` for matches,
``info`` for facts worth knowing, ``warning`` for a contradiction an engineer
must look at.  :func:`verdict` condenses the rows into one line.

Observed GOOSE publishers are paired with a GoCB by gocbRef, then (for publishers
that spell it wrongly) by gocbRef without ``$GO$``, by datSet, by goID; SV streams by
svID, then by data set name, by APPID and destination MAC, by source IED.
"""

from __future__ import annotations

import ipaddress
import math

__all__ = ["COLUMNS", "scl_check", "verdict"]

COLUMNS = {
    "severity": ("string", "ok / info / warning"),
    "kind": ("string", "GoCB, SVCB, RCB, GOOSE, SV, IED, MMS, dataset, control"),
    "object": ("string", "the configured reference (or the observed identity when not in the SCL)"),
    "check": ("string", "what is compared (seen, gocb_ref, go_id, dat_set, appid, dst_mac, vlan_id, ...)"),
    "configured": ("string", "value in the SCL file"),
    "observed": ("string", "value in the capture"),
    "result": ("string", "match, mismatch, not-seen, not-in-scl, dynamic, seen, not-checkable"),
    "message": ("string", "explanation"),
}

#: Checks whose match shows that the capture is of the configured system (besides a
#: control block seen): an MMS server at its ConnectedAP address, a domain of the SCL,
#: the identify vendor.
MATCH_CHECKS = ("server", "domain", "vendor")
#: Heartbeat tolerance over MaxTime (timers of real publishers drift a little).
MAX_TIME_SLACK = 1.10
#: The median first retransmission interval must lie within these multiples of MinTime
#: (publishers on PCs and VMs jitter by milliseconds).
MIN_TIME_SLACK = 0.5
MIN_TIME_SPAN = 2.0


def _s(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    return str(v)


def _na(v):
    if v is None or isinstance(v, (list, dict, tuple)):
        return v is None
    try:
        import pandas as pd
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


class _Rows:
    def __init__(self):
        self.rows = []

    def add(self, severity, kind, obj, check, configured, observed, result, message=""):
        self.rows.append({"severity": severity, "kind": kind, "object": obj, "check": check,
                          "configured": _s(configured), "observed": _s(observed), "result": result,
                          "message": message})

    def cmp(self, kind, obj, check, configured, observed, equal=None, message="", severity="warning"):
        if configured is None or observed is None:
            return
        ok = (configured == observed) if equal is None else equal
        self.add("ok" if ok else severity, kind, obj, check, configured, observed,
                 "match" if ok else "mismatch", "" if ok else message)


def _hex(v):
    try:
        return int(str(v).strip(), 16)
    except (TypeError, ValueError):
        return None


def _mac(v):
    return str(v).replace("-", ":").lower() if v else None


def scl_check(cap, model) -> list[dict]:
    """Rows comparing the capture ``cap`` with the SCL ``model`` (see :data:`COLUMNS`)."""
    r = _Rows()
    _goose(cap, model, r)
    _sv(cap, model, r)
    _reports(cap, model, r)
    _mms(cap, model, r)
    return r.rows


def table(rows):
    from ..analysis._table import build
    cols = {k: [row[k] for row in rows] for k in COLUMNS}
    return build(COLUMNS, cols)


def verdict(rows) -> str:
    """``matches``, ``matches with N mismatch(es)`` or ``does not match`` (nothing observed is configured)."""
    matched = sum(1 for x in rows if (x["check"] == "seen" and x["result"] == "seen")
                  or (x["check"] in MATCH_CHECKS and x["result"] == "match"))
    foreign = sum(1 for x in rows if x["result"] == "not-in-scl" and x["kind"] in ("GOOSE", "SV", "MMS"))
    bad = sum(1 for x in rows if x["severity"] == "warning")
    if not matched:
        return "does not match" if (foreign or rows) else "nothing to compare"
    return "matches" if not bad else f"matches with {bad} warning(s)"


# -- helpers shared by GOOSE and SV -------------------------------------------------------

def _src_ied(model, src_mac):
    """IED whose ConnectedAP IP is the one a docker MAC (02:42:a.b.c.d) encodes, else None."""
    if not src_mac:
        return None
    p = str(src_mac).lower().split(":")
    if len(p) == 6 and p[0] == "02" and p[1] == "42":
        try:
            ip = ".".join(str(int(x, 16)) for x in p[2:])
        except ValueError:
            return None
        return model.ied_for_ip(ip)
    return None


def _check_src(r, kind, obj, model, cb, src_mac):
    if not src_mac:
        return
    try:
        first = int(str(src_mac).split(":")[0], 16)
    except ValueError:
        return
    docker = _src_ied(model, src_mac)
    if docker is not None:
        r.cmp(kind, obj, "src_mac", cb.ied, docker, message="source MAC encodes the address of another IED")
        if docker == cb.ied:
            r.rows[-1]["message"] = f"{src_mac} is the docker MAC of {cb.ied}'s ConnectedAP IP"
        return
    if first & 0x02:
        r.add("warning", kind, obj, "src_mac", cb.ied, src_mac, "mismatch",
              f"source MAC {src_mac} is locally administered (not a vendor NIC): published by a "
              "simulator, VM or test set rather than the IED?")


def _address(model, cb):
    """(Address, note): the CB's own address, else the IED's only dangling address of that kind."""
    if cb.address is not None:
        return cb.address, ""
    kind = "GSE" if cb.kind == "GoCB" else "SMV"
    names = {(c.ld_inst, c.block.name) for c in model.control_blocks(cb.kind) if c.ied == cb.ied}
    dangling = [a for cap in model.connected_aps if cap.ied_name == cb.ied
                for a in (cap.gse if kind == "GSE" else cap.smv) if (a.ld_inst, a.cb_name) not in names]
    if len(dangling) == 1:
        a = dangling[0]
        return a, (f"{cb.ref} has no {kind} address; compared with {cb.ied}'s only {kind} address, which "
                   f"names the non-existent block {a.ld_inst}/{a.cb_name}")
    return None, ""


def _compare_address(r, kind, obj, addr, note, appid, dst, vid, prio):
    if addr is None:
        r.add("info", kind, obj, "address", None, None, "not-checkable", "no GSE/SMV address configured")
        return
    if note:
        r.add("info", kind, obj, "address", f"{addr.ld_inst}/{addr.cb_name}", None, "seen", note)
    if addr.appid is not None and appid is not None:
        want = _hex(addr.appid)
        r.cmp(kind, obj, "appid", f"0x{want:04X}" if want is not None else addr.appid, f"0x{int(appid):04X}",
              equal=want == int(appid), message="APPID differs")
    if addr.mac:
        if dst:
            r.cmp(kind, obj, "dst_mac", _mac(addr.mac), _mac(dst), message="destination MAC differs")
        else:
            r.add("info", kind, obj, "dst_mac", _mac(addr.mac), None, "not-checkable",
                  "the capture has no destination MAC (Linux cooked capture)")
    if addr.vlan_id is not None:
        want = _hex(addr.vlan_id)
        got = None if _na(vid) else int(vid)
        r.cmp(kind, obj, "vlan_id", want, got if got is not None else "untagged",
              equal=(want == got) or (want == 0 and got is None), message="VLAN id differs")
    if addr.vlan_priority is not None and not _na(prio):
        want = _hex(addr.vlan_priority)
        r.cmp(kind, obj, "vlan_priority", want, int(prio), message="VLAN priority differs")


def _values(series):
    out = []
    for v in series:
        if not _na(v) and v not in out:
            out.append(v)
    return out


# -- GOOSE ------------------------------------------------------------------------------

def _find_gocb(model, gocb_ref, dat_set, go_id):
    gocbs = model.control_blocks("GoCB")
    for how, test in (("gocbRef", lambda c: c.ref == gocb_ref),
                      ("gocbRef without $GO$", lambda c: c.ref.replace("$GO$", "$", 1) == gocb_ref),
                      ("datSet", lambda c: dat_set and c.dat_set_ref == dat_set),
                      ("goID", lambda c: go_id and c.block.app_id == go_id)):
        hits = [c for c in gocbs if test(c)]
        if len(hits) == 1:
            return hits[0], how
    return None, None


def _goose(cap, model, r):
    try:
        g = cap.goose()
        st = cap.goose_streams()
    except RuntimeError:
        return
    seen = set()
    have_goose = len(g) > 0
    if have_goose:
        keys = ["src_mac", "appid", "gocb_ref"]
        timing = {tuple(x[k] for k in keys): x for x in st.to_dict("records")}
        for key, grp in g.groupby(keys, sort=False, dropna=False):
            src, appid, ref = key
            go_ids, dsets = _values(grp["go_id"]), _values(grp["dat_set"])
            cb, how = _find_gocb(model, ref, dsets[0] if dsets else None, go_ids[0] if go_ids else None)
            if cb is None:
                r.add("warning", "GOOSE", ref, "seen", None, f"{ref} from {src} APPID 0x{int(appid):04X}",
                      "not-in-scl", "GOOSE publisher that the SCL does not configure")
                continue
            seen.add(cb.ref)
            b = cb.block
            obj = cb.ref
            r.add("ok", "GoCB", obj, "seen", cb.ref, f"{len(grp)} message(s) from {src}", "seen",
                  f"paired by {how}" + (f" ({ref})" if how != "gocbRef" else ""))
            r.cmp("GoCB", obj, "gocb_ref", cb.ref, ref, message="gocbRef differs")
            goid_cfg = b.app_id or cb.ref
            for v in go_ids:
                r.cmp("GoCB", obj, "go_id", goid_cfg, v, message="goID differs from GSEControl appID")
            for v in dsets:
                r.cmp("GoCB", obj, "dat_set", cb.dat_set_ref, v, message="datSet differs")
            for v in _values(grp["conf_rev"]):
                r.cmp("GoCB", obj, "conf_rev", b.conf_rev, int(v), message="confRev differs")
            members = model.members(cb.dat_set_ref) if cb.dat_set_ref else []
            n = _values(grp["num_dat_set_entries"])
            for v in n:
                r.cmp("GoCB", obj, "entries", len(members), int(v), message="number of data set entries differs")
            _member_types(r, "GoCB", obj, members, grp)
            dsts = _values(grp["dst_mac"])
            vids, prios = _values(grp["vlan_id"]), _values(grp["vlan_priority"])
            addr, note = _address(model, cb)
            _compare_address(r, "GoCB", obj, addr, note, appid, dsts[0] if dsts else None,
                             vids[0] if vids else None, prios[0] if prios else None)
            t = timing.get(key)
            if addr is not None and t is not None:
                hb = t.get("heartbeat_ms")
                if addr.max_time and not _na(hb):
                    r.cmp("GoCB", obj, "max_time", f"{addr.max_time:g} ms", f"{hb:.1f} ms",
                          equal=hb <= addr.max_time * MAX_TIME_SLACK, message="heartbeat longer than MaxTime")
                first = sorted(x[0] for x in (t.get("retrans_ms") or []) if isinstance(x, (list, tuple)) and x)
                if addr.min_time and first:
                    med = first[len(first) // 2]
                    r.cmp("GoCB", obj, "min_time", f"{addr.min_time:g} ms", f"{med:.1f} ms (median first retransmission)",
                          equal=addr.min_time * MIN_TIME_SLACK <= med <= addr.min_time * MIN_TIME_SPAN,
                          message="first retransmission interval far from MinTime")
            _check_src(r, "GoCB", obj, model, cb, src)
    for cb in model.control_blocks("GoCB"):
        if cb.ref not in seen:
            r.add("info", "GoCB", cb.ref, "seen", cb.ref, None, "not-seen",
                  "configured GoCB not published in the capture" if have_goose
                  else "the capture has no GOOSE")


def _member_types(r, kind, obj, members, grp):
    types = None
    vals = None
    for t, v in zip(grp["value_types"], grp["values"]):
        if isinstance(t, list):
            types, vals = t, v
            break
    if types is None or not members or len(types) != len(members):
        return
    want = [m.mms_type for m in members]
    bad = [i for i, (a, b) in enumerate(zip(want, types)) if a is not None and a != b]
    bits = []
    for i, m in enumerate(members):
        n = {"Dbpos": 2, "Tcmd": 2, "Quality": 13}.get(m.scl_type or "")
        v = vals[i] if vals is not None and i < len(vals) else None
        if n and isinstance(v, dict) and "bits" in v and len(v["bits"]) != n:
            bits.append(i)
    desc_c = ", ".join(f"{m.scl_type}" for m in members)
    desc_o = ", ".join(f"{t}" + (f"({len(vals[i]['bits'])})" if t == "bit-string" and vals and isinstance(vals[i], dict)
                                  else "") for i, t in enumerate(types))
    ok = not bad and not bits
    r.add("ok" if ok else "warning", kind, obj, "member_types", desc_c, desc_o, "match" if ok else "mismatch",
          "" if ok else "member(s) " + ", ".join(members[i].ref for i in sorted(set(bad + bits)))
          + " carried as another type than the SCL says")


# -- SV -----------------------------------------------------------------------------------

def _find_svcb(model, sv_id, dat_set, appid, dst, src):
    svcbs = model.control_blocks("SVCB")

    def by_addr(c):
        a = c.address
        if a is None or _hex(a.appid) != appid:
            return False
        return not dst or _mac(a.mac) == _mac(dst)
    src_ied = _src_ied(model, src)
    for how, test in (("svID", lambda c: c.block.smv_id == sv_id),
                      ("datSet", lambda c: dat_set and c.dat_set_ref == dat_set),
                      ("data set name = svID", lambda c: c.block.dat_set == sv_id),
                      ("APPID and MAC", by_addr),
                      ("source IED", lambda c: src_ied is not None and c.ied == src_ied)):
        hits = [c for c in svcbs if test(c)]
        if len(hits) == 1:
            return hits[0], how
    return None, None


def _sv(cap, model, r):
    try:
        s = cap.sv()
    except RuntimeError:
        return
    have = len(s) > 0
    seen = set()
    if have:
        for key, grp in s.groupby(["sv_id", "appid", "src_mac"], sort=False, dropna=False):
            sv_id, appid, src = key
            dsets = _values(grp["dat_set"])
            dsts = _values(grp["dst_mac"])
            cb, how = _find_svcb(model, sv_id, dsets[0] if dsets else None, int(appid),
                                 dsts[0] if dsts else None, src)
            if cb is None:
                r.add("warning", "SV", str(sv_id), "seen", None, f"svID {sv_id} from {src} APPID 0x{int(appid):04X}",
                      "not-in-scl", "SV stream that the SCL does not configure")
                continue
            seen.add(cb.ref)
            b = cb.block
            obj = cb.ref
            r.add("ok", "SVCB", obj, "seen", cb.ref, f"{grp['frame'].nunique()} frame(s) from {src}", "seen",
                  f"paired by {how}")
            r.cmp("SVCB", obj, "sv_id", b.smv_id, sv_id, message="svID differs from smvID")
            for v in dsets:
                r.cmp("SVCB", obj, "dat_set", cb.dat_set_ref, v, message="datSet differs")
            for v in _values(grp["conf_rev"]):
                r.cmp("SVCB", obj, "conf_rev", b.conf_rev, int(v), message="confRev differs")
            for v in _values(grp["no_asdu"]):
                r.cmp("SVCB", obj, "no_asdu", b.nof_asdu, int(v), message="noASDU differs from nofASDU")
            for v in _values(grp["smp_rate"]):
                r.cmp("SVCB", obj, "smp_rate", b.smp_rate, int(v), message="smpRate differs")
            synch = _values(grp["smp_synch"])
            if b.sample_synchronized and model.version is None:
                # Ed1 / 9-2LE: SmvOpts.sampleSynchronized only says the smpSynch field is sent
                r.add("ok" if synch else "warning", "SVCB", obj, "smp_synch", "sampleSynchronized=true (field sent)",
                      "present" if synch else "absent", "match" if synch else "mismatch",
                      "" if synch else "SmvOpts sampleSynchronized but no smpSynch field")
            elif b.sample_synchronized:
                # Ed2: the field is always sent, so the option states the expected synchronisation
                if synch:
                    ok = any(int(x) != 0 for x in synch)
                    r.add("ok" if ok else "warning", "SVCB", obj, "smp_synch", "sampleSynchronized=true",
                          ",".join(str(int(x)) for x in synch), "match" if ok else "mismatch",
                          "" if ok else "SmvOpts sampleSynchronized but the stream is never synchronised (smpSynch 0)")
            members = model.members(cb.dat_set_ref) if cb.dat_set_ref else []
            sizes = [m.size for m in members]
            if members and all(x is not None for x in sizes):
                lens = _values(grp["seq_data_len"])
                if grp["malformed"].any() and lens and max(int(x) for x in lens) < sum(sizes):
                    declared = _declared_seq_data(cap, int(grp.loc[grp["malformed"], "frame"].iloc[0]))
                    if declared is not None:
                        lens = [declared]
                        r.add("info", "SVCB", obj, "seq_data", None, f"{declared} B declared", "seen",
                              "frames truncated: the seqData length is read from its BER header")
                for v in lens:
                    r.cmp("SVCB", obj, "seq_data", f"{sum(sizes)} B ({len(members)} members)", f"{int(v)} B",
                          equal=sum(sizes) == int(v), message="seqData length differs from the data set layout")
            vids, prios = _values(grp["vlan_id"]), _values(grp["vlan_priority"])
            addr, note = _address(model, cb)
            _compare_address(r, "SVCB", obj, addr, note, appid, dsts[0] if dsts else None,
                             vids[0] if vids else None, prios[0] if prios else None)
            _check_src(r, "SVCB", obj, model, cb, src)
    for cb in model.control_blocks("SVCB"):
        if cb.ref not in seen:
            r.add("info", "SVCB", cb.ref, "seen", cb.ref, None, "not-seen",
                  "configured SVCB not published in the capture" if have else "the capture has no SV")


def _declared_seq_data(cap, frame_no):
    """The BER length of the first seqData (tag 0x87) of SV frame ``frame_no``, or None.

    Truncated frames keep only part of their seqData, so the table holds what was
    captured; the declared length is read back from the frame (one frame re-read)."""
    try:
        from ..io import open_source
        from ..net.link import parse_link
    except ImportError:         # pragma: no cover
        return None
    try:
        reader = open_source(cap.name)
    except Exception:
        return None
    try:
        for fr in reader:
            if fr.number < frame_no:
                continue
            if fr.number > frame_no:
                return None
            et, off, *_ = parse_link(fr.linktype, fr.data)
            return _walk_seq_data(bytes(fr.data), off + 8) if et == 0x88BA else None
    except Exception:
        return None
    finally:
        reader.close()
    return None


def _walk_seq_data(buf, pos):
    def hdr(p):
        if p + 2 > len(buf):
            return None
        tag, n = buf[p], buf[p + 1]
        p += 2
        if n & 0x80:
            k = n & 0x7F
            if k == 0 or k > 3 or p + k > len(buf):
                return None
            n = int.from_bytes(buf[p:p + k], "big")
            p += k
        return tag, p, n
    h = hdr(pos)                                    # savPdu [APPLICATION 0]
    if h is None or h[0] != 0x60:
        return None
    p = h[1]
    for _ in range(64):
        h = hdr(p)
        if h is None:
            return None
        tag, vs, n = h
        if tag == 0x87:
            return n
        p = vs if tag in (0xA2, 0x30) else vs + n   # descend into seqASDU and ASDU
    return None


# -- reports and MMS ------------------------------------------------------------------------

#: Services whose ``object`` is an MMS variable or variable list name (not a file).
_NAMED_OBJECT_SERVICES = ("getVariableAccessAttributes", "defineNamedVariableList", "deleteNamedVariableList",
                          "getNamedVariableListAttributes")


def _mms_variables(cap):
    out = set()
    for rec in cap.records:
        for v in getattr(rec, "variables", None) or ():
            out.add(v)
    try:
        tx = cap.transactions()
        named = tx["service"].isin(_NAMED_OBJECT_SERVICES)
        for o in tx.loc[named, "object"].dropna():
            out.add(str(o))
    except Exception:           # pragma: no cover - defensive: a table that cannot be built
        pass
    return out


def _reports(cap, model, r):
    rep = cap.reports()
    have_mms = len(cap.records) > 0
    seen = set()
    names = _mms_variables(cap) if have_mms else set()
    if len(rep):
        for (server, rpt_id), grp in rep.groupby(["server", "rpt_id"], sort=False, dropna=False):
            cb = model.rcb(rpt_id=rpt_id) if not _na(rpt_id) else None
            if cb is None and not _na(rpt_id):
                cb = model.rcb(ref=str(rpt_id))
            if cb is None:
                r.add("warning", "RCB", str(rpt_id), "seen", None, f"RptID {rpt_id} from {server}", "not-in-scl",
                      "reports with an RptID no ReportControl configures")
                continue
            seen.add(cb.ref)
            obj = cb.ref
            r.add("ok", "RCB", obj, "seen", cb.ref, f"{len(grp)} report(s) from {server}", "seen", "paired by RptID")
            for v in _values(grp["dataset"]):
                r.cmp("RCB", obj, "dat_set", cb.dat_set_ref, v, message="DatSet differs")
            for v in _values(grp["conf_rev"]):
                r.cmp("RCB", obj, "conf_rev", cb.block.conf_rev, int(v), message="ConfRev differs")
    for cb in model.control_blocks("RCB"):
        if cb.ref in seen:
            continue
        used = sorted(n for n in names if "/" in n and model.rcb(ref=_rcb_part(n)) is cb)
        if used:
            seen.add(cb.ref)
            r.add("ok", "RCB", cb.ref, "seen", cb.ref, used[0], "seen", "control block accessed by a client")
        else:
            r.add("info", "RCB", cb.ref, "seen", cb.ref, None, "not-seen",
                  "no report or access of this RCB in the capture" if have_mms else "the capture has no MMS")


def _rcb_part(name):
    """``'D/LLN0$BR$EventsRCB01$RptEna'`` -> ``'D/LLN0$BR$EventsRCB01'``."""
    dom, _, item = name.partition("/")
    return f"{dom}/{'$'.join(item.split('$')[:3])}"


def _loopback(addr):
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return False


def _host(ep):
    s = str(ep)
    if s.startswith("["):
        return s[1:s.index("]")]
    return s.rsplit(":", 1)[0] if s.count(":") == 1 else s


def _mms(cap, model, r):
    if not cap.records:
        for cp in model.connected_aps:
            if cp.ip and model_has_ied(model, cp.ied_name):
                r.add("info", "IED", f"{cp.ied_name}/{cp.ap_name}", "seen", cp.ip, None, "not-seen",
                      "the capture has no MMS")
        return
    assoc = cap.associations()
    servers, clients = {}, {}
    for row in assoc.itertuples():
        servers.setdefault(_host(row.server), 0)
        servers[_host(row.server)] += 1
        clients.setdefault(_host(row.client), 0)
        clients[_host(row.client)] += 1
    for host, n in servers.items():
        ied = model.ied_for_ip(host)
        if ied:
            r.add("ok", "IED", ied, "server", model_ip(model, ied), host, "match",
                  f"MMS server {host} is {ied}'s ConnectedAP ({n} association(s))")
        elif _loopback(host):
            r.add("info", "MMS", host, "server", None, host, "not-checkable", "loopback address: not in any SCL")
        else:
            r.add("warning", "MMS", host, "server", None, host, "not-in-scl",
                  "MMS server at an address no ConnectedAP has")
    for host, n in clients.items():
        ied = model.ied_for_ip(host)
        if ied:
            r.add("ok", "IED", ied, "client", model_ip(model, ied), host, "match", f"MMS client {host} is {ied}")
        elif not _loopback(host):
            r.add("info", "MMS", host, "client", None, host, "not-in-scl",
                  "MMS client at an address the SCL does not list (HMI/gateway/test set?)")
    for cp in model.connected_aps:
        if cp.ip and model_has_ied(model, cp.ied_name) and cp.ip not in servers and cp.ip not in clients:
            r.add("info", "IED", f"{cp.ied_name}/{cp.ap_name}", "seen", cp.ip, None, "not-seen",
                  "no MMS association with this access point in the capture")
    _domains(cap, model, r)
    _controls(cap, model, r)
    _identify(cap, model, r)


def model_has_ied(model, name):
    return any(i.name == name for i in model.ieds)


def model_ip(model, ied):
    return next((c.ip for c in model.connected_aps if c.ied_name == ied and c.ip), None)


def _domains(cap, model, r):
    names = _mms_variables(cap)
    nvl_services = {"defineNamedVariableList", "deleteNamedVariableList", "getNamedVariableListAttributes"}
    tx = cap.transactions()
    nvls = set(tx.loc[tx["service"].isin(nvl_services), "object"].dropna().astype(str)) if len(tx) else set()
    domains, lns = {}, {}
    for n in names:
        if "/" not in n:
            continue
        dom, _, item = n.partition("/")
        domains.setdefault(dom, n)
        if n in nvls:
            continue
        ln = item.split("$")[0]
        if ln:
            lns.setdefault((dom, ln), n)
    for dom, example in sorted(domains.items()):
        hit = model.ldevice(dom)
        if hit:
            r.add("ok", "IED", dom, "domain", dom, dom, "match", f"logical device {hit[1].inst} of IED {hit[0].name}")
        else:
            r.add("warning", "MMS", dom, "domain", None, example, "not-in-scl", "MMS domain no LDevice of the SCL has")
    for (dom, ln), example in sorted(lns.items()):
        if model.ldevice(dom) is None:
            continue
        if model.ln(dom, ln) is None and model.dataset(f"{dom}/LLN0${ln}") is None:
            r.add("warning", "MMS", f"{dom}/{ln}", "ln", None, example, "not-in-scl",
                  "logical node not in the SCL's LDevice")
    for name in sorted(nvls):
        if model.dataset(name) is not None:
            r.add("ok", "dataset", name, "dat_set", name, name, "match", "configured data set")
        else:
            r.add("info", "dataset", name, "dat_set", None, name, "dynamic",
                  "named variable list not configured in the SCL: a client-defined (dynamic) data set")


def _controls(cap, model, r):
    ctl = cap.controls()
    if not len(ctl):
        return
    assoc = cap.associations()
    started = {int(s) for s, h in zip(assoc["stream"], assoc["handshake"]) if bool(h)} if len(assoc) else set()
    for obj, grp in ctl.groupby("object", sort=False):
        cm = model.ctl_model(str(obj))
        if cm is None:
            continue
        acts = set(grp["action"].dropna().astype(str))
        sbo = cm.startswith("sbo")
        selected = any(a.startswith("select") for a in acts)
        operated = "operate" in acts
        desc = "+".join(sorted(a for a in acts if a in ("select", "select-with-value", "operate", "cancel")))
        if cm == "status-only" and (selected or operated):
            r.add("warning", "control", str(obj), "ctl_model", cm, desc, "mismatch", "control of a status-only object")
        elif sbo and operated and not selected:
            whole = all(not _na(s) and int(s) in started for s in grp["stream"])
            if whole:
                r.add("warning", "control", str(obj), "ctl_model", cm, desc, "mismatch",
                      "direct operate on an SBO object (no select seen)")
            else:
                r.add("info", "control", str(obj), "ctl_model", cm, desc, "not-checkable",
                      "operate without select, but the association started before the capture")
        elif not sbo and selected:
            r.add("warning", "control", str(obj), "ctl_model", cm, desc, "mismatch", "select on a direct-operate object")
        elif desc:
            r.add("ok", "control", str(obj), "ctl_model", cm, desc, "match", "")


def _identify(cap, model, r):
    try:
        p = cap.pdus(detail=True)
    except Exception:           # pragma: no cover
        return
    resp = p[(p["service"] == "identify") & (p["pdu"] == "confirmed-ResponsePDU")]
    if not len(resp):
        return
    ied = model.ieds[0] if len(model.ieds) == 1 else None
    if ied is None:
        return
    for det in resp["detail"]:
        try:
            idn = det["confirmed-ResponsePDU"]["confirmedServiceResponse"]["identify"]
        except (KeyError, TypeError):
            continue
        ld = next(iter(ied.ldevices()), None)
        if ld is None:
            continue
        dom = ld.domain(ied.name)
        vendor = model.value(f"{dom}/LLN0.NamPlt.vendor")
        swrev = model.value(f"{dom}/LLN0.NamPlt.swRev")
        v = idn.get("vendorName")
        if vendor and v:
            ok = vendor.lower().startswith(v.lower()) or v.lower().startswith(vendor.lower())
            r.cmp("IED", ied.name, "vendor", vendor, v, equal=ok, message="identify vendorName differs from NamPlt.vendor")
        if swrev and idn.get("revision"):
            r.cmp("IED", ied.name, "sw_rev", swrev, idn["revision"],
                  message="identify revision differs from NamPlt.swRev (SCL older than the running software?)")
        break
