"""SCL inputs other analyses ask for by name (kept here so they need no SCL internals).

* :func:`security_inputs` -- for ``mmsanalyze security --scl``: the IED addresses the
  SCL declares (an allowlist of MMS peers) and the ctlModel of every controllable data
  object (a direct operate on an SBO object is then a finding).
"""

from __future__ import annotations

from .loader import load_scl
from .resolver import SclModel

__all__ = ["security_inputs", "ctl_models"]


def ctl_models(model: SclModel) -> dict:
    """``{'LD/LN.DO': ctlModel}`` for every data object whose ctlModel the SCL gives
    (a DAI value or the DOType's default), skipping ``status-only``."""
    out = {}
    types = model.templates.lnode_types
    for (dom, ln_name), (_ied, _ld, ln) in model._index()["ln"].items():
        dos = set(k.split(".")[0] for k in ln.values if k.endswith(".ctlModel"))
        lnt = types.get(ln.ln_type)
        if lnt is not None:
            dos.update(lnt.dos)
        for do in sorted(dos):
            cm = model.ctl_model(f"{dom}/{ln_name}.{do}")
            if cm and cm != "status-only":
                out[f"{dom}/{ln_name}.{do}"] = cm
    return out


def security_inputs(path) -> tuple[dict, dict]:
    """``({ip: IED name}, {control object: ctlModel})`` from the SCL file at ``path``."""
    model = path if isinstance(path, SclModel) else load_scl(path)
    return model.ip_map(), ctl_models(model)


def _mms_form(member_ref: str) -> str:
    """``'LD/LN.DO.DA [FC]'`` -> ``'LD/LN$FC$DO$DA'`` (the MMS item name of the member)."""
    ref, _, fc = member_ref.partition(" [")
    fc = fc.rstrip("]")
    dom, _, rest = ref.partition("/")
    parts = rest.split(".")
    return f"{dom}/{parts[0]}" + (f"${fc}" if fc else "") + "".join(f"${p}" for p in parts[1:])


def scl_namer(model: SclModel):
    """A :class:`mmsanalyze.iec61850.modes.Namer` answering from the SCL: IED names of
    addresses, and the FCDA of a data set member (report data sets and GOOSE control
    blocks), so the mode tracking names what the capture does not."""
    from ..iec61850.modes import Namer

    class SclNamer(Namer):
        def ied_name(self, address):
            return model.ied_for_ip(address)

        def fcda(self, ref, index):
            if "$GO$" in ref:
                m = model.name_goose_member(ref, index)
            else:
                m = model.fcda_for_report(ref, index)
            return _mms_form(m.ref) if m is not None else None

    return SclNamer()
