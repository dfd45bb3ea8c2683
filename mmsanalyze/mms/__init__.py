"""ISO 9506-2 MMS PDU decoder: bytes in, records out, no I/O.

Public interface::

    decode_mms(buf, off=0, end=None) -> MmsPdu      # envelope + every service body
    mms_envelope(buf, off=0, end=None) -> (pdu, service, invoke_id)   # hot path
    looks_like_mms(buf, off, end) -> bool          # mid-association heuristic
    decode_data(buf, off, end, depth=0) -> (type_name, value)
    bitstring_hex(value) -> str                    # tshark's rendering of a bit string
    iec61850_reference(domain, item) -> str | None # 'LD/LN.DO.DA [FC]'

and the name tables SERVICE_ERROR_CLASSES, DATA_ACCESS_ERRORS, REJECT_REASONS,
SERVICE_SUPPORT_OPTIONS, PARAMETER_SUPPORT_OPTIONS, ... (:mod:`.names`).
Only :class:`mmsanalyze.errors.DecodeError` subclasses are ever raised.
"""

from .data import bitstring_hex, decode_data, type_description, type_specification
from .iec61850 import iec61850_reference
from .names import (ADDITIONAL_CBB_OPTIONS, ADDITIONAL_SUPPORT_OPTIONS, CONFIRMED_SERVICES,
                    DATA_ACCESS_ERRORS, DATA_TYPES, FUNCTIONAL_CONSTRAINTS, OBJECT_CLASSES,
                    PARAMETER_SUPPORT_OPTIONS, PDU_NAMES, PDU_TAGS, REJECT_REASONS,
                    SERVICE_ERROR_CLASSES, SERVICE_SPECIFIC_INFO, SERVICE_SUPPORT_OPTIONS,
                    TYPE_DESCRIPTIONS, UNCONFIRMED_SERVICES)
from .pdu import MmsPdu, decode_mms, looks_like_mms, mms_envelope

__all__ = [
    "MmsPdu", "decode_mms", "mms_envelope", "looks_like_mms", "decode_data", "bitstring_hex",
    "type_description", "type_specification", "iec61850_reference",
    "ADDITIONAL_CBB_OPTIONS", "ADDITIONAL_SUPPORT_OPTIONS", "CONFIRMED_SERVICES",
    "DATA_ACCESS_ERRORS", "DATA_TYPES", "FUNCTIONAL_CONSTRAINTS", "OBJECT_CLASSES",
    "PARAMETER_SUPPORT_OPTIONS", "PDU_NAMES", "PDU_TAGS", "REJECT_REASONS",
    "SERVICE_ERROR_CLASSES", "SERVICE_SPECIFIC_INFO", "SERVICE_SUPPORT_OPTIONS",
    "TYPE_DESCRIPTIONS", "UNCONFIRMED_SERVICES",
]
