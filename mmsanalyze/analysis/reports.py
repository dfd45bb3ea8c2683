"""IEC 61850 reports: InformationReport ``RPT`` decoded per IEC 61850-8-1, and their cadence.

IEC 61850-8-1 (17.2.3.2 / Table 68 in Ed.2) maps a report onto an MMS
InformationReport whose variableListName is the VMD-specific name ``RPT`` and whose
listOfAccessResult holds, in this order::

    RptID, OptFlds, [SeqNum], [TimeOfEntry], [DatSet], [BufOvfl], [EntryID], [ConfRev],
    [SubSeqNum, MoreSegmentsFollow], Inclusion, [data-reference x n], value x n,
    [ReasonCode x n]

the bracketed items being present when their OptFlds bit is set (sequence-number,
report-time-stamp, data-set-name, buffer-overflow, entryID, conf-revision,
segmentation, data-reference, reason-for-inclusion), ``n`` the number of bits set in
Inclusion.  InformationReports of ``LastApplError`` and CommandTermination (a control
object's ``$Oper`` as the variable) are not reports: see :mod:`.controls` and
:mod:`.errors`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._mms import service_body
from ._table import build, columns_doc, endpoint

__all__ = ["OPT_FLDS", "REASONS", "COLUMNS", "REASSEMBLED_COLUMNS", "CADENCE_COLUMNS", "decode_report",
           "report_kind", "reports_table", "reassemble", "report_cadence", "seq_health"]

#: OptFlds bit names, bit 0 first (IEC 61850-8-1 Table 67 / 7-2 ReportControl OptFlds).
OPT_FLDS = ("reserved", "sequence-number", "report-time-stamp", "reason-for-inclusion",
            "data-set-name", "data-reference", "buffer-overflow", "entryID", "conf-revision",
            "segmentation")
#: ReasonCode bit names, bit 0 first (IEC 61850-8-1; 7-2 TrgOps plus GI / application trigger).
REASONS = ("reserved", "data-change", "quality-change", "data-update", "integrity",
           "general-interrogation", "application-trigger")
#: Largest backwards step of SeqNum still read as a wrap (with lost reports) and not a restart.
WRAP_WINDOW = 16

COLUMNS = {
    "stream": ("Int64", "TCP stream of the association"),
    "client": ("string", "client 'addr:port' (the report's receiver)"),
    "server": ("string", "server 'addr:port' (the report's sender)"),
    "time": ("float64", "capture time, epoch seconds"),
    "frame": ("Int64", "frame number"),
    "rpt_id": ("string", "RptID"),
    "opt_flds": ("object", "list of the OptFlds bit names set (sequence-number, report-time-stamp, reason-for-inclusion, data-set-name, data-reference, buffer-overflow, entryID, conf-revision, segmentation)"),
    "seq_num": ("Int64", "SeqNum (SqNum)"),
    "time_of_entry": ("float64", "TimeOfEntry, epoch seconds"),
    "dataset": ("string", "DatSet ('LD/LLN0$DataSet')"),
    "buf_ovfl": ("boolean", "BufOvfl"),
    "entry_id": ("string", "EntryID, hex"),
    "conf_rev": ("Int64", "ConfRev"),
    "sub_seq_num": ("Int64", "SubSeqNum (segmented reports)"),
    "more_segments_follow": ("boolean", "MoreSegmentsFollow"),
    "inclusion": ("string", "Inclusion bit-string, '0'/'1' per data set member"),
    "members": ("Int64", "number of data set members included"),
    "member_index": ("object", "list: 0-based data set position of each included member"),
    "data_refs": ("object", "list: data reference of each member (when OptFlds data-reference), else empty"),
    "values": ("object", "list: value of each member (Python form of mmsanalyze.mms.data)"),
    "reason_codes": ("object", "list: per member the list of reason names (when OptFlds reason-for-inclusion)"),
    "reasons": ("object", "sorted union of the members' reasons: data-change, quality-change, data-update, integrity, general-interrogation, application-trigger"),
    "malformed": ("string", "why the access results do not fit the OptFlds/Inclusion layout, else null"),
}
REASSEMBLED_COLUMNS = dict(COLUMNS, **{
    "segments": ("Int64", "number of report PDUs merged (1 when not segmented)"),
    "complete": ("bool", "all segments 0..k seen and the last says MoreSegmentsFollow false"),
    "frames": ("object", "list of the frames of the segments"),
})
CADENCE_COLUMNS = {
    "stream": ("Int64", "TCP stream"),
    "client": ("string", "client 'addr:port'"),
    "server": ("string", "server 'addr:port'"),
    "rpt_id": ("string", "RptID"),
    "dataset": ("string", "DatSet (first seen)"),
    "buffered": ("boolean", "buffered RCB (EntryID / BufOvfl present); null when unknown"),
    "reports": ("Int64", "reports (segmented reports counted once)"),
    "pdus": ("Int64", "InformationReport PDUs"),
    "first_time": ("float64", "first report, epoch seconds"),
    "last_time": ("float64", "last report, epoch seconds"),
    "interval_min_ms": ("float64", "smallest interval between consecutive reports (ms)"),
    "interval_p50_ms": ("float64", "median interval (ms)"),
    "interval_mean_ms": ("float64", "mean interval (ms)"),
    "interval_max_ms": ("float64", "largest interval (ms)"),
    "integrity_period_ms": ("float64", "median interval between consecutive integrity reports (ms): the IntgPd the server applies"),
    "seq_gaps": ("Int64", "SeqNum jumps forward by more than 1"),
    "seq_lost": ("Int64", "SeqNum values skipped by those jumps (reports lost or not captured)"),
    "seq_duplicates": ("Int64", "SeqNum repeated by the next report"),
    "seq_restarts": ("Int64", "SeqNum went backwards (not a wrap): RCB re-enabled or server restart"),
    "buf_ovfl": ("Int64", "reports with BufOvfl true"),
    "segmented": ("Int64", "reports sent in more than one segment"),
    "incomplete": ("Int64", "segmented reports with missing segments"),
    "conf_rev_changes": ("Int64", "ConfRev changes between consecutive reports"),
    "data_change": ("Int64", "reports with a member included for data-change"),
    "quality_change": ("Int64", "... for quality-change"),
    "data_update": ("Int64", "... for data-update"),
    "integrity": ("Int64", "... for integrity"),
    "general_interrogation": ("Int64", "... for general-interrogation"),
    "application_trigger": ("Int64", "... for application-trigger"),
    "malformed": ("Int64", "report PDUs that did not fit their OptFlds/Inclusion layout"),
}


def report_kind(m) -> str | None:
    """'report' (RPT), 'last-appl-error', 'command-termination', 'other' or None (not an InformationReport)."""
    if m is None or m.service != "informationReport":
        return None
    v = m.variables
    if v == ("RPT",):
        return "report"
    if "LastApplError" in v:
        return "last-appl-error"
    if any(x.endswith("$Oper") for x in v):
        return "command-termination"
    return "other"


def _names(bits: str, names) -> list:
    return [names[i] if i < len(names) else f"bit{i}" for i, c in enumerate(bits) if c == "1"]


def _typed(m):
    body = service_body(m)
    res = body.get("listOfAccessResult") if isinstance(body, dict) else None
    return res if isinstance(res, list) else []


def decode_report(m) -> dict:
    """Fields of one RPT InformationReport (keys as :data:`COLUMNS`, minus stream/time/frame)."""
    typed = _typed(m)
    plain = list(m.access_results or ())
    r = {"rpt_id": None, "opt_flds": [], "seq_num": None, "time_of_entry": None, "dataset": None,
         "buf_ovfl": None, "entry_id": None, "conf_rev": None, "sub_seq_num": None,
         "more_segments_follow": None, "inclusion": None, "members": 0, "member_index": [],
         "data_refs": [], "values": [], "reason_codes": [], "reasons": [], "malformed": None}
    n = min(len(typed), len(plain))
    pos = 0

    def take(alt):
        nonlocal pos
        if pos >= n:
            raise _Bad(f"access results end at item {pos}, expected {alt}")
        t = typed[pos]
        k = next(iter(t)) if isinstance(t, dict) and len(t) == 1 else None
        if alt is not None and k not in alt:
            raise _Bad(f"item {pos} is {k}, expected {'/'.join(alt)}")
        v = plain[pos]
        pos += 1
        return v

    try:
        r["rpt_id"] = take(("visible-string", "mMSString"))
        bits = take(("bit-string",))["bits"]
        of = set(_names(bits, OPT_FLDS))
        r["opt_flds"] = [x for x in OPT_FLDS if x in of] + sorted(of - set(OPT_FLDS))
        if "sequence-number" in of:
            r["seq_num"] = take(("unsigned", "integer"))
        if "report-time-stamp" in of:
            t = take(("binary-time", "utc-time"))
            r["time_of_entry"] = t.get("epoch", t.get("utc")) if isinstance(t, dict) else None
        if "data-set-name" in of:
            r["dataset"] = take(("visible-string", "mMSString"))
        if "buffer-overflow" in of:
            r["buf_ovfl"] = take(("boolean",))
        if "entryID" in of:
            r["entry_id"] = take(("octet-string",))
        if "conf-revision" in of:
            r["conf_rev"] = take(("unsigned", "integer"))
        if "segmentation" in of:
            r["sub_seq_num"] = take(("unsigned", "integer"))
            r["more_segments_follow"] = take(("boolean",))
        inc = take(("bit-string",))["bits"]
        r["inclusion"] = inc
        idx = [i for i, c in enumerate(inc) if c == "1"]
        k = len(idx)
        r["members"] = k
        r["member_index"] = idx
        if "data-reference" in of:
            r["data_refs"] = [take(("visible-string", "mMSString")) for _ in range(k)]
        r["values"] = [take(None) for _ in range(k)]
        if "reason-for-inclusion" in of:
            codes = [take(("bit-string",))["bits"] for _ in range(k)]
            r["reason_codes"] = [_names(c, REASONS) for c in codes]
            r["reasons"] = [x for x in REASONS if any(x in c for c in r["reason_codes"])]
        if pos != n:
            raise _Bad(f"{n - pos} access results left over after the last member")
    except _Bad as e:
        r["malformed"] = str(e)
    except (KeyError, TypeError, AttributeError) as e:
        r["malformed"] = f"unexpected value shape at item {pos}: {e}"
    return r


class _Bad(Exception):
    pass


def _ends(rec, conns):
    c = conns.get(rec.stream)
    if c is not None:
        return endpoint(c.client), endpoint(c.server)
    a, b = endpoint((rec.src, rec.sport)), endpoint((rec.dst, rec.dport))
    return (a, b) if rec.direction == 0 else (b, a)


def reports_table(pdus, conns=None):
    """One row per RPT InformationReport PDU of ``pdus``, in capture order.

    Columns:
    """
    conns = conns or {}
    cols = {k: [] for k in COLUMNS}
    for rec in pdus:
        if rec.service != "informationReport":
            continue
        m = rec.decoded()
        if report_kind(m) != "report":
            continue
        r = decode_report(m)
        client, server = _ends(rec, conns)
        r.update(stream=rec.stream, client=client, server=server, time=rec.time, frame=rec.frame)
        for k in COLUMNS:
            cols[k].append(r[k])
    return build(COLUMNS, cols)


def reassemble(reports):
    """Merge segmented reports (same stream, RptID, SeqNum; SubSeqNum 0..k) into one row.

    Returns the reports table with ``segments``, ``complete`` and ``frames`` added;
    a report without segmentation is one row with ``segments`` 1.

    Columns:
    """
    out: list = []
    open_: dict = {}
    merged = ("member_index", "data_refs", "values", "reason_codes")
    for r in reports.to_dict("records"):
        r = {k: (None if _isna(v) else v) for k, v in r.items()}
        r.update(frames=[r["frame"]], segments=1, complete=True)
        if r["sub_seq_num"] is None or "segmentation" not in (r["opt_flds"] or ()):
            out.append(r)
            continue
        key = (r["stream"], r["rpt_id"], r["seq_num"])
        g = open_.get(key)
        if g is not None and r["sub_seq_num"] == g["sub_seq_num_last"] + 1:
            g["segments"] += 1
            g["frames"].append(r["frame"])
            for k in merged:
                g[k] = list(g[k]) + list(r[k])
            g["members"] += r["members"]
            g["reasons"] = [x for x in REASONS if x in set(g["reasons"]) | set(r["reasons"])]
            g["more_segments_follow"] = r["more_segments_follow"]
            g["malformed"] = g["malformed"] or r["malformed"]
            g["sub_seq_num_last"] = r["sub_seq_num"]
            if not r["more_segments_follow"]:
                out.append(open_.pop(key))
            continue
        if g is not None:                          # the sequence broke: a segment is missing
            g["complete"] = False
            out.append(open_.pop(key))
        r["complete"] = r["sub_seq_num"] == 0
        r["sub_seq_num_last"] = r["sub_seq_num"]
        if r["more_segments_follow"]:
            open_[key] = r
        else:
            out.append(r)
    for g in open_.values():                       # still waiting for segments at the end
        g["complete"] = False
        out.append(g)
    out.sort(key=lambda g: g["frames"][0])
    cols = {k: [g[k] for g in out] for k in REASSEMBLED_COLUMNS}
    return build(REASSEMBLED_COLUMNS, cols)


def _isna(v):
    if v is None or v is pd.NA:
        return True
    return isinstance(v, float) and v != v


def seq_health(seqs, mod: int) -> tuple[int, int, int, int]:
    """``(gaps, lost, duplicates, restarts)`` of a SeqNum sequence counting modulo ``mod``."""
    gaps = lost = dups = restarts = 0
    prev = None
    for s in seqs:
        if prev is not None:
            d = (s - prev) % mod
            if d == 0:
                dups += 1
            elif s < prev and d > WRAP_WINDOW:
                restarts += 1
            elif d > 1:
                if s > prev or d <= WRAP_WINDOW:
                    gaps += 1
                    lost += d - 1
        prev = s
    return gaps, lost, dups, restarts


def _pct(a, q):
    return float(np.percentile(a, q)) if len(a) else None


def report_cadence(reports):
    """Per (stream, RptID) cadence and health, from :func:`reassemble` output.

    Columns:
    """
    cols = {k: [] for k in CADENCE_COLUMNS}
    if len(reports) == 0:
        return build(CADENCE_COLUMNS, cols)
    for (stream, rpt_id), g in reports.groupby(["stream", "rpt_id"], sort=True, dropna=False):
        g = g.sort_values("frame", kind="stable")
        t = g["time"].to_numpy(dtype=float)
        iv = np.diff(t) * 1000.0
        reasons = g["reasons"].tolist()
        integ = t[[("integrity" in r) for r in reasons]]
        seq = [int(s) for s in g["seq_num"].dropna()]
        opt = g["opt_flds"].tolist()
        buffered = True if any(("entryID" in o or "buffer-overflow" in o) for o in opt) else None
        mod = 65536 if buffered or (seq and max(seq) > 255) else 256
        gaps, lost, dups, restarts = seq_health(seq, mod)
        conf = [int(c) for c in g["conf_rev"].dropna()]
        ds = g["dataset"].dropna()
        cols["stream"].append(stream)
        cols["client"].append(g["client"].iloc[0])
        cols["server"].append(g["server"].iloc[0])
        cols["rpt_id"].append(rpt_id)
        cols["dataset"].append(ds.iloc[0] if len(ds) else None)
        cols["buffered"].append(buffered)
        cols["reports"].append(len(g))
        cols["pdus"].append(int(g["segments"].sum()))
        cols["first_time"].append(float(t[0]))
        cols["last_time"].append(float(t[-1]))
        cols["interval_min_ms"].append(float(iv.min()) if len(iv) else None)
        cols["interval_p50_ms"].append(_pct(iv, 50))
        cols["interval_mean_ms"].append(float(iv.mean()) if len(iv) else None)
        cols["interval_max_ms"].append(float(iv.max()) if len(iv) else None)
        cols["integrity_period_ms"].append(_pct(np.diff(integ) * 1000.0, 50) if len(integ) > 1 else None)
        cols["seq_gaps"].append(gaps)
        cols["seq_lost"].append(lost)
        cols["seq_duplicates"].append(dups)
        cols["seq_restarts"].append(restarts)
        cols["buf_ovfl"].append(int(g["buf_ovfl"].fillna(False).astype(bool).sum()))
        cols["segmented"].append(int((g["segments"] > 1).sum()))
        cols["incomplete"].append(int((~g["complete"].astype(bool)).sum()))
        cols["conf_rev_changes"].append(sum(1 for a, b in zip(conf, conf[1:]) if a != b))
        for name in REASONS[1:]:
            cols[name.replace("-", "_")].append(sum(1 for r in reasons if name in r))
        cols["malformed"].append(int(g["malformed"].notna().sum()))
    return build(CADENCE_COLUMNS, cols)


reports_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
reassemble.__doc__ += "\n" + columns_doc({k: v for k, v in REASSEMBLED_COLUMNS.items() if k not in COLUMNS}, "    ") + "\n"
report_cadence.__doc__ += "\n" + columns_doc(CADENCE_COLUMNS, "    ") + "\n"
