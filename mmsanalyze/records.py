"""Records the pipeline yields: one per MMS PDU, one per OSI/TCP event.

Both are slotted dataclasses defined once here; analysis modules and the CLI
consume them.  A :class:`PduRecord` keeps the raw MMS PDU bytes and decodes the
body lazily (:meth:`PduRecord.decoded`), so listing envelopes stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import DecodeError

#: How the MMS PDU was found (``via`` column)
VIA_PRES = "pres"                 # presentation context negotiated in the capture
VIA_PRES_INFERRED = "pres-inferred"  # context id unknown (association not captured): MMS recognised by structure
VIA_ACSE = "acse"                 # inside ACSE user-information (initiate request/response)
VIA_COTP = "cotp"                 # directly in COTP DT, no session/presentation (iso9506 devices)


@dataclass(slots=True)
class PduRecord:
    """One MMS PDU.

    ``frame`` is the 1-based number of the frame that completes the PDU (as
    Wireshark shows it), ``time`` that frame's epoch time, ``stream`` the 0-based
    TCP connection index, ``direction`` 0 for client->server.  ``pdu``,
    ``service``, ``invoke_id`` come from the envelope; ``error`` holds the
    decode-error message when the PDU is malformed (``pdu`` may then be None).
    """

    frame: int
    time: float
    stream: int
    direction: int
    src: str
    sport: int
    dst: str
    dport: int
    pdu: str | None
    service: str | None
    invoke_id: int | None
    raw: bytes
    via: str
    error: str | None = None
    _decoded: object = field(default=None, repr=False)

    def decoded(self):
        """The fully decoded :class:`mmsanalyze.mms.MmsPdu` (cached), or None when malformed."""
        if self._decoded is None and self.error is None:
            from .mms import decode_mms
            try:
                self._decoded = decode_mms(self.raw, 0, len(self.raw))
            except DecodeError as err:
                self.error = str(err)
        return self._decoded


@dataclass(slots=True)
class OsiEvent:
    """A connection-level event below MMS.

    ``layer`` is one of tcp, cotp, ses, pres, acse; ``name`` the unit
    (syn, fin, rst, CR, CC, DR, DC, ER, data, CN, AC, RF, FN, DN, AB, CP, CPA, CPR, ARU,
    ARP, aarq, aare, rlrq, rlre, abrt); ``detail`` its decoded fields.  A ``rst``
    answering a SYN the server never acknowledged has ``{"refused": True}``; a COTP
    ``DR``/``ER`` has ``reason`` and ``reason_name``; COTP ``data`` is user data that is
    not a session SPDU (``{"length": n}``).
    """

    frame: int
    time: float
    stream: int
    direction: int
    layer: str
    name: str
    detail: dict
