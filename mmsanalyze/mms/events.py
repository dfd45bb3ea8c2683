"""Event management (ISO 9506-2 clauses 17-19) and journals (clause 20): schema tables.

Nested ConfirmedServiceRequest / ConfirmedServiceResponse (defineEventAction,
getEventActionAttributes, eventNotification's actionResult) are decoded through the
same dispatch tables as top-level services, depth-capped.
"""

from __future__ import annotations

from ..errors import Malformed
from ._tlv import MAX_DEPTH, generic, kids, tag_key, too_deep
from .common import app_ref, event_time, object_name, variable_specification
from .schema import (bits_named, choice, enum, explicit, p_bool, p_null, p_oct, p_tod, p_uint,
                     p_vstr, seq, seq_of)
from .names import CONFIRMED_SERVICES
from .service_error import decode_service_error

__all__ = ["EVENT_REQUESTS", "EVENT_RESPONSES", "event_notification", "modifier"]

_on = explicit(object_name)
_specific = seq_of(object_name)

_EC_CLASS = {0: "network-triggered", 1: "monitored"}
_EC_STATE = {0: "disabled", 1: "idle", 2: "active"}
_EE_STATE = {0: "disabled", 1: "idle", 2: "active", 3: "activeNoAckA", 4: "idleNoAckI",
             5: "idleNoAckA", 6: "idleAcked", 7: "activeAcked"}
_EE_CLASS = {0: "modifier", 1: "notification"}
_EE_DURATION = {0: "current", 1: "permanent"}
_ACK_RULE = {0: "none", 1: "simple", 2: "ack-active", 3: "ack-all"}
_ACK_FILTER = {0: "not-acked", 1: "acked", 2: "all"}
_transitions = bits_named(("idle-to-disabled", "active-to-disabled", "disabled-to-idle",
                           "active-to-idle", "disabled-to-active", "idle-to-active",
                           "any-to-deleted"))


def _nested_service(kind):
    """[n] ConfirmedServiceRequest/Response (EXPLICIT: one CHOICE inside)."""
    def dec(buf, t, cs, ce, d=0):
        from .services import REQUESTS, RESPONSES
        if d > MAX_DEPTH:
            raise too_deep(cs)
        ch = kids(buf, cs, ce)
        if len(ch) != 1:
            raise Malformed("nested service must be one element", cs, "mms",
                            code="mms.malformed.explicit")
        st, a, b = ch[0]
        num = st >> 8 if st > 0xFF else st & 0x1F
        name = CONFIRMED_SERVICES.get(num)
        table = REQUESTS if kind == "request" else RESPONSES
        if name is None or st & 0xC0 != 0x80:
            return {tag_key(st): generic(buf, st, a, b, d + 1)}
        return {name: table[num](buf, st, a, b, d + 1)[0]}
    return dec


def _service_error(buf, t, cs, ce, d=0):
    return decode_service_error(buf, cs, ce)[0]


# Modifier ::= CHOICE { attach-To-Event-Condition [0] IMPLICIT AttachToEventCondition,
#                       attach-To-Semaphore [1] IMPLICIT AttachToSemaphore }
modifier = choice({
    0xA0: ("attach-To-Event-Condition", seq({
        0xA0: ("eventEnrollmentName", _on), 0xA1: ("eventConditionName", _on),
        0x82: ("causingTransitions", _transitions), 0x83: ("acceptableDelay", p_uint)})),
    0xA1: ("attach-To-Semaphore", seq({
        0xA0: ("semaphoreName", _on), 0x81: ("namedToken", p_vstr), 0x82: ("priority", p_uint),
        0x83: ("acceptableDelay", p_uint), 0x84: ("controlTimeOut", p_uint),
        0x85: ("abortOnTimeOut", p_bool), 0x86: ("relinquishIfConnectionLost", p_bool)})),
})

_severity_filter = seq({0x80: ("mostSevere", p_uint), 0x81: ("leastSevere", p_uint)})
_alarm_request = seq({
    0x80: ("enrollmentsOnly", p_bool), 0x81: ("activeAlarmsOnly", p_bool),
    0x82: ("acknowledgmentFilter", enum(_ACK_FILTER)), 0xA3: ("severityFilter", _severity_filter),
    0xA5: ("continueAfter", _on)})

_ec_or_undefined = explicit(choice({0xA0: ("eventCondition", _on), 0x81: ("undefined", p_null)}))
_ea_or_undefined = explicit(choice({0xA0: ("eventAction", _on), 0x81: ("undefined", p_null)}))

_event_enrollment = seq({
    0xA0: ("eventEnrollmentName", _on), 0xA1: ("eventConditionName", _ec_or_undefined),
    0xA2: ("eventActionName", _ea_or_undefined), 0xA3: ("clientApplication", app_ref),
    0x84: ("mmsDeletable", p_bool), 0x85: ("enrollmentClass", enum(_EE_CLASS)),
    0x86: ("duration", enum(_EE_DURATION)), 0x87: ("invokeID", p_uint),
    0x88: ("remainingAcceptableDelay", p_uint)})

_alarm_summary = seq({
    0xA0: ("eventConditionName", _on), 0x81: ("severity", p_uint),
    0x82: ("currentState", enum(_EC_STATE)),
    0x83: ("unacknowledgedState", enum({0: "none", 1: "active", 2: "idle", 3: "both"})),
    0xA5: ("timeOfLastTransitionToActive", event_time),
    0xA6: ("timeOfLastTransitionToIdle", event_time)})

_alarm_enrollment_summary = seq({
    0xA0: ("eventEnrollmentName", _on), 0xA2: ("clientApplication", app_ref),
    0x83: ("severity", p_uint), 0x84: ("currentState", enum(_EC_STATE)),
    0x86: ("notificationLost", p_bool), 0x87: ("alarmAcknowledgmentRule", enum(_ACK_RULE)),
    0x88: ("enrollmentState", enum(_EE_STATE)),
    0xA9: ("timeOfLastTransitionToActive", event_time),
    0xAA: ("timeActiveAcknowledged", event_time),
    0xAB: ("timeOfLastTransitionToIdle", event_time),
    0xAC: ("timeIdleAcknowledged", event_time)})


def _value_specification(buf, t, cs, ce, d=0):
    from .data import data_typed
    ch = kids(buf, cs, ce)
    if len(ch) != 1:
        raise Malformed("valueSpecification must hold one Data", cs, "mms",
                        code="mms.malformed.explicit")
    name, _, typed = data_typed(buf, *ch[0], d + 1)
    return {name: typed}


# EntryContent ::= SEQUENCE { occurrenceTime [0] TimeOfDay, additionalDetail [1] OPT,
#   entryForm CHOICE { data [2] IMPLICIT SEQUENCE {...}, annotation [3] VisibleString } }
_entry_content = seq({
    0x80: ("occurrenceTime", p_tod),
    0xA1: ("additionalDetail", generic),
    0xA2: ("data", seq({
        0xA0: ("event", seq({0xA0: ("eventConditionName", _on),
                             0x81: ("currentState", enum(_EC_STATE))})),
        0xA1: ("listOfVariables", seq_of(seq({0x80: ("variableTag", p_vstr),
                                               0xA1: ("valueSpecification",
                                                      _value_specification)}))),
    })),
    0x83: ("annotation", p_vstr),
})

_journal_entry = seq({0x80: ("entryIdentifier", p_oct),
                      0xA1: ("originatingApplication", app_ref),
                      0xA2: ("entryContent", _entry_content)})

_delete_ec = explicit(choice({0xA0: ("specific", _specific), 0x81: ("aa-specific", p_null),
                              0x82: ("domain", p_vstr), 0x83: ("vmd", p_null)}))
_delete_ea = explicit(choice({0xA0: ("specific", _specific), 0x81: ("aa-specific", p_null),
                              0x83: ("domain", p_vstr), 0x84: ("vmd", p_null)}))
_delete_ee = explicit(choice({0xA0: ("specific", _specific), 0xA1: ("ec", _on),
                              0xA2: ("ea", _on)}))

EVENT_REQUESTS = {
    47: seq({0xA0: ("eventConditionName", _on), 0x81: ("class", enum(_EC_CLASS)),
             0x82: ("priority", p_uint), 0x83: ("severity", p_uint),
             0x84: ("alarmSummaryReports", p_bool),
             0xA6: ("monitoredVariable", explicit(variable_specification)),
             0x87: ("evaluationInterval", p_uint)}),
    48: _delete_ec,
    49: _on,
    50: _on,
    51: seq({0xA0: ("eventConditionName", _on), 0x81: ("enabled", p_bool),
             0x82: ("priority", p_uint), 0x83: ("alarmSummaryReports", p_bool),
             0x84: ("evaluationInterval", p_uint)}),
    52: seq({0xA0: ("eventConditionName", _on), 0x81: ("priority", p_uint)}),
    53: seq({0xA0: ("eventActionName", _on), 0xA1: ("listOfModifier", seq_of(modifier)),
             0xA2: ("confirmedServiceRequest", _nested_service("request"))}),
    54: _delete_ea,
    55: _on,
    56: _on,
    57: seq({0xA0: ("eventEnrollmentName", _on), 0xA1: ("eventConditionName", _on),
             0x82: ("eventConditionTransitions", _transitions),
             0x83: ("alarmAcknowledgementRule", enum(_ACK_RULE)),
             0xA4: ("eventActionName", _on), 0xA5: ("clientApplication", app_ref)}),
    58: _delete_ee,
    59: seq({0xA0: ("eventEnrollmentName", _on),
             0x81: ("eventConditionTransitions", _transitions),
             0x82: ("alarmAcknowledgmentRule", enum(_ACK_RULE))}),
    60: _on,
    61: seq({0x80: ("scopeOfRequest", enum({0: "specific", 1: "client", 2: "ec", 3: "ea"})),
             0xA1: ("eventEnrollmentNames", _specific), 0xA2: ("clientApplication", app_ref),
             0xA3: ("eventConditionName", _on), 0xA4: ("eventActionName", _on),
             0xA5: ("continueAfter", _on)}),
    62: seq({0xA0: ("eventEnrollmentName", _on), 0x82: ("acknowledgedState", enum(_EC_STATE)),
             0xA3: ("timeOfAcknowledgedTransition", event_time)}),
    63: _alarm_request,
    64: _alarm_request,
    # Journals (20)
    65: seq({0xA0: ("journalName", _on),
             0xA1: ("rangeStartSpecification", explicit(choice({
                 0x80: ("startingTime", p_tod), 0x81: ("startingEntry", p_oct)}))),
             0xA2: ("rangeStopSpecification", explicit(choice({
                 0x80: ("endingTime", p_tod), 0x81: ("numberOfEntries", p_uint)}))),
             0xA4: ("listOfVariables", seq_of(p_vstr)),
             0xA5: ("entryToStartAfter", seq({0x80: ("timeSpecification", p_tod),
                                               0x81: ("entrySpecification", p_oct)}))}),
    66: seq({0xA0: ("journalName", _on), 0xA1: ("listOfJournalEntry", seq_of(_entry_content))}),
    67: seq({0xA0: ("journalName", _on),
             0xA1: ("limitSpecification", seq({0x80: ("limitingTime", p_tod),
                                               0x81: ("limitingEntry", p_oct)}))}),
    68: _on,
    69: seq({0xA0: ("journalName", _on)}),
    70: seq({0xA0: ("journalName", _on)}),
}

EVENT_RESPONSES = {
    47: p_null,
    48: p_uint,                                         # candidates not deleted
    49: seq({0x80: ("mmsDeletable", p_bool), 0x81: ("class", enum(_EC_CLASS)),
             0x82: ("priority", p_uint), 0x83: ("severity", p_uint),
             0x84: ("alarmSummaryReports", p_bool),
             0xA6: ("monitoredVariable", explicit(choice({
                 0xA0: ("variableReference", explicit(variable_specification)),
                 0x81: ("undefined", p_null)}))),
             0x87: ("evaluationInterval", p_uint)}),
    50: seq({0x80: ("currentState", enum(_EC_STATE)), 0x81: ("numberOfEventEnrollments", p_uint),
             0x82: ("enabled", p_bool), 0xA3: ("timeOfLastTransitionToActive", event_time),
             0xA4: ("timeOfLastTransitionToIdle", event_time)}),
    51: p_null,
    52: p_null,
    53: p_null,
    54: p_uint,
    55: seq({0x80: ("mmsDeletable", p_bool), 0xA1: ("listOfModifier", seq_of(modifier)),
             0xA2: ("confirmedServiceRequest", _nested_service("request"))}),
    56: p_uint,
    57: p_null,
    58: p_uint,
    59: seq({0xA0: ("currentState", explicit(choice({0x80: ("state", enum(_EE_STATE)),
                                                     0x81: ("undefined", p_null)}))),
             0xA1: ("transitionTime", event_time)}),
    60: seq({0x80: ("eventConditionTransitions", _transitions),
             0x81: ("notificationLost", p_bool), 0x82: ("duration", enum(_EE_DURATION)),
             0x83: ("alarmAcknowledgmentRule", enum(_ACK_RULE)),
             0x84: ("currentState", enum(_EE_STATE))}),
    61: seq({0xA0: ("listOfEventEnrollment", seq_of(_event_enrollment)),
             0x81: ("moreFollows", p_bool)}, {"moreFollows": False}),
    62: p_null,
    63: seq({0xA0: ("listOfAlarmSummary", seq_of(_alarm_summary)),
             0x81: ("moreFollows", p_bool)}, {"moreFollows": False}),
    64: seq({0xA0: ("listOfAlarmEnrollmentSummary", seq_of(_alarm_enrollment_summary)),
             0x81: ("moreFollows", p_bool)}, {"moreFollows": False}),
    65: seq({0xA0: ("listOfJournalEntry", seq_of(_journal_entry)),
             0x81: ("moreFollows", p_bool)}, {"moreFollows": False}),
    66: p_null,
    67: p_uint,                                         # entries deleted
    68: seq({0x80: ("currentEntries", p_uint), 0x81: ("mmsDeletable", p_bool)}),
    69: p_null,
    70: p_null,
}


def _action_result(buf, t, cs, ce, d=0):
    # actionResult [8] IMPLICIT SEQUENCE { eventActionName ObjectName,
    #   eventActionResult CHOICE { success [0] ConfirmedServiceResponse, failure [1] ServiceError } }
    ch = kids(buf, cs, ce)
    if len(ch) != 2:
        raise Malformed("actionResult needs eventActionName and eventActionResult", cs, "mms",
                        code="mms.malformed.event_notification")
    (nt, a, b), (rt, x, y) = ch
    out = {"eventActionName": object_name(buf, nt, a, b)}
    if rt == 0xA0:
        out["eventActionResult"] = {"success": _nested_service("response")(buf, rt, x, y, d + 1)}
    elif rt == 0xA1:
        out["eventActionResult"] = {"failure": _service_error(buf, rt, x, y, d + 1)}
    else:
        raise Malformed(f"{tag_key(rt)} is not an eventActionResult", x, "mms",
                        code="mms.malformed.event_notification")
    return out


# EventNotification ::= SEQUENCE { ... } -- the unconfirmed service
event_notification = seq({
    0xA0: ("eventEnrollmentName", _on), 0xA1: ("eventConditionName", _ec_or_undefined),
    0x82: ("severity", p_uint), 0x83: ("currentState", enum(_EC_STATE)),
    0xA4: ("transitionTime", event_time), 0x86: ("notificationLost", p_bool),
    0x87: ("alarmAcknowledgmentRule", enum(_ACK_RULE)), 0xA8: ("actionResult", _action_result)})

