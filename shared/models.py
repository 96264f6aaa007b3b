"""Small frozen value types that cross the trigger/orchestrator/activity boundaries as plain JSON.

Every type has ``to_dict()`` and ``from_dict()``; only those dicts travel through Durable history,
so a run started by one version of the code can be replayed by the next.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Self


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


@dataclass(frozen=True)
class Decision(_Json):
    """A policy verdict: what to do (``action``) and the sentence that explains why (``reason``)."""

    action: str
    reason: str
    rule: str = ""  # the DESIGN.md safety rule behind a refusal, e.g. "rule 2"

    def is_(self, action: str) -> bool:
        return self.action == action


@dataclass(frozen=True)
class StepRecord(_Json):
    """One step of a run: when it started and ended, how it ended, and what it found or did."""

    name: str
    started_at: str
    ended_at: str = ""
    outcome: str = "running"  # "running" | "succeeded" | "failed" | "skipped"
    detail: str = ""

    def finished(self, ended_at: str, outcome: str, detail: str = "") -> StepRecord:
        return StepRecord(self.name, self.started_at, ended_at, outcome, detail or self.detail)


@dataclass(frozen=True)
class RunReport:
    """The evidence of one run, built up as it goes (see shared.reports for rendering and verdicts)."""

    run_id: str
    operation: str  # "failover" | "failback" | ...
    trigger: dict[str, Any]
    started_at: str
    status: str = "running"  # "running" | "succeeded" | "failed" | "refused" | "stood-down" | ...
    steps: tuple[StepRecord, ...] = ()
    decisions: tuple[dict[str, Any], ...] = ()  # Decision.to_dict() plus "step" and "at"
    measurements: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    ended_at: str = ""
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["steps"] = [s.to_dict() for s in self.steps]
        data["decisions"] = [dict(d) for d in self.decisions]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        known = _known(cls, data)
        known["steps"] = tuple(StepRecord.from_dict(s) for s in known.get("steps", ()))
        known["decisions"] = tuple(dict(d) for d in known.get("decisions", ()))
        return cls(**known)
