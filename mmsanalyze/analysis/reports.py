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

import functools

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


@functools.lru_cache(maxsize=4096)
def _bit_names(bits: str, names: tuple) -> tuple:
    return tuple(names[i] if i < len(names) else f"bit{i}" for i, c in enumerate(bits) if c == "1")


def _names(bits: str, names) -> list:
    return list(_bit_names(bits, names))


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
        bits = _bits(take(("bit-string",)), pos)
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
        inc = _bits(take(("bit-string",)), pos)
        r["inclusion"] = inc
        idx = [i for i, c in enumerate(inc) if c == "1"]
        k = len(idx)
        r["members"] = k
        r["member_index"] = idx
        if "data-reference" in of:
            r["data_refs"] = [take(("visible-string", "mMSString")) for _ in range(k)]
        r["values"] = [take(None) for _ in range(k)]
        if "reason-for-inclusion" in of:
            codes = [_bits(take(("bit-string",)), pos) for _ in range(k)]
            r["reason_codes"] = [_names(c, REASONS) for c in codes]
            r["reasons"] = [x for x in REASONS if any(x in c for c in r["reason_codes"])]
        if pos != n:
            raise _Bad(f"{n - pos} access results left over after the last member")
    except _Bad as e:
        r["malformed"] = str(e)
    return r


class _Bad(Exception):
    pass


def _bits(v, pos) -> str:
    """The '0101...' text of a decoded BIT STRING value (see mms.data), or _Bad."""
    bits = v.get("bits") if isinstance(v, dict) else None
    if not isinstance(bits, str):
        raise _Bad(f"item {pos - 1} is not a BIT STRING value")
    return bits


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


reports_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
reassemble.__doc__ += "\n" + columns_doc({k: v for k, v in REASSEMBLED_COLUMNS.items() if k not in COLUMNS}, "    ") + "\n"


from .cadence import CADENCE_COLUMNS, report_cadence, seq_health  # noqa: E402  (re-exported)
