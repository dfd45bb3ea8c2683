"""GOOSE allData: a SEQUENCE OF MMS ``Data`` (IEC 61850-8-1 8.1.1, ISO 9506-2 14.4.2).

The MMS layer owns the Data decoder (:func:`mmsanalyze.mms.decode_data`, whose
Python value forms are documented in :mod:`mmsanalyze.mms.data`); this module
only walks allData's children and hands each one to it.
"""

from __future__ import annotations

from ..ber import IndefiniteLength, definite_tlv, read_header
from ..mms import decode_data

__all__ = ["decode_all_data"]


def decode_all_data(buf, cs: int, ce: int) -> tuple[list, list]:
    """Decode allData content ``buf[cs:ce]`` -> ``(values, type_names)``.

    One entry per top-level Data element.  Raises only DecodeError subclasses.  An
    element with indefinite lengths (X.690 8.1.3.6) is decoded from its re-encoding.
    """
    values, types = [], []
    pos = cs
    while pos < ce:
        try:
            _tag, _vs, ve = read_header(buf, pos, ce)
            type_name, value = decode_data(buf, pos, ve)
        except IndefiniteLength:
            conv = definite_tlv(buf, pos, ce)
            if conv is None:
                raise
            type_name, value = decode_data(conv[0], 0, len(conv[0]))
            ve = conv[1]
        values.append(value)
        types.append(type_name)
        pos = ve
    return values, types
