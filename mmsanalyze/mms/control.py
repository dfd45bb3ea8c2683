"""Domain management (ISO 9506-2 clause 11), program invocations (12), semaphores (15)
and operator communication (16): schema tables of element decoders.
"""

from __future__ import annotations

from .common import app_ref, file_name, object_name
from .schema import (choice, enum, explicit, p_bool, p_int, p_null, p_oct, p_uint, p_vstr, seq,
                     seq_of)
from .service_error import decode_service_error

__all__ = ["CONTROL_REQUESTS", "CONTROL_RESPONSES", "PI_STATES"]

_on = explicit(object_name)
_identifiers = seq_of(p_vstr)

PI_STATES = {0: "non-existent", 1: "unrunable", 2: "idle", 3: "running", 4: "stopped",
             5: "starting", 6: "stopping", 7: "resuming", 8: "resetting"}
_DOMAIN_STATES = {0: "non-existent", 1: "loading", 2: "ready", 3: "in-use", 4: "complete",
                  5: "incomplete", 7: "d1", 8: "d2", 9: "d3", 10: "d4", 11: "d5", 12: "d6",
                  13: "d7", 14: "d8", 15: "d9"}


def _service_error(buf, t, cs, ce, d=0):
    return decode_service_error(buf, cs, ce)[0]


def _external(buf, t, cs, ce, d=0):
    """EXTERNAL (encodedString / coded load data): kept as hex of the whole content."""
    return bytes(buf[cs:ce]).hex()


# executionArgument CHOICE { simpleString [1] IMPLICIT VisibleString, encodedString EXTERNAL }
_EXEC_ARG_FIELDS = {
    0x81: ("executionArgument", choice({0x81: ("simpleString", p_vstr)})),
    0x28: ("executionArgument", choice({0x28: ("encodedString", _external)})),
}

# loadData CHOICE { non-coded [0] IMPLICIT OCTET STRING, coded EXTERNAL }
_load_data = seq({
    0x80: ("loadData", choice({0x80: ("non-coded", p_oct)})),
    0x28: ("loadData", choice({0x28: ("coded", _external)})),
    0x81: ("moreFollows", p_bool),
}, {"moreFollows": True})

_pi_name = {0x80: ("programInvocationName", p_vstr)}

_semaphore_entry = seq({
    0x80: ("entryId", p_oct),
    0x81: ("entryClass", enum({0: "simple", 1: "modifier"})),
    0xA2: ("applicationReference", app_ref),
    0x83: ("namedToken", p_vstr),
    0x84: ("priority", p_uint),
    0x85: ("remainingTimeOut", p_uint),
    0x86: ("abortOnTimeOut", p_bool),
    0x87: ("relinquishIfConnectionLost", p_bool),
})

CONTROL_REQUESTS = {
    # Operator communication (16)
    17: seq({0x80: ("operatorStationName", p_vstr), 0x81: ("echo", p_bool),
             0xA2: ("listOfPromptData", _identifiers), 0x83: ("inputTimeOut", p_uint)}),
    18: seq({0x80: ("operatorStationName", p_vstr), 0xA1: ("listOfOutputData", _identifiers)}),
    # Semaphores (15)
    19: seq({0xA0: ("semaphoreName", _on), 0x81: ("namedToken", p_vstr),
             0x82: ("priority", p_uint), 0x83: ("acceptableDelay", p_uint),
             0x84: ("controlTimeOut", p_uint), 0x85: ("abortOnTimeOut", p_bool),
             0x86: ("relinquishIfConnectionLost", p_bool),
             0xA7: ("applicationToPreempt", app_ref)}),
    20: seq({0xA0: ("semaphoreName", _on), 0x81: ("namedToken", p_vstr)}),
    21: seq({0xA0: ("semaphoreName", _on), 0x81: ("numberOfTokens", p_uint)}),
    22: _on,
    23: _on,
    24: seq({0xA0: ("semaphoreName", _on), 0x81: ("nameToStartAfter", p_vstr)}),
    25: seq({0xA0: ("semaphoreName", _on),
             0x81: ("state", enum({0: "queued", 1: "owner", 2: "hung"})),
             0x82: ("entryIdToStartAfter", p_oct)}),
    # Domain management (11)
    26: seq({0x80: ("domainName", p_vstr), 0xA1: ("listOfCapabilities", _identifiers),
             0x82: ("sharable", p_bool)}),
    27: p_vstr,                                             # DownloadSegment-Request ::= Identifier
    28: seq({0x80: ("domainName", p_vstr), 0xA1: ("discard", _service_error)}),
    29: p_vstr,                                             # InitiateUploadSequence-Request
    30: p_int,                                              # UploadSegment-Request ::= Integer32
    31: p_int,                                              # TerminateUploadSequence-Request
    32: seq({0x80: ("domainName", p_vstr), 0xA1: ("listOfCapabilities", _identifiers),
             0x82: ("sharable", p_bool), 0xA4: ("fileName", file_name)}),
    33: seq({0x80: ("domainName", p_vstr), 0xA1: ("fileName", file_name)}),
    34: seq({0x80: ("domainName", p_vstr), 0xA1: ("listOfCapabilities", _identifiers),
             0x82: ("sharable", p_bool), 0xA4: ("fileName", file_name),
             0xA5: ("thirdParty", app_ref)}),
    35: seq({0x80: ("domainName", p_vstr), 0xA1: ("fileName", file_name),
             0xA2: ("thirdParty", app_ref)}),
    36: p_vstr,                                             # DeleteDomain-Request ::= Identifier
    37: p_vstr,                                             # GetDomainAttributes-Request
    # Program invocations (12)
    38: seq({0x80: ("programInvocationName", p_vstr), 0xA1: ("listOfDomainName", _identifiers),
             0x82: ("reusable", p_bool), 0x83: ("monitorType", p_bool)}),
    39: p_vstr,                                             # DeleteProgramInvocation-Request
    40: seq({**_pi_name, **_EXEC_ARG_FIELDS}),              # Start-Request
    41: seq(_pi_name),                                      # Stop-Request
    42: seq({**_pi_name, **_EXEC_ARG_FIELDS}),              # Resume-Request
    43: seq(_pi_name),                                      # Reset-Request
    44: seq(_pi_name),                                      # Kill-Request
    45: p_vstr,                                             # GetProgramInvocationAttributes-Req.
}

CONTROL_RESPONSES = {
    17: p_vstr,                                             # Input-Response ::= VisibleString
    18: p_null,
    19: explicit(choice({0x80: ("noResult", p_null), 0x81: ("namedToken", p_vstr)})),
    20: p_null, 21: p_null, 22: p_null,
    23: seq({0x80: ("mmsDeletable", p_bool), 0x81: ("class", enum({0: "token", 1: "pool"})),
             0x82: ("numberOfTokens", p_uint), 0x83: ("numberOfOwnedTokens", p_uint),
             0x84: ("numberOfHungTokens", p_uint)}),
    24: seq({0xA0: ("listOfNamedTokens", seq_of(choice({
                0x80: ("freeNamedToken", p_vstr), 0x81: ("ownedNamedToken", p_vstr),
                0x82: ("hungNamedToken", p_vstr)}))),
             0x81: ("moreFollows", p_bool)}, {"moreFollows": True}),
    25: seq({0xA0: ("listOfSemaphoreEntry", seq_of(_semaphore_entry)),
             0x81: ("moreFollows", p_bool)}, {"moreFollows": True}),
    26: p_null,
    27: _load_data,
    28: p_null,
    29: seq({0x80: ("ulsmID", p_int), 0xA1: ("listOfCapabilities", _identifiers)}),
    30: _load_data,
    31: p_null, 32: p_null, 33: p_null, 34: p_null, 35: p_null, 36: p_null,
    37: seq({0xA0: ("listOfCapabilities", _identifiers),
             0x81: ("state", enum(_DOMAIN_STATES)), 0x82: ("mmsDeletable", p_bool),
             0x83: ("sharable", p_bool), 0xA4: ("listOfProgramInvocations", _identifiers),
             0x85: ("uploadInProgress", p_int)}),
    38: p_null, 39: p_null, 40: p_null, 41: p_null, 42: p_null, 43: p_null, 44: p_null,
    45: seq({0x80: ("state", enum(PI_STATES)), 0xA1: ("listOfDomainNames", _identifiers),
             0x82: ("mmsDeletable", p_bool), 0x83: ("reusable", p_bool),
             0x84: ("monitor", p_bool), 0x85: ("startArgument", p_vstr),
             **_EXEC_ARG_FIELDS}),
}
