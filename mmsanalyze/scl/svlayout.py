"""SV seqData by the SCL data set layout (for data sets that are not 9-2LE).

IEC 61850-9-2 encodes each data set member of an SV ASDU as fixed-size fields in
data set order (table 14): a DO-level member expands to its data attributes with the
member's functional constraint, structures to their BDAs.  :func:`sv_layout` flattens
a data set to those fields; :func:`decode_seq_data` reads one seqData with it.  The
9-2LE layout (8 x INT32 + quality) is the special case the SV collector decodes in
bulk; these functions handle every other layout an SCL file describes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import Malformed
from .resolver import ENCODED_SIZE

__all__ = ["Channel", "sv_layout", "decode_seq_data", "MAX_CHANNELS"]

#: A data set flattened to more fields than this is refused (a hostile or broken SCL).
MAX_CHANNELS = 4096
_FMT = {"BOOLEAN": ">?", "INT8": ">b", "INT16": ">h", "INT32": ">i", "INT64": ">q", "INT8U": ">B",
        "INT16U": ">H", "INT32U": ">I", "FLOAT32": ">f", "FLOAT64": ">d", "Enum": ">i", "Dbpos": ">I",
        "Tcmd": ">I", "Quality": ">I"}


@dataclass(frozen=True, slots=True)
class Channel:
    """One seqData field: ``name`` ``'LD/LN.DO.DA.BDA [FC]'``, ``b_type``, ``offset``, ``size``."""
    name: str
    b_type: str
    offset: int
    size: int
    enum_type: str | None = None


def sv_layout(model, dat_set_ref: str) -> list | None:
    """The :class:`Channel` list of a data set, or None when a member has no fixed size."""
    out: list = []
    hit = model.dataset(dat_set_ref)
    if hit is None:
        return None
    ied = hit[0]
    t = model.templates
    for f in hit[2].fcdas:
        leaf = model.resolve_fcda(ied, f)
        if leaf is None:
            return None
        base = model.fcda_ref(ied, f)
        path, fc = base.rsplit(" [", 1)
        fc = "[" + fc
        if leaf[0] == "DO":
            ok = _walk(t, leaf[1].children, path, fc, f.fc, out, 0)
        else:
            ok = _walk_da(t, leaf[1], path, fc, out, 0)
        if not ok or len(out) > MAX_CHANNELS:
            return None
    offset = 0
    placed = []
    for name, b, size, enum in out:
        placed.append(Channel(name, b, offset, size, enum))
        offset += size
    return placed


def _walk(t, children, path, fc_txt, fc, out, depth) -> bool:
    if depth > 16:
        return False
    for d in children.values():
        if d.kind == "DA" and d.fc != fc:
            continue
        if d.kind == "SDO":
            sub = t.do_types.get(d.type or "")
            if sub is None or not _walk(t, sub.children, f"{path}.{d.name}", fc_txt, fc, out, depth + 1):
                return False
        elif not _walk_da(t, d, f"{path}.{d.name}", fc_txt, out, depth + 1):
            return False
    return True


def _walk_da(t, d, path, fc_txt, out, depth) -> bool:
    if depth > 16 or d.count:
        return False
    if d.b_type == "Struct":
        sub = t.da_types.get(d.type or "")
        if sub is None:
            return False
        return all(_walk_da(t, b, f"{path}.{b.name}", fc_txt, out, depth + 1) for b in sub.children.values())
    size = ENCODED_SIZE.get(d.b_type or "")
    if size is None:
        return False
    out.append((f"{path} {fc_txt}", d.b_type, size, d.type if d.b_type == "Enum" else None))
    return True


def decode_seq_data(layout: list, data: bytes) -> list:
    """Values of one seqData by ``layout``: numbers, booleans, Timestamp as
    ``{'seconds': int, 'fraction': int, 'quality': int}``.  Raises :class:`Malformed`
    when ``data`` is shorter than the layout."""
    need = layout[-1].offset + layout[-1].size if layout else 0
    if len(data) < need:
        raise Malformed(f"seqData has {len(data)} octets, the SCL layout needs {need}", 0, "sv",
                        code="sv.malformed.layout")
    vals = []
    for c in layout:
        if c.b_type == "Timestamp":
            sec = int.from_bytes(data[c.offset:c.offset + 4], "big")
            frac = int.from_bytes(data[c.offset + 4:c.offset + 7], "big")
            vals.append({"seconds": sec, "fraction": frac, "quality": data[c.offset + 7]})
        else:
            vals.append(struct.unpack_from(_FMT[c.b_type], data, c.offset)[0])
    return vals


COLUMNS = {
    "time": ("float64", "capture time, epoch seconds"),
    "frame": ("Int64", "frame number"),
    "sv_id": ("string", "svID of the ASDU"),
    "asdu_index": ("Int64", "0-based position of the ASDU in its frame"),
    "smp_cnt": ("Int64", "smpCnt"),
    "channel": ("string", "the seqData field by its SCL name 'LD/LN.DO.DA [FC]'"),
    "b_type": ("string", "SCL basic type of the field (INT32, FLOAT32, Quality, Timestamp ...)"),
    "value": ("object", "decoded value (Timestamp: dict of seconds, fraction, quality)"),
}


def sv_values(cap, model) -> "pd.DataFrame":
    """Long table of SV samples decoded by their SCL layout (every stream whose SVCB the
    SCL describes with fixed-size members), one row per ASDU and channel.

    The capture file is read a second time for the seqData octets (the SV collector
    keeps only the 9-2LE ones), so this needs a file, not a live capture."""
    from ..analysis._table import build
    from ..errors import DecodeError
    from ..io import open_source
    from ..net.link import parse_link
    from ..sv.pdu import decode_sv
    if not isinstance(cap.name, str) or not __import__("os").path.isfile(cap.name):
        raise RuntimeError("SV values by SCL layout need a capture file")
    layouts: dict = {}
    cols = {k: [] for k in COLUMNS}
    reader = open_source(cap.name)
    try:
        for fr in reader:
            try:
                et, off, *_ = parse_link(fr.linktype, fr.data)
            except DecodeError:
                continue
            if et != 0x88BA:
                continue
            data = fr.data
            try:
                svf = decode_sv(data, off)
            except DecodeError:
                continue
            for i, a in enumerate(svf.asdus):
                if a is None or a.seq_data is None or a.sv_id is None:
                    continue
                lay = layouts.get(a.sv_id, False)
                if lay is False:
                    cb = model.svcb(a.sv_id)
                    lay = layouts[a.sv_id] = sv_layout(model, cb.dat_set_ref) if cb and cb.dat_set_ref else None
                if not lay:
                    continue
                try:
                    vals = decode_seq_data(lay, bytes(data[a.seq_data[0]:a.seq_data[1]]))
                except DecodeError:
                    continue
                for c, v in zip(lay, vals):
                    cols["time"].append(fr.ts)
                    cols["frame"].append(fr.number)
                    cols["sv_id"].append(a.sv_id)
                    cols["asdu_index"].append(i)
                    cols["smp_cnt"].append(a.smp_cnt)
                    cols["channel"].append(c.name)
                    cols["b_type"].append(c.b_type)
                    cols["value"].append(v)
    finally:
        reader.close()
    return build(COLUMNS, cols)
