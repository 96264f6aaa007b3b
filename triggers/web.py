"""What every HTTP route shares: JSON responses, the one way a request is validated, who is acting.

A route declares its body as a :class:`Body` of :class:`Field` s; ``Body.parse`` reads the request and
returns the values (defaults filled in) or raises :class:`BadRequest` naming the field: a body larger than
``MAX_BODY_BYTES`` (413), sent as another media type than JSON (415; a body without a Content-Type is read
as JSON), not JSON, nested deeper than ``MAX_DEPTH``, holding text that is not valid Unicode (a lone
surrogate), an unknown field, or a field of the wrong kind (400). A handler just calls the parsers: the
route's guard (triggers/api.py ``endpoint``) answers the BadRequest it raises. Nothing is started or
written before a request parsed. The same declarations document the API.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import azure.functions as func

from shared.models import parse_time

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 16
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
FUNCTION_KEY_ACTOR = "function key"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, default=str),
        status_code=status,
        mimetype="application/json",
        headers=dict(headers or {}),
    )


class BadRequest(ValueError):
    """A 4xx (400 unless ``status`` says otherwise): ``field`` is what was wrong, ``problem`` says how."""

    def __init__(self, field: str, problem: str, status: int = 400) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem, self.status = field, problem, status

    def response(self) -> func.HttpResponse:
        body = {"error": "invalid request", "field": self.field, "problem": self.problem}
        return json_response(body, self.status)


# ---- declared bodies -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """One body field. ``kind``: text, choice, flag, time (ISO 8601 with a zone), integer, object
    (validated by the route). ``default`` fills an absent optional field."""

    name: str
    kind: str = "text"
    required: bool = False
    doc: str = ""
    choices: tuple[str, ...] = ()
    default: Any = None
    max_len: int = 500

    def parse(self, value: Any) -> Any:
        parse = getattr(self, f"_{self.kind}")
        return parse(value)

    def _text(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(self.name, "must be a non-empty string")
        if len(value) > self.max_len or any(ord(c) < 32 and c != "\t" for c in value):
            raise BadRequest(self.name, f"must be at most {self.max_len} printable characters")
        return value.strip()

    def _choice(self, value: Any) -> str:
        if value not in self.choices:
            raise BadRequest(self.name, f"must be one of {', '.join(self.choices)}")
        return str(value)

    def _flag(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise BadRequest(self.name, "must be true or false")
        return value

    def _time(self, value: Any) -> datetime:
        problem = "must be an ISO 8601 timestamp with a time zone"
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(self.name, problem)
        try:
            return parse_time(value.strip())
        except ValueError:
            raise BadRequest(self.name, problem) from None

    def _integer(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            raise BadRequest(self.name, "must be a whole number from 0 to 2147483647")
        return value

    def _object(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise BadRequest(self.name, "must be a JSON object")
        return value


class Body:
    """A route's JSON body: its fields, and whether a body is required at all."""

    def __init__(self, *fields: Field, required: bool = True) -> None:
        self.fields = {f.name: f for f in fields}
        self.required = required

    def parse(self, req: func.HttpRequest) -> dict[str, Any]:
        """The validated values of every declared field (absent optional ones: their default)."""
        body = read_json(req, required=self.required)
        unknown = sorted(set(body) - set(self.fields))
        if unknown:
            allowed = ", ".join(sorted(self.fields))
            raise BadRequest(*_unknown(unknown[0], f"unknown field (allowed: {allowed})", "body"))
        out: dict[str, Any] = {}
        for name, field in self.fields.items():
            if body.get(name) is None:
                if field.required:
                    raise BadRequest(name, "is required" + (f": {field.doc}" if field.doc else ""))
                out[name] = field.default
            else:
                out[name] = field.parse(body[name])
        return out


def read_json(req: func.HttpRequest, *, required: bool = True) -> dict[str, Any]:
    """The request's body as a JSON object within the limits; raises BadRequest otherwise."""
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("body", f"larger than {MAX_BODY_BYTES} bytes", 413)
    if not raw.strip():
        if required:
            raise BadRequest("body", "a JSON object is required")
        return {}
    media = (req.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise BadRequest("Content-Type", "must be application/json", 415)
    try:
        body = json.loads(raw)
    except RecursionError:
        raise BadRequest("body", f"nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body", "not valid JSON") from None
    check_json(body, "body")
    if not isinstance(body, dict):
        raise BadRequest("body", "must be a JSON object")
    return body


def check_json(value: Any, where: str, depth: int = 0) -> None:
    """Bounded depth and valid Unicode everywhere in a parsed JSON value (keys included)."""
    if depth > MAX_DEPTH:  # named by its top-level field: the path itself would be the nesting
        raise BadRequest(re.split(r"[.\[]", where, maxsplit=1)[0], f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        _unicode(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _unicode(key, where)
            check_json(item, _child(where, key), depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_json(item, f"{where}[{i}]", depth + 1)


def _child(where: str, key: str) -> str:
    """The path of a member: ``a.b``; a name that is empty, unprintable or long is quoted (``a[""]``), so
    a path never comes out empty."""
    if key and len(key) <= 100 and key.isprintable():
        return f"{where}.{key}" if where != "body" else key
    return f"{where}[{json.dumps(key[:40])}]"


def _unknown(name: str, problem: str, where: str) -> tuple[str, str]:
    """The field and problem naming an unknown name: itself when short and printable, else ``where``."""
    if name and len(name) <= 100 and name.isprintable():
        return name, problem
    return where, f"{problem}; an unnamed, unprintable or over-long name was given"


def _unicode(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(where, "is not valid Unicode (a lone surrogate)") from None


@dataclass(frozen=True)
class Param:
    """One query parameter: its name, what it means, and its allowed values (any text when empty)."""

    name: str
    doc: str = ""
    choices: tuple[str, ...] = ()


class Query:
    """A route's query string: the parameters it takes (the function key ``code`` is always allowed)."""

    def __init__(self, *params: Param) -> None:
        self.params = {p.name: p for p in params}

    def parse(self, req: func.HttpRequest) -> dict[str, str]:
        """The query string without the function key, refusing unknown parameters and invalid text."""
        params = {k: v for k, v in req.params.items() if k != "code"}
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            allowed = ", ".join(sorted(self.params)) or "none"
            raise BadRequest(*_unknown(unknown[0], f"unknown parameter (allowed: {allowed})", "query"))
        for key, value in params.items():
            _unicode(value, key)
            choices = self.params[key].choices
            if choices and value not in choices:
                raise BadRequest(key, f"must be one of {', '.join(choices)}")
        return params


NO_QUERY = Query()


# ---- who acts, what is asked about, the settings --------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """Who calls, as Easy Auth says (``x-ms-client-principal``): a name and app roles (none: anonymous)."""

    name: str = ""
    roles: tuple[str, ...] = ()

    @property
    def authenticated(self) -> bool:
        return bool(self.name or self.roles)


# App Service sets this to "True" when its authentication (Easy Auth) is on: only then does the platform
# set the principal headers and strip any a client sent (as Microsoft.Identity.Web's
# AppServicesAuthenticationInformation reads it)
EASY_AUTH_ENABLED = "WEBSITE_AUTH_ENABLED"


def easy_auth_on() -> bool:
    return os.environ.get(EASY_AUTH_ENABLED, "").strip().lower() == "true"


def principal_of(req: func.HttpRequest) -> Principal:
    """The caller from Easy Auth's headers; none when Easy Auth is off (a client could then send any)."""
    return parse_principal(req.headers) if easy_auth_on() else Principal("", ())


def parse_principal(headers: Mapping[str, str]) -> Principal:
    """The principal Easy Auth's headers name (pure): printable, bounded, or none."""
    name = headers.get("x-ms-client-principal-name", "")
    roles: list[str] = []
    encoded = headers.get("x-ms-client-principal", "")
    if encoded:
        try:
            principal = json.loads(base64.b64decode(encoded, validate=True))
            claims = [c for c in principal.get("claims", []) if isinstance(c, dict)]
            name_typ, role_typ = principal.get("name_typ"), principal.get("role_typ") or "roles"
            by_type = {c.get("typ"): c.get("val") for c in claims}
            name = name or str(by_type.get("name") or by_type.get(name_typ) or "")
            roles = [str(c.get("val")) for c in claims if c.get("typ") in (role_typ, "roles")]
        except (ValueError, TypeError, AttributeError):
            name, roles = name, []
    clean = "".join(c for c in name if c.isprintable())[:100]
    return Principal(clean, tuple(r[:100] for r in roles if r.isprintable()))


def actor_of(req: func.HttpRequest) -> str:
    """Who acts: the authenticated principal, never a body field; without Easy Auth, the function key that
    let the request in."""
    return principal_of(req).name or FUNCTION_KEY_ACTOR


def run_id_of(req: func.HttpRequest) -> str:
    value = str(req.route_params.get("id", ""))
    if not RUN_ID.match(value):
        raise BadRequest("id", "must be 1-128 letters, digits or . _ : -")
    return value
