"""SCL names on the capture tables (``read_capture(..., scl=PATH)`` / ``--scl FILE``).

:func:`annotate` is called once per table when a :class:`~mmsanalyze.api.Capture` has
an SCL model; it returns the table with extra columns (the table's own columns are
never changed):

* every table with ``src``/``dst``/``client``/``server`` columns: ``<column>_ied``,
  the SCL name of the IED at that address;
* ``goose()`` and ``sv()``: ``ied`` (the publishing IED, from its control block);
* ``goose()``: ``member_names`` (FCDA ``LD/LN.DO.DA [FC]`` per allData member),
  ``member_types`` (SCL bType or CDC), ``values_named`` (values with enumerations and
  Dbpos by name, e.g. Beh 3 -> ``'test'``, Dbpos ``10`` -> ``'on'``);
* ``goose_streams()``: ``ied`` and ``scl_gocb`` (the configured GoCB it was paired with);
* ``sv_streams()``: ``ied``, ``scl_svcb`` and ``channels`` (the data set's FCDAs, the
  names of the seqData channels in order);
* ``reports()``: ``member_names`` and ``member_types`` per included member (by
  ``member_index``) and ``values_named``;
* ``controls()``: ``ctl_model`` of the controlled object.
"""

from __future__ import annotations

__all__ = ["annotate", "name_value", "DBPOS"]

#: Dbpos (IEC 61850-7-3) by its two bits, bit 0 first as mmsanalyze writes bit strings.
DBPOS = {"00": "intermediate-state", "01": "off", "10": "on", "11": "bad-state"}
_ADDR_COLUMNS = ("src", "dst", "client", "server")


def name_value(model, member, value):
    """``value`` with its SCL meaning: an enumeration or Dbpos name, else ``value`` itself."""
    if member is None:
        return value
    if member.scl_type == "Enum":
        n = model.enum_name(member, value)
        return n if n is not None else value
    if member.scl_type in ("Dbpos", "Tcmd") and isinstance(value, dict) and "bits" in value:
        return DBPOS.get(value["bits"], value)
    return value


def annotate(cap, key, df):
    """The table ``df`` (cache key ``key``) with SCL columns added; other values unchanged."""
    import pandas as pd
    if not isinstance(df, pd.DataFrame) or key == "scl_check":
        return df
    model = cap.scl
    df = df.copy()
    for col in _ADDR_COLUMNS:
        if col in df.columns and f"{col}_ied" not in df.columns:
            df[f"{col}_ied"] = pd.array([model.ied_for_ip(v) if isinstance(v, str) else None for v in df[col]],
                                        dtype="string")
    if key == "goose":
        _goose(model, df)
    elif key == "goose_streams":
        _streams(model, df, "gocb_ref")
    elif key == "sv":
        _sv_rows(model, df)
    elif key == "sv_streams":
        _sv_streams(model, df)
    elif key in ("reports", "reports+"):
        _reports(model, df)
    elif key == "controls":
        df["ctl_model"] = pd.array([model.ctl_model(str(o)) if isinstance(o, str) else None for o in df["object"]],
                                   dtype="string")
    return df


def _gocb(model, ref, dat_set=None, go_id=None):
    from .compare import _find_gocb
    return _find_gocb(model, ref, dat_set, go_id)[0]


def _goose(model, df):
    import pandas as pd
    names, types, named, ieds = [], [], [], []
    cache = {}
    for ref, ds, gid, vals in zip(df["gocb_ref"], df["dat_set"], df["go_id"], df["values"]):
        k = (ref, ds, gid)
        if k not in cache:
            cb = _gocb(model, ref, ds if isinstance(ds, str) else None, gid if isinstance(gid, str) else None)
            cache[k] = (model.members(cb.dat_set_ref) if cb is not None and cb.dat_set_ref else [],
                        cb.ied if cb is not None else None)
        mem, ied = cache[k]
        ieds.append(ied)
        if not mem:
            names.append(None)
            types.append(None)
            named.append(None)
            continue
        names.append([m.ref for m in mem])
        types.append([m.scl_type for m in mem])
        if isinstance(vals, list):
            named.append([name_value(model, mem[i] if i < len(mem) else None, v) for i, v in enumerate(vals)])
        else:
            named.append(None)
    df["ied"] = pd.array(ieds, dtype="string")
    df["member_names"] = names
    df["member_types"] = types
    df["values_named"] = named


def _sv_rows(model, df):
    import pandas as pd
    from .compare import _find_svcb
    cache, ieds = {}, []
    for sv_id, appid, src, dst in zip(df["sv_id"], df["appid"], df["src_mac"], df["dst_mac"]):
        k = (sv_id, appid, src, dst)
        if k not in cache:
            try:
                ap = int(appid)
            except (TypeError, ValueError):
                ap = None
            cb, _how = _find_svcb(model, sv_id if isinstance(sv_id, str) else None, None, ap,
                                  dst if isinstance(dst, str) else None, src if isinstance(src, str) else None)
            cache[k] = cb.ied if cb else None
        ieds.append(cache[k])
    df["ied"] = pd.array(ieds, dtype="string")


def _streams(model, df, col):
    import pandas as pd
    ieds, refs = [], []
    for ref in df[col]:
        cb = _gocb(model, ref) if isinstance(ref, str) else None
        ieds.append(cb.ied if cb else None)
        refs.append(cb.ref if cb else None)
    df["ied"] = pd.array(ieds, dtype="string")
    df["scl_gocb"] = pd.array(refs, dtype="string")


def _sv_streams(model, df):
    import pandas as pd
    from .compare import _find_svcb
    ieds, refs, chans = [], [], []
    for sv_id, appid, src, dst in zip(df["sv_id"], df["appid"], df["src_mac"], df["dst_mac"]):
        try:
            ap = int(appid)
        except (TypeError, ValueError):
            ap = None
        cb, _how = _find_svcb(model, sv_id, None, ap, dst if isinstance(dst, str) else None,
                              src if isinstance(src, str) else None)
        ieds.append(cb.ied if cb else None)
        refs.append(cb.ref if cb else None)
        chans.append([m.ref for m in model.members(cb.dat_set_ref)] if cb and cb.dat_set_ref else None)
    df["ied"] = pd.array(ieds, dtype="string")
    df["scl_svcb"] = pd.array(refs, dtype="string")
    df["channels"] = chans


def _reports(model, df):
    names, named, types = [], [], []
    cache = {}
    for ds, rpt_id, idx, vals in zip(df["dataset"], df["rpt_id"], df["member_index"], df["values"]):
        if not isinstance(ds, str):
            # OptFlds without data-set-name: the data set of the RCB with this RptID
            cb = model.rcb(rpt_id=rpt_id) if isinstance(rpt_id, str) else None
            ds = cb.dat_set_ref if cb is not None else None
        mem = cache.get(ds)
        if mem is None:
            mem = cache[ds] = model.members(ds) if ds else []
        if not mem or not isinstance(idx, list):
            names.append(None)
            named.append(None)
            types.append(None)
            continue
        ms = [mem[i] if isinstance(i, int) and 0 <= i < len(mem) else None for i in idx]
        names.append([m.ref if m else None for m in ms])
        types.append([m.scl_type if m else None for m in ms])
        named.append([name_value(model, m, v) for m, v in zip(ms, vals)] if isinstance(vals, list) else None)
    df["member_names"] = names
    df["member_types"] = types
    df["values_named"] = named
