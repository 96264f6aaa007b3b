"""The host's admin API (master key): status, function list and manual runs of non-HTTP functions.

- ``GET /admin/host/ping``: 200, no key (readiness probe).
- ``GET /admin/host/status``: ``{"id", "state": "Running", "version", "processUptime"}``.
- ``GET /admin/functions``: the functions and their bindings.
- ``POST /admin/functions/{name}`` with ``{"input": ...}``: runs a timer (input ignored) or an Event
  Grid function (input: one event, as JSON text or an object) in the background and answers 202,
  as the real host does. Unknown function 404, HTTP/durable functions and bad input 400.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from devhost.eventgrid import PayloadError, parse_events, to_binding_value
from devhost.functions import FunctionInfo, Invoker
from devhost.keys import HostKeys, authorized, presented_key
from devhost.timers import TimerService

__all__ = ["AdminApi"]

VERSION = "devhost-1"


class AdminApi:
    """The /admin routes."""

    def __init__(
        self, functions: dict[str, FunctionInfo], invoker: Invoker, timers: TimerService, keys: HostKeys
    ) -> None:
        self._functions = functions
        self._invoker = invoker
        self._timers = timers
        self._keys = keys
        self._started = time.monotonic()
        self._background: set[asyncio.Task[Any]] = set()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/admin/host/ping", self.ping),
            web.get("/admin/host/status", self.status),
            web.get("/admin/functions", self.list_functions),
            web.post("/admin/functions/{name}", self.run_function),
        ]

    async def drain(self) -> None:
        """Wait for manual runs still in flight (on stop)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def ping(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=200)

    async def status(self, request: web.Request) -> web.StreamResponse:
        if not self._is_admin(request):
            return web.Response(status=401)
        uptime = round((time.monotonic() - self._started) * 1000)
        return web.json_response(
            {"id": "devhost", "state": "Running", "version": VERSION, "processUptime": uptime}
        )

    async def list_functions(self, request: web.Request) -> web.StreamResponse:
        if not self._is_admin(request):
            return web.Response(status=401)
        body = [
            {"name": fn.name, "config": {"bindings": list(fn.bindings)}} for fn in self._functions.values()
        ]
        return web.json_response(body)

    async def run_function(self, request: web.Request) -> web.StreamResponse:
        if not self._is_admin(request):
            return web.Response(status=401)
        fn = self._functions.get(request.match_info["name"])
        if fn is None:
            return web.json_response({"error": "no function of that name"}, status=404)
        try:
            run = self._runner(fn, await _input(request))
        except PayloadError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        task = asyncio.create_task(run)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return web.Response(status=202)

    def _runner(self, fn: FunctionInfo, value: Any) -> Any:
        if fn.trigger_type == "timerTrigger" and fn.name in self._timers.names():
            return self._timers.run_now(fn.name)
        if fn.trigger_type == "eventGridTrigger":
            text = value if isinstance(value, str) else json.dumps(value)
            events = parse_events(text.encode(), "application/json")
            return self._invoker.invoke(fn, to_binding_value(events[0]))
        raise PayloadError(f"function '{fn.name}' ({fn.trigger_type}) cannot be run through the admin API")

    def _is_admin(self, request: web.Request) -> bool:
        return authorized("admin", presented_key(request.headers, request.query), self._keys)


async def _input(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except RecursionError:
        raise PayloadError("body is nested too deeply") from None
    except ValueError as exc:
        raise PayloadError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise PayloadError('body must be a JSON object like {"input": "..."}')
    return body.get("input")
