"""Capture plumbing: network namespace, tcpdump, worker processes, Session.

A :class:`Session` owns one capture:

* a fresh network namespace (``ip netns add``) with only ``lo`` up, so the
  pcap contains nothing but the scenario's traffic and the server can listen
  on the real MMS port 102 -- or, with ``netns=False`` (or when namespaces
  are unavailable), the host ``lo`` with a free high port and a BPF filter
  ``tcp port N``;
* ``tcpdump -i lo -U --immediate-mode -w FILE`` started first and stopped
  last (SIGINT, then wait) so the capture holds complete TCP conversations;
* one libiec61850 server worker process (``iec.server``) and any number of
  client worker processes (``iec.client``), all talking JSON lines.

Root is required (tcpdump, namespaces, raw GOOSE sockets).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent   # .../tests (iec is importable from here)
_counter = itertools.count(1)


def have_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def tools_available() -> list[str]:
    """Names of missing external tools (empty list = all good)."""
    missing = [t for t in ("tcpdump", "ip") if shutil.which(t) is None]
    try:
        from . import lib  # noqa: F401
    except OSError:
        missing.append("libiec61850 (pyiec61850-ng)")
    return missing


def netns_supported() -> bool:
    if not have_root() or shutil.which("ip") is None:
        return False
    name = f"mmsaprobe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True)
    if r.returncode != 0:
        return False
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return True


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------


class Netns:
    def __init__(self, name: str | None = None):
        self.name = name or f"mmsa{os.getpid()}n{next(_counter)}"
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        subprocess.run(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"],
                       check=True, capture_output=True)

    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


class Tcpdump:
    def __init__(self, path: str, iface: str = "lo", bpf: str | None = None,
                 prefix: list[str] | None = None, snaplen: int = 0):
        self.path = path
        cmd = list(prefix or []) + ["tcpdump", "-i", iface, "-U", "--immediate-mode",
                                    "-s", str(snaplen), "-n", "-w", path]
        if bpf:
            cmd += bpf.split()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.stderr_lines: list[str] = []
        ready = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.stderr_lines.append(line.rstrip())
                if "listening on" in line:
                    ready.set()
            ready.set()
        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(10) or self.proc.poll() is not None:
            raise RuntimeError("tcpdump did not start: " + " | ".join(self.stderr_lines))
        # the pcap header is written when the capture opens; make sure it exists
        t_end = time.time() + 5
        while time.time() < t_end and (not os.path.exists(path) or os.path.getsize(path) < 24):
            time.sleep(0.01)

    def stop(self, linger: float = 0.25) -> dict:
        time.sleep(linger)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.05)
        stats = {}
        for line in self.stderr_lines:
            parts = line.split()
            if len(parts) >= 3 and parts[1] == "packets":
                stats[" ".join(parts[1:])] = int(parts[0])
        return stats


class Worker:
    """A JSON-lines worker subprocess (``python -m iec.server`` / ``iec.client``)."""

    def __init__(self, module: str, args: list[str] | None = None, prefix: list[str] | None = None,
                 name: str = "worker", ready_timeout: float = 15):
        env = dict(os.environ)
        env["PYTHONPATH"] = str(TESTS_DIR) + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        cmd = list(prefix or []) + [sys.executable, "-m", module] + list(args or [])
        self.name = name
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, cwd=str(TESTS_DIR))
        self.q: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()
        self.hello = self._get(ready_timeout)
        if not self.hello.get("ready"):
            raise RuntimeError(f"{name} failed to start: {self.hello} {self.stderr[-5:]}")

    def _pump(self):
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                try:
                    self.q.put(json.loads(line))
                except json.JSONDecodeError:
                    self.stderr.append("bad json: " + line)
        self.q.put(None)

    def _pump_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())

    def _get(self, timeout):
        try:
            msg = self.q.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.name}: no answer within {timeout}s; stderr: {self.stderr[-10:]}")
        if msg is None:
            raise RuntimeError(f"{self.name} exited (rc={self.proc.poll()}); stderr: {self.stderr[-10:]}")
        return msg

    def call(self, cmd: str, timeout: float = 30, **kw):
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        self.proc.stdin.flush()
        msg = self._get(timeout)
        if not msg.get("ok"):
            raise RuntimeError(f"{self.name} {cmd} failed: {msg.get('error')}\n{msg.get('tb', '')}")
        return msg.get("result")

    def wait_exit(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------


def sha256_file(p) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def tree_manifest(root) -> dict:
    root = Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = {"size": p.stat().st_size, "sha256": sha256_file(p)}
    return out


class Session:
    """One capture with one server; see module docstring.

    ``netns=None`` picks a namespace when possible, else host ``lo``.
    """

    def __init__(self, name: str, outdir: str | None = None, netns: bool | None = None,
                 files: bool = False, goose: bool = False, pcap_name: str | None = None,
                 server_module: str = "iec.server", server_password: str | None = None):
        self.name = name
        self.server_module = server_module
        self.outdir = Path(outdir or tempfile.mkdtemp(prefix="mmsa-iec-"))
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix=f"mmsa-{name}-"))
        self.pcap = str(self.outdir / (pcap_name or f"{name}.pcap"))
        if netns is None:
            netns = netns_supported()
        self.use_netns = netns
        self.want_files = files
        self.want_goose = goose
        self.server_password = server_password
        self.ns = None
        self.tcpdump = None
        self.server = None
        self.clients: list[Worker] = []
        self.truth: dict = {}
        self.t_start = time.time()

    # ------------------------------------------------------------ lifecycle
    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self._cleanup()
            raise
        return self

    def _start(self):
        prefix = []
        if self.use_netns:
            self.ns = Netns()
            prefix = self.ns.prefix()
            self.host, self.port, bpf = "127.0.0.1", 102, None
        else:
            self.host, self.port = "127.0.0.1", free_port()
            bpf = f"tcp port {self.port}"
            if self.want_goose:
                bpf = f"( {bpf} ) or ether proto 0x88b8"
        self.prefix = prefix
        self.files_root = None
        if self.want_files:
            from .files import make_server_files
            self.files_root = str(self.work / "server_files")
            make_server_files(self.files_root)
            self.files_before = tree_manifest(self.files_root)
        self.tcpdump = Tcpdump(self.pcap, "lo", bpf, prefix)
        args = ["--port", str(self.port)]
        if not self.use_netns:
            args += ["--bind", self.host]
        if self.files_root:
            args += ["--files", self.files_root]
        if self.server_password is not None:
            args += ["--password", self.server_password]
        self.server = Worker(self.server_module, args, prefix, name="server")
        self.truth = {
            "scenario": self.name,
            "pcap": self.pcap,
            "server": {"ip": self.host, "port": self.port, "ied": "DEMO",
                       "domains": ["DEMOLD0", "DEMOCTRL"],
                       "library": "libiec61850 " + self.server.hello.get("version", "?")},
            "capture": {"netns": self.ns.name if self.ns else None, "iface": "lo", "bpf": bpf,
                        "decode_as": None if self.port == 102 else f"tcp.port=={self.port},tpkt"},
            "connections": [],
            "operations": [],
        }
        if self.files_root:
            self.truth["files"] = {"server_root_before": self.files_before}

    def client(self, label: str | None = None) -> "ClientHandle":
        w = Worker("iec.client", [], self.prefix, name=f"client{len(self.clients) + 1}")
        self.clients.append(w)
        return ClientHandle(self, w, label or f"c{len(self.clients)}")

    def server_call(self, cmd, **kw):
        return self.server.call(cmd, **kw)

    def finish(self) -> tuple[str, dict]:
        """Stop everything and return (pcap path, truth)."""
        try:
            for w in self.clients:
                if w.proc.poll() is None:
                    try:
                        w.call("exit", timeout=5)
                    except Exception:
                        pass
                    w.wait_exit(5)
            time.sleep(0.2)
            st = self.server.call("stop", timeout=15)
            self.server.wait_exit(10)
            self.truth["server"]["stats"] = st
            self.truth["capture"]["tcpdump"] = self.tcpdump.stop()
            if self.files_root:
                self.truth["files"]["server_root_after"] = tree_manifest(self.files_root)
        finally:
            self._cleanup()
        self.truth["duration_s"] = round(time.time() - self.t_start, 3)
        tpath = Path(self.pcap).with_suffix(".truth.json")
        tpath.write_text(json.dumps(self.truth, indent=1, default=str))
        self.truth["truth_file"] = str(tpath)
        return self.pcap, self.truth

    def _cleanup(self):
        for w in self.clients + ([self.server] if self.server else []):
            w.kill()
        if self.tcpdump and self.tcpdump.proc.poll() is None:
            self.tcpdump.stop(0)
        if self.ns:
            self.ns.delete()
            self.ns = None
        shutil.rmtree(self.work, ignore_errors=True)

    def __exit__(self, et, ev, tb):
        if et is not None:
            self._cleanup()
        return False


class ClientHandle:
    """Drive one client worker and record its truth."""

    def __init__(self, session: Session, worker: Worker, label: str):
        self.s = session
        self.w = worker
        self.label = label
        self.conn = {"id": label, "client_pid": worker.hello.get("pid"), "client_port": None,
                     "server_port": session.port, "end": None, "operations": []}
        session.truth["connections"].append(self.conn)

    def _add(self, rec):
        rec["conn"] = self.label
        rec["seq"] = len(self.s.truth["operations"])
        self.conn["operations"].append(rec["seq"])
        self.s.truth["operations"].append(rec)
        return rec

    def connect(self, local_detail=None, password=None, local_ip=None):
        kw = {k: v for k, v in (("password", password), ("local_ip", local_ip)) if v is not None}
        rec = self.w.call("connect", host=self.s.host, port=self.s.port, local_detail=local_detail, **kw)
        self.conn["client_port"] = rec.get("local_port")
        return self._add(rec)

    def op(self, op, **kw):
        res = self.w.call("op", op=op, **kw)
        if isinstance(res, list):
            return [self._add(r) for r in res]
        return self._add(res)

    # convenient aliases
    def read(self, domain, item):
        return self.op("read", domain=domain, item=item)

    def write(self, domain, item, value, type=None):
        return self.op("write", domain=domain, item=item, value=value, type=type)

    def info_reports(self):
        r = self.w.call("info_reports")
        self.conn["information_reports"] = r
        return r

    def _end(self, cmd, how):
        rec = self.w.call(cmd, timeout=20)
        self.info_reports() if cmd != "rst" and self.w.proc.poll() is None else None
        self.conn["end"] = how
        return self._add(rec)

    def conclude(self):
        return self._end("conclude", "conclude")

    def abort(self):
        return self._end("abort", "abort")

    def fin(self):
        return self._end("fin", "fin")

    def rst(self):
        self.info_reports()
        rec = self.w.call("rst", timeout=20)
        self.w.wait_exit(5)
        self.conn["end"] = "rst"
        return self._add(rec)

    def exit(self):
        if self.w.proc.poll() is None:
            try:
                self.info_reports()
                self.w.call("exit", timeout=5)
            except Exception:
                pass
            self.w.wait_exit(5)
