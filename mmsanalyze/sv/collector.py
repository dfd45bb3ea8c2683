"""SvCollector: one row per SV ASDU, built for process-bus volumes.

A merging unit sends the same frame layout thousands of times a second; only
smpCnt, refrTm, smpSynch and the sample octets change.  So:

* The first frame of a layout is decoded with the full BER walk
  (:func:`.pdu.decode_sv`), which yields a :class:`_Layout`: the frame length,
  link-layer addresses, the constant octets (header, svID, confRev, every
  tag/length...) and where the variable fields sit.
* Each later frame of that length is checked against its layouts' constant
  octets with a few slice comparisons; if it fits, :meth:`SvCollector.add`
  only stores ``frame``, ``ts`` and one slice covering the variable fields.
  Anything that differs (new svID, confRev change, other length, malformed
  bytes) falls back to the BER walk, which files it under another layout or
  as a malformed row.
* :meth:`SvCollector.table` turns each layout's slices into one uint8 matrix
  and reads every column with numpy; :meth:`SvCollector.samples` decodes the
  9-2LE sample blocks from the same matrices in one ``np.frombuffer``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DecodeError
from ..findings import Finding
from ..net.link import mac_str
from ..goose.routable import PAYLOAD_SV, parse_session
from .le92 import LE_BLOCK, le_columns
from .pdu import SvFrame, _definite_retry, decode_sav_pdu, decode_sv

__all__ = ["SvCollector", "SV_COLUMNS", "MAX_LAYOUTS_PER_LENGTH", "PACK_EVERY"]

#: Layouts tried per frame length before the BER walk (most recent first).
MAX_LAYOUTS_PER_LENGTH = 8
#: Frames a layout keeps as Python objects before packing them into numpy arrays.
#: Small, so one packing step takes about a millisecond: a live capture must never
#: stall for long (65,536 frames took 11-24 ms per stream, all streams at once).
PACK_EVERY = 1 << 12
#: The first packing of the n-th layout comes PACK_STAGGER * n frames early (modulo
#: PACK_EVERY), so merging units running in lockstep do not all pack on the same frame.
PACK_STAGGER = 613
SIM_BIT = 0x8000

#: Column -> dtype of :meth:`SvCollector.table` ("category" for the repeated strings).
SV_COLUMNS = {
    "time": "float64", "frame": "int64", "src_mac": "category", "dst_mac": "category",
    "vlan_id": "Int64", "vlan_priority": "Int64", "appid": "Int64", "sim_bit": "bool",
    "no_asdu": "Int64", "asdu_index": "Int64", "sv_id": "category", "dat_set": "category",
    "smp_cnt": "Int64", "conf_rev": "Int64", "refr_tm": "float64", "smp_synch": "Int64",
    "smp_rate": "Int64", "smp_mod": "Int64", "gm_identity": "category",
    "seq_data_len": "Int64", "transport": "category", "malformed": "bool", "error": "object",
}
_NA = -1  # missing-integer marker inside the builders (turned into <NA>)


def _mac(m):
    return None if m is None else mac_str(m)


class _Layout:
    """One frame layout of one stream: constant octets + positions of the variable ones."""

    __slots__ = ("l3", "n", "src", "dst", "vlans", "prio", "prefix", "v0", "v1", "inner",
                 "frames", "ts", "raws", "chunks", "head", "asdus", "sig", "pack_at")

    def __init__(self, data, l3, src, dst, vlans, prio, fr: SvFrame):
        self.l3, self.n, self.src, self.dst, self.vlans, self.prio = (
            l3, len(data), src, dst, vlans, prio)
        var = []
        for a in fr.asdus:
            for name in ("smp_cnt", "refr_tm", "smp_synch", "seq_data"):
                span = a.spans.get(name)
                if span is not None and span[1] > span[0]:
                    var.append(span)
        var.sort()
        self.v0, self.v1 = var[0][0], var[-1][1]
        self.prefix = bytes(data[l3:self.v0])
        inner = []
        pos = self.v0
        for s, e in var:
            if s > pos:
                inner.append((pos, s, bytes(data[pos:s])))
            pos = max(pos, e)
        if fr.pdu_end > pos:
            inner.append((pos, fr.pdu_end, bytes(data[pos:fr.pdu_end])))
        self.inner = tuple(inner)
        self.head = (fr.appid, fr.reserved1, fr.no_asdu, fr.length)
        v0 = self.v0
        self.asdus = tuple(
            (a.sv_id, a.dat_set, a.conf_rev, a.smp_rate, a.smp_mod, a.gm_identity,
             _rel(a.spans.get("smp_cnt"), v0), _rel(a.spans.get("refr_tm"), v0),
             _rel(a.spans.get("smp_synch"), v0), _rel(a.spans.get("seq_data"), v0))
            for a in fr.asdus)
        self.sig = (l3, self.n, src, dst, vlans, prio, self.prefix, self.inner, self.v0,
                    self.v1)
        self.frames: list = []
        self.ts: list = []
        self.raws: list = []
        self.chunks: list = []   # (frames, ts, matrix) already packed
        self.pack_at = PACK_EVERY  # frames pending before the next pack (staggered first)

    def pack(self) -> None:
        """Move the pending frame numbers, times and slices into numpy arrays.

        Called every :data:`PACK_EVERY` frames, it halves the memory a long
        capture needs (about 100 bytes per 9-2LE frame instead of 200).
        """
        if self.raws:
            w = self.v1 - self.v0
            k = len(self.raws)
            # one copy into a fixed-width array (several times faster than b"".join);
            # every slice is exactly w octets, so no NUL padding is involved
            R = np.array(self.raws, dtype=f"S{w}").view(np.uint8).reshape(k, w)
            self.chunks.append((np.array(self.frames, dtype=np.int64),
                                np.array(self.ts, dtype=np.float64), R))
            self.frames, self.ts, self.raws = [], [], []

    def matrix(self):
        """All frames of this layout: ``(frames int64, ts float64, R uint8 (k, w))`` or None."""
        self.pack()
        if not self.chunks:
            return None
        if len(self.chunks) > 1:
            f, t, R = (np.concatenate([c[i] for c in self.chunks]) for i in range(3))
            self.chunks = [(f, t, R)]
        return self.chunks[0]


def _rel(span, v0):
    return None if span is None else (span[0] - v0, span[1] - v0)


def _be(R, span):
    """Big-endian unsigned integers from matrix columns ``span`` (int64)."""
    a, b = span
    out = R[:, a].astype(np.int64)
    for c in range(a + 1, b):
        out = (out << 8) | R[:, c]
    return out


class SvCollector:
    """Collects SV ASDUs; :meth:`table`, :meth:`samples`, :meth:`streams` give the results."""

    def __init__(self):
        #: Findings for malformed frames (``sv.malformed.*``), in arrival order.
        self.findings: list[Finding] = []
        self._by_len: dict = {}
        self._by_sig: dict = {}
        self._layouts: list = []
        self._loose: list = []     # rows not covered by a layout: malformed, R-SV
        self._loose_seq: list = []  # their seqData bytes (or None), same order
        self._loose_frames = 0
        self._loose_bytes = 0
        self._cache = None
        #: ``[(start, end, dropped, ...)]`` windows in which the capture dropped frames
        #: (set by the reader's owner); gaps there are capture loss, not deletion.
        self.capture_loss: list = []

    # -- input ---------------------------------------------------------------------

    def add(self, frame_number: int, ts: float, data, l3_offset: int, src_mac, dst_mac,
            vlan_ids=(), vlan_priority=None) -> None:
        """Record the SV frame ``data`` whose header (APPID) starts at ``l3_offset``."""
        cands = self._by_len.get(len(data))
        if cands is not None:
            for L in cands:
                if (l3_offset == L.l3 and data[l3_offset:L.v0] == L.prefix and src_mac == L.src
                        and dst_mac == L.dst and vlan_ids == L.vlans
                        and vlan_priority == L.prio):
                    for s, e, b in L.inner:
                        if data[s:e] != b:
                            break
                    else:
                        L.frames.append(frame_number)
                        L.ts.append(ts)
                        raws = L.raws
                        raws.append(data[L.v0:L.v1])
                        if len(raws) >= L.pack_at:
                            L.pack()
                            L.pack_at = PACK_EVERY
                        return
        self._slow(frame_number, ts, data, l3_offset, src_mac, dst_mac, vlan_ids,
                   vlan_priority)

    def _slow(self, frame, ts, data, l3, src, dst, vlans, prio):
        self._cache = None
        try:
            fr = decode_sv(data, l3, len(data))
        except DecodeError as err:
            self._malformed(frame, ts, data, src, dst, vlans, prio, None, err, "l2")
            return
        if fr.error is not None or not fr.asdus or fr.buf is not None:
            # fr.buf: the savPdu used indefinite lengths and was decoded from its
            # definite re-encoding -- a loose row, not a fast-path layout
            self._malformed(frame, ts, data if fr.buf is None else fr.buf, src, dst, vlans, prio,
                            fr, fr.error, "l2")
            return
        L = _Layout(data, l3, src, dst, vlans, prio, fr)
        L = self._by_sig.setdefault(L.sig, L)
        if not L.frames and not L.chunks:
            L.pack_at = PACK_EVERY - (len(self._layouts) * PACK_STAGGER) % (PACK_EVERY // 2)
            self._layouts.append(L)
        cands = self._by_len.setdefault(L.n, [])
        if L in cands:
            cands.remove(L)
        cands.insert(0, L)
        del cands[MAX_LAYOUTS_PER_LENGTH:]
        L.frames.append(frame)
        L.ts.append(ts)
        L.raws.append(data[L.v0:L.v1])

    def add_routable(self, frame_number: int, ts: float, payload, src_mac=None, dst_mac=None,
                     vlan_ids=(), vlan_priority=None, off: int = 0,
                     end: int | None = None) -> int:
        """Decode the savPdus of an R-SV UDP payload (IEC 61850-90-5); returns ASDU rows added."""
        self._cache = None
        end = len(payload) if end is None else end
        try:
            sess = parse_session(payload, off, end)
        except DecodeError as err:
            return self._loose_rows(frame_number, ts, payload, src_mac, dst_mac, vlan_ids,
                                    vlan_priority, None, err, "r-sv")
        n = 0
        for item in sess.payloads:
            if item.tag != PAYLOAD_SV:
                continue
            asdus: list = []
            state = {"no_asdu": None, "security": False}
            err = None
            buf = payload
            try:
                decode_sav_pdu(payload, item.apdu_start, item.apdu_end, asdus, state)
            except DecodeError as exc:
                err = exc
                conv = _definite_retry(exc, payload, item.apdu_start, item.apdu_end)
                if conv is not None:
                    buf, asdus, state, err = conv
            fr = SvFrame(item.appid, item.apdu_end - item.apdu_start + 8,
                         SIM_BIT if item.simulation else 0, 0, state["no_asdu"],
                         state["security"], tuple(asdus), item.apdu_end, err)
            n += self._loose_rows(frame_number, ts, buf, src_mac, dst_mac, vlan_ids,
                                  vlan_priority, fr, err, "r-sv")
        return n

    def _malformed(self, frame, ts, data, src, dst, vlans, prio, fr, err, transport):
        self._loose_frames += 1
        self._loose_bytes += len(data)
        self._loose_rows(frame, ts, data, src, dst, vlans, prio, fr, err, transport)

    def _loose_rows(self, frame, ts, data, src, dst, vlans, prio, fr, err, transport) -> int:
        error = None
        if err is not None:
            err = _as_sv(err)
            error = str(err)
            self.findings.append(Finding(err.code, err.severity, frame, "sv", error))
        vid = vlans[0] if vlans else None
        head = (ts, frame, _mac(src), _mac(dst), vid, prio)
        if fr is None:
            self._loose.append(head + (None,) * 14 + (transport, True, error))
            self._loose_seq.append(None)
            return 1
        sim = bool(fr.reserved1 & SIM_BIT)
        asdus = fr.asdus or (None,)
        for i, a in enumerate(asdus):
            if a is None:
                self._loose.append(head + (fr.appid, sim, fr.no_asdu) + (None,) * 11
                                   + (transport, True, error))
                self._loose_seq.append(None)
                continue
            seq = None if a.seq_data is None else bytes(data[a.seq_data[0]:a.seq_data[1]])
            self._loose.append(head + (
                fr.appid, sim, fr.no_asdu, i, a.sv_id, a.dat_set, a.smp_cnt, a.conf_rev,
                a.refr_tm, a.smp_synch, a.smp_rate, a.smp_mod, a.gm_identity,
                None if seq is None else len(seq), transport, err is not None, error))
            self._loose_seq.append(seq)
        return len(asdus)

    # -- counters ------------------------------------------------------------------

    @property
    def frames(self) -> int:
        """L2 SV frames recorded (R-SV datagrams are counted by the L2 collector)."""
        return self._loose_frames + sum(len(L.frames) + sum(len(c[0]) for c in L.chunks)
                                        for L in self._layouts)

    @property
    def bytes(self) -> int:
        """Their total captured bytes."""
        return self._loose_bytes + sum(L.n * (len(L.frames) + sum(len(c[0]) for c in L.chunks))
                                       for L in self._layouts)

    # -- output --------------------------------------------------------------------

    def _build(self):
        """Column arrays of every ASDU row, capture-ordered; cached until the next add.

        Returns ``(table, block_rows, blocks)``: the DataFrame, and for the 9-2LE
        sample blocks a list of row-index arrays with the matching (m, 64) uint8
        matrices (views into the layouts' packed slices).
        """
        layouts = [(L, L.matrix()) for L in self._layouts]
        layouts = [(L, m) for L, m in layouts if m is not None]
        stamp = (sum(len(m[0]) for _, m in layouts), len(self._loose))
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        cats: dict = {c: {} for c, d in SV_COLUMNS.items() if d == "category"}

        def code(col, value):
            if value is None:
                return -1
            d = cats[col]
            c = d.get(value)
            if c is None:
                c = d[value] = len(d)
            return c

        total = sum(len(m[0]) * len(L.asdus) for L, m in layouts) + len(self._loose)
        storage = {"category": np.int32, "Int64": np.int64, "float64": np.float64,
                   "int64": np.int64, "bool": np.bool_, "object": object}
        col = {name: np.empty(total, dtype=storage[d]) for name, d in SV_COLUMNS.items()}
        blocks, block_rows = [], []
        pos = 0
        for L, (f, t, R) in layouts:
            k, A = len(f), len(L.asdus)
            sl = slice(pos, pos + k * A)
            grid = {name: col[name][sl].reshape(k, A) for name in col}
            grid["time"][:] = t[:, None]
            grid["frame"][:] = f[:, None]
            appid, r1, no_asdu, _length = L.head
            for name, v in (("src_mac", code("src_mac", _mac(L.src))),
                            ("dst_mac", code("dst_mac", _mac(L.dst))),
                            ("transport", code("transport", "l2")),
                            ("vlan_id", L.vlans[0] if L.vlans else _NA),
                            ("vlan_priority", _NA if L.prio is None else L.prio),
                            ("appid", appid), ("no_asdu", no_asdu),
                            ("sim_bit", bool(r1 & SIM_BIT)), ("malformed", False),
                            ("error", None)):
                col[name][sl] = v
            grid["asdu_index"][:] = np.arange(A)
            for a, (sv_id, dat_set, conf_rev, smp_rate, smp_mod, gm, s_cnt, s_refr, s_syn,
                    s_seq) in enumerate(L.asdus):
                grid["sv_id"][:, a] = code("sv_id", sv_id)
                grid["dat_set"][:, a] = code("dat_set", dat_set)
                grid["gm_identity"][:, a] = code("gm_identity", gm)
                grid["conf_rev"][:, a] = conf_rev
                grid["smp_rate"][:, a] = _NA if smp_rate is None else smp_rate
                grid["smp_mod"][:, a] = _NA if smp_mod is None else smp_mod
                grid["smp_cnt"][:, a] = _be(R, s_cnt)
                grid["smp_synch"][:, a] = _be(R, s_syn)
                grid["seq_data_len"][:, a] = s_seq[1] - s_seq[0]
                if s_refr is not None and s_refr[1] - s_refr[0] == 8:
                    secs = _be(R, (s_refr[0], s_refr[0] + 4))
                    frac = _be(R, (s_refr[0] + 4, s_refr[0] + 7))
                    grid["refr_tm"][:, a] = secs + frac / 16777216.0
                else:
                    grid["refr_tm"][:, a] = np.nan
                if s_seq[1] - s_seq[0] == LE_BLOCK:
                    block_rows.append(pos + a + A * np.arange(k))
                    blocks.append(R[:, s_seq[0]:s_seq[1]])
            pos += k * A
        for i, row in enumerate(self._loose):
            for (name, dtype), v in zip(SV_COLUMNS.items(), row):
                if dtype == "category":
                    v = code(name, v)
                elif v is None:
                    v = _NA if dtype == "Int64" else np.nan if dtype == "float64" else v
                col[name][pos + i] = v
            seq = self._loose_seq[i]
            if seq is not None and len(seq) == LE_BLOCK:
                block_rows.append(np.array([pos + i]))
                blocks.append(np.frombuffer(seq, dtype=np.uint8).reshape(1, LE_BLOCK))
        fr = col["frame"]
        if total > 1 and not (fr[1:] >= fr[:-1]).all():
            order = np.lexsort((col["asdu_index"], fr))
            col = {name: arr[order] for name, arr in col.items()}
            inv = np.empty_like(order)
            inv[order] = np.arange(total)
            block_rows = [inv[r] for r in block_rows]
        df = {}
        for name, dtype in SV_COLUMNS.items():
            arr = col[name]
            if dtype == "category":
                df[name] = pd.Categorical.from_codes(arr, categories=list(cats[name]))
            elif dtype == "Int64":
                df[name] = pd.arrays.IntegerArray(arr, arr == _NA)
            else:
                df[name] = arr
        result = (pd.DataFrame(df, copy=False), block_rows, blocks)
        self._cache = (stamp, result)
        return result

    def counters(self) -> tuple[dict, int]:
        """The smpCnt sequences, cheaply, for live monitoring (no DataFrame).

        Returns ``(streams, malformed)``: ``streams`` maps ``(sv_id, appid, src_mac)`` to
        ``(frames, times, smp_cnt, smp_synch, sim, smp_rate, smp_mod, bad)`` -- numpy
        arrays of its well-formed ASDUs in capture order (``smp_synch`` -1 when absent),
        the header simulate bit of the stream's last frame, smpRate and smpMod as sent,
        and ``bad`` its malformed ASDUs -- and ``malformed`` is the number of malformed
        rows that name no stream.
        """
        parts: dict = {}
        for L in self._layouts:
            m = L.matrix()
            if m is None:
                continue
            f, t, R = m
            appid, r1, _no_asdu, _length = L.head
            src = _mac(L.src)
            for a, (sv_id, _ds, _cr, rate, mod, _gm, s_cnt, _refr, s_syn, _seq) in enumerate(L.asdus):
                if s_cnt is None:
                    continue
                syn = _be(R, s_syn) if s_syn is not None else np.full(len(f), -1, dtype=np.int64)
                parts.setdefault((sv_id, appid, src), []).append(
                    (f, np.full(len(f), a), t, _be(R, s_cnt), syn, bool(r1 & SIM_BIT), rate, mod))
        malformed = 0
        bad: dict = {}
        for row in self._loose:
            ts, frame, src, _dst, _vid, _prio, appid, sim, _no, idx, sv_id = row[:11]
            cnt, synch, rate, mod = row[12], row[15], row[16], row[17]
            if row[-2] or cnt is None:
                if sv_id is None:
                    malformed += 1
                else:
                    key = (sv_id, appid, src)
                    bad[key] = bad.get(key, 0) + 1
                    parts.setdefault(key, [])
                continue
            one = np.array([frame])
            parts.setdefault((sv_id, appid, src), []).append(
                (one, np.array([idx or 0]), np.array([ts]), np.array([cnt], dtype=np.int64),
                 np.array([-1 if synch is None else synch], dtype=np.int64), bool(sim), rate, mod))
        streams = {}
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        for key, ps in parts.items():
            if not ps:
                streams[key] = (empty_i, empty_f, empty_i, empty_i, False, None, None, bad.get(key, 0))
                continue
            f = np.concatenate([p[0] for p in ps])
            order = np.lexsort((np.concatenate([p[1] for p in ps]), f))
            streams[key] = (f[order], np.concatenate([p[2] for p in ps])[order],
                            np.concatenate([p[3] for p in ps]).astype(np.int64)[order],
                            np.concatenate([p[4] for p in ps]).astype(np.int64)[order],
                            ps[-1][5], ps[-1][6], ps[-1][7], bad.get(key, 0))
        return streams, malformed

    def __len__(self) -> int:
        return len(self._build()[0])

    def table(self) -> pd.DataFrame:
        """One row per ASDU, in capture order (frame, then ASDU index).

        Columns: ``time`` (capture time, float epoch s), ``frame``; ``src_mac``,
        ``dst_mac`` ('aa:bb:..', categorical); ``vlan_id``/``vlan_priority`` of
        the outermost 802.1Q tag (NA untagged); ``appid``; ``sim_bit`` (reserved1
        bit 15, Ed.2 simulate); ``no_asdu``; ``asdu_index`` (0-based in the frame);
        ``sv_id``, ``dat_set`` (categorical); ``smp_cnt``; ``conf_rev``; ``refr_tm``
        (float epoch s, NaN absent); ``smp_synch`` (0 none, 1 local, 2 global, or a
        grandmaster id in Ed.2.1); ``smp_rate``; ``smp_mod`` (0 samples per nominal
        period, 1 per second, 2 seconds per sample; NA absent); ``gm_identity``
        (hex, Ed.2.1); ``seq_data_len`` (octets of seqData; 64 for 9-2LE);
        ``transport`` ('l2' or 'r-sv'); ``malformed`` / ``error``.
        """
        return self._build()[0].copy(deep=False)

    def samples(self) -> pd.DataFrame:
        """9-2LE samples of every ASDU whose seqData is 64 octets, decoded with numpy.

        Columns: ``time``, ``frame``, ``sv_id``, ``appid``, ``src_mac``, ``asdu_index``,
        ``smp_cnt``, then ``ia ib ic in``
        (amperes, 1 mA per count), ``va vb vc vn`` (volts, 10 mV per count) and
        ``q_ia`` ... ``q_vn`` (the 32-bit quality words).  Rows follow :meth:`table`.
        """
        table, rows, blocks = self._build()
        idx = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        cols = le_columns(blocks)
        if len(idx) > 1 and not (idx[1:] > idx[:-1]).all():
            order = np.argsort(idx, kind="stable")
            idx = idx[order]
            cols = {k: v[order] for k, v in cols.items()}
        everything = len(idx) == len(table)      # then idx is 0..n-1: no gather needed
        out = {}
        for name in ("time", "frame", "sv_id", "appid", "src_mac", "asdu_index", "smp_cnt"):
            c = table[name]
            out[name] = c.array if everything else c.array.take(idx)
        out.update(cols)
        return pd.DataFrame(out, copy=False)

    def streams(self) -> pd.DataFrame:
        """Per-stream health table: see :func:`mmsanalyze.analysis.sv.sv_streams`."""
        from ..analysis.sv import sv_streams
        return sv_streams(self.table(), capture_loss=self.capture_loss)


def _as_sv(err: DecodeError) -> DecodeError:
    if err.layer in ("", "ber", "goose"):
        kind = "unsupported" if err.kind == "unsupported" else "malformed"
        return err.relabel("sv", f"sv.{kind}." + err.code.rsplit(".", 1)[-1])
    return err
