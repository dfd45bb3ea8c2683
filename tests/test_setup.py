"""The README's two set-up commands work where system pip is externally managed (PEP 668).

Debian 12's own ``/usr/bin/python3`` carries ``EXTERNALLY-MANAGED``: ``pip install`` into it
is refused, which is what a user of a stock machine meets.  The scripts must make and use a
virtual environment of their own.  Each test copies the repository's tracked files into a
temporary directory (a fresh clone, without any ``.venv``), runs the script there with
``PYTHON`` pointing at that interpreter, and checks the result.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PY = "/usr/bin/python3"


def _externally_managed(py: str) -> bool:
    if not os.path.exists(py):
        return False
    out = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                         capture_output=True, text=True)
    return out.returncode == 0 and os.path.exists(os.path.join(out.stdout.strip(), "EXTERNALLY-MANAGED"))


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _externally_managed(SYSTEM_PY),
                       reason=f"{SYSTEM_PY} is not an externally managed (PEP 668) Python"),
    pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(),
                       reason="needs the git checkout to copy its tracked files"),
]


def _fresh_copy(tmp_path: Path) -> Path:
    """The tracked files of the working tree, as a fresh clone would have them."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    dest = tmp_path / "mmsanalyze"
    for f in filter(None, files):
        src = REPO / f.decode()
        if src.is_file():
            (dest / f.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / f.decode())
    (dest.parent / "shared").symlink_to(REPO.parent / "shared")
    return dest


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PYTHON"] = SYSTEM_PY
    # the venvs of this suite must not shadow the system interpreter
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if "/.venv/" not in p and "pyenv" not in p)
    return env


def test_system_pip_is_refused():
    """The condition the scripts must cope with really holds for this interpreter."""
    r = subprocess.run([SYSTEM_PY, "-m", "pip", "install", "--dry-run", "six"],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "externally-managed-environment" in (r.stdout + r.stderr)


def test_demo_command_on_externally_managed_python(tmp_path):
    repo = _fresh_copy(tmp_path)
    r = subprocess.run(["bash", "scripts/demo.sh"], cwd=repo, env=_env(), capture_output=True,
                       text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (repo / ".venv" / "bin" / "python").exists()
    # the summary of the demo capture: its associations and services are named
    assert "read" in r.stdout and "127.0.0.1" in r.stdout, r.stdout[:2000]


def test_test_command_on_externally_managed_python(tmp_path):
    """scripts/test.sh installs the test extras into its venv and reaches pytest
    (collect-only here: the full suite is what .ci/run itself runs)."""
    repo = _fresh_copy(tmp_path)
    r = subprocess.run(["bash", "scripts/test.sh", "--collect-only", "-q", "tests/test_mms_data.py"],
                       cwd=repo, env=_env(), capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "test_mms_data.py" in r.stdout
    venv_py = repo / ".venv" / "bin" / "python"
    r = subprocess.run([str(venv_py), "-c", "import pyiec61850, pytest, hypothesis, mmsanalyze"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
