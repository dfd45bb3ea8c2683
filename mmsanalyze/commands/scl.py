"""``mmsanalyze scl FILE``: an SCL file on its own -- inventory and checks."""

from __future__ import annotations

import sys

from ..cli import dumps
from ..errors import CaptureError

HELP = "check an SCL file (.scd .icd .cid .iid .ssd .sed): edition, IEDs, control blocks, dangling references"


def register(p) -> None:
    p.add_argument("--format", "-T", dest="format", choices=("text", "json"), default="text",
                   help="text (default) or json")
    p.add_argument("--min-severity", choices=("info", "warning", "error"), default="info",
                   help="only findings at least this severe (default: all)")


_RANK = {"info": 0, "warning": 1, "error": 2}


def run(args) -> int:
    from ..scl import load_scl
    from ..scl.check import check_scl, inventory
    from ._common import source_files
    if args.interface:
        raise CaptureError("scl reads an SCL file, not a live interface")
    files = source_files(args) + ([args.scl] if args.scl else [])
    if not files:
        raise CaptureError("no SCL file given (mmsanalyze scl FILE)")
    if len(files) > 1:
        raise CaptureError(f"scl checks one SCL file at a time ({len(files)} given: {', '.join(files)})")
    path = files[0]
    model = load_scl(path)
    inv = inventory(model)
    rows = [r for r in check_scl(model) if _RANK[r["severity"]] >= _RANK[args.min_severity]]
    if args.format == "json":
        sys.stdout.write(dumps({"inventory": inv, "findings": rows}) + "\n")
        return 0
    w = sys.stdout.write
    hdr = inv["header"]
    w(f"{inv['file']}\n  edition {inv['edition']}  (SCL version={inv['version'] or '-'} revision="
      f"{inv['revision'] or '-'} release={inv['release'] or '-'})")
    if hdr.get("toolID"):
        w(f"  toolID {hdr['toolID']}")
    w("\n")
    w(f"  {len(inv['ieds'])} IED(s), {sum(len(i['ldevices']) for i in inv['ieds'])} LDevice(s), "
      f"{len(inv['control_blocks'])} control block(s), {inv['connected_aps']} ConnectedAP(s), "
      f"{inv['ext_refs']} ExtRef(s)\n")
    for ied in inv["ieds"]:
        w(f"\nIED {ied['name']}  {ied['manufacturer']} {ied['type']}  {', '.join(ied['ips']) or 'no IP'}\n")
        for ld in ied["ldevices"]:
            cbs = [f"GoCB {g}" for g in ld["gocbs"]] + [f"SVCB {s}" for s in ld["svcbs"]] + \
                  [f"RCB {r}" for r in ld["rcbs"]]
            w(f"  LD {ld['domain']:<32} {ld['lns']:>3} LN  {ld['datasets']:>2} data set(s)  {', '.join(cbs)}\n")
    addr = [c for c in inv["control_blocks"] if c["kind"] != "RCB"]
    if addr:
        w("\nGOOSE / SV control blocks\n")
        for c in addr:
            where = ", ".join(x for x in (
                f"APPID {c['appid']}" if c["appid"] else None, f"MAC {c['mac']}" if c["mac"] else None,
                f"VLAN {c['vlan_id']}/{c['vlan_priority']}" if c["vlan_id"] is not None else None,
                f"IP {c['ip']}" if c["ip"] else None) if x) or "no address"
            w(f"  {c['kind']:<5} {c['ref']:<48} id={c['id']!s:<24} confRev={c['conf_rev']!s:<6} "
              f"{c['members']:>3} member(s)  {where}\n")
    w(f"\nFindings ({len(rows)})\n")
    for r in rows:
        line = f"line {r['line']}" if r["line"] else "-"
        w(f"  {r['severity']:<7} {r['code']:<30} {line:<11} {r['object']}: {r['message']}\n")
    if not rows:
        w("  none\n")
    return 0
