"""devhost durable engine: chaining, fan-out/fan-in, failures, driven through the SDK's own client."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
