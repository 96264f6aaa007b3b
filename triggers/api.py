"""The operator API's declarations, written once: each route's method, path, body, query and answers.

``endpoint`` registers an HTTP function on a blueprint (name, route, method, auth level, durable client)
and records its declaration; the handler validates with the same ``Body`` / ``Query`` objects, and
``openapi()`` turns the declarations into the OpenAPI 3.1 document served at ``GET /api/openapi.json``.
So the contract and the validation cannot drift apart. With roles required (settings), ``endpoint`` also
guards every route but the anonymous health: reader for reads, operator to start, approver to answer.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import policy
from shared.config import SettingsError, current_settings
from shared.version import VERSION
from triggers.web import NO_QUERY, BadRequest, Body, Field, Query, json_response, principal_of

ERROR = "#/components/schemas/Error"


@dataclass(frozen=True)
class Endpoint:
    """One HTTP route of the API."""

    function: str
    method: str
    route: str
    summary: str
    responses: dict[int, str]
    body: Body | None = None
    query: Query = NO_QUERY
    path: dict[str, tuple[str, ...]] = field(default_factory=dict)  # path parameter -> allowed values
    anonymous: bool = False
    tag: str = "operations"
    role: str | Callable[[func.HttpRequest], str] = ""  # with roles required; default: reader / operator
    media: tuple[str, ...] = ("application/json",)  # what a success answers

    def role_for(self, req: func.HttpRequest) -> str:
        if callable(self.role):
            return self.role(req)
        return self.role or (policy.READER if self.method == "GET" else policy.OPERATOR)


ENDPOINTS: dict[str, Endpoint] = {}


def endpoint(
    bp: df.Blueprint,
    name: str,
    method: str,
    route: str,
    *,
    summary: str,
    responses: dict[int, str],
    body: Body | None = None,
    query: Query = NO_QUERY,
    path: dict[str, tuple[str, ...]] | None = None,
    anonymous: bool = False,
    client: bool = True,
    tag: str = "operations",
    role: str | Callable[[func.HttpRequest], str] = "",
    media: tuple[str, ...] = ("application/json",),
) -> Callable[[Callable[..., Any]], Any]:
    """Register ``function`` as the HTTP function ``name`` (``method`` on ``/api/<route>``), declare it,
    and guard it: with roles required (settings), the caller needs the endpoint's role (401 / 403), and
    every route's query string is checked against ``query`` before the handler runs (400); the handler
    validates path and body. ``media``: what a success answers."""
    answers = dict(responses)
    if body is not None:
        answers.setdefault(413, "body too large")
        answers.setdefault(415, "the body is not sent as application/json")
    answers.setdefault(400, "invalid request: the field and the problem")
    if not anonymous:
        answers.setdefault(
            401, "no valid function key, or roles are required and the caller is not authenticated"
        )
        answers.setdefault(403, "the caller's app roles do not allow this")
    declared = Endpoint(
        name, method, route, summary, answers, body, query, dict(path or {}), anonymous, tag, role, media
    )

    def register(function: Callable[..., Any]) -> Any:
        ENDPOINTS[name] = declared
        level = func.AuthLevel.ANONYMOUS if anonymous else func.AuthLevel.FUNCTION
        guarded = _guarded(function, declared)
        wrapped = bp.durable_client_input(client_name="client")(guarded) if client else guarded
        return bp.function_name(name)(bp.route(route=route, methods=[method], auth_level=level)(wrapped))

    return register


def refusal(req: func.HttpRequest, declared: Endpoint) -> func.HttpResponse | None:
    """Access, in one place: None when the caller may go on, else the 401 / 403."""
    try:
        settings = current_settings()
    except SettingsError:
        return None  # the handler answers 503 naming the settings
    if not settings.require_roles:
        return None
    principal = principal_of(req)
    decision = policy.role_allows(
        declared.role_for(req), principal.roles, authenticated=principal.authenticated
    )
    if decision.is_("allow"):
        return None
    status = 401 if decision.is_("unauthenticated") else 403
    return json_response({"error": decision.action, "reason": decision.reason}, status)


def checked(req: func.HttpRequest, declared: Endpoint) -> func.HttpResponse | None:
    """What every route checks before its handler runs: the caller's roles (keyed routes), then the query
    string against the declaration (every route, whatever its method: unknown or invalid parameters are a
    400 naming them). None when the handler may run."""
    refused = None if declared.anonymous else refusal(req, declared)
    if refused is not None:
        return refused
    try:
        declared.query.parse(req)
    except BadRequest as bad:
        return bad.response()
    return None


def answered(refusal: BadRequest | SettingsError) -> func.HttpResponse:
    """How every route answers what its handler raised on the way: a bad request (the 4xx naming the
    field, triggers/web.py), or settings that do not load (503 naming the problems)."""
    if isinstance(refusal, BadRequest):
        return refusal.response()
    return json_response({"error": "settings invalid", "problems": refusal.problems}, 503)


def _guarded(function: Callable[..., Any], declared: Endpoint) -> Callable[..., Any]:
    """The handler behind the route's checks; a BadRequest or SettingsError it raises is answered here,
    so a handler validates by calling the parsers (and ``current_settings``) and nothing else."""
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def guarded_async(req: func.HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused = checked(req, declared)
            if refused is not None:
                return refused
            try:
                return await function(req, *args, **kwargs)
            except (BadRequest, SettingsError) as refusal:
                return answered(refusal)

        return guarded_async

    @functools.wraps(function)
    def guarded(req: func.HttpRequest, *args: Any, **kwargs: Any) -> Any:
        refused = checked(req, declared)
        if refused is not None:
            return refused
        try:
            return function(req, *args, **kwargs)
        except (BadRequest, SettingsError) as refusal:
            return answered(refusal)

    return guarded


# ---- the OpenAPI document ------------------------------------------------------------------------------
def _schema(f: Field) -> dict[str, Any]:
    kinds: dict[str, dict[str, Any]] = {
        "text": {"type": "string", "minLength": 1, "maxLength": f.max_len},
        "choice": {"type": "string", "enum": list(f.choices)},
        "flag": {"type": "boolean"},
        "time": {"type": "string", "format": "date-time"},
        "object": {"type": "object"},
        "integer": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    }
    schema = dict(kinds[f.kind])
    if not f.required:  # an optional field may be given as null: the same as leaving it out
        schema["type"] = [schema.get("type", "string"), "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if f.doc:
        schema["description"] = f.doc
    if f.default is not None:
        schema["default"] = f.default
    return schema


def _body(body: Body) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: _schema(f) for name, f in body.fields.items()},
        "additionalProperties": False,
    }
    required = [name for name, f in body.fields.items() if f.required]
    if required:
        schema["required"] = required
    return {"required": body.required, "content": {"application/json": {"schema": schema}}}


def _parameters(e: Endpoint) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in re.findall(r"\{(\w+)\}", e.route):
        schema: dict[str, Any] = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"}
        if e.path.get(name):
            schema = {"type": "string", "enum": list(e.path[name])}
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    for p in e.query.params.values():
        schema = {"type": "string", "enum": list(p.choices)} if p.choices else {"type": "string"}
        out.append({"name": p.name, "in": "query", "required": False, "description": p.doc, "schema": schema})
    return out


def _operation(e: Endpoint) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": e.function, "summary": e.summary, "tags": [e.tag]}
    if params := _parameters(e):
        op["parameters"] = params
    if e.body is not None:
        op["requestBody"] = _body(e.body)
    answers: dict[str, Any] = {}
    for status, text in sorted(e.responses.items()):
        answers[str(status)] = {"description": text, "content": _content(e, status)}
    op["responses"] = answers
    op["security"] = [] if e.anonymous else [{"functionKey": []}, {"functionKeyQuery": []}]
    return op


def _content(e: Endpoint, status: int) -> dict[str, Any]:
    if status >= 400:
        return {"application/json": {"schema": {"$ref": ERROR}}}
    return {m: {"schema": {"type": "object"} if m.endswith("json") else {"type": "string"}} for m in e.media}


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared endpoint."""
    paths: dict[str, dict[str, Any]] = {}
    for e in sorted(ENDPOINTS.values(), key=lambda x: x.route):
        paths.setdefault(f"/api/{e.route}", {})[e.method.lower()] = _operation(e)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Continuity operator API",
            "version": VERSION,
            "description": "Disaster recovery and release automation: start and steer runs, read reports.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {"type": "string"},
                        "field": {"type": "string"},
                        "problem": {"type": "string"},
                        "reason": {"type": "string"},
                    },
                    "required": ["error"],
                }
            },
        },
    }
