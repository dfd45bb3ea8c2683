"""SCL names and expected-versus-observed against real libiec61850 traffic.

The test writes an SCD describing the harness's demo server (tests/iec/server.py builds
its model dynamically: IED DEMO, LDs LD0 and CTRL, data sets Events / Measurements,
URCB urcbEvents01, BRCB brcbMeas01, the GoCB gcbBurst its GoosePublisher sends, CSWI1
SBO / CSWI2 direct controls) and a merging unit DEMOMU whose 9-2LE stream a
libiec61850 SVPublisher sends on a veth pair.  Then:

* GOOSE allData members, report members and SV channels carry the SCL names (report
  members are cross-checked with the data references the server itself put on the wire);
* scl-check finds everything configured and flags nothing;
* a copy of the SCL with a changed APPID / confRev shows exactly those mismatches.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from iec import requirements_missing  # noqa: E402
from l2_publish import SvPub, can_publish, tcpdump, veth_pair  # noqa: E402

from mmsanalyze import read_capture  # noqa: E402
from mmsanalyze.scl import load_scl  # noqa: E402
from mmsanalyze.scl.check import check_scl  # noqa: E402

_missing = requirements_missing()
pytestmark = [pytest.mark.root, pytest.mark.slow]

NS = "http://www.iec.ch/61850/2003/SCL"

TYPES = """
  <DataTypeTemplates>
    <LNodeType id="LLN0_T" lnClass="LLN0"><DO name="Mod" type="ENC_T"/><DO name="Beh" type="ENS_T"/>
      <DO name="Health" type="ENS_T"/><DO name="NamPlt" type="LPL_T"/></LNodeType>
    <LNodeType id="LPHD_T" lnClass="LPHD"><DO name="PhyNam" type="DPL_T"/><DO name="PhyHealth" type="ENS_T"/>
      <DO name="Proxy" type="SPS_T"/></LNodeType>
    <LNodeType id="GGIO_T" lnClass="GGIO"><DO name="Beh" type="ENS_T"/><DO name="Ind1" type="SPS_T"/>
      <DO name="Ind2" type="SPS_T"/><DO name="AnIn1" type="MV_T"/><DO name="SPCSO1" type="SPC_T"/>
      <DO name="SetPt1" type="ASG_T"/><DO name="IntSet1" type="ING_T"/><DO name="Locked1" type="ING_T"/></LNodeType>
    <LNodeType id="MMXU_T" lnClass="MMXU"><DO name="Beh" type="ENS_T"/><DO name="TotW" type="MV_T"/>
      <DO name="Hz" type="MV_T"/></LNodeType>
    <LNodeType id="CSWI_T" lnClass="CSWI"><DO name="Pos" type="DPC_T"/></LNodeType>
    <LNodeType id="XCBR_T" lnClass="XCBR"><DO name="Pos" type="DPC_T"/></LNodeType>
    <LNodeType id="TCTR_T" lnClass="TCTR"><DO name="Amp" type="SAV_T"/></LNodeType>
    <LNodeType id="TVTR_T" lnClass="TVTR"><DO name="Vol" type="SAV_T"/></LNodeType>
    <DOType id="ENC_T" cdc="ENC"><DA name="stVal" bType="Enum" type="Beh_E" fc="ST"/><DA name="q" bType="Quality" fc="ST"/>
      <DA name="t" bType="Timestamp" fc="ST"/><DA name="ctlModel" bType="Enum" type="Ctl_E" fc="CF"/></DOType>
    <DOType id="ENS_T" cdc="ENS"><DA name="stVal" bType="Enum" type="Beh_E" fc="ST"/><DA name="q" bType="Quality" fc="ST"/>
      <DA name="t" bType="Timestamp" fc="ST"/></DOType>
    <DOType id="LPL_T" cdc="LPL"><DA name="vendor" bType="VisString255" fc="DC"/>
      <DA name="swRev" bType="VisString255" fc="DC"/></DOType>
    <DOType id="DPL_T" cdc="DPL"><DA name="vendor" bType="VisString255" fc="DC"/></DOType>
    <DOType id="SPS_T" cdc="SPS"><DA name="stVal" bType="BOOLEAN" fc="ST"/><DA name="q" bType="Quality" fc="ST"/>
      <DA name="t" bType="Timestamp" fc="ST"/></DOType>
    <DOType id="MV_T" cdc="MV"><DA name="mag" bType="Struct" type="AV_T" fc="MX"/><DA name="q" bType="Quality" fc="MX"/>
      <DA name="t" bType="Timestamp" fc="MX"/></DOType>
    <DOType id="SAV_T" cdc="SAV"><DA name="instMag" bType="Struct" type="AVI_T" fc="MX"/>
      <DA name="q" bType="Quality" fc="MX"/></DOType>
    <DOType id="SPC_T" cdc="SPC"><DA name="stVal" bType="BOOLEAN" fc="ST"/><DA name="q" bType="Quality" fc="ST"/>
      <DA name="t" bType="Timestamp" fc="ST"/><DA name="ctlModel" bType="Enum" type="Ctl_E" fc="CF"/></DOType>
    <DOType id="DPC_T" cdc="DPC"><DA name="stVal" bType="Dbpos" fc="ST"/><DA name="q" bType="Quality" fc="ST"/>
      <DA name="t" bType="Timestamp" fc="ST"/><DA name="ctlModel" bType="Enum" type="Ctl_E" fc="CF"/></DOType>
    <DOType id="ASG_T" cdc="ASG"><DA name="setMag" bType="Struct" type="AV_T" fc="SP"/></DOType>
    <DOType id="ING_T" cdc="ING"><DA name="setVal" bType="INT32" fc="SP"/></DOType>
    <DAType id="AV_T"><BDA name="f" bType="FLOAT32"/></DAType>
    <DAType id="AVI_T"><BDA name="i" bType="INT32"/></DAType>
    <EnumType id="Beh_E"><EnumVal ord="1">on</EnumVal><EnumVal ord="2">blocked</EnumVal><EnumVal ord="3">test</EnumVal>
      <EnumVal ord="4">test/blocked</EnumVal><EnumVal ord="5">off</EnumVal></EnumType>
    <EnumType id="Ctl_E"><EnumVal ord="0">status-only</EnumVal><EnumVal ord="1">direct-with-normal-security</EnumVal>
      <EnumVal ord="2">sbo-with-normal-security</EnumVal><EnumVal ord="3">direct-with-enhanced-security</EnumVal>
      <EnumVal ord="4">sbo-with-enhanced-security</EnumVal></EnumType>
  </DataTypeTemplates>
"""


def _ctl(model):
    return f'<DOI name="Pos"><DAI name="ctlModel"><Val>{model}</Val></DAI></DOI>'


def demo_scd(ip: str, goose_appid="1001", goose_conf_rev=1, urcb_conf_rev=1, sv_appid="4000", sv_conf_rev=1,
             sv_vlan="005", cswi1="sbo-with-enhanced-security", cswi2="direct-with-enhanced-security") -> str:
    """An SCD of the harness's demo server (tests/iec/server.py) and of a 9-2LE merging unit."""
    fcda = '<FCDA ldInst="{ld}" lnClass="{c}" lnInst="{i}" doName="{do}" {da}fc="{fc}"/>'

    def f(ld, c, i, do, fc, da=""):
        return fcda.format(ld=ld, c=c, i=i, do=do, fc=fc, da=f'daName="{da}" ' if da else "")
    lln0 = ('<DOI name="Mod"><DAI name="ctlModel"><Val>status-only</Val></DAI></DOI>'
            '<DOI name="NamPlt"><DAI name="vendor"><Val>MZ Automation</Val></DAI></DOI>')
    sav = "".join(f("MU", "TCTR", k, "Amp", "MX") for k in range(1, 5)) + \
        "".join(f("MU", "TVTR", k, "Vol", "MX") for k in range(1, 5))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<SCL xmlns="{NS}" version="2007" revision="B" release="4">
  <Header id="demo"/>
  <Communication><SubNetwork name="W1">
    <ConnectedAP iedName="DEMO" apName="AP1"><Address><P type="IP">{ip}</P></Address>
      <GSE ldInst="LD0" cbName="gcbBurst"><Address><P type="MAC-Address">01-0C-CD-01-00-01</P>
        <P type="APPID">{goose_appid}</P><P type="VLAN-ID">000</P><P type="VLAN-PRIORITY">4</P></Address>
        <MinTime unit="s" multiplier="m">10</MinTime><MaxTime unit="s" multiplier="m">2000</MaxTime></GSE>
    </ConnectedAP>
    <ConnectedAP iedName="DEMOMU" apName="AP1"><SMV ldInst="MU" cbName="MSVCB01"><Address>
      <P type="MAC-Address">01-0C-CD-04-00-01</P><P type="APPID">{sv_appid}</P><P type="VLAN-ID">{sv_vlan}</P>
      <P type="VLAN-PRIORITY">4</P></Address></SMV>
      <SMV ldInst="MU" cbName="MSVCB02"><Address><P type="MAC-Address">01-0C-CD-04-00-02</P><P type="APPID">4002</P>
      <P type="VLAN-ID">005</P><P type="VLAN-PRIORITY">4</P></Address></SMV></ConnectedAP>
  </SubNetwork></Communication>
  <IED name="DEMO" manufacturer="MZ Automation" type="demo"><AccessPoint name="AP1"><Server><Authentication/>
    <LDevice inst="LD0">
      <LN0 lnClass="LLN0" inst="" lnType="LLN0_T">
        <DataSet name="Events">{f("LD0", "GGIO", 1, "Ind1", "ST")}{f("LD0", "GGIO", 1, "Ind2", "ST")}{f("LD0", "GGIO", 1, "SPCSO1", "ST")}</DataSet>
        <DataSet name="Measurements">{f("LD0", "MMXU", 1, "TotW", "MX")}{f("LD0", "MMXU", 1, "Hz", "MX")}{f("LD0", "GGIO", 1, "AnIn1", "MX", "mag")}</DataSet>
        <DataSet name="BurstDS">{f("LD0", "GGIO", 1, "Ind1", "ST", "stVal")}{f("LD0", "GGIO", 1, "IntSet1", "SP", "setVal")}{f("LD0", "MMXU", 1, "Hz", "MX", "mag.f")}</DataSet>
        <ReportControl name="urcbEvents01" rptID="DEMO/Events" datSet="Events" confRev="{urcb_conf_rev}" buffered="false" indexed="false" intgPd="0"><RptEnabled max="1"/></ReportControl>
        <ReportControl name="brcbMeas01" rptID="DEMO/Meas" datSet="Measurements" confRev="1" buffered="true" indexed="false" bufTime="50"><RptEnabled max="1"/></ReportControl>
        <GSEControl name="gcbBurst" appID="DEMO/gcbBurst" datSet="BurstDS" confRev="{goose_conf_rev}"/>
        {lln0}
      </LN0>
      <LN lnClass="LPHD" inst="1" lnType="LPHD_T"/>
      <LN lnClass="GGIO" inst="1" lnType="GGIO_T"><DOI name="SPCSO1"><DAI name="ctlModel"><Val>direct-with-normal-security</Val></DAI></DOI></LN>
      <LN lnClass="MMXU" inst="1" lnType="MMXU_T"/>
    </LDevice>
    <LDevice inst="CTRL">
      <LN0 lnClass="LLN0" inst="" lnType="LLN0_T">{lln0}</LN0>
      <LN lnClass="CSWI" inst="1" lnType="CSWI_T">{_ctl(cswi1)}</LN>
      <LN lnClass="CSWI" inst="2" lnType="CSWI_T">{_ctl(cswi2)}</LN>
      <LN lnClass="XCBR" inst="1" lnType="XCBR_T">{_ctl("status-only")}</LN>
    </LDevice>
  </Server></AccessPoint></IED>
  <IED name="DEMOMU" manufacturer="MZ Automation" type="mu"><AccessPoint name="AP1"><Server><Authentication/>
    <LDevice inst="MU"><LN0 lnClass="LLN0" inst="" lnType="LLN0_T">
      <DataSet name="PhsMeas1">{sav}</DataSet>
      <SampledValueControl name="MSVCB01" datSet="PhsMeas1" smvID="DEMOMU01" smpRate="80" nofASDU="1" confRev="{sv_conf_rev}" smpMod="SmpPerPeriod"><SmvOpts sampleSynchronized="true"/></SampledValueControl>
      <DataSet name="Custom">{f("MU", "MMXU", 1, "TotW", "MX")}{f("MU", "GGIO", 1, "IntSet1", "SP", "setVal")}</DataSet>
      <SampledValueControl name="MSVCB02" datSet="Custom" smvID="DEMOMU02" smpRate="4000" nofASDU="1" confRev="1"/>
    </LN0>
    <LN lnClass="MMXU" inst="1" lnType="MMXU_T"/><LN lnClass="GGIO" inst="1" lnType="GGIO_T"/>
    {"".join(f'<LN lnClass="TCTR" inst="{k}" lnType="TCTR_T"/><LN lnClass="TVTR" inst="{k}" lnType="TVTR_T"/>' for k in range(1, 5))}
    </LDevice>
  </Server></AccessPoint></IED>
{TYPES}
</SCL>
"""


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_written_scd_is_clean(tmp_path):
    m = load_scl(_write(tmp_path, "demo.scd", demo_scd("127.0.0.1")))
    bad = [f for f in check_scl(m) if f["severity"] != "info"]
    assert bad == []
    assert m.ctl_model("DEMOCTRL/CSWI1$CO$Pos$Oper") == "sbo-with-enhanced-security"
    assert [x.size for x in m.members("DEMOMULU/LLN0$PhsMeas1")] == []       # wrong domain: nothing
    assert sum(x.size for x in m.members("DEMOMUMU/LLN0$PhsMeas1")) == 64


# -- MMS + GOOSE: the harness's demo scenario ------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if _missing:
        pytest.skip("harness needs: " + ", ".join(_missing))
    from iec import scenarios
    out = tmp_path_factory.mktemp("demo")
    pcap, truth = scenarios.demo(outdir=str(out))
    scd = _write(out, "demo.scd", demo_scd(truth["server"]["ip"]))
    return pcap, truth, scd, out


def _dref_to_name(ref: str) -> str:
    """The server's data reference 'DEMOLD0/GGIO1$ST$Ind1' in the SCL reading 'DEMOLD0/GGIO1.Ind1 [ST]'."""
    dom, _, item = ref.partition("/")
    parts = item.split("$")
    return f"{dom}/{'.'.join([parts[0]] + parts[2:])} [{parts[1]}]"


def test_goose_members_named_from_the_scl(demo):
    pcap, truth, scd, _ = demo
    cap = read_capture(pcap, scl=scd)
    g = cap.goose()
    burst = g[g["gocb_ref"] == truth["goose"]["gocbRef"]]
    assert len(burst) == len(truth["goose"]["messages"])
    for row, sent in zip(burst.itertuples(), truth["goose"]["messages"]):
        assert row.member_names == ["DEMOLD0/GGIO1.Ind1.stVal [ST]", "DEMOLD0/GGIO1.IntSet1.setVal [SP]",
                                    "DEMOLD0/MMXU1.Hz.mag.f [MX]"]
        assert row.member_types == ["BOOLEAN", "INT32", "FLOAT32"]
        assert row.values_named == sent["values"]
    st = cap.goose_streams()
    assert st.loc[st["gocb_ref"] == truth["goose"]["gocbRef"], "ied"].tolist() == ["DEMO"]


def test_report_members_named_from_the_scl(demo):
    pcap, truth, scd, _ = demo
    cap = read_capture(pcap, scl=scd)
    rep = cap.reports()
    ev = rep[rep["rpt_id"] == "DEMO/Events"]
    received = [d["client_received"] for d in truth["reports"]["rcbs"].values() if d["rpt_id"] == "DEMO/Events"]
    assert received and len(ev) == received[0] > 0
    checked = 0
    for row in ev.itertuples():
        assert all(n is not None for n in row.member_names)
        if row.data_refs:           # the server names each member itself (OptFlds data-reference)
            assert row.member_names == [_dref_to_name(d) for d in row.data_refs]
            checked += 1
    assert checked > 0
    names = {n for row in ev.itertuples() for n in row.member_names}
    assert names == {"DEMOLD0/GGIO1.Ind1 [ST]", "DEMOLD0/GGIO1.Ind2 [ST]", "DEMOLD0/GGIO1.SPCSO1 [ST]"}
    meas = rep[rep["rpt_id"] == "DEMO/Meas"]
    assert {n for row in meas.itertuples() for n in row.member_names} <= {
        "DEMOLD0/MMXU1.TotW [MX]", "DEMOLD0/MMXU1.Hz [MX]", "DEMOLD0/GGIO1.AnIn1.mag [MX]"}
    assert set(cap.associations()["server_ied"].dropna()) == {"DEMO"}
    ctl = cap.controls()
    models = dict(zip(ctl["object"], ctl["ctl_model"]))
    assert models.get("DEMOCTRL/CSWI1$CO$Pos") == "sbo-with-enhanced-security"


def test_scl_check_finds_everything_and_flags_nothing(demo):
    pcap, truth, scd, _ = demo
    rows = read_capture(pcap, scl=scd).scl_check().to_dict("records")
    gcb = "DEMOLD0/LLN0$GO$gcbBurst"
    for c in ("gocb_ref", "go_id", "dat_set", "conf_rev", "entries", "member_types", "appid", "dst_mac",
              "vlan_priority"):
        assert any(r["object"] == gcb and r["check"] == c and r["result"] == "match" for r in rows), c
    for rcb in ("DEMOLD0/LLN0$RP$urcbEvents01", "DEMOLD0/LLN0$BR$brcbMeas01"):
        assert any(r["object"] == rcb and r["check"] == "conf_rev" and r["result"] == "match" for r in rows)
    assert any(r["object"] == "DEMO" and r["check"] == "server" and r["result"] == "match" for r in rows)
    assert [r for r in rows if r["severity"] == "warning"] == []


def test_changed_appid_and_confrev_show_as_mismatches(demo):
    pcap, truth, _scd, out = demo
    scd = _write(out, "demo_changed.scd", demo_scd(truth["server"]["ip"], goose_appid="1002", goose_conf_rev=2,
                                                   urcb_conf_rev=3))
    rows = read_capture(pcap, scl=scd).scl_check().to_dict("records")
    bad = sorted((r["object"], r["check"], r["configured"], r["observed"]) for r in rows if r["severity"] == "warning")
    assert bad == [("DEMOLD0/LLN0$GO$gcbBurst", "appid", "0x1002", "0x1001"),
                   ("DEMOLD0/LLN0$GO$gcbBurst", "conf_rev", "2", "1"),
                   ("DEMOLD0/LLN0$RP$urcbEvents01", "conf_rev", "3", "1")]


@pytest.fixture(scope="module")
def controls(tmp_path_factory):
    if _missing:
        pytest.skip("harness needs: " + ", ".join(_missing))
    from iec import scenarios
    out = tmp_path_factory.mktemp("controls")
    pcap, truth = scenarios.controls(outdir=str(out))
    return pcap, truth, out


def _ctl_rows(pcap, scd):
    rows = read_capture(pcap, scl=scd).scl_check().to_dict("records")
    return {r["object"]: (r["configured"], r["observed"], r["result"], r["message"]) for r in rows
            if r["check"] == "ctl_model"}


def test_control_models_match_the_scl(controls):
    pcap, truth, out = controls
    got = _ctl_rows(pcap, _write(out, "ok.scd", demo_scd(truth["server"]["ip"])))
    # what the server ran: SBOw + Oper on CSWI1, Oper only on CSWI2 and GGIO1.SPCSO1
    phases = {(a["ref"], a["phase"]) for a in truth["controls"]["server_actions"]}
    assert ("DEMOCTRL/CSWI1.Pos", "select-check") in phases and ("DEMOCTRL/CSWI2.Pos", "check") in phases
    assert got["DEMOCTRL/CSWI1$CO$Pos"][0] == "sbo-with-enhanced-security"
    assert got["DEMOCTRL/CSWI2$CO$Pos"][0] == "direct-with-enhanced-security"
    assert got["DEMOLD0/GGIO1$CO$SPCSO1"][0] == "direct-with-normal-security"
    assert {v[2] for v in got.values()} == {"match"}


def test_control_model_contradictions_are_flagged(controls):
    """An SCL with the two models swapped: the select on CSWI1 is then a select on a direct
    object, the operate of CSWI2 a direct operate on an SBO object."""
    pcap, truth, out = controls
    got = _ctl_rows(pcap, _write(out, "swapped.scd", demo_scd(truth["server"]["ip"],
                                                              cswi1="direct-with-enhanced-security",
                                                              cswi2="sbo-with-enhanced-security")))
    assert got["DEMOCTRL/CSWI1$CO$Pos"][2:] == ("mismatch", "select on a direct-operate object")
    assert got["DEMOCTRL/CSWI2$CO$Pos"][2:] == ("mismatch", "direct operate on an SBO object (no select seen)")
    assert got["DEMOLD0/GGIO1$CO$SPCSO1"][2] == "match"


# -- SV: a libiec61850 SVPublisher on a veth pair -------------------------------------------

@pytest.fixture(scope="module")
def sv_capture(tmp_path_factory):
    if not can_publish():
        pytest.skip("needs root, ip, tcpdump, pyiec61850")
    out = tmp_path_factory.mktemp("scl_sv")
    path = str(out / "sv.pcap")
    sent = []
    with veth_pair("scs") as (tx, rx):
        with tcpdump(rx, path):
            pub = SvPub(tx, 0x4000, ["DEMOMU01"], conf_rev=1, smp_rate=80, smp_synch=2, vlan=(5, 4),
                        dat_set="DEMOMUMU/LLN0$PhsMeas1")
            try:
                for cnt in range(40):
                    vals = [cnt * 10 + k for k in range(8)]
                    pub.publish([cnt], [vals])
                    sent.append(vals)
            finally:
                pub.close()
            custom = _publish_custom(tx)
    return path, sent, out, custom


def _publish_custom(tx):
    """A non-9-2LE ASDU: FLOAT32 mag.f, quality, timestamp (MMXU1.TotW [MX]) then INT32 (IntSet1.setVal)."""
    import time

    import pyiec61850.pyiec61850 as iec
    from l2_publish import PACE_S, _comm
    cp = _comm(0x4002, b"\x01\x0c\xcd\x04\x00\x02", 5, 4)
    pub = iec.SVPublisher_createEx(cp, tx, True)
    assert pub
    sent = []
    try:
        a = iec.SVPublisher_addASDU(pub, "DEMOMU02", None, 1)
        o_f, o_q = iec.SVPublisher_ASDU_addFLOAT(a), iec.SVPublisher_ASDU_addQuality(a)
        iec.SVPublisher_ASDU_addTimestamp(a)        # not set: whatever the buffer holds
        o_i = iec.SVPublisher_ASDU_addINT32(a)
        iec.SVPublisher_setupComplete(pub)
        for cnt in range(10):
            f, q, i = 0.25 * cnt - 1.0, (0x0040 if cnt == 3 else 0), -7 * cnt
            iec.SVPublisher_ASDU_setFLOAT(a, o_f, f)
            iec.SVPublisher_ASDU_setQuality(a, o_q, q)
            iec.SVPublisher_ASDU_setINT32(a, o_i, i)
            iec.SVPublisher_ASDU_setSmpCnt(a, cnt)
            iec.SVPublisher_publish(pub)
            sent.append((cnt, [f, q, i]))
            time.sleep(PACE_S)
    finally:
        iec.SVPublisher_destroy(pub)
    return sent


CHANNELS = [f"DEMOMUMU/TCTR{k}.Amp [MX]" for k in range(1, 5)] + [f"DEMOMUMU/TVTR{k}.Vol [MX]" for k in range(1, 5)]


def test_sv_channels_named_from_the_scl(sv_capture):
    path, sent, out, _custom = sv_capture
    cap = read_capture(path, scl=_write(out, "demo.scd", demo_scd("127.0.0.1")))
    st = cap.sv_streams()
    st = st[st["sv_id"] == "DEMOMU01"]
    assert len(st) == 1 and st["channels"].iloc[0] == CHANNELS and st["ied"].iloc[0] == "DEMOMU"
    assert set(cap.sv()["ied"].dropna()) == {"DEMOMU"} and cap.sv()["ied"].notna().all()
    rows = cap.scl_check().to_dict("records")
    sv = "DEMOMUMU/LLN0$MS$MSVCB01"
    for c in ("sv_id", "dat_set", "conf_rev", "no_asdu", "smp_rate", "smp_synch", "seq_data", "appid", "dst_mac",
              "vlan_id", "vlan_priority"):
        assert any(r["object"] == sv and r["check"] == c and r["result"] == "match" for r in rows), c
    # the only warning: a veth's random MAC is locally administered, i.e. not a vendor NIC
    warn = [r for r in rows if r["severity"] == "warning"]
    assert {r["check"] for r in warn} == {"src_mac"}
    assert all(int(r["observed"].split(":")[0], 16) & 0x02 for r in warn)


def test_sv_changed_appid_and_confrev(sv_capture):
    path, _sent, out, _custom = sv_capture
    scd = _write(out, "changed.scd", demo_scd("127.0.0.1", sv_appid="4001", sv_conf_rev=7))
    rows = read_capture(path, scl=scd).scl_check().to_dict("records")
    bad = sorted((r["object"], r["check"], r["configured"], r["observed"]) for r in rows
                 if r["severity"] == "warning" and r["check"] != "src_mac")
    sv = "DEMOMUMU/LLN0$MS$MSVCB01"
    assert bad == [(sv, "appid", "0x4001", "0x4000"), (sv, "conf_rev", "7", "1")]


def test_sv_with_a_non_92le_layout_decoded_by_the_scl(sv_capture):
    path, _sent, out, custom = sv_capture
    cap = read_capture(path, scl=_write(out, "demo.scd", demo_scd("127.0.0.1")))
    v = cap.scl_sv_values()
    v = v[v["sv_id"] == "DEMOMU02"]
    chans = ["DEMOMUMU/MMXU1.TotW.mag.f [MX]", "DEMOMUMU/MMXU1.TotW.q [MX]", "DEMOMUMU/MMXU1.TotW.t [MX]",
             "DEMOMUMU/GGIO1.IntSet1.setVal [SP]"]
    got = {}
    for smp, grp in v.groupby("smp_cnt"):
        assert grp["channel"].tolist() == chans
        vals = grp["value"].tolist()
        assert set(vals[2]) == {"seconds", "fraction", "quality"}
        got[int(smp)] = vals[:2] + vals[3:]
    assert got == {cnt: vals for cnt, vals in custom}
    rows = cap.scl_check().to_dict("records")
    cb = "DEMOMUMU/LLN0$MS$MSVCB02"
    assert any(r["object"] == cb and r["check"] == "seq_data" and r["result"] == "match" and
               r["configured"].startswith("20 B") for r in rows)
