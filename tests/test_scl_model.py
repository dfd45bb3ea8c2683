"""The resolver API other analyses call (IED modes, security): names, types, enums, ctlModel."""

from __future__ import annotations

import pytest

from mmsanalyze.scl import load_scl
from mmsanalyze.scl.annotate import name_value
from mmsanalyze.scl.model import edition_of

from test_scl_libiec61850 import TYPES

NS = "http://www.iec.ch/61850/2003/SCL"

SCD = f"""<SCL xmlns="{NS}" xmlns:x="urn:vendor" version="2007" revision="B">
  <Private type="vendor"><x:Any deep="1"/></Private>
  <Communication><SubNetwork name="N"><ConnectedAP iedName="P1" apName="S1" x:note="ignored">
    <Address><P type="IP">192.0.2.7</P></Address>
    <GSE ldInst="LD0" cbName="gcb"><Address><P type="MAC-Address">01-0C-CD-01-00-10</P><P type="APPID">0010</P>
      <P type="VLAN-ID">00A</P><P type="VLAN-PRIORITY">6</P></Address>
      <MinTime unit="s" multiplier="m">2</MinTime><MaxTime unit="s">1</MaxTime></GSE>
  </ConnectedAP></SubNetwork></Communication>
  <IED name="P1"><AccessPoint name="S1"><Server><LDevice inst="LD0" ldName="Prot">
    <LN0 lnClass="LLN0" inst="" lnType="LLN0_T">
      <DataSet name="St"><FCDA ldInst="LD0" lnClass="LLN0" doName="Beh" daName="stVal" fc="ST"/>
        <FCDA ldInst="LD0" prefix="Q0" lnClass="XCBR" lnInst="1" doName="Pos" daName="stVal" fc="ST"/>
        <FCDA ldInst="LD0" prefix="Q0" lnClass="XCBR" lnInst="1" doName="Pos" fc="ST"/></DataSet>
      <GSEControl name="gcb" appID="P1/gcb" datSet="St" confRev="3"/>
      <DOI name="Mod"><DAI name="ctlModel"><Val>4</Val></DAI></DOI>
    </LN0>
    <LN prefix="Q0" lnClass="XCBR" inst="1" lnType="XCBR_T">
      <DOI name="Pos"><DAI name="ctlModel"><Val>sbo-with-normal-security</Val></DAI></DOI></LN>
  </LDevice></Server></AccessPoint></IED>
  {TYPES}
</SCL>"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    p = tmp_path_factory.mktemp("m") / "p1.cid"
    p.write_text(SCD)
    return load_scl(str(p))


def test_edition_from_root_attributes():
    assert edition_of(None, None, None) == "Ed1"
    assert edition_of("2007", "B", None) == "Ed2"
    assert edition_of("2007", "B", "4") == "Ed2.1"
    assert edition_of("2007", "A", None) == "Ed2 (2007A)"


def test_members_names_types_and_enums(model):
    assert model.edition == "Ed2"
    mem = model.members("Prot/LLN0$St")                 # ldName overrides IED name + inst
    assert [m.ref for m in mem] == ["Prot/LLN0.Beh.stVal [ST]", "Prot/Q0XCBR1.Pos.stVal [ST]",
                                    "Prot/Q0XCBR1.Pos [ST]"]
    assert [m.scl_type for m in mem] == ["Enum", "Dbpos", "DPC"]
    assert [m.mms_type for m in mem] == ["integer", "bit-string", "structure"]
    assert model.enum_name(mem[0], 3) == "test" and model.enum_name(mem[0], 99) is None
    assert name_value(model, mem[0], 3) == "test"
    assert name_value(model, mem[1], {"bits": "01"}) == "off"
    assert model.name_goose_member("Prot/LLN0$GO$gcb", 1) == mem[1]
    assert model.name_goose_member("Prot/LLN0$GO$gcb", 3) is None
    assert model.fcda_for_report("Prot/LLN0$St", 0) == mem[0]


def test_addresses_and_ieds(model):
    assert model.ied_for_ip("192.0.2.7") == "P1" and model.ied_for_ip("192.0.2.7:102") == "P1"
    assert model.ied_for_ip("192.0.2.8") is None
    assert model.ied_for_domain("Prot") == "P1"
    cb = model.gocb("Prot/LLN0$GO$gcb")
    a = cb.address
    assert (a.mac, a.appid, a.vlan_id, a.vlan_priority, a.min_time, a.max_time) == \
        ("01-0C-CD-01-00-10", "0010", "00A", "6", 2.0, 1000.0)
    assert cb.block.conf_rev == 3 and cb.block.app_id == "P1/gcb"


def test_ctl_model_by_name_or_ordinal(model):
    assert model.ctl_model("Prot/Q0XCBR1$CO$Pos$Oper") == "sbo-with-normal-security"
    assert model.ctl_model("Prot/Q0XCBR1.Pos") == "sbo-with-normal-security"
    assert model.ctl_model("Prot/LLN0.Mod") == "sbo-with-enhanced-security"      # Val 4 (ordinal)
    assert model.ctl_model("Prot/LLN0.Beh") is None


def test_private_and_foreign_namespace_are_ignored(model):
    assert len(model.ieds) == 1 and len(model.connected_aps) == 1
