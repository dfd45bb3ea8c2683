"""The real SCL files of ../shared/scl against their MANIFEST.

* every file loads, with the edition and the element counts the MANIFEST lists
  (counted there with xml.etree, independently of this loader), or -- the two files
  that are not XML -- gives one clean line;
* ``mmsanalyze scl`` reports the oddities the MANIFEST's per-file notes list;
* ``scl-check`` on the paired SCL files and captures finds every listed match and
  mismatch and flags nothing else; the decoy pair does not match.
"""

from __future__ import annotations

import json
import os
import re

import pytest

import public
from mmsanalyze import read_capture
from mmsanalyze.cli import main
from mmsanalyze.scl import SclError, load_scl
from mmsanalyze.scl.check import check_scl
from mmsanalyze.scl.compare import verdict

SCL_DIR = os.path.join(os.path.dirname(os.path.dirname(public.PUBLIC)), "scl")
MANIFEST = os.path.join(SCL_DIR, "MANIFEST.md")
PAIRED = os.path.join(SCL_DIR, "paired_captures")

pytestmark = pytest.mark.skipif(not os.path.isfile(MANIFEST), reason="../shared/scl (real SCL set) not present")


def _rows():
    rows, header = {}, None
    if not os.path.isfile(MANIFEST):
        return rows
    with open(MANIFEST, encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] == "#":
                header = cells
            elif header and len(cells) == len(header) and cells[0].isdigit():
                rows[cells[1].strip("`")] = dict(zip(header, cells))
    return rows


ROWS = _rows()
FILES = sorted(ROWS)


def scl(name):
    return os.path.join(SCL_DIR, name)


def test_manifest_lists_every_file():
    on_disk = sorted(f for f in os.listdir(SCL_DIR) if os.path.isfile(scl(f)) and f != "MANIFEST.md")
    assert on_disk == FILES and len(FILES) == 24


def _num(v):
    v = v.replace(",", "")
    return int(v) if v.isdigit() else None


@pytest.mark.parametrize("name", FILES)
def test_loads_with_manifest_edition_and_counts(name):
    row = ROWS[name]
    if "not XML" in row["role"]:
        with pytest.raises(SclError) as ei:
            load_scl(scl(name))
        msg = str(ei.value)
        assert "\n" not in msg and name in msg and "not well-formed XML" in msg
        return
    m = load_scl(scl(name))
    ed = row["SCL edition (version/revision/release)"]
    if ed.startswith("none"):
        assert (m.version, m.revision, m.release) == (None, None, None) and m.edition == "Ed1"
    else:
        v, r, rel = re.match(r"(\d{4}) / (\w) / (\S+)", ed).groups()
        assert (m.version, m.revision, m.release) == (v, r, None if rel == "—" else rel)
        assert ("Ed2.1" in ed) == (m.edition == "Ed2.1")
    gse, smv = (int(x) for x in row["GSE / SMV addresses"].split("/"))
    lds = [ld for i in m.ieds for ld in i.ldevices()]
    assert len(m.ieds) == _num(row["IEDs"])
    assert len(lds) == _num(row["LDs"])
    assert sum(len(ld.gocbs) for ld in lds) == _num(row["GSEControl"])
    assert sum(len(ld.svcbs) for ld in lds) == _num(row["SampledValueControl"])
    assert sum(len(ld.reports) for ld in lds) == _num(row["ReportControl"])
    assert sum(len(c.gse) for c in m.connected_aps) == gse
    assert sum(len(c.smv) for c in m.connected_aps) == smv
    check_scl(m)                    # every loadable file can be checked


#: The oddities of MANIFEST section 3 ("Per-file notes"), as the finding codes of
#: ``mmsanalyze scl`` that report them (object substring where it matters).
ODDITIES = {
    "robidev-open-server__open_substation.scd": [
        ("scl.address.mac-range", "IED3_SMV"), ("scl.address.mac-range", "IED4_SMV"),
        ("scl.address.dangling", "IED4_SMV"), ("scl.address.appid-duplicate", "4000"),
        ("scl.extref.unresolved", "IED2_PTOC/GenericIO/GoCB"), ("scl.extref.unresolved", "IED4_SMV/MUnn/MSVCB01"),
        ("scl.address.vlan-format", "'1'"), ("scl.edition.uncommon", "revision='A'")],
    "adsc-secdataset__LIED10.iid": [
        ("scl.ln.empty-inst", "XCBR"), ("scl.dataset.duplicate-fcda", "XSWI.Pos.stVal"),
        ("scl.address.dangling", "Control_DataSet"), ("scl.cb.no-address", "Status"),
        ("scl.cb.no-address", "Alarm"), ("scl.cb.no-address", "Meas"), ("scl.type.nonstandard", "INT32")],
    "libiec61850__iec61850_9_2_LE_example__sv.icd": [("scl.edition.ed2-attribute", "smpMod")],
    "kalki-sampleproject__REL670.ssd": [
        ("scl.address.mac-duplicate", "01-0C-CD-01-00-02"), ("scl.dataset.cross-ld", "CTRL"),
        ("scl.file.extension", ".ssd")],
    "kalki-sampleproject__IOP_2019-09-26_LV_ED2_1_V12_XF.sed": [
        ("scl.address.mac-range", "01-01-18-01-13-01"), ("scl.address.vlan-hex-letter", "00B"),
        ("scl.address.appid-duplicate", "0001"), ("scl.address.appid-duplicate", "4000"),
        ("scl.cb.no-address", "")],
    "kalki-sampleproject__IEDtest.scd": [
        # the LD inst the MANIFEST calls 64 characters long has 57 (domain 61): within limits
        ("scl.name.at-limit", "PingGoCBwithMaximumCharacters012"), ("scl.name.at-limit", "129"),
        ("scl.name.at-limit", "PingDatasetwithMaximum32Length01"),
        ("scl.address.appid-format", "'01'"), ("scl.address.vlan-format", "'0'"), ("scl.cb.no-dataset", "smv1"),
        ("scl.extref.unresolved", "IED1/Control/CSWISTSGCB")],
    "kalki-sampleproject__sisco_sample_ed2.scd": [
        ("scl.cb.gsse", ""), ("scl.cb.unicast-sv", ""), ("scl.name.at-limit", "smvID has 65"),
        ("scl.cb.confrev-missing", ""), ("scl.address.vlan-format", "'fab'"), ("scl.address.appid-format", "'ff'"),
        ("scl.address.routable", "232.0.0.3"), ("scl.address.routable", "and MAC"),
        ("scl.address.appid-duplicate", "")],
    "robidev-msa__model_substation.scd": [
        ("scl.extref.unresolved", "Bus1TripEventCn"), ("scl.cb.goid-like-appid", "'0001'"),
        ("scl.cb.goid-duplicate", "'0003'"), ("scl.cb.confrev-zero", ""), ("scl.address.vlan-in-mms", "")],
    "kalki-sampleproject__TR3000.icd": [
        ("scl.address.routable", "no MAC"), ("scl.address.appid-format", "'00'"),
        ("scl.address.appid-duplicate", ""), ("scl.address.dangling", "IM2/IM2_DI")],
    "kalki-sampleproject__CigreFinal_Ed2_v2_only_EFACEC.xml": [("scl.cb.no-address", "")],
    "kalki-sampleproject__AA1D1Q01KF1.iid": [
        ("scl.address.appid-duplicate", "0000"), ("scl.address.mac-duplicate", "01-0C-CD-01-00-00")],
    "kalki-sampleproject__9-2LE_rev2p1r5_24_channels.icd": [
        ("scl.address.appid-duplicate", "4000"), ("scl.address.mac-duplicate", "01-0C-CD-04-00-00")],
    "kalki-sampleproject__Controller1_Outbound_SCL_NoProdIP.IID": [
        ("scl.edition.uncommon", "release='3'"), ("scl.address.routable", "no MAC"),
        ("scl.address.appid-duplicate", "0000"), ("scl.dataset.cross-ld", "SUB1")],
    "compas-sct__scd_create_controlblock_network_configuration.xml": [("scl.cb.no-address", "")] * 5,
    "openscd__invalid2007B.scd": [("scl.schema.missing-name", "Substation")],
    "libiec61850__model_generator__sampleModel_errors.icd": [("scl.schema.missing-name", "AccessPoint")],
}


@pytest.mark.parametrize("name", sorted(ODDITIES))
def test_scl_command_reports_the_manifest_oddities(name, capsys):
    assert main(["scl", scl(name), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    found = out["findings"]
    for code, needle in ODDITIES[name]:
        hits = [f for f in found if f["code"] == code and needle in f"{f['object']} {f['message']}"]
        assert hits, (code, needle)
    want = ODDITIES[name]
    for code in {c for c, _ in want}:       # repeated entries: at least that many findings
        assert sum(1 for f in found if f["code"] == code) >= sum(1 for c, _ in want if c == code)


def test_edition_trap_header_version_is_not_the_scl_edition():
    m = load_scl(scl("kalki-sampleproject__9-2LE_rev2p1r5_24_channels.icd"))
    assert m.header.get("version") == "2.1" and m.edition == "Ed1"


@pytest.mark.parametrize("name", ["libiec61850-v1.4.2__server_example_basic_io__simpleIO_direct_control.cid",
                                  "qutzss-sim__IED_PIOC_FDR__simpleIO_control_tests.cid",
                                  "kalki-sampleproject__IOP_2017_SLD_R2.ssd"])
def test_clean_files_have_no_warnings(name):
    assert [f for f in check_scl(load_scl(scl(name))) if f["severity"] != "info"] == []


# -- scl-check on the MANIFEST's pairs ------------------------------------------------------

def _check(capture, scl_name):
    path = capture if os.path.isabs(capture) else public.path(capture)
    cap = read_capture(path, scl=scl(scl_name))
    return cap, cap.scl_check().to_dict("records")


def _has(rows, obj, check, result):
    return any(r["object"] == obj and r["check"] == check and r["result"] == result for r in rows)


def _warnings(rows):
    return sorted({(r["object"], r["check"]) for r in rows if r["severity"] == "warning"})


ROBIDEV = "robidev-open-server__open_substation.scd"
G1, G2 = "IED1_XCBRGenericIO/LLN0$GO$gcbEvents", "IED2_PTOCGenericIO/LLN0$GO$gcbEvents"
SV3 = "IED3_SMVMUnn/LLN0$MS$MSVCB01"


@pytest.mark.parametrize("capture", ["mms_goose_sv_robidev_sll_control_reports_dups.pcapng",
                                     "mms_goose_sv_robidev_sll_control_reports_dedup.pcapng"])
def test_robidev_full_captures(capture):
    _cap, rows = _check(capture, ROBIDEV)
    for g in (G1, G2):
        for c in ("gocb_ref", "go_id", "dat_set", "appid", "vlan_id", "vlan_priority", "conf_rev", "entries",
                  "member_types", "src_mac"):
            assert _has(rows, g, c, "match"), (g, c)
        assert _has(rows, g, "dst_mac", "not-checkable")        # Linux cooked: no destination MAC
    for c in ("appid", "vlan_id", "vlan_priority", "conf_rev", "no_asdu", "seq_data", "src_mac"):
        assert _has(rows, SV3, c, "match"), c
    rcb = "IED1_XCBRGenericIO/LLN0$BR$EventsRCB"
    for c in ("seen",):
        assert _has(rows, rcb, c, "seen")
    assert _has(rows, rcb, "dat_set", "match") and _has(rows, rcb, "conf_rev", "match")
    for ied in ("IED1_XCBR", "IED2_PTOC", "IED3_SMV", "IED4_SMV"):
        assert _has(rows, ied, "server", "match")
    for dom in ("IED1_XCBRGenericIO", "IED2_PTOCGenericIO", "IED3_SMVMUnn", "IED4_SMVMUnn"):
        assert _has(rows, dom, "domain", "match")
    for obj in ("IED1_XCBRGenericIO/CSWI1$CO$Pos", "IED1_XCBRGenericIO/CSWI2$CO$Pos"):
        assert _has(rows, obj, "ctl_model", "match")
    # the MANIFEST's mismatches, and nothing else
    assert _warnings(rows) == [(SV3, "smp_synch"), (SV3, "sv_id")]
    assert verdict(rows).startswith("matches")


@pytest.mark.parametrize("capture", ["mms_robidev_sll_midassoc_malformed.pcapng", "mms_robidev_sll_getnamelist.pcapng",
                                     "mms_robidev_sll_getnamelist_malformed.pcapng"])
def test_robidev_partial_captures(capture):
    cap, rows = _check(capture, ROBIDEV)
    assert verdict(rows).startswith("matches")
    allowed = {(SV3, "smp_synch"), (SV3, "sv_id")}
    assert set(_warnings(rows)) <= allowed
    if len(cap.goose()):
        assert _has(rows, G1, "seen", "seen") or _has(rows, G2, "seen", "seen")
    assert any(r["check"] in ("domain", "server") and r["result"] == "match" for r in rows)


LIED10 = "adsc-secdataset__LIED10.iid"
STATUS = "LIED10CTRL/LLN0$GO$Status"


@pytest.mark.parametrize("capture", sorted(c for c in public.captures() if c.startswith("goose_brogoose_")))
def test_lied10_with_brogoose(capture):
    _cap, rows = _check(capture, LIED10)
    for c in ("dat_set", "entries", "member_types", "dst_mac", "vlan_id"):
        assert _has(rows, STATUS, c, "match"), c
    assert _warnings(rows) == sorted((STATUS, c) for c in ("appid", "conf_rev", "go_id", "gocb_ref", "vlan_priority"))
    conf = {r["check"]: (r["configured"], r["observed"]) for r in rows if r["object"] == STATUS}
    assert conf["appid"] == ("0x0004", "0x03E8") and conf["conf_rev"] == ("10002", "1")
    assert conf["gocb_ref"] == (STATUS, "LIED10CTRL/LLN0$Status")
    assert conf["vlan_priority"] == ("4", "0")


BASIC = "libiec61850-v1.4.2__server_example_basic_io__simpleIO_direct_control.cid"


def test_basic_io_identify():
    _cap, rows = _check("mms_adsc_libiec61850_identify.pcap", BASIC)
    assert _has(rows, "simpleIO", "vendor", "match")
    sw = [r for r in rows if r["check"] == "sw_rev"]
    assert [(r["configured"], r["observed"], r["result"]) for r in sw] == [("1.3.0", "1.4.2", "mismatch")]
    assert _warnings(rows) == [("simpleIO", "sw_rev")]


def test_basic_io_dynamic_data_set_is_dynamic_not_unknown():
    _cap, rows = _check("mms_adsc_libiec61850_defineNVL_deleteNVL.pcap", BASIC)
    assert _has(rows, "simpleIOGenericIO/LLN0$newDataSet", "dat_set", "dynamic")
    assert _has(rows, "simpleIOGenericIO", "domain", "match")
    assert _warnings(rows) == []


@pytest.mark.parametrize("capture", ["mms_adsc_midassoc_getVariableAccessAttributes.pcap",
                                     "mms_adsc_optional_gvaa_address.pcapng",
                                     "mms_adsc_optional_deleteNVL_listOfVariableListName.pcap"])
def test_basic_io_other_captures(capture):
    cap, rows = _check(capture, BASIC)
    # only the other servers of the capture set (no SCL for them) may be flagged
    for obj, check in _warnings(rows):
        assert check in ("domain", "ln") and not obj.startswith("simpleIO"), (obj, check)
    doms = {v.split("/")[0] for r in cap.records for v in (r.decoded().variables if r.decoded() else ()) if "/" in v}
    if "simpleIOGenericIO" in doms:
        assert _has(rows, "simpleIOGenericIO", "domain", "match")


def test_basic_io_items_exist_in_the_cid():
    m = load_scl(scl(BASIC))
    for item in ("GGIO1.SPCSO1.stVal", "GGIO1.SPCSO1.t", "GGIO1.SPCSO2.stVal", "GGIO1.AnIn1"):
        ln, rest = item.split(".", 1)
        assert m.ln("simpleIOGenericIO", ln) is not None
    assert m.ctl_model("simpleIOGenericIO/GGIO1$CO$SPCSO1") == "direct-with-normal-security"


def test_9_2le_template_with_emre_capture():
    _cap, rows = _check("sv_emre_truncated_malformed.pcap", "libiec61850__iec61850_9_2_LE_example__sv.icd")
    sv = "TEMPLATEMUnn/LLN0$MS$MSVCB01"
    for c in ("sv_id", "conf_rev", "no_asdu", "seq_data"):
        assert _has(rows, sv, c, "match"), c
    assert _warnings(rows) == sorted((sv, c) for c in ("appid", "dst_mac", "vlan_id"))
    conf = {r["check"]: (r["configured"], r["observed"]) for r in rows if r["result"] == "mismatch"}
    assert conf == {"appid": ("0x1001", "0x4000"), "dst_mac": ("01:0c:cd:04:00:01", "01:0c:cd:04:00:00"),
                    "vlan_id": ("1", "0")}


@pytest.mark.parametrize("capture", ["goose_sv_qutzss_fdi_attack_8232a.pcapng",
                                     "sv_goose_qutzss_sv_injection_9111a.pcapng",
                                     "sv_goose_qutzss_sv_deletion_971a.pcapng"])
def test_qutzss_publishers_are_all_not_in_scl(capture):
    cap, rows = _check(capture, "qutzss-sim__IED_PIOC_FDR__simpleIO_control_tests.cid")
    flagged = {r["object"] for r in rows if r["result"] == "not-in-scl" and r["kind"] == "GOOSE"}
    assert flagged == set(cap.goose()["gocb_ref"].dropna()) and "QUTZS_FDRPIOC/LLN0$GO$gcb_1" in flagged
    sv_flagged = {r["object"] for r in rows if r["result"] == "not-in-scl" and r["kind"] == "SV"}
    assert sv_flagged == set(cap.sv()["sv_id"].dropna())
    assert all(r["result"] == "not-in-scl" for r in rows if r["severity"] == "warning")
    assert verdict(rows) == "does not match"


PAIRED_PCAP = os.path.join(PAIRED, "kalki-sampleproject__CH1Line1Pcap.pcap")


def test_rel670_full_goose_match():
    _cap, rows = _check(PAIRED_PCAP, "kalki-sampleproject__REL670.ssd")
    g = "AA1J1Q01A2LD0/LLN0$GO$GCB_A"
    for c in ("gocb_ref", "go_id", "dat_set", "entries", "member_types", "conf_rev", "appid", "dst_mac", "vlan_id",
              "vlan_priority", "max_time"):
        assert _has(rows, g, c, "match"), c
    assert _warnings(rows) == [(g, "src_mac")]          # 02:00:4c:4f:4f:50: the Npcap loopback adapter
    assert verdict(rows).startswith("matches")


def test_decoy_does_not_match(capsys):
    _cap, rows = _check(PAIRED_PCAP, "kalki-sampleproject__Ch1Line1.CID")
    assert verdict(rows) == "does not match"
    assert _has(rows, "Ch1Line1CFG/LLN0$GO$GcbCh1L1", "seen", "not-seen")
    assert _has(rows, "AA1J1Q01A2LD0/LLN0$GO$GCB_A", "seen", "not-in-scl")
    assert main(["scl-check", PAIRED_PCAP, "--scl", scl("kalki-sampleproject__Ch1Line1.CID")]) == 0
    assert "does not match" in capsys.readouterr().out.splitlines()[0]


def test_goose_members_named_and_enumerated_with_scl(capsys):
    cap = read_capture(PAIRED_PCAP, scl=scl("kalki-sampleproject__REL670.ssd"))
    g = cap.goose()
    first = g.iloc[0]
    assert first["member_names"][0] == "AA1J1Q01A2CTRL/SXCBR1.Pos.stVal [ST]"
    assert first["member_types"][:2] == ["Dbpos", "Quality"]
    # Dbpos by name: the bits tshark shows for member 0 are '10' (on) in frame 1
    assert first["values"][0] == {"bits": "10"} and first["values_named"][0] == "on"
    st = cap.goose_streams()
    assert st["ied"].tolist() == ["AA1J1Q01A2"]
