"""Write SCL files for the tests: a big realistic SCD, hostile documents.

Nothing here copies the shared SCL files; the big file is generated from a small
IED block (LDevices, LNs with DOI/DAI values, a data set, a GoCB and its address)
repeated with new names until the file reaches the wanted size.
"""

from __future__ import annotations

NS = "http://www.iec.ch/61850/2003/SCL"

TEMPLATES = """  <DataTypeTemplates>
    <LNodeType id="LLN0_T" lnClass="LLN0">
      <DO name="Mod" type="ENC_T"/><DO name="Beh" type="ENS_T"/><DO name="NamPlt" type="LPL_T"/>
    </LNodeType>
    <LNodeType id="GGIO_T" lnClass="GGIO">
      <DO name="Beh" type="ENS_T"/><DO name="Ind1" type="SPS_T"/><DO name="Ind2" type="SPS_T"/>
      <DO name="SPCSO1" type="SPC_T"/>
    </LNodeType>
    <DOType id="ENC_T" cdc="ENC">
      <DA name="stVal" bType="Enum" type="Beh_E" fc="ST"/><DA name="q" bType="Quality" fc="ST"/>
      <DA name="ctlModel" bType="Enum" type="Ctl_E" fc="CF"/>
    </DOType>
    <DOType id="ENS_T" cdc="ENS">
      <DA name="stVal" bType="Enum" type="Beh_E" fc="ST"/><DA name="q" bType="Quality" fc="ST"/>
    </DOType>
    <DOType id="LPL_T" cdc="LPL">
      <DA name="vendor" bType="VisString255" fc="DC"/><DA name="swRev" bType="VisString255" fc="DC"/>
    </DOType>
    <DOType id="SPS_T" cdc="SPS">
      <DA name="stVal" bType="BOOLEAN" fc="ST"/><DA name="q" bType="Quality" fc="ST"/>
      <DA name="t" bType="Timestamp" fc="ST"/>
    </DOType>
    <DOType id="SPC_T" cdc="SPC">
      <DA name="stVal" bType="BOOLEAN" fc="ST"/><DA name="q" bType="Quality" fc="ST"/>
      <DA name="ctlModel" bType="Enum" type="Ctl_E" fc="CF"/>
    </DOType>
    <EnumType id="Beh_E"><EnumVal ord="1">on</EnumVal><EnumVal ord="2">blocked</EnumVal>
      <EnumVal ord="3">test</EnumVal><EnumVal ord="4">test/blocked</EnumVal><EnumVal ord="5">off</EnumVal></EnumType>
    <EnumType id="Ctl_E"><EnumVal ord="0">status-only</EnumVal><EnumVal ord="1">direct-with-normal-security</EnumVal>
      <EnumVal ord="2">sbo-with-normal-security</EnumVal><EnumVal ord="3">direct-with-enhanced-security</EnumVal>
      <EnumVal ord="4">sbo-with-enhanced-security</EnumVal></EnumType>
  </DataTypeTemplates>
"""


def _ied(name: str, lds: int, ggios: int) -> str:
    out = [f'  <IED name="{name}" manufacturer="Gen" type="T"><AccessPoint name="AP1"><Server>'
           '<Authentication/>']
    for d in range(lds):
        out.append(f'<LDevice inst="LD{d}"><LN0 lnClass="LLN0" inst="" lnType="LLN0_T">'
                   '<DataSet name="Events">')
        for g in range(1, ggios + 1):
            out.append(f'<FCDA ldInst="LD{d}" lnClass="GGIO" lnInst="{g}" doName="Ind1" daName="stVal" fc="ST"/>')
        out.append('</DataSet><GSEControl name="gcb" appID="g" datSet="Events" confRev="1"/>'
                   '<DOI name="Mod"><DAI name="ctlModel"><Val>status-only</Val></DAI></DOI>'
                   '<DOI name="NamPlt"><DAI name="vendor"><Val>Gen</Val></DAI><DAI name="swRev"><Val>1.0</Val></DAI></DOI>'
                   '<Private type="gen">' + "x" * 200 + '</Private></LN0>')
        for g in range(1, ggios + 1):
            out.append(f'<LN lnClass="GGIO" inst="{g}" lnType="GGIO_T" desc="generated node {g}">'
                       '<DOI name="SPCSO1"><DAI name="ctlModel"><Val>direct-with-normal-security</Val></DAI></DOI>'
                       '<DOI name="Ind1" desc="an indication"><DAI name="stVal"><Val>false</Val></DAI></DOI></LN>')
        out.append('</LDevice>')
    out.append('</Server></AccessPoint></IED>\n')
    return "".join(out)


def write_big_scd(path: str, target_bytes: int, lds: int = 4, ggios: int = 40) -> dict:
    """Write an SCD of about ``target_bytes``; returns the counts it holds."""
    n = 0
    caps = []
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<SCL xmlns="{NS}" version="2007" revision="B" '
                 'release="4">\n  <Header id="big"/>\n  <Substation name="S1"><VoltageLevel name="V1">'
                 + "".join(f'<Bay name="B{i}"><LNode iedName="IED{i}" lnClass="GGIO" lnInst="1"/></Bay>'
                           for i in range(200)) + '</VoltageLevel></Substation>\n')
        size = fh.tell()
        while size < target_bytes - 200_000:
            name = f"IED{n}"
            fh.write(_ied(name, lds, ggios))
            caps.append(f'<ConnectedAP iedName="{name}" apName="AP1"><Address><P type="IP">10.{n // 65536 % 256}.'
                        f'{n // 256 % 256}.{n % 256}</P></Address><GSE ldInst="LD0" cbName="gcb"><Address>'
                        f'<P type="MAC-Address">01-0C-CD-01-00-01</P><P type="APPID">{n % 0x3FFF:04X}</P>'
                        '</Address></GSE></ConnectedAP>')
            n += 1
            size = fh.tell()
        fh.write('  <Communication><SubNetwork name="N1">' + "".join(caps) + '</SubNetwork></Communication>\n')
        fh.write(TEMPLATES)
        fh.write("</SCL>\n")
    return {"ieds": n, "ldevices": n * lds, "fcdas": n * lds * ggios}
