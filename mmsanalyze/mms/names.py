"""ISO 9506-2 (MMS) identifiers as name tables: tag number / enum value / bit -> ASN.1 name.

Every value here is the identifier the standard uses (MMS-General-Module, ISO 9506-2:2003
clause 7 ff. and annex D for the file services), spelled as in the ASN.1 module --
not Wireshark's spellings where they differ (``reportEventActionStatus``,
``requestDomainDownload``, ``namedVariable``, ``application-unreachable``,
``object-state-conflict``).  FileProblem 6 is ``file-acces-denied`` (sic), as in the
published ASN.1 module that Wireshark, libiec61850 and others compile: the name users
search for in tshark output.

Nothing here decodes; the decoders import these tables.
"""

from __future__ import annotations

__all__ = [
    "PDU_NAMES", "PDU_TAGS", "CONFIRMED_SERVICES", "UNCONFIRMED_SERVICES",
    "SERVICE_ERROR_CLASSES", "DATA_ACCESS_ERRORS", "REJECT_REASONS",
    "SERVICE_SUPPORT_OPTIONS", "PARAMETER_SUPPORT_OPTIONS", "ADDITIONAL_SUPPORT_OPTIONS",
    "ADDITIONAL_CBB_OPTIONS", "OBJECT_CLASSES", "DATA_TYPES", "TYPE_DESCRIPTIONS",
    "SERVICE_SPECIFIC_INFO", "FUNCTIONAL_CONSTRAINTS", "enum_name",
]

# ---------------------------------------------------------------------------------
# MMSpdu ::= CHOICE  (ISO 9506-2 7.1).  Key: BER identifier octet of the alternative.
# Cancel-Request/Response are IMPLICIT Unsigned32 and Conclude-Request/Response are
# IMPLICIT NULL, hence primitive identifiers; every other alternative is a SEQUENCE.
# ---------------------------------------------------------------------------------
PDU_TAGS: dict[int, str] = {
    0xA0: "confirmed-RequestPDU",
    0xA1: "confirmed-ResponsePDU",
    0xA2: "confirmed-ErrorPDU",
    0xA3: "unconfirmed-PDU",
    0xA4: "rejectPDU",
    0x85: "cancel-RequestPDU",
    0x86: "cancel-ResponsePDU",
    0xA7: "cancel-ErrorPDU",
    0xA8: "initiate-RequestPDU",
    0xA9: "initiate-ResponsePDU",
    0xAA: "initiate-ErrorPDU",
    0x8B: "conclude-RequestPDU",
    0x8C: "conclude-ResponsePDU",
    0xAD: "conclude-ErrorPDU",
}
#: MMSpdu alternatives by context tag number.
PDU_NAMES: dict[int, str] = {tag & 0x1F: name for tag, name in PDU_TAGS.items()}

# ---------------------------------------------------------------------------------
# ConfirmedServiceRequest / ConfirmedServiceResponse ::= CHOICE (7.1; D.1 for 72..77).
# Same tag numbers in both directions.  [79] is the Request-Detail extension slot
# (not a service); 80..86 are the 2003 data-exchange / access-control services.
# ---------------------------------------------------------------------------------
CONFIRMED_SERVICES: dict[int, str] = {
    0: "status", 1: "getNameList", 2: "identify", 3: "rename", 4: "read", 5: "write",
    6: "getVariableAccessAttributes", 7: "defineNamedVariable", 8: "defineScatteredAccess",
    9: "getScatteredAccessAttributes", 10: "deleteVariableAccess",
    11: "defineNamedVariableList", 12: "getNamedVariableListAttributes",
    13: "deleteNamedVariableList", 14: "defineNamedType", 15: "getNamedTypeAttributes",
    16: "deleteNamedType", 17: "input", 18: "output", 19: "takeControl",
    20: "relinquishControl", 21: "defineSemaphore", 22: "deleteSemaphore",
    23: "reportSemaphoreStatus", 24: "reportPoolSemaphoreStatus",
    25: "reportSemaphoreEntryStatus", 26: "initiateDownloadSequence", 27: "downloadSegment",
    28: "terminateDownloadSequence", 29: "initiateUploadSequence", 30: "uploadSegment",
    31: "terminateUploadSequence", 32: "requestDomainDownload", 33: "requestDomainUpload",
    34: "loadDomainContent", 35: "storeDomainContent", 36: "deleteDomain",
    37: "getDomainAttributes", 38: "createProgramInvocation", 39: "deleteProgramInvocation",
    40: "start", 41: "stop", 42: "resume", 43: "reset", 44: "kill",
    45: "getProgramInvocationAttributes", 46: "obtainFile", 47: "defineEventCondition",
    48: "deleteEventCondition", 49: "getEventConditionAttributes",
    50: "reportEventConditionStatus", 51: "alterEventConditionMonitoring", 52: "triggerEvent",
    53: "defineEventAction", 54: "deleteEventAction", 55: "getEventActionAttributes",
    56: "reportEventActionStatus", 57: "defineEventEnrollment", 58: "deleteEventEnrollment",
    59: "alterEventEnrollment", 60: "reportEventEnrollmentStatus",
    61: "getEventEnrollmentAttributes", 62: "acknowledgeEventNotification",
    63: "getAlarmSummary", 64: "getAlarmEnrollmentSummary", 65: "readJournal",
    66: "writeJournal", 67: "initializeJournal", 68: "reportJournalStatus",
    69: "createJournal", 70: "deleteJournal", 71: "getCapabilityList",
    72: "fileOpen", 73: "fileRead", 74: "fileClose", 75: "fileRename", 76: "fileDelete",
    77: "fileDirectory", 78: "additionalService",
    80: "getDataExchangeAttributes", 81: "exchangeData", 82: "defineAccessControlList",
    83: "getAccessControlListAttributes", 84: "reportAccessControlledObjects",
    85: "deleteAccessControlList", 86: "changeAccessControl",
}

#: UnconfirmedService ::= CHOICE (7.1).
UNCONFIRMED_SERVICES: dict[int, str] = {
    0: "informationReport", 1: "unsolicitedStatus", 2: "eventNotification",
}

# ---------------------------------------------------------------------------------
# ServiceError (7.4.1): errorClass CHOICE tag -> (class name, {code: code name}).
# ---------------------------------------------------------------------------------
SERVICE_ERROR_CLASSES: dict[int, tuple[str, dict[int, str]]] = {
    0: ("vmd-state", {0: "other", 1: "vmd-state-conflict", 2: "vmd-operational-problem",
                      3: "domain-transfer-problem", 4: "state-machine-id-invalid"}),
    1: ("application-reference", {0: "other", 1: "application-unreachable",
                                  2: "connection-lost", 3: "application-reference-invalid",
                                  4: "context-unsupported"}),
    2: ("definition", {0: "other", 1: "object-undefined", 2: "invalid-address",
                       3: "type-unsupported", 4: "type-inconsistent", 5: "object-exists",
                       6: "object-attribute-inconsistent"}),
    3: ("resource", {0: "other", 1: "memory-unavailable", 2: "processor-resource-unavailable",
                     3: "mass-storage-unavailable", 4: "capability-unavailable",
                     5: "capability-unknown"}),
    4: ("service", {0: "other", 1: "primitives-out-of-sequence", 2: "object-state-conflict",
                    3: "pdu-size", 4: "continuation-invalid", 5: "object-constraint-conflict"}),
    5: ("service-preempt", {0: "other", 1: "timeout", 2: "deadlock", 3: "cancel"}),
    6: ("time-resolution", {0: "other", 1: "unsupportable-time-resolution"}),
    7: ("access", {0: "other", 1: "object-access-unsupported", 2: "object-non-existent",
                   3: "object-access-denied", 4: "object-invalidated"}),
    8: ("initiate", {0: "other", 1: "version-incompatible", 2: "max-segment-insufficient",
                     3: "max-services-outstanding-calling-insufficient",
                     4: "max-services-outstanding-called-insufficient",
                     5: "service-CBB-insufficient", 6: "parameter-CBB-insufficient",
                     7: "nesting-level-insufficient"}),
    9: ("conclude", {0: "other", 1: "further-communication-required"}),
    10: ("cancel", {0: "other", 1: "invoke-id-unknown", 2: "cancel-not-possible"}),
    11: ("file", {0: "other", 1: "filename-ambiguous", 2: "file-busy",
                  3: "filename-syntax-error", 4: "content-type-invalid", 5: "position-invalid",
                  6: "file-acces-denied", 7: "file-non-existent", 8: "duplicate-filename",
                  9: "insufficient-space-in-filestore"}),
    12: ("others", {}),
}

#: ServiceError.serviceSpecificInformation CHOICE (7.4.1) by tag number.
SERVICE_SPECIFIC_INFO: dict[int, str] = {
    0: "obtainFile", 1: "start", 2: "stop", 3: "resume", 4: "reset",
    5: "deleteVariableAccess", 6: "deleteNamedVariableList", 7: "deleteNamedType",
    8: "defineEventEnrollment-Error", 9: "fileRename", 10: "additionalService",
    11: "changeAccessControl",
}

#: DataAccessError ::= INTEGER (14.4.1 / AccessResult).
DATA_ACCESS_ERRORS: dict[int, str] = {
    0: "object-invalidated", 1: "hardware-fault", 2: "temporarily-unavailable",
    3: "object-access-denied", 4: "object-undefined", 5: "invalid-address",
    6: "type-unsupported", 7: "type-inconsistent", 8: "object-attribute-inconsistent",
    9: "object-access-unsupported", 10: "object-non-existent", 11: "object-value-invalid",
}

# ---------------------------------------------------------------------------------
# RejectPDU.rejectReason (7.5): CHOICE tag -> (alternative name, {reason: name}).
# ---------------------------------------------------------------------------------
REJECT_REASONS: dict[int, tuple[str, dict[int, str]]] = {
    1: ("confirmed-requestPDU", {0: "other", 1: "unrecognized-service",
                                 2: "unrecognized-modifier", 3: "invalid-invokeID",
                                 4: "invalid-argument", 5: "invalid-modifier",
                                 6: "max-serv-outstanding-exceeded",
                                 8: "max-recursion-exceeded", 9: "value-out-of-range"}),
    2: ("confirmed-responsePDU", {0: "other", 1: "unrecognized-service",
                                  2: "invalid-invokeID", 3: "invalid-result",
                                  5: "max-recursion-exceeded", 6: "value-out-of-range"}),
    3: ("confirmed-errorPDU", {0: "other", 1: "unrecognized-service", 2: "invalid-invokeID",
                               3: "invalid-serviceError", 4: "value-out-of-range"}),
    4: ("unconfirmedPDU", {0: "other", 1: "unrecognized-service", 2: "invalid-argument",
                           3: "max-recursion-exceeded", 4: "value-out-of-range"}),
    5: ("pdu-error", {0: "unknown-pdu-type", 1: "invalid-pdu", 2: "illegal-acse-mapping"}),
    6: ("cancel-requestPDU", {0: "other", 1: "invalid-invokeID"}),
    7: ("cancel-responsePDU", {0: "other", 1: "invalid-invokeID"}),
    8: ("cancel-errorPDU", {0: "other", 1: "invalid-invokeID", 2: "invalid-serviceError",
                            3: "value-out-of-range"}),
    9: ("conclude-requestPDU", {0: "other", 1: "invalid-argument"}),
    10: ("conclude-responsePDU", {0: "other", 1: "invalid-result"}),
    11: ("conclude-errorPDU", {0: "other", 1: "invalid-serviceError", 2: "value-out-of-range"}),
}

# ---------------------------------------------------------------------------------
# Initiate: CBB bit strings (7.2.1).  Index = bit number (bit 0 = first/most significant).
# ---------------------------------------------------------------------------------
#: ServiceSupportOptions ::= BIT STRING.
SERVICE_SUPPORT_OPTIONS: tuple[str, ...] = (
    "status", "getNameList", "identify", "rename", "read", "write",
    "getVariableAccessAttributes", "defineNamedVariable", "defineScatteredAccess",
    "getScatteredAccessAttributes", "deleteVariableAccess", "defineNamedVariableList",
    "getNamedVariableListAttributes", "deleteNamedVariableList", "defineNamedType",
    "getNamedTypeAttributes", "deleteNamedType", "input", "output", "takeControl",
    "relinquishControl", "defineSemaphore", "deleteSemaphore", "reportSemaphoreStatus",
    "reportPoolSemaphoreStatus", "reportSemaphoreEntryStatus", "initiateDownloadSequence",
    "downloadSegment", "terminateDownloadSequence", "initiateUploadSequence",
    "uploadSegment", "terminateUploadSequence", "requestDomainDownload",
    "requestDomainUpload", "loadDomainContent", "storeDomainContent", "deleteDomain",
    "getDomainAttributes", "createProgramInvocation", "deleteProgramInvocation", "start",
    "stop", "resume", "reset", "kill", "getProgramInvocationAttributes", "obtainFile",
    "defineEventCondition", "deleteEventCondition", "getEventConditionAttributes",
    "reportEventConditionStatus", "alterEventConditionMonitoring", "triggerEvent",
    "defineEventAction", "deleteEventAction", "getEventActionAttributes",
    "reportEventActionStatus", "defineEventEnrollment", "deleteEventEnrollment",
    "alterEventEnrollment", "reportEventEnrollmentStatus", "getEventEnrollmentAttributes",
    "acknowledgeEventNotification", "getAlarmSummary", "getAlarmEnrollmentSummary",
    "readJournal", "writeJournal", "initializeJournal", "reportJournalStatus",
    "createJournal", "deleteJournal", "getCapabilityList", "fileOpen", "fileRead",
    "fileClose", "fileRename", "fileDelete", "fileDirectory", "unsolicitedStatus",
    "informationReport", "eventNotification", "attachToEventCondition",
    "attachToSemaphore", "conclude", "cancel", "getDataExchangeAttributes",
    "exchangeData", "defineAccessControlList", "getAccessControlListAttributes",
    "reportAccessControlledObjects", "deleteAccessControlList", "changeAccessControl",
)

#: ParameterSupportOptions ::= BIT STRING (bit 9 is reserved; shown as ``bit9``).
PARAMETER_SUPPORT_OPTIONS: tuple[str, ...] = (
    "str1", "str2", "vnam", "valt", "vadr", "vsca", "tpy", "vlis", "real", "bit9",
    "cei", "aco", "sem", "csr", "csnc", "csplc", "cspi", "char",
)

#: AdditionalSupportOptions ::= BIT STRING (ISO 9506-2 annex for the csr CBB).
ADDITIONAL_SUPPORT_OPTIONS: tuple[str, ...] = (
    "vMDStop", "vMDReset", "select", "alterProgramInvocationAttributes",
    "initiateUnitControlLoad", "unitControlLoadSegment", "unitControlUpload",
    "startUnitControl", "stopUnitControl", "createUnitControl", "addToUnitControl",
    "removeFromUnitControl", "getUnitControlAttributes", "loadUnitControlFromFile",
    "storeUnitControlToFile", "deleteUnitControl", "defineEventConditionList",
    "deleteEventConditionList", "addEventConditionListReference",
    "removeEventConditionListReference", "getEventConditionListAttributes",
    "reportEventConditionListStatus", "alterEventConditionListMonitoring",
)

#: AdditionalCBBOptions ::= BIT STRING.
ADDITIONAL_CBB_OPTIONS: tuple[str, ...] = ("des", "dei", "recl")

#: ObjectClass basicObjectClass INTEGER (GetNameList, Rename).
OBJECT_CLASSES: dict[int, str] = {
    0: "namedVariable", 1: "scatteredAccess", 2: "namedVariableList", 3: "namedType",
    4: "semaphore", 5: "eventCondition", 6: "eventAction", 7: "eventEnrollment",
    8: "journal", 9: "domain", 10: "programInvocation", 11: "operatorStation",
    12: "dataExchange", 13: "accessControlList",
}

#: Data ::= CHOICE (14.4.2) by context tag number.
DATA_TYPES: dict[int, str] = {
    1: "array", 2: "structure", 3: "boolean", 4: "bit-string", 5: "integer",
    6: "unsigned", 7: "floating-point", 8: "real", 9: "octet-string",
    10: "visible-string", 11: "generalized-time", 12: "binary-time", 13: "bcd",
    14: "booleanArray", 15: "objId", 16: "mMSString", 17: "utc-time",
}

#: TypeDescription ::= CHOICE (14.1) by context tag number.
TYPE_DESCRIPTIONS: dict[int, str] = {
    1: "array", 2: "structure", 3: "boolean", 4: "bit-string", 5: "integer",
    6: "unsigned", 7: "floating-point", 9: "octet-string", 10: "visible-string",
    11: "generalized-time", 12: "binary-time", 13: "bcd", 15: "objId",
    16: "mMSString", 17: "utc-time",
}

#: IEC 61850-8-1 functional constraints (second $-component of an MMS item name).
FUNCTIONAL_CONSTRAINTS: frozenset[str] = frozenset(
    "ST MX CO CF DC SP SG RP LG BR GO GS SV SE EX SR OR BL US MS".split())


def enum_name(table: dict[int, str], value: int):
    """The name of ``value`` in ``table``, or the integer itself when unknown."""
    return table.get(value, value)
