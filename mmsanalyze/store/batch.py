"""``batch``: many captures into one store, by a local process pool or a Dask cluster.

The parent finds the inputs, hashes them (a capture already ``ok`` in the store with the
same SHA-256 is skipped), and hands one :func:`~mmsanalyze.store.task.analyse_to_store`
task per capture to the workers; the workers write into the store themselves (a
directory every worker sees).  The parent only collects the manifest rows.

Ctrl-C: no new capture is started; the (at most ``-j``) captures being analysed finish and
are committed (local pool) or are cancelled (Dask) -- either way the store stays
consistent, and the next run does the rest.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from dataclasses import dataclass, field

from ..errors import CaptureError
from .layout import capture_id, init_store, partition_dir, read_manifest, sha256_files, visible

__all__ = ["find_inputs", "plan", "run_batch", "BatchResult", "Task"]

#: First octets of the files a directory walk picks up (pcap both orders, µs/ns,
#: modified pcap, pcapng, gzip).  Files named explicitly are always taken.
CAPTURE_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
                  b"\x34\xcd\xb2\xa1", b"\xa1\xb2\xcd\x34", b"\x0a\x0d\x0d\x0a", b"\x1f\x8b")


def _looks_like_capture(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return head[:4] in CAPTURE_MAGICS or head[:2] == b"\x1f\x8b"


def find_inputs(inputs, recursive: bool = True) -> list[str]:
    """Capture files (absolute paths) named by ``inputs``: files, directories (walked; only files that
    start like a pcap/pcapng/gzip file), and glob patterns (``**`` recursive).

    Raises:
        CaptureError: an input matches nothing.
    """
    out: list[str] = []
    for inp in inputs:
        inp = os.fspath(inp)
        if os.path.isdir(inp):
            found = []
            for root, dirs, names in os.walk(inp):
                dirs.sort()
                if not recursive:
                    dirs[:] = []
                found.extend(os.path.join(root, n) for n in sorted(names)
                             if _looks_like_capture(os.path.join(root, n)))
            out.extend(found)
        elif os.path.exists(inp):
            out.append(inp)
        elif glob.has_magic(inp):
            hits = sorted(p for p in glob.glob(inp, recursive=True) if os.path.isfile(p))
            if not hits:
                raise CaptureError(f"{inp}: matches no file")
            out.extend(hits)
        else:
            raise CaptureError(f"{inp}: no such file or directory")
    seen, uniq = set(), []
    for p in out:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            uniq.append(os.path.abspath(p))
    return uniq


@dataclass
class Task:
    """One capture to analyse: its files (in reading order), SHA-256, size and id; the
    files' own SHA-256s and the captures it replaces (``--continuous`` over more files)."""

    files: list
    sha256: str
    size: int
    file_sha256: list = field(default_factory=list)
    supersedes: list = field(default_factory=list)

    @property
    def capture(self) -> str:
        return capture_id(self.sha256)


@dataclass
class BatchResult:
    """What a batch run did."""

    analysed: list = field(default_factory=list)     # manifest rows with status ok
    failed: list = field(default_factory=list)       # manifest rows with status failed
    skipped: list = field(default_factory=list)      # paths already in the store
    superseded: list = field(default_factory=list)   # capture ids replaced by this run's captures
    warnings: list = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def frames(self) -> int:
        return sum(int(r["frames"] or 0) for r in self.analysed)


def plan(files: list, store, continuous: bool = False, warnings: list | None = None) -> tuple[list, list, list]:
    """(tasks to run, paths skipped, failed manifest rows found while planning).

    With ``continuous`` the files are one capture (ordered by first frame time); a file
    that is not a usable capture is left out of it and recorded as failed on its own.  A
    visible capture whose files are all among them is superseded by the new capture (so a
    rotated set analysed again with more files is not counted twice); a partial overlap
    is reported in ``warnings``.
    """
    from .. import __version__
    man = read_manifest(store)
    done = set(man.loc[man["status"] == "ok", "sha256"].dropna().tolist())
    shown = man[visible(man)]
    failed_rows: list = []
    if continuous and len(files) > 1:
        from ..io.multi import first_time
        usable = []
        for p in files:
            try:
                first_time(p)
                usable.append(p)
            except CaptureError as exc:
                sha, size = sha256_files([p])
                failed_rows.append({"capture": capture_id(sha), "path": p, "files": [p], "sha256": sha,
                                    "size": size, "version": __version__, "status": "failed",
                                    "error": str(exc)})
        groups = []
        if usable:
            from ..io.multi import MultiReader
            r = MultiReader(usable)
            groups = [r.paths]
            r.close()
    else:
        groups = [[p] for p in files]
    tasks, skipped, seen = [], [], set()
    for g in groups:
        per_file: list = []
        sha, size = sha256_files(g, per_file)
        if sha in done or sha in seen:
            skipped.extend(g)
            continue
        seen.add(sha)
        sup = []
        if continuous:
            mine = set(per_file)
            for cid, theirs, path in zip(shown["capture"], shown["file_sha256"], shown["path"]):
                theirs = set(theirs or ())
                if theirs and theirs <= mine:
                    sup.append(cid)
                elif theirs & mine and warnings is not None:
                    warnings.append(f"capture {cid} ({path}) shares {len(theirs & mine)} file(s) with the new "
                                    "rotated set without being contained in it: those frames are in both")
        tasks.append(Task(g, sha, size, per_file, sup))
    return tasks, skipped, [r for r in failed_rows if r["sha256"] not in done]


class _Progress:
    """``batch: 12/40 captures, 1 failed, 600000 frames, 41000 frames/s`` on a terminal's stderr."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self.done = self.failed = self.frames = 0
        self.start = time.monotonic()

    def update(self, row: dict) -> None:
        self.done += 1
        if row["status"] != "ok":
            self.failed += 1
        self.frames += int(row.get("frames") or 0)
        if self.enabled:
            dt = max(time.monotonic() - self.start, 1e-9)
            sys.stderr.write(f"\rbatch: {self.done}/{self.total} captures, {self.failed} failed, "
                             f"{self.frames} frames, {self.frames / dt:.0f} frames/s   ")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()


def require_pyarrow() -> None:
    """A store is Parquet: without pyarrow, say so once instead of failing every capture."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise CaptureError("the store needs pyarrow (pip install 'mmsanalyze[store]')") from None


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent (which lets running captures finish)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_batch(inputs, store, jobs: int = 1, dask: str | None = None, continuous: bool = False,
              ports=(102,), progress: bool = False, recursive: bool = True) -> BatchResult:
    """Analyse the captures named by ``inputs`` into ``store``.

    Args:
        inputs: files, directories and glob patterns (see :func:`find_inputs`).
        store: the store directory (created when missing).
        jobs: worker processes (local pool), or Dask workers for ``dask='local'``.
        dask: ``None`` (local pool), ``'local'`` (a ``dask.distributed.LocalCluster`` of
            ``jobs`` single-threaded worker processes) or a scheduler address
            (``tcp://host:8786``); the store must be a path every worker sees.
        continuous: read all the files as one capture (rotated files).
        ports: TCP ports carrying ISO-on-TCP.
        progress: show progress on stderr (only drawn when stderr is a terminal).

    Returns:
        A :class:`BatchResult`; ``interrupted`` when Ctrl-C stopped it.
    """
    from .task import analyse_to_store, write_manifest_row
    require_pyarrow()
    t0 = time.monotonic()
    files = find_inputs(inputs, recursive)
    if not files:
        raise CaptureError("no capture files found in the inputs")
    init_store(store)
    store = os.path.abspath(store)
    warnings: list = []
    tasks, skipped, planned_failures = plan(files, store, continuous, warnings)
    res = BatchResult(skipped=skipped, warnings=warnings)
    for row in planned_failures:
        write_manifest_row(store, row)
        res.failed.append(row)
    bar = _Progress(len(tasks), progress and sys.stderr.isatty())
    ports = tuple(ports)

    def collect(row):
        (res.analysed if row["status"] == "ok" else res.failed).append(row)
        bar.update(row)
        if row["status"] == "ok" and row.get("supersedes"):
            _retire(store, row)
            res.superseded.extend(row["supersedes"])

    try:
        if dask:
            _run_dask(tasks, store, jobs, dask, ports, collect)
        elif jobs <= 1:
            for t in tasks:
                collect(analyse_to_store(t.files, store, t.sha256, t.size, ports, t.file_sha256, t.supersedes))
        else:
            _run_pool(tasks, store, jobs, ports, collect)
    except KeyboardInterrupt:
        res.interrupted = True
    finally:
        bar.close()
    res.seconds = time.monotonic() - t0
    return res


def _retire(store, row) -> None:
    """After ``row``'s capture is committed (which already hides the captures it supersedes),
    mark those ``superseded`` in the manifest and delete their partitions."""
    import shutil
    from .schema import MANIFEST, _missing
    from .task import write_manifest_row
    man = read_manifest(store).set_index("capture", drop=False)
    for cid in row["supersedes"]:
        if cid not in man.index:
            continue
        old = {k: (None if not isinstance(v, (list, tuple, str)) and _missing(v) else v)
               for k, v in man.loc[cid].to_dict().items()}
        old.update(status="superseded", error=f"superseded by capture {row['capture']}")
        write_manifest_row(store, old)
        for d in os.listdir(store):
            if d not in (MANIFEST,) and not d.startswith(("_", ".")):
                shutil.rmtree(partition_dir(store, d, cid), ignore_errors=True)


def _failed_row(t: Task, error: str) -> dict:
    from .. import __version__
    return {"capture": t.capture, "path": t.files[0], "files": t.files, "sha256": t.sha256, "size": t.size,
            "version": __version__, "status": "failed", "error": error, "file_sha256": t.file_sha256}


def _run_pool(tasks, store, jobs, ports, collect) -> None:
    """At most ``jobs`` captures in flight (so Ctrl-C has only those to finish).  When a
    worker dies (killed, out of memory) the captures in flight are recorded failed (the
    next run retries them) and a new pool goes on with the rest."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    from .task import _one_line, analyse_to_store, write_manifest_row
    todo = list(reversed(tasks))
    running: dict = {}
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_sigint)

    def finish(done) -> None:
        nonlocal pool
        for f in done:
            t, owner = running.pop(f)
            try:
                row = f.result()
            except Exception as exc:          # BrokenProcessPool: a worker died (killed, out of memory)
                row = _failed_row(t, "worker died while this capture was analysed (killed or out of memory?): "
                                     + _one_line(exc))
                write_manifest_row(store, row)
                if isinstance(exc, BrokenProcessPool) and owner is pool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_sigint)
            collect(row)

    try:
        try:
            while todo or running:
                while todo and len(running) < jobs:
                    t = todo.pop()
                    running[pool.submit(analyse_to_store, t.files, store, t.sha256, t.size, ports,
                                        t.file_sha256, t.supersedes)] = (t, pool)
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                finish(done)
        except KeyboardInterrupt:
            print(f"mmsanalyze batch: interrupted; finishing the {len(running)} capture(s) being analysed",
                  file=sys.stderr)
            done, _ = wait(list(running))
            finish(done)
            raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(tasks, store, jobs, address, ports, collect) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise CaptureError("--dask needs dask.distributed (pip install 'mmsanalyze[cluster]')") from None
    from .task import analyse_to_store, write_manifest_row
    cluster = None
    if address == "local":
        import logging
        cluster = LocalCluster(n_workers=max(jobs, 1), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise CaptureError(f"cannot connect to the Dask scheduler {address}: {exc}") from None
    try:
        futs = {}
        for t in tasks:
            f = client.submit(analyse_to_store, t.files, store, t.sha256, t.size, ports, t.file_sha256,
                              t.supersedes, pure=False, key=f"mmsanalyze-{t.capture}-{os.getpid()}")
            futs[f.key] = (f, t)
        try:
            for f in as_completed([f for f, _ in futs.values()]):
                t = futs[f.key][1]
                try:
                    row = f.result()
                except Exception as exc:      # the worker died or could not run the task
                    from .task import _one_line
                    row = _failed_row(t, f"dask: {_one_line(exc)}")
                    write_manifest_row(store, row)
                collect(row)
        except KeyboardInterrupt:
            client.cancel([f for f, _ in futs.values()])
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
