"""The SCL data model (IEC 61850-6): frozen, slotted records built by :mod:`.loader`.

Only what an analyzer needs is kept: IEDs, access points, logical devices and nodes,
data sets and their FCDAs, report / GOOSE / SV control blocks, DOI/DAI values,
DataTypeTemplates, ExtRefs and the Communication section's addresses.  Private
sections, the Substation section and foreign namespaces are not kept.

Names follow IEC 61850-6 (snake_case of the XML attribute names): ``ld_inst``,
``ln_class``, ``do_name``, ``da_name``, ``dat_set``, ``conf_rev``, ``smv_id``...
Every record that a check may point at carries ``line``, its line in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Fcda", "DataSet", "ReportControl", "GseControl", "SvControl", "Ln", "LDevice",
           "AccessPoint", "Ied", "Address", "ConnectedAp", "ExtRef", "DaDef", "DoType", "DaType",
           "LNodeType", "EnumType", "Templates", "edition_of"]


def edition_of(version: str | None, revision: str | None, release: str | None) -> str:
    """Edition from the root ``SCL@version/@revision/@release`` (never from the namespace).

    ``None`` -> ``"Ed1"``; ``2007 A`` -> ``"Ed2 (2007A)"``; ``2007 B`` -> ``"Ed2"``;
    ``2007 B 4`` -> ``"Ed2.1"``; other releases keep their value (``"Ed2 (2007B3)"``).
    """
    if not version:
        return "Ed1"
    tag = f"{version}{revision or ''}{release or ''}"
    if version == "2007":
        if revision == "B" and release == "4":
            return "Ed2.1"
        if revision == "B" and not release:
            return "Ed2"
        return f"Ed2 ({tag})"
    return f"unknown ({tag})"


@dataclass(frozen=True, slots=True)
class Fcda:
    """One data set member: ``ldInst/prefix lnClass lnInst.doName.daName [fc]``."""
    ld_inst: str
    prefix: str
    ln_class: str
    ln_inst: str
    do_name: str
    da_name: str
    fc: str
    ix: str = ""

    @property
    def ln_name(self) -> str:
        return f"{self.prefix}{self.ln_class}{self.ln_inst}"

    def ref(self, ied_name: str = "", domain: str | None = None) -> str:
        """``LD/LN.DO.DA [FC]`` (the IEC 61850 reading used across mmsanalyze); the LD is
        ``domain`` (the MMS domain, e.g. an Ed2 ``ldName``) or IED name + ``ldInst``."""
        path = ".".join(x for x in (self.ln_name, self.do_name, self.da_name) if x)
        return f"{domain or ied_name + self.ld_inst}/{path} [{self.fc}]"


@dataclass(frozen=True, slots=True)
class DataSet:
    name: str
    fcdas: tuple
    ln: str = "LLN0"
    line: int = 0


@dataclass(frozen=True, slots=True)
class ReportControl:
    name: str
    dat_set: str
    rpt_id: str
    conf_rev: int | None
    buffered: bool
    indexed: bool
    max: int | None
    intg_pd: int | None
    ln: str = "LLN0"
    line: int = 0


@dataclass(frozen=True, slots=True)
class GseControl:
    """GSEControl: ``app_id`` is the goID (the XML attribute ``appID``), not the APPID."""
    name: str
    dat_set: str
    app_id: str
    conf_rev: int | None
    type: str = "GOOSE"
    ln: str = "LLN0"
    line: int = 0


@dataclass(frozen=True, slots=True)
class SvControl:
    name: str
    dat_set: str
    smv_id: str
    conf_rev: int | None
    smp_rate: int | None
    nof_asdu: int | None
    smp_mod: str | None
    multicast: bool
    sample_synchronized: bool | None
    ln: str = "LLN0"
    line: int = 0


@dataclass(frozen=True, slots=True)
class Ln:
    """A logical node; ``values`` maps ``DO.DA`` (SDI/BDA joined by dots) to the DAI ``Val``."""
    prefix: str
    ln_class: str
    inst: str
    ln_type: str
    values: dict = field(default_factory=dict)
    line: int = 0

    @property
    def name(self) -> str:
        return f"{self.prefix}{self.ln_class}{self.inst}"


@dataclass(frozen=True, slots=True)
class LDevice:
    inst: str
    ld_name: str | None
    lns: tuple
    datasets: tuple
    reports: tuple
    gocbs: tuple
    svcbs: tuple
    line: int = 0

    def domain(self, ied_name: str) -> str:
        """The MMS domain name: ``ldName`` (Ed2) or IED name + ``inst``."""
        return self.ld_name or f"{ied_name}{self.inst}"


@dataclass(frozen=True, slots=True)
class AccessPoint:
    name: str
    ldevices: tuple
    line: int = 0


@dataclass(frozen=True, slots=True)
class ExtRef:
    ied_name: str               # the subscriber
    ld_inst: str
    src_ied: str
    src_ld_inst: str
    src_cb_name: str
    service_type: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class Ied:
    name: str
    manufacturer: str
    type: str
    config_version: str
    access_points: tuple
    ext_refs: tuple = ()
    line: int = 0

    def ldevices(self):
        for ap in self.access_points:
            yield from ap.ldevices


@dataclass(frozen=True, slots=True)
class Address:
    """A GSE or SMV element of a ConnectedAP (``kind`` ``'GSE'`` / ``'SMV'``), values as written."""
    kind: str
    ied_name: str
    ap_name: str
    ld_inst: str
    cb_name: str
    mac: str | None
    appid: str | None
    vlan_id: str | None
    vlan_priority: str | None
    ip: str | None
    min_time: float | None = None
    max_time: float | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class ConnectedAp:
    ied_name: str
    ap_name: str
    subnetwork: str
    ip: str | None
    gse: tuple
    smv: tuple
    line: int = 0
    vlan_in_mms: bool = False


@dataclass(frozen=True, slots=True)
class DaDef:
    """A DA / BDA / SDO of a type: ``kind`` ``'DA'``, ``'BDA'`` or ``'SDO'``."""
    name: str
    kind: str
    b_type: str | None
    type: str | None
    fc: str | None
    count: int = 0
    val: str | None = None


@dataclass(frozen=True, slots=True)
class LNodeType:
    id: str
    ln_class: str
    dos: dict                   # DO name -> DOType id


@dataclass(frozen=True, slots=True)
class DoType:
    id: str
    cdc: str
    children: dict              # name -> DaDef (DAs and SDOs)


@dataclass(frozen=True, slots=True)
class DaType:
    id: str
    children: dict              # name -> DaDef (BDAs)


@dataclass(frozen=True, slots=True)
class EnumType:
    id: str
    values: dict                # ord -> name


@dataclass(frozen=True, slots=True)
class Templates:
    lnode_types: dict
    do_types: dict
    da_types: dict
    enum_types: dict
