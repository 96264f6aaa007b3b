"""The Front Door endpoint: a real HTTP reverse proxy over the route's current origin group.

Each request goes to the healthy, enabled origins of the origin group the route points at: the lowest
priority value first, then weighted at random within that priority; an origin that refuses the connection
is skipped for the next one. Origins are probed on their group's health path at an interval; an origin
that has not been probed yet counts as healthy (as a new Front Door origin does). With no healthy origin
the router answers 503. Every request is counted (time, origin group, status, latency) for the metrics.
The configuration comes from the Front Door modules (Standard and classic views of the same model).
Further routes on the endpoint (e.g. a drill route on ``/drill/*`` with originPath ``/``) take the requests
their patterns match (the most specific pattern wins; an originPath replaces the pattern's prefix); the
production route's ``/*`` takes the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-encoding",
}
PROBE_TIMEOUT_S = 2.0
FORWARD_TIMEOUT_S = 30.0


class Listener:
    """An aiohttp application listening on 127.0.0.1 (port 0 picks a free port)."""

    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self.runner = runner
        self.port = port

    @classmethod
    async def start(cls, app: web.Application, port: int = 0, *, ssl_context: Any = None) -> Listener:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context)
        await site.start()
        server = site._server  # the asyncio server: read back the port when 0 was asked for
        bound = port or server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return cls(runner, bound)

    async def close(self) -> None:
        await self.runner.cleanup()


@dataclass(frozen=True)
class OriginConfig:
    host: str
    port: int
    enabled: bool = True
    priority: int = 1
    weight: int = 1000

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class GroupConfig:
    origins: dict[str, OriginConfig]
    probe_path: str = "/health"
    probe_interval_s: float = 1.0


@dataclass(frozen=True)
class RouterConfig:
    """What the router serves: the route's origin group and every group's origins."""

    route_group: str | None
    groups: dict[str, GroupConfig] = field(default_factory=dict)
    # further routes: (patternsToMatch, origin group, originPath or None)
    routes: tuple[tuple[tuple[str, ...], str, str | None], ...] = ()

    def resolve(self, path: str) -> tuple[str | None, str]:
        """(origin group, path to forward) for a request path: the most specific matching pattern of a
        further route, else the production route's group with the path unchanged. A further route with an
        originPath forwards originPath + the part of the path after the pattern's prefix."""
        best: tuple[int, str, str] | None = None
        for patterns, group, origin_path in self.routes:
            for pattern in patterns:
                size = pattern_match(pattern, path)
                if size is not None and (best is None or size > best[0]):
                    forward = path
                    if origin_path:
                        rest = path[len(pattern) - 1 :] if pattern.endswith("/*") else ""
                        forward = origin_path.rstrip("/") + "/" + rest.lstrip("/")
                    best = (size, group, forward)
        return (best[1], best[2]) if best else (self.route_group, path)


def pattern_match(pattern: str, path: str) -> int | None:
    """How specific `pattern` is when it matches `path` (None when it does not): `/a/*` matches `/a`,
    `/a/` and below; a pattern without `*` matches only that path."""
    if pattern.endswith("/*"):
        prefix = pattern[:-1]
        return len(prefix) if path.startswith(prefix) or path == prefix[:-1] else None
    return len(pattern) + 1 if path == pattern else None


@dataclass(frozen=True)
class RequestRecord:
    at: float  # wall clock, seconds
    group: str
    status: int
    latency_ms: float
    origin: str = ""  # the origin that answered ("" when none did)


def pick_order(origins: list[tuple[str, OriginConfig]], rng: random.Random) -> list[tuple[str, OriginConfig]]:
    """Order candidates: ascending priority, weighted random order within one priority."""
    ordered: list[tuple[str, OriginConfig]] = []
    for priority in sorted({o.priority for _, o in origins}):
        tier = [(n, o) for n, o in origins if o.priority == priority]
        while tier:
            weights = [max(o.weight, 1) for _, o in tier]
            chosen = rng.choices(range(len(tier)), weights=weights)[0]
            ordered.append(tier.pop(chosen))
    return ordered


class Router:
    """The proxy, its health probes and its request counters."""

    def __init__(self, *, max_records: int = 200_000, seed: int | None = None) -> None:
        self.config = RouterConfig(route_group=None)
        self.health: dict[str, bool] = {}  # origin address -> last probe succeeded
        self.records: deque[RequestRecord] = deque(maxlen=max_records)
        self.url = ""
        self._rng = random.Random(seed)
        self._session: aiohttp.ClientSession | None = None
        self._listener: Listener | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False

    # ---- configuration and health ----------------------------------------------------------------
    def set_config(self, config: RouterConfig) -> None:
        """Serve `config` from now on and probe its origins at once."""
        self.config = config
        self._wake.set()

    def is_healthy(self, origin: OriginConfig) -> bool:
        return self.health.get(origin.address, True)

    def candidates(self, group: GroupConfig) -> list[tuple[str, OriginConfig]]:
        live = [(n, o) for n, o in group.origins.items() if o.enabled and self.is_healthy(o)]
        return pick_order(live, self._rng)

    async def _probe_one(self, origin: OriginConfig, path: str) -> None:
        assert self._session is not None
        try:
            timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)
            async with self._session.get(f"http://{origin.address}{path}", timeout=timeout) as resp:
                await resp.read()
                self.health[origin.address] = 200 <= resp.status < 300
        except (aiohttp.ClientError, TimeoutError, OSError):
            self.health[origin.address] = False

    async def probe_all(self) -> None:
        """Probe every origin of every group once, concurrently."""
        probes = {}
        for group in self.config.groups.values():
            for origin in group.origins.values():
                probes[origin.address] = self._probe_one(origin, group.probe_path)
        await asyncio.gather(*probes.values())

    def _interval(self) -> float:
        intervals = [g.probe_interval_s for g in self.config.groups.values()]
        return max(min(intervals, default=1.0), 0.1)

    async def _probe_loop(self) -> None:
        # ends on ``_closing`` too: Python 3.11's wait_for can swallow a cancellation that arrives as the
        # event it waits on is set (a config applied at that moment), and the loop would then never end
        while not self._closing:
            self._wake.clear()
            await self.probe_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval())

    # ---- proxying ----------------------------------------------------------------------------------
    async def _forward(
        self, request: web.Request, origin: OriginConfig, body: bytes, path: str | None = None
    ) -> web.Response:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = request.remote or "127.0.0.1"
        headers["X-Forwarded-Host"] = request.host
        target = str(request.rel_url) if path is None or path == request.path else path
        if path is not None and path != request.path and request.query_string:
            target += "?" + request.query_string
        url = f"http://{origin.address}{target}"
        timeout = aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S)
        async with self._session.request(
            request.method, url, headers=headers, data=body, timeout=timeout, allow_redirects=False
        ) as resp:
            payload = await resp.read()
            # The body is passed on still encoded (auto_decompress=False), so Content-Encoding stays.
            out = {
                k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP - {"content-encoding"}
            }
            return web.Response(status=resp.status, body=payload, headers=out)

    async def _route(self, request: web.Request, body: bytes) -> tuple[str, web.Response]:
        name, path = self.config.resolve(request.path)
        group = self.config.groups.get(name or "")
        if name is None or group is None:
            return name or "", _plain(404, "no route matches this request")
        for origin_name, origin in self.candidates(group):
            try:
                resp = await self._forward(request, origin, body, path)
            except (aiohttp.ClientConnectionError, TimeoutError, OSError):
                continue
            resp.headers["X-Sandbox-Origin-Group"] = name
            resp.headers["X-Sandbox-Origin"] = origin_name
            return name, resp
        return name, _plain(503, f"no healthy origin in origin group {name}")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        start = time.monotonic()
        body = await request.read()
        group, resp = await self._route(request, body)
        resp.headers["X-Azure-Ref"] = uuid.uuid4().hex
        latency_ms = (time.monotonic() - start) * 1000
        origin = resp.headers.get("X-Sandbox-Origin", "")
        self.records.append(RequestRecord(time.time(), group, resp.status, latency_ms, origin))
        return resp

    def records_between(self, start: float, end: float) -> list[RequestRecord]:
        return [r for r in self.records if start <= r.at < end]

    # ---- lifecycle ---------------------------------------------------------------------------------
    async def start(self, port: int = 0) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._listener = await Listener.start(app, port)
        self.url = f"http://127.0.0.1:{self._listener.port}"
        self._probe_task = asyncio.create_task(self._probe_loop())

    @property
    def port(self) -> int:
        return self._listener.port if self._listener else 0

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._probe_task is not None:
            self._probe_task.cancel()
            await asyncio.gather(self._probe_task, return_exceptions=True)
        if self._listener is not None:
            await self._listener.close()
        if self._session is not None:
            await self._session.close()


def _plain(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"code": "OriginUnavailable" if status == 503 else "NotFound", "message": message}},
        status=status,
    )
