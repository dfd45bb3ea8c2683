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
                         "without_handshake": int((~assoc["handshake"]).sum()) if len(assoc) else 0}
    stats = cap.latency_stats("service")
    mix = []
    for r in stats.itertuples():
        n_req = int((tx["service"] == r.service).sum())
        mix.append({"service": r.service, "requests": n_req, "failed": int(r.errors), "p50_ms": r.p50_ms,
                    "p90_ms": r.p90_ms, "max_ms": r.max_ms, "unanswered": int(r.unanswered)})
    mix.sort(key=lambda m: -m["requests"])
    f["services"] = mix
    f["transactions"] = {k: int(v) for k, v in tx["status"].value_counts().items()} if len(tx) else {}
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
                       "anomalies": [a for a in sus["anomalies"].tolist() if a][:TOP] if len(sus) else []}
    fnd = cap.findings()
    f["findings"] = {k: int(v) for k, v in fnd["severity"].value_counts().items()} if len(fnd) else {}
    f["finding_codes"] = {k: int(v) for k, v in fnd["code"].value_counts().head(TOP).items()} if len(fnd) else {}
    from ..analysis.security import summary_facts
    f["security"] = summary_facts(cap, TOP)
    f["problems"] = problems(f)
    return f


def problems(f) -> list[str]:
    """The "what is wrong" lines, most serious first."""
    out = []
    a = f["associations"]
    if a["password_in_clear"]:
        out.append(f"{a['password_in_clear']} association(s) sent an ACSE password in clear text")
    t = f["transactions"]
    failed = sum(v for k, v in t.items() if k != "ok")
    if failed:
        out.append(f"{failed} request(s) not ok: " + ", ".join(f"{v} {k}" for k, v in t.items() if k != "ok"))
    for k in ("abort", "rst"):
        if a["ends"].get(k):
            out.append(f"{a['ends'][k]} association(s) ended by {k}")
    for r in f["reports"]:
        bad = [f"{r[k]} {k.replace('_', ' ')}" for k in ("seq_gaps", "seq_duplicates", "seq_restarts", "buf_ovfl",
                                                          "incomplete", "malformed") if r[k]]
        if bad:
            out.append(f"reports {r['rpt_id']} (stream {r['stream']}): " + ", ".join(bad))
    for kind in ("goose", "sv"):
        if f.get(kind, {}).get("suspicious"):
            out.append(f"{f[kind]['suspicious']} suspicious {kind.upper()} stream(s)")
    if f["findings"].get("error"):
        out.append(f"{f['findings']['error']} malformed unit(s) (see `pdus --findings`)")
    if f["request_missing"]:
        out.append(f"{f['request_missing']} response(s) without their request in the capture")
    return out


def render(f, out) -> None:
    w = out.write
    w(f"{f['capture']}  ({f['format']}, {f['frames']} frames, {f['duration_s']:.3f} s)\n")
    w(f"  {_utc(f['start'])}  ->  {_utc(f['end'])}\n\n")
    w("Traffic      " + ", ".join(f"{t['protocol']} {t['frames']} frames/{t['byte_share'] * 100:.1f}% bytes"
                                   for t in f["traffic"]) + "\n")
    a = f["associations"]
    ends = ", ".join(f"{v} {k}" for k, v in a["ends"].items()) or "-"
    w(f"Associations {a['count']} ({ends}); {a['clients']} client host(s), {a['servers']} server(s)")
    w(f"; {a['without_handshake']} started before the capture\n" if a["without_handshake"] else "\n")
    w(f"MMS          {f['mms_pdus']} PDUs; transactions: "
      + (", ".join(f"{v} {k}" for k, v in f["transactions"].items()) or "none") + "\n")
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
    if f["findings"]:
        w("\nFindings     " + ", ".join(f"{v} {k}" for k, v in f["findings"].items()) + "  ("
          + ", ".join(f"{k} {v}" for k, v in list(f["finding_codes"].items())[:4]) + ")\n")
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
