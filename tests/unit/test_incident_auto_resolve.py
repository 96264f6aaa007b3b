"""An incident resolves itself once every linked run has ended, the last of them well, and no run has
linked for INCIDENT_AUTO_RESOLVE_MINUTES: checked on its durable timer ticks, decided by the incident rules
(the decision and its reason in the report). A failed run leaves it to people; a link restarts the wait;
0 switches it off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from shared import names
from shared.config import SettingsError, load_settings
from shared.policy import incidents as rules
from shared.policy.incidents import LinkedRun
from tests.support.durable import T0, Event, FakeContext
from tests.support.incidents import RUN, context, minutes, resolve, run, sent
from tests.support.settings import FAILOVER_ENV

ROLLBACK = "rollback-qlp-20261129T122000-e5f6"


def ended(status: str, at: float, run_id: str = RUN, operation: str = "failover") -> dict[str, Any]:
    step = {
        "name": "verify",
        "started_at": T0.isoformat(),
        "ended_at": minutes(at).isoformat(),
        "outcome": "succeeded" if status == "succeeded" else "failed",
    }
    return {
        "run_id": run_id,
        "operation": operation,
        "status": status,
        "ended_at": minutes(at).isoformat(),
        "steps": [step],
        "measurements": {},
    }


def reports(ctx: FakeContext, answer: Callable[[str, int], dict[str, Any] | None]) -> None:
    """STORAGE_READ_REPORT answers ``answer(run_id, call number)`` (None: not found)."""
    calls = {"n": 0}

    def read(payload: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        found = answer(payload["run_id"], calls["n"])
        return {"run_id": payload["run_id"], "found": found is not None, "report": found or {}}

    ctx.activities[names.STORAGE_READ_REPORT] = read


def link(at: float) -> Event:
    joined = {
        "action": "link",
        "run_id": ROLLBACK,
        "operation": "rollback",
        "severity": "",
        "reason": "rollback",
    }
    return Event("incident", joined, at=minutes(at))


def decisions(ctx: FakeContext) -> list[dict[str, Any]]:
    return [d for d in ctx.last_report()["decisions"] if d["step"] == "auto-resolve"]


# ---- the orchestrator ------------------------------------------------------------------------------------
def test_resolves_itself_30_min_after_the_linked_run_succeeded() -> None:
    ctx = context([], run_report=ended("succeeded", 8), STATUS_UPDATE_MINUTES="600")
    out = run(ctx)
    assert out["status"] == "resolved" and minutes(30) in ctx.timers  # the quiet period since the link
    incident = ctx.last_report()["incident"]
    # the run ended 8 min in: quiet for 30 min from then, looked at again when that ends
    assert incident["resolved_by"] == "continuity" and incident["resolved_at"].startswith("2026-11-29T12:38")
    assert incident["resolution"] == (
        f"failover {RUN} succeeded, every linked run has ended and none linked for 30 min: "
        "resolved by continuity"
    )
    (decision,) = decisions(ctx)
    assert decision["action"] == "auto-resolve" and decision["value"] == RUN
    final = [p for p in sent(ctx) if p["audience"] == "status"]
    assert [p["message"]["event"] for p in final] == ["incident-resolved"]  # one last update, then the end
    assert ctx.payloads(names.INCIDENTS_WRITE_POSTMORTEM) and ctx.last_report()["status"] == "resolved"


def test_a_failed_run_keeps_it_open_for_people() -> None:
    ctx = context([resolve(100, note="rolled forward by hand")], run_report=ended("failed", 8))
    run(ctx)
    incident = ctx.last_report()["incident"]
    assert incident["resolved_by"] == "ops@example.com" and incident["resolution"] == "rolled forward by hand"
    (decision,) = decisions(ctx)  # checked at 30, 60 and 90 min; said once
    assert decision["action"] == "keep-open"
    assert decision["reason"] == f"failover {RUN} failed: the incident stays open for people to resolve"
    updates = [p["message"]["event"] for p in sent(ctx) if p["audience"] == "status"]
    assert updates == ["incident-status-update"] * 3 + ["incident-resolved"]


def test_a_link_during_the_quiet_period_restarts_the_wait() -> None:
    ctx = context([link(20)])
    reports(
        ctx,
        lambda rid, _: ended("succeeded", 25, rid, "rollback") if rid == ROLLBACK else ended("succeeded", 8),
    )
    run(ctx)
    assert minutes(50) in ctx.timers  # 30 min after the link, then 30 min after the rollback ended (25)
    incident = ctx.last_report()["incident"]
    assert incident["resolved_by"] == "continuity" and incident["resolved_at"].startswith("2026-11-29T12:55")
    assert incident["resolution"].startswith(f"rollback {ROLLBACK} succeeded, every linked run has ended")
    events = [p["message"]["event"] for p in sent(ctx) if p["audience"] == "status"]
    assert events == ["incident-status-update", "incident-resolved"]  # 30 min: still quiet since the link


def test_a_run_still_going_is_looked_at_every_5_min_and_the_quiet_period_counts_from_its_end() -> None:
    ctx = context([])
    reports(ctx, lambda _, n: ended("running", 0) | {"ended_at": ""} if n < 4 else ended("succeeded", 45))
    run(ctx)
    incident = ctx.last_report()["incident"]
    looks = {t.replace(second=0) for t in ctx.timers}  # each look comes 5 min after the last read
    assert {minutes(35), minutes(40), minutes(45)} <= looks  # while it ran
    assert incident["resolved_by"] == "continuity" and incident["resolved_at"].startswith("2026-11-29T13:15")
    assert [u["at"][:16] for u in incident["updates"]] == [
        "2026-11-29T12:30",
        "2026-11-29T13:00",
        "2026-11-29T13:15",
    ]


def test_off_with_zero() -> None:
    ctx = context(
        [resolve(100)],
        run_report=ended("succeeded", 8),
        INCIDENT_AUTO_RESOLVE_MINUTES="0",
        STATUS_UPDATE_MINUTES="600",
    )
    run(ctx)
    assert ctx.last_report()["incident"]["resolved_by"] == "ops@example.com" and decisions(ctx) == []
    assert ctx.timers == [minutes(15), minutes(30), minutes(60)]  # the escalation's, nothing else


# ---- the rule --------------------------------------------------------------------------------------------
def decide(*runs: LinkedRun, quiet: float = 60, minutes_: float = 30) -> rules.Decision:
    return rules.auto_resolution(runs, T0, T0 + timedelta(minutes=quiet), minutes_)


def test_the_rule_in_every_state() -> None:
    done = LinkedRun("failover-1", "failover", "succeeded", "2026-11-29T12:10:00+00:00")
    assert decide(done, quiet=10).reason == "quiet for 10 min of 30 min since the last run linked"
    assert decide(done, minutes_=0).action == "off"
    going = decide(done, LinkedRun("rollback-2", "rollback", "running"))
    assert going.action == "wait" and going.reason == "rollback-2 not ended yet: the incident stays open"
    assert decide(done, LinkedRun("rollback-2")).action == "wait"  # no report found: not known to have ended
    assert decide(done).action == "auto-resolve" and decide(done).value == "failover-1"
    rolled = LinkedRun("deploy-3", "deploy", "rolled-back", "2026-11-29T12:20:00+00:00")
    assert decide(done, rolled).value == "deploy-3"  # rolled back: production is on the previous release
    calm = LinkedRun("failover-4", "failover", "stood-down", "2026-11-29T12:20:00+00:00")
    assert decide(calm).action == "auto-resolve"  # the outage was not confirmed: nothing left for people
    cancelled = LinkedRun("failover-5", "failover", "cancelled", "2026-11-29T12:20:00+00:00")
    assert decide(cancelled).action == "keep-open"  # someone stopped it: people decide


def test_the_quiet_period_counts_from_the_last_end_when_a_run_ended_after_the_last_link() -> None:
    late = LinkedRun("failover-1", "failover", "succeeded", "2026-11-29T12:40:00+00:00")
    waiting = decide(late, quiet=50)
    assert (waiting.action, waiting.value) == ("wait", "2026-11-29T13:10:00+00:00")
    assert waiting.reason == "quiet for 10 min of 30 min since failover-1 ended"
    assert decide(late, quiet=70).reason.endswith("none linked for 30 min: resolved by continuity")
    going = decide(LinkedRun("rollback-2", "rollback", "running"), quiet=31)
    assert (going.action, going.value) == ("wait", "2026-11-29T12:36:00+00:00")  # looked at again in 5 min
    assert decide(late, quiet=10).value == "2026-11-29T12:30:00+00:00"  # the end of the quiet period


def test_the_last_run_to_end_decides_not_the_last_linked() -> None:
    failed_late = LinkedRun("deploy-1", "deploy", "failed", "2026-11-29T12:20:00+00:00")
    fixed_early = LinkedRun("rollback-2", "rollback", "succeeded", "2026-11-29T12:15:00+00:00")
    assert decide(failed_late, fixed_early).action == "keep-open"
    fixed_late = LinkedRun("rollback-2", "rollback", "succeeded", "2026-11-29T12:25:00+00:00")
    assert decide(failed_late, fixed_late).reason.startswith(
        "rollback rollback-2 succeeded, every linked run"
    )


def test_the_setting_defaults_to_30_and_refuses_a_negative() -> None:
    assert load_settings(FAILOVER_ENV).incident_auto_resolve_minutes == 30
    assert (
        load_settings(
            {**FAILOVER_ENV, "CONTINUITY_INCIDENT_AUTO_RESOLVE_MINUTES": "0"}
        ).incident_auto_resolve_minutes
        == 0
    )
    with pytest.raises(SettingsError) as caught:
        load_settings({**FAILOVER_ENV, "CONTINUITY_INCIDENT_AUTO_RESOLVE_MINUTES": "-5"})
    assert any("CONTINUITY_INCIDENT_AUTO_RESOLVE_MINUTES" in p for p in caught.value.problems)
