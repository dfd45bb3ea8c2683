"""Live monitoring: rolling health of a station's traffic with bounded state.

:class:`Monitor` is fed frames (:meth:`Monitor.feed`) from a live reader and keeps
only what a dashboard needs, however long it runs:

* **capture**: frames and octets per second, the kernel's received/dropped counters
  and how full the ring is (from :class:`~mmsanalyze.io.ring.RingReader`);
* **MMS** per server: requests per second, rolling p50/p99 latency and errors over
  the last :data:`WINDOW_S` seconds, open requests (at most :data:`MAX_PENDING`);
* **reports** per (server, RptID): count, usual interval, SeqNum gaps, and a
  "silent" alarm when none came for :data:`SILENT_FACTOR` x the usual interval;
* **GOOSE** publishers and **SV** streams: the pipeline's collectors are swapped
  every :data:`TICK_S` second and each second's table is folded into per-stream
  totals (state changes, TAL violations, simulation, lost samples, smpSynch,
  jitter), with continuity checked across the seconds; gaps while the capture
  dropped frames count as capture loss, never as deletion;
* **alerts**: a bounded log (:data:`MAX_ALERTS`) of what went wrong, each also
  handed to ``on_alert`` (the CLI's ``--alerts FILE.jsonl``).

All of it is dictionaries keyed by stream/server/publisher plus fixed-size deques:
memory follows the number of streams, not the length of the capture.
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np

import re

from .iec61850.modes import _value_name, parse_reference
from .net.link import mac_str
from .pipeline import PROTO_NAMES, Pipeline
from .records import PduRecord

__all__ = ["Monitor", "TICK_S", "WINDOW_S"]

#: Seconds between folding the GOOSE/SV collectors into the per-stream totals.
TICK_S = 1.0
#: Rolling window of the MMS rates and latency percentiles.
WINDOW_S = 60.0
#: Open requests kept per monitor (oldest forgotten first): a client that never
#: gets answers must not grow memory without bound.
MAX_PENDING = 10_000
#: Latency samples kept per server inside the window.
MAX_LATENCIES = 20_000
#: Alerts kept for the dashboard.
MAX_ALERTS = 200
#: A report stream is "silent" after this many usual intervals without a report.
SILENT_FACTOR = 3.0
#: Longest tracked entities of each kind (servers, report streams, publishers, SV
#: streams); beyond this new ones are counted in ``overflow`` but not tracked.
MAX_TRACKED = 2_000


class _SvState:
    __slots__ = ("sv_id", "appid", "src_mac", "frames", "asdus", "lost", "capture_lost", "gaps",
                 "duplicates", "out_of_order", "last_cnt", "last_time", "wrap", "rate",
                 "smp_synch", "sim_frames", "jitter_us", "suspicious", "anomalies", "first_time",
                 "last_u", "newest_u")

    def __init__(self, key):
        self.sv_id, self.appid, self.src_mac = key
        self.frames = self.asdus = self.lost = self.capture_lost = self.gaps = 0
        self.duplicates = self.out_of_order = self.sim_frames = 0
        self.last_cnt = self.last_time = self.wrap = self.first_time = None
        self.last_u = self.newest_u = None
        self.rate = 0.0
        self.smp_synch = None
        self.jitter_us = float("nan")
        self.suspicious = False
        self.anomalies = ""


class _GooseState:
    __slots__ = ("src_mac", "appid", "gocb_ref", "go_id", "messages", "events", "tal_violations",
                 "sq_gaps", "simulation", "suspicious", "anomalies", "last_time", "last_st",
                 "last_sq", "tal_ms", "expired", "last_data", "replays", "seq")

    def __init__(self, key):
        self.src_mac, self.appid, self.gocb_ref = key
        self.go_id = None
        self.messages = self.events = self.tal_violations = self.sq_gaps = self.simulation = 0
        self.suspicious = False
        self.anomalies = ""
        self.last_time = self.last_st = self.last_sq = self.tal_ms = self.last_data = None
        self.expired = False
        self.replays = 0
        self.seq = None


#: A read request naming one of these is decoded to learn Mod/Beh/Health/Sim values.
_STATE_BYTES = re.compile(rb"\$(?:Mod|Beh|Health|PhyHealth|Sim)")
#: Values of each attribute that put an IED out of plain operation (the panel shows them).
_NOT_NORMAL = {"Mod": {"on-blocked", "test", "test/blocked", "off"},
               "Beh": {"on-blocked", "test", "test/blocked", "off"},
               "Health": {"warning", "alarm"}, "Sim": {"true"}}

#: PublisherSequence counters that make a GOOSE publisher suspicious (as in
#: :func:`mmsanalyze.analysis.goose.goose_streams`), with the words for the alert.
_GOOSE_SUSPICIOUS = {
    "st_backwards": "older stNum than the newest (replay / injection)",
    "sq_backwards": "older sqNum in the current state (replay / injection)",
    "sq_repeats": "repeated stNum+sqNum (replay / injection)",
    "st_repeat_diff_data": "same stNum with different allData (poisoning)",
    "reverted_events": "state change undone within seconds (injected then withdrawn value)",
}


class _ServerState:
    __slots__ = ("server", "requests", "responses", "errors", "times", "latencies", "last_error")

    def __init__(self, server):
        self.server = server
        self.requests = self.responses = self.errors = 0
        self.times = collections.deque()          # request times inside the window
        self.latencies = collections.deque()      # (time, ms) inside the window
        self.last_error = None


class _ReportState:
    __slots__ = ("server", "rpt_id", "count", "last_time", "interval", "seq", "seq_gaps", "silent")

    def __init__(self, server, rpt_id):
        self.server, self.rpt_id = server, rpt_id
        self.count = self.seq_gaps = 0
        self.last_time = self.seq = None
        self.interval = None                      # EWMA of the report interval, s
        self.silent = False


class Monitor:
    """Rolling station health from live frames (see the module docstring).

    Args:
        ports: TCP ports decoded as ISO-on-TCP.  reader: the live reader (for its
        kernel statistics, ring usage and capture-loss windows), optional.
        on_alert: called with each alert dict as it happens.
    """

    def __init__(self, ports=(102,), reader=None, on_alert=None):
        from .goose import GooseCollector
        from .sv import SvCollector
        self._goose_cls, self._sv_cls = GooseCollector, SvCollector
        self.reader = reader
        self.on_alert = on_alert
        from .analysis.l2 import L2Collector
        goose, sv = GooseCollector(), SvCollector()
        self.pipe = Pipeline(tuple(ports), goose=goose, sv=sv, l2=L2Collector(goose, sv), traffic=self)
        self.lock = threading.Lock()
        self.started = time.time()
        self.frames = self.octets = 0
        self.by_proto = collections.Counter()
        self._rate = collections.deque()          # (second, frames, octets)
        self.servers: dict = {}
        self.pending: collections.OrderedDict = collections.OrderedDict()
        self.reports: dict = {}
        self.goose: dict = {}
        self.sv: dict = {}
        self.alerts = collections.deque(maxlen=MAX_ALERTS)
        #: (server, LD, LN, attribute) -> (value name, time, frame): Mod/Beh/Health/Sim seen
        #: in read responses and reports (the "IEDs in test" panel)
        self.states: dict = {}
        self._state_reads: dict = {}            # (stream, invokeID) -> names of a read of states
        self.overflow = 0
        self.last_tick = None
        self.last_time = None
        self._loss_seen = 0

    # -- input ----------------------------------------------------------------------
    def add(self, ts, length, proto, src) -> None:
        """Traffic counter hook of the pipeline: one call per frame."""
        self.frames += 1
        self.octets += length
        self.by_proto[proto] += 1

    def feed(self, fr) -> None:
        """One frame: decode it and update the rolling state (the capture thread)."""
        out = self.pipe.feed(fr)
        ts = fr.ts
        if self.last_time is None:
            self.started = ts
        self.last_time = ts
        if out:
            with self.lock:
                for r in out:
                    if r.__class__ is PduRecord:
                        self._pdu(r)
        if self.last_tick is None:
            self.last_tick = ts
        elif ts - self.last_tick >= TICK_S:
            self.tick(ts)

    def _alert(self, ts, severity, what, message, **extra) -> None:
        a = {"time": ts, "severity": severity, "what": what, "message": message, **extra}
        self.alerts.append(a)
        if self.on_alert is not None:
            self.on_alert(a)

    def _server(self, name):
        s = self.servers.get(name)
        if s is None:
            if len(self.servers) >= MAX_TRACKED:
                self.overflow += 1
                return None
            s = self.servers[name] = _ServerState(name)
        return s

    def _pdu(self, r) -> None:
        pdu = r.pdu
        if pdu == "confirmed-RequestPDU":
            srv = self._server(f"{r.dst}:{r.dport}")
            if srv is None:
                return
            srv.requests += 1
            srv.times.append(r.time)
            self.pending[(r.stream, r.direction, r.invoke_id)] = (r.time, srv, r.service)
            if len(self.pending) > MAX_PENDING:
                self.pending.popitem(last=False)
            if r.service == "read" and _STATE_BYTES.search(r.raw):   # cheap test before decoding
                m = r.decoded()
                names = list(getattr(m, "variables", ()) or ())
                if any(parse_reference(n) for n in names):
                    self._state_reads[(r.stream, r.invoke_id)] = names
                    if len(self._state_reads) > MAX_PENDING:
                        self._state_reads.pop(next(iter(self._state_reads)))
        elif pdu in ("confirmed-ResponsePDU", "confirmed-ErrorPDU", "rejectPDU"):
            key = (r.stream, 1 - r.direction, r.invoke_id)
            req = self.pending.pop(key, None)
            srv = req[1] if req else self._server(f"{r.src}:{r.sport}")
            if srv is None:
                return
            srv.responses += 1
            names = self._state_reads.pop((r.stream, r.invoke_id), None)
            if names is not None and pdu == "confirmed-ResponsePDU":
                m = r.decoded()
                for name, value in zip(names, list(getattr(m, "access_results", ()) or ())):
                    self._state(srv.server, name, value, r.time, r.frame, "read")
            if req is not None:
                srv.latencies.append((r.time, (r.time - req[0]) * 1000.0))
                if len(srv.latencies) > MAX_LATENCIES:
                    srv.latencies.popleft()
            if pdu != "confirmed-ResponsePDU":
                srv.errors += 1
                what = r.service or (req[2] if req else None) or "request"
                srv.last_error = f"{what}: {r.error or pdu}" if r.error else f"{what}: {pdu}"
                m = r.decoded() if r.error is None else None
                err = getattr(m, "error", None)
                self._alert(r.time, "warning", "mms-error",
                            f"{srv.server} answered {what} (invokeID {r.invoke_id}) with "
                            f"{pdu}{': ' + str(err) if err else ''}", frame=r.frame)
        elif r.service == "informationReport":
            self._report(r)

    def _report(self, r) -> None:
        from .analysis.reports import decode_report, report_kind
        m = r.decoded()
        if report_kind(m) != "report":
            return
        rep = decode_report(m)
        rpt_id = rep.get("rpt_id") or "?"
        key = (f"{r.src}:{r.sport}", rpt_id)
        st = self.reports.get(key)
        if st is None:
            if len(self.reports) >= MAX_TRACKED:
                self.overflow += 1
                return
            st = self.reports[key] = _ReportState(*key)
        if st.last_time is not None:
            dt = r.time - st.last_time
            st.interval = dt if st.interval is None else 0.8 * st.interval + 0.2 * dt
        if st.silent:
            st.silent = False
            self._alert(r.time, "note", "report", f"reports {rpt_id} from {key[0]} resumed", frame=r.frame)
        seq = rep.get("seq_num")
        if isinstance(seq, int) and st.seq is not None and rep.get("sub_seq_num") in (None, 0):
            step = (seq - st.seq) % 256 if st.seq < 256 and seq < 256 else seq - st.seq
            if step > 1:
                st.seq_gaps += 1
                self._alert(r.time, "warning", "report",
                            f"reports {rpt_id} from {key[0]}: SeqNum {st.seq} -> {seq} "
                            f"({step - 1} missing)", frame=r.frame)
        if isinstance(seq, int):
            st.seq = seq
        st.count += 1
        st.last_time = r.time
        for name, value in zip(rep.get("data_refs") or (), rep.get("values") or ()):
            self._state(key[0], name, value, r.time, r.frame, "report")

    def _state(self, server, name, value, ts, frame, source) -> None:
        """A Mod/Beh/Health/Sim value read or reported: keep the latest; alert on a change
        into a state that is not plain "on"."""
        ref = parse_reference(name)
        if ref is None or ref[3] not in ("leaf", "do"):
            return
        ld, ln, attr, shape = ref
        if shape == "do" and isinstance(value, (list, tuple)) and value:
            value = value[0]                        # stVal is the DO's first attribute
        shown = _value_name(attr, value)
        if shown is None:
            return
        key = (server, ld, ln, attr)
        old = self.states.get(key)
        if key not in self.states and len(self.states) >= MAX_TRACKED:
            self.overflow += 1
            return
        self.states[key] = (shown, ts, frame)
        if (old is None or old[0] != shown) and shown in _NOT_NORMAL.get(attr, ()):
            self._alert(ts, "warning", "mode", f"{server} {ld}/{ln}.{attr} is {shown} ({source})",
                        frame=frame)

    # -- every second ---------------------------------------------------------------------
    def tick(self, now=None) -> None:
        """Fold the last second of GOOSE/SV into the totals and trim the windows."""
        now = self.last_time if now is None else now
        pipe = self.pipe
        goose, sv = pipe.goose, pipe.sv
        pipe.goose, pipe.sv = self._goose_cls(), self._sv_cls()
        if pipe.l2 is not None:               # R-GOOSE / R-SV go to the same collectors
            pipe.l2.goose, pipe.l2.sv = pipe.goose, pipe.sv
        loss = list(getattr(self.reader, "loss_events", []) or [])
        for c in (goose, sv):
            c.capture_loss = loss
        self._rate.append((now, self.frames, self.octets))
        while len(self._rate) > 2 and now - self._rate[0][0] > 10:
            self._rate.popleft()
        with self.lock:
            self._fold_sv(sv, loss)
            self._fold_goose(goose, loss)
            self._trim(now)
            if loss and len(loss) > self._loss_seen:
                dropped = sum(e[2] for e in loss[self._loss_seen:])
                self._loss_seen = len(loss)
                self._alert(now, "warning", "capture",
                            f"the kernel dropped {dropped} frames (capture loss: raise -B)")
        self.last_tick = now

    def _trim(self, now) -> None:
        edge = now - WINDOW_S
        for s in self.servers.values():
            while s.times and s.times[0] < edge:
                s.times.popleft()
            while s.latencies and s.latencies[0][0] < edge:
                s.latencies.popleft()
        for st in self.reports.values():
            if (not st.silent and st.interval and st.count > 2
                    and now - st.last_time > max(SILENT_FACTOR * st.interval, 2 * TICK_S)):
                st.silent = True
                self._alert(now, "warning", "report",
                            f"reports {st.rpt_id} from {st.server} silent for "
                            f"{now - st.last_time:.1f} s (usual interval {st.interval:.2f} s)")
        for g in self.goose.values():
            if (not g.expired and g.tal_ms and g.last_time is not None
                    and (now - g.last_time) * 1000.0 > g.tal_ms):
                g.expired = True
                g.tal_violations += 1
                self._alert(now, "warning", "goose",
                            f"GOOSE {g.gocb_ref} from {g.src_mac}: nothing within its "
                            f"timeAllowedToLive ({g.tal_ms} ms)")

    def _fold_sv(self, coll, loss) -> None:
        """A second of SV (numpy over the collector's packed counters, no DataFrame)."""
        from .analysis.loss import in_windows
        from .analysis.sv import BURST_LOSS_SAMPLES, infer_wrap
        streams, malformed = coll.counters()
        self.sv_malformed = getattr(self, "sv_malformed", 0) + malformed
        for key, (frames, times, cnt, synch, sim, rate, mod, bad) in streams.items():
            s = self.sv.get(key)
            if s is None:
                if len(self.sv) >= MAX_TRACKED:
                    self.overflow += 1
                    continue
                s = self.sv[key] = _SvState(key)
            s.asdus += bad                      # malformed ASDUs of the stream (no smpCnt)
            if not len(cnt):
                continue
            if s.wrap is None or cnt.max() >= s.wrap:
                s.wrap = infer_wrap(int(cnt.max()), rate, mod)
            w = s.wrap
            # as the offline analysis (analysis.sv): unwrap the counter (a step of more than
            # half the wrap is a step back), compare each ASDU with the newest sample seen
            # before it: equal to the previous -> duplicate; not newer -> out of order (an
            # interleaved sequence); newer by k > 1 -> k-1 samples lost
            if s.last_cnt is not None:
                c = np.r_[s.last_cnt, cnt]
                t = np.r_[s.last_time, times]
                base_u, newest0 = s.last_u, s.newest_u
            else:
                c, t = cnt, times
                s.first_time = float(times[0])
                base_u, newest0 = int(cnt[0]), None
            raw = np.diff(c) % w
            step = np.where(raw > w // 2, raw - w, raw)
            u = base_u + np.r_[0, np.cumsum(step)]
            first = u[0] if newest0 is None else max(newest0, u[0])
            newest = np.maximum.accumulate(np.r_[first, u[1:]])[:-1]
            t_prev = t[:-1]
            jump = u[1:] - newest
            dup = step == 0
            back = ~dup & (jump <= 0)
            gap = jump > 1
            if loss and gap.any():
                by_capture = gap & in_windows(t_prev, t[1:], loss)
            else:
                by_capture = np.zeros(len(step), dtype=bool)
            wire = gap & ~by_capture
            lost = jump[wire] - 1
            s.capture_lost += int((jump[by_capture] - 1).sum())
            s.lost += int(lost.sum())
            s.gaps += int(wire.sum())
            s.duplicates += int(dup.sum())
            s.out_of_order += int(back.sum())
            s.last_u = int(u[-1])
            s.newest_u = int(max(u.max(), newest0 if newest0 is not None else u.max()))
            new_frame = np.r_[True, frames[1:] != frames[:-1]]
            s.frames += int(new_frame.sum())
            s.asdus += len(cnt)
            s.sim_frames += int(new_frame.sum()) if sim else 0
            ft = times[new_frame]
            if len(ft) > 2:
                s.jitter_us = float(np.std(np.diff(ft)) * 1e6)
            span = float(times[-1]) - (s.first_time or float(times[0]))
            if span > 0:
                s.rate = (s.asdus - 1) / span
            s.smp_synch = int(synch[-1]) if synch[-1] >= 0 else None
            s.last_cnt, s.last_time = int(cnt[-1]), float(times[-1])
            name = f"SV {key[0]} from {key[2]}"
            if len(lost):
                worst = int(lost.max())
                burst = worst >= BURST_LOSS_SAMPLES
                self._alert(s.last_time, "error" if burst else "warning", "sv",
                            f"{name}: {int(lost.sum())} samples lost in {len(lost)} gaps"
                            + (f" ({worst} consecutive: outage or deletion)" if burst else ""))
                if burst and not s.suspicious:
                    s.suspicious = True
                    s.anomalies = f"{worst} consecutive samples missing (outage or deletion)"
            if back.any():
                self._alert(s.last_time, "error", "sv",
                            f"{name}: {int(back.sum())} ASDUs older than the newest sample "
                            "(a second smpCnt sequence: injection or replay)")
                s.suspicious = True
                s.anomalies = "older smpCnt interleaved (injection or replay)"
            if by_capture.any():
                s.anomalies = s.anomalies or "samples not seen while the capture dropped frames"

    def _fold_goose(self, coll, loss) -> None:
        """A second of GOOSE messages, fed one at a time to each publisher's
        :class:`~mmsanalyze.analysis.goose.PublisherSequence` (the offline rules)."""
        from .analysis.goose import PublisherSequence
        from .analysis.loss import in_windows
        from .goose.collector import GOOSE_COLUMNS
        ix = {name: i for i, name in enumerate(GOOSE_COLUMNS)}
        cols = [ix[n] for n in ("time", "st_num", "sq_num", "time_allowed_to_live", "all_data",
                                "conf_rev", "t")]
        i_src, i_app, i_ref, i_go = ix["src_mac"], ix["appid"], ix["gocb_ref"], ix["go_id"]
        i_sim, i_sbit, i_bad, i_frame = ix["simulation"], ix["sim_bit"], ix["malformed"], ix["frame"]

        def lost(a, b):
            return bool(in_windows(np.array([a]), np.array([b]), loss)[0])

        for row in coll.rows():
            src = row[i_src]
            key = (mac_str(src) if isinstance(src, (bytes, bytearray)) else src, row[i_app], row[i_ref])
            g = self.goose.get(key)
            if g is None:
                if len(self.goose) >= MAX_TRACKED:
                    self.overflow += 1
                    continue
                g = self.goose[key] = _GooseState(key)
                g.seq = PublisherSequence(lost if loss else None, keep_intervals=False)
            if loss:
                g.seq.capture_loss = lost
            g.messages += 1
            g.go_id = row[i_go]
            if row[i_sim] or row[i_sbit]:
                g.simulation += 1
            if row[i_bad] or row[ix["st_num"]] is None or row[ix["sq_num"]] is None:
                continue
            ts = row[ix["time"]]
            before = dict(g.seq.c)
            g.seq.feed(*(row[i] for i in cols))
            after = g.seq.c
            name = f"GOOSE {key[2]} from {key[0]}"
            if after["events"] > before["events"]:
                self._alert(ts, "note", "goose", f"{name}: state change, stNum {row[ix['st_num']]}",
                            frame=row[i_frame])
            bad = [k for k in _GOOSE_SUSPICIOUS if after[k] > before[k]]
            if bad and not g.suspicious:
                g.suspicious = True
                g.anomalies = ", ".join(_GOOSE_SUSPICIOUS[k] for k in bad)
                self._alert(ts, "error", "goose", f"{name}: {g.anomalies}", frame=row[i_frame])
            if g.expired:
                g.expired = False
                self._alert(ts, "note", "goose", f"{name} is back")
            g.last_time, g.tal_ms = ts, row[ix["time_allowed_to_live"]]
            c = g.seq.c
            g.events, g.tal_violations, g.sq_gaps = c["events"], c["tal_violations"], c["sq_gaps"]
            g.replays = c["st_backwards"] + c["sq_backwards"] + c["sq_repeats"]

    # -- output -----------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The dashboard's data now (plain Python; safe to call from another thread)."""
        now = self.last_time or time.time()
        with self.lock:
            rate = octets = 0.0
            if len(self._rate) >= 2:
                (t0, f0, o0), (t1, f1, o1) = self._rate[0], self._rate[-1]
                if t1 > t0:
                    rate, octets = (f1 - f0) / (t1 - t0), (o1 - o0) / (t1 - t0)
            cap = {"frames": self.frames, "frames_per_s": rate, "bits_per_s": octets * 8,
                   "seconds": (now - self.started) if self.frames else 0.0,
                   "protocols": {PROTO_NAMES[k]: v for k, v in self.by_proto.items()}}
            rd = self.reader
            if rd is not None and hasattr(rd, "stats"):
                try:
                    st = rd.stats()
                    cap.update(received=st.get("received"), dropped=st.get("dropped"))
                except (OSError, ValueError):
                    pass
                if hasattr(rd, "ring_usage"):
                    cap["ring_usage"] = rd.ring_usage()
            servers = []
            for s in self.servers.values():
                lat = np.array([x for _, x in s.latencies], dtype=float)
                span = min(WINDOW_S, max(now - self.started, 1e-9))
                servers.append({
                    "server": s.server, "requests": s.requests, "responses": s.responses,
                    "errors": s.errors, "requests_per_s": len(s.times) / span if s.times else 0.0,
                    "p50_ms": float(np.percentile(lat, 50)) if len(lat) else None,
                    "p99_ms": float(np.percentile(lat, 99)) if len(lat) else None,
                    "last_error": s.last_error})
            reports = [{"server": r.server, "rpt_id": r.rpt_id, "reports": r.count,
                        "interval_s": r.interval, "seq_gaps": r.seq_gaps, "silent": r.silent}
                       for r in self.reports.values()]
            goose = [{"gocb_ref": g.gocb_ref, "src_mac": g.src_mac, "appid": g.appid,
                      "messages": g.messages, "events": g.events, "tal_violations": g.tal_violations,
                      "sq_gaps": g.sq_gaps, "replays": g.replays, "simulation": g.simulation,
                      "suspicious": g.suspicious,
                      "alive": not g.expired, "anomalies": g.anomalies} for g in self.goose.values()]
            sv = [{"sv_id": s.sv_id, "src_mac": s.src_mac, "appid": s.appid, "frames": s.frames,
                   "asdus": s.asdus, "rate": s.rate, "lost_samples": s.lost, "gaps": s.gaps,
                   "capture_lost": s.capture_lost, "duplicates": s.duplicates,
                   "out_of_order": s.out_of_order, "smp_synch": s.smp_synch,
                   "jitter_us": s.jitter_us, "sim_frames": s.sim_frames,
                   "suspicious": s.suspicious, "anomalies": s.anomalies} for s in self.sv.values()]
            test = [{"server": k[0], "ld": k[1], "ln": k[2], "attribute": k[3], "value": v[0],
                     "time": v[1], "frame": v[2]}
                    for k, v in self.states.items() if v[0] in _NOT_NORMAL.get(k[3], ())]
            test += [{"server": g.src_mac, "ld": g.gocb_ref.split("/")[0], "ln": g.gocb_ref,
                      "attribute": "GOOSE simulation", "value": f"{g.simulation} messages",
                      "time": g.last_time, "frame": None}
                     for g in self.goose.values() if g.simulation]
            test += [{"server": x.src_mac, "ld": x.sv_id, "ln": "", "attribute": "SV simulate bit",
                      "value": f"{x.sim_frames} frames", "time": x.last_time, "frame": None}
                     for x in self.sv.values() if x.sim_frames]
            return {"time": now, "capture": cap, "mms": servers, "reports": reports, "test": test,
                    "goose": goose, "sv": sv, "alerts": list(self.alerts),
                    "untracked": self.overflow}

    def finish(self) -> dict:
        """Flush the pipeline and the last partial second; the final snapshot."""
        for r in self.pipe.finish():
            if r.__class__ is PduRecord:
                with self.lock:
                    self._pdu(r)
        self.tick(self.last_time if self.last_time is not None else time.time())
        return self.snapshot()


def _opt_int(v):
    """An integer column's value, or None for <NA>/NaN/None."""
    try:
        return None if v is None or v != v else int(v)
    except TypeError:            # pd.NA: its comparisons are ambiguous
        return None
