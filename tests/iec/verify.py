"""Check a harness capture against its ground truth with tshark (the "honesty" check).

``check(pcap, truth)`` decodes the pcap with ``tshark -T pdml`` (adding
``-d tcp.port==N,tpkt`` when the server port is not 102), walks every MMS PDU
(several may share one TCP segment) and verifies, per connection:

* the client's confirmed requests on the wire are exactly the truth operations
  that carry an invokeID -- same order, same invokeID, same service;
* every such request is answered by the PDU kind the truth predicts
  (confirmed-Response with the same service / confirmed-Error / Reject);
* server-initiated confirmed requests (ObtainFile's FileOpen/Read/Close) match
  ``peer_requests``;
* unconfirmed InformationReports: count, RPT reports per RptID,
  CommandTermination / LastApplError counts;
* initiate, conclude + ACSE release, ACSE abort, FIN / RST as in ``end``;
* report counts client == server (while enabled) == wire; downloaded file
  hashes; GOOSE message count and stNum sequence (demo).

Returns a list of problem strings (empty = honest).
``python -m iec.verify PCAP [TRUTH.json]`` prints the result.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

# MMS ConfirmedServiceRequest/Response CHOICE numbers (ISO 9506-2) as shown by tshark
SERVICE = {
    "status": 0, "getNameList": 1, "identify": 2, "rename": 3, "read": 4, "write": 5,
    "getVariableAccessAttributes": 6, "defineNamedVariableList": 11,
    "getNamedVariableListAttributes": 12, "deleteNamedVariableList": 13,
    "obtainFile": 46, "fileOpen": 72, "fileRead": 73, "fileClose": 74, "fileRename": 75,
    "fileDelete": 76, "fileDirectory": 77,
}
SERVICE_NAME = {v: k for k, v in SERVICE.items()}


def tshark_available() -> bool:
    return shutil.which("tshark") is not None


def _int(s):
    try:
        return int(s, 0) if isinstance(s, str) and s.startswith("0x") else int(s)
    except (TypeError, ValueError):
        return None


def _first(elem, name):
    for f in elem.iter("field"):
        if f.get("name") == name:
            return f
    return None


def _all(elem, name):
    return [f for f in elem.iter("field") if f.get("name") == name]


def decode(pcap: str, port: int = 102) -> dict:
    """Decode a pcap into {'mms': [...], 'tcp': [...], 'acse': [...], 'goose': [...]}."""
    cmd = ["tshark", "-r", str(pcap), "-T", "pdml"]
    if port != 102:
        cmd += ["-d", f"tcp.port=={port},tpkt"]
    xml = subprocess.run(cmd, capture_output=True, check=True).stdout
    out = {"mms": [], "tcp": [], "acse": [], "goose": []}
    root = ET.fromstring(xml)
    for pkt in root.iter("packet"):
        frame = None
        sport = dport = None
        for proto in pkt.findall("proto"):
            name = proto.get("name")
            if name == "frame":
                frame = _int(_first(proto, "frame.number").get("show"))
            elif name == "tcp":
                sport = _int(_first(proto, "tcp.srcport").get("show"))
                dport = _int(_first(proto, "tcp.dstport").get("show"))
                fin = _first(proto, "tcp.flags.fin")
                rst = _first(proto, "tcp.flags.reset")
                syn = _first(proto, "tcp.flags.syn")
                flags = {k: (f is not None and f.get("show") in ("1", "True"))
                         for k, f in (("fin", fin), ("rst", rst), ("syn", syn))}
                out["tcp"].append({"frame": frame, "src": sport, "dst": dport, **flags})
            elif name == "acse":
                kinds = [f.get("name").split(".")[1].replace("_element", "")
                         for f in proto.iter("field")
                         if f.get("name") in ("acse.aarq_element", "acse.aare_element", "acse.rlrq_element",
                                              "acse.rlre_element", "acse.abrt_element")]
                for k in kinds:
                    out["acse"].append({"frame": frame, "src": sport, "dst": dport, "kind": k})
            elif name == "goose":
                def show(n):
                    f = _first(proto, n)
                    return None if f is None else f.get("show")
                out["goose"].append({"frame": frame, "stNum": _int(show("goose.stNum")),
                                     "sqNum": _int(show("goose.sqNum")), "gocbRef": show("goose.gocbRef")})
            elif name == "mms":
                top = proto.find("field")
                if top is None:
                    continue
                kind = (top.get("showname") or "").split(":")[0].strip()
                rec = {"frame": frame, "src": sport, "dst": dport, "kind": kind}
                inv = _first(top, "mms.invokeID")
                if inv is not None:
                    rec["invoke_id"] = _int(inv.get("show"))
                oinv = _first(top, "mms.originalInvokeID")
                if oinv is not None:
                    rec["invoke_id"] = _int(oinv.get("show"))
                for fname, key in (("mms.confirmedServiceRequest", "service"),
                                   ("mms.confirmedServiceResponse", "service")):
                    f = _first(top, fname)
                    if f is not None:
                        rec[key] = _int(f.get("show"))
                if kind == "unconfirmed-PDU":
                    vmd = _first(top, "mms.vmd_specific")
                    items = [f.get("show") for f in _all(top, "mms.itemId")]
                    rec["list_name"] = vmd.get("show") if vmd is not None else None
                    rec["items"] = items
                    vs = _first(top, "mms.data.visible-string")
                    rec["first_vstring"] = vs.get("show") if vs is not None else None
                out["mms"].append(rec)
    return out


def _conn_pdus(d, cport, sport):
    c2s = [p for p in d["mms"] if p["src"] == cport and p["dst"] == sport]
    s2c = [p for p in d["mms"] if p["src"] == sport and p["dst"] == cport]
    return c2s, s2c


def check(pcap: str, truth: dict, decoded: dict | None = None) -> list[str]:
    port = truth["server"]["port"]
    d = decoded or decode(pcap, port)
    problems: list[str] = []
    ops = truth["operations"]

    for conn in truth["connections"]:
        cid, cport = conn["id"], conn["client_port"]
        if not cport:
            problems.append(f"{cid}: client port unknown")
            continue
        c2s, s2c = _conn_pdus(d, cport, port)
        cops = [ops[i] for i in conn["operations"]]

        if not any(t["syn"] and t["src"] == cport for t in d["tcp"]):
            problems.append(f"{cid}: no SYN from client port {cport}")
        ini = [o for o in cops if o["op"] == "initiate"]
        if ini:
            if not any(p["kind"] == "initiate-RequestPDU" for p in c2s):
                problems.append(f"{cid}: initiate-RequestPDU missing")
            if ini[0]["ok"] and not any(p["kind"] == "initiate-ResponsePDU" for p in s2c):
                problems.append(f"{cid}: initiate-ResponsePDU missing")

        # 1. client confirmed requests == truth ops with invoke ids (order, id, service)
        want = [(o["invoke_id"], SERVICE.get(o["op"])) for o in cops if o.get("invoke_id") is not None]
        got = [(p.get("invoke_id"), p.get("service")) for p in c2s if p["kind"] == "confirmed-RequestPDU"]
        if want != got:
            problems.append(f"{cid}: client request sequence differs: truth={want} wire={got}")

        # 2. responses
        by_inv: dict = {}
        for p in s2c:
            if "invoke_id" in p and p["kind"] in ("confirmed-ResponsePDU", "confirmed-ErrorPDU", "rejectPDU"):
                by_inv.setdefault(p["invoke_id"], []).append(p)
        for o in cops:
            inv = o.get("invoke_id")
            if inv is None:
                continue
            exp = o.get("response_pdu")
            resp = by_inv.get(inv, [])
            if exp is None:
                if resp:
                    problems.append(f"{cid} seq {o['seq']} {o['op']}: unexpected answer {resp[0]['kind']}")
                continue
            if not resp:
                problems.append(f"{cid} seq {o['seq']} {o['op']} inv {inv}: no answer (expected {exp})")
                continue
            r = resp[0]
            if r["kind"] != exp:
                problems.append(f"{cid} seq {o['seq']} {o['op']} inv {inv}: answer {r['kind']}, truth says {exp}")
            elif exp == "confirmed-ResponsePDU" and r.get("service") != SERVICE.get(o["op"]):
                problems.append(f"{cid} seq {o['seq']} {o['op']}: response service {r.get('service')}")

        # 3. server-initiated requests (ObtainFile)
        want_peer = [SERVICE[x["op"]] for o in cops for x in o.get("peer_requests", [])]
        got_peer = [p.get("service") for p in s2c if p["kind"] == "confirmed-RequestPDU"]
        if want_peer != got_peer:
            problems.append(f"{cid}: server->client requests truth={want_peer} wire={got_peer}")

        # 4. unconfirmed information reports
        infos = conn.get("information_reports")
        wire_inf = [p for p in s2c if p["kind"] == "unconfirmed-PDU"]
        if infos is not None:
            n_truth_pdus = _count_info_pdus(infos)
            if n_truth_pdus != len(wire_inf):
                problems.append(f"{cid}: {len(wire_inf)} InformationReports on the wire, truth has {n_truth_pdus}")
            t_rpt = Counter(i.get("rpt_id") for i in infos if i.get("kind") == "report")
            w_rpt = Counter(p.get("first_vstring") for p in wire_inf if p.get("list_name") == "RPT")
            if t_rpt != w_rpt:
                problems.append(f"{cid}: reports per RptID truth={dict(t_rpt)} wire={dict(w_rpt)}")
            t_ct = sum(1 for i in infos if i.get("kind") == "command-termination")
            w_ct = sum(1 for p in wire_inf if any(x.endswith("$Oper") for x in p.get("items", [])))
            if t_ct != w_ct:
                problems.append(f"{cid}: CommandTerminations truth={t_ct} wire={w_ct}")

        # 5. connection end
        end = conn.get("end")
        fins_c = [t for t in d["tcp"] if t["src"] == cport and t["fin"]]
        fins_s = [t for t in d["tcp"] if t["src"] == port and t["dst"] == cport and t["fin"]]
        rst_c = [t for t in d["tcp"] if t["src"] == cport and t["rst"]]
        acse_c = [a for a in d["acse"] if a["src"] == cport]
        if end == "conclude":
            if not any(p["kind"] == "conclude-RequestPDU" for p in c2s):
                problems.append(f"{cid}: conclude-RequestPDU missing")
            if not any(p["kind"] == "conclude-ResponsePDU" for p in s2c):
                problems.append(f"{cid}: conclude-ResponsePDU missing")
            if not any(a["kind"] == "rlrq" for a in acse_c):
                problems.append(f"{cid}: ACSE release request missing after conclude")
        elif end == "abort":
            if not any(a["kind"] == "abrt" for a in acse_c):
                problems.append(f"{cid}: ACSE abort from client missing")
            if rst_c:
                problems.append(f"{cid}: unexpected RST")
        elif end == "fin":
            if not fins_c:
                problems.append(f"{cid}: no FIN from client")
            elif fins_s and fins_s[0]["frame"] < fins_c[0]["frame"]:
                problems.append(f"{cid}: server closed first")
            if rst_c or acse_c and any(a["kind"] in ("abrt", "rlrq") for a in acse_c):
                problems.append(f"{cid}: 'fin' connection also shows RST/abort/release")
            if any(p["kind"].startswith("conclude") for p in c2s):
                problems.append(f"{cid}: 'fin' connection shows conclude")
        elif end == "rst":
            if not rst_c:
                problems.append(f"{cid}: no RST from client")
            if fins_c:
                problems.append(f"{cid}: 'rst' connection shows FIN from client")
            if any(p["kind"].startswith("conclude") for p in c2s) or any(a["kind"] == "abrt" for a in acse_c):
                problems.append(f"{cid}: 'rst' connection shows conclude/abort")

    # reports: client == server == wire
    rep = truth.get("reports")
    if rep:
        wire = Counter(p.get("first_vstring") for p in d["mms"]
                       if p["kind"] == "unconfirmed-PDU" and p.get("list_name") == "RPT")
        for rcb, r in rep["rcbs"].items():
            if r["client_received"] != r["server_created_while_enabled"]:
                problems.append(f"{rcb}: client received {r['client_received']} reports, "
                                f"server created {r['server_created_while_enabled']} while enabled")
            if wire.get(r["rpt_id"], 0) != r["client_received"]:
                problems.append(f"{rcb}: wire has {wire.get(r['rpt_id'], 0)} reports, "
                                f"client received {r['client_received']}")
            if r["client_received"] < 2:
                problems.append(f"{rcb}: suspiciously few reports ({r['client_received']})")

    files = truth.get("files", {})
    for f in files.get("served", []):
        if f["sha256"] != f["client_sha256"] or f["size"] != f["client_bytes"]:
            problems.append(f"file {f['file']}: download differs from server copy")
    for f in files.get("obtained", []):
        if not f.get("server_has") or f["server_has"]["sha256"] != f["source_sha256"]:
            problems.append(f"obtainFile {f['destination']}: server copy missing or different")

    g = truth.get("goose")
    if g:
        st = [x["stNum"] for x in d["goose"]]
        want = [m["stNum"] for m in g["messages"]]
        if st != want:
            problems.append(f"GOOSE stNum sequence wire={st} truth={want}")
    return problems


def _count_info_pdus(infos):
    """InformationReports in the truth -> PDUs on the wire.

    The client library calls the handler once per variable of a listOfVariable
    report; libiec61850 servers send one variable per report (CommandTermination,
    LastApplError) and one 'RPT' list per IEC 61850 report, so it is 1:1."""
    return len(infos)


def summary(pcap: str, truth: dict, decoded: dict | None = None) -> dict:
    d = decoded or decode(pcap, truth["server"]["port"])
    kinds = Counter(p["kind"] for p in d["mms"])
    services = Counter(SERVICE_NAME.get(p.get("service"), p.get("service"))
                       for p in d["mms"] if p["kind"] == "confirmed-RequestPDU")
    return {"mms_pdus": dict(kinds), "requests_by_service": dict(services),
            "acse": dict(Counter(a["kind"] for a in d["acse"])), "goose": len(d["goose"]),
            "frames": max([t["frame"] for t in d["tcp"]] + [g["frame"] for g in d["goose"]] + [0])}


def main(argv=None):
    argv = argv if argv is not None else sys.argv[1:]
    pcap = argv[0]
    tpath = argv[1] if len(argv) > 1 else pcap.rsplit(".", 1)[0] + ".truth.json"
    truth = json.load(open(tpath))
    d = decode(pcap, truth["server"]["port"])
    probs = check(pcap, truth, d)
    print(json.dumps({"problems": probs, "summary": summary(pcap, truth, d)}, indent=1))
    return 1 if probs else 0


if __name__ == "__main__":
    sys.exit(main())
