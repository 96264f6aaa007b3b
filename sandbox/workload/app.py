"""The workload's HTTP API: health, status, database health, intents (writes) and search (reads).

It speaks the DR document's API: ``POST /api/v1/intents {"user_input"}`` (``text`` is an alias) answers
``{"status": "success", "intent_id", ...}`` and ``POST /api/v1/search {"query"}`` (``text`` is an alias)
answers ``{"results": [...]}``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.workload import store
from sandbox.workload.behaviour import Behaviour

MAX_TEXT = 10_000
MAX_LIMIT = 100

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class WorkloadConfig:
    """What one workload process knows about itself."""

    behaviour: Behaviour
    database_url: str
    container_group: str = ""
    region: str = ""
    maintenance_mode: bool = False
    warmup: tuple[tuple[str, float], ...] = ()  # component -> seconds after start until it is healthy


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _cfg(request: web.Request) -> WorkloadConfig:
    return request.app[CONFIG_KEY]


CONFIG_KEY = web.AppKey("config", WorkloadConfig)
STARTED_KEY = web.AppKey("started", float)
COUNTER_KEY = web.AppKey("counter", itertools.count)


@web.middleware
async def behaviour_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the image's behaviour: latency for `slow`, 500s for `broken`, `flaky-<pct>` and
    `errors-after-<s>`, 503 writes in maintenance."""
    cfg = _cfg(request)
    number = next(request.app[COUNTER_KEY])
    if cfg.behaviour.slow_ms:
        await asyncio.sleep(cfg.behaviour.slow_ms / 1000)
    failing = cfg.behaviour.failing(time.monotonic() - request.app[STARTED_KEY], number)
    if failing:
        return _error(500, failing)
    if (
        cfg.maintenance_mode
        and request.method in ("POST", "PUT", "PATCH", "DELETE")
        and request.path != "/api/v1/search"
    ):
        return _error(503, "maintenance mode: writes are disabled")
    return await handler(request)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "healthy", "version": _cfg(request).behaviour.tag})


async def status(request: web.Request) -> web.Response:
    cfg = _cfg(request)
    return web.json_response(
        {
            "status": "ok",
            "version": cfg.behaviour.tag,
            "image": cfg.behaviour.image,
            "container_group": cfg.container_group,
            "region": cfg.region,
            "maintenance_mode": cfg.maintenance_mode,
            "pid": os.getpid(),
        }
    )


async def database_health(request: web.Request) -> web.Response:
    try:
        info = await store.database_health(_cfg(request).database_url)
    except Exception as exc:  # any database failure is an unhealthy answer, never a crash
        return web.json_response({"status": "unhealthy", "error": type(exc).__name__}, status=503)
    return web.json_response({"status": "healthy", **info})


async def component_health(request: web.Request) -> web.Response:
    """A component of the app (WORKLOAD_WARMUP names them) answers healthy once it has warmed up after the
    process started: a component that recovers later than the rest (a websocket service)."""
    name = request.match_info["name"]
    warmup = dict(_cfg(request).warmup)
    if name not in warmup:
        return _error(404, f"no component {name}")
    left = warmup[name] - (time.monotonic() - request.app[STARTED_KEY])
    if left > 0:
        return web.json_response({"status": "warming up", "component": name, "ready_in": left}, status=503)
    return web.json_response({"status": "healthy", "component": name})


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(
            text='{"error": "body is not JSON"}', content_type="application/json"
        ) from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return body


def _embedding(value: Any) -> list[float] | None:
    """A valid embedding is a non-empty list of finite numbers (at most 4096)."""
    if not isinstance(value, list) or not 0 < len(value) <= 4096:
        return None
    if not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in value):
        return None
    return [float(x) for x in value]


async def create_intent(request: web.Request) -> web.Response:
    body = await _json_body(request)
    text = body.get("user_input", body.get("text"))
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return _error(400, f"user_input must be a non-empty string of at most {MAX_TEXT} characters")
    embedding = store.embed(text) if body.get("embedding") is None else _embedding(body["embedding"])
    if embedding is None:
        return _error(400, "embedding must be a non-empty list of finite numbers")
    try:
        row = await store.insert_intent(_cfg(request).database_url, text, embedding)
    except Exception as exc:
        return _error(503, f"database unavailable: {type(exc).__name__}")
    return web.json_response({"status": "success", "intent_id": row["id"], **row}, status=201)


async def search(request: web.Request) -> web.Response:
    body = await _json_body(request)
    limit = body.get("limit", 5)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= MAX_LIMIT:
        return _error(400, f"limit must be an integer from 1 to {MAX_LIMIT}")
    if body.get("embedding") is not None:
        embedding = _embedding(body["embedding"])
    elif isinstance(query := body.get("query", body.get("text")), str) and query.strip():
        embedding = store.embed(query)
    else:
        embedding = None
    if embedding is None:
        return _error(400, "give a non-empty query (or text) or an embedding (a list of finite numbers)")
    try:
        results = await store.search(_cfg(request).database_url, embedding, limit)
    except Exception as exc:
        return _error(503, f"database unavailable: {type(exc).__name__}")
    return web.json_response({"results": results})


async def _crash_later(app: web.Application) -> None:
    """`crash-after-<s>`: the process exits with code 1 that long after it started."""
    after = app[CONFIG_KEY].behaviour.crash_after_s
    if after is not None:

        def crash() -> None:
            print(f"workload: image {app[CONFIG_KEY].behaviour.tag} crashes after {after:g} s", flush=True)
            os._exit(1)

        asyncio.get_running_loop().call_later(after, crash)


def build_app(cfg: WorkloadConfig) -> web.Application:
    app = web.Application(middlewares=[behaviour_middleware], client_max_size=1024 * 1024)
    app[CONFIG_KEY] = cfg
    app[STARTED_KEY] = time.monotonic()
    app[COUNTER_KEY] = itertools.count(1)
    app.on_startup.append(_crash_later)
    app.router.add_get("/health", health)
    app.router.add_get("/api/v1/status", status)
    app.router.add_get("/api/v1/health/database", database_health)
    app.router.add_get("/api/v1/health/components/{name}", component_health)
    app.router.add_post("/api/v1/intents", create_intent)
    app.router.add_post("/api/v1/search", search)
    return app
