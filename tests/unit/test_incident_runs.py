"""Runs and their incidents (the toolkit's one place, Run.join_incident): a failover opens or joins one as
it starts and every notification of it then carries the incident id and severity; a failed deploy opens
one as it ends; a dry run and a success open nothing; a failing intake never fails the run. And the
post-mortem draft from an incident and its runs' reports."""

from __future__ import annotations

from typing import Any

from orchestrators.toolkit import End, Gen, Run, StepFailed
from shared import names, postmortem
from tests.support.durable import FakeContext, drive, fails
from tests.support.settings import failover_settings

IID = "incident-qlp-20261129T120000-a1b2"


def opened(payload: dict[str, Any]) -> dict[str, Any]:
    return {"incident_id": IID, "severity": payload.get("severity") or "P0", "opened": True}


def execute(operation: str, plan: Any, activities: dict[str, Any] | None = None, **extra: Any) -> FakeContext:
    payload = {
        "run_id": f"{operation}-qlp-1",
        "settings": failover_settings(),
        "trigger": {"kind": "alert"},
        **extra,
    }
    ctx = FakeContext(payload, {names.INCIDENTS_OPEN: opened, **(activities or {})})
    drive(lambda c: Run(c, operation).execute(plan), ctx)
    return ctx


def succeeds(run: Run) -> Gen:
    yield from run.pause(1)
    return End("succeeded", "done")


def test_a_failover_opens_an_incident_and_its_notifications_carry_it() -> None:
    ctx = execute("failover", succeeds)
    (asked,) = ctx.payloads(names.INCIDENTS_OPEN)
    assert (
        asked["severity"] == "P0" and asked["reason"] == "failover started: a regional outage of tier 1 is P0"
    )
    assert len(ctx.notifications) == 2  # started, completed
    for message in ctx.notifications:
        assert message["fields"]["incident"] == IID and message["fields"]["severity"] == "P0"
    assert ctx.last_report()["incident"] == {"incident": IID, "severity": "P0"}


def test_a_dry_run_opens_nothing() -> None:
    ctx = execute("failover", succeeds, dry_run=True)
    assert ctx.payloads(names.INCIDENTS_OPEN) == []


def test_a_failed_deploy_opens_one_as_it_ends() -> None:
    def breaks(run: Run) -> Gen:
        yield from run.pause(1)
        raise StepFailed("create-idle-slot", "image not found")

    ctx = execute("deploy", breaks)
    (asked,) = ctx.payloads(names.INCIDENTS_OPEN)
    assert asked["severity"] == "P2" and asked["reason"].startswith(
        "deploy failed: a failed deploy that never"
    )
    final = ctx.notifications[-1]
    assert final["event"] == "step-failed" and final["fields"]["incident"] == IID
    assert "incident" not in ctx.notifications[0]["fields"]  # the start was before the incident


def test_a_successful_deploy_asks_nothing() -> None:
    assert execute("deploy", succeeds).payloads(names.INCIDENTS_OPEN) == []


def test_an_intake_that_fails_never_fails_the_run() -> None:
    ctx = execute("failover", succeeds, {names.INCIDENTS_OPEN: fails("permanent: no client")})
    report = ctx.last_report()
    assert report["status"] == "succeeded" and report["warnings"] == []
    assert "no client" in report["incident"]["error"]
    assert "incident" not in ctx.notifications[-1]["fields"]


def incident() -> dict[str, Any]:
    return {
        "id": IID,
        "app": "qlp",
        "severity": "P0",
        "severity_reasons": ["failover started: a regional outage of tier 1 is P0"],
        "status": "resolved",
        "opened_at": "2026-11-29T12:00:00+00:00",
        "opened_by": {"run_id": "failover-qlp-1", "operation": "failover"},
        "acknowledged_at": "2026-11-29T12:04:00+00:00",
        "acknowledged_by": "ops@example.com",
        "acknowledged_through": "api",
        "resolved_at": "2026-11-29T12:30:00+00:00",
        "resolved_by": "ops@example.com",
        "resolution": "serving from ukwest",
        "escalations": [{"level": "on-call", "at": "2026-11-29T12:00:00+00:00", "reason": "notify on-call"}],
        "runs": [
            {"run_id": "failover-qlp-1", "operation": "failover", "linked_at": "2026-11-29T12:00:00+00:00"}
        ],
        "updates": [],
        "response": {"verdict": True, "reason": "P0 response SLA met: acknowledged after 4 min"},
        "postmortem": {"due_at": "2026-12-01T12:30:00+00:00"},
    }


def failover_report() -> dict[str, Any]:
    return {
        "run_id": "failover-qlp-1",
        "operation": "failover",
        "status": "succeeded",
        "ended_at": "2026-11-29T12:09:00+00:00",
        "steps": [
            {
                "name": "confirm",
                "started_at": "2026-11-29T12:00:00+00:00",
                "ended_at": "2026-11-29T12:01:00+00:00",
                "outcome": "succeeded",
            },
            {
                "name": "promote",
                "started_at": "2026-11-29T12:01:00+00:00",
                "ended_at": "2026-11-29T12:07:30+00:00",
                "outcome": "succeeded",
            },
        ],
        "waits": [
            {
                "what": "approval",
                "started_at": "2026-11-29T12:01:00+00:00",
                "ended_at": "2026-11-29T12:03:00+00:00",
            }
        ],
        "decisions": [
            {
                "step": "lag-gate",
                "action": "proceed",
                "reason": "lag 2 s within the RPO",
                "rule": "rule 3",
                "at": "2026-11-29T12:01:00+00:00",
            }
        ],
        "measurements": {
            "rto_seconds": 512.0,
            "rto_objective_seconds": 1800,
            "rpo_seconds": 2.0,
            "rpo_objective_seconds": 900,
        },
        "warnings": ["fence failed: stop it by hand"],
        "notifications": [],
    }


def test_the_postmortem_draft_holds_the_runs_figures() -> None:
    text = postmortem.render(incident(), [failover_report()])
    assert text.startswith(f"# Post-mortem (draft): P0 incident {IID}")
    assert "acknowledged: 2026-11-29 12:04:00 UTC by ops@example.com through api (after 4 min" in text
    assert "failover-qlp-1: RTO 8 min 32 s (objective 30 min: met), RPO 2 s (objective 15 min: met)" in text
    assert "- failover-qlp-1 lag-gate: **proceed** [rule 3]: lag 2 s within the RPO" in text
    assert "- failover-qlp-1 waited for approval: 2 min" in text
    assert text.index("6 min 30 s: failover-qlp-1 promote") < text.index("1 min: failover-qlp-1 confirm")
    assert "fence failed: stop it by hand: what follow-up does it need?" in text
    assert "per-tier RTO: not measured by this run" in text
    assert "| 2026-11-29 12:07:30 UTC | failover-qlp-1 | step promote succeeded |" in text
