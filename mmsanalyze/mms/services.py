"""Service dispatch tables: ConfirmedServiceRequest / ConfirmedServiceResponse tag number
(and UnconfirmedService tag number) -> body decoder.

Every entry has the signature ``fn(buf, tag, cs, ce, d=0) -> (detail, variables,
access_results)``.  Schema element decoders from the per-area modules are wrapped by
:func:`_body`; read / write / informationReport return their own variables and
results.  Every number of :data:`~.names.CONFIRMED_SERVICES` has an entry in both
tables; the few without a published body structure here (additionalService and the
2003 data-exchange / access-control services) decode as a generic tag/value tree.
"""

from __future__ import annotations

from ._tlv import generic
from .common import object_name
from .schema import explicit
from .control import CONTROL_REQUESTS, CONTROL_RESPONSES
from .events import EVENT_REQUESTS, EVENT_RESPONSES, event_notification, modifier
from .names import CONFIRMED_SERVICES
from .variables import (VARIABLE_REQUESTS, VARIABLE_RESPONSES, information_report,
                        read_request, read_response, write_request, write_response)
from .vmd import FILE_REQUESTS, FILE_RESPONSES, VMD_REQUESTS, VMD_RESPONSES, status_response

__all__ = ["REQUESTS", "RESPONSES", "UNCONFIRMED", "decode_modifier", "GENERIC_SERVICES"]

_EMPTY: tuple[str, ...] = ()


def _body(elem):
    def dec(buf, t, cs, ce, d=0):
        return elem(buf, t, cs, ce, d), _EMPTY, None
    dec.__name__ = getattr(elem, "__name__", "body")
    return dec


def _generic(buf, t, cs, ce, d=0):
    return generic(buf, t, cs, ce, d), _EMPTY, None


#: Services decoded as a generic tree (no per-field schema).
GENERIC_SERVICES = frozenset({"additionalService", "exchangeData", "defineAccessControlList",
                              "getAccessControlListAttributes", "reportAccessControlledObjects",
                              "deleteAccessControlList", "changeAccessControl"})


def _table(*parts, special):
    out = {}
    for part in parts:
        for num, elem in part.items():
            out[num] = _body(elem)
    out.update(special)
    for num in CONFIRMED_SERVICES:
        out.setdefault(num, _generic)
    return out


REQUESTS = _table(VMD_REQUESTS, VARIABLE_REQUESTS, CONTROL_REQUESTS, EVENT_REQUESTS,
                  FILE_REQUESTS, {80: explicit(object_name)},
                  special={4: read_request, 5: write_request})
RESPONSES = _table(VMD_RESPONSES, VARIABLE_RESPONSES, CONTROL_RESPONSES, EVENT_RESPONSES,
                   FILE_RESPONSES,
                   special={4: read_response, 5: write_response})
UNCONFIRMED = {
    0: information_report,
    1: _body(status_response),
    2: _body(event_notification),
}


def decode_modifier(buf, t, cs, ce, d=0):
    """One Modifier of a confirmed request's listOfModifier."""
    return modifier(buf, t, cs, ce, d)
