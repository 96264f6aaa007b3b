"""The app's lock orchestrator: it runs the plan under the run's own id and always releases."""

from __future__ import annotations

from typing import Any

from shared import names
from tests.support.durable import FakeContext, drive, fails, orchestrator

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
