"""The notebooks run (nbclient, a real Jupyter kernel) and their committed outputs are
what they print today; nothing is written beside them.

Regenerate the committed outputs after an intended change with
``python tests/test_notebooks.py --write``.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Output text that differs from run to run (temporary directories, object addresses).
VOLATILE = re.compile(r"/tmp/[^\s'\"]+|0x[0-9a-f]{6,}")


def execute(path: Path):
    """Run the notebook in its directory with this checkout's package; returns the notebook."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(str(path), as_version=4)
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + env_path if env_path else "")
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if env_path:
            os.environ["PYTHONPATH"] = env_path
        else:
            os.environ.pop("PYTHONPATH", None)
    return nb


def texts(nb) -> list:
    """Per code cell: its text outputs (text/plain, stream text, errors), volatile parts masked."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                parts.append(f"ERROR {o.get('ename')}: {o.get('evalue')}")
            elif o.get("output_type") == "stream":
                parts.append(o.get("text", ""))
            elif "data" in o:
                d = o["data"]
                parts.append(d.get("text/plain", "") if "image/png" not in d else "<image>")
        out.append(VOLATILE.sub("<v>", "\n".join(parts)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_matches_its_committed_outputs(path):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    import nbformat
    committed = nbformat.read(str(path), as_version=4)
    before = set(os.listdir(path.parent))
    ran = execute(path)
    assert set(os.listdir(path.parent)) == before, "the notebook wrote files beside itself"
    got, want = texts(ran), texts(committed)
    assert not any(t.startswith("ERROR") for t in got), [t for t in got if t.startswith("ERROR")]
    assert all(want), "committed notebook has code cells without outputs (execute and commit it)"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"{path.name} code cell {i}: output changed\n--- committed\n{w}\n--- now\n{g}"


if __name__ == "__main__" and "--write" in sys.argv:
    import nbformat
    for p in NOTEBOOKS:
        nbformat.write(execute(p), str(p))
        print(f"executed and saved {p}")
