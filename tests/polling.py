"""Waiting in tests: poll a condition until it holds or a deadline passes (never sleep and hope)."""

from __future__ import annotations

import time
from collections.abc import Callable


def until(check: Callable[[], bool], what: str, timeout: float = 30.0, interval: float = 0.1) -> None:
    """Return once ``check()`` is true; fail the test naming ``what`` if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(interval)
