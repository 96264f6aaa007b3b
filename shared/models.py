"""Small frozen value types that cross the trigger/orchestrator/activity boundaries as plain JSON.

Every type has ``to_dict()`` and ``from_dict()``; only those dicts travel through Durable history,
so a run started by one version of the code can be replayed by the next.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Generic, Self

from typing_extensions import TypeVar


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Only the keys the dataclass declares: extra keys from newer writers are ignored."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp (``Z`` or an offset) as an aware datetime; raises ValueError otherwise."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return parsed


def seconds_between(start: str, end: str) -> float | None:
    """Seconds from one ISO timestamp to another, or None when either is missing."""
    if not start or not end:
        return None
    return (parse_time(end) - parse_time(start)).total_seconds()


class _Json:
    """Mixin: dict round trip for flat dataclasses of JSON values."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload, no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class HealthSignal(_Json):
    """One normalised health event, whatever carried it (webhook, Event Grid, timer backstop).

    ``state`` is ``fired`` (something is down) or ``resolved`` (it came back).
    """

    source: str  # "monitor-webhook" | "eventgrid" | "resource-health" | "backstop" | "operator"
    state: str  # "fired" | "resolved"
    resource_ids: tuple[str, ...]
    observed_at: str  # ISO 8601, when the condition began (firedDateTime) or was resolved
    summary: str = ""
    severity: str = ""
    alert_id: str = ""
    practice: bool = False  # a synthetic alert (the calendar's alert verification): notify, never act

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        known = _known(cls, data)
        known["resource_ids"] = tuple(known.get("resource_ids", ()))
        return cls(**known)


@dataclass(frozen=True)
class ProbeSnapshot(_Json):
    """One health probe of a URL: what answered, how fast, and when (the probe activity's output)."""

    target: str
    healthy: bool
    status: int = 0
    latency_ms: float = 0.0
    at: str = ""
    detail: str = ""


@dataclass(frozen=True)
class ReplicaLag(_Json):
    """The standby replica's replication lag; ``seconds`` is None when it could not be measured."""

    seconds: float | None
    source: str = ""  # "metric" | "database" | "unavailable"
    at: str = ""

    @property
    def known(self) -> bool:
        return self.seconds is not None


T = TypeVar("T", covariant=True, default=object)


@dataclass(frozen=True)
class Decision(Generic[T]):
    """A decision: what to do (``action``), the sentence that explains why (``reason``), the DESIGN.md
    safety rule it enforces (``rule``, e.g. "rule 2", wherever one applies) and, for decisions that find
    something (which server is the primary), what they found (``value``).

    One of the two decision shapes of shared.policy; the other is :class:`Verdict`.
    """

    action: str
    reason: str
    rule: str = ""
    value: T | None = None

    def is_(self, action: str) -> bool:
        return self.action == action

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action, "reason": self.reason, "rule": self.rule}
        if self.value is not None:
            to_dict = getattr(self.value, "to_dict", None)
            data["value"] = to_dict() if callable(to_dict) else self.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        return Decision(str(data["action"]), str(data["reason"]), str(data.get("rule") or ""))


@dataclass(frozen=True)
class Verdict(_Json):
    """A judgement over evidence: passed or not, with every reason (the failures, or what passed).

    ``name`` names the check when a verdict is one of several (a backup-watch check); ``available`` is
    False when the estate cannot report the value at all (not the same as failing). The other decision
    shape of shared.policy; the first is :class:`Decision`.
    """

    passed: bool
    reasons: tuple[str, ...]
    name: str = ""
    available: bool = True

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        known = _known(cls, data)
        known["reasons"] = tuple(known.get("reasons", ()))
        return cls(**known)
