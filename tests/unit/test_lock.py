"""The app's lock orchestrator: it runs the plan under the run's own id and always releases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import names
from tests.support.durable import T0, Event, FakeContext, drive, fails, orchestrator

HELD = {
    "run_id": "failover-qlp-20261129T120000-abcd",
    "operation": "failover",
    "orchestrator": names.FAILOVER_ORCHESTRATOR,
}


def test_the_lock_runs_the_plan_as_a_sub_orchestration_under_the_run_id() -> None:
    def plan(call: dict[str, Any]) -> dict[str, Any]:
        return {"run_id": call["instance_id"], "status": "succeeded"}

    ctx = FakeContext(
        {**HELD, "input": {"mode": "auto"}}, {names.FAILOVER_ORCHESTRATOR: plan}, instance_id="lock-qlp"
    )
    out = drive(orchestrator(names.LOCK_ORCHESTRATOR), ctx)
    assert ctx.payloads(names.FAILOVER_ORCHESTRATOR) == [
        {"input": {"mode": "auto"}, "instance_id": HELD["run_id"]}
    ]
    assert out == {
        "run_id": HELD["run_id"],
        "operation": "failover",
        "output": {"run_id": HELD["run_id"], "status": "succeeded"},
    }
    assert ctx.statuses[0] == {"run_id": HELD["run_id"], "operation": "failover"}


def test_a_run_that_crashed_still_releases_the_lock_with_the_reason() -> None:
    ctx = FakeContext(
        {**HELD, "input": {}}, {names.FAILOVER_ORCHESTRATOR: fails("boom")}, instance_id="lock-qlp"
    )
    out = drive(orchestrator(names.LOCK_ORCHESTRATOR), ctx)
    assert out["output"]["status"] == "failed" and "boom" in out["output"]["summary"]


def test_a_preempting_run_holds_the_lock_next_without_releasing_it() -> None:
    deploy = {"run_id": "deploy-qlp-1", "operation": "deploy", "orchestrator": names.BLUE_GREEN_ORCHESTRATOR}
    failover = {**HELD, "input": {"mode": "auto", "run_id": HELD["run_id"]}, "reason": "region outage"}

    def plan(call: dict[str, Any]) -> dict[str, Any]:
        return {
            "run_id": call["instance_id"],
            "status": "preempted" if "deploy" in call["instance_id"] else "succeeded",
        }

    ctx = FakeContext(
        {**deploy, "input": {"image": "1.1.0"}},
        {names.BLUE_GREEN_ORCHESTRATOR: plan, names.FAILOVER_ORCHESTRATOR: plan},
        events=[Event("preempt", failover)],
        instance_id="lock-qlp",
    )
    out = drive(orchestrator(names.LOCK_ORCHESTRATOR), ctx)
    assert ctx.names() == [names.BLUE_GREEN_ORCHESTRATOR, names.FAILOVER_ORCHESTRATOR]
    assert ctx.payloads(names.FAILOVER_ORCHESTRATOR)[0]["instance_id"] == HELD["run_id"]
    assert out["output"]["status"] == "preempted"
    assert [(t["run_id"], t["output"]["status"]) for t in out["then"]] == [(HELD["run_id"], "succeeded")]
    holders = [s for s in ctx.statuses if isinstance(s, dict)]
    assert holders == [
        {"run_id": "deploy-qlp-1", "operation": "deploy"},
        {
            "run_id": "deploy-qlp-1",
            "operation": "deploy",
            "next": {"run_id": HELD["run_id"], "operation": "failover"},
        },
        {"run_id": HELD["run_id"], "operation": "failover"},
    ]


def test_a_preemption_that_arrives_after_the_run_ended_is_not_run_by_this_lock() -> None:
    late = Event("preempt", {**HELD, "input": {}}, at=T0 + timedelta(hours=1))
    ctx = FakeContext(
        {**HELD, "input": {}},
        {names.FAILOVER_ORCHESTRATOR: lambda c: {"status": "succeeded"}},
        events=[late],
        instance_id="lock-qlp",
    )
    out = drive(orchestrator(names.LOCK_ORCHESTRATOR), ctx)
    assert "then" not in out and ctx.names() == [names.FAILOVER_ORCHESTRATOR]
