"""Throughput of the MMS decoder on typical IEC 61850 PDUs (regression guard, lenient).

Reference numbers on one core of the development VM (CPython 3.11, best of runs,
machine shared with other jobs): decode_mms of a one-FCDA read response (36 B)
~200k/s, of an 8-value MX dataset read response (221 B) ~50k/s; mms_envelope
~1.2M/s.  The thresholds below are an order of magnitude lower so the test only
catches real regressions (e.g. quadratic slicing), not a busy machine.
"""

from __future__ import annotations

import time

import pytest

import ber_encode as E
from mmsanalyze.mms import decode_mms, mms_envelope

pytestmark = pytest.mark.slow

MX = {"structure": [{"structure": [{"floating-point": 230.5}]}, {"bit-string": {"bits": "0" * 13}},
                    {"utc-time": {"utc": 1.6e9, "fraction": 0, "quality": 10}}]}


def rate(fn, pdu, n=2000, rounds=7):
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            fn(pdu)
        best = min(best, time.perf_counter() - t)
    return n / best


def test_typical_read_responses():
    one = E.confirmed_response(1234, 4, E.cons(1, E.data(MX)))
    eight = E.confirmed_response(1234, 4, E.cons(1, *[E.data(MX)] * 8))
    assert rate(decode_mms, one) > 20_000
    assert rate(decode_mms, eight) > 5_000
    assert rate(mms_envelope, eight) > 100_000
