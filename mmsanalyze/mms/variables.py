"""Variable access services (ISO 9506-2 clause 14): read, write, informationReport,
getVariableAccessAttributes, named variables, scattered access, named variable lists,
named types.

Service decoders here return ``(detail_value, variables, access_results)`` -- see
:mod:`.services` for the dispatch tables.
"""

from __future__ import annotations

from ..errors import Malformed
from ._tlv import generic, hdr, kids, tag_key
from .common import (address, list_of_variable, object_name, scattered_access_description,
                     variable_access_specification)
from .schema import enum, explicit, p_bool, p_int, p_null, p_uint, p_vstr, seq, seq_of
from .data import access_result_list, data_list, explicit_type_specification, type_specification
from .names import DATA_ACCESS_ERRORS

__all__ = [
    "read_request", "read_response", "write_request", "write_response", "information_report",
    "VARIABLE_REQUESTS", "VARIABLE_RESPONSES",
]

_NONE: tuple[str, ...] = ()


def _single(buf, cs, ce, what):
    t, a, b = hdr(buf, cs, ce)
    if b != ce:
        raise Malformed(f"{what} followed by extra octets", b, "mms", code="mms.malformed.explicit")
    return t, a, b


# ---------------------------------------------------------------------------------
# Read (14.6): Read-Request ::= SEQUENCE { specificationWithResult [0] IMPLICIT BOOLEAN
#   DEFAULT FALSE, variableAccessSpecification [1] VariableAccessSpecification }
# Read-Response ::= SEQUENCE { variableAccessSpecification [0] ... OPTIONAL,
#   listOfAccessResult [1] IMPLICIT SEQUENCE OF AccessResult }
# ---------------------------------------------------------------------------------

def read_request(buf, t, cs, ce, d=0):
    names: list[str] = []
    body: dict = {}
    for ct, a, b in kids(buf, cs, ce):
        if ct == 0x80:
            body["specificationWithResult"] = p_bool(buf, ct, a, b)
        elif ct == 0xA1:
            it, x, y = _single(buf, a, b, "variableAccessSpecification")
            body["variableAccessSpecification"] = variable_access_specification(
                buf, it, x, y, d + 1, names)
        else:
            body[tag_key(ct)] = generic(buf, ct, a, b, d + 1)
    if "variableAccessSpecification" not in body:
        raise Malformed("read request without variableAccessSpecification", cs, "mms",
                        code="mms.malformed.read")
    return body, tuple(names), None


def read_response(buf, t, cs, ce, d=0):
    names: list[str] = []
    body: dict = {}
    results = None
    for ct, a, b in kids(buf, cs, ce):
        if ct == 0xA1:
            results, body["listOfAccessResult"] = access_result_list(buf, a, b, d + 1)
        elif ct == 0xA0:
            it, x, y = _single(buf, a, b, "variableAccessSpecification")
            body["variableAccessSpecification"] = variable_access_specification(
                buf, it, x, y, d + 1, names)
        else:
            body[tag_key(ct)] = generic(buf, ct, a, b, d + 1)
    if results is None:
        raise Malformed("read response without listOfAccessResult", cs, "mms",
                        code="mms.malformed.read")
    return body, tuple(names), results


# ---------------------------------------------------------------------------------
# Write (14.7): Write-Request ::= SEQUENCE { variableAccessSpecification,
#   listOfData [0] IMPLICIT SEQUENCE OF Data }   (positional: both may be [0])
# Write-Response ::= SEQUENCE OF CHOICE { failure [0] DataAccessError, success [1] NULL }
# ---------------------------------------------------------------------------------

def write_request(buf, t, cs, ce, d=0):
    body, names, _ = _spec_then_list(buf, cs, ce, d, "write", "listOfData", data_list)
    return body, names, None


def write_response(buf, t, cs, ce, d=0):
    results = []
    for ct, a, b in kids(buf, cs, ce):
        if ct == 0x81:
            p_null(buf, ct, a, b)
            results.append("success")
        elif ct == 0x80:
            code = p_int(buf, ct, a, b)
            results.append({"failure": DATA_ACCESS_ERRORS.get(code, code)})
        else:
            raise Malformed(f"{tag_key(ct)} is not a write result", a, "mms",
                            code="mms.malformed.write")
    return results, _NONE, tuple(results)


# ---------------------------------------------------------------------------------
# InformationReport (14.9) ::= SEQUENCE { variableAccessSpecification,
#   listOfAccessResult [0] IMPLICIT SEQUENCE OF AccessResult }   (positional)
# ---------------------------------------------------------------------------------

def information_report(buf, t, cs, ce, d=0):
    return _spec_then_list(buf, cs, ce, d, "information_report", "listOfAccessResult",
                           access_result_list)


def _spec_then_list(buf, cs, ce, d, what, list_name, decode_list):
    """Write-Request and InformationReport: a variableAccessSpecification, then
    ``[0] IMPLICIT SEQUENCE OF`` Data / AccessResult (positional).  Returns
    ``(body, names, plain values of the list)``."""
    ch = kids(buf, cs, ce)
    if len(ch) < 2:
        raise Malformed(f"{what} needs variableAccessSpecification and {list_name}", cs, "mms",
                        code=f"mms.malformed.{what}")
    names: list[str] = []
    vt, a, b = ch[0]
    body = {"variableAccessSpecification": variable_access_specification(
        buf, vt, a, b, d + 1, names)}
    lt, a, b = ch[1]
    if lt != 0xA0:
        raise Malformed(f"{list_name} has identifier {tag_key(lt)}", a, "mms",
                        code=f"mms.malformed.{what}")
    plain, body[list_name] = decode_list(buf, a, b, d + 1)
    for ct, a, b in ch[2:]:
        body[tag_key(ct)] = generic(buf, ct, a, b, d + 1)
    return body, tuple(names), plain


# ---------------------------------------------------------------------------------
# The other variable services (schema driven).
# ---------------------------------------------------------------------------------

_on = explicit(object_name)
_addr = explicit(address)
_SCOPE = {0: "specific", 1: "aa-specific", 2: "domain", 3: "vmd"}


def _positional_name_then(second_name, second_tags, second_fn):
    """SEQUENCE { <untagged ObjectName>, <second component> } decided by position."""
    def dec(buf, t, cs, ce, d=0):
        ch = kids(buf, cs, ce)
        if len(ch) < 2:
            raise Malformed(f"expected an ObjectName and {second_name}", cs, "mms",
                            code="mms.malformed.sequence")
        nt, a, b = ch[0]
        out = {"name": object_name(buf, nt, a, b)}
        st, a, b = ch[1]
        if second_tags is not None and st not in second_tags:
            raise Malformed(f"{second_name} has identifier {tag_key(st)}", a, "mms",
                            code="mms.malformed.sequence")
        out[second_name] = second_fn(buf, st, a, b, d + 1)
        for ct, a, b in ch[2:]:
            out[tag_key(ct)] = generic(buf, ct, a, b, d + 1)
        return out
    return dec


def _define_nvl(buf, t, cs, ce, d=0):
    # DefineNamedVariableList-Request ::= SEQUENCE { variableListName ObjectName,
    #   listOfVariable [0] IMPLICIT SEQUENCE OF SEQUENCE {...} }
    out = _positional_name_then("listOfVariable", (0xA0,), list_of_variable)(buf, t, cs, ce, d)
    return {"variableListName": out.pop("name"), **out}


def _define_named_type(buf, t, cs, ce, d=0):
    # DefineNamedType-Request ::= SEQUENCE { typeName ObjectName, typeSpecification }
    out = _positional_name_then("typeSpecification", None, type_specification)(buf, t, cs, ce, d)
    return {"typeName": out.pop("name"), **out}


def _gvaa_request(buf, t, cs, ce, d=0):
    # GetVariableAccessAttributes-Request ::= CHOICE { name [0] ObjectName, address [1] Address }
    if t == 0xA0:
        return {"name": _on(buf, t, cs, ce, d)}
    if t == 0xA1:
        return {"address": _addr(buf, t, cs, ce, d)}
    raise Malformed(f"{tag_key(t)} is not a GetVariableAccessAttributes-Request alternative",
                    cs, "mms", code="mms.malformed.gvaa")


def _get_named_type_attributes_response(buf, t, cs, ce, d=0):
    # SEQUENCE { mmsDeletable [0] IMPLICIT BOOLEAN, typeSpecification TypeSpecification }
    out = {}
    for ct, a, b in kids(buf, cs, ce):
        if ct == 0x80:
            out["mmsDeletable"] = p_bool(buf, ct, a, b)
        elif "typeSpecification" not in out:
            out["typeSpecification"] = type_specification(buf, ct, a, b, d + 1)
        else:
            out[tag_key(ct)] = generic(buf, ct, a, b, d + 1)
    return out


_VAR_SPEC_LIST = list_of_variable

VARIABLE_REQUESTS = {
    6: explicit(_gvaa_request),
    7: seq({0xA0: ("variableName", _on), 0xA1: ("address", _addr),
            0xA2: ("typeSpecification", explicit_type_specification)}),
    8: seq({0xA0: ("scatteredAccessName", _on),
            0xA1: ("scatteredAccessDescription", scattered_access_description)}),
    9: _on,
    10: seq({0x80: ("scopeOfDelete", enum(_SCOPE)), 0xA1: ("listOfName", seq_of(object_name)),
             0x82: ("domainName", p_vstr)}, {"scopeOfDelete": "specific"}),
    11: _define_nvl,
    12: _on,
    13: seq({0x80: ("scopeOfDelete", enum(_SCOPE)),
             0xA1: ("listOfVariableListName", seq_of(object_name)),
             0x82: ("domainName", p_vstr)}, {"scopeOfDelete": "specific"}),
    14: _define_named_type,
    15: _on,
    16: seq({0x80: ("scopeOfDelete", enum(_SCOPE)), 0xA1: ("listOfTypeName", seq_of(object_name)),
             0x82: ("domainName", p_vstr)}, {"scopeOfDelete": "specific"}),
}

_DELETED = seq({0x80: ("numberMatched", p_uint), 0x81: ("numberDeleted", p_uint)})

VARIABLE_RESPONSES = {
    6: seq({0x80: ("mmsDeletable", p_bool), 0xA1: ("address", _addr),
            0xA2: ("typeDescription", explicit_type_specification),
            0x83: ("accessControlList", p_vstr),
            0xA4: ("meaningfulNamespace", _on)}),
    7: p_null,
    8: p_null,
    9: seq({0x80: ("mmsDeletable", p_bool),
            0xA1: ("scatteredAccessDescription", scattered_access_description)}),
    10: _DELETED,
    11: p_null,
    12: seq({0x80: ("mmsDeletable", p_bool), 0xA1: ("listOfVariable", _VAR_SPEC_LIST),
             0x82: ("accessControlList", p_vstr)}),
    13: _DELETED,
    14: p_null,
    15: _get_named_type_attributes_response,
    16: _DELETED,
}
