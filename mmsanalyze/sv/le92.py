"""IEC 61850-9-2 LE ("light edition") sample blocks, decoded in batches with numpy.

A 9-2LE ASDU's seqData is 64 octets: eight (INT32 value, 32-bit quality) pairs,
in the order of the LE dataset PhsMeas1 -- four currents then four voltages::

    IA IB IC IN  (scale 1 mA per count)   VA VB VC VN  (scale 10 mV per count)

Every block of a capture is decoded with one ``np.frombuffer(..., '>i4')`` and a
reshape to (n, 16); there is no per-sample Python loop.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LE_BLOCK", "LE_CHANNELS", "LE_SCALE", "decode_le_blocks"]

#: Octets of one 9-2LE seqData block.
LE_BLOCK = 64
LE_CHANNELS = ("ia", "ib", "ic", "in", "va", "vb", "vc", "vn")
#: Engineering units per count: amperes for currents, volts for voltages.
LE_SCALE = np.array([0.001] * 4 + [0.01] * 4)


def decode_le_blocks(blocks) -> tuple[np.ndarray, np.ndarray]:
    """Decode n 9-2LE blocks -> ``(values (n, 8) float64 in A/V, quality (n, 8) uint32)``.

    ``blocks`` is either the concatenated bytes of n blocks or a (n, 64) uint8 array.
    """
    if isinstance(blocks, np.ndarray):
        raw = np.ascontiguousarray(blocks, dtype=np.uint8).reshape(-1)
    else:
        raw = np.frombuffer(blocks, dtype=np.uint8)
    if raw.size % LE_BLOCK:
        raise ValueError(f"{raw.size} octets is not a whole number of {LE_BLOCK}-octet blocks")
    words = raw.view(">i4").reshape(-1, 16)
    values = words[:, 0::2].astype(np.float64) * LE_SCALE
    quality = words[:, 1::2].view(">u4").astype(np.uint32)
    return values, quality
