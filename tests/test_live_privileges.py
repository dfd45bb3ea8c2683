"""Live capture with no root at all: only CAP_NET_RAW, as a dedicated capture user.

The process runs as ``nobody`` with CAP_NET_RAW as its only (ambient) capability
(``setpriv``, util-linux), through an installation every user can read (a venv made from
Debian's ``/usr/bin/python3`` in a world-readable directory: the test suite's own venv
sits on an interpreter under ``/root``).  It captures a burst of merging-unit frames on a
veth pair, every frame; without the capability it gets the one-line "needs root
(CAP_NET_RAW)" error, never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

import live_traffic as lt
from l2_publish import veth_pair

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM_PY = "/usr/bin/python3"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

pytestmark = [
    pytest.mark.root, pytest.mark.slow,
    pytest.mark.skipif(not lt.can_replay(), reason="needs root, tcpreplay and ../shared"),
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) not installed"),
    pytest.mark.skipif(not os.path.exists(SYSTEM_PY), reason="no /usr/bin/python3 to build a shared venv"),
]


@pytest.fixture(scope="module")
def shared_install():
    """A venv with mmsanalyze installed, readable and runnable by every user."""
    top = tempfile.mkdtemp(prefix="mmsa-capuser-", dir="/tmp")
    os.chmod(top, 0o755)
    venv = os.path.join(top, "venv")
    subprocess.run([SYSTEM_PY, "-m", "venv", venv], check=True)
    r = subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", REPO], capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    subprocess.run(["chmod", "-R", "a+rX", top], check=True)
    yield os.path.join(venv, "bin", "python")
    shutil.rmtree(top, ignore_errors=True)


def test_capture_as_nobody_with_only_cap_net_raw(shared_install, tmp_path):
    frames = lt.stream_frames(2, range(3000))
    with veth_pair("cp") as (tx, rx):
        cmd = NOBODY + ["--inh-caps=+net_raw", "--ambient-caps=+net_raw", shared_install, "-m",
                        "mmsanalyze", "sv", "-i", rx, "-f", "ether proto 0x88ba", "-a", "duration:10",
                        "--format", "json"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/tmp")
        time.sleep(6)
        assert int(open(f"/proc/{p.pid}/status").read().split("Uid:")[1].split()[0]) == 65534
        threading.Thread(target=lt.burst, args=(tx, frames)).start()
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    rows = json.loads(out)
    assert [r["asdus"] for r in rows] == [3000] and rows[0]["lost_samples"] == 0
    assert "3000 frames captured, 0 dropped by the kernel" in err


def test_without_the_capability_one_clear_line(shared_install):
    with veth_pair("cn") as (_tx, rx):
        r = subprocess.run(NOBODY + [shared_install, "-m", "mmsanalyze", "sv", "-i", rx, "-a", "duration:1"],
                           capture_output=True, text=True, cwd="/tmp", timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip() == f"mmsanalyze: {rx}: live capture needs root (CAP_NET_RAW)"
