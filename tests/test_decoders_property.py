"""Table-driven property test: every public decoder, fed random bytes and seeded mutations of
real PDUs, lets nothing out but :class:`~mmsanalyze.errors.DecodeError` (and the collectors
and the pipeline let nothing out at all).

Seeds are real units cut, layer by layer, from public captures (``../shared``; the test
still runs on the constructed seeds of :mod:`osi_build` when the captures are absent),
plus constructed refusals and indefinite-length encodings.  The bulk runs as plain
seeded random loops (:data:`N_PER_DECODER` inputs per decoder, reproducible from the
seed printed on failure); a hypothesis test on top shrinks a failure to its smallest form.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ber_encode as E
import osi_build as B
import public
from mmsanalyze.ber import children_clamped, definite_tlv, read_header, read_header_lenient
from mmsanalyze.errors import DecodeError
from mmsanalyze.goose import GooseCollector, decode_all_data, decode_goose_pdu, parse_session, read_l2_header
from mmsanalyze.io import open_source
from mmsanalyze.io.frame import RawFrame
from mmsanalyze.mms import decode_mms, looks_like_mms, mms_envelope
from mmsanalyze.net.ip import parse_ipv4, parse_ipv6, parse_tcp, parse_udp
from mmsanalyze.net.link import parse_link, parse_llc
from mmsanalyze.osi.acse import parse_acse
from mmsanalyze.osi.cotp import CotpReassembler, parse_tpdu
from mmsanalyze.osi.presentation import parse_ppdu, parse_user_data
from mmsanalyze.osi.session import looks_like_session, parse_spdus
from mmsanalyze.osi.tpkt import TpktFramer
from mmsanalyze.pipeline import Pipeline
from mmsanalyze.sv import SvCollector, decode_sv

#: Inputs per decoder in the seeded loop (the issue's floor is 20,000).
N_PER_DECODER = int(os.environ.get("MMSA_PROPERTY_N", "20000"))
SEED = int(os.environ.get("MMSA_PROPERTY_SEED", "61850"))
#: Frames read from each public capture for seeds.
FRAMES_PER_CAPTURE = 400
SEED_CAPTURES = (
    "mms_adsc_libiec61850_identify.pcap", "mms_iti_iec61850_read.pcap", "mms_iti_iec61850_release.pcap",
    "mms_iti_pcapr_reports_identify_write.pcap", "mms_adsc_libiec61850_fileOpenReadClose.pcap",
    "mms_robidev_sll_getnamelist.pcapng", "iccp_rustyiccp_sll2_port10002.pcap",
    "iso9506_iti_mms-readRequest.pcap", "goose_robidev_libiec61850_example_vlan.pcap",
    "goose_iti_ge_f650.pcap", "sv_dina_92le_60hz_normal.pcap", "sv_emre_multistream_noasdu5.pcap",
    "rgoose_rsv_robidev_90-5_samples.pcap", "gsse_robidev_uca_clnp.pcap",
    "mms_emre_abb_model_browse.pcapng", "mms_goose_sv_robidev_sll_control_reports_dedup.pcapng",
    "mms_adsc_libiec61850_fileDirectory.pcap", "mms_iti_iec61850_get_variable_access_attributes.pcap",
    "goose_brogoose_normal3_manychanges.pcapng", "goose_iti_abb_interlocking_vlan.pcap",
    "mms_emre_siemens_model_browse.pcapng", "mms_iti_piccolo_identify_status.pcap",
)
#: Octets that matter to BER and the OSI headers (indefinite / long-form lengths, tags).
INTERESTING = (0x00, 0x01, 0x02, 0x03, 0x1F, 0x30, 0x31, 0x60, 0x61, 0x7F, 0x80, 0x81, 0x82, 0x84,
               0x85, 0xA0, 0xA1, 0xBF, 0xC1, 0xF0, 0xFE, 0xFF)
LINKTYPES = (1, 113, 276, 101, 0, 108, 12, 228, 229)


# -- seeds ----------------------------------------------------------------------------------------

def _constructed_seeds(s: dict) -> None:
    init_q, init_r = B.initiate_request(), B.initiate_response()
    reads = [B.read_request(1, "LD0/LLN0$ST$Mod$stVal", "LD0/MMXU1$MX$TotW$mag$f"),
             B.read_response(1, {"integer": 1}, {"floating-point": 1.5}, {"visible-string": "x"}),
             E.unconfirmed(0, E.cons(0, E.vstr("RPT")) + E.cons(0, E.data({"integer": 5})))]
    acse = [B.aarq(init_q, "pw"), B.aare(0, 0, init_r), B.aare(1, 13), b"\x64\x03\x80\x01\x01",
            b"\x62\x03\x80\x01\x00"]
    ppdus = [("CN", B.cp(acse[0])), ("AC", B.cpa(acse[1])), ("RF", B.cpr(acse[2])),
             ("RF", B.cpr(provider_reason=3)), ("DT", B.td(3, reads[0]))]
    spdus = [B.cn(ppdus[0][1]), B.ac(ppdus[1][1]), B.rf(2, ppdus[2][1]), B.rf(129), B.gt_dt(ppdus[4][1]),
             b"\x09\x03\x11\x01\x03"]
    tpdus = [B.cr(), B.cc(), B.dr(3), B.er(2)] + [B.dt(x) for x in spdus]
    s["mms"] += reads + [init_q, init_r] + [B.indefinite(x) for x in reads]
    s["acse"] += acse + [B.indefinite(x) for x in acse]
    s["pres"] += ppdus + [(n, B.indefinite(p)) for n, p in ppdus]
    s["ses"] += spdus
    s["cotp"] += tpdus
    s["tpkt"] += [b"".join(B.tpkt(t) for t in tpdus)]
    s["ber"] += reads + acse + [p for _, p in ppdus] + [B.indefinite(x) for x in reads]


def _frame_seeds(s: dict, fr) -> None:
    s["link"].append((fr.linktype, bytes(fr.data)))
    try:
        et, off, *_ = parse_link(fr.linktype, fr.data)
    except DecodeError:
        return
    data = bytes(fr.data)
    if et == 0x88B8:
        s["goose"].append(data[off:])
    elif et == 0x88BA:
        s["sv"].append(data[off:])
    elif et is not None and et < 0:
        s["llc"].append(data[off:])
    elif et in (0x0800, 0x86DD):
        s["ip"].append(data[off:])
        try:
            parse = parse_ipv4 if et == 0x0800 else parse_ipv6
            src, dst, proto, poff, pend, frag, cut = parse(data, off)
            if proto == 6:
                sport, dport, seq, ack, flags, toff = parse_tcp(data, poff, pend)
                if data[toff:pend]:
                    _osi_seeds(s, data[toff:pend])
            elif proto == 17:
                sport, dport, uoff, uend = parse_udp(data, poff, pend)
                s["r90_5"].append(data[uoff:uend])
        except DecodeError:
            pass


def _osi_seeds(s: dict, payload: bytes) -> None:
    s["tpkt"].append(payload)
    for _, _, tp in TpktFramer(True).feed(payload, 1, 0.0):
        s["cotp"].append(tp)
        try:
            t = parse_tpdu(tp)
            if t.name != "DT" or not t.eot or not t.data:
                continue
            s["ses"].append(t.data)
            sp = parse_spdus(t.data)
            if not sp.user_data:
                continue
            ud = bytes(sp.user_data)
            s["pres"].append((sp.name, ud))
            s["ber"].append(ud)
            pres = parse_user_data(ud) if sp.name == "DT" else parse_ppdu(ud, sp.name)
            buf = pres.buf or ud
            for _, a, b in pres.pdvs:
                unit = bytes(buf[a:b])
                if unit and 0x60 <= unit[0] <= 0x64:
                    s["acse"].append(unit)
                    acse = parse_acse(unit)
                    for _, _, c, d in acse.user_info:
                        s["mms"].append(bytes((acse.buf or unit)[c:d]))
                elif unit:
                    s["mms"].append(unit)
        except DecodeError:
            continue


@pytest.fixture(scope="module")
def seeds() -> dict:
    s = {k: [] for k in ("ber", "tpkt", "cotp", "ses", "pres", "acse", "mms", "goose", "sv", "link",
                         "ip", "llc", "r90_5")}
    _constructed_seeds(s)
    if public.available():
        for name in SEED_CAPTURES:
            if not os.path.exists(public.path(name)):
                continue
            for i, fr in enumerate(open_source(public.path(name))):
                if i >= FRAMES_PER_CAPTURE:
                    break
                _frame_seeds(s, fr)
    # a GOOSE / SV / LLC / 90-5 seed each even without the public captures
    from test_goose_decode import goose_pdu
    from test_sv_decode import asdu, sav
    s["goose"].append(b"\x30\x01\x00\x58\x00\x00\x00\x00" + goose_pdu())
    s["goose"].append(b"\x30\x01\x00\x58\x00\x00\x00\x00" + B.indefinite(goose_pdu()))
    s["sv"].append(b"\x40\x00\x00\x60\x00\x00\x00\x00" + sav([asdu(), asdu(cnt=1)]))
    s["sv"].append(b"\x40\x00\x00\x60\x00\x00\x00\x00" + B.indefinite(sav([asdu()])))
    s["llc"].append(b"\xfe\xfe\x03\x81\x00")
    s["r90_5"].append(b"\xa1\x18\x80\x16" + bytes(22))
    for k in s:                                    # de-duplicate, keep order, bound the size
        seen, out = set(), []
        for x in s[k]:
            if x not in seen:
                seen.add(x)
                out.append(x)
        s[k] = out[:3000]
    return s


# -- the decoders -----------------------------------------------------------------------------------

def _each(*calls):
    """Run each call; a DecodeError of one does not stop the others."""
    for call in calls:
        try:
            call()
        except DecodeError:
            pass


def _walk(buf, off, end, depth=0):
    while off < end:
        tag, cs, ce = read_header(buf, off, end)
        if tag & 0x20 and depth < 40:
            _walk(buf, cs, ce, depth + 1)
        off = ce


def _ber(b):
    def definite_then_walk():
        conv = definite_tlv(b, 0, len(b))
        buf = b if conv is None else conv[0]
        _walk(buf, 0, len(buf))
    _each(lambda: list(children_clamped(b, 0, len(b), [])),
          lambda: read_header_lenient(b, 0, len(b) + 0x10000),
          lambda: read_header(b, 1, 1 << 40),
          definite_then_walk)


def _tpkt(b):
    for synced in (True, False):
        f = TpktFramer(synced)
        f.feed(b, 1, 0.0)
        f.gap()
        f.feed(b[len(b) // 2:], 2, 0.0)


def _cotp(b):
    t = parse_tpdu(b)
    r = CotpReassembler()
    r.add(t.data, t.eot, 1)


def _ses(b):
    looks_like_session(b)
    parse_spdus(b)


def _pres(item):
    name, b = item if isinstance(item, tuple) else ("CN", item)
    for spdu in (name, "DT" if name != "DT" else "AC"):
        try:
            parse_user_data(b) if spdu == "DT" else parse_ppdu(b, spdu)
        except DecodeError:
            pass
    parse_ppdu(b, "RF")


def _acse(b):
    a = parse_acse(b)
    for _, _, s, e in a.user_info:
        (a.buf or b)[s:e]


def _mms(b):
    looks_like_mms(b)
    try:
        mms_envelope(b)
    except DecodeError:
        pass
    decode_mms(b)


def _goose(b):
    notes = []
    try:
        read_l2_header(b, 0, len(b))
    except DecodeError:
        pass
    try:
        decode_all_data(b, 8, len(b))
    except DecodeError:
        pass
    decode_goose_pdu(b, 8, len(b), {}, notes)


def _sv(b):
    decode_sv(b, 0)


def _link(item):
    lt, b = item if isinstance(item, tuple) else (1, item)
    for t in (lt,) + LINKTYPES:
        try:
            parse_link(t, b)
        except DecodeError:
            pass


def _ip(b):
    for parse in (parse_ipv4, parse_ipv6):
        try:
            src, dst, proto, poff, pend, frag, cut = parse(b, 0)
            (parse_tcp if proto == 6 else parse_udp)(b, poff, pend)
        except DecodeError:
            pass
    parse_tcp(b, 0, len(b))
    parse_udp(b, 0, len(b))


def _llc(b):
    parse_llc(b, 0)


def _r90_5(b):
    parse_session(b, 0, len(b))


#: name -> (seed key, decoder).  Only DecodeError may come out of a decoder.
DECODERS = {
    "ber": ("ber", _ber), "tpkt": ("tpkt", _tpkt), "cotp": ("cotp", _cotp), "session": ("ses", _ses),
    "presentation": ("pres", _pres), "acse": ("acse", _acse), "mms": ("mms", _mms),
    "goose": ("goose", _goose), "sv": ("sv", _sv), "link": ("link", _link), "ip": ("ip", _ip),
    "llc": ("llc", _llc), "90-5": ("r90_5", _r90_5),
}


# -- mutations ----------------------------------------------------------------------------------------

def mutate(rng: random.Random, b: bytes, pool: list) -> bytes:
    """1..4 random edits of ``b``: bit flips, interesting octets, cuts, deletions, insertions,
    an indefinite length with or without its end-of-contents, slice duplication, splices."""
    b = bytearray(b)
    for _ in range(rng.randint(1, 4)):
        if not b:
            b = bytearray(rng.randbytes(rng.randint(1, 24)))
            continue
        i = rng.randrange(len(b))
        op = rng.randrange(10)
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice(INTERESTING)
        elif op == 2:
            del b[i:]
        elif op == 3:
            del b[i:i + rng.randint(1, 8)]
        elif op == 4:
            b[i:i] = rng.randbytes(rng.randint(1, 8))
        elif op == 5:
            b[i] = 0x80
            if rng.random() < 0.7:
                j = rng.randint(i, len(b))
                b[j:j] = b"\x00\x00"
        elif op == 6:
            j = rng.randrange(len(b))
            b[j:j] = b[i:i + rng.randint(1, 16)]
        elif op == 7 and pool:
            other = _bytes(rng.choice(pool))
            if other:
                b[i:] = other[rng.randrange(len(other)):]
        elif op == 8:
            b[i] = rng.randrange(256)
        else:
            b[i:i + 2] = rng.choice((b"\x00\x00", b"\xff\xff", b"\x30\x80", b"\x82\xff", b"\x84\xff"))
    return bytes(b)


def _bytes(item):
    return item[1] if isinstance(item, tuple) else item


def _with(item, b):
    return (item[0], b) if isinstance(item, tuple) else b


def _inputs(rng, pool, n):
    """``n`` inputs: 8 % random bytes, 2 % seeds as they are, 90 % mutated seeds."""
    for _ in range(n):
        r = rng.random()
        if r < 0.08 or not pool:
            yield rng.randbytes(rng.randint(0, 64))
        elif r < 0.10:
            yield rng.choice(pool)
        else:
            item = rng.choice(pool)
            yield _with(item, mutate(rng, _bytes(item), pool))


def _check(fn, item, name, seed):
    try:
        fn(item)
    except DecodeError:
        pass
    except Exception as exc:  # noqa: BLE001 - this is the property under test
        b = _bytes(item)
        raise AssertionError(f"{name}: {type(exc).__name__}: {exc} on {b.hex()} "
                             f"(MMSA_PROPERTY_SEED={seed})") from exc


@pytest.mark.parametrize("name", list(DECODERS))
def test_only_decode_error_comes_out(name, seeds):
    key, fn = DECODERS[name]
    pool = seeds[key]
    assert pool, f"no seeds for {name}"
    rng = random.Random(f"{SEED}/{name}")
    n = 0
    for item in _inputs(rng, pool, N_PER_DECODER):
        _check(fn, item, name, SEED)
        n += 1
    assert n >= N_PER_DECODER


def test_collectors_and_pipeline_let_nothing_out(seeds):
    """The frame path as a whole (link -> IP/TCP -> OSI, GOOSE, SV collectors): findings only."""
    rng = random.Random(f"{SEED}/pipeline")
    frames = seeds["link"]
    pipe = Pipeline(goose=GooseCollector(), sv=SvCollector())
    n = 0
    for i in range(N_PER_DECODER // 4):
        lt, data = rng.choice(frames)
        data = mutate(rng, data, []) if rng.random() < 0.9 else data
        pipe.feed(RawFrame(i + 1, float(i), lt, data, len(data)))
        n += 1
    pipe.finish()
    pipe.goose.table()
    pipe.sv.table()
    assert n == N_PER_DECODER // 4


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(sorted(DECODERS)), data=st.binary(max_size=96), pick=st.integers(0, 10**6),
       cut=st.integers(0, 400))
def test_hypothesis_random_and_spliced(seeds, name, data, pick, cut):
    key, fn = DECODERS[name]
    pool = seeds[key]
    item = pool[pick % len(pool)]
    b = _bytes(item)
    for candidate in (data, b[:cut] + data, data + b[cut:]):
        _check(fn, _with(item, candidate), name, "hypothesis")
