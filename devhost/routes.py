"""HTTP trigger route templates as the Functions host reads them (ASP.NET Core route syntax).

Supported: literal segments (matched case-insensitively), ``{name}``, optional ``{name?}``, defaults
``{name=value}``, catch-all ``{*name}``, parameters inside a segment (``{file}.{ext}``) and
constraints ``{id:int}``, ``{id:int:min(1)}``: int, long, bool, alpha, guid, float, double, decimal,
datetime, minlength(n), maxlength(n), length(n), length(a,b), min(n), max(n), range(a,b), regex(expr).
Pure: ``parse_route`` raises RouteError for a template the host would refuse.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

__all__ = ["RouteError", "RouteTemplate", "parse_route"]

_PARAM = re.compile(r"\{([^{}]*)\}")
_CONSTRAINT = re.compile(r"^(?P<name>[A-Za-z]+)(?:\((?P<arg>.*)\))?$")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class RouteError(ValueError):
    """A route template the host would refuse."""


Check = Callable[[str], bool]


@dataclass(frozen=True)
class _Param:
    name: str
    optional: bool
    catch_all: bool
    default: str | None
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed template; ``match(path)`` gives the route parameters or None."""

    text: str
    pattern: re.Pattern[str]
    params: dict[str, _Param] = field(default_factory=dict)
    rank: tuple[int, ...] = ()

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters for ``path`` (no leading or trailing slash), or None when it does not match."""
        stripped = path.strip("/")
        found = self.pattern.fullmatch(f"/{stripped}" if stripped else "")
        if found is None:
            return None
        values: dict[str, str] = {}
        for group, param in self.params.items():
            value = found.group(group)
            if value is None or value == "":
                if param.default is not None:
                    values[param.name] = param.default
                continue
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values


def parse_route(template: str) -> RouteTemplate:
    """Parse a route template (``items/{id:int}/{name?}``); raises RouteError when malformed."""
    text = template.strip().strip("/")
    if "?" in _PARAM.sub("", text) or "//" in text:
        raise RouteError(f"route '{template}' is malformed: '?' or an empty segment outside a parameter")
    segments = text.split("/") if text else []
    params: dict[str, _Param] = {}
    parts: list[str] = []
    rank: list[int] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        regex, segment_rank = _segment_regex(segment, params, template, last=last)
        parts.append(regex)
        rank.append(segment_rank)
    pattern = re.compile("".join(parts), re.IGNORECASE)
    return RouteTemplate(text, pattern, params, tuple(rank))


def _segment_regex(segment: str, params: dict[str, _Param], template: str, *, last: bool) -> tuple[str, int]:
    if not segment:
        raise RouteError(f"route '{template}' has an empty segment")
    pieces = _PARAM.split(segment)  # literal, param, literal, param, ..., literal
    if any("{" in literal or "}" in literal for literal in pieces[0::2]):
        raise RouteError(f"route '{template}': unbalanced braces in segment '{segment}'")
    only_param = len(pieces) == 3 and pieces[0] == "" and pieces[2] == ""
    regex = ""
    rank = 1
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            regex += re.escape(piece)
            continue
        param = _parse_param(piece, template)
        if param.catch_all and not (last and only_param):
            raise RouteError(f"route '{template}': a catch-all parameter must be the whole last segment")
        if param.name.lower() in (p.name.lower() for p in params.values()):
            raise RouteError(f"route '{template}' names parameter '{param.name}' twice")
        group = f"p{len(params)}"
        params[group] = param
        body = ".*" if param.catch_all else "[^/]+"
        regex += f"(?P<{group}>{body})"
        rank = max(rank, _rank(param))
    if only_param:
        param = next(reversed(params.values()))
        if param.optional or param.default is not None or param.catch_all:
            if not last:
                raise RouteError(f"route '{template}': an optional parameter must be in the last segment")
            return f"(?:/{regex})?", rank
    return f"/{regex}", rank


def _rank(param: _Param) -> int:
    if param.catch_all:
        return 5
    if param.optional or param.default is not None:
        return 4
    return 2 if param.checks else 3


def _parse_param(text: str, template: str) -> _Param:
    catch_all = text.startswith("*")
    body = text.lstrip("*")
    body, eq, default = body.partition("=")
    head, *constraints = _split_constraints(body)
    optional = head.endswith("?")
    name = head.rstrip("?")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RouteError(f"route '{template}': '{{{text}}}' is not a valid parameter name")
    checks = tuple(_constraint(c, template) for c in constraints)
    return _Param(name, optional, catch_all, default if eq else None, checks)


def _split_constraints(body: str) -> list[str]:
    """Split ``id:int:range(1,5)`` at the colons that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for char in body:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _constraint(text: str, template: str) -> Check:
    found = _CONSTRAINT.match(text)
    if found is None:
        raise RouteError(f"route '{template}': constraint '{text}' is malformed")
    name, arg = found.group("name").lower(), found.group("arg")
    factory = _CONSTRAINTS.get(name)
    if factory is None:
        raise RouteError(f"route '{template}': unknown constraint '{name}'")
    try:
        return factory(arg)
    except (TypeError, ValueError, re.error) as exc:
        raise RouteError(f"route '{template}': constraint '{text}' has a bad argument ({exc})") from exc


def _int_in(bounds: tuple[int, int]) -> Check:
    return lambda v: re.fullmatch(r"[+-]?\d+", v) is not None and bounds[0] <= int(v) <= bounds[1]


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return v.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity")


def _is_decimal(v: str) -> bool:
    try:
        return Decimal(v).is_finite()
    except InvalidOperation:
        return False


def _is_guid(v: str) -> bool:
    try:
        uuid.UUID(v)
    except ValueError:
        return False
    return True


def _is_datetime(v: str) -> bool:
    try:
        datetime.fromisoformat(v)
    except ValueError:
        return False
    return True


def _numbers(arg: str | None, count: int) -> list[int]:
    values = [int(x) for x in (arg or "").split(",")]
    if len(values) != count:
        raise ValueError(f"expected {count} number(s)")
    return values


def _length(arg: str | None) -> Check:
    values = [int(x) for x in (arg or "").split(",")]
    low, high = (values[0], values[0]) if len(values) == 1 else (values[0], values[1])
    return lambda v: low <= len(v) <= high


def _range(arg: str | None) -> Check:
    low, high = _numbers(arg, 2)
    return _int_in((low, high))


def _no_arg(check: Check) -> Callable[[str | None], Check]:
    def factory(arg: str | None) -> Check:
        if arg is not None:
            raise ValueError("takes no argument")
        return check

    return factory


_CONSTRAINTS: dict[str, Callable[[str | None], Check]] = {
    "int": _no_arg(_int_in(_INT32)),
    "long": _no_arg(_int_in(_INT64)),
    "bool": _no_arg(lambda v: v.lower() in ("true", "false")),
    "alpha": _no_arg(lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None),
    "guid": _no_arg(_is_guid),
    "float": _no_arg(_is_float),
    "double": _no_arg(_is_float),
    "decimal": _no_arg(_is_decimal),
    "datetime": _no_arg(_is_datetime),
    "minlength": lambda a: (lambda n: lambda v: len(v) >= n)(_numbers(a, 1)[0]),
    "maxlength": lambda a: (lambda n: lambda v: len(v) <= n)(_numbers(a, 1)[0]),
    "length": _length,
    "min": lambda a: (lambda n: lambda v: _int_in(_INT64)(v) and int(v) >= n)(_numbers(a, 1)[0]),
    "max": lambda a: (lambda n: lambda v: _int_in(_INT64)(v) and int(v) <= n)(_numbers(a, 1)[0]),
    "range": _range,
    "regex": lambda a: (lambda rx: lambda v: rx.search(v) is not None)(re.compile(a or "", re.IGNORECASE)),
}
