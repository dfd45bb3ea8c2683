#!/usr/bin/env python3
"""Regenerate captures/demo.pcap (+ demo.truth.json) with the libiec61850 harness.

    sudo python captures/make_demo.py            # writes captures/demo.pcap
    sudo python captures/make_demo.py --out DIR  # somewhere else
    python captures/make_demo.py --check         # only re-verify the committed files (tshark)

Needs root (network namespace, tcpdump, raw GOOSE socket), tcpdump, iproute2,
tshark (for the verification step) and pyiec61850-ng.  See captures/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
sys.path.insert(0, str(TESTS))

MAX_BYTES = 200 * 1024


def _relativize(truth: dict, pcap_name: str) -> dict:
    truth = dict(truth)
    truth.pop("truth_file", None)
    truth["pcap"] = pcap_name
    return truth


def check(pcap: Path, truth_path: Path) -> int:
    from iec import verify
    truth = json.loads(truth_path.read_text())
    problems = verify.check(str(pcap), truth)
    summ = verify.summary(str(pcap), truth)
    print(json.dumps({"pcap": str(pcap), "bytes": pcap.stat().st_size, "summary": summ,
                      "problems": problems}, indent=1))
    if pcap.stat().st_size >= MAX_BYTES:
        print(f"demo capture too large: {pcap.stat().st_size} bytes", file=sys.stderr)
        return 1
    return 1 if problems else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(HERE), help="output directory (default: captures/)")
    ap.add_argument("--no-goose", action="store_true", help="leave out the GOOSE burst")
    ap.add_argument("--check", action="store_true", help="only verify existing demo.pcap/demo.truth.json")
    ap.add_argument("--attempts", type=int, default=3)
    a = ap.parse_args(argv)
    out = Path(a.out)
    pcap, truth_path = out / "demo.pcap", out / "demo.truth.json"
    if a.check:
        return check(pcap, truth_path)

    from iec import requirements_missing, scenarios, verify
    missing = requirements_missing()
    if missing:
        print("cannot run the harness here, missing: " + ", ".join(missing), file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, a.attempts + 1):
        tmp = Path(tempfile.mkdtemp(prefix="mmsa-demo-"))
        try:
            p, truth = scenarios.demo(outdir=str(tmp), goose=not a.no_goose)
            problems = verify.check(p, truth) if shutil.which("tshark") else []
            size = os.path.getsize(p)
            if problems or size >= MAX_BYTES:
                print(f"attempt {attempt}: {len(problems)} problems, {size} bytes: {problems}",
                      file=sys.stderr)
                continue
            shutil.copyfile(p, pcap)
            os.chmod(pcap, 0o644)
            truth_path.write_text(json.dumps(_relativize(truth, pcap.name), indent=1, default=str) + "\n")
            print(f"wrote {pcap} ({size} bytes, {len(truth['operations'])} operations) and {truth_path}")
            return check(pcap, truth_path) if shutil.which("tshark") else 0
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
