"""Waiting in tests: poll a condition until it holds or a deadline passes (never sleep and hope).

``until(check, what)`` returns the first truthy value ``check()`` gives, so a wait for a value (a run's
view, a log line, a backup) is the same one line as a wait for a condition. ``until_async`` is its
twin for asyncio tests: ``check`` may be a plain function or return an awaitable. On timeout both fail
with an AssertionError naming ``what`` (a string, or a function called then, so the message can carry
the last state seen). ``check`` may itself raise to fail early (a run that ended in the wrong state).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
What = str | Callable[[], str]


def until(check: Callable[[], T], what: What, timeout: float = 30.0, interval: float = 0.1) -> T:
    """The first truthy ``check()``; fail the test naming ``what`` if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(what, timeout))
        time.sleep(interval)


async def until_async(
    check: Callable[[], Awaitable[T] | T], what: What, timeout: float = 30.0, interval: float = 0.1
) -> T:
    """``until`` for asyncio tests: sleeps with ``asyncio.sleep``; ``check`` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(what, timeout))
        await asyncio.sleep(interval)


def _timed_out(what: What, timeout: float) -> str:
    return f"timed out after {timeout:g}s waiting until {what() if callable(what) else what}"
