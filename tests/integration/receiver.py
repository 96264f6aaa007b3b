"""A local HTTP receiver for tests: an aiohttp server on 127.0.0.1:<free port> in its own thread.

It records every POST body and answers Event Grid subscription validation handshakes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"


class Receiver:
    def __init__(self) -> None:
        self.url = ""
        self.received: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def bodies(self, path: str) -> list[Any]:
        with self._lock:
            return [body for p, body in self.received if p == path]

    def wait_for(self, predicate: Callable[[list[tuple[str, Any]]], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(list(self.received)):
                    return
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout}s; received {self.received!r}")

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"null")
        events = body if isinstance(body, list) else [body]
        first = events[0] if events and isinstance(events[0], dict) else {}
        if first.get("eventType") == VALIDATION_EVENT:
            return web.json_response({"validationResponse": first["data"]["validationCode"]})
        with self._lock:
            self.received.append((request.path, body))
        return web.Response(status=200, text="ok")


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    rec = Receiver()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", rec.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        runner_box.append(runner)

    try:
        asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
        yield rec
    finally:
        if runner_box:
            asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
