"""``mmsanalyze summary``: one screen on what is in a capture and what is wrong with it."""

from __future__ import annotations

import sys
import time

from ..cli import dumps
from ._common import load

HELP = "one screen: traffic, associations, service mix, slowest services, errors, report health, GOOSE/SV"

#: Lines per section before "... N more".
TOP = 8


def register(p) -> None:
    p.add_argument("--format", "-T", dest="format", choices=("text", "json"), default="text",
                   help="text (default) or json (the same facts as one object)")


def _utc(t):
    if t is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1e6):06d} UTC"


def _ms(v):
    return "-" if v is None or v != v else f"{v:.2f}"


def facts(cap) -> dict:
    """Everything the summary shows, as plain data."""
    tx = cap.transactions()
    assoc = cap.associations()
    errs = cap.errors()
    traffic = cap.traffic()
    f = {"capture": cap.name, "format": cap.format, "frames": cap.frames, "start": cap.first_time,
         "end": cap.last_time, "duration_s": cap.duration, "mms_pdus": len(cap.records)}
    f["traffic"] = [{"protocol": r.protocol, "frames": int(r.frames), "bytes": int(r.bytes),
                     "byte_share": float(r.byte_share)} for r in traffic.itertuples()]
    f["associations"] = {"count": len(assoc),
                         "ends": {k: int(v) for k, v in assoc["end"].value_counts().items()},
                         "clients": int(assoc["client"].str.rsplit(":", n=1).str[0].nunique()) if len(assoc) else 0,
                         "servers": int(assoc["server"].nunique()) if len(assoc) else 0,
                         "password_in_clear": int(assoc["password_in_clear"].sum()) if len(assoc) else 0,
                         "without_handshake": int((~assoc["handshake"]).sum()) if len(assoc) else 0,
                         "refused": [{"stream": int(r.stream), "client": r.client, "server": r.server,
                                      "by": r.end_by, "reason": r.end_reason}
                                     for r in assoc[assoc["end"] == "refused"].head(TOP).itertuples()]
                         if len(assoc) else []}
    stats = cap.latency_stats("service")
    mix = []
    for r in stats.itertuples():
        n_req = int((tx["service"] == r.service).sum())
        mix.append({"service": r.service, "requests": n_req, "failed": int(r.errors), "p50_ms": r.p50_ms,
                    "p90_ms": r.p90_ms, "max_ms": r.max_ms, "unanswered": int(r.unanswered)})
    mix.sort(key=lambda m: -m["requests"])
    f["services"] = mix
    f["transactions"] = {k: int(v) for k, v in _statuses(tx).value_counts().items()} if len(tx) else {}
    f["request_missing"] = int(tx["request_missing"].sum()) if len(tx) else 0
    slow = cap.slowest(5)
    f["slowest"] = [{"frame": int(r.request_frame), "service": r.service, "object": r.object,
                     "server": r.server, "latency_ms": float(r.latency_ms)} for r in slow.itertuples()]
    groups = []
    if len(errs):
        g = errs.assign(code=errs["error_code"].fillna(""), cls=errs["error_class"].fillna(""),
                        srv=errs["server"].fillna("")).groupby(["kind", "cls", "code", "srv"], sort=False).size()
        for (kind, cls, code, srv), n in sorted(g.items(), key=lambda kv: -kv[1]):
            groups.append({"kind": kind, "class": cls or None, "code": code or None, "server": srv or None,
                           "count": int(n)})
    f["errors"] = groups
    cad = cap.report_cadence()
    f["reports"] = [{"rpt_id": r.rpt_id, "stream": int(r.stream), "reports": int(r.reports),
                     "integrity_period_ms": None if r.integrity_period_ms != r.integrity_period_ms else r.integrity_period_ms,
                     "seq_gaps": int(r.seq_gaps), "seq_lost": int(r.seq_lost), "seq_duplicates": int(r.seq_duplicates),
                     "seq_restarts": int(r.seq_restarts), "buf_ovfl": int(r.buf_ovfl),
                     "incomplete": int(r.incomplete), "malformed": int(r.malformed)} for r in cad.itertuples()]
    files = cap.files()
    f["files"] = {"transfers": len(files), "complete": int(files["complete"].sum()) if len(files) else 0,
                  "bytes": int(files["bytes"].sum()) if len(files) else 0}
    for kind in ("goose", "sv"):
        try:
            st = cap.goose_streams() if kind == "goose" else cap.sv_streams()
        except RuntimeError:
            continue
        if len(st):
            sus = st[st["suspicious"].astype(bool)] if "suspicious" in st else st.iloc[0:0]
            f[kind] = {"streams": len(st), "suspicious": len(sus),
                       "anomalies": [a for a in sus["anomalies"].tolist() if a][:TOP] if len(sus) else [],
                       "suspicious_streams": [_publisher(kind, r) for r in sus.head(TOP).itertuples()],
                       "simulation": _simulated(kind, st)}
    from ..analysis.modes import summary_facts
    ts = summary_facts(cap)
    if ts is not None:
        f["test_and_simulation"] = ts
    fnd = cap.findings()
    f["findings"] = {k: int(v) for k, v in fnd["severity"].value_counts().items()} if len(fnd) else {}
    f["finding_codes"] = {k: int(v) for k, v in fnd["code"].value_counts().head(TOP).items()} if len(fnd) else {}
    f["truncated"] = bool(len(fnd)) and bool((fnd["code"] == "capture.truncated_record").any())
    f["findings_hint"] = _findings_hint(fnd)
    f["hints"] = sorted(set(fnd[fnd["code"] == "tpkt.other_port"]["message"])) if len(fnd) else []
    idt = cap.identify()
    f["assets"] = [{"server": r.server, "vendor": r.vendor, "model": r.model, "revision": r.revision}
                   for r in idt.drop_duplicates(["server", "vendor", "model", "revision"]).itertuples()]
    per_capture = getattr(cap, "other_information_reports", None)   # a store counts per capture
    f["other_information_reports"] = per_capture(TOP) if callable(per_capture) else _other_information_reports(cap)
    if getattr(cap, "scl", None) is not None:
        f["scl"] = scl_facts(cap)
    from ..analysis.security import summary_facts
    f["security"] = summary_facts(cap, TOP)
    f["problems"] = problems(f)
    return f


#: Status of a request still unanswered when the capture ended (not a failure).
CAPTURE_ENDED = "unanswered (capture ended)"


def _statuses(tx):
    """Transaction statuses, with an unanswered request that nothing answered after it on
    its stream (the capture stopped first) as :data:`CAPTURE_ENDED`."""
    st = tx["status"].astype(object).copy()
    if not len(tx):
        return st
    answered = tx[tx["response_frame"].notna() & tx["request_frame"].notna()]
    last = answered.groupby("stream")["request_frame"].max().to_dict()
    for i, r in enumerate(tx.itertuples()):
        if r.status == "unanswered" and not r.request_missing and r.request_frame is not None \
                and r.request_frame == r.request_frame and r.request_frame > last.get(r.stream, -1):
            st.iloc[i] = CAPTURE_ENDED
    return st


def _publisher(kind, r) -> dict:
    name = r.gocb_ref if kind == "goose" else r.sv_id
    appid = None if r.appid is None or r.appid != r.appid else int(r.appid)
    return {"name": name, "appid": appid, "src_mac": r.src_mac, "anomalies": r.anomalies}


def _simulated(kind, st) -> list:
    col = "simulation_messages" if kind == "goose" else "sim_frames"
    if col not in st:
        return []
    out = []
    for r in st.itertuples():
        n = int(getattr(r, col) or 0) + int(getattr(r, "sim_bit_messages", 0) or 0)
        if n:
            out.append({"name": r.gocb_ref if kind == "goose" else r.sv_id, "messages": n})
    return out[:TOP]


def _findings_hint(fnd) -> list:
    """The commands that list the error findings (decoder findings: pdus --findings;
    malformed GOOSE / SV frames: their --list with -Y malformed)."""
    if not len(fnd):
        return []
    layers = set(fnd[fnd["severity"] == "error"]["layer"])
    out = []
    if layers - {"goose", "sv"}:
        out.append("mmsanalyze pdus --findings")
    if "goose" in layers:
        out.append("mmsanalyze goose --list -Y malformed")
    if "sv" in layers:
        out.append("mmsanalyze sv --list -Y malformed")
    return out


def _other_information_reports(cap) -> dict:
    """informationReports that are not IEC 61850 reports (no RPT: ICCP/TASE.2 transfer
    sets, plain MMS variable reports), counted per variable list / first variable."""
    rpt = set(cap.reports()["frame"].tolist())
    names: dict = {}
    n = 0
    for r in cap.records:
        if r.service != "informationReport" or r.frame in rpt:
            continue
        m = r.decoded()
        if m is None:
            continue
        n += 1
        key = m.variables[0] if m.variables else "?"
        names[key] = names.get(key, 0) + 1
    return {"count": n, "by_name": dict(sorted(names.items(), key=lambda kv: -kv[1])[:TOP])}
def scl_facts(cap) -> dict:
    """The ``--scl`` section: configured versus observed in a few numbers."""
    from ..scl.compare import verdict
    rows = cap.scl_check().to_dict("records")
    sev = {}
    for r in rows:
        sev[r["severity"]] = sev.get(r["severity"], 0) + 1
    warn = [f"{r['object']} {r['check']}: configured {r['configured']}, observed {r['observed']}"
            if r["result"] == "mismatch" else f"{r['object']}: {r['message']}"
            for r in rows if r["severity"] == "warning"]
    return {"file": cap.scl.path, "edition": cap.scl.edition, "verdict": verdict(rows), "severity": sev,
            "seen": sum(1 for r in rows if r["result"] == "seen" and r["check"] == "seen"),
            "not_seen": sum(1 for r in rows if r["result"] == "not-seen"),
            "not_in_scl": sum(1 for r in rows if r["result"] == "not-in-scl"),
            "warnings": warn}


def problems(f) -> list[str]:
    """The "what is wrong" lines, most serious first."""
    out = []
    a = f["associations"]
    if a["password_in_clear"]:
        out.append(f"{a['password_in_clear']} association(s) sent an ACSE password in clear text")
    for r in a.get("refused", ()):
        out.append(f"association stream {r['stream']} ({r['client']} -> {r['server']}) refused"
                   + (f" by the {r['by']}" if r["by"] else "") + (f": {r['reason']}" if r["reason"] else ""))
    t = f["transactions"]
    out.extend(f.get("hints", []))
    if f.get("truncated"):
        out.append("the capture file is truncated (its last record is cut off)")
    bad = {k: v for k, v in t.items() if k not in ("ok", CAPTURE_ENDED)}
    if bad:
        out.append(f"{sum(bad.values())} request(s) not ok: " + ", ".join(f"{v} {k}" for k, v in bad.items()))
    for k in ("abort", "rst"):
        if a["ends"].get(k):
            out.append(f"{a['ends'][k]} association(s) ended by {k}")
    for r in f["reports"]:
        bad = [f"{r[k]} {k.replace('_', ' ')}" for k in ("seq_gaps", "seq_duplicates", "seq_restarts", "buf_ovfl",
                                                          "incomplete", "malformed") if r[k]]
        if bad:
            out.append(f"reports {r['rpt_id']} (stream {r['stream']}): " + ", ".join(bad))
    for kind in ("goose", "sv"):
        label = "GOOSE" if kind == "goose" else "SV"
        for p in f.get(kind, {}).get("suspicious_streams", []):
            appid = f"APPID 0x{p['appid']:04X}, " if p["appid"] is not None else ""
            out.append(f"suspicious {label} publisher {p['name']} ({appid}{p['src_mac']}): {p['anomalies']}")
        for p in f.get(kind, {}).get("simulation", []):
            out.append(f"{p['messages']} {label} message(s) of {p['name']} carry the simulation flag (test traffic)")
    ts = f.get("test_and_simulation") or {}
    warn = [x for x in ts.get("findings", ()) if x["severity"] == "warning"]
    for x in warn[:TOP]:
        out.append(f"{x['message']} ({x['code']})")
    if len(warn) > TOP:
        out.append(f"... {len(warn) - TOP} more IED mode / test / simulation warnings (mmsanalyze modes --findings)")
    if f["findings"].get("error"):
        hint = " or ".join(f"`{h}`" for h in f.get("findings_hint") or ["mmsanalyze pdus --findings"])
        out.append(f"{f['findings']['error']} malformed unit(s) (see {hint})")
    if f["request_missing"]:
        out.append(f"{f['request_missing']} response(s) without their request in the capture")
    if f.get("scl", {}).get("warnings"):
        out.append(f"{len(f['scl']['warnings'])} difference(s) from the SCL file (mmsanalyze scl-check)")
    return out


def render(f, out) -> None:
    w = out.write
    w(f"{f['capture']}  ({f['format']}, {f['frames']} frames, {f['duration_s']:.3f} s)\n")
    w(f"  {_utc(f['start'])}  ->  {_utc(f['end'])}\n\n")
    w("Traffic      " + ", ".join(f"{t['protocol']} {t['frames']} frames/{t['byte_share'] * 100:.1f}% bytes"
                                   for t in f["traffic"]) + "\n")
    a = f["associations"]
    if a["count"] or f["mms_pdus"]:         # a GOOSE/SV-only capture has no MMS sections
        ends = ", ".join(f"{v} {k}" for k, v in a["ends"].items()) or "-"
        w(f"Associations {a['count']} ({ends}); {a['clients']} client host(s), {a['servers']} server(s)")
        w(f"; {a['without_handshake']} started before the capture\n" if a["without_handshake"] else "\n")
        w(f"MMS          {f['mms_pdus']} PDUs; transactions: "
          + (", ".join(f"{v} {k}" for k, v in f["transactions"].items()) or "none") + "\n")
    for asset in f.get("assets", [])[:TOP]:
        w(f"Asset        {asset['server']}: " + " ".join(str(asset[k]) for k in ("vendor", "model", "revision")
                                                      if asset[k]) + "\n")
    other = f.get("other_information_reports") or {}
    if other.get("count"):
        w(f"InfoReports  {other['count']} informationReport(s) that are not IEC 61850 reports (ICCP/TASE.2 "
          "transfer sets, plain variables): " + ", ".join(f"{k} {v}" for k, v in other["by_name"].items()) + "\n")
    if f["services"]:
        w("\nService mix  (requests, failed, p50 / p90 / max ms)\n")
        for s in f["services"][:TOP]:
            w(f"  {s['service']:<32} {s['requests']:>7} {s['failed']:>6}   "
              f"{_ms(s['p50_ms'])} / {_ms(s['p90_ms'])} / {_ms(s['max_ms'])}\n")
        if len(f["services"]) > TOP:
            w(f"  ... {len(f['services']) - TOP} more services (mmsanalyze latency)\n")
    if f["slowest"]:
        w("\nSlowest      " + "; ".join(f"{s['service']} {s['latency_ms']:.2f} ms (frame {s['frame']})"
                                      for s in f["slowest"][:3]) + "\n")
    if f["errors"]:
        w(f"\nErrors       {sum(e['count'] for e in f['errors'])}\n")
        for e in f["errors"][:TOP]:
            code = "/".join(x for x in (e["class"], e["code"]) if x)
            w(f"  {e['count']:>6}  {e['kind']:<18} {code:<44} {e['server'] or ''}\n")
        if len(f["errors"]) > TOP:
            w(f"  ... {len(f['errors']) - TOP} more groups (mmsanalyze errors)\n")
    if f["reports"]:
        w("\nReports      (reports, integrity period, SeqNum gaps/dups/restarts, BufOvfl)\n")
        for r in f["reports"][:TOP]:
            ip = f"{r['integrity_period_ms']:.0f} ms" if r["integrity_period_ms"] else "-"
            w(f"  {str(r['rpt_id'])[:40]:<40} {r['reports']:>6}  {ip:>9}  "
              f"{r['seq_gaps']}/{r['seq_duplicates']}/{r['seq_restarts']}  {r['buf_ovfl']}\n")
        if len(f["reports"]) > TOP:
            w(f"  ... {len(f['reports']) - TOP} more (mmsanalyze reports)\n")
    if f["files"]["transfers"]:
        fl = f["files"]
        w(f"\nFiles        {fl['transfers']} transfer(s), {fl['complete']} complete, {fl['bytes']} bytes\n")
    for kind in ("goose", "sv"):
        if kind in f:
            w(f"{kind.upper():<13}{f[kind]['streams']} stream(s), {f[kind]['suspicious']} suspicious\n")
    ts = f.get("test_and_simulation")
    if ts:
        w("\nTest and simulation\n")
        w(f"  Mod/Sim requests {ts['mod_requests']} ({ts['mod_requests_ok']} ok); Mod/Beh seen for "
          f"{ts['lns_observed']} LD/LN(s); controls with Test=true {ts['controls_with_test']}\n")
        w(f"  simulated GOOSE/SV {ts['simulated_messages']} message(s) from {ts['simulated_publishers']} "
          f"publisher(s); quality test bit in {ts['test_flagged_messages']} message(s)"
          + (f"; LPHD.Sim true: {', '.join(ts['sim_true'])}" if ts["sim_true"] else "") + "\n")
        if ts["abnormal_at_end"]:
            w("  at the end: " + ", ".join(ts["abnormal_at_end"][:TOP])
              + (f" ... {len(ts['abnormal_at_end']) - TOP} more" if len(ts["abnormal_at_end"]) > TOP else "") + "\n")
    if f["findings"]:
        w("\nFindings     " + ", ".join(f"{v} {k}" for k, v in f["findings"].items()) + "  ("
          + ", ".join(f"{k} {v}" for k, v in list(f["finding_codes"].items())[:4]) + ")\n")
    if "scl" in f:
        sc = f["scl"]
        w(f"\nSCL          {sc['file']} ({sc['edition']}): {sc['verdict']}; {sc['seen']} configured block(s) "
          f"seen, {sc['not_seen']} not seen, {sc['not_in_scl']} observed item(s) not in the SCL\n")
        for line in sc["warnings"][:TOP]:
            w(f"  {line}\n")
        if len(sc["warnings"]) > TOP:
            w(f"  ... {len(sc['warnings']) - TOP} more (mmsanalyze scl-check)\n")
    sec = f.get("security")
    if sec and sec["top"]:
        w("\nSecurity     " + ", ".join(f"{v} {k}" for k, v in sec["counts"].items()) + "  (mmsanalyze security)\n")
        for x in sec["top"]:
            w(f"  [{x['severity']}] {x['code']}  {x['subject']}: {x['message'][:100]} (frame {x['first_frame']})\n")
    w("\nWhat is wrong\n")
    for p in f["problems"] or ["nothing stands out"]:
        w(f"  - {p}\n")


def run(args) -> int:
    cap = load(args)
    f = facts(cap)
    if args.format == "json":
        sys.stdout.write(dumps(f) + "\n")
    else:
        render(f, sys.stdout)
    return 0
