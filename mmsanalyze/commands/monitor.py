"""``mmsanalyze monitor``: a live dashboard of a station's health on an interface.

Refreshed about once a second (rich): capture rate and kernel drops, MMS servers
(requests/s, rolling p50/p99 latency, errors), report streams (cadence, SeqNum
gaps, silence), GOOSE publishers, SV streams, and an alert log.  ``q`` or Ctrl-C
ends it and prints the final state.  When stdout is not a terminal it prints the
same tables as plain text every ``--interval`` seconds.  Also takes a capture
file (``-r``), replayed at full speed, for the same final tables.
"""

from __future__ import annotations

import json
import sys
import threading
import time

HELP = "live dashboard: capture rate and drops, MMS servers, reports, GOOSE, SV, alerts (q/Ctrl-C ends)"

EXAMPLES = """examples:
  mmsanalyze monitor -i eth1
  mmsanalyze monitor -i eth1 -f 'ether proto 0x88ba or tcp port 102' -B 128 --alerts alerts.jsonl
  mmsanalyze monitor -i eth1 -a duration:60 --interval 5 > health.txt
  mmsanalyze monitor -i eth1 -w bay1.pcapng -b filesize:100000 -b files:10
"""


def register(p) -> None:
    p.add_argument("--interval", type=float, default=None, metavar="SEC",
                   help="print a text snapshot every SEC seconds (default: a live dashboard on a "
                        "terminal, every 10 s otherwise)")
    p.add_argument("--format", "-T", dest="format", choices=("text", "json"), default="text",
                   help="the final state as text tables (default) or one JSON object (periodic "
                        "snapshots stay text)")
    p.add_argument("--alerts", metavar="FILE.jsonl",
                   help="append every alert as one JSON object per line (for a SIEM)")
    p.add_argument("-w", dest="write", metavar="FILE.pcapng",
                   help="also write every captured frame to FILE.pcapng (nanosecond timestamps)")
    p.add_argument("-b", dest="ring", action="append", default=[], metavar="KEY:VALUE",
                   help="ring buffer for -w, as dumpcap: filesize:KB, files:N, duration:SEC (repeatable "
                        "or comma-separated)")
    p.add_argument("--keep-root", action="store_true",
                   help="do not drop root after opening the capture (default: drop to the sudo "
                        "user or nobody before any frame is decoded, as dumpcap does)")
    p.epilog = EXAMPLES


def run(args) -> int:
    from ..cli import open_frames, ports_of
    from ..errors import CaptureError
    from ..monitor import Monitor
    if args.interval is not None and not args.interval > 0:
        raise CaptureError(f"--interval must be positive, not {args.interval}")
    alerts_fh = None
    if args.alerts:
        try:
            alerts_fh = open(args.alerts, "a", encoding="utf-8")
        except OSError as exc:
            raise CaptureError(f"{args.alerts}: {exc.strerror or exc}") from None
    from ..io.rotate import RotatingWriter, parse_ring_options
    ring = parse_ring_options(args.ring)
    if ring and not args.write:
        raise CaptureError("-b needs -w FILE.pcapng")
    reader, frames = open_frames(args)
    live = bool(args.interface)
    writer = None
    if args.write:               # opened before root is dropped, like dumpcap
        try:
            writer = RotatingWriter(args.write, min(reader.linktypes) if reader.linktypes else 1, **ring)
        except CaptureError:
            reader.close()
            raise

    def on_alert(a):
        if alerts_fh is not None:
            alerts_fh.write(json.dumps(a, default=str) + "\n")
            alerts_fh.flush()

    mon = Monitor(ports_of(args), reader=reader if live else None, on_alert=on_alert)
    if live and not args.keep_root:
        # everything the monitor will import is imported now: after the drop the
        # interpreter's own files may be unreadable (a root-only installation)
        _preload(mon)
        from ..io.privileges import drop_privileges
        drop_privileges()
    done = threading.Event()
    stop = threading.Event()
    errors: list = []

    def capture():
        try:
            for fr in frames:
                if writer is not None:
                    writer.write(fr)
                mon.feed(fr)
                if stop.is_set():
                    break
        except Exception as exc:          # noqa: BLE001 - reported below, never a traceback
            errors.append(exc)
        finally:
            done.set()

    th = threading.Thread(target=capture, name="mmsanalyze-capture", daemon=True)
    th.start()
    dashboard = live and sys.stdout.isatty() and args.interval is None
    try:
        if dashboard:
            _dashboard(mon, done, stop)
        else:
            # periodic text snapshots: every --interval seconds, or every 10 s live (not
            # when the final state is asked for as JSON: stdout is then one JSON object)
            every = args.interval if args.interval else (10.0 if live and args.format == "text" else None)
            next_at = time.monotonic() + every if every else None
            while not done.wait(0.2):
                if next_at is not None and time.monotonic() >= next_at:
                    _print_text(mon.snapshot())
                    next_at += every
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        reader.close()
        th.join(10)
        if writer is not None:
            writer.close()
        snap = mon.finish()
        if alerts_fh is not None:
            alerts_fh.close()
    if errors:
        raise CaptureError(f"capture stopped: {errors[0]}")
    if args.format == "json":
        sys.stdout.write(json.dumps(snap, default=str) + "\n")
    else:
        _print_text(snap, final=True)
    cap = snap["capture"]
    if writer is not None:
        print(f"wrote {writer.frames} frames to {', '.join(writer.written)}", file=sys.stderr)
    if cap.get("dropped") is not None:
        print(f"{reader.name}: {cap['frames']} frames captured, {cap.get('dropped', 0)} dropped by the "
              "kernel", file=sys.stderr)
    return 0


def _preload(mon) -> None:
    """Import every module the monitor and its rendering use, by using them once."""
    import io
    import importlib
    for name in ("mmsanalyze.analysis.loss", "mmsanalyze.analysis.sv", "mmsanalyze.analysis.goose",
                 "mmsanalyze.analysis.reports", "mmsanalyze.mms", "rich.console", "rich.live",
                 "rich.table", "rich.text", "rich.box", "termios", "tty", "select"):
        importlib.import_module(name)
    snap = mon.snapshot()
    from rich.console import Console, Group
    Console(file=io.StringIO(), width=120).print(Group(*_tables(snap)))
    mon.tick(0.0)                      # the collectors' empty paths
    mon.last_tick = None
    mon.alerts.clear()
    mon._rate.clear()


# -- rendering -------------------------------------------------------------------------

def _fmt(v, nd=1):
    if v is None or v != v:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _tables(snap):
    """The dashboard as rich renderables (also printed as plain text)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text
    cap = snap["capture"]
    head = (f"{_fmt(cap['frames_per_s'], 0)} frames/s  {_fmt(cap['bits_per_s'] / 1e6, 2)} Mbit/s  "
            f"{cap['frames']} frames")
    if cap.get("received") is not None:
        head += f"  kernel: {cap.get('received')} received, {cap.get('dropped')} dropped"
    if cap.get("ring_usage") is not None:
        head += f"  ring {cap['ring_usage'] * 100:.0f}% full"
    if cap.get("protocols"):
        head += "  [" + ", ".join(f"{k} {v}" for k, v in sorted(cap["protocols"].items())) + "]"
    out = [Text(head, style="bold red" if cap.get("dropped") else "bold")]

    def table(title, cols, rows):
        t = Table(title=title, title_justify="left", expand=False, pad_edge=False,
                  box=box.ASCII if _ASCII else box.SIMPLE_HEAD, safe_box=True, collapse_padding=True)
        for i, c in enumerate(cols):
            # the first column names the thing and may fold; figures never wrap
            t.add_column(c, overflow="fold", no_wrap=i > 0 and c not in _FOLDABLE,
                         min_width=12 if i == 0 else (8 if c in _FOLDABLE else None))
        for r in rows:
            t.add_row(*r)
        return t

    if snap["mms"]:
        out.append(table("MMS servers", ("server", "req/s", "requests", "p50 ms", "p99 ms", "errors",
                                         "last error"),
                         [(s["server"], _fmt(s["requests_per_s"]), str(s["requests"]), _fmt(s["p50_ms"], 2),
                           _fmt(s["p99_ms"], 2), str(s["errors"]), s["last_error"] or "")
                          for s in snap["mms"]]))
    if snap["reports"]:
        out.append(table("Reports", ("server", "RptID", "reports", "interval s", "SeqNum gaps", "state"),
                         [(r["server"], str(r["rpt_id"]), str(r["reports"]), _fmt(r["interval_s"], 2),
                           str(r["seq_gaps"]), "SILENT" if r["silent"] else "ok") for r in snap["reports"]]))
    if snap["goose"]:
        out.append(table("GOOSE publishers", ("gocbRef", "src", "APPID", "msgs", "events", "TAL viol.",
                                              "sq gaps", "sim", "state"),
                         [(g["gocb_ref"], g["src_mac"], _hex(g["appid"]), str(g["messages"]), str(g["events"]),
                           str(g["tal_violations"]), str(g["sq_gaps"]), str(g["simulation"]),
                           "SUSPICIOUS" if g["suspicious"] else ("ok" if g["alive"] else "SILENT"))
                          for g in snap["goose"]]))
    if snap["sv"]:
        out.append(table("SV streams", ("svID", "src", "APPID", "rate/s", "ASDUs", "lost", "cap.lost",
                                        "synch", "jitter", "state"),
                         [(s["sv_id"], s["src_mac"], _hex(s["appid"]), _fmt(s["rate"], 0), str(s["asdus"]),
                           str(s["lost_samples"]), str(s["capture_lost"]), _fmt(s["smp_synch"]),
                           _fmt(s["jitter_us"], 0) + ("us" if s["jitter_us"] == s["jitter_us"] else ""),
                           ("SUSPICIOUS" if s["suspicious"] else "ok") + (" sim" if s["sim_frames"] else ""))
                          for s in snap["sv"]]))
    if snap.get("test"):
        out.append(table("IEDs in test, blocked, off or simulated", ("server", "LD/LN", "attribute", "value", "since"),
                         [(t["server"], f"{t['ld']}/{t['ln']}" if t["ln"] else t["ld"], t["attribute"],
                           t["value"], time.strftime("%H:%M:%S", time.localtime(t["time"])) if t["time"] else "-")
                          for t in snap["test"]]))
    alerts = snap["alerts"][-8:]
    if alerts:
        out.append(table("Alerts (newest last)", ("time", "severity", "what", "message"),
                         [(time.strftime("%H:%M:%S", time.localtime(a["time"])), a["severity"], a["what"],
                           a["message"]) for a in alerts]))
    if not (snap["mms"] or snap["goose"] or snap["sv"]):
        out.append(Text("no MMS, GOOSE or SV traffic yet"))
    return out


#: Draw tables with ASCII only (set per print from the output's encoding).
_ASCII = False

#: Columns that may fold onto several lines when the terminal is narrow.
_FOLDABLE = {"src", "last error", "message", "server", "state"}


def _hex(v):
    return "-" if v is None else f"0x{v:04x}"


def _print_text(snap, final=False) -> None:
    from rich.console import Console
    enc = (getattr(sys.stdout, "encoding", None) or "ascii").lower().replace("-", "")
    ascii_only = enc not in ("utf8", "utf16", "utf32")
    console = Console(file=sys.stdout, force_terminal=False, no_color=True, width=160,
                      highlight=False, soft_wrap=False, legacy_windows=False,
                      safe_box=True, emoji=False)
    global _ASCII
    _ASCII = ascii_only         # tables drawn with ASCII rules on a non-UTF-8 stdout

    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snap["time"])) if snap["time"] else "-"
    console.print(("final state at " if final else "--- ") + stamp)
    for r in _tables(snap):
        console.print(r)
    sys.stdout.flush()


def _dashboard(mon, done, stop) -> None:
    """rich Live dashboard until the capture ends, ``q`` or Ctrl-C."""
    from rich.console import Group
    from rich.live import Live
    keys = _KeyReader(stop)
    keys.start()
    try:
        with Live(Group(*_tables(mon.snapshot())), refresh_per_second=2, screen=False,
                  transient=False) as view:
            while not done.wait(1.0) and not stop.is_set():
                view.update(Group(*_tables(mon.snapshot())))
    finally:
        keys.close()


class _KeyReader(threading.Thread):
    """Sets ``stop`` when ``q`` is typed (stdin in cbreak mode while the dashboard runs)."""

    def __init__(self, stop):
        super().__init__(name="mmsanalyze-keys", daemon=True)
        self.stop_event = stop
        self._saved = None

    def run(self) -> None:
        try:
            import select
            import termios
            import tty
            if not sys.stdin.isatty():
                return
            fd = sys.stdin.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            while not self.stop_event.is_set():
                r, _, _ = select.select([fd], [], [], 0.2)
                if r and sys.stdin.read(1) in ("q", "Q"):
                    self.stop_event.set()
        except (OSError, ValueError, ImportError):
            return

    def close(self) -> None:
        if self._saved is not None:
            import termios
            try:
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved)
            except (OSError, ValueError):
                pass
