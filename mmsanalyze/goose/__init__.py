"""GOOSE (IEC 61850-8-1, EtherType 0x88B8) and R-GOOSE (IEC 61850-90-5 over UDP).

Public interface::

    GooseCollector()                                   # one row per message
        .add(frame, ts, data, l3_offset, src_mac, dst_mac, vlan_ids, vlan_priority)
        .add_routable(frame, ts, udp_payload, src_mac, dst_mac, vlan_ids, vlan_priority)
        .findings  .frames  .bytes  .table()  .streams()
    read_l2_header(buf, off, end) -> (appid, length, reserved1, reserved2, apdu_end)
    decode_goose_pdu(buf, off, end, out: dict) -> dict
    decode_all_data(buf, cs, ce) -> (values, type_names)
    parse_session(buf, off, end) -> Session          # the 90-5 session header

Only :class:`mmsanalyze.errors.DecodeError` subclasses are raised by the decoders;
the collector raises nothing on bad input.
"""

from .collector import GOOSE_COLUMNS, GooseCollector
from .data import decode_all_data
from .pdu import ETHERTYPE_GOOSE, SIM_BIT, decode_goose_pdu, read_l2_header
from .routable import Session, SessionPayload, parse_session, session_start

__all__ = ["GooseCollector", "GOOSE_COLUMNS", "decode_all_data", "decode_goose_pdu",
           "read_l2_header", "ETHERTYPE_GOOSE", "SIM_BIT", "parse_session", "session_start",
           "Session", "SessionPayload"]
