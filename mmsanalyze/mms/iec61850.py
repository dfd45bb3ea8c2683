"""IEC 61850-8-1 view of MMS names (the 61850 meaning is a layer over plain ISO 9506)."""

from __future__ import annotations

from .names import FUNCTIONAL_CONSTRAINTS

__all__ = ["iec61850_reference"]


def iec61850_reference(domain: str | None, item: str | None) -> str | None:
    """IEC 61850 object reference of an MMS domain-specific name.

    ``('IED1LD0', 'MMXU1$MX$TotW$mag$f')`` -> ``'IED1LD0/MMXU1.TotW.mag.f [MX]'``;
    ``('IED1LD0', 'MMXU1')`` -> ``'IED1LD0/MMXU1'`` (logical node only);
    ``('IED1LD0', 'MMXU1$MX')`` -> ``'IED1LD0/MMXU1 [MX]'``.
    Returns ``None`` when ``item`` is empty or the second ``$`` component is not a
    functional constraint (then the name is not an IEC 61850 data reference -- a data
    set, report control block names are still FC-qualified and map normally).
    """
    if not item:
        return None
    parts = item.split("$")
    ln = parts[0]
    if not ln:
        return None
    prefix = f"{domain}/" if domain else ""
    if len(parts) == 1:
        return prefix + ln
    fc = parts[1]
    if fc not in FUNCTIONAL_CONSTRAINTS or any(not p for p in parts[2:]):
        return None
    ref = prefix + ".".join([ln] + parts[2:])
    return f"{ref} [{fc}]"
