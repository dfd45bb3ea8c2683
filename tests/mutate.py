"""Test helper: damage a captured frame the way bad links and snaplen cuts do."""


def damage(frame: bytes, rng, max_flips: int, cut_probability: float, min_flips: int = 1) -> bytes:
    """Flip ``min_flips..max_flips`` random bits after the Ethernet header and, with
    ``cut_probability``, cut the frame short somewhere after it."""
    b = bytearray(frame)
    for _ in range(rng.randint(min_flips, max_flips)):
        i = rng.randrange(14, len(b))
        b[i] ^= 1 << rng.randrange(8)
    if rng.random() < cut_probability:
        del b[rng.randrange(14, len(b)):]
    return bytes(b)
