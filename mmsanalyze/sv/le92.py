"""IEC 61850-9-2 LE ("light edition") sample blocks, decoded in batches with numpy.

A 9-2LE ASDU's seqData is 64 octets: eight (INT32 value, 32-bit quality) pairs,
in the order of the LE dataset PhsMeas1 -- four currents then four voltages::

    IA IB IC IN  (scale 1 mA per count)   VA VB VC VN  (scale 10 mV per count)

Every block of a capture is decoded with one ``np.frombuffer(..., '>i4')`` and a
reshape to (n, 16); there is no per-sample Python loop.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LE_BLOCK", "LE_CHANNELS", "LE_SCALE", "decode_le_blocks", "le_columns"]

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


def le_columns(matrices) -> dict:
    """Decode a list of (n_i, 64) uint8 block matrices into 16 contiguous 1-D columns.

    Returns ``{'ia': float64 A, ..., 'vn': float64 V, 'q_ia': uint32, ..., 'q_vn'}``
    for all blocks in order.  The matrices may be strided views (rows of a wider
    matrix): each is reinterpreted as big-endian INT32 words in place and every
    channel is written once into its output column -- no per-sample Python loop
    and no intermediate copy of the blocks.
    """
    m = sum(len(b) for b in matrices)
    out = {ch: np.empty(m) for ch in LE_CHANNELS}
    out.update({"q_" + ch: np.empty(m, dtype=np.uint32) for ch in LE_CHANNELS})
    pos = 0
    for b in matrices:
        k = len(b)
        if b.strides[-1] != 1:
            b = np.ascontiguousarray(b)
        words = b.view(">i4")                 # (k, 16), rows may be strided
        for c, ch in enumerate(LE_CHANNELS):
            np.multiply(words[:, 2 * c], LE_SCALE[c], out=out[ch][pos:pos + k])
            out["q_" + ch][pos:pos + k] = words[:, 2 * c + 1].view(">u4")
        pos += k
    return out
