"""HTTP triggers: route ``/<prefix>/<route>`` requests to functions and convert requests and responses.

A request is matched against the routes in the host's precedence order (literal segments before
constrained parameters before plain, optional and catch-all ones); a route whose template matches
but whose methods do not is skipped, and no match at all is a 404, as on the real host. The auth
level is checked next (401 without a valid key), then the function runs with an
``azure.functions.HttpRequest`` and its ``HttpResponse`` (or string) becomes the aiohttp response.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost.functions import FunctionInfo, Invocation, Invoker
from devhost.keys import HostKeys, authorized, presented_key
from devhost.routes import RouteError, RouteTemplate, parse_route

__all__ = ["HttpRoute", "HttpTriggers", "http_routes"]


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP-triggered function as the router sees it."""

    function: FunctionInfo
    template: RouteTemplate
    methods: frozenset[str] | None  # None: every method
    auth_level: str


def http_routes(functions: dict[str, FunctionInfo]) -> list[HttpRoute]:
    """The HTTP routes of the app in match order; a bad template disables only its function."""
    routes: list[HttpRoute] = []
    for fn in functions.values():
        if fn.trigger_type != "httpTrigger":
            continue
        try:
            template = parse_route(str(fn.trigger.get("route") or fn.name))
        except RouteError as exc:
            print(f"[devhost] {fn.name} disabled: {exc}", file=sys.stderr, flush=True)
            continue
        methods = fn.trigger.get("methods")
        allowed = frozenset(str(m).upper() for m in methods) if methods else None
        level = str(fn.trigger.get("authLevel") or "function").lower()
        routes.append(HttpRoute(fn, template, allowed, level))
    return sorted(routes, key=lambda r: r.template.rank)


class HttpTriggers:
    """The aiohttp handler for everything under the route prefix."""

    def __init__(self, routes: list[HttpRoute], invoker: Invoker, keys: HostKeys, prefix: str) -> None:
        self._routes = routes
        self._invoker = invoker
        self._keys = keys
        self._prefix = prefix.strip("/")

    def aiohttp_path(self) -> str:
        tail = "{tail:[\\s\\S]*}"  # any path, newlines included: the route templates decide
        return f"/{self._prefix}/{tail}" if self._prefix else f"/{tail}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        found = self._find(request.match_info.get("tail", ""), request.method)
        if found is None:
            return web.Response(status=404)
        route, params = found
        if not authorized(route.auth_level, presented_key(request.headers, request.query), self._keys):
            return web.Response(status=401)
        invocation = await self._invoker.invoke(route.function, await _to_request(request, params))
        return _to_response(route.function, invocation)

    def _find(self, path: str, method: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route in self._routes:
            if route.methods is not None and method.upper() not in route.methods:
                continue
            params = route.template.match(path)
            if params is not None:
                return route, params
        return None


async def _to_request(request: web.Request, params: dict[str, str]) -> func.HttpRequest:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    query = {key: request.query.getone(key) for key in request.query}
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=headers,
        params=query,
        route_params=params,
        body=await request.read(),
    )


def _to_response(fn: FunctionInfo, invocation: Invocation) -> web.Response:
    if not invocation.succeeded:
        return web.Response(status=500)
    value = _response_value(fn, invocation)
    if value is None:
        return web.Response(status=204)
    if isinstance(value, func.HttpResponse):
        return _from_http_response(value)
    if isinstance(value, str | bytes):
        if isinstance(value, str):
            return web.Response(status=200, text=value, content_type="text/plain")
        return web.Response(status=200, body=value)
    print(f"[devhost] {fn.name} returned {type(value).__name__}, not an HttpResponse", file=sys.stderr)
    return web.Response(status=500)


def _response_value(fn: FunctionInfo, invocation: Invocation) -> Any:
    named = [b["name"] for b in fn.bindings_of("http", "OUT") if b.get("name") != "$return"]
    return invocation.outputs.get(named[0]) if named else invocation.value


def _from_http_response(value: func.HttpResponse) -> web.Response:
    response = web.Response(status=value.status_code, body=value.get_body() or b"")
    for name, header in value.headers.items():
        response.headers.add(name, header)
    if "Content-Type" not in response.headers:
        mimetype = value.mimetype
        ctype = f"{mimetype}; charset={value.charset}" if mimetype.startswith("text/") else mimetype
        response.headers["Content-Type"] = ctype
    return response
