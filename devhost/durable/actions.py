"""The SDK's action payload, read as the Durable extension reads it: flattened in scheduling order.

Replay schema v2/v3 returns one list of actions whose WhenAll/WhenAny entries nest their children
(`compoundActions`); v1 returns a list of lists. Either way the atomic actions, in order, are the order
in which the SDK assigned sequence numbers, which is what history events refer to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

CALL_ACTIVITY = 0
CALL_ACTIVITY_WITH_RETRY = 1
CALL_SUB_ORCHESTRATOR = 2
CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
CONTINUE_AS_NEW = 4
CREATE_TIMER = 5
WAIT_FOR_EXTERNAL_EVENT = 6
CALL_ENTITY = 7
CALL_HTTP = 8
SIGNAL_ENTITY = 9
WHEN_ANY = 11
WHEN_ALL = 12

UNSUPPORTED = {
    CALL_ENTITY: "durable entities (call_entity)",
    SIGNAL_ENTITY: "durable entities (signal_entity)",
    CALL_HTTP: "durable HTTP (call_http)",
}


def flatten(actions: Any) -> list[dict[str, Any]]:
    """All atomic actions of a payload, depth first, in the order the SDK scheduled them."""
    out: list[dict[str, Any]] = []
    _walk(actions or [], out)
    return out


def _walk(node: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, out)
    elif isinstance(node, dict):
        if node.get("actionType") in (WHEN_ANY, WHEN_ALL):
            _walk(node.get("compoundActions", []), out)
        else:
            out.append(node)


@dataclass(frozen=True)
class RetryPolicy:
    """The extension's RetryOptions: first interval, backoff, max interval, attempts, retry timeout."""

    first_ms: float
    max_attempts: int
    backoff: float = 1.0
    max_interval_ms: float | None = None
    timeout_ms: float | None = None

    @classmethod
    def from_json(cls, opts: dict[str, Any]) -> RetryPolicy:
        return cls(
            first_ms=float(opts.get("firstRetryIntervalInMilliseconds", 1000)),
            max_attempts=int(opts.get("maxNumberOfAttempts", 1)),
            backoff=float(opts.get("backoffCoefficient", 1.0) or 1.0),
            max_interval_ms=_optional_ms(opts.get("maxRetryIntervalInMilliseconds")),
            timeout_ms=_optional_ms(opts.get("retryTimeoutInMilliseconds")),
        )

    def next_delay(self, failed_attempts: int, first_attempt: datetime, now: datetime) -> timedelta | None:
        """Delay before the next attempt after `failed_attempts` failures; None once the timeout passed."""
        if self.timeout_ms is not None and now >= first_attempt + timedelta(milliseconds=self.timeout_ms):
            return None
        delay = self.first_ms * self.backoff ** (failed_attempts - 1)
        if self.max_interval_ms is not None:
            delay = min(delay, self.max_interval_ms)
        return timedelta(milliseconds=delay)


def _optional_ms(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)
