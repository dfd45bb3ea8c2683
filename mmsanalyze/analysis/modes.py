"""IED operating state tables: ``ied_states()``, ``ied_modes()`` and the mode findings.

The engine is :class:`mmsanalyze.iec61850.modes.ModeTracker` (IEC 61850-7-4 Annex A);
this module declares the column specifications and builds the DataFrames.
"""

from __future__ import annotations

from ..iec61850.modes import FINDING_COLUMNS, MODE_COLUMNS, STATE_COLUMNS, ModeTracker
from ._table import build, columns_doc

__all__ = ["COLUMNS", "MODE_COLUMNS", "FINDING_COLUMNS", "track", "states_table", "modes_table",
           "findings_table"]

#: ``Capture.ied_states()`` columns.
COLUMNS = STATE_COLUMNS


def track(cap, namer=None, follow_timeout=None) -> ModeTracker:
    """Run a :class:`ModeTracker` over a :class:`~mmsanalyze.api.Capture`."""
    kw = {} if follow_timeout is None else {"follow_timeout": follow_timeout}
    t = ModeTracker(namer=namer, **kw)
    txns = cap._txns()
    t.add_data_sets(txns)
    t.add_mms(txns, cap.controls(), cap.conns)
    t.add_reports(cap.reports(reassemble=True))
    if cap.goose_collector is not None and len(cap.goose_collector):
        t.add_goose(cap.goose())
    if cap.sv_collector is not None and len(cap.sv_collector):
        sv = cap.sv()
        samples = None
        try:
            samples = cap.sv_samples()
        except (RuntimeError, ValueError):
            samples = None
        if samples is not None and len(samples) != len(sv):
            samples = _align(sv, samples)
        t.add_sv(sv, samples)
    return t.finish(cap.last_time)


def _align(sv, samples):
    """Samples re-indexed onto the SV table rows (rows without 9-2LE samples get quality 0)."""
    import pandas as pd
    q = [c for c in samples.columns if c.startswith("q_")]
    key = ["frame", "sv_id", "smp_cnt"]
    left = sv[key].astype({"sv_id": str})
    right = samples[key + q].astype({"sv_id": str}).drop_duplicates(key)
    out = pd.merge(left, right, on=key, how="left")
    for c in q:
        out[c] = out[c].fillna(0).astype("int64")
    return out


def _build(spec, rows):
    return build(spec, {k: [r.get(k) for r in rows] for k in spec})


def states_table(tracker: ModeTracker):
    """One row per operating-state observation or request.

    Columns:
    """
    return _build(COLUMNS, tracker.states())


def modes_table(tracker: ModeTracker):
    """The timeline: one row per interval of constant state per (server, LD, LN).

    Columns:
    """
    rows = sorted(tracker.intervals(), key=lambda r: (r["server"] or "", r["ld"] or "", r["ln"] or "", r["start"]))
    return _build(MODE_COLUMNS, rows)


def findings_table(tracker: ModeTracker):
    """Mode / test / simulation findings with the frames that prove them.

    Columns:
    """
    return _build(FINDING_COLUMNS, tracker.finding_rows())


states_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
modes_table.__doc__ += "\n" + columns_doc(MODE_COLUMNS, "    ") + "\n"
findings_table.__doc__ += "\n" + columns_doc(FINDING_COLUMNS, "    ") + "\n"
