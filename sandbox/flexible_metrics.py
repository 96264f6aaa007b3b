"""The flexible servers' metric source (served by the monitor component): replication delay, sampled
every second, and whether the database is alive."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import re
import time
from collections.abc import Sequence
from typing import Any

from sandbox.arm import ArmError
from sandbox.context import MetricQuery
from sandbox.flexible_model import Fleet, Server
from sandbox.monitor import metric_json

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

    async def source(self, query: MetricQuery) -> list[dict[str, Any]]:
        resource_id, names = query.resource_id, query.names
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
                data = sample_points(server.delay_samples, query.timespan, query.interval)
                out.append(_metric(resource_id, name, "Seconds", data))
            elif name.lower() == "is_db_alive":
                alive = [(time.time(), 1.0 if server.cluster.running else 0.0)]
                data = sample_points(alive, query.timespan, query.interval)
                out.append(_metric(resource_id, name, "Count", data))
        return out

    async def sample_loop(self) -> None:
        while True:
            await asyncio.sleep(1)
            for server in self.fleet.running_replicas():
                with contextlib.suppress(Exception):
                    await self.sample_delay(server)


def _metric(resource_id: str, name: str, unit: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    return metric_json(resource_id, name, unit, data, description=name.replace("_", " "))


def sample_points(
    samples: Sequence[tuple[float, float]], timespan: str | None, interval: str | None
) -> list[dict[str, Any]]:
    """Data points from samples ``(unix time, value)`` inside ``timespan``, one per ``interval`` bucket
    (ISO 8601 duration) that has samples, with every aggregation."""
    step = _seconds(interval)
    buckets: dict[float, list[float]] = {}
    for ts, value in samples:
        if _in_timespan(ts, timespan):
            key = ts - ts % step if step else ts
            buckets.setdefault(key, []).append(value)
    return [
        {
            "timeStamp": datetime.datetime.fromtimestamp(key, datetime.UTC).isoformat(),
            "average": sum(vals) / len(vals),
            "minimum": min(vals),
            "maximum": max(vals),
            "total": sum(vals),
            "count": len(vals),
        }
        for key, vals in sorted(buckets.items())
    ]


_INTERVAL = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$", re.IGNORECASE)


def _seconds(interval: str | None) -> float | None:
    """``PT#H#M#S`` in seconds; None (no bucketing) for anything else."""
    match = _INTERVAL.match(interval or "")
    if not match or not any(match.groups()):
        return None
    h, m, s = (int(g or 0) for g in match.groups())
    return float(h * 3600 + m * 60 + s)


def _in_timespan(ts: float, timespan: str | None) -> bool:
    """Within ``start/end`` (both included); any other timespan keeps every sample."""
    if not timespan or "/" not in timespan:
        return True
    start, _, end = timespan.partition("/")
    try:
        lo = datetime.datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
        hi = datetime.datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return True
    return lo <= ts <= hi
