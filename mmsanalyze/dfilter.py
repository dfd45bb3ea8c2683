"""A small tshark-like display filter over record fields.

Grammar: ``expr := term (('||' | 'or') term)*``, ``term := factor (('&&' | 'and') factor)*``,
``factor := ('!' | 'not') factor | '(' expr ')' | FIELD [OP VALUE]``, with OP one of
``== != < <= > >= contains ~`` (``~`` and ``contains``: case-insensitive substring;
on a list field, true if any element matches).  A bare FIELD is true when the field is
set (not None/empty).  Values are numbers, bare words or quoted strings.  Unknown
fields are an error at compile time, not a silent no-match.
"""

from __future__ import annotations

import re

from .errors import CaptureError

_TOKEN = re.compile(r"\s*(?:(\|\||&&|==|!=|<=|>=|<|>|~|!|\(|\))|\"([^\"]*)\"|'([^']*)'|([^\s()!=<>~&|]+))")


class FilterError(CaptureError):
    """A display filter that does not parse (reported as a one-line error)."""


def _tokens(text: str):
    pos = 0
    out = []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"display filter: cannot parse at '{text[pos:]}'")
        op, q1, q2, word = m.groups()
        if op:
            out.append(("op", op))
        elif q1 is not None or q2 is not None:
            out.append(("str", q1 if q1 is not None else q2))
        else:
            low = word.lower()
            if low in ("and", "or", "not", "contains", "eq", "ne", "gt", "lt", "ge", "le"):
                out.append(("op", {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=",
                                    "gt": ">", "lt": "<", "ge": ">=", "le": "<="}.get(low, low)))
            else:
                out.append(("word", word))
        pos = m.end()
    return out


def _value(tok):
    kind, v = tok
    if kind == "word":
        try:
            return int(v, 0)
        except ValueError:
            try:
                return float(v)
            except ValueError:
                pass
        if v.lower() in ("true", "false"):
            return v.lower() == "true"
    return v


def _cmp(op, a, b):
    if a is None:
        return op == "!="
    if isinstance(a, (list, tuple)):
        if op == "!=":
            return all(_cmp("==", x, b) is False for x in a)
        return any(_cmp(op, x, b) for x in a)
    if op in ("~", "contains"):
        return str(b).lower() in str(a).lower()
    if isinstance(a, bool) or isinstance(b, bool):
        a, b = str(a).lower(), str(b).lower()
    elif isinstance(b, (int, float)) and not isinstance(a, (int, float)):
        try:
            a = float(a)
        except (TypeError, ValueError):
            return op == "!="
    elif isinstance(a, (int, float)) and isinstance(b, str):
        return op == "!="
    try:
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


#: Field types :func:`compile_filter` checks values against.
NUMBER, TEXT, BOOL, LIST = "number", "text", "bool", "list"


def _check_type(name, op, val, kind) -> None:
    """A value that can never compare with the field is an error (tshark: "abc" is not a
    valid number), not a silent empty result."""
    if kind == NUMBER and op not in ("~", "contains") and (isinstance(val, bool) or not isinstance(val, (int, float))):
        raise FilterError(f"display filter: '{val}' is not a number ({name} is a number)")
    if kind == BOOL and not isinstance(val, bool) and val not in (0, 1):
        raise FilterError(f"display filter: '{val}' is not true/false ({name} is true or false)")
    if kind == BOOL and op in ("<", "<=", ">", ">="):
        raise FilterError(f"display filter: {name} is true or false; use == or !=")


def compile_filter(text: str, fields, types=None):
    """Compile ``text`` into a predicate over a ``get(field_name)`` callable.

    ``fields`` is the collection of valid field names; ``types`` optionally maps a
    field to :data:`NUMBER`, :data:`TEXT`, :data:`BOOL` or :data:`LIST`, and a value
    of the wrong type for its field is a :class:`FilterError`.
    """
    types = types or {}
    toks = _tokens(text)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else (None, None)

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def expr():
        left = term()
        while peek() == ("op", "||"):
            take()
            right = term()
            left = (lambda l, r: lambda g: l(g) or r(g))(left, right)
        return left

    def term():
        left = factor()
        while peek() == ("op", "&&"):
            take()
            right = factor()
            left = (lambda l, r: lambda g: l(g) and r(g))(left, right)
        return left

    def factor():
        tok = peek()
        if tok == ("op", "!"):
            take()
            f = factor()
            return lambda g: not f(g)
        if tok == ("op", "("):
            take()
            f = expr()
            if take() != ("op", ")"):
                raise FilterError("display filter: missing ')'")
            return f
        kind, name = take() if tok[0] else (None, None)
        if kind != "word":
            raise FilterError(f"display filter: field name expected, found {name!r}")
        if name not in fields:
            raise FilterError(f"display filter: unknown field '{name}' (known: {', '.join(sorted(fields))})")
        nk = peek()
        if nk[0] == "op" and nk[1] in ("==", "!=", "<", "<=", ">", ">=", "~", "contains"):
            op = take()[1]
            if pos >= len(toks):
                raise FilterError(f"display filter: value expected after '{op}'")
            val = _value(take())
            _check_type(name, op, val, types.get(name))
            return lambda g: _cmp(op, g(name), val)
        return lambda g: bool(g(name)) or g(name) == 0 and g(name) is not None and not isinstance(g(name), bool)

    f = expr()
    if pos != len(toks):
        raise FilterError(f"display filter: unexpected '{toks[pos][1]}'")
    return f
