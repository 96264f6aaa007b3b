"""Activity calls for a plan: one retry policy, parallel calls, estate observations, polls and timers.

``Calls`` is the base of ``Run``: everything a plan does through the Durable context that is not record
keeping. Transient failures (shared.errors) are retried after a durable timer; others are raised at once.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from orchestrators.toolkit.record import iso
from shared.config import Settings
from shared.errors import is_transient
from shared.reports import readable_error

Gen = Generator[Any, Any, Any]
Json = dict[str, Any]
Read = tuple[str, Json]  # (activity name, input)
T = TypeVar("T")
OBSERVE_ATTEMPTS = 2
LOOK_AGAIN_SECONDS = 30.0  # between two calls of an activity that answered ``pending``
POWER_DEADLINE_SECONDS = 1800.0  # a server's start or stop (minutes on Azure) must be done within this


def error_text(exc: BaseException) -> str:
    """A failure as a person reads it: our own message (``transient: ...``), without the host's wrapping
    (shared.reports.readable_error)."""
    return readable_error(str(exc))


@dataclass(frozen=True)
class RetryPolicy:
    """Transient activity failures are retried after a durable timer: ``first`` seconds, doubling, at most
    ``cap``; ``attempts`` calls in all. Other failures are never retried."""

    attempts: int
    first: float
    cap: float

    @classmethod
    def of(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.activity_retry_attempts,
            settings.activity_retry_first_seconds,
            settings.activity_retry_max_seconds,
        )

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed call number ``attempt`` (1-based)."""
        return float(min(self.cap, self.first * 2 ** (attempt - 1)))


class Calls:
    """The Durable context as a plan uses it: activities under the retry policy, timers, the clock."""

    def __init__(self, context: Any, retry: RetryPolicy) -> None:
        self.context, self.retry = context, retry

    def now(self) -> datetime:
        return self.context.current_utc_datetime  # type: ignore[no-any-return]

    def iso(self) -> str:
        return iso(self.now())

    # ---- activities ------------------------------------------------------------------------------------
    def act(self, name: str, payload: Json, *, attempts: int | None = None) -> Gen:
        """One activity under the retry policy; returns its result (a dict), raises its last failure."""
        tries = attempts or self.retry.attempts
        for attempt in range(1, tries + 1):
            try:
                result = yield self.context.call_activity(name, dict(payload))
                return dict(result or {})
            except Exception as exc:
                if attempt == tries or not is_transient(str(exc)):
                    raise
                yield from self.pause(self.retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def act_long(self, name: str, payload: Json, *, deadline_seconds: float) -> Gen:
        """An activity that starts (or finds) a long Azure operation and waits for it only a bounded while
        (shared.waits: well inside the host's functionTimeout): while it answers ``pending`` it is
        called again after a durable timer, until it answers done; after ``deadline_seconds`` the call
        fails, naming the state it was last in."""
        deadline = self.now() + timedelta(seconds=deadline_seconds)
        while True:
            result = yield from self.act(name, payload)
            if not result.get("pending"):
                return result
            if self.now() >= deadline:
                state = result.get("state") or "running"
                raise TimeoutError(f"{name}: still {state} after {deadline_seconds:.0f} s")
            yield from self.pause(LOOK_AGAIN_SECONDS)

    def observe(self, name: str, payload: Json) -> Gen:
        """An observation that may fail (the region is down): ``{"error": ...}`` instead of raising."""
        try:
            return (yield from self.act(name, payload, attempts=OBSERVE_ATTEMPTS))
        except Exception as exc:
            return {"error": error_text(exc)[:300]}

    def gather(self, calls: Sequence[Read], *, safely: bool = False) -> Gen:
        """Activities in parallel, results in order. When one fails, each again on its own under the retry
        policy (activities are idempotent); with ``safely`` a failure is ``{"error"}``, else it raises."""
        try:
            results = yield self.context.task_all([self.context.call_activity(n, dict(p)) for n, p in calls])
            return [dict(r or {}) for r in results]
        except Exception:
            pass
        again = self.observe if safely else self.act
        out = []
        for name, payload in calls:
            out.append((yield from again(name, payload)))
        return out

    def drive(self, observation: Generator[list[Read], list[Json], T]) -> Gen:
        """Run an estate observation (shared.estate): each batch of reads as parallel activities."""
        try:
            batch = next(observation)
            while True:
                batch = observation.send((yield from self.gather(batch, safely=True)))
        except StopIteration as done:
            return done.value

    def poll(
        self, read: Callable[[], Gen], done: Callable[[Any], bool], *, attempts: int, interval: float
    ) -> Gen:
        """Call ``read`` until ``done(result)`` (a durable timer between calls), at most ``attempts`` times.
        Returns ``(done, last result, calls made)``."""
        result: Any = None
        for attempt in range(1, attempts + 1):
            result = yield from read()
            if done(result):
                return True, result, attempt
            if attempt < attempts:
                yield from self.pause(interval)
        return False, result, attempts

    def pause(self, seconds: float) -> Gen:
        """A durable timer of ``seconds``."""
        if seconds > 0:
            yield self.context.create_timer(self.now() + timedelta(seconds=seconds))
