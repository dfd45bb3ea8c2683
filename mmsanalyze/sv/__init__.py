"""Sampled Values (IEC 61850-9-2, EtherType 0x88BA; 9-2LE sample blocks).

Public interface::

    SvCollector()                                      # one row per ASDU
        .add(frame, ts, data, l3_offset, src_mac, dst_mac, vlan_ids, vlan_priority)
        .add_routable(frame, ts, udp_payload, src_mac, dst_mac, vlan_ids, vlan_priority)
        .findings  .frames  .bytes  .table()  .samples()  .streams()
    decode_sv(buf, off, end=None) -> SvFrame          # the full BER walk
    decode_le_blocks(blocks) -> (values (n, 8) A/V, quality (n, 8))   # numpy, batched

Only :class:`mmsanalyze.errors.DecodeError` subclasses are raised by the decoders;
the collector raises nothing on bad input.
"""

from .collector import SV_COLUMNS, SvCollector
from .le92 import LE_CHANNELS, decode_le_blocks
from .pdu import ETHERTYPE_SV, SvAsdu, SvFrame, decode_sv

__all__ = ["SvCollector", "SV_COLUMNS", "decode_sv", "SvFrame", "SvAsdu", "decode_le_blocks",
           "LE_CHANNELS", "ETHERTYPE_SV"]
