"""Shared reads (triggers/coalesce.py) and what the alert intake keys its estate cache on
(triggers/runs.py generation_of): concurrent callers of one key share one call; nothing outlives it."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.durable import FakeClient
from triggers import coalesce, runs


def test_concurrent_callers_share_one_call_and_later_ones_start_another() -> None:
    calls: list[int] = []

    async def read() -> int:
        calls.append(1)
        await asyncio.sleep(0.01)
        return len(calls)

    async def scenario() -> tuple[list[int], int]:
        together = await asyncio.gather(*(coalesce.shared("lock", read) for _ in range(50)))
        later = await coalesce.shared("lock", read)
        return list(together), later

    together, later = asyncio.run(scenario())
    assert together == [1] * 50 and later == 2 and len(calls) == 2


def test_an_error_reaches_every_caller_and_is_not_kept() -> None:
    async def failing() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("transient: 503")

    async def scenario() -> list[BaseException | int]:
        return list(
            await asyncio.gather(*(coalesce.shared("x", failing) for _ in range(5)), return_exceptions=True)
        )

    assert all(isinstance(r, RuntimeError) for r in asyncio.run(scenario()))
    assert asyncio.run(coalesce.shared("x", lambda: asyncio.sleep(0, result=7))) == 7


def test_the_generation_is_the_holder_while_a_run_holds_the_lock() -> None:
    client = FakeClient()
    assert runs.generation_of(None, "qlp") == ""
    held = {"run_id": "failover-qlp-1", "operation": "failover", "orchestrator": "x", "input": {}}
    client.put("lock-qlp", "Running", input_=held)
    status = asyncio.run(client.get_status("lock-qlp"))
    assert runs.generation_of(status, "qlp") == "held by failover-qlp-1"  # not every update of the lock
    client.put("lock-qlp", "Completed", input_=held, created="2026-11-29T12:00:00+00:00")
    ended = asyncio.run(client.get_status("lock-qlp"))
    assert runs.generation_of(ended, "qlp").startswith("Completed@2026-11-29T12:00:00")


@pytest.mark.parametrize("status", ["Running", "Pending"])
def test_one_read_gives_holder_and_generation(status: str) -> None:
    client = FakeClient()
    client.put("lock-qlp", status, input_={"run_id": "deploy-qlp-1", "operation": "deploy"})
    holder, generation = asyncio.run(runs.lock_state(client, "qlp"))
    assert holder is not None and (holder.run_id, holder.operation) == ("deploy-qlp-1", "deploy")
    assert generation == "held by deploy-qlp-1"
