"""mmsanalyze: a Wireshark-style analyzer for IEC 61850 (MMS over ISO-on-TCP, GOOSE, SV).

The public API is small::

    import mmsanalyze
    cap = mmsanalyze.read_capture("station.pcapng")     # one streaming pass
    cap.transactions(); cap.latency_stats(); cap.reports(); cap.report_cadence()
    cap.errors(); cap.associations(); cap.files(); cap.traffic(by="second")
    cap.goose(); cap.sv(); cap.findings()

    pdu = mmsanalyze.decode_mms(raw_bytes)             # one MMS PDU -> MmsPdu

Plots are in :mod:`mmsanalyze.plots`; the command line is ``mmsanalyze COMMAND``.
Heavy modules (pandas) load on first use, so ``import mmsanalyze`` stays cheap.
"""

from .errors import CaptureError, DecodeError

__version__ = "0.1.0"
__all__ = ["read_capture", "Capture", "decode_mms", "MmsPdu", "open_capture", "CaptureError",
           "DecodeError", "__version__", "open_store"]

_LAZY = {"read_capture": ".api", "Capture": ".api", "decode_mms": ".mms", "MmsPdu": ".mms",
         "open_capture": ".io", "open_store": ".store"}


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'mmsanalyze' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(mod, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
