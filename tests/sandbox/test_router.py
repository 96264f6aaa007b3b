"""The Front Door router in-process: real HTTP origins, probes, priority and weight, 503 with none healthy."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from sandbox.router import GroupConfig, Listener, OriginConfig, Router, RouterConfig, pick_order
from tests.polling import until_async

FAST = {"timeout": 10.0, "interval": 0.05}  # the router probes every 0.1 s


class Origin:
    """A tiny HTTP origin that names itself; its health can be switched."""

    def __init__(self, name: str) -> None:
        self.name, self.healthy, self.hits = name, True, 0
        self.listener: Listener | None = None

    async def start(self) -> Origin:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_route("*", "/{tail:.*}", self.serve)
        self.listener = await Listener.start(app)
        return self

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(status=200 if self.healthy else 500)

    async def serve(self, request: web.Request) -> web.Response:
        self.hits += 1
        body = await request.read()
        resp = web.json_response({"origin": self.name, "path": request.path_qs, "body": body.decode()})
        if request.path == "/gzip":
            resp.enable_compression(web.ContentCoding.gzip)
        return resp

    def config(self, **kw: object) -> OriginConfig:
        assert self.listener is not None
        return OriginConfig(host="127.0.0.1", port=self.listener.port, **kw)  # type: ignore[arg-type]


Scenario = Callable[[Router, list[Origin], aiohttp.ClientSession], Awaitable[None]]


def run(scenario: Scenario) -> None:
    """Run `scenario` with a router, three origins and a client session; everything is closed after."""

    async def main() -> None:
        origins = [await Origin(n).start() for n in ("a", "b", "c")]
        router = Router(seed=7)
        await router.start()
        session = aiohttp.ClientSession()
        try:
            await scenario(router, origins, session)
        finally:
            await session.close()
            await router.close()
            for o in origins:
                assert o.listener is not None
                await o.listener.close()

    asyncio.run(main())


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str | None]:
    async with session.get(url) as resp:
        data = await resp.json(content_type=None)
        return resp.status, data.get("origin") if resp.status == 200 else None


def test_pick_order_puts_lower_priority_first_and_follows_weights() -> None:
    a, b, c = (
        OriginConfig("h", 1, priority=2),
        OriginConfig("h", 2, weight=900),
        OriginConfig("h", 3, weight=100),
    )
    rng = random.Random(1)
    firsts = Counter(pick_order([("a", a), ("b", b), ("c", c)], rng)[0][0] for _ in range(2000))
    assert firsts["a"] == 0
    assert 0.85 < firsts["b"] / 2000 < 0.95
    assert all(pick_order([("a", a), ("b", b), ("c", c)], rng)[-1][0] == "a" for _ in range(50))


def test_requests_follow_the_route_and_the_priority() -> None:
    run(_requests_follow_the_route_and_the_priority)


async def _requests_follow_the_route_and_the_priority(
    router: Router, origins: list[Origin], session: aiohttp.ClientSession
) -> None:
    a, b, c = origins
    group1 = GroupConfig({"a": a.config(priority=1), "b": b.config(priority=2)}, "/health", 0.2)
    group2 = GroupConfig({"c": c.config()}, "/health", 0.2)
    router.set_config(RouterConfig("g1", {"g1": group1, "g2": group2}))
    for _ in range(5):
        assert await get(session, router.url + "/x?y=1") == (200, "a")
    async with session.post(router.url + "/echo", data=b"payload") as resp:
        assert (await resp.json())["body"] == "payload"
        assert resp.headers["X-Sandbox-Origin-Group"] == "g1"
    async with session.get(router.url + "/gzip", headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert (await resp.json())["origin"] == "a"
    router.set_config(RouterConfig("g2", {"g1": group1, "g2": group2}))
    assert await get(session, router.url + "/") == (200, "c")


def test_probes_move_traffic_and_503_when_no_origin_is_healthy() -> None:
    run(_probes_move_traffic_and_503_when_no_origin_is_healthy)


async def _probes_move_traffic_and_503_when_no_origin_is_healthy(
    router: Router, origins: list[Origin], session: aiohttp.ClientSession
) -> None:
    a, b, _ = origins
    group = GroupConfig({"a": a.config(priority=1), "b": b.config(priority=2)}, "/health", 0.1)
    router.set_config(RouterConfig("g", {"g": group}))
    await until_async(lambda: _serves(session, router.url, "a"), "a serves", **FAST)
    a.healthy = False
    await until_async(lambda: _serves(session, router.url, "b"), "b serves once a is unhealthy", **FAST)
    b.healthy = False
    await until_async(lambda: _status(session, router.url, 503), "503 with no origin healthy", **FAST)
    a.healthy = True
    await until_async(lambda: _serves(session, router.url, "a"), "a serves again once healthy", **FAST)
    statuses = Counter(r.status for r in router.records)
    assert statuses[503] >= 1 and statuses[200] >= 3
    assert {r.group for r in router.records} == {"g"}


def test_disabled_origins_get_no_traffic() -> None:
    run(_disabled_origins_get_no_traffic)


async def _disabled_origins_get_no_traffic(
    router: Router, origins: list[Origin], session: aiohttp.ClientSession
) -> None:
    a, b, _ = origins
    group = GroupConfig({"a": a.config(enabled=False), "b": b.config()}, "/health", 0.2)
    router.set_config(RouterConfig("g", {"g": group}))
    for _ in range(5):
        assert await get(session, router.url + "/") == (200, "b")
    assert a.hits == 0


async def _serves(session: aiohttp.ClientSession, url: str, name: str) -> bool:
    return await get(session, url + "/") == (200, name)


async def _status(session: aiohttp.ClientSession, url: str, status: int) -> bool:
    return (await get(session, url + "/"))[0] == status


def test_close_ends_the_probe_loop_even_when_a_config_lands_as_it_is_cancelled() -> None:
    """Python 3.11's wait_for returns instead of raising when the event it waits on was set just before
    the cancellation: the probe loop must end all the same (a hang here once stopped a CI run)."""

    async def main() -> None:
        router = Router(seed=7)
        await router.start()
        await asyncio.sleep(0.05)  # the loop has probed and waits on its wake event
        router.set_config(RouterConfig(route_group=None))
        await asyncio.sleep(0)  # the event's waiter has its result; wait_for has not resumed yet
        await asyncio.wait_for(router.close(), timeout=5)

    for _ in range(20):
        asyncio.run(main())
