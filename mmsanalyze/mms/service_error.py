"""ServiceError (ISO 9506-2 7.4.1) and RejectPDU (7.5)."""

from __future__ import annotations

from ..errors import Malformed
from ._tlv import generic, kids, tag_key
from .common import object_name
from .schema import p_int, p_uint, p_vstr
from .names import REJECT_REASONS, SERVICE_ERROR_CLASSES, SERVICE_SPECIFIC_INFO

__all__ = ["decode_service_error", "decode_reject"]

_PI_STATES = {0: "non-existent", 1: "unrunable", 2: "idle", 3: "running", 4: "stopped",
              5: "starting", 6: "stopping", 7: "resuming", 8: "resetting"}
_FILE_ERR = {0: "source-file", 1: "destination-file"}


def _ssi(buf, t, cs, ce):
    """serviceSpecificInformation CHOICE value (numbers as the standard's enums)."""
    num = t & 0x1F
    if num in (0, 9):                       # obtainFile / fileRename: source/destination-file
        v = p_int(buf, t, cs, ce)
        return _FILE_ERR.get(v, v)
    if num in (1, 2, 3, 4):                 # start/stop/resume/reset: ProgramInvocationState
        v = p_int(buf, t, cs, ce)
        return _PI_STATES.get(v, v)
    if num in (5, 6, 7, 11):                # numberDeleted / changeAccessControl
        return p_uint(buf, t, cs, ce)
    if num == 8 and t & 0x20:               # defineEventEnrollment-Error ObjectName
        ch = kids(buf, cs, ce)
        if len(ch) == 1:
            return object_name(buf, *ch[0])
    return generic(buf, t, cs, ce)


def decode_service_error(buf, cs: int, ce: int) -> tuple[dict, dict]:
    """ServiceError content -> ``(detail, error)``.

    ``detail`` mirrors the ASN.1 (``{'errorClass': {'access': 'object-non-existent'}, ...}``);
    ``error`` is the flat record used by ``MmsPdu.error``:
    ``{'class': 'access', 'code': 'object-non-existent'}`` plus ``additionalCode``,
    ``additionalDescription``, ``serviceSpecificInformation`` when present.
    """
    detail: dict = {}
    err: dict = {}
    for t, a, b in kids(buf, cs, ce):
        if t == 0xA0:                       # errorClass [0] CHOICE (explicit)
            ch = kids(buf, a, b)
            if len(ch) != 1:
                raise Malformed("errorClass must hold one alternative", a, "mms",
                                code="mms.malformed.service_error")
            et, x, y = ch[0]
            cls = SERVICE_ERROR_CLASSES.get(et & 0x1F) if et & 0xE0 == 0x80 else None
            if cls is None:
                raise Malformed(f"{tag_key(et)} is not an errorClass", x, "mms",
                                code="mms.malformed.service_error")
            code = p_int(buf, et, x, y)
            name = cls[1].get(code, code)
            detail["errorClass"] = {cls[0]: name}
            err["class"] = cls[0]
            err["code"] = name
        elif t == 0x81:
            err["additionalCode"] = detail["additionalCode"] = p_int(buf, t, a, b)
        elif t == 0x82:
            err["additionalDescription"] = detail["additionalDescription"] = p_vstr(buf, t, a, b)
        elif t == 0xA3:
            ch = kids(buf, a, b)
            if len(ch) != 1:
                raise Malformed("serviceSpecificInformation must hold one alternative", a, "mms",
                                code="mms.malformed.service_error")
            st, x, y = ch[0]
            name = SERVICE_SPECIFIC_INFO.get(st & 0x1F, tag_key(st))
            value = {name: _ssi(buf, st, x, y)}
            detail["serviceSpecificInformation"] = err["serviceSpecificInformation"] = value
        else:
            detail[tag_key(t)] = generic(buf, t, a, b)
    if "class" not in err:
        raise Malformed("ServiceError without errorClass", cs, "mms",
                        code="mms.malformed.service_error")
    return detail, err


def decode_reject(buf, cs: int, ce: int) -> tuple[dict, dict]:
    """RejectPDU content -> ``(detail, error)`` with error
    ``{'class': 'confirmed-requestPDU', 'code': 'unrecognized-service', 'original_invoke_id': n}``."""
    detail: dict = {}
    err: dict = {"original_invoke_id": None}
    for t, a, b in kids(buf, cs, ce):
        if t == 0x80:
            err["original_invoke_id"] = detail["originalInvokeID"] = p_uint(buf, t, a, b)
            continue
        alt = REJECT_REASONS.get(t & 0x1F) if t & 0xE0 == 0x80 else None
        if alt is None:
            raise Malformed(f"{tag_key(t)} is not a rejectReason", a, "mms",
                            code="mms.malformed.reject")
        code = p_int(buf, t, a, b)
        name = alt[1].get(code, code)
        detail["rejectReason"] = {alt[0]: name}
        err["class"] = alt[0]
        err["code"] = name
    if "class" not in err:
        raise Malformed("RejectPDU without rejectReason", cs, "mms", code="mms.malformed.reject")
    return detail, err
