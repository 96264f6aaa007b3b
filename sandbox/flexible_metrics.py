"""The flexible servers' metric source (served by the monitor component): replication delay, sampled
every second, and whether the database is alive."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from sandbox.arm import ArmError
from sandbox.context import metric_json
from sandbox.flexible_model import Fleet, Server

METRICS = ("physical_replication_delay_in_seconds", "is_db_alive")
KEEP_SAMPLES = 720


class Metrics:
    """The metric source for ``microsoft.dbforpostgresql/flexibleservers`` and its sampler."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    async def replication_delay(self, server: Server) -> float:
        """Seconds the replica has been behind: received WAL not yet replayed since first seen so
        (sampled every second), 0 when it has replayed everything it received."""
        if not server.source or not server.cluster.running:
            server.behind_since = None
            return 0.0
        behind = await server.cluster.scalar(
            "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()", connect_timeout=2
        )
        if not behind:
            server.behind_since = None
            return 0.0
        now = time.time()
        if server.behind_since is None:
            server.behind_since = now
        return round(now - server.behind_since, 3)

    async def sample_delay(self, server: Server) -> None:
        server.delay_samples.append((time.time(), await self.replication_delay(server)))
        del server.delay_samples[:-KEEP_SAMPLES]

    async def source(
        self,
        resource_id: str,
        names: list[str],
        timespan: str | None,
        interval: str | None,
        aggregation: str | None,
    ) -> list[dict[str, Any]]:
        server = self.fleet.by_id(resource_id)
        unknown = [n for n in names if n.lower() not in METRICS]
        if unknown:
            raise ArmError(
                400,
                "BadRequest",
                f"Unknown metric(s) {', '.join(unknown)}; this sandbox serves "
                f"{', '.join(METRICS)} for flexible servers.",
            )
        out = []
        for name in names:
            if name.lower() == "physical_replication_delay_in_seconds":
                await self.sample_delay(server)
                samples = server.delay_samples
                out.append(metric_json(resource_id, name, "Seconds", samples, timespan, interval))
            elif name.lower() == "is_db_alive":
                alive = [(time.time(), 1.0 if server.cluster.running else 0.0)]
                out.append(metric_json(resource_id, name, "Count", alive, timespan, interval))
        return out

    async def sample_loop(self) -> None:
        while True:
            await asyncio.sleep(1)
            for server in self.fleet.running_replicas():
                with contextlib.suppress(Exception):
                    await self.sample_delay(server)
