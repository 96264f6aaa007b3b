"""devhost durable engine: chaining, fan-out/fan-in, failures and retries, through the SDK's own client."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from devhost.durable.history import EventType, parse_iso
from tests.devhost.durable_app import function_app
from tests.devhost.durable_app.harness import Harness


def test_chain_runs_each_activity_in_order_and_completes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("chain", client_input={"start": 5, "steps": 3})
            status = await h.wait(instance_id)
            assert status.runtime_status.value == "Completed"
            assert status.output == 16
            assert status.input_ == {"start": 5, "steps": 3}
            assert any(line.startswith("[devhost] add_one id=") and "Succeeded" in line for line in h.logs)

    asyncio.run(scenario())


def test_fan_out_fan_in_gathers_every_result(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("fan_out", client_input=20)
            status = await h.wait(instance_id)
            assert (status.runtime_status.value, status.output) == (
                "Completed",
                sum(i * i for i in range(20)),
            )

    asyncio.run(scenario())


def test_activity_exception_caught_inside_the_orchestrator(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("catching", client_input="boom")
            status = await h.wait(instance_id)
            assert status.runtime_status.value == "Completed"
            assert status.output.startswith("caught: Activity function 'fail' failed: ValueError: boom")

    asyncio.run(scenario())


def test_unhandled_activity_exception_fails_the_orchestration_with_its_message(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("unhandled", client_input="disk on fire")
            status = await h.wait(instance_id)
            assert status.runtime_status.value == "Failed"
            assert status.output.startswith("Orchestrator function 'unhandled' failed: ")
            assert "ValueError: disk on fire" in status.output
            assert any(line.startswith("[devhost] fail id=") and " Failed " in line for line in h.logs)

    asyncio.run(scenario())


def _retry_delays_ms(h: Harness, instance_id: str) -> list[int]:
    """Delay of each retry timer from the episode that created it (read from the persisted history)."""
    delays, started = [], None
    for raw in h.engine.runtime.store.history(instance_id):
        evt = json.loads(raw)
        if evt["EventType"] == EventType.ORCHESTRATOR_STARTED:
            started = parse_iso(evt["Timestamp"])
        elif evt["EventType"] == EventType.TIMER_CREATED and started is not None:
            delays.append(round((parse_iso(evt["FireAt"]) - started).total_seconds() * 1000))
    return delays


def test_retry_with_backoff_succeeds_on_the_third_attempt(tmp_path: Path) -> None:
    key = uuid.uuid4().hex
    args = {"key": key, "failures": 2, "first_ms": 40, "attempts": 4, "backoff": 2.0, "max_ms": 60}

    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("retrying", client_input=args)
            status = await h.wait(instance_id)
            assert (status.runtime_status.value, status.output) == ("Completed", "ok after 3")
            assert function_app.ATTEMPTS[key] == 3
            assert _retry_delays_ms(h, instance_id) == [40, 60]  # 40, then 80 capped at 60

    asyncio.run(scenario())


def test_retry_exhausts_its_attempts_then_fails(tmp_path: Path) -> None:
    key = uuid.uuid4().hex
    args = {"key": key, "failures": 10, "first_ms": 20, "attempts": 3, "backoff": 1.5}

    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("retrying", client_input=args)
            status = await h.wait(instance_id)
            assert status.runtime_status.value == "Failed"
            assert f"transient: attempt 3 of {key} failed" in status.output
            assert function_app.ATTEMPTS[key] == 3
            assert _retry_delays_ms(h, instance_id) == [20, 30, 45]

    asyncio.run(scenario())


def test_sub_orchestrations_complete_and_a_failed_one_is_retried(tmp_path: Path) -> None:
    key = uuid.uuid4().hex

    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("parent", client_input=key)
            status = await h.wait(instance_id)
            assert status.runtime_status.value == "Completed", status.output
            assert status.output == {"chains": [4, 22], "retried": "ok after 2"}
            child = await h.client.get_status(f"{instance_id}-second")
            assert (child.runtime_status.value, child.output) == ("Completed", 22)
            failed_children = await h.client.get_status_by(instance_id_prefix=f"{instance_id}:")
            assert sorted(c.runtime_status.value for c in failed_children) == [
                "Completed",
                "Completed",
                "Failed",
            ]

    asyncio.run(scenario())


def test_continue_as_new_loops_until_done(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            start = {"round": 1, "rounds": 4, "total": 0}
            instance_id = await h.client.start_new("counter", client_input=start)
            status = await h.wait(instance_id)
            assert (status.runtime_status.value, status.output) == ("Completed", {"rounds": 4, "total": 4})
            assert status.input_ == {"round": 4, "rounds": 4, "total": 3}

    asyncio.run(scenario())


def test_current_time_and_new_uuid_are_identical_across_replays(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("deterministic")
            status = await h.wait(instance_id)
            first, second = function_app.RECORDED[instance_id]
            assert first == second == status.output
            assert status.output["uuid"] and status.output["now"]

    asyncio.run(scenario())


def test_is_replaying_is_true_for_replayed_steps_and_false_for_new_ones(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("replay_probe")
            status = await h.wait(instance_id)
            assert status.output == [True, True, False]

    asyncio.run(scenario())


def test_engine_restart_resumes_from_the_persisted_store(tmp_path: Path) -> None:
    log = tmp_path / "steps.log"

    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            args = {"log": str(log), "steps": 4, "sleep": 0.05}
            instance_id = await h.client.start_new("slow_chain", client_input=args)

            async def two_steps_done() -> bool:
                history = h.engine.runtime.store.history(instance_id)
                return sum(json.loads(e)["EventType"] == EventType.TASK_COMPLETED for e in history) >= 2

            await h.wait_for(two_steps_done, "two steps have completed")
        async with Harness(tmp_path) as h:
            status = await h.wait(instance_id)
            assert (status.runtime_status.value, status.output) == ("Completed", [0, 1, 2, 3])
        runs = log.read_text().split()
        assert sorted(set(runs)) == ["0", "1", "2", "3"]
        assert runs.count("0") == runs.count("1") == 1

    asyncio.run(scenario())


def test_retry_timeout_stops_further_attempts(tmp_path: Path) -> None:
    key = uuid.uuid4().hex
    args = {"key": key, "failures": 10, "first_ms": 10, "attempts": 4, "timeout_ms": 20, "sleep": 0.05}

    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("retrying", client_input=args)
            status = await h.wait(instance_id)
            assert status.runtime_status.value == "Failed"
            assert f"transient: attempt 1 of {key} failed" in status.output
            assert function_app.ATTEMPTS[key] == 1

    asyncio.run(scenario())


def test_retried_tasks_fanned_out_with_plain_ones_keep_their_ids_apart(tmp_path: Path) -> None:
    key = uuid.uuid4().hex

    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("fan_retry", client_input=key)
            status = await h.wait(instance_id)
            assert status.runtime_status.value == "Completed", status.output
            expected = [f"ok after {i % 3 + 1}" for i in range(6)] + [1, 2, 3] + ["ok after 2"]
            assert status.output == expected
            assert [function_app.ATTEMPTS[f"{key}-{i}"] for i in range(6)] == [1, 2, 3, 1, 2, 3]

    asyncio.run(scenario())
