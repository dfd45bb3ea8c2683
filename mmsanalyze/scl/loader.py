"""Streaming, hardened SCL loader (IEC 61850-6 Ed1 2003, Ed2 2007B, Ed2.1 2007B4).

SCL files come from other parties, so the XML is parsed defensively:

* lxml ``iterparse`` with ``resolve_entities=False``, ``no_network=True``,
  ``load_dtd=False`` and ``huge_tree=False`` (libxml2's own caps on text size and
  depth stay on); besides, a document type declaration in the prolog is refused
  before parsing starts (SCL never has one; it is the vehicle of XXE and
  entity-expansion bombs);
* nesting is capped at :data:`MAX_DEPTH` elements;
* the tree is never held whole: each logical node, type definition and connected
  access point is turned into records at its end tag and then freed, and the
  Substation section, Private elements and elements of foreign namespaces are
  dropped as they end -- memory follows the size of the model, not of the file.

A file that is not XML, not well-formed, or not SCL raises :class:`SclError` with a
one-line ``FILE:LINE: what`` message.
"""

from __future__ import annotations

import os
import sys

from ..errors import CaptureError
from . import model as M

__all__ = ["SclError", "load_scl", "SCL_NS", "MAX_DEPTH", "MAX_PROLOG"]

SCL_NS = "http://www.iec.ch/61850/2003/SCL"
#: Deepest element nesting accepted.  Real SCL is under 20 deep (SCL/IED/AccessPoint/
#: Server/LDevice/LN/DOI/SDI.../DAI/Val); 64 leaves room for deep SDI chains.
MAX_DEPTH = 64
#: Octets of prolog (XML declaration, comments, PIs) scanned for a DOCTYPE before the
#: root element; a file whose prolog is longer is refused.
MAX_PROLOG = 1 << 20
#: Elements whose subtree is turned into records at their end tag.
_COLLECT = frozenset(("LN", "LN0", "LNodeType", "DOType", "DAType", "EnumType", "ConnectedAP", "Header"))
_intern = sys.intern
#: Elements whose name attribute is mandatory (SCL schema) besides AccessPoint.
_NAMED = frozenset(("Substation", "VoltageLevel", "Bay", "IED", "SubNetwork"))


class SclError(CaptureError):
    """An SCL file that cannot be used (not XML, not well-formed, not SCL, refused)."""


def load_scl(path) -> "SclModel":
    """Load an SCL file into an :class:`~mmsanalyze.scl.resolver.SclModel`.

    Raises:
        SclError: one line, ``FILE:LINE: what``.
    """
    path = os.fspath(path)
    try:
        fh = open(path, "rb")
    except OSError as err:
        raise SclError(f"{path}: cannot open SCL file: {err.strerror or err}") from None
    with fh:
        _check_prolog(fh, path)
        fh.seek(0)
        return _Builder(path).run(fh)


def _check_prolog(fh, path) -> None:
    """Refuse a DOCTYPE (and so any ENTITY declaration) before the root element."""
    data = fh.read(MAX_PROLOG)
    if not data.strip():
        raise SclError(f"{path}: empty file")
    # UTF-16 files: drop the NULs so the ASCII markup is visible
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[1:2] == b"\x00" or data[:1] == b"\x00":
        data = data.replace(b"\x00", b"")
    pos, n = 0, len(data)
    if data.startswith(b"\xef\xbb\xbf"):
        pos = 3
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        pos = 2
    while pos < n:
        c = data[pos:pos + 1]
        if c in b" \t\r\n" and c:
            pos += 1
            continue
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos)
            if end < 0:
                break
            pos = end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos)
            if end < 0:
                break
            pos = end + 3
        elif data.startswith(b"<!", pos):
            line = data.count(b"\n", 0, pos) + 1
            raise SclError(f"{path}:{line}: document type / entity declarations are refused "
                           "(SCL has none; they carry external entities and expansion bombs)")
        else:
            return
    if n >= MAX_PROLOG:
        raise SclError(f"{path}: no root element in the first {MAX_PROLOG} octets")


def _split(tag):
    if tag[0] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _int(v):
    if v is None:
        return None
    try:
        return int(v.strip())
    except ValueError:
        return None


def _bool(v, default=None):
    if v is None:
        return default
    return v.strip().lower() in ("true", "1")


class _Builder:
    def __init__(self, path):
        self.path = path
        self.root_attrs = {}
        self.seen_root = False
        self.header = {}
        self.ieds = []
        self.caps = []
        self.lnode_types, self.do_types, self.da_types, self.enum_types = {}, {}, {}, {}
        self.notes = []                 # (line, code, message) found while loading
        self.counts = {"IED": 0, "LDevice": 0, "FCDA": 0, "ExtRef": 0}

    # -- the streaming pass -----------------------------------------------------------
    def run(self, fh) -> "SclModel":
        from lxml import etree
        it = etree.iterparse(fh, events=("start", "end"), resolve_entities=False, no_network=True,
                             load_dtd=False, dtd_validation=False, huge_tree=False,
                             remove_comments=True, remove_pis=True, recover=False)
        depth = 0
        collect = 0                     # depth of the element being collected (0: none)
        ignore = 0                      # depth of a foreign/Private element (0: none)
        stack = []                      # local names of the open SCL elements
        ctx = {}
        try:
            for event, el in it:
                tag = el.tag
                if not isinstance(tag, str):
                    continue
                if event == "start":
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise SclError(f"{self.path}:{el.sourceline}: elements nested deeper than "
                                       f"{MAX_DEPTH} (refused)")
                    if ignore or collect:
                        continue
                    ns, local = _split(tag)
                    if depth == 1:
                        if local != "SCL":
                            raise SclError(f"{self.path}:{el.sourceline}: not an SCL file (root "
                                           f"element <{local}>)")
                        if ns not in (SCL_NS, ""):
                            self.notes.append((el.sourceline, "scl.namespace",
                                               f"root namespace {ns!r} is not {SCL_NS!r}"))
                        self.root_attrs = dict(el.attrib)
                        self.seen_root = True
                    if (ns and ns != SCL_NS) or local == "Private":
                        ignore = depth
                        continue
                    stack.append(local)
                    if local in _COLLECT:
                        collect = depth
                    else:
                        self._start(local, el, ctx)
                    continue
                # end
                d = depth
                depth -= 1
                if ignore:
                    if d == ignore:
                        ignore = 0
                    self._free(el)
                    continue
                if collect and d > collect:
                    continue
                local = stack.pop() if stack else ""
                if collect and d == collect:
                    collect = 0
                    self._collected(local, el, ctx)
                else:
                    self._end(local, el, ctx)
                self._free(el)
        except etree.XMLSyntaxError as err:
            line = err.lineno or (err.position[0] if getattr(err, "position", None) else 0)
            msg = (err.msg or str(err)).split(", line ")[0].strip()
            where = f"{self.path}:{line}" if line else self.path
            raise SclError(f"{where}: not well-formed XML: {msg}") from None
        except (ValueError, LookupError) as err:       # e.g. an unknown encoding
            raise SclError(f"{self.path}: cannot parse: {err}") from None
        except MemoryError:
            raise SclError(f"{self.path}: too large to load") from None
        if not self.seen_root:
            raise SclError(f"{self.path}: empty document")
        from .resolver import SclModel
        tmpl = M.Templates(self.lnode_types, self.do_types, self.da_types, self.enum_types)
        ra = self.root_attrs
        return SclModel(path=self.path, version=ra.get("version"), revision=ra.get("revision"),
                        release=ra.get("release"), header=self.header, ieds=tuple(self.ieds),
                        connected_aps=tuple(self.caps), templates=tmpl, notes=tuple(self.notes))

    @staticmethod
    def _free(el) -> None:
        el.clear()
        parent = el.getparent()
        if parent is not None:
            while el.getprevious() is not None:
                del parent[0]

    # -- structure (start/end of containers) ----------------------------------------
    def _start(self, local, el, ctx):
        a = el.attrib
        if local == "IED":
            self.counts["IED"] += 1
            ctx["ied"] = {"name": a.get("name", ""), "manufacturer": a.get("manufacturer", ""),
                          "type": a.get("type", ""), "config_version": a.get("configVersion", ""),
                          "aps": [], "ext_refs": [], "line": el.sourceline}
        elif local == "AccessPoint" and "ied" in ctx:
            if a.get("name") is None:
                self.notes.append((el.sourceline, "scl.schema.missing-name",
                                   f"AccessPoint of IED {ctx['ied']['name']} has no name (mandatory)"))
            ctx["ap"] = {"name": a.get("name", ""), "lds": [], "line": el.sourceline}
        elif local == "LDevice" and "ap" in ctx:
            self.counts["LDevice"] += 1
            ctx["ld"] = {"inst": _intern(a.get("inst", "")), "ld_name": a.get("ldName"), "lns": [],
                         "ds": [], "rcb": [], "gcb": [], "svcb": [], "line": el.sourceline}
        elif local == "SubNetwork":
            ctx["subnet"] = a.get("name", "")
        if local in _NAMED and a.get("name") is None:
            self.notes.append((el.sourceline, "scl.schema.missing-name", f"<{local}> without the mandatory name"))

    def _end(self, local, el, ctx):
        if local == "LDevice" and "ld" in ctx:
            d = ctx.pop("ld")
            ld = M.LDevice(d["inst"], d["ld_name"], tuple(d["lns"]), tuple(d["ds"]), tuple(d["rcb"]),
                           tuple(d["gcb"]), tuple(d["svcb"]), d["line"])
            if "ap" in ctx:
                ctx["ap"]["lds"].append(ld)
        elif local == "AccessPoint" and "ap" in ctx:
            d = ctx.pop("ap")
            if "ied" in ctx:
                ctx["ied"]["aps"].append(M.AccessPoint(d["name"], tuple(d["lds"]), d["line"]))
        elif local == "IED" and "ied" in ctx:
            d = ctx.pop("ied")
            self.ieds.append(M.Ied(d["name"], d["manufacturer"], d["type"], d["config_version"],
                                   tuple(d["aps"]), tuple(d["ext_refs"]), d["line"]))
        elif local == "SubNetwork":
            ctx.pop("subnet", None)

    # -- collected subtrees ------------------------------------------------------------
    def _collected(self, local, el, ctx):
        if local in ("LN", "LN0"):
            if "ld" in ctx:
                self._ln(el, ctx)
        elif local == "ConnectedAP":
            self._cap(el, ctx.get("subnet", ""))
        elif local == "LNodeType":
            dos = {}
            for c in _kids(el, "DO"):
                dos[_intern(c.get("name", ""))] = c.get("type", "")
            self.lnode_types[el.get("id", "")] = M.LNodeType(el.get("id", ""), el.get("lnClass", ""), dos)
        elif local == "DOType":
            ch = {}
            for c in el:
                if not isinstance(c.tag, str):
                    continue
                k = _split(c.tag)[1]
                if k in ("DA", "SDO"):
                    ch[_intern(c.get("name", ""))] = M.DaDef(
                        c.get("name", ""), k, c.get("bType"), c.get("type"), c.get("fc"),
                        _int(c.get("count")) or 0, _val(c))
            self.do_types[el.get("id", "")] = M.DoType(el.get("id", ""), el.get("cdc", ""), ch)
        elif local == "DAType":
            ch = {}
            for c in _kids(el, "BDA"):
                ch[_intern(c.get("name", ""))] = M.DaDef(c.get("name", ""), "BDA", c.get("bType"),
                                                         c.get("type"), None, _int(c.get("count")) or 0,
                                                         _val(c))
            self.da_types[el.get("id", "")] = M.DaType(el.get("id", ""), ch)
        elif local == "EnumType":
            vals = {}
            for c in _kids(el, "EnumVal"):
                o = _int(c.get("ord"))
                if o is not None:
                    vals[o] = (c.text or "").strip()
            self.enum_types[el.get("id", "")] = M.EnumType(el.get("id", ""), vals)
        elif local == "Header":
            self.header = {k: el.get(k) for k in ("id", "version", "revision", "toolID", "nameStructure")
                           if el.get(k) is not None}

    def _ln(self, el, ctx):
        ld = ctx["ld"]
        ied = ctx["ied"]
        prefix, cls, inst = el.get("prefix", ""), el.get("lnClass", ""), el.get("inst", "")
        ln_name = f"{prefix}{cls}{inst}"
        values = {}
        for c in el:
            if not isinstance(c.tag, str):
                continue
            ns, k = _split(c.tag)
            if ns and ns != SCL_NS:
                continue
            line = c.sourceline or 0
            if k == "DataSet":
                fcdas = []
                for f in _kids(c, "FCDA"):
                    fcdas.append(M.Fcda(_intern(f.get("ldInst", ld["inst"])), _intern(f.get("prefix", "")),
                                        _intern(f.get("lnClass", "")), _intern(f.get("lnInst", "")),
                                        _intern(f.get("doName", "")), _intern(f.get("daName", "")),
                                        _intern(f.get("fc", "")), f.get("ix", "")))
                self.counts["FCDA"] += len(fcdas)
                ld["ds"].append(M.DataSet(c.get("name", ""), tuple(fcdas), ln_name, line))
            elif k == "ReportControl":
                rpt = next(_kids(c, "RptEnabled"), None)
                ld["rcb"].append(M.ReportControl(
                    c.get("name", ""), c.get("datSet", ""), c.get("rptID", ""), _int(c.get("confRev")),
                    bool(_bool(c.get("buffered"), False)), bool(_bool(c.get("indexed"), True)),
                    _int(rpt.get("max")) if rpt is not None else None, _int(c.get("intgPd")), ln_name, line))
            elif k == "GSEControl":
                ld["gcb"].append(M.GseControl(c.get("name", ""), c.get("datSet", ""), c.get("appID", ""),
                                              _int(c.get("confRev")), c.get("type", "GOOSE"), ln_name, line))
            elif k == "SampledValueControl":
                opts = next(_kids(c, "SmvOpts"), None)
                ld["svcb"].append(M.SvControl(
                    c.get("name", ""), c.get("datSet", ""), c.get("smvID", ""), _int(c.get("confRev")),
                    _int(c.get("smpRate")), _int(c.get("nofASDU")), c.get("smpMod"),
                    bool(_bool(c.get("multicast"), True)),
                    _bool(opts.get("sampleSynchronized")) if opts is not None else None, ln_name, line))
            elif k == "DOI":
                _doi(c, c.get("name", ""), values)
            elif k == "Inputs":
                for x in _kids(c, "ExtRef"):
                    self.counts["ExtRef"] += 1
                    ied["ext_refs"].append(M.ExtRef(ied["name"], ld["inst"], x.get("iedName", ""),
                                                    x.get("srcLDInst") or x.get("ldInst", ""),
                                                    x.get("srcCBName", ""), x.get("serviceType", ""),
                                                    x.sourceline or 0))
        ld["lns"].append(M.Ln(_intern(prefix), _intern(cls), _intern(inst), el.get("lnType", ""), values,
                              el.sourceline or 0))

    def _cap(self, el, subnet):
        ied, ap = el.get("iedName", ""), el.get("apName", "")
        ip = None
        vlan = False
        gse, smv = [], []
        for c in el:
            if not isinstance(c.tag, str):
                continue
            k = _split(c.tag)[1]
            if k == "Address":
                p = _params(c)
                ip = p.get("IP")
                vlan = "VLAN-ID" in p or "VLAN-PRIORITY" in p
            elif k in ("GSE", "SMV"):
                addr = next(_kids(c, "Address"), None)
                p = _params(addr) if addr is not None else {}
                rec = M.Address(k, ied, ap, c.get("ldInst", ""), c.get("cbName", ""), p.get("MAC-Address"),
                                p.get("APPID"), p.get("VLAN-ID"), p.get("VLAN-PRIORITY"), p.get("IP"),
                                _time(next(_kids(c, "MinTime"), None)), _time(next(_kids(c, "MaxTime"), None)),
                                c.sourceline or 0)
                (gse if k == "GSE" else smv).append(rec)
        self.caps.append(M.ConnectedAp(ied, ap, subnet, ip, tuple(gse), tuple(smv), el.sourceline or 0, vlan))


def _kids(el, name):
    for c in el:
        t = c.tag
        if isinstance(t, str) and (t == name or t.endswith("}" + name)):
            yield c


def _val(el):
    v = next(_kids(el, "Val"), None)
    return (v.text or "").strip() if v is not None else None


def _params(addr) -> dict:
    out = {}
    for p in _kids(addr, "P"):
        t = p.get("type")
        if t:
            out[t] = (p.text or "").strip()
    return out


#: SI multipliers of MinTime/MaxTime (``multiplier`` attribute), to milliseconds.
_MULT = {"m": 1.0, "": 1000.0, "k": 1e6, "u": 1e-3, "µ": 1e-3, "n": 1e-6}


def _time(el):
    if el is None:
        return None
    try:
        v = float((el.text or "").strip())
    except ValueError:
        return None
    mult = el.get("multiplier", "m" if el.get("unit") is None else "")
    return v * _MULT.get(mult, 1.0)


def _doi(el, path, values):
    for c in el:
        if not isinstance(c.tag, str):
            continue
        k = _split(c.tag)[1]
        if k in ("SDI", "DAI"):
            sub = f"{path}.{c.get('name', '')}"
            if c.get("ix"):
                sub += f"[{c.get('ix')}]"
            if k == "DAI":
                v = _val(c)
                if v is not None:
                    values[sub] = v
            else:
                _doi(c, sub, values)
