"""The deployment plans' checkpoint pattern on devhost with the real SDK's replay: an external event the
orchestration waited on once (then went on with other work) completes that task whenever it arrives, and
``is_completed`` reads the same on every replay."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.devhost.durable_app.harness import Harness


def test_an_event_raised_during_other_work_is_seen_at_the_next_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "steps.log"

    async def scenario() -> None:
        async with Harness(tmp_path / "state") as h:
            args = {"log": str(log), "steps": 8, "sleep": 0.3}
            instance_id = await h.client.start_new("checkpoints", client_input=args)

            async def two_steps_ran() -> bool:
                return log.exists() and len(log.read_text().split()) >= 2

            await h.wait_for(two_steps_ran, "two steps ran")
            await h.client.raise_event(instance_id, "preempt", {"run_id": "failover-1"})
            status = await h.wait(instance_id)
            out = status.output
            assert out["by"] == {"run_id": "failover-1"}
            stopped = out["stopped_after"]
            assert stopped is not None and 1 <= stopped < 7
            assert out["seen"] == [False] * stopped + [True]  # every replay read the same answers
            assert log.read_text().split() == [str(i) for i in range(stopped + 1)]  # no step ran twice

    asyncio.run(scenario())


def test_an_event_raised_before_the_first_wait_stops_at_the_first_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "steps.log"

    async def scenario() -> None:
        async with Harness(tmp_path / "state") as h:
            instance_id = await h.client.start_new(
                "checkpoints", client_input={"log": str(log), "steps": 3, "sleep": 0}
            )
            await h.client.raise_event(instance_id, "preempt", {"run_id": "rollback-1"})
            status = await h.wait(instance_id)
            assert status.output["by"] == {"run_id": "rollback-1"}
            assert status.output["stopped_after"] == 0

    asyncio.run(scenario())
