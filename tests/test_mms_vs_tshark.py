"""decode_mms agrees with tshark (Wireshark 4.0 MMS dissector) on real captures.

For each MMS PDU tshark finds, its raw bytes (``-T json -x``: ``mms_raw``) are decoded
with :func:`decode_mms` and compared with tshark's field tree (``-T pdml``, document
order):

* PDU alternative, service, invokeID (and mms_envelope agrees with decode_mms);
* every ObjectName component (domainId / itemId / vmd-specific / aa-specific), file
  names, identify strings, getNameList identifiers, file attributes, component names,
  type sizes, error class and code, reject reason, in order;
* every Data leaf of listOfAccessResult / listOfData, in order, type and value
  (values from tshark's raw field octets; utc-time and binary-time also against
  tshark's rendered UTC time).

Known tshark 4.0 gaps are not compared: it does not know TypeDescription
floating-point / mMSString / utc-time (it silently drops them), nor Data
generalized-time.  Mid-association captures are read with the presentation
context 3 preset to MMS (Wireshark's ``pres_context_list`` UAT), as IEC 61850 stacks
negotiate it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

import public
from mmsanalyze.errors import DecodeError
from mmsanalyze.mms import (CONFIRMED_SERVICES, OBJECT_CLASSES, REJECT_REASONS,
                            SERVICE_ERROR_CLASSES, UNCONFIRMED_SERVICES, decode_mms,
                            looks_like_mms, mms_envelope)

TSHARK = shutil.which("tshark") or "/usr/bin/tshark"
CAPDIR = public.PUBLIC

pytestmark = [
    pytest.mark.tshark,
    pytest.mark.skipif(not public.available(), reason=f"reference captures not found at {CAPDIR} "
                       "(the project's ../shared, see README)"),
    pytest.mark.skipif(not os.path.exists(TSHARK), reason="tshark not installed (scripts/test.sh installs it)"),
]
PRESET = ["-o", 'uat:pres_context_list:"3","1.0.9506.2.1"']

CAPTURES = [
    # (file, needs the MMS presentation-context preset)
    ("mms_iti_pcapr_reports_identify_write.pcap", False),
    ("mms_goose_iti_sample_mixed_lan.pcap", False),
    ("mms_iti_piccolo_identify_status.pcap", False),
    ("mms_iti_iec61850_read.pcap", False),
    ("mms_iti_iec61850_write.pcap", False),
    ("mms_iti_iec61850_get_name_list.pcap", False),
    ("mms_iti_iec61850_get_variable_access_attributes.pcap", False),
    ("iso9506_iti_mms-cancelRequest.pcap", False),
    ("iso9506_iti_mms-deleteProgramInvocation.pcap", False),
    ("iso9506_iti_mms-getAlarmSummary.pcap", False),
    ("iso9506_iti_mms-getDomainAttributes.pcap", False),
    ("iso9506_iti_mms-initiateDownloadSequence.pcap", False),
    ("iso9506_iti_mms-initiateUploadSequence.pcap", False),
    ("iso9506_iti_mms-killRequest.pcap", False),
    ("iso9506_iti_mms-readRequest.pcap", False),
    ("iso9506_iti_mms-relinquishControl.pcap", False),
    ("iso9506_iti_mms-resetRequest.pcap", False),
    ("iso9506_iti_mms-resumeRequest.pcap", False),
    ("iso9506_iti_mms-startRequest.pcap", False),
    ("iso9506_iti_mms-stopRequest.pcap", False),
    ("iso9506_iti_mms-takeControl.pcap", False),
    ("iso9506_iti_mms-terminateUploadSequence.pcap", False),
    ("mms_adsc_libiec61850_conclude.pcapng", False),
    ("mms_adsc_libiec61850_defineNVL_deleteNVL.pcap", False),
    ("mms_adsc_libiec61850_fileDirectory.pcap", False),
    ("mms_adsc_libiec61850_fileOpenReadClose.pcap", False),
    ("mms_adsc_libiec61850_fileRename.pcap", False),
    ("mms_adsc_libiec61850_identify.pcap", False),
    ("mms_adsc_libiec61850_obtainFile.pcap", False),
    ("mms_adsc_libiec61850_status_0.pcapng", False),
    ("mms_adsc_libiec61850_status_1.pcap", False),
    ("mms_adsc_midassoc_getNameList.pcap", True),
    ("mms_adsc_midassoc_getNamedVariableListAttributes.pcap", True),
    ("mms_adsc_midassoc_getVariableAccessAttributes.pcap", True),
    ("mms_adsc_midassoc_read_two_conns.pcap", True),
    ("mms_adsc_midassoc_write.pcap", True),
    ("mms_adsc_optional_deleteNVL_listOfVariableListName.pcap", True),
    ("mms_adsc_optional_fileDirectory_continueAfter.pcap", True),
    ("mms_adsc_optional_getNameList_continueAfter.pcap", True),
    ("mms_adsc_optional_gvaa_address.pcapng", True),
    ("mms_adsc_optional_read_variableAccessSpecification.pcap", True),
    ("mms_adsc_optional_status_localDetail.pcap", True),
    ("mms_emre_siemens_model_browse.pcapng", False),
    ("mms_emre_wamp_model_browse.pcap", False),
    ("mms_emre_read_polling.pcap", False),
    ("mms_goose_ctsamples_ge_multilin_ur.pcapng", False),
    ("mms_robidev_sll_getnamelist.pcapng", False),
    ("mms_robidev_sll_getnamelist_malformed.pcapng", False),
    ("mms_goose_sv_robidev_sll_control_reports_dedup.pcapng", False),
    ("mms_emre_abb_model_browse.pcapng", False),
    ("mms_robidev_server_to_client_only_midassoc.pcap", True),
    ("mms_robidev_sll_midassoc_malformed.pcapng", True),
    ("mms_goose_emre_iedscout_midassoc.pcapng", True),
]


# ------------------------------------------------------------------ tshark side

def _hook(pairs):
    d: dict = {}
    for k, v in pairs:
        d.setdefault(k, []).append(v)
    return d


def tshark_raw(path, extra):
    """{frame number: [raw MMS PDU bytes, ...]} from ``-T json -x``."""
    out = subprocess.run([TSHARK, "-n", "-r", path, *extra, "-Y", "mms", "-T", "json", "-x"],
                         capture_output=True, text=True, check=True).stdout
    res = {}
    for pkt in json.loads(out, object_pairs_hook=_hook) if out.strip() else []:
        layers = pkt["_source"][0]["layers"][0]
        num = int(layers["frame"][0]["frame.number"][0])
        res[num] = [bytes.fromhex(r[0]) for r in layers.get("mms_raw", [])]
    return res


def tshark_fields(path, extra):
    """{frame number: [[(name, show, value, showname, in_data), ...] per MMS PDU]} from PDML."""
    proc = subprocess.Popen([TSHARK, "-n", "-r", path, *extra, "-Y", "mms", "-T", "pdml"],
                            stdout=subprocess.PIPE)
    res = {}
    malformed = set()
    for _, pkt in ET.iterparse(proc.stdout):
        if pkt.tag != "packet":
            continue
        num = None
        pdus = []
        for proto in pkt.findall("proto"):
            if proto.get("name") == "frame":
                for f in proto.iter("field"):
                    if f.get("name") == "frame.number":
                        num = int(f.get("show"))
                        break
            elif proto.get("name") == "mms":
                fields = []
                _walk(proto, False, fields)
                pdus.append(fields)
            elif proto.get("name") == "_ws.malformed":
                malformed.add(id(pkt))
        if id(pkt) in malformed:
            pdus = [None] * len(pdus)
        res[num] = pdus
        pkt.clear()
    proc.wait()
    return res


def tshark_malformed(path, extra):
    """Frames tshark flags as malformed (``_ws.malformed``) or with an error expert item."""
    out = subprocess.run([TSHARK, "-n", "-r", path, *extra, "-Y",
                          '_ws.malformed || _ws.expert.severity == "Error"', "-T", "fields",
                          "-e", "frame.number"], capture_output=True, text=True, check=True).stdout
    return {int(x) for x in out.split()}


def _walk(elem, in_data, out):
    for f in elem.findall("field"):
        name = f.get("name")
        out.append((name, f.get("show") or "", f.get("value") or "", f.get("showname") or "",
                    in_data))
        _walk(f, in_data or name in ("mms.listOfAccessResult", "mms.listOfData"), out)


# ------------------------------------------------------------------ normalisation

def _u(v):
    return int(v, 16) if v else 0


def _s(v):
    return int.from_bytes(bytes.fromhex(v), "big", signed=True) if v else 0


def _tshark_time(show):
    """'Feb  1, 2019 05:18:02.087000000 UTC' -> epoch seconds (ns precision kept)."""
    head, frac = show.replace(" UTC", "").split(".")
    t = dt.datetime.strptime(" ".join(head.split()), "%b %d, %Y %H:%M:%S")
    return t.replace(tzinfo=dt.timezone.utc).timestamp() + int(frac) / 10 ** len(frac)


def tshark_data_leaves(fields):
    """Data leaves as (type, comparable value)."""
    out = []
    padding = 0
    for name, show, value, showname, in_data in fields:
        if name == "ber.bitstring.padding":
            padding = int(show)
            continue
        if not in_data:
            continue
        if name == "mms.boolean":
            out.append(("boolean", _u(value) != 0))
        elif name == "mms.integer":
            out.append(("integer", _s(value)))
        elif name == "mms.unsigned":
            out.append(("unsigned", _u(value)))
        elif name == "mms.bcd":
            out.append(("bcd", _s(value)))
        elif name == "mms.floating_point":
            raw = bytes.fromhex(value)
            f = struct.unpack(">f", raw[1:])[0] if len(raw) == 5 else struct.unpack(">d", raw[1:])[0]
            out.append(("floating-point", f))
        elif name == "mms.data.octet-string":
            out.append(("octet-string", value))
        elif name == "mms.data.visible-string":
            out.append(("visible-string", bytes.fromhex(value).decode("latin-1")))
        elif name == "mms.mMSString":
            out.append(("mMSString", bytes.fromhex(value).decode("utf-8", "replace")))
        elif name in ("mms.data_bit-string", "mms.booleanArray"):
            nbits = len(value) * 4 - padding
            out.append(("bit-string" if name == "mms.data_bit-string" else "booleanArray",
                        (_u(value) >> padding, nbits)))
            padding = 0
        elif name == "mms.data.binary-time":
            raw = bytes.fromhex(value)
            days = int.from_bytes(raw[4:6], "big") if len(raw) == 6 else None
            epoch = _tshark_time(show) if days is not None else None
            out.append(("binary-time", (int.from_bytes(raw[:4], "big"), days, epoch)))
        elif name == "mms.utc_time":
            raw = bytes.fromhex(value)
            out.append(("utc-time", (int.from_bytes(raw[:4], "big"), int.from_bytes(raw[4:7], "big"),
                                     raw[7], _tshark_time(show))))
        elif name == "mms.objId":
            out.append(("objId", show))
    return out


def our_data_leaves(detail):
    out = []

    def leaf(typed):
        (kind, v), = typed.items()
        if kind in ("structure", "array"):
            for x in v:
                leaf(x)
        elif kind == "failure":
            pass
        elif kind in ("bit-string", "booleanArray"):
            bits = v["bits"]
            out.append((kind, (int(bits, 2) if bits else 0, len(bits))))
        elif kind == "binary-time":
            out.append((kind, (v["ms_of_day"], v["days"], v["epoch"])))
        elif kind == "utc-time":
            secs = round(v["utc"] - v["fraction"] / 16777216.0)
            out.append((kind, (secs, v["fraction"], v["quality"], v["utc"])))
        elif kind == "generalized-time":
            pass                                    # unknown to tshark 4.0
        else:
            out.append((kind, v))

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ("listOfAccessResult", "listOfData"):
                    for item in v:
                        leaf(item)
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(detail)
    return out


def same_leaves(ours, theirs):
    if len(ours) != len(theirs):
        return False
    for (k1, v1), (k2, v2) in zip(ours, theirs):
        if k1 != k2:
            return False
        if k1 == "floating-point":
            if not (v1 == v2 or (v1 != v1 and v2 != v2)):
                return False
        elif k1 == "utc-time":
            if v1[:3] != v2[:3] or abs(v1[3] - v2[3]) > 1e-6:
                return False
        elif k1 == "binary-time":
            if v1[:2] != v2[:2] or (v1[2] is not None and abs(v1[2] - v2[2]) > 1e-6):
                return False
        elif v1 != v2:
            return False
    return True


#: tshark field -> (our detail key(s), converter of (show, value))
SCALARS = {
    "mms.domainId": ({"domainId"}, lambda s, v: s),
    "mms.itemId": ({"itemId"}, lambda s, v: s),
    "mms.vmd_specific": ({"vmd-specific"}, lambda s, v: s),
    "mms.aa_specific": ({"aa-specific"}, lambda s, v: s),
    "mms.vendorName": ({"vendorName"}, lambda s, v: s),
    "mms.modelName": ({"modelName"}, lambda s, v: s),
    "mms.revision": ({"revision"}, lambda s, v: s),
    "mms.Identifier": ({"listOfIdentifier"}, lambda s, v: s),
    "mms.FileName_item": ({"fileName", "currentFileName", "newFileName", "sourceFile",
                           "destinationFile", "fileSpecification", "fileDelete"},
                          lambda s, v: bytes.fromhex(v).decode("utf-8", "replace")),
    "mms.sizeOfFile": ({"sizeOfFile"}, lambda s, v: _u(v)),
    "mms.lastModified": ({"lastModified"}, lambda s, v: bytes.fromhex(v).decode("ascii")),
    "mms.frsmID": ({"frsmID"}, lambda s, v: _s(v)),
    "mms.fileData": ({"fileData"}, lambda s, v: v),
    "mms.mmsDeletable": ({"mmsDeletable"}, lambda s, v: _u(v) != 0),
    "mms.componentName": ({"componentName"}, lambda s, v: s),
    "mms.specificationWithResult": ({"specificationWithResult"}, lambda s, v: _u(v) != 0),
    "mms.objectClass": ({"basicObjectClass"}, lambda s, v: OBJECT_CLASSES.get(int(s), int(s))),
    "mms.domainSpecific": ({"domainSpecific"}, lambda s, v: s),
    "mms.getNameList-Request_continueAfter": ({"continueAfter"}, lambda s, v: s),
    "mms.numberMatched": ({"numberMatched"}, lambda s, v: _u(v)),
    "mms.numberDeleted": ({"numberDeleted"}, lambda s, v: _u(v)),
    "mms.listOfAbstractSyntaxes_item": ({"listOfAbstractSyntaxes"}, lambda s, v: s),
    "mms.typeSpecification_bit-string": ({"bit-string"}, lambda s, v: _s(v)),
    "mms.typeSpecification.octet-string": ({"octet-string"}, lambda s, v: _s(v)),
    "mms.typeSpecification.visible-string": ({"visible-string"}, lambda s, v: _s(v)),
    "mms.numberOfElements": ({"numberOfElements"}, lambda s, v: _u(v)),
    "mms.programInvocationName": ({"programInvocationName"}, lambda s, v: s),
    "mms.domainName": ({"domainName"}, lambda s, v: s),
    "mms.listOfCapabilities_item": ({"listOfCapabilities"}, lambda s, v: s),
    "mms.vmdLogicalStatus": ({"vmdLogicalStatus"}, lambda s, v: int(s)),
    "mms.vmdPhysicalStatus": ({"vmdPhysicalStatus"}, lambda s, v: int(s)),
}
_STATUS = {"vmdLogicalStatus": ["state-changes-allowed", "no-state-changes-allowed",
                                "limited-services-allowed", "support-services-allowed"],
           "vmdPhysicalStatus": ["operational", "partially-operational", "inoperable",
                                 "needs-commissioning"]}
_DATA_KEYS = {"listOfAccessResult", "listOfData"}


def our_scalars(detail):
    out = []

    def walk(x, key):
        if isinstance(x, dict):
            for k, v in x.items():
                if k in _DATA_KEYS:
                    continue
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, key)
        else:
            if key in _STATUS and isinstance(x, str):
                x = _STATUS[key].index(x)
            out.append((key, x))
    walk(detail, None)
    return out


def compare_scalars(detail, fields, service):
    ours = our_scalars(detail)
    for fname, (keys, conv) in SCALARS.items():
        if service == "fileDirectory":
            if fname == "mms.FileName_item":
                keys = keys | {"continueAfter"}
            elif fname == "mms.getNameList-Request_continueAfter":
                continue
        theirs = [conv(show, value) for name, show, value, _, in_data in fields
                  if name == fname and not in_data]
        mine = [v for k, v in ours if k in keys]
        if fname in ("mms.typeSpecification_bit-string", "mms.typeSpecification.octet-string",
                     "mms.typeSpecification.visible-string") and not theirs:
            continue
        assert mine == theirs, (fname, mine[:10], theirs[:10])


def compare_error(p, fields):
    names = [f[0] for f in fields]
    if "mms.errorClass" in names:
        i = names.index("mms.errorClass")
        cls = int(fields[i][1])
        code = int(fields[i + 1][1])
        cname, codes = SERVICE_ERROR_CLASSES[cls]
        assert p.error["class"] == cname
        assert p.error["code"] == codes.get(code, code)
    if "mms.rejectReason" in names:
        i = names.index("mms.rejectReason")
        alt = int(fields[i][1])
        aname, reasons = REJECT_REASONS[alt]
        code = int(fields[i + 1][1])
        assert (p.error["class"], p.error["code"]) == (aname, reasons.get(code, code))


_PDU_FIELD = {
    "mms.confirmed_RequestPDU_element": "confirmed-RequestPDU",
    "mms.confirmed_ResponsePDU_element": "confirmed-ResponsePDU",
    "mms.confirmed_ErrorPDU_element": "confirmed-ErrorPDU",
    "mms.unconfirmed_PDU_element": "unconfirmed-PDU",
    "mms.rejectPDU_element": "rejectPDU",
    "mms.cancel_RequestPDU": "cancel-RequestPDU",
    "mms.cancel_ResponsePDU": "cancel-ResponsePDU",
    "mms.cancel_ErrorPDU_element": "cancel-ErrorPDU",
    "mms.initiate_RequestPDU_element": "initiate-RequestPDU",
    "mms.initiate_ResponsePDU_element": "initiate-ResponsePDU",
    "mms.initiate_ErrorPDU_element": "initiate-ErrorPDU",
    "mms.conclude_RequestPDU_element": "conclude-RequestPDU",
    "mms.conclude_ResponsePDU_element": "conclude-ResponsePDU",
    "mms.conclude_ErrorPDU_element": "conclude-ErrorPDU",
}


def compare_pdu(p, fields):
    first = fields[0][0]
    assert p.pdu == _PDU_FIELD[first]
    byname = {}
    for name, show, *_ in fields:
        byname.setdefault(name, show)
    if "mms.confirmedServiceRequest" in byname:
        assert p.service == CONFIRMED_SERVICES[int(byname["mms.confirmedServiceRequest"])]
    elif "mms.confirmedServiceResponse" in byname:
        assert p.service == CONFIRMED_SERVICES[int(byname["mms.confirmedServiceResponse"])]
    elif "mms.unconfirmedService" in byname:
        assert p.service == UNCONFIRMED_SERVICES[int(byname["mms.unconfirmedService"])]
    else:
        assert p.service is None
    if "mms.invokeID" in byname and p.pdu.startswith("confirmed"):
        assert p.invoke_id == int(byname["mms.invokeID"])
    if p.pdu.startswith("cancel-R"):
        assert p.invoke_id == int(fields[0][1])
    compare_error(p, fields)
    compare_scalars(p.detail, fields, p.service)
    ours = our_data_leaves(p.detail)
    theirs = tshark_data_leaves(fields)
    assert same_leaves(ours, theirs), (ours[:8], theirs[:8])


@pytest.mark.parametrize("name,preset", CAPTURES, ids=[c[0] for c in CAPTURES])
def test_capture_matches_tshark(name, preset):
    path = os.path.join(CAPDIR, name)
    extra = PRESET if preset else []
    raws = tshark_raw(path, extra)
    trees = tshark_fields(path, extra)
    bad = tshark_malformed(path, extra)
    assert raws, "tshark found no MMS"
    compared = rejected = 0
    for frame, pdus in raws.items():
        fields_list = trees.get(frame, [])
        assert len(fields_list) == len(pdus), frame
        for raw, fields in zip(pdus, fields_list):
            try:
                p = decode_mms(raw)
            except DecodeError:
                # Only where tshark flags the frame, or where tshark silently accepts a
                # confirmed/unconfirmed PDU without its mandatory service (asn2wrs does
                # not enforce mandatory components).
                names = {f[0] for f in fields or ()}
                assert (fields is None or frame in bad or not names & {
                    "mms.confirmedServiceRequest", "mms.confirmedServiceResponse",
                    "mms.unconfirmedService"}), frame
                rejected += 1
                continue
            if fields is None or frame in bad:
                continue
            assert mms_envelope(raw) == (p.pdu, p.service, p.invoke_id)
            assert p.end == len(raw)
            assert looks_like_mms(raw, 0, len(raw))
            try:
                compare_pdu(p, fields)
            except AssertionError as e:
                raise AssertionError(f"frame {frame}: {raw[:48].hex()}: {e}") from None
            compared += 1
    assert compared >= 1
    assert rejected <= 2
