"""The flexible servers' metric source (served by the monitor component): replication delay with Azure's
meaning (time since the last replayed transaction), sampled every second, and whether the database is
alive; and the heartbeat that keeps an idle primary writing, as the service does."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import re
import time
from collections.abc import Sequence
from typing import Any

from sandbox.context import MetricQuery
from sandbox.flexible_model import Fleet, Server
from sandbox.monitor import metric_json, unknown_metric

# Names Azure publishes for flexible servers (a subset of the supported-metrics reference); the first two
# are modelled, the others answer with no data. Any other name fails the request, as on Azure.
METRICS = (
    "physical_replication_delay_in_seconds",
    "is_db_alive",
    "active_connections",
    "cpu_percent",
    "memory_percent",
    "physical_replication_delay_in_bytes",
    "storage_percent",
)
KEEP_SAMPLES = 720
HEARTBEAT_S = 5.0


class Metrics:
    """The metric source for ``microsoft.dbforpostgresql/flexibleservers`` and its sampler."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    async def replication_delay(self, server: Server) -> float | None:
        """Azure's Read Replica Lag: the seconds since the last transaction the replica replayed (on an
        idle primary it shows the time since the last write, never 0 for long); None (no data) for a
        server that is not a running replica. Until it replays a first transaction, the time since it
        became a replica."""
        if not server.source or not server.cluster.running:
            return None
        replayed = await server.cluster.scalar(
            "SELECT extract(epoch FROM pg_last_xact_replay_timestamp())::float8", connect_timeout=2
        )
        since = float(replayed) if replayed is not None else server.replica_since
        return round(max(0.0, time.time() - since), 3)

    async def sample_delay(self, server: Server) -> None:
        delay = await self.replication_delay(server)
        if delay is not None:
            server.delay_samples.append((time.time(), delay))
            del server.delay_samples[:-KEEP_SAMPLES]

    async def source(self, query: MetricQuery) -> list[dict[str, Any]]:
        resource_id, names = query.resource_id, query.names
        server = self.fleet.by_id(resource_id)
        unknown = [n for n in names if n.lower() not in METRICS]
        if unknown:
            raise unknown_metric("Microsoft.DBforPostgreSQL", "flexibleServers", unknown[0], METRICS)
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
            else:  # published by Azure, not modelled by the sandbox: no data points
                out.append(_metric(resource_id, name, "Percent", []))
        return out

    async def heartbeat_loop(self) -> None:
        """A transaction on every running primary each HEARTBEAT_S seconds, as the service's own
        monitoring writes on Azure: an idle primary's replicas then show a lag of a few seconds."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            for server in list(self.fleet.servers.values()):
                if not server.source and server.cluster.running and not server.outage:
                    with contextlib.suppress(Exception):
                        await server.cluster.query("SELECT txid_current()", connect_timeout=2)

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
