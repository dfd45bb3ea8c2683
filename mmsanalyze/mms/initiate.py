"""Initiate-RequestPDU / Initiate-ResponsePDU (ISO 9506-2 7.2.1).

CBB bit strings are rendered as the list of names of the bits that are set, using
the ServiceSupportOptions / ParameterSupportOptions / AdditionalSupportOptions /
AdditionalCBBOptions names of :mod:`.names`.
"""

from __future__ import annotations

from .schema import bits_named, p_int, p_vstr, seq
from .names import (ADDITIONAL_CBB_OPTIONS, ADDITIONAL_SUPPORT_OPTIONS,
                    PARAMETER_SUPPORT_OPTIONS, SERVICE_SUPPORT_OPTIONS)

__all__ = ["decode_initiate_request", "decode_initiate_response"]

_services = bits_named(SERVICE_SUPPORT_OPTIONS)
_params = bits_named(PARAMETER_SUPPORT_OPTIONS)
_additional = bits_named(ADDITIONAL_SUPPORT_OPTIONS)
_cbb = bits_named(ADDITIONAL_CBB_OPTIONS)

_REQUEST = seq({
    0x80: ("localDetailCalling", p_int),
    0x81: ("proposedMaxServOutstandingCalling", p_int),
    0x82: ("proposedMaxServOutstandingCalled", p_int),
    0x83: ("proposedDataStructureNestingLevel", p_int),
    0xA4: ("initRequestDetail", seq({
        0x80: ("proposedVersionNumber", p_int),
        0x81: ("proposedParameterCBB", _params),
        0x82: ("servicesSupportedCalling", _services),
        0x83: ("additionalSupportedCalling", _additional),
        0x84: ("additionalCbbSupportedCalling", _cbb),
        0x85: ("privilegeClassIdentityCalling", p_vstr),
    })),
})

_RESPONSE = seq({
    0x80: ("localDetailCalled", p_int),
    0x81: ("negotiatedMaxServOutstandingCalling", p_int),
    0x82: ("negotiatedMaxServOutstandingCalled", p_int),
    0x83: ("negotiatedDataStructureNestingLevel", p_int),
    0xA4: ("initResponseDetail", seq({
        0x80: ("negotiatedVersionNumber", p_int),
        0x81: ("negotiatedParameterCBB", _params),
        0x82: ("servicesSupportedCalled", _services),
        0x83: ("additionalSupportedCalled", _additional),
        0x84: ("additionalCbbSupportedCalled", _cbb),
        0x85: ("privilegeClassIdentityCalled", p_vstr),
    })),
})


def decode_initiate_request(buf, cs: int, ce: int) -> dict:
    return _REQUEST(buf, 0xA8, cs, ce, 0)


def decode_initiate_response(buf, cs: int, ce: int) -> dict:
    return _RESPONSE(buf, 0xA9, cs, ce, 0)
