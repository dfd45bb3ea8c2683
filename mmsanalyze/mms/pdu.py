"""MMSpdu envelope (ISO 9506-2 clause 7): record type, fast path, full decode entry point.

``decode_mms`` turns one BER-encoded MMSpdu into an :class:`MmsPdu`; ``mms_envelope``
gives only ``(pdu, service, invoke_id)`` with a handful of header reads;
``looks_like_mms`` is the cheap structural test used when the presentation context is
unknown.  Service bodies are decoded by :mod:`.services` (dispatch dicts keyed by the
ConfirmedServiceRequest/Response tag number).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ber import IndefiniteLength, definite_tlv, read_header
from ..errors import DecodeError, Malformed, Unsupported
from ._tlv import expect_end, generic, hdr, kids, tag_key
from .service_error import decode_reject, decode_service_error
from .initiate import decode_initiate_request, decode_initiate_response
from .names import CONFIRMED_SERVICES, PDU_TAGS, UNCONFIRMED_SERVICES
from .services import REQUESTS, RESPONSES, UNCONFIRMED, decode_modifier

__all__ = ["MmsPdu", "decode_mms", "mms_envelope", "looks_like_mms"]


@dataclass(frozen=True, slots=True)
class MmsPdu:
    """One decoded MMSpdu.

    Attributes:
        pdu: ASN.1 identifier of the MMSpdu CHOICE alternative
            (``'confirmed-RequestPDU'`` ... ``'conclude-ErrorPDU'``).
        service: identifier of the ConfirmedServiceRequest/Response or
            UnconfirmedService alternative (``'read'``, ``'informationReport'``,
            ``'fileOpen'`` ...); ``None`` for initiate, conclude, cancel, reject and
            confirmed-Error PDUs.
        invoke_id: invokeID of confirmed request/response/error PDUs; the
            originalInvokeID of cancel and reject PDUs; otherwise ``None``.
        variables: object names of the variableAccessSpecification of a read or write
            request, a read response that echoes it, and an informationReport, in
            order: ``'DOMAIN/ITEM'`` (domain-specific), ``'ITEM'`` (vmd-specific),
            ``'@ITEM'`` (aa-specific).  A variableListName is one entry.  A variable
            given by address instead of by name is ``'#'`` + the address (numeric,
            symbolic, or hex for unconstrained), so positions match the results.
        error: ``None``; or, for confirmed-Error / initiate-Error / conclude-Error /
            cancel-Error PDUs, ``{'class': <errorClass>, 'code': <code name or int>,
            ...}`` with ``additionalCode``, ``additionalDescription`` and
            ``serviceSpecificInformation`` when present (and ``modifierPosition``);
            for a rejectPDU ``{'class': <rejectReason alternative>, 'code': <reason>,
            'original_invoke_id': <int or None>}``.
        access_results: read response / informationReport: per item the decoded Data
            value (see :func:`~mmsanalyze.mms.data.decode_data` for the Python form) or
            ``{'failure': '<DataAccessError name>'}``; write response: per item
            ``'success'`` or ``{'failure': ...}``; otherwise ``None``.
        detail: the whole PDU as a JSON-able tree keyed by ASN.1 identifiers, like
            Wireshark's field tree: ``{'confirmed-RequestPDU': {'invokeID': 1,
            'confirmedServiceRequest': {'read': {...}}}}``.  Every Data value in it is
            ``{'<Data alternative>': value}``.
        end: offset just past the PDU in the buffer given to :func:`decode_mms`.
    """

    pdu: str
    service: str | None
    invoke_id: int | None
    variables: tuple[str, ...]
    error: dict | None
    access_results: tuple | None
    detail: dict
    end: int


def _uint(buf, cs, ce, what):
    if ce <= cs:
        raise Malformed(f"{what} with no content octets", cs, "mms", code="mms.malformed.integer")
    if ce - cs > 5 or (ce - cs == 5 and buf[cs]):
        raise Malformed(f"{what} longer than 32 bits", cs, "mms", code="mms.malformed.invoke_id")
    return int.from_bytes(buf[cs:ce], "big")


def _outer(buf, off, end):
    if end is None:
        end = len(buf)
    tag, cs, ce = read_header(buf, off, end)
    name = PDU_TAGS.get(tag)
    if name is None:
        raise Malformed(f"identifier 0x{tag:02x} is not an MMSpdu alternative", off, "mms",
                        code="mms.malformed.pdu_tag")
    return tag, name, cs, ce


def mms_envelope(buf, off: int = 0, end: int | None = None) -> tuple[str, str | None, int | None]:
    """``(pdu, service, invoke_id)`` of the MMSpdu at ``off`` without decoding bodies.

    Reads only the outer header, the invokeID and the service identifier.  Raises
    :class:`~mmsanalyze.errors.DecodeError` subclasses only.  A PDU with indefinite
    lengths (X.690 8.1.3.6) is read from its definite-length re-encoding.
    """
    try:
        return _envelope(buf, off, end)
    except IndefiniteLength:
        conv = _definite(buf, off, end)
        if conv is None:
            raise
    return _envelope(conv, 0, len(conv))


def _definite(buf, off, end):
    """The MMSpdu at ``off`` re-encoded with definite lengths (None when it has none)."""
    conv = definite_tlv(buf, off, len(buf) if end is None else end)
    return None if conv is None else conv[0]


def _envelope(buf, off, end):
    try:
        tag, name, cs, ce = _outer(buf, off, end)
        if tag == 0xA0 or tag == 0xA1:
            t, a, b = hdr(buf, cs, ce)
            if t != 0x02:
                raise Malformed("invokeID missing", cs, "mms", code="mms.malformed.invoke_id")
            iid = _uint(buf, a, b, "invokeID")
            t, a, b = hdr(buf, b, ce)
            if t == 0x30 and tag == 0xA0:              # listOfModifier precedes the service
                t, a, b = hdr(buf, b, ce)
            return name, _service_name(CONFIRMED_SERVICES, t, a), iid
        if tag == 0xA3:
            t, a, _ = hdr(buf, cs, ce)
            return name, _service_name(UNCONFIRMED_SERVICES, t, a), None
        if tag == 0xA2 or tag == 0xA4 or tag == 0xA7:
            if cs < ce:
                t, a, b = hdr(buf, cs, ce)
                if t == 0x80:
                    return name, None, _uint(buf, a, b, "invokeID")
            if tag == 0xA4:
                return name, None, None
            raise Malformed("invokeID missing", cs, "mms", code="mms.malformed.invoke_id")
        if tag == 0x85 or tag == 0x86:
            return name, None, _uint(buf, cs, ce, "originalInvokeID")
        return name, None, None
    except DecodeError as e:
        raise e.within("MMSpdu", "mms")


def _service_name(table, tag, off):
    if tag & 0xC0 != 0x80:
        raise Malformed(f"service identifier 0x{tag & 0xFF:02x} is not context-specific", off,
                        "mms", code="mms.malformed.service_tag")
    num = tag >> 8 if tag > 0xFF else tag & 0x1F
    name = table.get(num)
    if name is None:
        raise Unsupported(f"unknown service [{num}]", off, "mms", code="mms.unsupported.service")
    return name


def looks_like_mms(buf, off: int = 0, end: int | None = None) -> bool:
    """Cheap structural check that ``buf[off:end]`` holds exactly one MMSpdu.

    Used when the presentation context is unknown (capture started mid-association):
    the outer identifier must be an MMSpdu alternative whose length ends exactly at
    ``end`` and whose components tile its content; confirmed PDUs must start with an
    INTEGER invokeID followed by a known service, unconfirmed PDUs with a known service,
    confirmed/cancel-Error PDUs with ``[0]`` invokeID, a reject with a valid reason,
    initiate PDUs with their ``[0]``/``[1]`` fields, initiate/conclude-Error with
    ``[0]`` errorClass.  Service bodies are not decoded.  Never raises.
    """
    if end is None:
        end = len(buf)
    try:
        conv = definite_tlv(buf, off, end)
        if conv is not None:
            if conv[1] != end:
                return False
            buf, off, end = conv[0], 0, len(conv[0])
        tag, name, cs, ce = _outer(buf, off, end)
        if ce != end:
            return False
        if tag in (0x8B, 0x8C):
            return ce == cs
        mms_envelope(buf, off, end)
        if tag in (0x85, 0x86):
            return True
        ch = kids(buf, cs, ce)                  # the components must tile the content
        if not ch:
            return False
        first = ch[0][0]
        if tag in (0xA8, 0xA9):
            return first in (0x80, 0x81)
        if tag in (0xAA, 0xAD):
            return first == 0xA0
        if tag == 0xA4:
            decode_reject(buf, cs, ce)
        return True
    except DecodeError:
        return False


# ---------------------------------------------------------------------------------
# Full decode
# ---------------------------------------------------------------------------------

def decode_mms(buf, off: int = 0, end: int | None = None) -> MmsPdu:
    """Decode the MMSpdu at ``buf[off:end]`` completely (envelope and service body).

    ``end`` defaults to ``len(buf)``; bytes after the PDU are not an error (the
    returned ``end`` tells where the PDU stopped).  Raises only
    :class:`~mmsanalyze.errors.DecodeError` subclasses: ``Truncated`` when a length
    runs past ``end``, ``Malformed`` (code ``mms.malformed.*`` / ``ber.malformed.*``)
    for content contradicting ISO 9506-2, ``Unsupported`` for an unknown service tag.
    A PDU with indefinite lengths (X.690 8.1.3.6) is decoded from its definite-length
    re-encoding (``end`` then still points past the original PDU).
    """
    try:
        return _decode(buf, off, end)
    except IndefiniteLength:
        conv = definite_tlv(buf, off, len(buf) if end is None else end)
        if conv is None:
            raise
    m = _decode(conv[0], 0, len(conv[0]))
    return MmsPdu(m.pdu, m.service, m.invoke_id, m.variables, m.error, m.access_results, m.detail,
                  conv[1])


def _decode(buf, off, end) -> MmsPdu:
    try:
        tag, name, cs, ce = _outer(buf, off, end)
        fn = _PDU_DECODERS[tag]
        service, iid, variables, error, results, body = fn(buf, cs, ce)
    except DecodeError as e:
        raise e.within("MMSpdu", "mms")
    except RecursionError:  # pragma: no cover - depth caps make this unreachable
        raise Malformed("nesting too deep", off, "mms", code="mms.malformed.nesting") from None
    return MmsPdu(name, service, iid, variables, error, results, {name: body}, ce)


_NO_VARS: tuple[str, ...] = ()


def _confirmed(buf, cs, ce, is_request):
    ch = kids(buf, cs, ce)
    if not ch or ch[0][0] != 0x02:
        raise Malformed("invokeID missing", cs, "mms", code="mms.malformed.invoke_id")
    _, a, b = ch[0]
    iid = _uint(buf, a, b, "invokeID")
    body = {"invokeID": iid}
    i = 1
    if is_request and i < len(ch) and ch[i][0] == 0x30:
        _, a, b = ch[i]
        body["listOfModifier"] = [decode_modifier(buf, t, x, y) for t, x, y in kids(buf, a, b)]
        i += 1
    if i >= len(ch):
        raise Malformed("service missing", ce, "mms", code="mms.malformed.service_missing")
    t, a, b = ch[i]
    table, decoders = (CONFIRMED_SERVICES, REQUESTS) if is_request else (CONFIRMED_SERVICES, RESPONSES)
    service = _service_name(table, t, a)
    num = t >> 8 if t > 0xFF else t & 0x1F
    try:
        value, variables, results = decoders[num](buf, t, a, b)
    except DecodeError as e:
        raise e.within(service)
    key = "confirmedServiceRequest" if is_request else "confirmedServiceResponse"
    body[key] = {service: value}
    for t, a, b in ch[i + 1:]:
        # cs-request-detail [79] (ISO 9506-2 7.1 Request-Detail / CS-Request-Detail).
        body["cs-request-detail" if (t >> 8) == 79 else tag_key(t)] = generic(buf, t, a, b)
    return service, iid, variables, None, results, body


def _conf_req(buf, cs, ce):
    return _confirmed(buf, cs, ce, True)


def _conf_resp(buf, cs, ce):
    return _confirmed(buf, cs, ce, False)


def _conf_err(buf, cs, ce):
    body = {}
    iid = None
    err = None
    for t, a, b in kids(buf, cs, ce):
        if t == 0x80:
            iid = body["invokeID"] = _uint(buf, a, b, "invokeID")
        elif t == 0x81:
            body["modifierPosition"] = _uint(buf, a, b, "modifierPosition")
        elif t == 0xA2:
            body["serviceError"], err = decode_service_error(buf, a, b)
        else:
            body[tag_key(t)] = generic(buf, t, a, b)
    if iid is None or err is None:
        raise Malformed("confirmed-ErrorPDU without invokeID or serviceError", cs, "mms",
                        code="mms.malformed.error_pdu")
    if "modifierPosition" in body:
        err["modifierPosition"] = body["modifierPosition"]
    return None, iid, _NO_VARS, err, None, body


def _unconfirmed(buf, cs, ce):
    ch = kids(buf, cs, ce)
    if not ch:
        raise Malformed("service missing", cs, "mms", code="mms.malformed.service_missing")
    t, a, b = ch[0]
    service = _service_name(UNCONFIRMED_SERVICES, t, a)
    try:
        value, variables, results = UNCONFIRMED[t & 0x1F](buf, t, a, b)
    except DecodeError as e:
        raise e.within(service)
    body = {"unconfirmedService": {service: value}}
    for t, a, b in ch[1:]:
        body["cs-request-detail" if (t >> 8) == 79 else tag_key(t)] = generic(buf, t, a, b)
    return service, None, variables, None, results, body


def _reject(buf, cs, ce):
    body, err = decode_reject(buf, cs, ce)
    return None, err["original_invoke_id"], _NO_VARS, err, None, body


def _cancel_id(buf, cs, ce):
    iid = _uint(buf, cs, ce, "originalInvokeID")
    return None, iid, _NO_VARS, None, None, {"originalInvokeID": iid}


def _cancel_err(buf, cs, ce):
    body = {}
    iid = None
    err = None
    for t, a, b in kids(buf, cs, ce):
        if t == 0x80:
            iid = body["originalInvokeID"] = _uint(buf, a, b, "originalInvokeID")
        elif t == 0xA1:
            body["serviceError"], err = decode_service_error(buf, a, b)
        else:
            body[tag_key(t)] = generic(buf, t, a, b)
    if iid is None or err is None:
        raise Malformed("cancel-ErrorPDU without originalInvokeID or serviceError", cs, "mms",
                        code="mms.malformed.error_pdu")
    return None, iid, _NO_VARS, err, None, body


def _plain_error(buf, cs, ce):
    body, err = decode_service_error(buf, cs, ce)
    return None, None, _NO_VARS, err, None, body


def _null(buf, cs, ce):
    expect_end(cs, ce, "NULL")
    return None, None, _NO_VARS, None, None, None


def _init_req(buf, cs, ce):
    return None, None, _NO_VARS, None, None, decode_initiate_request(buf, cs, ce)


def _init_resp(buf, cs, ce):
    return None, None, _NO_VARS, None, None, decode_initiate_response(buf, cs, ce)


_PDU_DECODERS = {
    0xA0: _conf_req, 0xA1: _conf_resp, 0xA2: _conf_err, 0xA3: _unconfirmed,
    0xA4: _reject, 0x85: _cancel_id, 0x86: _cancel_id, 0xA7: _cancel_err,
    0xA8: _init_req, 0xA9: _init_resp, 0xAA: _plain_error,
    0x8B: _null, 0x8C: _null, 0xAD: _plain_error,
}
