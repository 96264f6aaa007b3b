"""Concurrent requests that need the same read share one call: ``await shared(key, make)`` runs
``make()`` once for every caller that asks for ``key`` while it is in flight, and gives each the result
(or the error). Nothing is cached after the call ends; callers that arrive later start a new one.

An alert storm asks the same questions hundreds of times at once (is a failover running? which servers
are the primary and its replica? has this alert been recorded?): each is answered by one call, not one
per request, so a worker's answer time stays that of one call under any number of duplicates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
_inflight: dict[Hashable, asyncio.Future[Any]] = {}


async def shared(key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
    """The result of the one in-flight ``make()`` for ``key`` (started now when none is)."""
    future = _inflight.get(key)
    if future is None or future.get_loop() is not asyncio.get_running_loop():
        future = asyncio.ensure_future(make())
        _inflight[key] = future
        future.add_done_callback(lambda done: _forget(key, done))
    result: T = await asyncio.shield(future)
    return result


def _forget(key: Hashable, done: asyncio.Future[Any]) -> None:
    """The call ended: later callers start a new one (its error, if any, is its callers')."""
    if _inflight.get(key) is done:
        del _inflight[key]
    if not done.cancelled():
        done.exception()  # retrieved: callers that gave up waiting leave no "never retrieved" noise
