"""Shared fixtures: libiec61850 scenario captures, run once per test session."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def iec_scenario(tmp_path_factory):
    """iec_scenario(name) -> (pcap_path, truth) of a real libiec61850 scenario (root, tcpdump).

    Each scenario runs once per session; skips when the harness cannot run here.
    """
    from iec import requirements_missing
    missing = requirements_missing()
    cache: dict = {}

    def run(name: str):
        if missing:
            pytest.skip("libiec61850 harness needs: " + ", ".join(missing))
        if name not in cache:
            from iec import scenarios
            out = tmp_path_factory.mktemp(f"iec_{name}")
            cache[name] = scenarios.SCENARIOS[name](outdir=str(out))
        return cache[name]
    return run
