"""File transfers (ISO 9506-2 annex D / IEC 61850-8-1 clause 23) and safe extraction.

A transfer is FileOpen (fileName, initialPosition -> frsmID, sizeOfFile), FileRead
(frsmID -> fileData, moreFollows DEFAULT TRUE) repeated, FileClose (frsmID).  The
reader is the requester: usually the client (download of COMTRADE records, logs,
settings), or the server while an ObtainFile request of the client is outstanding
(the server then reads ``sourceFile`` from the client's filestore).  Requests and
responses are paired by :mod:`.transactions`, so invokeID reuse and interleaved
transfers on one association are handled; frsmIDs are per requester and may be
reused after FileClose.

:func:`extract` writes the reconstructed files under one directory and never
outside it: names are split on ``/`` and ``\\``; ``..`` components, drive letters,
control characters and (unless ``strip_root``) absolute names are refused; no path
component may be a symlink, and the file is opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import re

from ._mms import file_name, service_body
from ._table import build, columns_doc, endpoint
from .transactions import match_transactions

__all__ = ["COLUMNS", "DIRECTORY_COLUMNS", "Transfer", "reconstruct", "files_table", "directory_table",
           "extract", "safe_relative_path"]

COLUMNS = {
    "name": ("string", "file name as requested (FileName components joined with '/')"),
    "kind": ("string", "download (the client reads a server file), obtainFile (the server reads a client file for the client's ObtainFile) or upload (the server reads a client file otherwise)"),
    "destination": ("string", "ObtainFile destinationFile"),
    "size": ("Int64", "sizeOfFile announced by FileOpen"),
    "bytes": ("Int64", "octets of fileData captured"),
    "sha256": ("string", "SHA-256 of the captured octets (hex); null when nothing was read"),
    "complete": ("bool", "read from position 0 up to moreFollows false, size matches, no read failed"),
    "status": ("string", "ok, or the first error ('<class>/<code>', reject, unanswered) of the open/read/close"),
    "stream": ("Int64", "TCP stream"),
    "client": ("string", "client 'addr:port'"),
    "server": ("string", "server 'addr:port'"),
    "frsm_id": ("Int64", "frsmID"),
    "reads": ("Int64", "FileRead responses with data"),
    "open_frame": ("Int64", "frame of the FileOpen request"),
    "close_frame": ("Int64", "frame of the FileClose response (null when not closed)"),
    "frames": ("object", "list of the frames whose FileRead responses carried the data"),
    "start": ("float64", "FileOpen request time, epoch seconds"),
    "end": ("float64", "time of the last response of the transfer, epoch seconds"),
    "last_modified": ("string", "lastModified announced by FileOpen (GeneralizedTime text)"),
}
DIRECTORY_COLUMNS = {
    "time": ("float64", "time of the FileDirectory response, epoch seconds"),
    "frame": ("Int64", "its frame"),
    "stream": ("Int64", "TCP stream"),
    "client": ("string", "client 'addr:port'"),
    "server": ("string", "server 'addr:port'"),
    "specification": ("string", "fileSpecification of the request (directory or pattern); null for the root"),
    "name": ("string", "file name of the entry"),
    "size": ("Int64", "sizeOfFile"),
    "last_modified": ("string", "lastModified (GeneralizedTime text)"),
    "last_modified_time": ("float64", "lastModified as epoch seconds (UTC assumed when no zone is given)"),
}


class Transfer:
    """One FileOpen..FileClose sequence (mutable while reconstructing)."""

    __slots__ = ("stream", "req_dir", "name", "kind", "destination", "size", "chunks", "frames",
                 "status", "frsm", "position", "open_frame", "close_frame", "start",
                 "end", "last_modified", "more")

    def __init__(self, stream, req_dir, name):
        self.stream, self.req_dir, self.name = stream, req_dir, name
        self.kind = "download" if req_dir == 0 else "obtainFile"
        self.destination = None
        self.size = self.frsm = self.open_frame = self.close_frame = None
        self.position = 0
        self.chunks: list[bytes] = []
        self.frames: list[int] = []
        self.status = "ok"
        self.start = self.end = None
        self.last_modified = None
        self.more = True                 # moreFollows of the latest read (DEFAULT TRUE)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def complete(self) -> bool:
        n = sum(len(c) for c in self.chunks)
        return (self.status == "ok" and self.position == 0 and self.frsm is not None and not self.more
                and (self.size is None or self.size == n))

    def fail(self, why):
        if self.status == "ok":
            self.status = why


def _why(t):
    r = t.response
    if r is None:
        return "unanswered"
    if r.pdu == "confirmed-ResponsePDU":
        return None
    m = r.decoded()
    err = (m.error or {}) if m is not None else {}
    if r.pdu == "rejectPDU":
        return f"reject {err.get('class')}/{err.get('code')}"
    return f"{err.get('class')}/{err.get('code')}"


def reconstruct(pdus, txns=None) -> list[Transfer]:
    """Transfers of the capture, in FileOpen order (``txns`` from match_transactions)."""
    if txns is None:
        txns = match_transactions(pdus)
    txns = sorted((t for t in txns if t.request is not None), key=lambda t: t.request.frame)
    open_: dict = {}                      # (stream, req_dir, frsm) -> Transfer
    obtain: dict = {}                     # (stream, source name) -> (obtainFile txn, destination)
    out: list[Transfer] = []
    for t in txns:
        svc = t.service
        if svc not in ("fileOpen", "fileRead", "fileClose", "obtainFile"):
            continue
        qm = t.request.decoded()
        body = service_body(qm)
        why = _why(t)
        rsp = service_body(t.response.decoded()) if t.response is not None and why is None else None
        s, d = t.stream, t.req_dir
        if svc == "obtainFile":
            if isinstance(body, dict):
                src = file_name(body.get("sourceFile"))
                obtain[(s, src)] = (t, file_name(body.get("destinationFile")))
            continue
        if svc == "fileOpen":
            name = file_name(body.get("fileName")) if isinstance(body, dict) else None
            tr = Transfer(s, d, name)
            tr.position = body.get("initialPosition", 0) if isinstance(body, dict) else 0
            tr.open_frame, tr.start = t.request.frame, t.request.time
            link = obtain.get((s, name)) if d == 1 else None
            if link is not None:
                tr.destination = link[1]
            elif d == 1:
                tr.kind = "upload"
            out.append(tr)
            if why is not None:
                tr.fail(why)
                tr.end = t.response.time if t.response is not None else None
                continue
            if isinstance(rsp, dict):
                tr.frsm = rsp.get("frsmID")
                attrs = rsp.get("fileAttributes") or {}
                tr.size = attrs.get("sizeOfFile")
                tr.last_modified = attrs.get("lastModified")
            tr.end = t.response.time
            open_[(s, d, tr.frsm)] = tr
            continue
        frsm = body if isinstance(body, int) else None
        tr = open_.get((s, d, frsm))
        if tr is None:
            continue                      # the FileOpen was not captured
        if t.response is not None:
            tr.end = t.response.time
        if why is not None:
            tr.fail(f"{svc}: {why}")
            if svc == "fileClose":
                open_.pop((s, d, frsm), None)
            continue
        if svc == "fileRead" and isinstance(rsp, dict):
            data = rsp.get("fileData")
            if isinstance(data, str):
                try:
                    tr.chunks.append(bytes.fromhex(data))
                except ValueError:
                    tr.fail("fileRead: undecodable fileData")
                tr.frames.append(t.response.frame)
            tr.more = rsp.get("moreFollows", True) is not False
        elif svc == "fileClose":
            tr.close_frame = t.response.frame
            open_.pop((s, d, frsm), None)
    return out


def files_table(transfers, conns=None):
    """One row per file transfer.

    Columns:
    """
    conns = conns or {}
    cols = {k: [] for k in COLUMNS}
    for tr in transfers:
        c = conns.get(tr.stream)
        data = tr.data
        vals = {
            "name": tr.name, "kind": tr.kind, "destination": tr.destination, "size": tr.size,
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest() if tr.chunks else None,
            "complete": tr.complete, "status": tr.status, "stream": tr.stream,
            "client": endpoint(c.client) if c else None, "server": endpoint(c.server) if c else None,
            "frsm_id": tr.frsm, "reads": len(tr.frames), "open_frame": tr.open_frame,
            "close_frame": tr.close_frame, "frames": list(tr.frames), "start": tr.start, "end": tr.end,
            "last_modified": tr.last_modified,
        }
        for k in COLUMNS:
            cols[k].append(vals[k])
    return build(COLUMNS, cols)


_GTIME = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,](\d+))?(Z|[+-]\d{4})?$")


def generalized_time(s) -> float | None:
    """GeneralizedTime text (``'20201104113214.000Z'``) -> epoch seconds, or None."""
    m = _GTIME.match(s) if isinstance(s, str) else None
    if m is None:
        return None
    y, mo, d, h, mi, se, frac, zone = m.groups()
    try:
        t = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(se), 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    if frac:
        t += float("0." + frac)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        t -= sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    return float(t)


def directory_table(pdus, conns=None, txns=None):
    """One row per FileDirectory entry seen (matched with the request's fileSpecification).

    Columns:
    """
    conns = conns or {}
    cols = {k: [] for k in DIRECTORY_COLUMNS}
    for t in (match_transactions(pdus) if txns is None else txns):
        if t.service != "fileDirectory" or t.response is None or t.response.pdu != "confirmed-ResponsePDU":
            continue
        rsp = service_body(t.response.decoded())
        if not isinstance(rsp, dict):
            continue
        q = service_body(t.request.decoded()) if t.request is not None else None
        spec = file_name(q.get("fileSpecification")) if isinstance(q, dict) else None
        c = conns.get(t.stream)
        for e in rsp.get("listOfDirectoryEntry") or []:
            attrs = e.get("fileAttributes") or {} if isinstance(e, dict) else {}
            lm = attrs.get("lastModified")
            vals = {"time": t.response.time, "frame": t.response.frame, "stream": t.stream,
                    "client": endpoint(c.client) if c else None, "server": endpoint(c.server) if c else None,
                    "specification": spec, "name": file_name(e.get("fileName")) if isinstance(e, dict) else None,
                    "size": attrs.get("sizeOfFile"), "last_modified": lm,
                    "last_modified_time": generalized_time(lm)}
            for k in DIRECTORY_COLUMNS:
                cols[k].append(vals[k])
    return build(DIRECTORY_COLUMNS, cols)


# ---------------------------------------------------------------------------------
# extraction
# ---------------------------------------------------------------------------------

_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_relative_path(name: str, strip_root: bool = False) -> tuple[list[str] | None, str | None]:
    """Split an MMS file name into safe path components, or refuse it.

    Returns ``(components, None)`` or ``(None, reason)``.  Refused: empty names, NUL
    and control characters, ``..`` components, drive letters / UNC paths, and names
    starting with ``/`` or ``\\`` unless ``strip_root`` (the MMS filestore root then
    maps to the output directory).
    """
    if not name:
        return None, "empty name"
    if _BAD_CHARS.search(name):
        return None, "control character in name"
    if _DRIVE.match(name) or name.startswith(("\\\\", "//")):
        return None, "drive letter or network path"
    if name[0] in "/\\" and not strip_root:
        return None, "absolute path (strip_root / --strip-root writes it under the directory)"
    parts = [p for p in re.split(r"[/\\]", name) if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None, "'..' component"
    if not parts:
        return None, "no file name"
    return parts, None


def _write_under(root: str, parts: list[str], data: bytes, overwrite: bool = True) -> str:
    """Create ``root/parts...`` without following any symlink; returns the path.

    Without ``overwrite`` an existing file is never replaced (``FileExistsError``)."""
    cur = root
    for p in parts[:-1]:
        cur = os.path.join(cur, p)
        if os.path.islink(cur):
            raise OSError(f"{cur} is a symlink")
        if not os.path.isdir(cur):
            os.mkdir(cur, 0o755)
    path = os.path.join(cur, parts[-1])
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(os.path.dirname(path))]) != real_root:
        raise OSError(f"{path} would be outside {root}")
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    flags |= os.O_TRUNC if overwrite else os.O_EXCL
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def _same_content(path: str, digest: str) -> bool:
    if os.path.islink(path):
        return False
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest() == digest
    except OSError:
        return False


#: Suffixes tried for a name already taken on disk before giving up on a file.
MAX_SUFFIX = 1000


def extract(transfers, directory, complete_only: bool = True, strip_root: bool = False,
            overwrite: bool = False) -> list[tuple]:
    """Write transfers' data under ``directory``; returns ``[(name, path or None, note)]``.

    Incomplete transfers are skipped unless ``complete_only`` is False.  A file read
    twice with the same content is written once; different contents under one name
    get ``.1``, ``.2`` ... suffixes.  A file already on disk (an earlier extraction)
    is never overwritten unless ``overwrite``: identical content is noted ``exists``,
    different content gets the next free ``.N`` suffix.
    """
    os.makedirs(directory, exist_ok=True)
    if os.path.islink(directory):
        raise OSError(f"{directory} is a symlink")
    results = []
    written: dict = {}                    # relative path -> sha256
    for tr in transfers:
        if complete_only and not tr.complete:
            results.append((tr.name, None, "incomplete"))
            continue
        parts, why = safe_relative_path(tr.name or "", strip_root)
        if parts is None:
            results.append((tr.name, None, f"refused: {why}"))
            continue
        data = tr.data
        digest = hashlib.sha256(data).hexdigest()
        rel = "/".join(parts)
        n = 0
        while rel in written and written[rel] != digest:
            n += 1
            rel = "/".join(parts[:-1] + [f"{parts[-1]}.{n}"])
        if written.get(rel) == digest:
            results.append((tr.name, os.path.join(directory, *rel.split("/")), "duplicate"))
            continue
        if not overwrite:
            while os.path.lexists(os.path.join(directory, *rel.split("/"))) and n < MAX_SUFFIX:
                here = os.path.join(directory, *rel.split("/"))
                if os.path.islink(here) or _same_content(here, digest):
                    break                 # a symlink in the way is refused below, never avoided
                n += 1
                rel = "/".join(parts[:-1] + [f"{parts[-1]}.{n}"])
            on_disk = os.path.join(directory, *rel.split("/"))
            if os.path.lexists(on_disk) and _same_content(on_disk, digest):
                written[rel] = digest
                results.append((tr.name, on_disk, "exists (same content)"))
                continue
        try:
            path = _write_under(directory, rel.split("/"), data, overwrite)
        except OSError as e:
            results.append((tr.name, None, f"refused: {e}"))
            continue
        written[rel] = digest
        results.append((tr.name, path, "written" if tr.complete else "written (incomplete)"))
    return results


files_table.__doc__ += "\n" + columns_doc(COLUMNS, "    ") + "\n"
directory_table.__doc__ += "\n" + columns_doc(DIRECTORY_COLUMNS, "    ") + "\n"
