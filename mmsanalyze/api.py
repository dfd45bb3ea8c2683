"""The Python API: ``read_capture(source) -> Capture`` and its tables.

One streaming pass through :class:`~mmsanalyze.pipeline.Pipeline` keeps the MMS PDU
records, the OSI/TCP connection events, the GOOSE/SV collectors and a traffic
counter; every table is built on first use and cached::

    import mmsanalyze
    cap = mmsanalyze.read_capture("station.pcapng")
    cap.transactions().query("status != 'ok'")
    cap.latency_stats()
    cap.reports(); cap.report_cadence()
    cap.errors(); cap.associations(); cap.files(); cap.traffic(by="second")

Each table method's docstring lists its columns (``help(Capture.transactions)``);
``docs/columns.md`` has them all.  Times are float epoch seconds.
"""

from __future__ import annotations

import os
import sys
import time

from .analysis.traffic import TrafficCounter
from .pipeline import P_MMS, Pipeline
from .records import PduRecord

__all__ = ["read_capture", "Capture", "ConnInfo"]

#: Files at least this large get a progress bar (when asked for and stderr is a TTY).
PROGRESS_MIN_BYTES = 20 * 1024 * 1024


def read_capture(source, ports=(102,), progress: bool = False, count: int | None = None,
                 scl=None, **live_options) -> "Capture":
    """Read a capture (path, binary file object or live interface name) in one pass.

    Args:
        source: pcap / pcapng file (optionally gzip-compressed), a binary file object,
            an interface name for a live capture (then give ``count`` or a ``timeout``), a list
            of capture files read as one capture (rotated files, ordered by first frame time),
            or an open reader (:func:`mmsanalyze.io.open_live`, ``open_capture``).
        ports: TCP ports carrying ISO-on-TCP (TPKT); 102 is always included.
        progress: draw a progress bar on stderr (only when stderr is a terminal).
        count: stop after this many frames.
        scl: an SCL file (path) or :class:`mmsanalyze.scl.SclModel`: tables then carry SCL
            names (see :mod:`mmsanalyze.scl.annotate`) and :meth:`Capture.scl_check` works.
        live_options: for an interface: ``bpf_filter`` (capture filter), ``timeout``
            (seconds; stop then), ``snaplen``, ``promisc`` (see :func:`mmsanalyze.io.open_live`).

    Returns:
        A :class:`Capture` whose table methods are computed lazily and cached.

    Raises:
        CaptureError: the file is missing or not a capture.
    """
    return Capture(source, ports=ports, progress=progress, count=count, scl=scl, **live_options)


class ConnInfo:
    """What is known of one TCP connection on an analysed port (snapshot at the end).

    ``client``/``server`` are ``(addr, port)``; ``fin`` per direction (0 = from the
    client); ``rst``; ``syn`` (the handshake was captured); ``first_time``,
    ``last_time``, ``first_frame``.
    """

    __slots__ = ("stream", "client", "server", "fin", "rst", "syn", "first_time", "last_time", "first_frame")

    def __init__(self, conn):
        self.stream = conn.stream
        self.client = conn.client
        self.server = conn.server
        self.fin = tuple(conn.fin)
        self.rst = conn.rst
        self.syn = conn.syn_seq is not None or bool(conn.dirs and conn.dirs[0].started_with_syn)
        self.first_time = conn.first_time
        self.last_time = conn.last_time
        self.first_frame = conn.first_frame

    def __repr__(self):
        return f"<ConnInfo {self.stream} {self.client}->{self.server}>"


class _Progress:
    """A one-line progress bar on stderr, redrawn at most 5 times a second."""

    def __init__(self, total: int, label: str):
        self.total, self.label = max(total, 1), label
        self.next = 0.0
        self.start = time.monotonic()

    def update(self, done: int, frames: int) -> None:
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + 0.2
        frac = min(done / self.total, 1.0)
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {frac * 100:5.1f}% {frames} frames "
                         f"{now - self.start:5.1f}s")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\r" + " " * 79 + "\r")
        sys.stderr.flush()


def _collectors():
    """GOOSE / SV collectors and the 90-5/GSSE recogniser, when those packages are present."""
    goose = sv = l2 = None
    try:
        from .goose import GooseCollector
        goose = GooseCollector()
    except ImportError:
        pass
    try:
        from .sv import SvCollector
        sv = SvCollector()
    except ImportError:
        pass
    try:
        from .analysis.l2 import L2Collector
        l2 = L2Collector(goose, sv)
    except ImportError:
        pass
    return goose, sv, l2


class Capture:
    """A capture read once; the tables are computed on first use and cached.

    Attributes:
        name: the source's name.  frames: frames read.  first_time, last_time: epoch
        seconds of the first and last frame (None for an empty capture).
        records: the MMS :class:`~mmsanalyze.records.PduRecord` list, in capture order.
        events: the :class:`~mmsanalyze.records.OsiEvent` list (TCP SYN/FIN/RST, COTP,
        session, presentation, ACSE units).  conns: stream -> :class:`ConnInfo`.
    """

    def __init__(self, source, ports=(102,), progress: bool = False, count: int | None = None,
                 scl=None, **live_options):
        from .io import open_source
        self.scl = _load_scl(scl)
        self.name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else \
            str(getattr(source, "name", "<stream>"))
        opened = _is_reader(source)
        self.ports = tuple(sorted(set((102,) + tuple(ports))))
        self.records: list[PduRecord] = []
        self.events: list = []
        self.conns: dict[int, ConnInfo] = {}
        self.frames = 0
        self.first_time = self.last_time = None
        self._cache: dict = {}
        reader = source if opened else open_source(source, **live_options)
        if isinstance(source, (list, tuple)):       # rotated files read as one capture
            self.name = reader.name
        self.format = getattr(reader, "format", None)
        bar = None
        if progress and sys.stderr.isatty():
            size = _size(getattr(source, "name", None) if opened else source)
            if size >= PROGRESS_MIN_BYTES:
                bar = _Progress(size, os.path.basename(self.name))
        try:
            self._read(reader, count, bar)
        finally:
            before = len(getattr(reader, "findings", ()))
            reader.close()
            if bar is not None:
                bar.close()
        # a live reader reports what the kernel dropped when it closes
        self.pipeline_findings.extend(list(getattr(reader, "findings", []))[before:])
        stats = getattr(reader, "stats", None)
        #: live captures: {"received", "dropped", "delivered", ...} kernel counters, else None
        self.capture_stats = stats() if callable(stats) else None
        #: live captures: windows (start, end, dropped, frame) in which frames were dropped
        self.capture_loss = list(getattr(reader, "loss_events", []))
        for c in (self.goose_collector, self.sv_collector):
            if c is not None:
                c.capture_loss = self.capture_loss

    # -- the one pass -------------------------------------------------------------
    def _read(self, reader, count, bar) -> None:
        self.traffic_counter = traffic = TrafficCounter()
        self.goose_collector, self.sv_collector, self.l2_collector = _collectors()
        from .analysis.tls import TcpWatcher
        self.tcp_watcher = TcpWatcher()          # TLS on 3782, ISO-TSAP on other ports (security())
        pipe = Pipeline(self.ports, goose=self.goose_collector, sv=self.sv_collector,
                        l2=self.l2_collector, traffic=traffic, tcp_watcher=self.tcp_watcher)
        conns = {}                      # stream -> net.tcp.Connection (analysed ports)
        pdus, events = self.records, self.events
        feed = pipe.feed
        fileobj = getattr(reader, "_file", None)
        n = 0
        first = None
        live = getattr(reader, "format", None) == "live"
        #: a live capture stopped with Ctrl-C: the tables cover the frames before it (tshark's way)
        self.interrupted = False
        try:
            for fr in reader:
                n += 1
                if first is None:
                    first = fr.ts
                out = feed(fr)
                if out:
                    here = False
                    for r in out:
                        if r.__class__ is PduRecord:
                            pdus.append(r)
                            if r.frame == fr.number:
                                here = True
                        else:
                            events.append(r)
                    if here:
                        traffic.reclassify_last(P_MMS)
                if bar is not None and (n == 1 or not n & 1023):
                    bar.update(_tell(fileobj), n)
                if count is not None and n >= count:
                    break
        except KeyboardInterrupt:
            if not live:
                raise
            self.interrupted = True
        for r in pipe.finish():
            (pdus if r.__class__ is PduRecord else events).append(r)
        self.frames = n
        self.first_time, self.last_time = first, (pipe.last_time if n else None)
        for c in pipe.connections():
            conns[c.stream] = c
        self.conns = {s: ConnInfo(c) for s, c in sorted(conns.items()) if c.dirs is not None}
        self.pipeline_findings = list(getattr(reader, "findings", [])) + list(pipe.findings)

    # -- helpers --------------------------------------------------------------------
    def _cached(self, key, fn):
        v = self._cache.get(key)
        if v is None:
            v = fn()
            if self.scl is not None:
                from .scl.annotate import annotate
                v = annotate(self, key, v)
            self._cache[key] = v
        return v

    @property
    def duration(self) -> float:
        """Seconds between the first and the last frame (0 for an empty capture)."""
        return (self.last_time - self.first_time) if self.first_time is not None else 0.0

    def __repr__(self):
        return (f"<Capture {self.name!r}: {self.frames} frames, {len(self.records)} MMS PDUs, "
                f"{len(self.conns)} ISO connections>")

    # -- tables ---------------------------------------------------------------------
    def pdus(self, detail: bool = False):
        """One row per MMS PDU (``detail=True`` adds ``access_results`` and ``detail``)."""
        from .analysis.pdus import pdus_table
        return self._cached(("pdus", detail), lambda: pdus_table(self.records, detail))

    def _txns(self):
        from .analysis.transactions import match_transactions
        return self._cached("txns", lambda: match_transactions(self.records))

    def transactions(self):
        """One row per confirmed request, matched with its response by invokeID."""
        from .analysis.transactions import transactions_table
        return self._cached("transactions", lambda: transactions_table(self._txns(), self.conns))

    def latency_stats(self, by: str = "service"):
        """Latency count/min/p50/p90/p99/max (ms) of answered transactions.

        ``by`` is ``'service'`` (default), ``'server'`` or ``'server_service'``.
        """
        from .analysis.latency import latency_stats
        return self._cached(("latency", by), lambda: latency_stats(self.transactions(), by))

    def slowest(self, n: int = 10):
        """The ``n`` answered transactions with the highest latency (transactions columns)."""
        from .analysis.latency import slowest
        return slowest(self.transactions(), n)

    def reports(self, reassemble: bool = False):
        """One row per IEC 61850 report PDU (InformationReport named ``RPT``).

        ``reassemble=True`` merges the segments of segmented reports into one row.
        """
        from .analysis import reports as R
        if reassemble:
            return self._cached("reports+", lambda: R.reassemble(self.reports()))
        return self._cached("reports", lambda: R.reports_table(self.records, self.conns))

    def report_cadence(self):
        """Per (stream, rpt_id): counts, intervals, integrity period, seq_num health."""
        from .analysis.reports import report_cadence
        return self._cached("cadence", lambda: report_cadence(self.reports(reassemble=True)))

    def controls(self):
        """Control-model traffic: Select/Operate/Cancel writes, CommandTermination, LastApplError."""
        from .analysis.controls import controls_table
        return self._cached("controls", lambda: controls_table(self.records, self.transactions(), self.conns))

    def errors(self):
        """One row per error occurrence (service, data-access, reject, abort, LastApplError ...)."""
        from .analysis.errors import errors_table
        return self._cached("errors", lambda: errors_table(self.records, self.events, self._txns(),
                                                           self.conns))

    def associations(self):
        """One row per ISO/MMS association (TCP connection on an analysed port)."""
        from .analysis.associations import associations_table
        return self._cached("associations", lambda: associations_table(self.records, self.events,
                                                                       self.conns))

    def files(self):
        """File transfers (fileOpen/fileRead/fileClose, obtainFile) with size and sha256."""
        from .analysis.files import files_table
        return self._cached("files", lambda: files_table(self._file_transfers(), self.conns))

    def file_directory(self):
        """One row per entry of every fileDirectory listing seen."""
        from .analysis.files import directory_table
        return self._cached("dir", lambda: directory_table(self.records, self.conns, self._txns()))

    def _file_transfers(self):
        from .analysis.files import reconstruct
        return self._cached("transfers", lambda: reconstruct(self.records, self._txns()))

    def extract_files(self, directory, complete_only: bool = True, strip_root: bool = False,
                      overwrite: bool = False) -> list:
        """Write the reconstructed files into ``directory`` (never outside it).

        Names with ``..``, drive letters or control characters are refused, and so are
        absolute names unless ``strip_root`` (the filestore root then maps to
        ``directory``); symlinks are never followed.  Returns ``[(name, path or None, note)]``
        with note ``written``, ``duplicate``, ``exists (same content)``, ``incomplete`` or
        ``refused: why``.  Files already on disk are kept (a different content gets a
        ``.N`` suffix) unless ``overwrite``.
        """
        from .analysis.files import extract
        return extract(self._file_transfers(), directory, complete_only, strip_root, overwrite)

    def traffic(self, by: str | None = None):
        """Frames, bytes and share per protocol; ``by='second'`` or ``by='source'`` to split."""
        t = self.traffic_counter
        if by is None:
            return self._cached("traffic", t.table)
        if by == "second":
            return self._cached("traffic/s", t.per_second_table)
        if by == "source":
            return self._cached("traffic/src", t.per_source_table)
        raise ValueError("by must be None, 'second' or 'source'")

    def goose(self):
        """One row per GOOSE message (see :meth:`mmsanalyze.goose.GooseCollector.table`)."""
        if self.goose_collector is None:
            raise RuntimeError("GOOSE support (mmsanalyze.goose) is not available")
        return self._cached("goose", self.goose_collector.table)

    def goose_streams(self):
        """Per-publisher GOOSE health (see :func:`mmsanalyze.analysis.goose.goose_streams`)."""
        if self.goose_collector is None:
            raise RuntimeError("GOOSE support (mmsanalyze.goose) is not available")
        return self._cached("goose_streams", self.goose_collector.streams)

    def sv(self):
        """One row per SV ASDU (see :meth:`mmsanalyze.sv.SvCollector.table`)."""
        if self.sv_collector is None:
            raise RuntimeError("SV support (mmsanalyze.sv) is not available")
        return self._cached("sv", self.sv_collector.table)

    def sv_streams(self):
        """Per-stream SV health (see :func:`mmsanalyze.analysis.sv.sv_streams`)."""
        if self.sv_collector is None:
            raise RuntimeError("SV support (mmsanalyze.sv) is not available")
        return self._cached("sv_streams", self.sv_collector.streams)

    def sv_samples(self):
        """9-2LE sample values per ASDU (see :meth:`mmsanalyze.sv.SvCollector.samples`):
        ``time``, ``frame``, ``sv_id``, ``smp_cnt``, ``ia ib ic in`` (A), ``va vb vc vn`` (V)
        and their ``q_*`` quality words, decoded with numpy in batches."""
        if self.sv_collector is None:
            raise RuntimeError("SV support (mmsanalyze.sv) is not available")
        from .analysis.sv_signals import sample_columns
        return self._cached("sv_samples", lambda: sample_columns(
            self._cached("sv_samples_raw", self.sv_collector.samples), self._sv_signal_data()[1]))

    def _sv_signal_data(self, nominal=None):
        if self.sv_collector is None:
            raise RuntimeError("SV support (mmsanalyze.sv) is not available")
        from .analysis.sv_signals import stream_signals
        return self._cached(("sv_signals", nominal), lambda: stream_signals(
            self.sv(), self._cached("sv_samples_raw", self.sv_collector.samples), nominal))

    def sv_signals(self, nominal: float | None = None) -> list:
        """Each SV stream as a :class:`mmsanalyze.analysis.sv_signals.StreamSignal` (samples on
        the unwrapped smpCnt index, sample rate, nominal frequency, first-sample time).
        ``nominal`` forces the nominal frequency (Hz) instead of choosing 50 or 60."""
        return self._sv_signal_data(nominal)[0]

    def sv_rms(self, nominal: float | None = None):
        """RMS of every 9-2LE channel per nominal cycle of each SV stream (complete cycles only;
        see :mod:`mmsanalyze.analysis.sv_signals`)."""
        from .analysis.sv_signals import rms_table
        return self._cached(("sv_rms", nominal), lambda: rms_table(self.sv_signals(nominal)))

    def sv_phasors(self, frequency: str = "nominal", nominal: float | None = None):
        """Fundamental phasors (one-cycle DFT at the nominal or the measured frequency), sequence
        components and frequency per cycle of each SV stream."""
        from .analysis.sv_signals import phasor_table
        return self._cached(("sv_phasors", frequency, nominal),
                            lambda: phasor_table(self.sv_signals(nominal), frequency))

    def sv_waveform(self, stream=0, start: float | None = None, end: float | None = None):
        """One SV stream (number, svID or APPID) on a regular sample grid between epoch times
        ``start`` and ``end``; lost samples are rows with ``present`` False and NaN values."""
        from .analysis.sv_signals import select_streams, waveform
        return waveform(select_streams(self.sv_signals(), stream)[0], start, end)

    def write_comtrade(self, directory, stream=None, start: float | None = None,
                       end: float | None = None) -> list:
        """One COMTRADE 2013 record (``.cfg`` + BINARY32 ``.dat``) per SV stream (or the streams
        matching ``stream``) in ``directory``, never outside it; returns ``[(cfg, dat), ...]``.
        See :mod:`mmsanalyze.comtrade`."""
        from .analysis.sv_signals import select_streams
        from .comtrade import write_streams
        return write_streams(directory, select_streams(self.sv_signals(), stream), start, end)

    def control_sequences(self):
        """One row per control sequence (Select / Operate / Cancel of one control object and
        command, with its CommandTermination, LastApplError and AddCause, latencies and
        originator), grouped from :meth:`controls`."""
        from .analysis.control_sequences import control_sequences
        return self._cached("control_sequences", lambda: control_sequences(self.controls()))

    def identify(self):
        """One row per identify response: vendor, model and revision of each MMS peer that
        answered one (an asset list)."""
        from .analysis.identify import identify_table
        return self._cached("identify", lambda: identify_table(self.records, self.conns))

    def findings(self):
        """Decoding findings (capture file, pipeline, GOOSE, SV) as a table."""
        from .analysis.findings import findings_table
        extra = []
        for c in (self.goose_collector, self.sv_collector):
            if c is not None:
                extra.extend(c.findings)
        extra.extend(self._mode_tracker().findings())
        return self._cached("findings", lambda: findings_table(self.pipeline_findings + extra))

    def scl_check(self):
        """Configured (the ``scl=`` file) versus observed: one row per finding
        (see :data:`mmsanalyze.scl.compare.COLUMNS`)."""
        if self.scl is None:
            raise RuntimeError("no SCL file given (read_capture(..., scl=PATH))")
        from .scl import compare
        return self._cached("scl_check", lambda: compare.table(compare.scl_check(self, self.scl)))

    def scl_sv_values(self):
        """SV samples decoded by the SCL data set layout, one row per ASDU and channel
        (see :data:`mmsanalyze.scl.svlayout.COLUMNS`); for layouts other than 9-2LE."""
        if self.scl is None:
            raise RuntimeError("no SCL file given (read_capture(..., scl=PATH))")
        from .scl.svlayout import sv_values
        return self._cached("scl_sv_values", lambda: sv_values(self, self.scl))


    # -- IEC 61850 operating state (Mod / Beh / Health / test / simulation) -------------------
    #: Optional naming hook (:class:`mmsanalyze.iec61850.Namer`, e.g. built from SCL): IED
    #: names and data set members the capture does not carry.  Set before the first call.
    namer = None
    #: Seconds within which Beh must follow an accepted Mod change (mode findings).
    follow_timeout = None

    def _mode_tracker(self):
        from .analysis.modes import track
        namer = self.namer
        if namer is None and self.scl is not None:      # names from the SCL file
            from .scl.hooks import scl_namer
            namer = scl_namer(self.scl)
        return self._cached("mode_tracker", lambda: track(self, namer, self.follow_timeout))

    def ied_states(self):
        """One row per observation of an operating-state attribute (Mod, Beh, Health, LPHD.Sim,
        quality test bit, GOOSE/SV simulation flag) or request (Mod/Sim writes, controls with Test)."""
        from .analysis.modes import states_table
        return self._cached("ied_states", lambda: states_table(self._mode_tracker()))

    def ied_modes(self):
        """The operating-state timeline: intervals per (server, LD, LN) with mod, beh, health, sim
        and the Beh derived from the LD/LN hierarchy (IEC 61850-7-4 Annex A)."""
        from .analysis.modes import modes_table
        return self._cached("ied_modes", lambda: modes_table(self._mode_tracker()))

    def ied_mode_findings(self):
        """The mode / test / simulation findings (also in :meth:`findings`) with all their frames."""
        from .analysis.modes import findings_table
        return self._cached("ied_mode_findings", lambda: findings_table(self._mode_tracker()))


    def security(self, allow=None, allowed_addresses=None, ctl_models=None):
        """Security posture: ``(findings, matrix)`` DataFrames.

        ``matrix``: one row per observed flow (client -> server:port) with its associations,
        services, bytes, authentication and TLS.  ``findings``: severity, group (exposure,
        authentication, operations, process-bus), code, subject, message (passwords masked)
        and evidence frames.  Optional: ``allow`` (:class:`~mmsanalyze.analysis.security.AllowRule`
        list, e.g. from ``read_allowlist(path)``), ``allowed_addresses`` (``{ip: IED name}``,
        e.g. SCL ConnectedAP addresses), ``ctl_models`` (``{control object: ctlModel}``).
        See :func:`mmsanalyze.analysis.security.security_tables` for the columns.
        """
        from .analysis.security import security_tables
        if allow is None and allowed_addresses is None and ctl_models is None:
            if self.scl is not None:         # the SCL's declared addresses and ctlModels
                from .scl import security_inputs
                addresses, models = security_inputs(self.scl)
                return self._cached("security", lambda: security_tables(self, None, addresses, models))
            return self._cached("security", lambda: security_tables(self))
        return security_tables(self, allow, allowed_addresses, ctl_models)


def _load_scl(scl):
    if scl is None:
        return None
    from .scl import SclModel, load_scl
    return scl if isinstance(scl, SclModel) else load_scl(scl)


def _is_reader(source) -> bool:
    """An already opened frame reader (``open_source()`` result, merged readers): iterable
    of RawFrame with ``linktypes`` and ``close`` but no ``read``."""
    return hasattr(source, "linktypes") and hasattr(source, "close") and not hasattr(source, "read")


def _size(source) -> int:
    if isinstance(source, (list, tuple)):
        return sum(_size(s) for s in source)
    try:
        return os.path.getsize(source) if isinstance(source, (str, os.PathLike)) else 0
    except OSError:
        return 0


def _tell(f) -> int:
    try:
        return f.tell()
    except (AttributeError, OSError, ValueError):
        return 0



# -- column documentation -------------------------------------------------------------

def _specs():
    """(section title, Capture method, column spec) of every documented table."""
    from .analysis import (associations, control_sequences, controls, errors, identify, files, findings, latency, pdus, reports, traffic,
                           transactions)
    from .analysis import modes
    from .analysis import security
    from .analysis import sv_signals
    return [
        ("pdus()", "pdus", dict(pdus.COLUMNS, **pdus.DETAIL_COLUMNS)),
        ("transactions()", "transactions", transactions.COLUMNS),
        ("latency_stats(by=...)", "latency_stats", latency.COLUMNS),
        ("reports()", "reports", reports.COLUMNS),
        ("reports(reassemble=True): extra columns", None,
         {k: v for k, v in reports.REASSEMBLED_COLUMNS.items() if k not in reports.COLUMNS}),
        ("report_cadence()", "report_cadence", reports.CADENCE_COLUMNS),
        ("controls()", "controls", controls.COLUMNS),
        ("control_sequences()", "control_sequences", control_sequences.COLUMNS),
        ("identify()", "identify", identify.COLUMNS),
        ("errors()", "errors", errors.COLUMNS),
        ("associations()", "associations", associations.COLUMNS),
        ("files()", "files", files.COLUMNS),
        ("file_directory()", "file_directory", files.DIRECTORY_COLUMNS),
        ("traffic()", "traffic", traffic.COLUMNS),
        ("traffic(by='second')", None, traffic.SECOND_COLUMNS),
        ("traffic(by='source')", None, traffic.SOURCE_COLUMNS),
        ("findings()", "findings", findings.COLUMNS),
        ("scl_check()", "scl_check", _scl_columns()[0]),
        ("scl_sv_values()", "scl_sv_values", _scl_columns()[1]),
        ("ied_states()", "ied_states", modes.COLUMNS),
        ("ied_modes()", "ied_modes", modes.MODE_COLUMNS),
        ("ied_mode_findings()", "ied_mode_findings", modes.FINDING_COLUMNS),
        ("security(): findings", "security", security.FINDING_COLUMNS),
        ("security(): matrix", None, security.MATRIX_COLUMNS),
        ("sv_samples()", "sv_samples", sv_signals.SAMPLE_COLUMNS),
        ("sv_rms()", "sv_rms", sv_signals.RMS_COLUMNS),
        ("sv_phasors()", "sv_phasors", sv_signals.PHASOR_COLUMNS),
        ("sv_waveform(stream)", "sv_waveform", sv_signals.WAVEFORM_COLUMNS),
    ]


def _scl_columns():
    from .scl import compare, svlayout
    return compare.COLUMNS, svlayout.COLUMNS


def columns_markdown() -> str:
    """``docs/columns.md``: a Field | dtype | meaning table per Capture table."""
    from .analysis._table import columns_markdown as md
    head = ("# mmsanalyze tables: columns\n\n"
            "Generated from the column specifications in `mmsanalyze/analysis/*.py` "
            "(`python -c \"from mmsanalyze.api import columns_markdown; print(columns_markdown(), end='')\" "
            "> docs/columns.md`).\n"
            "dtypes: `Int64` nullable integer, `float64` (NaN when missing), `string` nullable text, "
            "`bool`, `boolean` nullable bool, `object` Python lists/dicts.  Times are epoch seconds "
            "(float64), like tshark's `frame.time_epoch`.\n\n"
            "GOOSE and SV tables (`goose()`, `goose_streams()`, `sv()`, `sv_streams()`) are documented "
            "in `mmsanalyze.goose` / `mmsanalyze.sv`.\n\n")
    return head + "\n".join(md(f"Capture.{title}", spec) for title, _, spec in _specs())


def _document_columns():
    from .analysis._table import columns_doc
    specs = {title: (method, spec) for title, method, spec in _specs()}
    for title, (method, spec) in specs.items():
        fn = getattr(Capture, method, None) if method else None
        if fn is not None and fn.__doc__ and "Columns:" not in fn.__doc__:
            fn.__doc__ = fn.__doc__.rstrip() + "\n\n        Columns:\n\n" + columns_doc(spec, "        ") + "\n"
    for method, title in (("traffic", "traffic(by='second')"), ("traffic", "traffic(by='source')"),
                          ("reports", "reports(reassemble=True): extra columns")):
        fn = getattr(Capture, method)
        fn.__doc__ += f"\n        {title}:\n\n" + columns_doc(specs[title][1], "        ") + "\n"


_document_columns()
