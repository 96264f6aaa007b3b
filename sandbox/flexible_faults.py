"""Faults on the flexible servers: region outage and heal, a destructive statement on the primary,
replication lag (replay paused for a while), clear."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sandbox.context import SandboxContext
from sandbox.flexible_model import Fleet, Server
from sandbox.postgres import utc

log = logging.getLogger("sandbox.flexible_servers")


class Faults:
    """The fault callbacks for the fleet (registered on the context by :meth:`register`)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self._lag_resume: asyncio.Task[None] | None = None

    def register(self, ctx: SandboxContext) -> None:
        ctx.on_fault("region-outage", self.region_outage)
        ctx.on_fault("heal", self.heal)
        ctx.on_fault("corrupt-db", self.corrupt_db)
        ctx.on_fault("replication-lag", self.replication_lag)
        ctx.on_fault("clear", self.clear)

    async def region_outage(self, region: str = "", **_: Any) -> dict[str, Any]:
        stopped = []
        for server in self.fleet.servers.values():
            if server.region == region:
                server.outage = True
                if server.cluster.running:
                    await server.cluster.stop("immediate")
                    stopped.append(server.name)
        return {"stopped_servers": stopped}

    async def heal(self, region: str | None = None, **_: Any) -> dict[str, Any]:
        started = []
        for server in self.fleet.servers.values():
            if server.outage and region in (None, server.region):
                server.outage = False
                if not server.api_stopped and not server.cluster.running:
                    await server.cluster.start()
                    started.append(server.name)
        return {"started_servers": started}

    def current_primary(self, name: str | None) -> Server:
        fleet = self.fleet
        candidates = (
            [fleet.get(name)]
            if name
            else [fleet.get(fleet.ctx.estate.primary_server), *fleet.servers.values()]
        )
        for server in candidates:
            if server is not None and not server.source and server.cluster.running:
                return server
        raise ValueError("no running primary server to corrupt")

    async def corrupt_db(self, server: str | None = None, **_: Any) -> dict[str, Any]:
        """Destructive SQL on the primary: deletes 90% of the intents; returns when it ran."""
        target = self.current_primary(server)
        db = self.fleet.ctx.estate.database_name
        rows = await target.cluster.query(
            "WITH gone AS (DELETE FROM intents WHERE id % 10 <> 0 RETURNING 1) "
            "SELECT now(), (SELECT count(*) FROM gone)",
            dbname=db,
        )
        ran_at, deleted = rows[0]
        log.warning("corrupt-db: deleted %s intents on %s at %s", deleted, target.name, ran_at.isoformat())
        return {"ran_at": ran_at.isoformat(), "server": target.name, "rows_deleted": deleted}

    async def replication_lag(self, seconds: float | str = 60, **_: Any) -> dict[str, Any]:
        duration = float(seconds)
        if duration <= 0:
            raise ValueError("replication-lag seconds must be positive")
        paused = []
        for server in self.fleet.running_replicas():
            await server.cluster.query("SELECT pg_wal_replay_pause()")
            paused.append(server.name)
        if self._lag_resume:
            self._lag_resume.cancel()
        self._lag_resume = asyncio.ensure_future(self._resume_after(duration))
        until = utc(time.time() + duration).isoformat()
        return {"paused_replicas": paused, "resumes_at": until}

    async def _resume_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.resume_replay()

    async def resume_replay(self) -> list[str]:
        resumed = []
        for server in self.fleet.running_replicas():
            with contextlib.suppress(Exception):
                await server.cluster.query("SELECT pg_wal_replay_resume()")
                resumed.append(server.name)
        return resumed

    async def clear(self, **_: Any) -> dict[str, Any]:
        self.cancel_resume()
        healed = await self.heal(None)
        return {"resumed_replicas": await self.resume_replay(), **healed}

    def cancel_resume(self) -> None:
        """Cancel the pending resume of replay (a replication-lag fault's end), if any."""
        if self._lag_resume:
            self._lag_resume.cancel()
            self._lag_resume = None
