"""Serve devhost's durable engine in-process for tests: engine + aiohttp server + the SDK's own client."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from azure.durable_functions import DurableOrchestrationClient
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.utils import http_utils

from devhost.durable import DurableEngine
from tests.devhost.durable_app.function_app import app
from tests.polling import until_async

_FUNCTIONS: list[Any] = []
FINISHED = ("Completed", "Failed", "Terminated")


def functions() -> list[Any]:
    """`app.get_functions()` may run only once per app object: cache it."""
    if not _FUNCTIONS:
        _FUNCTIONS.extend(app.get_functions())
    return _FUNCTIONS


class Harness:
    """`async with Harness(tmp_path) as h:` gives `h.engine`, `h.client`, `h.base_url` and `h.logs`."""

    def __init__(self, state_dir: Path, *, workers: int = 4, **options: Any) -> None:
        self.state_dir = state_dir
        self.workers = workers
        self.options = options
        self.logs: list[str] = []
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Harness:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.engine = DurableEngine(
            functions(),
            self.state_dir,
            base_url=self.base_url,
            hub_name="TestHub",
            workers=self.workers,
            log=self.logs.append,
            **self.options,
        )
        await self.engine.start()
        application = web.Application()
        application.add_routes(self.engine.routes())
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self.client = DurableOrchestrationClient(self.engine.client_binding())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await http_utils._close_session()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.engine.stop()

    async def wait(
        self, instance_id: str, statuses: tuple[str, ...] = FINISHED, timeout: float = 20.0, **options: bool
    ) -> DurableOrchestrationStatus:
        """Poll the status (through the SDK client) until it is one of `statuses`."""
        seen: list[Any] = [None]

        async def reached() -> DurableOrchestrationStatus | None:
            status = seen[0] = await self.client.get_status(instance_id, **options)
            done = status and status.runtime_status is not None and status.runtime_status.value in statuses
            return status if done else None

        def what() -> str:
            return f"{instance_id} is one of {statuses} (still {getattr(seen[0], 'runtime_status', None)})"

        return await until_async(reached, what, timeout, interval=0.02)

    async def wait_for(
        self, predicate: Callable[[], Awaitable[bool]], what: str, timeout: float = 20.0
    ) -> None:
        """Poll the async ``predicate`` until it holds; fail naming ``what``."""
        await until_async(predicate, what, timeout, interval=0.02)
