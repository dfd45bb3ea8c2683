"""Sampled Values frames: the EtherType 0x88BA header and the savPdu (IEC 61850-9-2).

Bytes in, records out; offsets are into one buffer (the whole frame).  This is the
full BER walk; :mod:`.collector` only calls it for the first frame of each layout
(and for frames that do not fit a known layout).  Only DecodeError subclasses escape.

``savPdu ::= [APPLICATION 0] IMPLICIT SEQUENCE`` (IEC 61850-9-2 Ed.2 8.5)::

    noASDU [0] INTEGER (1..65535)   security [1] ANY OPTIONAL
    seqASDU [2] SEQUENCE OF ASDU

    ASDU ::= SEQUENCE {
      svID [0] VisibleString          datSet [1] VisibleString OPTIONAL
      smpCnt [2] OCTET STRING (SIZE(2))            -- unsigned, wraps
      confRev [3] OCTET STRING (SIZE(4))           refrTm [4] UtcTime OPTIONAL
      smpSynch [5] OCTET STRING (SIZE(1))          -- 0 none, 1 local, 2 global
      smpRate [6] OCTET STRING (SIZE(2)) OPTIONAL
      sample [7] OCTET STRING                      -- "seqData"
      smpMod [8] OCTET STRING (SIZE(2)) OPTIONAL   -- 0 per period, 1 per s, 2 s per sample
      gmIdentity [9] OCTET STRING (SIZE(8)) OPTIONAL }   -- Ed.2.1

Fixed-size fields are read as unsigned big-endian whatever their length, so
encoders that send minimal INTEGERs instead decode the same way.
"""

from __future__ import annotations

from typing import NamedTuple

from ..ber import IndefiniteLength, definite_tlv, read_header_lenient, read_str, read_utc_time
from ..errors import DecodeError, Malformed, Truncated

__all__ = ["ETHERTYPE_SV", "SAV_PDU_TAG", "SvAsdu", "SvFrame", "decode_sv", "decode_sav_pdu",
           "ASDU_FIELDS"]

ETHERTYPE_SV = 0x88BA
SAV_PDU_TAG = 0x60        # [APPLICATION 0] constructed
_ASDU_TAG = 0x30          # SEQUENCE
#: Longest integer-like fixed field accepted (smpCnt etc. are 1..4 octets).
_MAX_UINT_LEN = 4
#: Hostile noASDU values are refused rather than trusted for anything.
MAX_ASDU = 4096

#: ASDU member tag -> field name (IEC 61850-9-2 8.5.2).
ASDU_FIELDS = {0x80: "sv_id", 0x81: "dat_set", 0x82: "smp_cnt", 0x83: "conf_rev",
               0x84: "refr_tm", 0x85: "smp_synch", 0x86: "smp_rate", 0x87: "seq_data",
               0x88: "smp_mod", 0x89: "gm_identity"}
_REQUIRED = ("sv_id", "smp_cnt", "conf_rev", "smp_synch", "seq_data")


class SvAsdu(NamedTuple):
    """One decoded ASDU.  ``spans`` maps field name -> (content_start, content_end)."""

    sv_id: str | None
    dat_set: str | None
    smp_cnt: int | None
    conf_rev: int | None
    refr_tm: float | None
    smp_synch: int | None
    smp_rate: int | None
    smp_mod: int | None
    gm_identity: str | None
    seq_data: tuple | None     # (start, end) of the sample octets
    spans: dict


class SvFrame(NamedTuple):
    """A decoded SV frame (header + savPdu)."""

    appid: int
    length: int
    reserved1: int
    reserved2: int
    no_asdu: int | None
    security: bool
    asdus: tuple          # SvAsdu, possibly partial when ``error`` is set
    pdu_end: int          # offset just after the savPdu (APPID + Length)
    error: DecodeError | None
    #: None, or the frame with the savPdu re-encoded with definite lengths (it used
    #: indefinite ones, X.690 8.1.3.6): the ``spans`` of the ASDUs point into it
    buf: bytes | None = None


def _uint(buf, cs: int, ce: int, name: str) -> int:
    n = ce - cs
    # 1..4 octets, or 5 with a leading zero (a BER INTEGER holding a 32-bit unsigned,
    # as 9-2 Ed.1 / 90-5 draft encoders send)
    if n == 0 or n > _MAX_UINT_LEN and not (n == _MAX_UINT_LEN + 1 and buf[cs] == 0):
        raise Malformed(f"{name} of {n} octets", cs, "sv", code=f"sv.malformed.{name}")
    return int.from_bytes(buf[cs:ce], "big")


def decode_sv(buf, off: int, end: int | None = None) -> SvFrame:
    """Decode the SV header at ``off`` and its savPdu.

    Never raises for problems inside the savPdu: the frame comes back with the
    ASDUs decoded so far and ``error`` set.  Raises :class:`Truncated` /
    :class:`Malformed` only when the 8-octet header itself is unusable.
    """
    end = len(buf) if end is None else end
    if end - off < 8:
        raise Truncated(f"header needs 8 octets, {end - off} left", off, "sv",
                        code="sv.malformed.truncated")
    appid = buf[off] << 8 | buf[off + 1]
    length = buf[off + 2] << 8 | buf[off + 3]
    r1 = buf[off + 4] << 8 | buf[off + 5]
    r2 = buf[off + 6] << 8 | buf[off + 7]
    err = None
    pdu_end = off + length
    if length < 8:
        err = Malformed(f"Length {length} is shorter than the 8-octet header", off + 2, "sv",
                        code="sv.malformed.length")
        pdu_end = end
    elif pdu_end > end:
        err = Truncated(f"Length {length} exceeds the {end - off} octets captured", off + 2,
                        "sv", code="sv.malformed.truncated")
        pdu_end = end
    asdus: list = []
    state = {"no_asdu": None, "security": False}
    conv_buf = None
    try:
        decode_sav_pdu(buf, off + 8, pdu_end, asdus, state)
    except DecodeError as exc:
        conv = _definite_retry(exc, buf, off + 8, pdu_end)
        if conv is not None:
            conv_buf, asdus, state, exc = conv
        if err is None:
            err = exc
    return SvFrame(appid, length, r1, r2, state["no_asdu"], state["security"], tuple(asdus),
                   pdu_end, err, conv_buf)


def _definite_retry(exc: DecodeError, buf, off: int, end: int):
    """After ``exc`` from :func:`decode_sav_pdu`: when it is an indefinite length, decode the
    savPdu at ``off`` again from its definite re-encoding (spliced into a copy of ``buf``
    after ``off``).  Returns ``(new_buf, asdus, state, error or None)`` or None."""
    if not isinstance(exc, IndefiniteLength):
        return None
    try:
        conv = definite_tlv(buf, off, end)
    except DecodeError:
        return None
    if conv is None:
        return None
    new = bytes(buf[:off]) + conv[0]
    asdus: list = []
    state = {"no_asdu": None, "security": False}
    try:
        decode_sav_pdu(new, off, len(new), asdus, state)
        err = None
    except DecodeError as exc2:
        err = exc2
    return new, asdus, state, err


def decode_sav_pdu(buf, off: int, end: int, asdus: list, state: dict) -> None:
    """Decode the savPdu TLV at ``off``; appends :class:`SvAsdu` records to ``asdus``.

    ``state`` receives ``no_asdu`` and ``security``.  Raises DecodeError subclasses
    (with ``sv.malformed.*`` codes); ASDUs decoded before the problem stay in ``asdus``.
    A length that overruns its container is clamped so the fields that are there
    still decode (as Wireshark does); the overrun is raised once the walk is over.
    """
    tag, cs, ce = _hdr(buf, off, end, state, ("savPdu",))
    if tag != SAV_PDU_TAG:
        raise Malformed(f"expected savPdu [APPLICATION 0] (0x60), found tag 0x{tag:02x}", off,
                        "sv", code="sv.malformed.tag")
    pos = cs
    seq = None
    while pos < ce:
        tag, vs, ve = _hdr(buf, pos, ce, state, ("savPdu",))
        if tag == 0x80:
            n = _uint(buf, vs, ve, "no_asdu")
            if n == 0 or n > MAX_ASDU:
                raise Malformed(f"noASDU {n}", vs, "sv", ("savPdu",), "sv.malformed.no_asdu")
            state["no_asdu"] = n
        elif tag in (0x81, 0xA1):
            state["security"] = True
        elif tag == 0xA2:
            seq = (vs, ve)
        else:
            raise Malformed(f"unexpected tag 0x{tag:02x} in savPdu", pos, "sv", ("savPdu",),
                            "sv.malformed.tag")
        pos = ve
    if state["no_asdu"] is None:
        raise Malformed("mandatory noASDU missing", ce, "sv", ("savPdu",), "sv.malformed.missing")
    if seq is None:
        raise Malformed("mandatory seqASDU missing", ce, "sv", ("savPdu",), "sv.malformed.missing")
    pos, send = seq
    i = 0
    while pos < send:
        where = ("savPdu", "seqASDU", f"ASDU {i}")
        tag, vs, ve = _hdr(buf, pos, send, state, where)
        if tag != _ASDU_TAG:
            raise Malformed(f"expected ASDU SEQUENCE (0x30), found 0x{tag:02x}", pos, "sv",
                            where[:2], "sv.malformed.tag")
        if len(asdus) >= MAX_ASDU:
            raise Malformed(f"more than {MAX_ASDU} ASDUs", pos, "sv", where[:2],
                            "sv.malformed.no_asdu")
        _asdu(buf, vs, ve, asdus, state, where)
        pos = ve
        i += 1
    if "overrun" in state:
        raise state["overrun"]
    if i != state["no_asdu"]:
        raise Malformed(f"noASDU says {state['no_asdu']} but seqASDU holds {i}", seq[0], "sv",
                        ("savPdu",), "sv.malformed.no_asdu")


def _hdr(buf, pos: int, end: int, state: dict, where: tuple):
    """ber.read_header_lenient, under ``sv.malformed.*`` and the breadcrumb ``where``.

    A length overrunning ``end`` is clamped so the fields that are there still decode
    (Wireshark-style); the first overrun is kept in ``state['overrun']`` and
    :func:`decode_sav_pdu` raises it once the walk is over.
    """
    try:
        tag, cs, ce, overrun = read_header_lenient(buf, pos, end)
    except DecodeError as exc:
        raise _sv(exc, where) from None
    if overrun is not None:
        state.setdefault("overrun", _sv(overrun, where))
    return tag, cs, ce


def _sv(exc: DecodeError, where: tuple = ()) -> DecodeError:
    """A new error: ``exc`` re-homed under sv.malformed.* with ``where`` before its path."""
    if exc.layer in ("", "ber"):
        exc = exc.relabel("sv", "sv.malformed." + exc.code.rsplit(".", 1)[-1])
    return exc.relabel(path=where + exc.path) if where else exc


def _asdu(buf, cs: int, ce: int, asdus: list, state: dict, where: tuple) -> None:
    f: dict = {}
    spans: dict = {}
    pos = cs
    try:
        while pos < ce:
            tag, vs, ve = _hdr(buf, pos, ce, state, where)
            name = ASDU_FIELDS.get(tag)
            if name is None:
                raise Malformed(f"unexpected tag 0x{tag:02x} in ASDU", pos, "sv", where,
                                code="sv.malformed.tag")
            if name in spans:
                raise Malformed(f"{name} appears twice", pos, "sv", where,
                                code="sv.malformed.duplicate")
            spans[name] = (vs, ve)
            try:
                if name in ("sv_id", "dat_set"):
                    f[name] = read_str(buf, vs, ve)
                elif name == "refr_tm":
                    f[name] = read_utc_time(buf, vs, ve)[0]
                elif name == "gm_identity":
                    f[name] = bytes(buf[vs:ve]).hex()
                elif name != "seq_data":
                    f[name] = _uint(buf, vs, ve, name)
            except DecodeError as exc:
                raise _sv(exc, where + (name,)) from None
            pos = ve
        if "overrun" not in state:
            for name in _REQUIRED:
                if name not in spans:
                    raise Malformed(f"mandatory {name} missing", ce, "sv", where,
                                    code="sv.malformed.missing")
    finally:
        asdus.append(_record(f, spans))


def _record(f: dict, spans: dict) -> SvAsdu:
    return SvAsdu(f.get("sv_id"), f.get("dat_set"), f.get("smp_cnt"), f.get("conf_rev"),
                  f.get("refr_tm"), f.get("smp_synch"), f.get("smp_rate"), f.get("smp_mod"),
                  f.get("gm_identity"), spans.get("seq_data"), spans)
