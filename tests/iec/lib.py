"""ctypes bindings for the libiec61850 shared library bundled with pyiec61850-ng.

Why ctypes and not the SWIG module: the SWIG wrappers keep the GIL while a
blocking libiec61850 call runs, so a Python callback fired from a library
thread (report handler, write-access handler, ...) can deadlock.  ctypes
releases the GIL around every foreign call and re-acquires it for callbacks,
so Python callbacks are safe here.  Only the subset of the C API used by the
harness is declared.

All handles are plain ``c_void_p`` integers.  Strings are passed as ``bytes``.
"""
from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_bool, c_char_p, c_double,
                    c_float, c_int, c_int32, c_int64, c_uint8, c_uint16,
                    c_uint32, c_uint64, c_void_p)

# --------------------------------------------------------------------------
# locate + load
# --------------------------------------------------------------------------


def find_library() -> str:
    """Path of the libiec61850 shared object shipped with pyiec61850-ng."""
    env = os.environ.get("MMSA_LIBIEC61850")
    if env:
        return env
    spec = importlib.util.find_spec("pyiec61850")
    if spec is None or not spec.submodule_search_locations:
        raise OSError("pyiec61850-ng is not installed (pip install pyiec61850-ng)")
    pkg = list(spec.submodule_search_locations)[0]
    site = os.path.dirname(pkg)
    cands = (glob.glob(os.path.join(site, "pyiec61850_ng.libs", "libiec61850*.so*"))
             + glob.glob(os.path.join(pkg, "libiec61850*.so*")))
    if not cands:
        raise OSError(f"libiec61850 shared library not found near {pkg}")
    return sorted(cands)[0]


LIB_PATH = find_library()
L = ctypes.CDLL(LIB_PATH)

p = c_void_p


def _fn(name, restype, *argtypes):
    f = getattr(L, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


# --------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------

# FunctionalConstraint
FC = {"ST": 0, "MX": 1, "SP": 2, "SV": 3, "CF": 4, "DC": 5, "SG": 6, "SE": 7,
      "SR": 8, "OR": 9, "BL": 10, "EX": 11, "CO": 12, "US": 13, "MS": 14,
      "RP": 15, "BR": 16, "LG": 17, "GO": 18}

# DataAttributeType (subset)
DA_BOOLEAN, DA_INT32, DA_INT32U, DA_FLOAT32 = 0, 3, 9, 10
DA_VISIBLE_STRING_64, DA_VISIBLE_STRING_255 = 17, 20

TRG_DCHG, TRG_QCHG, TRG_DUPD, TRG_INTEGRITY, TRG_GI = 1, 2, 4, 8, 16
RPT_SEQ_NUM, RPT_TIME_STAMP, RPT_REASON, RPT_DATA_SET = 1, 2, 4, 8
RPT_DATA_REF, RPT_BUF_OVFL, RPT_ENTRY_ID, RPT_CONF_REV = 16, 32, 64, 128

CDC_OPTION_DESC = 1 << 2
CDC_OPTION_UNIT = 1 << 6
CDC_OPTION_AC_LN0_M = 1 << 24
CDC_OPTION_DPL_SWREV = 1 << 18
CDC_OPTION_DPL_SERNUM = 1 << 19
CDC_OPTION_DPL_MODEL = 1 << 20
CTL_MODEL_NONE, CTL_MODEL_DIRECT_NORMAL, CTL_MODEL_SBO_NORMAL = 0, 1, 2
CTL_MODEL_DIRECT_ENHANCED, CTL_MODEL_SBO_ENHANCED = 3, 4
CTL_HAS_CANCEL = 1 << 4
CTL_OPTION_ORIGIN = 1 << 6
CTL_OPTION_CTL_NUM = 1 << 7
CTL_OPTION_ST_SELD = 1 << 8
CTL_OPTION_OP_RCVD = 1 << 9
CTL_OPTION_OP_OK = 1 << 10
CTL_OPTION_SBO_TIMEOUT = 1 << 12

ACCESS_POLICY_ALLOW, ACCESS_POLICY_DENY = 0, 1

CONTROL_ACCEPTED = -1
CONTROL_OBJECT_ACCESS_DENIED = 3
CONTROL_RESULT_FAILED, CONTROL_RESULT_OK = 0, 1

DBPOS_INTERMEDIATE, DBPOS_OFF, DBPOS_ON, DBPOS_BAD = 0, 1, 2, 3

# MmsType (packed enum -> 1 byte)
MMS_ARRAY, MMS_STRUCTURE, MMS_BOOLEAN, MMS_BIT_STRING, MMS_INTEGER = 0, 1, 2, 3, 4
MMS_UNSIGNED, MMS_FLOAT, MMS_OCTET_STRING, MMS_VISIBLE_STRING = 5, 6, 7, 8
MMS_GENERALIZED_TIME, MMS_BINARY_TIME, MMS_BCD, MMS_OBJ_ID = 9, 10, 11, 12
MMS_STRING, MMS_UTC_TIME, MMS_DATA_ACCESS_ERROR = 13, 14, 15

# MMS DataAccessError (ISO 9506-2 values; -1 = success in libiec61850)
DATA_ACCESS_ERROR_SUCCESS = -1
DATA_ACCESS_ERRORS = {
    -3: "success-no-update", -2: "no-response", -1: None,
    0: "object-invalidated", 1: "hardware-fault", 2: "temporarily-unavailable",
    3: "object-access-denied", 4: "object-undefined", 5: "invalid-address",
    6: "type-unsupported", 7: "type-inconsistent",
    8: "object-attribute-inconsistent", 9: "object-access-unsupported",
    10: "object-non-existent", 11: "object-value-invalid", 12: "unknown",
}
DAE = {v: k for k, v in DATA_ACCESS_ERRORS.items() if v}

# MmsError (libiec61850) -> (kind, MMS name).  Confirmed-error codes map to
# ServiceError class/code of ISO 9506-2; reject codes to RejectPDU.
MMS_ERRORS = {
    0: (None, None),
    1: ("Connection", "connection-rejected"),
    2: ("Connection", "connection-lost"),
    3: ("Timeout", "service-timeout"),
    4: ("Parse", "parsing-response"),
    5: ("Connection", "hardware-fault"),
    6: ("ServiceError", "conclude-rejected"),
    7: ("Client", "invalid-arguments"),
    8: ("Client", "outstanding-call-limit"),
    9: ("Other", "other"),
    10: ("ServiceError", "vmd-state/other"),
    20: ("ServiceError", "application-reference/other"),
    30: ("ServiceError", "definition/other"),
    31: ("ServiceError", "definition/invalid-address"),
    32: ("ServiceError", "definition/type-unsupported"),
    33: ("ServiceError", "definition/type-inconsistent"),
    34: ("ServiceError", "definition/object-undefined"),
    35: ("ServiceError", "definition/object-exists"),
    36: ("ServiceError", "definition/object-attribute-inconsistent"),
    40: ("ServiceError", "resource/other"),
    41: ("ServiceError", "resource/capability-unavailable"),
    50: ("ServiceError", "service/other"),
    60: ("ServiceError", "service-preempt/other"),
    70: ("ServiceError", "time-resolution/other"),
    80: ("ServiceError", "access/other"),
    81: ("ServiceError", "access/object-non-existent"),
    82: ("ServiceError", "access/object-access-unsupported"),
    83: ("ServiceError", "access/object-access-denied"),
    84: ("ServiceError", "access/object-invalidated"),
    85: ("ServiceError", "access/object-value-invalid"),
    86: ("ServiceError", "access/temporarily-unavailable"),
    90: ("ServiceError", "file/other"),
    91: ("ServiceError", "file/filename-ambiguous"),
    92: ("ServiceError", "file/file-busy"),
    93: ("ServiceError", "file/filename-syntax-error"),
    94: ("ServiceError", "file/content-type-invalid"),
    95: ("ServiceError", "file/position-invalid"),
    96: ("ServiceError", "file/file-acces-denied"),   # sic: the ISO 9506-2 ASN.1 spelling
    97: ("ServiceError", "file/file-non-existent"),
    98: ("ServiceError", "file/duplicate-filename"),
    99: ("ServiceError", "file/insufficient-space-in-filestore"),
    100: ("Reject", "reject/other"),
    101: ("Reject", "reject/unknown-pdu-type"),
    102: ("Reject", "reject/invalid-pdu"),
    103: ("Reject", "reject/unrecognized-service"),
    104: ("Reject", "reject/unrecognized-modifier"),
    105: ("Reject", "reject/request-invalid-argument"),
}
MMS_ERROR_NONE = 0
MMS_ERROR_FILE_FILE_ACCESS_DENIED = 96
MMS_ERROR_FILE_FILE_NON_EXISTENT = 97

# MmsFileServiceType
FILE_SERVICES = {0: "fileDirectory", 1: "fileOpen", 2: "obtainFile",
                 3: "fileDelete", 4: "fileRename"}

# IedServer_RCBEventType (libiec61850 1.6 order)
RCB_EVENTS = {0: "GET_PARAMETER", 1: "SET_PARAMETER", 2: "UNRESERVED",
              3: "RESERVED", 4: "ENABLE", 5: "DISABLE", 6: "GI", 7: "PURGEBUF",
              8: "OVERFLOW", 9: "REPORT_CREATED"}
RCB_EVENT_REPORT_CREATED = 9

# --------------------------------------------------------------------------
# structures
# --------------------------------------------------------------------------


class LinkedListNode(Structure):
    pass


LinkedListNode._fields_ = [("data", c_void_p), ("next", POINTER(LinkedListNode))]


class MmsConnectionParameters(Structure):
    _fields_ = [("maxServOutstandingCalling", c_int),
                ("maxServOutstandingCalled", c_int),
                ("dataStructureNestingLevel", c_int),
                ("maxPduSize", c_int),
                ("servicesSupported", c_uint8 * 11)]


class CommParameters(Structure):
    _fields_ = [("vlanPriority", c_uint8), ("vlanId", c_uint16),
                ("appId", c_uint16), ("dstAddress", c_uint8 * 6)]


# --------------------------------------------------------------------------
# callback types
# --------------------------------------------------------------------------

# client (async MMS services)
GenericServiceHandler = CFUNCTYPE(None, c_uint32, p, c_int, c_bool)
GetNameListHandler = CFUNCTYPE(None, c_uint32, p, c_int, p, c_bool)
ReadVariableHandler = CFUNCTYPE(None, c_uint32, p, c_int, p)
WriteVariableHandler = CFUNCTYPE(None, c_uint32, p, c_int, c_int)
WriteMultipleVariablesHandler = CFUNCTYPE(None, c_uint32, p, c_int, p)
GetVariableAccessAttributesHandler = CFUNCTYPE(None, c_uint32, p, c_int, p)
ReadNVLDirectoryHandler = CFUNCTYPE(None, c_uint32, p, c_int, p, c_bool)
IdentifyHandler = CFUNCTYPE(None, c_uint32, p, c_int, c_char_p, c_char_p, c_char_p)
GetServerStatusHandler = CFUNCTYPE(None, c_uint32, p, c_int, c_int, c_int)
FileDirectoryHandler = CFUNCTYPE(None, c_uint32, p, c_int, c_char_p, c_uint32, c_uint64, c_bool)
FileOpenHandler = CFUNCTYPE(None, c_uint32, p, c_int, c_int32, c_uint32, c_uint64)
FileReadHandler = CFUNCTYPE(None, c_uint32, p, c_int, c_int32, p, c_uint32, c_bool)
ConcludeAbortHandler = CFUNCTYPE(None, p, c_int, c_bool)
InformationReportHandler = CFUNCTYPE(None, p, c_char_p, c_char_p, p, c_bool)
ConnectionLostHandler = CFUNCTYPE(None, p, p)

# server
WriteAccessHandler = CFUNCTYPE(c_int, p, p, p, p)
ControlHandler = CFUNCTYPE(c_int, p, p, p, c_bool)
ControlPerformCheckHandler = CFUNCTYPE(c_int, p, p, p, c_bool, c_bool)
RCBEventHandler = CFUNCTYPE(None, p, p, p, c_int, c_char_p, c_int)
ConnectionIndicationHandler = CFUNCTYPE(None, p, p, c_bool, p)
FileAccessHandler = CFUNCTYPE(c_int, p, p, c_int, c_char_p, c_char_p)

# --------------------------------------------------------------------------
# functions: common / values
# --------------------------------------------------------------------------

LibIEC61850_getVersionString = _fn("LibIEC61850_getVersionString", c_char_p)

LinkedList_create = _fn("LinkedList_create", p)
LinkedList_add = _fn("LinkedList_add", None, p, p)
LinkedList_size = _fn("LinkedList_size", c_int, p)

MmsValue_getType = _fn("MmsValue_getType", c_uint8, p)
MmsValue_getArraySize = _fn("MmsValue_getArraySize", c_uint32, p)
MmsValue_getElement = _fn("MmsValue_getElement", p, p, c_int)
MmsValue_getBoolean = _fn("MmsValue_getBoolean", c_bool, p)
MmsValue_toInt64 = _fn("MmsValue_toInt64", c_int64, p)
MmsValue_toUint32 = _fn("MmsValue_toUint32", c_uint32, p)
MmsValue_toDouble = _fn("MmsValue_toDouble", c_double, p)
MmsValue_toString = _fn("MmsValue_toString", c_char_p, p)
MmsValue_getBitStringSize = _fn("MmsValue_getBitStringSize", c_int, p)
MmsValue_getBitStringBit = _fn("MmsValue_getBitStringBit", c_bool, p, c_int)
MmsValue_getOctetStringSize = _fn("MmsValue_getOctetStringSize", c_uint16, p)
MmsValue_getOctetStringBuffer = _fn("MmsValue_getOctetStringBuffer", p, p)
MmsValue_getUtcTimeInMs = _fn("MmsValue_getUtcTimeInMs", c_uint64, p)
MmsValue_getBinaryTimeAsUtcMs = _fn("MmsValue_getBinaryTimeAsUtcMs", c_uint64, p)
MmsValue_getDataAccessError = _fn("MmsValue_getDataAccessError", c_int, p)
MmsValue_printToBuffer = _fn("MmsValue_printToBuffer", c_char_p, p, c_char_p, c_int)
MmsValue_delete = _fn("MmsValue_delete", None, p)
MmsValue_newBoolean = _fn("MmsValue_newBoolean", p, c_bool)
MmsValue_newIntegerFromInt32 = _fn("MmsValue_newIntegerFromInt32", p, c_int32)
MmsValue_newUnsignedFromUint32 = _fn("MmsValue_newUnsignedFromUint32", p, c_uint32)
MmsValue_newFloat = _fn("MmsValue_newFloat", p, c_float)
MmsValue_newVisibleString = _fn("MmsValue_newVisibleString", p, c_char_p)
MmsValue_newBitString = _fn("MmsValue_newBitString", p, c_int)
MmsValue_setBitStringBit = _fn("MmsValue_setBitStringBit", None, p, c_int, c_bool)
MmsValue_newDefaultValue = _fn("MmsValue_newDefaultValue", p, p)
MmsValue_setBoolean = _fn("MmsValue_setBoolean", None, p, c_bool)
MmsValue_setInt32 = _fn("MmsValue_setInt32", None, p, c_int32)
MmsValue_setUint32 = _fn("MmsValue_setUint32", None, p, c_uint32)
MmsValue_setUtcTimeMs = _fn("MmsValue_setUtcTimeMs", p, p, c_uint64)
MmsValue_setOctetString = _fn("MmsValue_setOctetString", None, p, c_char_p, c_int)

MmsVariableSpecification_getChildValue = _fn(
    "MmsVariableSpecification_getChildValue", p, p, p, c_char_p)
MmsVariableSpecification_getType = _fn("MmsVariableSpecification_getType", c_uint8, p)
MmsVariableSpecification_getSize = _fn("MmsVariableSpecification_getSize", c_int, p)
MmsVariableSpecification_getName = _fn("MmsVariableSpecification_getName", c_char_p, p)
MmsVariableSpecification_getChildSpecificationByIndex = _fn(
    "MmsVariableSpecification_getChildSpecificationByIndex", p, p, c_int)
MmsVariableAccessSpecification_create = _fn(
    "MmsVariableAccessSpecification_create", p, c_char_p, c_char_p)

# --------------------------------------------------------------------------
# functions: MMS client
# --------------------------------------------------------------------------

MmsConnection_create = _fn("MmsConnection_create", p)
MmsConnection_createNonThreaded = _fn("MmsConnection_createNonThreaded", p, p)
MmsConnection_connectAsync = _fn("MmsConnection_connectAsync", None, p, POINTER(c_int), c_char_p, c_int)
MmsConnection_tick = _fn("MmsConnection_tick", c_bool, p)
MmsConnection_setLocalDetail = _fn("MmsConnection_setLocalDetail", None, p, c_int32)
MmsConnectionStateChangedHandler = CFUNCTYPE(None, p, p, c_int)
MmsConnection_setConnectionStateChangedHandler = _fn(
    "MmsConnection_setConnectionStateChangedHandler", None, p, MmsConnectionStateChangedHandler, p)
MMS_CONNECTION_STATE_CLOSED, MMS_CONNECTION_STATE_CONNECTING = 0, 1
MMS_CONNECTION_STATE_CONNECTED, MMS_CONNECTION_STATE_CLOSING = 2, 3
MmsConnection_destroy = _fn("MmsConnection_destroy", None, p)
MmsConnection_setConnectTimeout = _fn("MmsConnection_setConnectTimeout", None, p, c_uint32)
MmsConnection_setRequestTimeout = _fn("MmsConnection_setRequestTimeout", None, p, c_uint32)
MmsConnection_setFilestoreBasepath = _fn("MmsConnection_setFilestoreBasepath", None, p, c_char_p)
MmsConnection_setInformationReportHandler = _fn(
    "MmsConnection_setInformationReportHandler", None, p, InformationReportHandler, p)
MmsConnection_setConnectionLostHandler = _fn(
    "MmsConnection_setConnectionLostHandler", None, p, ConnectionLostHandler, p)
MmsConnection_getMmsConnectionParameters = _fn(
    "MmsConnection_getMmsConnectionParameters", MmsConnectionParameters, p)
MmsConnection_connect = _fn("MmsConnection_connect", c_bool, p, POINTER(c_int), c_char_p, c_int)
MmsConnection_close = _fn("MmsConnection_close", None, p)
MmsConnection_abort = _fn("MmsConnection_abort", None, p, POINTER(c_int))
MmsConnection_conclude = _fn("MmsConnection_conclude", None, p, POINTER(c_int))

_U = POINTER(c_uint32)
_E = POINTER(c_int)
MmsConnection_identifyAsync = _fn("MmsConnection_identifyAsync", None, p, _U, _E, IdentifyHandler, p)
MmsConnection_getServerStatusAsync = _fn(
    "MmsConnection_getServerStatusAsync", None, p, _U, _E, c_bool, GetServerStatusHandler, p)
MmsConnection_getDomainNamesAsync = _fn(
    "MmsConnection_getDomainNamesAsync", None, p, _U, _E, c_char_p, p, GetNameListHandler, p)
MmsConnection_getDomainVariableNamesAsync = _fn(
    "MmsConnection_getDomainVariableNamesAsync", None, p, _U, _E, c_char_p, c_char_p, p,
    GetNameListHandler, p)
MmsConnection_getDomainVariableListNamesAsync = _fn(
    "MmsConnection_getDomainVariableListNamesAsync", None, p, _U, _E, c_char_p, c_char_p, p,
    GetNameListHandler, p)
MmsConnection_getVariableListNamesAssociationSpecificAsync = _fn(
    "MmsConnection_getVariableListNamesAssociationSpecificAsync", None, p, _U, _E, c_char_p,
    GetNameListHandler, p)
MmsConnection_readVariableAsync = _fn(
    "MmsConnection_readVariableAsync", None, p, _U, _E, c_char_p, c_char_p, ReadVariableHandler, p)
MmsConnection_readMultipleVariablesAsync = _fn(
    "MmsConnection_readMultipleVariablesAsync", None, p, _U, _E, c_char_p, p, ReadVariableHandler, p)
MmsConnection_readNamedVariableListValuesAsync = _fn(
    "MmsConnection_readNamedVariableListValuesAsync", None, p, _U, _E, c_char_p, c_char_p, c_bool,
    ReadVariableHandler, p)
MmsConnection_readNamedVariableListValuesAssociationSpecificAsync = _fn(
    "MmsConnection_readNamedVariableListValuesAssociationSpecificAsync", None, p, _U, _E,
    c_char_p, c_bool, ReadVariableHandler, p)
MmsConnection_writeVariableAsync = _fn(
    "MmsConnection_writeVariableAsync", None, p, _U, _E, c_char_p, c_char_p, p,
    WriteVariableHandler, p)
MmsConnection_writeMultipleVariablesAsync = _fn(
    "MmsConnection_writeMultipleVariablesAsync", None, p, _U, _E, c_char_p, p, p,
    WriteMultipleVariablesHandler, p)
MmsConnection_getVariableAccessAttributesAsync = _fn(
    "MmsConnection_getVariableAccessAttributesAsync", None, p, _U, _E, c_char_p, c_char_p,
    GetVariableAccessAttributesHandler, p)
MmsConnection_readNamedVariableListDirectoryAsync = _fn(
    "MmsConnection_readNamedVariableListDirectoryAsync", None, p, _U, _E, c_char_p, c_char_p,
    ReadNVLDirectoryHandler, p)
MmsConnection_readNamedVariableListDirectoryAssociationSpecificAsync = _fn(
    "MmsConnection_readNamedVariableListDirectoryAssociationSpecificAsync", None, p, _U, _E,
    c_char_p, ReadNVLDirectoryHandler, p)
MmsConnection_defineNamedVariableListAsync = _fn(
    "MmsConnection_defineNamedVariableListAsync", None, p, _U, _E, c_char_p, c_char_p, p,
    GenericServiceHandler, p)
MmsConnection_defineNamedVariableListAssociationSpecificAsync = _fn(
    "MmsConnection_defineNamedVariableListAssociationSpecificAsync", None, p, _U, _E, c_char_p, p,
    GenericServiceHandler, p)
MmsConnection_deleteNamedVariableListAsync = _fn(
    "MmsConnection_deleteNamedVariableListAsync", None, p, _U, _E, c_char_p, c_char_p,
    GenericServiceHandler, p)
MmsConnection_deleteAssociationSpecificNamedVariableListAsync = _fn(
    "MmsConnection_deleteAssociationSpecificNamedVariableListAsync", None, p, _U, _E, c_char_p,
    GenericServiceHandler, p)
MmsConnection_getFileDirectoryAsync = _fn(
    "MmsConnection_getFileDirectoryAsync", None, p, _U, _E, c_char_p, c_char_p,
    FileDirectoryHandler, p)
MmsConnection_fileOpenAsync = _fn(
    "MmsConnection_fileOpenAsync", None, p, _U, _E, c_char_p, c_uint32, FileOpenHandler, p)
MmsConnection_fileReadAsync = _fn(
    "MmsConnection_fileReadAsync", None, p, _U, _E, c_int32, FileReadHandler, p)
MmsConnection_fileCloseAsync = _fn(
    "MmsConnection_fileCloseAsync", None, p, _U, _E, c_uint32, GenericServiceHandler, p)
MmsConnection_fileDeleteAsync = _fn(
    "MmsConnection_fileDeleteAsync", None, p, _U, _E, c_char_p, GenericServiceHandler, p)
MmsConnection_fileRenameAsync = _fn(
    "MmsConnection_fileRenameAsync", None, p, _U, _E, c_char_p, c_char_p, GenericServiceHandler, p)
MmsConnection_obtainFileAsync = _fn(
    "MmsConnection_obtainFileAsync", None, p, _U, _E, c_char_p, c_char_p, GenericServiceHandler, p)

# --------------------------------------------------------------------------
# functions: dynamic model + server
# --------------------------------------------------------------------------

IedModel_create = _fn("IedModel_create", p, c_char_p)
IedModel_getModelNodeByObjectReference = _fn("IedModel_getModelNodeByObjectReference", p, p, c_char_p)
LogicalDevice_create = _fn("LogicalDevice_create", p, c_char_p, p)
LogicalNode_create = _fn("LogicalNode_create", p, c_char_p, p)
DataObject_create = _fn("DataObject_create", p, c_char_p, p, c_int)
DataAttribute_create = _fn("DataAttribute_create", p, c_char_p, p, c_int, c_int, c_uint8, c_int, c_uint32)
DataAttribute_setValue = _fn("DataAttribute_setValue", None, p, p)
DataSet_create = _fn("DataSet_create", p, c_char_p, p)
DataSetEntry_create = _fn("DataSetEntry_create", p, p, c_char_p, c_int, c_char_p)
ReportControlBlock_create = _fn(
    "ReportControlBlock_create", p, c_char_p, p, c_char_p, c_bool, c_char_p, c_uint32, c_uint8,
    c_uint8, c_uint32, c_uint32)
ReportControlBlock_getName = _fn("ReportControlBlock_getName", c_char_p, p)
ReportControlBlock_isBuffered = _fn("ReportControlBlock_isBuffered", c_bool, p)
GSEControlBlock_create = _fn(
    "GSEControlBlock_create", p, c_char_p, p, c_char_p, c_char_p, c_uint32, c_bool, c_int, c_int)
PhyComAddress_create = _fn("PhyComAddress_create", p, c_uint8, c_uint16, c_uint16, POINTER(c_uint8))
GSEControlBlock_addPhyComAddress = _fn("GSEControlBlock_addPhyComAddress", None, p, p)

CDC_SPS_create = _fn("CDC_SPS_create", p, c_char_p, p, c_uint32)
CDC_DPS_create = _fn("CDC_DPS_create", p, c_char_p, p, c_uint32)
CDC_INS_create = _fn("CDC_INS_create", p, c_char_p, p, c_uint32)
CDC_ENS_create = _fn("CDC_ENS_create", p, c_char_p, p, c_uint32)
CDC_MV_create = _fn("CDC_MV_create", p, c_char_p, p, c_uint32, c_bool)
CDC_LPL_create = _fn("CDC_LPL_create", p, c_char_p, p, c_uint32)
CDC_DPL_create = _fn("CDC_DPL_create", p, c_char_p, p, c_uint32)
CDC_ASG_create = _fn("CDC_ASG_create", p, c_char_p, p, c_uint32, c_bool)
CDC_ING_create = _fn("CDC_ING_create", p, c_char_p, p, c_uint32)
CDC_VSG_create = _fn("CDC_VSG_create", p, c_char_p, p, c_uint32)
CDC_SPC_create = _fn("CDC_SPC_create", p, c_char_p, p, c_uint32, c_uint32)
CDC_DPC_create = _fn("CDC_DPC_create", p, c_char_p, p, c_uint32, c_uint32)
CDC_ENC_create = _fn("CDC_ENC_create", p, c_char_p, p, c_uint32, c_uint32)

IedServerConfig_create = _fn("IedServerConfig_create", p)
IedServerConfig_setFileServiceBasePath = _fn("IedServerConfig_setFileServiceBasePath", None, p, c_char_p)
IedServerConfig_enableFileService = _fn("IedServerConfig_enableFileService", None, p, c_bool)
IedServerConfig_enableDynamicDataSetService = _fn(
    "IedServerConfig_enableDynamicDataSetService", None, p, c_bool)
IedServerConfig_setReportBufferSize = _fn("IedServerConfig_setReportBufferSize", None, p, c_int)
IedServerConfig_setMaxMmsConnections = _fn("IedServerConfig_setMaxMmsConnections", None, p, c_int)
IedServerConfig_setEdition = _fn("IedServerConfig_setEdition", None, p, c_uint8)
IedServer_createWithConfig = _fn("IedServer_createWithConfig", p, p, p, p)
IedServer_setServerIdentity = _fn("IedServer_setServerIdentity", None, p, c_char_p, c_char_p, c_char_p)
IedServer_setFilestoreBasepath = _fn("IedServer_setFilestoreBasepath", None, p, c_char_p)
IedServer_setLocalIpAddress = _fn("IedServer_setLocalIpAddress", None, p, c_char_p)
IedServer_start = _fn("IedServer_start", None, p, c_int)
IedServer_stop = _fn("IedServer_stop", None, p)
IedServer_destroy = _fn("IedServer_destroy", None, p)
IedServer_isRunning = _fn("IedServer_isRunning", c_bool, p)
IedServer_getNumberOfOpenConnections = _fn("IedServer_getNumberOfOpenConnections", c_int, p)
IedServer_getMmsServer = _fn("IedServer_getMmsServer", p, p)
IedServer_lockDataModel = _fn("IedServer_lockDataModel", None, p)
IedServer_unlockDataModel = _fn("IedServer_unlockDataModel", None, p)
IedServer_updateAttributeValue = _fn("IedServer_updateAttributeValue", None, p, p, p)
IedServer_updateBooleanAttributeValue = _fn("IedServer_updateBooleanAttributeValue", None, p, p, c_bool)
IedServer_updateFloatAttributeValue = _fn("IedServer_updateFloatAttributeValue", None, p, p, c_float)
IedServer_updateInt32AttributeValue = _fn("IedServer_updateInt32AttributeValue", None, p, p, c_int32)
IedServer_updateDbposValue = _fn("IedServer_updateDbposValue", None, p, p, c_int)
IedServer_updateUTCTimeAttributeValue = _fn("IedServer_updateUTCTimeAttributeValue", None, p, p, c_uint64)
IedServer_updateVisibleStringAttributeValue = _fn(
    "IedServer_updateVisibleStringAttributeValue", None, p, p, c_char_p)
IedServer_updateQuality = _fn("IedServer_updateQuality", None, p, p, c_uint16)
IedServer_setWriteAccessPolicy = _fn("IedServer_setWriteAccessPolicy", None, p, c_int, c_int)
IedServer_handleWriteAccess = _fn("IedServer_handleWriteAccess", None, p, p, WriteAccessHandler, p)
IedServer_setControlHandler = _fn("IedServer_setControlHandler", None, p, p, ControlHandler, p)
IedServer_setPerformCheckHandler = _fn(
    "IedServer_setPerformCheckHandler", None, p, p, ControlPerformCheckHandler, p)
IedServer_setRCBEventHandler = _fn("IedServer_setRCBEventHandler", None, p, RCBEventHandler, p)
IedServer_setConnectionIndicationHandler = _fn(
    "IedServer_setConnectionIndicationHandler", None, p, ConnectionIndicationHandler, p)
IedServer_setGooseInterfaceId = _fn("IedServer_setGooseInterfaceId", None, p, c_char_p)
IedServer_enableGoosePublishing = _fn("IedServer_enableGoosePublishing", None, p)
IedServer_disableGoosePublishing = _fn("IedServer_disableGoosePublishing", None, p)
MmsServer_installFileAccessHandler = _fn("MmsServer_installFileAccessHandler", None, p, FileAccessHandler, p)
ClientConnection_getPeerAddress = _fn("ClientConnection_getPeerAddress", c_char_p, p)
ControlAction_getCtlNum = _fn("ControlAction_getCtlNum", c_int, p)
ControlAction_isSelect = _fn("ControlAction_isSelect", c_bool, p)
ControlAction_getOrCat = _fn("ControlAction_getOrCat", c_int, p)
ControlAction_setError = _fn("ControlAction_setError", None, p, c_int)
ControlAction_setAddCause = _fn("ControlAction_setAddCause", None, p, c_int)

# --------------------------------------------------------------------------
# GOOSE publisher
# --------------------------------------------------------------------------

GoosePublisher_create = _fn("GoosePublisher_create", p, POINTER(CommParameters), c_char_p)
GoosePublisher_destroy = _fn("GoosePublisher_destroy", None, p)
GoosePublisher_publish = _fn("GoosePublisher_publish", c_int, p, p)
GoosePublisher_setGoCbRef = _fn("GoosePublisher_setGoCbRef", None, p, c_char_p)
GoosePublisher_setGoID = _fn("GoosePublisher_setGoID", None, p, c_char_p)
GoosePublisher_setDataSetRef = _fn("GoosePublisher_setDataSetRef", None, p, c_char_p)
GoosePublisher_setConfRev = _fn("GoosePublisher_setConfRev", None, p, c_uint32)
GoosePublisher_setTimeAllowedToLive = _fn("GoosePublisher_setTimeAllowedToLive", None, p, c_uint32)
GoosePublisher_increaseStNum = _fn("GoosePublisher_increaseStNum", c_uint64, p)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def iter_linked_list(lst):
    """Yield the ``data`` pointers of a libiec61850 LinkedList (dummy head)."""
    if not lst:
        return
    node = ctypes.cast(lst, POINTER(LinkedListNode)).contents.next
    while node:
        yield node.contents.data
        node = node.contents.next


def string_list(lst) -> list[str]:
    return [ctypes.string_at(d).decode("latin-1") for d in iter_linked_list(lst) if d]


class StrList:
    """A LinkedList<char*> whose strings stay alive as long as this object."""

    def __init__(self, items):
        self.bufs = [ctypes.create_string_buffer(s.encode()) for s in items]
        self.ptr = LinkedList_create()
        for b in self.bufs:
            LinkedList_add(self.ptr, ctypes.cast(b, c_void_p))


def mms_value_to_py(v):
    """Convert an MmsValue* to JSON-friendly Python data.

    Scalars become Python scalars; structures/arrays become lists;
    bit strings ``{'bits': '0101..'}``; octet strings ``{'hex': ..}``;
    UTC time ``{'utc_ms': ..}``; data-access errors
    ``{'DataAccessError': 'object-non-existent'}``.
    """
    if not v:
        return None
    t = MmsValue_getType(v)
    if t in (MMS_ARRAY, MMS_STRUCTURE):
        return [mms_value_to_py(MmsValue_getElement(v, i)) for i in range(MmsValue_getArraySize(v))]
    if t == MMS_BOOLEAN:
        return bool(MmsValue_getBoolean(v))
    if t == MMS_INTEGER:
        return int(MmsValue_toInt64(v))
    if t == MMS_UNSIGNED:
        return int(MmsValue_toUint32(v))
    if t == MMS_FLOAT:
        return round(float(MmsValue_toDouble(v)), 6)
    if t in (MMS_VISIBLE_STRING, MMS_STRING):
        s = MmsValue_toString(v)
        return s.decode("utf-8", "replace") if s is not None else ""
    if t == MMS_BIT_STRING:
        n = MmsValue_getBitStringSize(v)
        return {"bits": "".join("1" if MmsValue_getBitStringBit(v, i) else "0" for i in range(n))}
    if t == MMS_OCTET_STRING:
        n = MmsValue_getOctetStringSize(v)
        return {"hex": ctypes.string_at(MmsValue_getOctetStringBuffer(v), n).hex()}
    if t == MMS_UTC_TIME:
        return {"utc_ms": int(MmsValue_getUtcTimeInMs(v))}
    if t == MMS_BINARY_TIME:
        return {"binary_time_ms": int(MmsValue_getBinaryTimeAsUtcMs(v))}
    if t == MMS_DATA_ACCESS_ERROR:
        return {"DataAccessError": DATA_ACCESS_ERRORS.get(MmsValue_getDataAccessError(v), "unknown")}
    buf = ctypes.create_string_buffer(512)
    return {"type": int(t), "text": (MmsValue_printToBuffer(v, buf, 512) or b"").decode("latin-1")}


def py_to_mms_value(val, kind: str | None = None):
    """Create an MmsValue* from a Python scalar (kind: bool/int/uint/float/str)."""
    if kind is None:
        kind = {bool: "bool", int: "int", float: "float", str: "str"}[type(val)]
    if kind == "bool":
        return MmsValue_newBoolean(bool(val))
    if kind == "int":
        return MmsValue_newIntegerFromInt32(int(val))
    if kind == "uint":
        return MmsValue_newUnsignedFromUint32(int(val))
    if kind == "float":
        return MmsValue_newFloat(float(val))
    if kind == "str":
        return MmsValue_newVisibleString(str(val).encode())
    if kind.startswith("bits"):
        bits = str(val)
        bs = MmsValue_newBitString(len(bits))
        for i, ch in enumerate(bits):
            MmsValue_setBitStringBit(bs, i, ch == "1")
        return bs
    raise ValueError(kind)


def mms_error(code: int):
    """(kind, name) of a libiec61850 MmsError code."""
    return MMS_ERRORS.get(int(code), ("Other", f"mms-error-{int(code)}"))


# --------------------------------------------------------------------------
# ACSE authentication (IEC 62351-4 / ISO 8650 password) and client local address
# --------------------------------------------------------------------------

ACSE_AUTH_NONE, ACSE_AUTH_PASSWORD, ACSE_AUTH_CERTIFICATE, ACSE_AUTH_TLS = 0, 1, 2, 3
ACSE_AUTH_NAMES = {0: "none", 1: "password", 2: "certificate", 3: "tls"}
# bool (*AcseAuthenticator)(void* parameter, AcseAuthenticationParameter authParameter,
#                           void** securityToken, IsoApplicationReference* appReference)
AcseAuthenticator = CFUNCTYPE(c_bool, p, p, p, p)
IedServer_setAuthenticator = _fn("IedServer_setAuthenticator", None, p, AcseAuthenticator, p)
AcseAuthenticationParameter_create = _fn("AcseAuthenticationParameter_create", p)
AcseAuthenticationParameter_setAuthMechanism = _fn("AcseAuthenticationParameter_setAuthMechanism", None, p, c_int)
AcseAuthenticationParameter_setPassword = _fn("AcseAuthenticationParameter_setPassword", None, p, c_char_p)
AcseAuthenticationParameter_getAuthMechanism = _fn("AcseAuthenticationParameter_getAuthMechanism", c_int, p)
AcseAuthenticationParameter_getPassword = _fn("AcseAuthenticationParameter_getPassword", p, p)
AcseAuthenticationParameter_getPasswordLength = _fn("AcseAuthenticationParameter_getPasswordLength", c_int, p)
MmsConnection_getIsoConnectionParameters = _fn("MmsConnection_getIsoConnectionParameters", p, p)
IsoConnectionParameters_setAcseAuthenticationParameter = _fn(
    "IsoConnectionParameters_setAcseAuthenticationParameter", None, p, p)
IsoConnectionParameters_setLocalTcpParameters = _fn("IsoConnectionParameters_setLocalTcpParameters", None,
                                                    p, c_char_p, c_int)
