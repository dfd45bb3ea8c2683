"""GOOSE frames: the EtherType 0x88B8 header and the goosePdu (IEC 61850-8-1).

Bytes in, records out; no I/O.  Offsets are into one buffer (the whole frame),
never re-sliced.  Only :class:`~mmsanalyze.errors.DecodeError` subclasses escape.

Header (IEC 61850-8-1 Annex C, common to GOOSE and SV)::

    APPID (2) | Length (2, counts from APPID) | reserved1 (2) | reserved2 (2) | APDU

reserved1 bit 15 (0x8000) is the Ed.2 "simulate" bit (S); the other bits and
reserved2 are reserved (IEC 62351-6 uses them for its security extension).

goosePdu (IEC 61850-8-1 Annex A, ``IECGoosePdu ::= [APPLICATION 1] IMPLICIT SEQUENCE``)::

    gocbRef [0] VisibleString        timeAllowedtoLive [1] INTEGER
    datSet [2] VisibleString         goID [3] VisibleString OPTIONAL
    t [4] UtcTime                    stNum [5] INTEGER      sqNum [6] INTEGER
    simulation [7] BOOLEAN  (Ed.1 calls it "test")
    confRev [8] INTEGER              ndsCom [9] BOOLEAN
    numDatSetEntries [10] INTEGER    allData [11] SEQUENCE OF Data
    security [12] ANY OPTIONAL
"""

from __future__ import annotations

from ..ber import read_bool, read_header, read_header_lenient, read_utc_time
from ..errors import DecodeError, Malformed, Tolerated, Truncated, Unsupported

__all__ = [
    "ETHERTYPE_GOOSE", "HEADER_LEN", "SIM_BIT", "GOOSE_PDU_TAG", "GSE_MNGT_PDU_TAG",
    "read_l2_header", "decode_goose_pdu", "GOOSE_FIELDS",
]

ETHERTYPE_GOOSE = 0x88B8
#: APPID + Length + reserved1 + reserved2 (IEC 61850-8-1 Annex C).
HEADER_LEN = 8
#: reserved1 bit 15: Ed.2 "simulate" (S) bit.
SIM_BIT = 0x8000
GOOSE_PDU_TAG = 0x61      # [APPLICATION 1] constructed
GSE_MNGT_PDU_TAG = 0x60   # [APPLICATION 0] constructed (GSE management, Annex A)

#: goosePdu members in ASN.1 order: tag -> (our name, kind).  Kinds: 0 VisibleString,
#: 1 unsigned 32-bit INTEGER, 2 BOOLEAN, 3 UtcTime, 4 (start, end) span.
_STR, _U32, _BOOL, _UTC, _SPAN = range(5)
_MEMBERS = {
    0x80: ("gocb_ref", _STR),
    0x81: ("time_allowed_to_live", _U32),
    0x82: ("dat_set", _STR),
    0x83: ("go_id", _STR),
    0x84: ("t", _UTC),
    0x85: ("st_num", _U32),
    0x86: ("sq_num", _U32),
    0x87: ("simulation", _BOOL),
    0x88: ("conf_rev", _U32),
    0x89: ("nds_com", _BOOL),
    0x8A: ("num_dat_set_entries", _U32),
    0xAB: ("all_data", _SPAN),
    0x8C: ("security", _SPAN),   # primitive OCTET STRING / ANY
    0xAC: ("security", _SPAN),   # constructed form
}
#: Mandatory members (everything but goID and security).
_REQUIRED = ("gocb_ref", "time_allowed_to_live", "dat_set", "t", "st_num", "sq_num",
             "simulation", "conf_rev", "nds_com", "num_dat_set_entries", "all_data")
#: Names a decoded goosePdu dict may hold, for documentation and tests.
GOOSE_FIELDS = tuple(dict.fromkeys(n for n, _ in _MEMBERS.values())) + ("t_quality",)

_U32_MAX = 0xFFFFFFFF


def read_l2_header(buf, off: int, end: int) -> tuple[int, int, int, int, int]:
    """Read the 8-octet GOOSE/SV header at ``off``.

    Returns ``(appid, length, reserved1, reserved2, apdu_end)`` where ``apdu_end``
    is ``off + length``.  Raises :class:`Truncated` when fewer than 8 octets are
    left or the Length field claims more than ``end - off``, :class:`Malformed`
    when Length is smaller than the header itself.
    """
    if end - off < HEADER_LEN:
        raise Truncated(f"header needs {HEADER_LEN} octets, {end - off} left", off, "goose",
                        code="goose.malformed.truncated")
    appid = buf[off] << 8 | buf[off + 1]
    length = buf[off + 2] << 8 | buf[off + 3]
    r1 = buf[off + 4] << 8 | buf[off + 5]
    r2 = buf[off + 6] << 8 | buf[off + 7]
    if length < HEADER_LEN:
        raise Malformed(f"Length {length} is shorter than the {HEADER_LEN}-octet header",
                        off + 2, "goose", code="goose.malformed.length")
    if off + length > end:
        raise Truncated(f"Length {length} exceeds the {end - off} octets captured",
                        off + 2, "goose", code="goose.malformed.truncated")
    return appid, length, r1, r2, off + length


def decode_goose_pdu(buf, off: int, end: int, out: dict, notes: list | None = None) -> dict:
    """Decode the goosePdu TLV at ``off`` into ``out`` and return it.

    ``out`` is filled member by member, so on a :class:`DecodeError` the caller
    still holds what was decoded before the problem (Wireshark-style partial
    dissection).  Members: see :data:`GOOSE_FIELDS`; ``all_data`` and
    ``security`` are ``(content_start, content_end)`` spans into ``buf``; ``t``
    is float epoch seconds and ``t_quality`` the UtcTime quality octet.

    Leniency as in the field (and as tshark decodes): an unsigned member sent with
    its high bit set (a publisher's ``sqNum`` as ``86 02 ff ff`` at the wrap) is read
    as the unsigned value (65535) and an unknown member tag is skipped; each is a
    ``DecodeError`` value (severity note / warning) appended to ``notes`` and
    decoding goes on.  A member whose length overruns the PDU (a cut frame) is
    decoded from what is there and then raised as :class:`Truncated`.
    """
    tag, cs, ce, overrun = read_header_lenient(buf, off, end)
    if tag != GOOSE_PDU_TAG:
        if tag == GSE_MNGT_PDU_TAG:
            raise Unsupported("gseMngtPdu (GSE management) is not decoded", off, "goose",
                              code="goose.unsupported.gse_mngt")
        raise Malformed(f"expected goosePdu [APPLICATION 1] (0x61), found tag 0x{tag:02x}",
                        off, "goose", code="goose.malformed.tag")
    pos = cs
    members = _MEMBERS
    while pos < ce:
        # short-form tag and length inline (every real goosePdu member); anything
        # else, and every error, goes through the BER layer
        tag = buf[pos]
        if pos + 1 < ce and buf[pos + 1] < 0x80 and tag & 0x1F != 0x1F \
                and pos + 2 + buf[pos + 1] <= ce:
            vs = pos + 2
            ve = vs + buf[pos + 1]
        else:
            try:
                tag, vs, ve, cut = read_header_lenient(buf, pos, ce)
            except DecodeError as err:
                raise _goose(err).within("goosePdu", "goose") from None
            if cut is not None and overrun is None:
                overrun = cut
        member = members.get(tag)
        if member is None:
            if notes is None:
                raise Malformed(f"unexpected tag 0x{tag:02x} in goosePdu", pos, "goose",
                                path=("goosePdu",), code="goose.malformed.tag")
            notes.append(Tolerated(f"unknown tag 0x{tag:02x} in goosePdu skipped", pos, "goose",
                                   path=("goosePdu",), code="goose.malformed.unknown_tag",
                                   severity="warning"))
            pos = ve
            continue
        name, kind = member
        if name in out:
            raise Malformed(f"{name} appears twice", pos, "goose", path=("goosePdu",),
                            code="goose.malformed.duplicate")
        try:
            if kind == _STR:
                out[name] = bytes(buf[vs:ve]).decode("latin-1")
            elif kind == _U32:
                n = ve - vs
                if n == 0 or n > 5:
                    raise Malformed(f"INTEGER of {n} octets", vs, "goose",
                                    code="goose.malformed.integer")
                v = int.from_bytes(buf[vs:ve], "big", signed=True)
                if v < 0 and notes is not None and n <= 4:
                    v = int.from_bytes(buf[vs:ve], "big")
                    notes.append(_signed_note(name, buf, vs, ve, v))
                if not 0 <= v <= _U32_MAX:
                    raise Malformed(f"value {v} outside 0..2^32-1", vs, "goose",
                                    code="goose.malformed.integer")
                out[name] = v
            elif kind == _BOOL:
                out[name] = read_bool(buf, vs, ve)
            elif kind == _UTC:
                out[name], _frac, out["t_quality"] = read_utc_time(buf, vs, ve)
            else:
                out[name] = (vs, ve)
        except DecodeError as err:
            raise _goose(err).within(name).within("goosePdu") from None
        pos = ve
    if overrun is not None:
        raise _goose(overrun).within("goosePdu")
    for name in _REQUIRED:
        if name not in out:
            raise Malformed(f"mandatory {name} missing", ce, "goose", path=("goosePdu",),
                            code="goose.malformed.missing")
    return out


def _goose(err: DecodeError) -> DecodeError:
    """A BER error re-homed under ``goose.malformed.*`` (a new error, ``err`` is unchanged)."""
    if err.layer in ("", "ber"):
        return err.relabel("goose", "goose.malformed." + err.code.rsplit(".", 1)[-1])
    return err


def _signed_note(name, buf, vs, ve, v) -> DecodeError:
    note = Tolerated(f"{name} sent as a negative INTEGER ({bytes(buf[vs:ve]).hex(' ')}); "
                       f"read as the unsigned value {v}", vs, "goose", path=("goosePdu", name),
                       code="goose.note.unsigned_high_bit")
    return note
