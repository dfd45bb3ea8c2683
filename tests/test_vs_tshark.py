"""Every MMS PDU tshark decodes in the public captures, we decode identically.

tshark (Debian package) is the reference.  Run with out-of-order reassembly on
and, for captures that start after the association, with Wireshark's
presentation "users context list" preset (context 3 -> MMS).  Then:

* every tshark PDU is in our output at the same frame with the same pdu type,
  service and invokeID (multiset match per frame);
* what we decode beyond tshark is listed per capture in ``EXTRA`` with the
  reason; anything else extra fails the test.
"""

from __future__ import annotations

import collections
import functools

import pytest

import public
from tshark_ref import tshark_mms

from mmsanalyze.io import open_capture
from mmsanalyze.pipeline import Pipeline
from mmsanalyze.records import PduRecord

pytestmark = [pytest.mark.tshark,
              pytest.mark.skipif(not public.available(), reason="../shared captures not present")]

CAPTURES = public.captures()


@functools.lru_cache(maxsize=None)
def decode_ours(path: str, ports: tuple = ()) -> tuple:
    """(PduRecords, findings) of our pipeline over the capture at ``path``."""
    pipe = Pipeline((102,) + tuple(ports))
    recs = []
    with open_capture(path) as reader:
        for fr in reader:
            recs += pipe.feed(fr)
        recs += pipe.finish()
    return tuple(r for r in recs if isinstance(r, PduRecord)), tuple(pipe.findings)


@functools.lru_cache(maxsize=None)
def decode_theirs(path: str, ports: tuple = ()) -> tuple:
    # the preset only applies where no association was captured, so it is safe everywhere
    return tuple(tshark_mms(path, ports, True))


def ours(name: str) -> tuple:
    return decode_ours(public.path(name), public.ports(name))


def theirs(name: str) -> tuple:
    return decode_theirs(public.path(name), public.ports(name))


def key(pdu, service, invoke_id):
    return (pdu, service, invoke_id)


def diff(name):
    mine = collections.defaultdict(collections.Counter)
    for r in ours(name)[0]:
        mine[r.frame][key(r.pdu, r.service, r.invoke_id)] += 1
    missing = []
    for t in theirs(name):
        k = key(t["pdu"], t["service"], t["invoke_id"])
        if mine[t["frame"]][k] > 0:
            mine[t["frame"]][k] -= 1
        else:
            missing.append((t["frame"],) + k)
    extra = [(f,) + k for f, c in mine.items() for k, n in c.items() for _ in range(n)]
    return missing, sorted(extra)


#: What we decode that tshark 4.0 does not, and why (file -> (reason, Counter of (pdu, service))).
EXTRA = {
    # conclude-RequestPDU is [11] IMPLICIT NULL, the two octets 8b 00, sent straight on COTP:
    # Wireshark's MMS-on-COTP heuristic only takes a constructed PDU, so it shows "COTP DT".
    **{f: ("primitive conclude-Request on COTP", {("conclude-RequestPDU", None): 1})
       for f in CAPTURES if f.startswith("iso9506_iti_mms-")},
    # The AARE travels in an AC SPDU whose CP was not captured (server->client only capture):
    # tshark cannot bind the ACSE context; we recognise ACSE by its APPLICATION tag.
    "mms_robidev_server_to_client_only_midassoc.pcap": ("AARE without CP", {("initiate-ResponsePDU", None): 1}),
    # tshark loses the Initiate-Response inside a malformed presentation CPA ("fetch an unsigned
    # integer with length 0"): we keep decoding past the empty result field.
    **{f: ("initiate-Response in malformed CPA", {("initiate-ResponsePDU", None): 1})
       for f in ("mms_iti_iec61850_get_name_list.pcap", "mms_iti_iec61850_get_variable_access_attributes.pcap",
                 "mms_iti_iec61850_read.pcap", "mms_iti_iec61850_release.pcap", "mms_iti_iec61850_write.pcap")},
    # the same malformed AC twice: one per connection (the first capture starts at the AC itself)
    "mms_iti_iec_write_two_conns.pcap": ("initiate-Response in malformed CPA", {("initiate-ResponsePDU", None): 2}),
}


@pytest.mark.parametrize("name", CAPTURES)
def test_every_tshark_pdu_is_ours(name):
    missing, _ = diff(name)
    assert not missing, f"{len(missing)} PDUs tshark decodes that we do not: {missing[:10]}"


@pytest.mark.parametrize("name", CAPTURES)
def test_extra_pdus_are_explained(name):
    _, extra = diff(name)
    allowed = collections.Counter(EXTRA.get(name, ("", {}))[1])
    got = collections.Counter((e[1], e[2]) for e in extra)
    unexplained = got - allowed
    assert not unexplained, f"decoded beyond tshark without a stated reason: {dict(unexplained)} ({extra[:10]})"


# ---- bodies: variables, errors, access results (issue "complete MMS decoding") ---------------

import math
import struct


def _flatten(v, out):
    if isinstance(v, list):
        for x in v:
            _flatten(x, out)
    else:
        out.append(v)
    return out


def leaf_matches(ttype: str, show: str, hexval, ours) -> bool:
    """Does our Python value ``ours`` equal tshark's leaf (type, show, value-hex)?"""
    hexval = hexval or ""
    if ttype in ("integer", "unsigned", "bcd"):
        return isinstance(ours, int) and int(show) == ours
    if ttype == "boolean":
        return ours is (show in ("1", "True"))
    if ttype in ("bit-string", "booleanArray"):
        bits = ours["bits"]
        have = bin(int(hexval, 16))[2:].zfill(len(hexval) * 4) if hexval else ""
        return have[:len(bits)] == bits
    if ttype == "floating-point":
        raw = bytes.fromhex(hexval)[1:]
        want = struct.unpack(">f" if len(raw) == 4 else ">d", raw)[0]
        return (math.isnan(want) and math.isnan(ours)) or want == ours
    if ttype == "octet-string":
        return hexval == ours
    if ttype in ("visible-string", "mMSString", "objId"):
        return show == ours or "\\" in show        # tshark escapes unprintable octets
    if ttype == "utc-time":
        raw = bytes.fromhex(hexval)
        secs, frac, q = int.from_bytes(raw[:4], "big"), int.from_bytes(raw[4:7], "big"), raw[7]
        return ours["quality"] == q and ours["fraction"] == frac and int(ours["utc"]) == secs
    if ttype == "binary-time":
        raw = bytes.fromhex(hexval)
        ok = ours["ms_of_day"] == int.from_bytes(raw[:4], "big")
        return ok and (len(raw) == 4 or ours["days"] == int.from_bytes(raw[4:6], "big"))
    return False


def body_mismatches(name, ours_recs=None, theirs_recs=None):
    """Differences between our decoded bodies and tshark's, PDU by PDU (frame order)."""
    mine = collections.defaultdict(list)
    for r in (ours(name)[0] if ours_recs is None else ours_recs):
        mine[r.frame].append(r)
    problems = []
    for t in (theirs(name) if theirs_recs is None else theirs_recs):
        cands = [r for r in mine[t["frame"]]
                 if (r.pdu, r.service, r.invoke_id) == (t["pdu"], t["service"], t["invoke_id"])]
        if not cands:
            problems.append((t["frame"], "no PDU"))
            continue
        r = cands[0]
        mine[t["frame"]].remove(r)          # several PDUs in one frame pair up in order
        m = r.decoded()
        if m is None:
            if t["variables"] or t["results"] or t["error"]:
                problems.append((t["frame"], f"malformed for us: {r.error}"))
            continue
        if t["variables"] and list(m.variables) != t["variables"]:
            problems.append((t["frame"], "variables", list(m.variables)[:4], t["variables"][:4]))
        if t["error"] and (m.error is None or (m.error.get("class"), str(m.error.get("code")))
                           != (t["error"]["class"], str(t["error"]["code"]))):
            problems.append((t["frame"], "error", m.error, t["error"]))
        if t["results"] is not None:
            res = list(m.access_results or ())
            if len(res) != len(t["results"]):
                problems.append((t["frame"], "result count", len(res), len(t["results"])))
                continue
            for i, ((kind, val), o) in enumerate(zip(t["results"], res)):
                if kind == "failure":
                    if not (isinstance(o, dict) and o.get("failure") == val):
                        problems.append((t["frame"], i, "failure", o, val))
                    continue
                leaves = _flatten(o, [])
                if len(leaves) != len(val):
                    problems.append((t["frame"], i, "leaf count", len(leaves), len(val)))
                    continue
                for (tt, show, hx), mine_leaf in zip(val, leaves):
                    try:
                        ok = leaf_matches(tt, show, hx, mine_leaf)
                    except (TypeError, KeyError, ValueError, struct.error):
                        ok = False
                    if not ok:
                        problems.append((t["frame"], i, tt, show, hx, mine_leaf))
    return problems


@pytest.mark.parametrize("name", CAPTURES)
def test_bodies_match_tshark(name):
    problems = body_mismatches(name)
    assert not problems, f"{len(problems)} differences from tshark: {problems[:6]}"
