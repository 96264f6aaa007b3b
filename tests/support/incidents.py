"""The incident plan's unit-test harness: one incident (IID, opened by the failover RUN at T0) in the fake
Durable runtime, its notifications recorded (``sent``), the linked run's report faked, events at minutes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import names
from tests.support.durable import T0, Event, FakeContext, drive, orchestrator
from tests.support.settings import failover_settings

IID = "incident-qlp-20261129T120000-a1b2"
RUN = "failover-qlp-20261129T115900-c3d4"


def minutes(n: float) -> Any:
    return T0 + timedelta(minutes=n)


def ack(at: float, by: str = "ops@example.com", through: str = "api") -> Event:
    return Event("incident", {"action": "acknowledge", "by": by, "through": through}, at=minutes(at))


def resolve(at: float, note: str = "traffic healthy in ukwest") -> Event:
    return Event("incident", {"action": "resolve", "by": "ops@example.com", "note": note}, at=minutes(at))


def report(status: str = "running", rto: float | None = None) -> dict[str, Any]:
    steps = [
        {
            "name": "confirm-outage",
            "started_at": T0.isoformat(),
            "ended_at": minutes(1).isoformat(),
            "outcome": "succeeded",
        },
        {"name": "promote", "started_at": minutes(1).isoformat(), "ended_at": "", "outcome": "running"},
    ]
    measurements = {"rto_seconds": rto, "rto_objective_seconds": 1800.0} if rto is not None else {}
    return {
        "run_id": RUN,
        "operation": "failover",
        "status": status,
        "steps": steps,
        "measurements": measurements,
    }


def context(
    events: list[Event],
    *,
    severity: str = "P0",
    run_report: dict[str, Any] | None = None,
    settle: bool = False,
    **settings: str,
) -> FakeContext:
    """``settle``: opened through ``join`` (it waits for its opener's ``kept`` before the first page)."""
    payload = {
        "settle": settle,
        "run_id": IID,
        "settings": failover_settings(**settings),
        "incident": {
            "severity": severity,
            "reason": "failover started: a regional outage of tier 1 is P0",
            "run": {"run_id": RUN, "operation": "failover", "reason": "alert"},
        },
    }
    sent: list[dict[str, Any]] = []
    activities = {
        names.INCIDENTS_NOTIFY: lambda p: sent.append(p) or {"sent": ["webhook"], "failed": []},
        names.STORAGE_READ_REPORT: lambda p: {
            "run_id": p["run_id"],
            "found": True,
            "report": run_report or report(),
        },
        names.INCIDENTS_WRITE_POSTMORTEM: lambda p: {
            "blob": f"runs/{IID}/postmortem.md",
            "url": "memory://pm",
        },
    }
    ctx = FakeContext(payload, activities, events=events, instance_id=IID)
    ctx.sent = sent  # type: ignore[attr-defined]
    return ctx


def sent(ctx: FakeContext) -> list[dict[str, Any]]:
    return ctx.sent  # type: ignore[attr-defined,no-any-return]


def run(ctx: FakeContext) -> dict[str, Any]:
    return drive(orchestrator(names.INCIDENT_ORCHESTRATOR), ctx)  # type: ignore[no-any-return]
