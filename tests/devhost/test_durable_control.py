"""devhost durable engine: events, timers, custom status, terminate, suspend/resume, purge, listing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.durable_functions import OrchestrationRuntimeStatus

from tests.devhost.durable_app.harness import Harness


async def _waiting(h: Harness, instance_id: str) -> None:
    """Wait until the `waiter` orchestrator has reported that it waits for its first event."""

    async def ready() -> bool:
        status = await h.client.get_status(instance_id)
        return bool(status) and status.custom_status == {"stage": "waiting"}

    await h.wait_for(ready, f"{instance_id} waits for its first event")


def test_task_any_event_beats_the_timer_and_the_timer_is_cancelled(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("race", client_input=60)
            await h.wait(instance_id, ("Running",))
            await h.client.raise_event(instance_id, "approve", {"by": "ops"})
            status = await h.wait(instance_id)
            assert status.output == {"winner": "event", "data": {"by": "ops"}}
            assert h.engine.runtime.store.timers() == []

    asyncio.run(scenario())


def test_task_any_timer_beats_the_event(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("race", client_input=0.2)
            status = await h.wait(instance_id)
            assert (status.runtime_status.value, status.output) == ("Completed", {"winner": "timer"})
            with pytest.raises(Exception, match="is gone"):
                await h.client.raise_event(instance_id, "approve", {"late": True})

    asyncio.run(scenario())


def test_event_raised_before_the_wait_is_buffered_and_custom_status_is_visible(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("waiter")
            await _waiting(h, instance_id)
            await h.client.raise_event(instance_id, "second", "two")
            status = await h.client.get_status(instance_id)
            assert (status.runtime_status.value, status.custom_status) == ("Running", {"stage": "waiting"})
            await h.client.raise_event(instance_id, "first", {"n": 1})
            status = await h.wait(instance_id)
            assert status.output == [{"n": 1}, "two"]
            assert status.custom_status == {"stage": "done"}

    asyncio.run(scenario())


def test_terminate_stops_a_running_instance(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("waiter")
            await _waiting(h, instance_id)
            await h.client.terminate(instance_id, "operator said stop")
            status = await h.wait(instance_id)
            assert (status.runtime_status.value, status.output) == ("Terminated", "operator said stop")
            with pytest.raises(Exception, match="is gone"):
                await h.client.raise_event(instance_id, "first", 1)

    asyncio.run(scenario())


def test_suspended_instance_holds_its_events_until_resumed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            instance_id = await h.client.start_new("waiter")
            await _waiting(h, instance_id)
            await h.client.suspend(instance_id, "maintenance")
            await h.client.raise_event(instance_id, "first", 1)
            await h.client.raise_event(instance_id, "second", 2)
            status = await h.client.get_status(instance_id)
            assert (status.runtime_status.value, status.custom_status) == ("Suspended", {"stage": "waiting"})
            await h.client.resume(instance_id, "done")
            status = await h.wait(instance_id)
            assert (status.runtime_status.value, status.output) == ("Completed", [1, 2])

    asyncio.run(scenario())


def test_purge_single_and_by_filter(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            ids = [await h.client.start_new("fan_out", client_input=2) for _ in range(3)]
            running = await h.client.start_new("waiter")
            for instance_id in ids:
                await h.wait(instance_id)
            assert (await h.client.purge_instance_history(ids[0])).instances_deleted == 1
            assert not await h.client.get_status(ids[0])
            assert (await h.client.purge_instance_history(ids[0])).instances_deleted == 0
            since = datetime.now(UTC) - timedelta(hours=1)
            result = await h.client.purge_instance_history_by(
                created_time_from=since, runtime_status=[OrchestrationRuntimeStatus.Completed]
            )
            assert result.instances_deleted == 2
            assert (await h.client.get_status(running)).runtime_status.value in ("Pending", "Running")

    asyncio.run(scenario())


def test_list_filters_by_status_prefix_and_creation_time(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            done = [await h.client.start_new("fan_out", f"batch-{i}", 1) for i in range(3)]
            waiting = await h.client.start_new("waiter", "other-1")
            for instance_id in done:
                await h.wait(instance_id)
            await _waiting(h, waiting)
            completed = await h.client.get_status_by(runtime_status=[OrchestrationRuntimeStatus.Completed])
            assert sorted(s.instance_id for s in completed) == done
            by_prefix = await h.client.get_status_by(instance_id_prefix="other-")
            assert [s.instance_id for s in by_prefix] == [waiting]
            future = datetime.now(UTC) + timedelta(hours=1)
            assert await h.client.get_status_by(created_time_from=future) == []
            assert len(await h.client.get_status_all()) == 4

    asyncio.run(scenario())


def test_starting_a_running_singleton_id_replaces_it_as_the_extension_does(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path) as h:
            first = await h.client.start_new("waiter", "singleton")
            await _waiting(h, first)
            await h.client.raise_event(first, "first", "old")
            again = await h.client.start_new("waiter", "singleton")
            assert again == "singleton"
            await _waiting(h, again)
            await h.client.raise_event(again, "first", "new")
            await h.client.raise_event(again, "second", "new")
            status = await h.wait(again)
            assert status.output == ["new", "new"]

    asyncio.run(scenario())


def test_non_running_states_setting_refuses_a_second_start_of_a_running_id(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with Harness(tmp_path, overridable_states="NonRunningStates") as h:
            first = await h.client.start_new("waiter", "singleton")
            await _waiting(h, first)
            with pytest.raises(Exception, match="already exists"):
                await h.client.start_new("waiter", "singleton")
            await h.client.terminate(first, "done")
            await h.wait(first)
            assert await h.client.start_new("waiter", "singleton") == "singleton"

    asyncio.run(scenario())
