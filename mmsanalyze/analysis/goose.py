"""GOOSE publisher health: per-publisher counters, anomaly rules and the timeline plot.

Works on the table of :meth:`mmsanalyze.goose.collector.GooseCollector.table`.

A *publisher* is one (source MAC, APPID, gocbRef).  Its messages are walked in
capture order against the newest state seen so far (IEC 61850-8-1 17.2 / 7-2
18.2.3: stNum counts data changes, sqNum counts retransmissions of one state and
restarts at 0 -- 1 in some Ed.1 devices -- after each change; both wrap at 2^32):

* stNum above the newest -> an *event* (new state); sqNum should restart;
* the newest stNum with a higher sqNum -> normal (a jump > 1 is a *gap*);
* the newest stNum and sqNum again -> a *repeat*, unless it is byte-identical
  and within :data:`CAPTURE_DUP_S` (the same frame captured twice);
* the newest stNum with a lower sqNum, or an older stNum -> going *backwards*;
* the newest stNum with allData different from the state's first message ->
  *poisoning* sign (Hoyos et al., "Exposing GOOSE: detecting the GOOSE
  poisoning attack", 2012): a new state must come with a new stNum.

Repeats, backwards steps and same-stNum-different-data only happen when a second
source interleaves messages with the publisher (replay, injection, poisoning),
so they make the publisher ``suspicious``; so does the same gocbRef/APPID from
another MAC, and a state change that is withdrawn (allData back to the exact
values before it) within :data:`REVERT_WINDOW_S` -- the footprint of a fake
trip/open that is injected and then undone (false data injection), or of a
chattering input.  A genuine short protection pulse looks the same, so treat
that one as a lead to check against the process (e.g. the SV currents).
"""

from __future__ import annotations

import statistics

import numpy as np
import pandas as pd

from .l2 import other_src_macs

__all__ = ["goose_streams", "plot_goose_timeline", "GOOSE_STREAM_COLUMNS", "RETRANS_N",
           "CAPTURE_DUP_S", "REVERT_WINDOW_S"]

#: Intervals after each event kept in ``retrans_ms`` (the fast-retransmission burst).
RETRANS_N = 6
#: Byte-identical repeats closer than this are capture duplicates, not replays.
CAPTURE_DUP_S = 0.001
#: A state change undone within this many seconds is reported as reverted.
REVERT_WINDOW_S = 10.0
_MOD = 1 << 32
_HALF = 1 << 31

GOOSE_STREAM_COLUMNS = [
    "src_mac", "appid", "gocb_ref", "go_id", "dat_set", "transport", "messages",
    "first_time", "last_time", "st_num_first", "st_num_last", "events", "retrans_ms",
    "retrans_min_ms", "retrans_median_ms", "heartbeat_ms", "tal_ms", "tal_violations",
    "sq_gaps", "sq_lost", "sq_not_reset", "sq_repeats", "sq_backwards", "st_backwards",
    "st_jumps", "st_repeat_diff_data", "st_late", "reverted_events", "restarts",
    "conf_rev_changes",
    "simulation_messages", "sim_bit_messages", "nds_com_messages", "capture_dups",
    "capture_lost", "malformed", "other_src_macs", "foreign_frames", "anomalies", "suspicious",
]
#: Frame numbers listed in ``foreign_frames`` per publisher (the count is in ``anomalies``).
MAX_FOREIGN_LISTED = 20


def _fwd(a: int, b: int) -> int:
    """Signed distance from ``a`` to ``b`` on the 32-bit counter circle."""
    d = (b - a) % _MOD
    return d - _MOD if d >= _HALF else d


#: Two consecutive retransmission intervals within this ratio of each other are a plateau.
PLATEAU_TOLERANCE = 0.1


def _heartbeat(in_state, steady) -> float:
    """The steady-state interval (ms): the plateau the retransmission ramp ends on --
    intervals within one state that repeat the previous one (within
    :data:`PLATEAU_TOLERANCE`) and are at least half the longest such interval, so the
    doubling ramp (2, 4, 8 ... 4096 ms) never counts.  Without a plateau in the capture,
    the median interval once sqNum >= RETRANS_N."""
    if in_state:
        top = max(dt for dt, _ in in_state)
        plateau = [dt for dt, prev in in_state
                   if prev and abs(dt / prev - 1.0) <= PLATEAU_TOLERANCE and dt >= 0.5 * top]
        if plateau:
            return statistics.median(plateau)
    return statistics.median(steady) if steady else np.nan


class PublisherSequence:
    """One publisher's stNum/sqNum/allData sequence, walked a message at a time.

    :func:`goose_streams` feeds a capture's messages in order; the live monitor
    (:mod:`mmsanalyze.monitor`) feeds them as they arrive, so both judge a publisher
    by the same rules.  ``capture_loss(t_from, t_to)`` tells whether the capture itself
    dropped frames between two arrivals; such sqNum gaps, stNum jumps and late
    messages count in ``capture_lost``, not as anomalies of the publisher.
    ``keep_intervals=False`` keeps no retransmission/heartbeat interval lists
    (bounded memory for a live capture; their columns are then NaN).
    """

    def __init__(self, capture_loss=None, keep_intervals: bool = True):
        self.c = dict(events=0, tal_violations=0, sq_gaps=0, sq_lost=0, sq_not_reset=0,
                      sq_repeats=0, sq_backwards=0, st_backwards=0, st_jumps=0,
                      st_repeat_diff_data=0, st_late=0, reverted_events=0, restarts=0,
                      conf_rev_changes=0, capture_dups=0, capture_lost=0)
        self.capture_loss = capture_loss
        self.keep = keep_intervals
        self.retrans, self.steady, self.tals = [], [], []
        self.in_state, self.prev_in_state = [], None   # (interval ms, previous interval of the state)
        self.prev = None
        self.st_max = self.sq_max = None
        self.state_data = self.state_t = None   # allData / t of the newest state's first message
        self.before_data = None                 # allData of the state before the newest one
        self.state_time = None                  # arrival of the newest state's first message
        self.burst = None                       # intervals collected after the latest event
        self.pending, self.pending_data = 0, None   # messages of this state carrying other data

    def feed(self, time, st, sq, tal, data, conf, t) -> None:
        """One message (arrival time, stNum, sqNum, TAL ms, allData, confRev, t)."""
        c = self.c
        if tal is not None and self.keep:
            self.tals.append(tal)
        if self.prev is None:
            self.st_max, self.sq_max, self.state_data, self.state_t = st, sq, data, t
            self.prev = (time, st, sq, tal, data, conf)
            return
        p_time, p_st, p_sq, p_tal, p_data, p_conf = self.prev
        dt = time - p_time
        self.prev = (time, st, sq, tal, data, conf)
        lost_here = self.capture_loss is not None and self.capture_loss(p_time, time)
        if p_tal is not None and dt * 1000.0 > p_tal and not lost_here:
            c["tal_violations"] += 1
        if conf != p_conf:
            c["conf_rev_changes"] += 1
        d_st = _fwd(self.st_max, st)
        d_sq = _fwd(self.sq_max, sq) if d_st == 0 else 0
        if (d_st < 0 or d_sq < 0) and st <= 1 and sq <= 1 and t != self.state_t:
            # stNum/sqNum back at their initial values with a new t: the publisher
            # restarted (IEC 61850-7-2 18.2.3.5); follow the new sequence
            c["restarts"] += 1
            c["st_repeat_diff_data"] += self.pending
            self.pending = 0
            self.st_max, self.sq_max, self.state_data, self.state_t, self.state_time = st, sq, data, t, time
            self.before_data, self.burst, self.prev_in_state = None, [], None
            return
        if d_st > 0:                                   # new state (event)
            c["events"] += 1
            if d_st > 1 and lost_here:
                c["capture_lost"] += d_st - 1
            elif d_st > 1:
                c["st_jumps"] += 1
            if sq not in (0, 1):
                c["sq_not_reset"] += 1
            if (self.before_data is not None and data == self.before_data and data != self.state_data
                    and self.state_time is not None and time - self.state_time <= REVERT_WINDOW_S):
                c["reverted_events"] += 1
            if self.pending:
                # data changed under the old stNum and the new state carries it: the
                # publisher incremented stNum late (a device quirk, not an attack)
                c["st_late" if data == self.pending_data else "st_repeat_diff_data"] += self.pending
                self.pending = 0
            if self.burst and self.keep:
                self.retrans.append(self.burst)
            self.burst = []
            self.prev_in_state = None
            self.before_data, self.state_data, self.state_t, self.state_time = self.state_data, data, t, time
            self.st_max, self.sq_max = st, sq
            return
        if d_st < 0:
            c["st_backwards"] += 1
            return
        if d_sq > 0:
            if d_sq > 1 and not (self.sq_max == _MOD - 1 and sq == 1):   # Ed.2 wraps to 1
                if lost_here:
                    c["capture_lost"] += d_sq - 1
                else:
                    c["sq_gaps"] += 1
                    c["sq_lost"] += d_sq - 1
            if p_st == st and self.keep:
                self.in_state.append((dt * 1000.0, self.prev_in_state))
                self.prev_in_state = dt * 1000.0
                if self.burst is not None and len(self.burst) < RETRANS_N:
                    self.burst.append(dt * 1000.0)
                elif p_sq >= RETRANS_N or self.burst is None:
                    self.steady.append(dt * 1000.0)
            self.sq_max = sq
        elif d_sq == 0:
            if data == p_data and p_st == st and p_sq == sq and dt <= CAPTURE_DUP_S:
                c["capture_dups"] += 1
            else:
                c["sq_repeats"] += 1
        else:
            c["sq_backwards"] += 1
        if data != self.state_data:
            self.pending += 1
            self.pending_data = data
        elif self.pending:
            # back to the state's data under the same stNum: the other data was foreign
            c["st_repeat_diff_data"] += self.pending
            self.pending = 0

    def counters(self) -> dict:
        """The counters so far (the columns of :func:`goose_streams` this class owns)."""
        c = dict(self.c)
        c["st_repeat_diff_data"] += self.pending
        retrans = self.retrans + ([self.burst] if self.burst else [])
        flat = [x for b in retrans for x in b]
        c["retrans_ms"] = retrans
        c["retrans_min_ms"] = min(flat) if flat else np.nan
        c["retrans_median_ms"] = statistics.median(flat) if flat else np.nan
        c["heartbeat_ms"] = _heartbeat(self.in_state, self.steady)
        c["tal_ms"] = statistics.mode(self.tals) if self.tals else None
        return c


def _publisher(rows, capture_loss=None) -> dict:
    """Walk one publisher's messages (tuples in capture order) -> counters."""
    seq = PublisherSequence(capture_loss)
    for row in rows:
        seq.feed(*row)
    return seq.counters()


def goose_streams(table: pd.DataFrame, capture_loss=None) -> pd.DataFrame:
    """One row per GOOSE publisher (source MAC + APPID + gocbRef).

    Columns: ``src_mac``, ``appid``, ``gocb_ref``, ``go_id``, ``dat_set``,
    ``transport``; ``messages``, ``first_time``/``last_time`` (epoch s),
    ``st_num_first``/``st_num_last``; ``events`` (new stNum values);
    ``retrans_ms`` (per event, the first :data:`RETRANS_N` intervals in ms),
    ``retrans_min_ms``/``retrans_median_ms`` over those; ``heartbeat_ms`` (the
    steady-state interval: the plateau the retransmission ramp ends on, see
    :func:`_heartbeat`); ``tal_ms`` (usual
    timeAllowedToLive); ``tal_violations`` (next message later than the previous
    one's TAL); ``sq_gaps``/``sq_lost`` (sqNum jumps and messages missing);
    ``sq_not_reset`` (first message of a new state with sqNum not 0/1);
    ``sq_repeats``; ``sq_backwards``; ``st_backwards``; ``st_jumps`` (stNum
    skipping values); ``st_repeat_diff_data`` (same stNum, different allData, not
    followed by a state carrying that data); ``st_late`` (new allData sent under
    the old stNum just before the increment -- seen on real ABB relays);
    ``reverted_events`` (changes undone within REVERT_WINDOW_S); ``restarts``
    (stNum and sqNum back to 1/0 with a new t);
    ``conf_rev_changes``; ``simulation_messages`` (goosePdu simulation/test
    true), ``sim_bit_messages`` (header S bit), ``nds_com_messages``;
    ``capture_dups``; ``malformed``; ``other_src_macs`` (other MACs sending this
    gocbRef/APPID); ``foreign_frames`` (frames of a sequence interleaved with the
    publisher's own -- the injected ones, see :func:`attribute_frames`; at most
    MAX_FOREIGN_LISTED); ``anomalies`` (text, '' when none); ``suspicious``.
    ``capture_loss``: epoch-second windows ``[(start, end), ...]`` in which the
    capture dropped frames; gaps across them count in ``capture_lost`` (messages
    or states the capture missed), not as sqNum gaps, stNum jumps or TAL violations.
    """
    if table is None or len(table) == 0:
        return pd.DataFrame({c: [] for c in GOOSE_STREAM_COLUMNS})
    t = table.reset_index(drop=True)
    lost = None
    if capture_loss:
        from .loss import in_windows
        lost = lambda a, b: bool(in_windows(np.array([a]), np.array([b]), capture_loss)[0])  # noqa: E731
    keys = ["src_mac", "appid", "gocb_ref"]
    out = []
    for key, grp in t.groupby(keys, sort=False, dropna=False):
        ok = grp[~grp["malformed"] & grp["st_num"].notna() & grp["sq_num"].notna()]
        rows = zip(ok["time"].to_numpy(), ok["st_num"].astype(np.int64).to_numpy(),
                   ok["sq_num"].astype(np.int64).to_numpy(),
                   ok["time_allowed_to_live"].to_numpy(dtype=object, na_value=None),
                   ok["all_data"].to_numpy(), ok["conf_rev"].to_numpy(dtype=object,
                                                                      na_value=None),
                   ok["t"].to_numpy())
        c = _publisher(rows, lost)
        foreign, _, _ = attribute_frames(ok["st_num"].to_numpy(dtype=np.float64),
                                         ok["sq_num"].to_numpy(dtype=np.float64))
        foreign_frames = [int(f) for f in ok["frame"].to_numpy()[foreign]]
        first = grp.iloc[0]
        st = ok["st_num"]
        out.append({
            "src_mac": key[0], "appid": key[1], "gocb_ref": key[2],
            "go_id": first["go_id"], "dat_set": first["dat_set"],
            "transport": first["transport"], "messages": len(grp),
            "first_time": grp["time"].min(), "last_time": grp["time"].max(),
            "st_num_first": st.iloc[0] if len(st) else pd.NA,
            "st_num_last": st.iloc[-1] if len(st) else pd.NA,
            **c,
            "simulation_messages": int(grp["simulation"].fillna(False).sum()),
            "sim_bit_messages": int(grp["sim_bit"].sum()),
            "nds_com_messages": int(grp["nds_com"].fillna(False).sum()),
            "malformed": int(grp["malformed"].sum()),
            "foreign_count": len(foreign_frames),
            "foreign_frames": foreign_frames[:MAX_FOREIGN_LISTED],
        })
    res = pd.DataFrame(out)
    res["other_src_macs"] = other_src_macs(res, ["appid", "gocb_ref"])
    notes = [_anomalies(r) for r in res.itertuples(index=False)]
    res["anomalies"] = [n for n, _ in notes]
    res["suspicious"] = np.array([s for _, s in notes], dtype=bool)
    for col in ("appid", "st_num_first", "st_num_last", "tal_ms"):
        res[col] = pd.array(res[col], dtype="Int64")
    return res[GOOSE_STREAM_COLUMNS]


def _anomalies(r) -> tuple[str, bool]:
    notes, sus = [], False
    rules = [
        (r.st_backwards, "messages with an older stNum than the newest (replay / injection)", True),
        (r.sq_backwards, "messages with an older sqNum in the current state (replay / injection)",
         True),
        (r.sq_repeats, "repeated stNum+sqNum (replay / injection)", True),
        (r.foreign_count, "messages of a foreign sequence interleaved with the publisher's own "
                          "(injected: frames " + ", ".join(map(str, r.foreign_frames[:5]))
                          + (" ..." if r.foreign_count > 5 else "") + ")", True),
        (r.st_repeat_diff_data, "same stNum with different allData (poisoning)", True),
        (r.reverted_events, f"state changes undone within {REVERT_WINDOW_S:g} s "
                            "(injected then withdrawn value, or chatter)", True),
        (len(r.other_src_macs), "other source MACs for this gocbRef/APPID: "
                                + ", ".join(r.other_src_macs) + " (spoofing?)", True),
        (r.tal_violations, "messages later than the previous timeAllowedToLive", False),
        (r.sq_gaps, f"sqNum gaps ({r.sq_lost} messages missing)", False),
        (r.sq_not_reset, "new states whose sqNum did not restart at 0/1", False),
        (r.st_jumps, "stNum jumps (state changes not seen)", False),
        (r.st_late, "messages with new allData before their stNum increment (device quirk)",
         False),
        (r.restarts, "publisher restarts (stNum/sqNum back to initial values)", False),
        (r.conf_rev_changes, "confRev changes", False),
        (r.simulation_messages, "messages with simulation/test set", False),
        (r.sim_bit_messages, "frames with the header simulate bit set", False),
        (r.nds_com_messages, "messages with ndsCom (needs commissioning) set", False),
        (r.capture_lost, "messages or states not seen while the capture dropped frames "
                         "(capture loss)", False),
        (r.malformed, "malformed messages", False),
    ]
    for count, text, is_sus in rules:
        if count:
            notes.append(f"{count} {text}" if not text.startswith("other") else text)
            sus = sus or is_sus
    return "; ".join(notes), sus


#: Sequences followed at once when attributing frames to publishers (bounds the work
#: per frame on a capture full of forged counters).
MAX_CHAINS = 64


def attribute_frames(st, sq) -> tuple:
    """Which frames of one publisher (stNum / sqNum arrays in capture order) cause its
    anomalies: ``(foreign, repeat, event)`` boolean arrays.

    Frames are followed as sequences: a frame continues the sequence whose stNum it
    repeats with a higher sqNum, or starts a new one (a new stNum forks from the
    current state, which stays open; an older state or a restart starts afresh).  A
    sequence that begins while an earlier genuine sequence goes on afterwards is
    *foreign* (an injected or replayed stream interleaved with the publisher's own):
    all of its frames are marked, and the publisher's own frames are not, whatever
    their stNum.  A sequence that takes over when the previous one stops is the
    publisher's next state (an event).  ``repeat`` marks a frame repeating or going
    back on its own sequence's sqNum; ``event`` the first frame of each genuine
    sequence after the first.
    """
    n = len(st)
    chain_of = np.full(n, -1, dtype=np.int64)
    chains: list = []                # [st, sq, first index, last index]
    repeat = np.zeros(n, dtype=bool)
    for i in range(n):
        s_i, q_i = st[i], sq[i]
        if s_i != s_i or q_i != q_i:  # NaN
            continue
        best = None
        for k in range(len(chains) - 1, max(-1, len(chains) - 1 - MAX_CHAINS), -1):
            c = chains[k]
            if c[0] == s_i:
                best = k
                break
        if best is not None:
            c = chains[best]
            if q_i <= c[1]:
                repeat[i] = True
            else:
                c[1] = q_i
            c[3] = i
            chain_of[i] = best
            continue
        chains.append([s_i, q_i, i, i])
        chain_of[i] = len(chains) - 1
    genuine = []
    foreign_chain = np.zeros(len(chains), dtype=bool)
    for k, c in enumerate(chains):
        if any(chains[g][2] < c[2] < chains[g][3] for g in genuine):
            foreign_chain[k] = True
        else:
            genuine.append(k)
    foreign = np.zeros(n, dtype=bool)
    event = np.zeros(n, dtype=bool)
    ok = chain_of >= 0
    foreign[ok] = foreign_chain[chain_of[ok]]
    for k in genuine[1:]:
        event[chains[k][2]] = True
    return foreign, repeat & ~foreign, event


def plot_goose_timeline(table: pd.DataFrame, path, max_publishers: int = 20) -> str:
    """GOOSE event timeline per publisher, as a PNG at ``path``; returns ``path``.

    Top: one lane per publisher (gocbRef, APPID): a dot per message, a triangle
    per event (new stNum, annotated with the stNum), a red cross on each frame of a
    sequence that contradicts the publisher's own (see :func:`attribute_frames`: the
    injected frames, not the genuine ones they contradict), an orange plus on a
    repeated or older sqNum.  Bottom: sqNum over time
    (log scale), the retransmission sawtooth that restarts at each event.  The
    ``max_publishers`` busiest publishers are drawn.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = table[~table["malformed"] & table["st_num"].notna()] if len(table) else table
    keys = ["src_mac", "appid", "gocb_ref"]
    pubs = ok.groupby(keys, dropna=False).size().sort_values(ascending=False) if len(ok) \
        else pd.Series(dtype=int)
    shown = list(pubs.index[:max_publishers])
    if not shown:
        from ..plots import _empty
        return _empty(path, "GOOSE publishers: events and retransmissions", "no GOOSE in this capture")
    lane_h = max(2.5, 0.35 * len(shown) + 1)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, lane_h + 3.5), sharex=True,
                                   gridspec_kw={"height_ratios": [lane_h, 3.0]})
    if shown:
        t0 = ok["time"].min()
        cmap = plt.get_cmap("tab10" if len(shown) <= 10 else "tab20")
        labels = []
        for i, key in enumerate(shown):
            m = np.ones(len(ok), dtype=bool)
            for k, v in zip(keys, key):
                m &= (ok[k] == v).to_numpy(dtype=bool, na_value=False)
            s = ok[m]
            tt = s["time"].to_numpy() - t0
            st = s["st_num"].to_numpy(dtype=np.float64)
            sq = s["sq_num"].to_numpy(dtype=np.float64)
            color = cmap(i % cmap.N)
            y = np.full(len(tt), float(i))
            ax1.plot(tt, y, ".", color=color, ms=3)
            foreign, repeat, event = attribute_frames(st, sq)
            ax1.plot(tt[event], y[event], "^", color=color, ms=8, mec="black", mew=0.5)
            for x, v in list(zip(tt[event], st[event]))[:40]:
                ax1.annotate(f"{int(v)}", (x, i), xytext=(2, 5), textcoords="offset points",
                             fontsize=6)
            if foreign.any():
                ax1.plot(tt[foreign], y[foreign], "x", color="red", ms=8, mew=1.8)
            if repeat.any():
                ax1.plot(tt[repeat], y[repeat], "+", color="darkorange", ms=9, mew=1.8)
            ax2.plot(tt, sq + 1, ".", color=color, ms=3)
            ref = str(key[2]).replace("$", r"\$")
            appid = f"0x{int(key[1]):04X}" if not pd.isna(key[1]) else "?"
            labels.append(f"{ref} ({appid})")
        ax1.set_yticks(range(len(shown)))
        ax1.set_yticklabels(labels, fontsize=7)
        ax1.set_ylim(len(shown) - 0.5, -0.5)
        ax1.plot([], [], "^", color="grey", mec="black", mew=0.5, label="event (new stNum)")
        ax1.plot([], [], "x", color="red", mew=1.8, label="foreign sequence (contradicts the publisher's own)")
        ax1.plot([], [], "+", color="darkorange", mew=1.8, label="repeated / older sqNum")
        ax1.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2,
                   frameon=False, borderaxespad=0.2)
        title = "GOOSE publishers: events and retransmissions"
        if len(pubs) > max_publishers:
            title += f" ({max_publishers} busiest of {len(pubs)})"
        ax1.set_title(title, loc="left")
    ax1.grid(True, axis="x", alpha=0.3)
    ax1.set_ylabel("publisher (gocbRef, APPID)")
    ax2.set_yscale("log")
    ax2.set_ylabel("sqNum + 1")
    ax2.set_xlabel("time since first GOOSE message (s)")
    ax2.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
