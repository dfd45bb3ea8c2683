"""Small readers over :class:`mmsanalyze.mms.MmsPdu` detail trees shared by the tables."""

from __future__ import annotations

__all__ = ["service_body", "object_name_text", "request_object", "file_name", "error_code",
           "failed_items", "MAX_SEARCH_DEPTH"]

#: How deep :func:`request_object` looks for an ObjectName / FileName in a request body.
MAX_SEARCH_DEPTH = 4

_BODY_KEYS = ("confirmedServiceRequest", "confirmedServiceResponse", "unconfirmedService")


def service_body(m):
    """The service alternative's value of a confirmed/unconfirmed PDU (or None)."""
    if m is None or m.service is None:
        return None
    inner = m.detail.get(m.pdu)
    if not isinstance(inner, dict):
        return None
    for k in _BODY_KEYS:
        svc = inner.get(k)
        if isinstance(svc, dict):
            return svc.get(m.service)
    return None


def object_name_text(v) -> str | None:
    """ObjectName detail (``{'domain-specific': {...}}`` ...) -> ``'DOM/ITEM'``, ``'ITEM'``, ``'@ITEM'``."""
    if not isinstance(v, dict) or len(v) != 1:
        return None
    (k, x), = v.items()
    if k == "domain-specific" and isinstance(x, dict):
        return f"{x.get('domainId')}/{x.get('itemId')}"
    if k == "vmd-specific" and isinstance(x, str):
        return x
    if k == "aa-specific" and isinstance(x, str):
        return "@" + x
    return None


def file_name(v) -> str | None:
    """FileName (SEQUENCE OF GraphicString) -> one path string."""
    if isinstance(v, list) and v and all(isinstance(p, str) for p in v):
        return "/".join(v)
    if isinstance(v, str):
        return v
    return None


def _find(v, depth):
    if depth > MAX_SEARCH_DEPTH:
        return None
    if isinstance(v, dict):
        name = object_name_text(v)
        if name is not None:
            return name
        for k, x in v.items():
            if k in ("fileName", "sourceFile", "fileSpecification", "currentFileName"):
                f = file_name(x)
                if f is not None:
                    return f
            if k == "domainName" and isinstance(x, str):
                return x
        for k, x in v.items():
            r = _find(x, depth + 1)
            if r is not None:
                return r
    elif isinstance(v, list) and v:
        if all(isinstance(p, str) for p in v):        # fileDelete: a bare FileName
            return "/".join(v)
        return _find(v[0], depth + 1)
    return None


def request_object(m) -> str | None:
    """A short text naming what a request is about (first object or file name).

    ``read``/``write``: the first variable (``+N`` more); getNameList: the object class
    and scope (``'namedVariable@DOM'``); other services: the first ObjectName or
    FileName found in the request body.
    """
    if m is None:
        return None
    if m.variables:
        n = len(m.variables)
        return m.variables[0] if n == 1 else f"{m.variables[0]} (+{n - 1})"
    body = service_body(m)
    if m.service == "getNameList" and isinstance(body, dict):
        cls = body.get("objectClass")
        cls = next(iter(cls.values())) if isinstance(cls, dict) and cls else cls
        scope = body.get("objectScope")
        where = None
        if isinstance(scope, dict) and scope:
            (k, x), = list(scope.items())[:1]
            where = x if k == "domainSpecific" else {"vmdSpecific": "vmd", "aaSpecific": "aa"}.get(k, k)
        return f"{cls}@{where}" if where else (str(cls) if cls is not None else None)
    if m.service in ("fileRead", "fileClose") and isinstance(body, int):
        return f"frsmID {body}"
    return _find(body, 0)


def error_code(err: dict | None) -> str | None:
    """``{'class': 'access', 'code': 'object-non-existent'}`` -> ``'access/object-non-existent'``."""
    if not err or "class" not in err:
        return None
    return f"{err.get('class')}/{err.get('code')}"


def failed_items(m, variables=()) -> list[tuple[int, str | None, str]]:
    """DataAccessError failures of a read/write response / report: ``[(index, variable, code)]``.

    ``variables`` are the request's variable names; an item's variable is known when
    the counts match (a named variable list gives ``'LIST[i]'``).
    """
    res = m.access_results if m is not None else None
    if not res:
        return []
    out = []
    n = len(variables)
    for i, r in enumerate(res):
        if isinstance(r, dict) and "failure" in r and len(r) == 1:
            if n == len(res):
                var = variables[i]
            elif n == 1:
                var = f"{variables[0]}[{i}]"
            else:
                var = None
            out.append((i, var, str(r["failure"])))
    return out
