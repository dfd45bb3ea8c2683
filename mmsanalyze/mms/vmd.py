"""VMD support services (ISO 9506-2 clause 10) and the file services (annex D / ISO 9506-2
:2003 D.3-D.8 including obtainFile).

Element decoders ``fn(buf, tag, cs, ce, d)``; see :mod:`.services` for the dispatch.
"""

from __future__ import annotations

from ..errors import Malformed
from ._tlv import MAX_DEPTH, kids, tag_key, too_deep
from .common import app_ref, file_name, object_name
from .schema import (choice, enum, explicit, p_bits, p_bool, p_gtime, p_int, p_null, p_oct, p_oid,
                     need_constructed, p_uint, p_vstr, seq, seq_of)
from .names import OBJECT_CLASSES

__all__ = ["VMD_REQUESTS", "VMD_RESPONSES", "FILE_REQUESTS", "FILE_RESPONSES", "status_response"]

# ObjectClass ::= CHOICE { basicObjectClass [0] IMPLICIT INTEGER, csObjectClass [1] ... }
_object_class = explicit(choice({
    0x80: ("basicObjectClass", enum(OBJECT_CLASSES)),
    0x81: ("csObjectClass", p_int),
}))

# GetNameList-Request objectScope [1] CHOICE { vmdSpecific [0] NULL,
#   domainSpecific [1] Identifier, aaSpecific [2] NULL }
_object_scope = explicit(choice({
    0x80: ("vmdSpecific", p_null),
    0x81: ("domainSpecific", p_vstr),
    0x82: ("aaSpecific", p_null),
}))

# Status-Response / UnsolicitedStatus (10.3)
status_response = seq({
    0x80: ("vmdLogicalStatus", enum({0: "state-changes-allowed", 1: "no-state-changes-allowed",
                                     2: "limited-services-allowed",
                                     3: "support-services-allowed"})),
    0x81: ("vmdPhysicalStatus", enum({0: "operational", 1: "partially-operational",
                                      2: "inoperable", 3: "needs-commissioning"})),
    0x82: ("localDetail", p_bits),
})

def _identifiers(buf, t, cs, ce, d=0):
    """SEQUENCE OF Identifier (GetNameList / GetCapabilityList responses list thousands):
    primitive VisibleStrings are decoded inline, the segmented form through p_vstr."""
    need_constructed(t, cs)
    out = []
    append = out.append
    for ct, a, b in kids(buf, cs, ce):
        append(bytes(buf[a:b]).decode("latin-1") if ct == 0x1A else p_vstr(buf, ct, a, b))
    return out

VMD_REQUESTS = {
    0: p_bool,                                              # Status-Request ::= BOOLEAN
    1: seq({0xA0: ("objectClass", _object_class),           # GetNameList-Request (10.5)
            0xA1: ("objectScope", _object_scope),
            0x82: ("continueAfter", p_vstr)}),
    2: p_null,                                              # Identify-Request ::= NULL
    3: seq({0xA0: ("objectClass", _object_class),           # Rename-Request (10.7)
            0xA1: ("currentName", explicit(object_name)),
            0x82: ("newIdentifier", p_vstr)}),
    71: seq({0x1A: ("continueAfter", p_vstr)}),             # GetCapabilityList-Request
}

VMD_RESPONSES = {
    0: status_response,
    1: seq({0xA0: ("listOfIdentifier", _identifiers),       # GetNameList-Response
            0x81: ("moreFollows", p_bool)}, {"moreFollows": True}),
    2: seq({0x80: ("vendorName", p_vstr), 0x81: ("modelName", p_vstr),   # Identify-Response
            0x82: ("revision", p_vstr),
            0xA3: ("listOfAbstractSyntaxes", seq_of(p_oid))}),
    3: p_null,
    71: seq({0xA0: ("listOfCapabilities", _identifiers),
             0x81: ("moreFollows", p_bool)}, {"moreFollows": True}),
}

# ---------------------------------------------------------------------------------
# File services
# ---------------------------------------------------------------------------------

# FileAttributes ::= SEQUENCE { sizeOfFile [0] Unsigned32, lastModified [1] GeneralizedTime OPT }
_file_attributes = seq({0x80: ("sizeOfFile", p_uint), 0x81: ("lastModified", p_gtime)})

# DirectoryEntry ::= SEQUENCE { fileName [0] IMPLICIT FileName, fileAttributes [1] IMPLICIT ... }
_directory_entry = seq({0xA0: ("fileName", file_name), 0xA1: ("fileAttributes", _file_attributes)})


def _list_of_directory_entry(buf, t, cs, ce, d=0):
    """listOfDirectoryEntry [0] SEQUENCE OF DirectoryEntry.

    The module's tagging is EXPLICIT, so the SEQUENCE OF has its own universal
    SEQUENCE wrapper inside ``[0]`` (``a0 30 30 ...``); some servers omit it
    (``a0 30 ...``).  Both are accepted: a lone SEQUENCE whose first component is itself
    a SEQUENCE is the wrapper.
    """
    if d > MAX_DEPTH:
        raise too_deep(cs)
    ch = kids(buf, cs, ce)
    if len(ch) == 1 and ch[0][0] == 0x30:
        _, a, b = ch[0]
        inner = kids(buf, a, b)
        if not inner or inner[0][0] == 0x30:
            ch = inner
    out = []
    for ct, a, b in ch:
        if ct != 0x30:
            raise Malformed(f"DirectoryEntry has identifier {tag_key(ct)}", a, "mms",
                            code="mms.malformed.file_directory")
        out.append(_directory_entry(buf, ct, a, b, d + 1))
    return out


FILE_REQUESTS = {
    46: seq({0xA0: ("sourceFileServer", app_ref),           # ObtainFile-Request
             0xA1: ("sourceFile", file_name),
             0xA2: ("destinationFile", file_name)}),
    72: seq({0xA0: ("fileName", file_name),                 # FileOpen-Request
             0x81: ("initialPosition", p_uint)}),
    73: p_int,                                              # FileRead-Request ::= Integer32 (frsmID)
    74: p_int,                                              # FileClose-Request ::= Integer32
    75: seq({0xA0: ("currentFileName", file_name),          # FileRename-Request
             0xA1: ("newFileName", file_name)}),
    76: file_name,                                          # FileDelete-Request ::= FileName
    77: seq({0xA0: ("fileSpecification", file_name),        # FileDirectory-Request
             0xA1: ("continueAfter", file_name)}),
}

FILE_RESPONSES = {
    46: p_null,
    72: seq({0x80: ("frsmID", p_int), 0xA1: ("fileAttributes", _file_attributes)}),
    73: seq({0x80: ("fileData", p_oct), 0x81: ("moreFollows", p_bool)}, {"moreFollows": True}),
    74: p_null,
    75: p_null,
    76: p_null,
    77: seq({0xA0: ("listOfDirectoryEntry", _list_of_directory_entry),
             0x81: ("moreFollows", p_bool)}, {"moreFollows": False}),
}

