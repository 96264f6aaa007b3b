"""How long one activity call may wait for an Azure operation it started or found (a server being created,
a job container running): ACTIVITY_WAIT_SECONDS, well inside host.json's functionTimeout (10 min, the most
the Consumption plan allows), so the host never kills an activity mid-wait. An operation still going
then is answered ``pending`` with its state, and the plan calls again after a durable timer
(orchestrators/toolkit/calls.py ``act_long``) until its own deadline; a later call finds the operation by
its resource and waits again, never starting it twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

ACTIVITY_WAIT_SECONDS = 240.0
POLL_SECONDS = 2.0


def budget(asked: float | None) -> float:
    """The seconds a call waits: what its caller asked, never more than ACTIVITY_WAIT_SECONDS."""
    return ACTIVITY_WAIT_SECONDS if asked is None else max(0.0, min(float(asked), ACTIVITY_WAIT_SECONDS))


def wait_until(
    read: Callable[[], dict[str, Any]],
    done: Callable[[dict[str, Any]], bool],
    seconds: float,
    *,
    first: dict[str, Any] | None = None,
) -> tuple[bool, dict[str, Any]]:
    """``read()`` until ``done`` holds or ``seconds`` have passed: (done, the last view). ``first``: a
    view just read, taken as the first reading."""
    deadline = time.monotonic() + seconds
    view = first
    while True:
        view = read() if view is None else view
        if done(view):
            return True, view
        if time.monotonic() >= deadline:
            return False, view
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        view = None


def pending(view: dict[str, Any], what: str, seconds: float) -> dict[str, Any]:
    """The answer of a call whose operation is still going after ``seconds``: call again."""
    state = view.get("state") or "running"
    return {**view, "pending": True, "message": f"{what}: still {state} after {seconds:.0f} s; call again"}
