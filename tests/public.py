"""The public capture set in ../shared/captures/public and how to read it.

Shared by the tests that compare with tshark.  Never copies a capture into the repo.
"""

from __future__ import annotations

import functools
import os
import re

PUBLIC = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "captures", "public"))
MANIFEST = os.path.join(PUBLIC, "MANIFEST.md")


def available() -> bool:
    return os.path.isdir(PUBLIC)


def captures() -> list[str]:
    if not available():
        return []
    return sorted(f for f in os.listdir(PUBLIC) if f.endswith((".pcap", ".pcapng")))


def path(name: str) -> str:
    return os.path.join(PUBLIC, name)


#: Extra TPKT ports (MANIFEST: "ISO stack on non-standard port").
EXTRA_PORTS = {"iccp_rustyiccp_sll2_port10002.pcap": (10002,)}


def ports(name: str) -> tuple:
    return EXTRA_PORTS.get(name, ())


def midassoc(name: str) -> bool:
    """Captures that start after the association (MANIFEST: tshark cannot bind the context)."""
    return "midassoc" in name or name.startswith("mms_adsc_optional_")


@functools.lru_cache(maxsize=None)
def manifest_rows() -> dict:
    """file name -> dict of the MANIFEST table's columns (strings)."""
    rows = {}
    if not os.path.exists(MANIFEST):
        return rows
    header = None
    with open(MANIFEST, encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("|"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and cells[0] == "#":
                header = cells
                continue
            if header and len(cells) == len(header) and cells[0].isdigit():
                name = re.sub(r"[`]", "", cells[1])
                rows[name] = dict(zip(header, cells))
    return rows


def manifest_int(name: str, column: str) -> int | None:
    v = manifest_rows().get(name, {}).get(column)
    if v is None:
        return None
    v = v.replace(",", "")
    return int(v) if v.isdigit() else None
