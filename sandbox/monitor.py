"""Azure Monitor metrics (Microsoft.Insights/metrics) for any resource type with a registered source.

Serves `GET /{resourceUri}/providers/Microsoft.Insights/metrics` as azure-mgmt-monitor 7.0.0 calls it
(metrics.list: timespan, interval, metricnames, aggregation). Sources are registered on the context
(`ctx.register_metric_source(resource_type, fn)`); this module registers two from real counters:
container groups (CpuUsage in millicores and MemoryUsage in bytes, sampled from /proc every second) and,
through sandbox/frontdoor_metrics.py, Front Door with each kind's own metric names (from the router).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import re
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.containers import ContainerGroups

from sandbox.arm import ArmApi, ArmError
from sandbox.context import MetricQuery, SandboxContext

SAMPLE_EVERY_S = 1.0
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE)
AGGREGATIONS = ("Average", "Total", "Count", "Minimum", "Maximum")


# ---- time windows ------------------------------------------------------------------------------------
def parse_duration(text: str) -> float:
    """ISO 8601 duration (PT1M, PT30S, P1D ...) in seconds; ValueError when malformed or zero."""
    m = _DURATION.match(text.strip())
    if not m or not any(m.groups()):
        raise ValueError(f"'{text}' is not an ISO 8601 duration")
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    seconds = d * 86400 + h * 3600 + mi * 60 + s
    if seconds <= 0:
        raise ValueError(f"'{text}' is not a positive duration")
    return seconds


def _parse_time(text: str) -> datetime.datetime:
    value = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def parse_timespan(text: str | None, now: float) -> tuple[float, float]:
    """`start/end`, `start/duration` or `duration` (ending now) -> (start, end) in epoch seconds."""
    if not text:
        return now - 3600, now
    if "/" not in text:
        return now - parse_duration(text), now
    first, second = text.split("/", 1)
    start = _parse_time(first).timestamp()
    end = (
        start + parse_duration(second) if second.upper().startswith("P") else _parse_time(second).timestamp()
    )
    if end <= start:
        raise ValueError("the timespan ends before it starts")
    return start, end


def iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_duration(seconds: float) -> str:
    return f"PT{int(seconds // 60)}M" if seconds % 60 == 0 else f"PT{seconds:g}S"


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    interval: float
    aggregations: tuple[str, ...]

    def buckets(self) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        t = self.start
        while t < self.end and len(out) < 1440:
            out.append((t, min(t + self.interval, self.end)))
            t += self.interval
        return out


def aggregate(
    values: Sequence[float], aggregations: Sequence[str], *, empty_total: float | None
) -> dict[str, Any]:
    """One data point. With no values, Total/Count read 0 (counts) and the rest are absent."""
    point: dict[str, Any] = {}
    for agg in aggregations:
        if agg == "Count":
            point["count"] = float(len(values))
        elif agg == "Total":
            point["total"] = float(sum(values)) if values else empty_total
        elif values and agg == "Average":
            point["average"] = sum(values) / len(values)
        elif values and agg == "Minimum":
            point["minimum"] = min(values)
        elif values and agg == "Maximum":
            point["maximum"] = max(values)
    return {k: v for k, v in point.items() if v is not None}


ACI_VALID = ("CpuUsage", "MemoryUsage", "NetworkBytesReceivedPerSecond", "NetworkBytesTransmittedPerSecond")


def unknown_metric(provider: str, rtype: str, metric: str, valid: Sequence[str]) -> ArmError:
    """Azure Monitor's answer to a metric name the resource type does not publish: 400, and one unknown
    name fails the whole request."""
    return ArmError(
        400,
        "BadRequest",
        f"Failed to find metric configuration for provider: {provider}, resource Type: {rtype}, "
        f"metric: {metric}, Valid metrics: {','.join(valid)}",
    )


def metric_json(
    resource_id: str, name: str, unit: str, data: list[dict[str, Any]], *, description: str = ""
) -> dict[str, Any]:
    """One metric in the shape Azure Monitor answers (``value[]`` of a metrics response), its time
    series made of the data points ``data``; every metric source builds its answer with it."""
    return {
        "id": f"{resource_id}/providers/Microsoft.Insights/metrics/{name}",
        "type": "Microsoft.Insights/metrics",
        "name": {"value": name, "localizedValue": name.replace("_", " ")},
        "displayDescription": description,
        "unit": unit,
        "errorCode": "Success",
        "timeseries": [{"metadatavalues": [], "data": data}],
    }


def series(
    resource_id: str,
    name: str,
    unit: str,
    window: Window,
    values_in: Callable[[float, float], list[float]],
    *,
    empty_total: float | None = 0.0,
) -> dict[str, Any]:
    data = []
    for start, end in window.buckets():
        point = {
            "timeStamp": iso(start),
            **aggregate(values_in(start, end), window.aggregations, empty_total=empty_total),
        }
        data.append(point)
    return metric_json(resource_id, name, unit, data)


# ---- container groups: /proc samples ----------------------------------------------------------------
def read_proc(pid: int) -> tuple[float, int] | None:
    """(CPU seconds used, resident bytes) of a live process, or None."""
    try:
        stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
        status = open(f"/proc/{pid}/status").read()  # noqa: SIM115
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(stat[11]) + int(stat[12])) / ticks
    rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return cpu, int(rss.group(1)) * 1024 if rss else 0


class ProcessSampler:
    """Samples CPU (millicores) and memory (bytes) of every running container group each second."""

    def __init__(self, groups: Any) -> None:
        self.groups = groups
        self.samples: dict[str, deque[tuple[float, float, float]]] = {}
        self._last: dict[str, tuple[int, float, float]] = {}
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        now = time.time()
        for key, g in list(self.groups.groups.items()):
            proc = g.proc
            reading = read_proc(proc.pid) if proc is not None and proc.poll() is None else None
            if reading is None:
                continue
            cpu, rss = reading
            last = self._last.get(key)
            self._last[key] = (proc.pid, cpu, now)
            if last is None or last[0] != proc.pid or now <= last[2]:
                continue
            millicores = (cpu - last[1]) / (now - last[2]) * 1000
            self.samples.setdefault(key, deque(maxlen=7200)).append((now, max(millicores, 0.0), float(rss)))

    async def _loop(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_EVERY_S)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def values(self, name: str, index: int, start: float, end: float) -> list[float]:
        return [s[index] for s in self.samples.get(name.lower(), ()) if start <= s[0] < end]


# ---- the API -----------------------------------------------------------------------------------------------
def make_window(timespan: str | None, interval: str | None, aggregation: str | None, default: str) -> Window:
    """The query's time window; 400 BadRequest on a malformed timespan, interval or aggregation."""
    try:
        start, end = parse_timespan(timespan, time.time())
        step = parse_duration(interval or "PT1M")
    except ValueError as exc:
        raise ArmError(400, "BadRequest", str(exc)) from exc
    aggs = tuple(a.strip().capitalize() for a in (aggregation or default).split(",") if a.strip())
    unknown = [a for a in aggs if a not in AGGREGATIONS]
    if unknown:
        raise ArmError(
            400, "BadRequest", f"unknown aggregation {', '.join(unknown)}; use {', '.join(AGGREGATIONS)}"
        )
    return Window(start, end, step, aggs)


def resource_type(resource_id: str) -> str:
    """`microsoft.cdn/profiles` from a resource id (400 when it is not one)."""
    parts = resource_id.strip("/").split("/")
    lowered = [s.lower() for s in parts]
    if "providers" not in lowered or len(parts) < lowered.index("providers") + 4:
        raise ArmError(400, "BadRequest", f"'{resource_id}' is not a resource id")
    i = lowered.index("providers")
    return f"{parts[i + 1]}/{parts[i + 2]}".lower()


class Monitor:
    """The metrics endpoint and the sources built on the sandbox's real counters."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.sampler: ProcessSampler | None = None

    async def list_metrics(self, request: web.Request, p: dict[str, str]) -> web.Response:
        resource_id = "/" + p["resource"].strip("/")
        rtype = resource_type(resource_id)
        source = self.ctx.metric_sources.get(rtype)
        if source is None:
            raise ArmError(404, "ResourceNotFound", f"No metrics for resource type '{rtype}' in the sandbox.")
        q = request.query
        names = [n.strip() for n in (q.get("metricnames") or "").split(",") if n.strip()]
        query = MetricQuery(
            resource_id, names, q.get("timespan"), q.get("interval"), q.get("aggregation"), q.get("$filter")
        )
        make_window(query.timespan, query.interval, query.aggregation, "Average")  # 400 early
        values = await source(query)
        start, end = parse_timespan(q.get("timespan"), time.time())
        body = {
            "cost": 0,
            "timespan": f"{iso(start)}/{iso(end)}",
            "interval": q.get("interval") or "PT1M",
            "namespace": rtype,
            "resourceregion": self.ctx.estate.primary_region,
            "value": values,
        }
        return web.json_response(body)

    async def container_metrics(self, query: MetricQuery) -> list[dict[str, Any]]:
        resource_id = query.resource_id
        name = resource_id.rstrip("/").rsplit("/", 1)[1]
        groups = cast("ContainerGroups", self.ctx.components["containers"])
        if groups.get_group(name) is None or self.sampler is None:
            raise ArmError(404, "ResourceNotFound", f"Container group '{name}' was not found.")
        sampler = self.sampler
        window = make_window(query.timespan, query.interval, query.aggregation, "Average")
        known = {"cpuusage": ("CpuUsage", 1, "Count"), "memoryusage": ("MemoryUsage", 2, "Bytes")}
        out = []
        for metric in query.names or ["CpuUsage", "MemoryUsage"]:
            spec = known.get(metric.lower())
            if spec is None:
                raise unknown_metric("Microsoft.ContainerInstance", "containerGroups", metric, ACI_VALID)
            label, index, unit = spec

            def values(s: float, e: float, i: int = index) -> list[float]:
                return sampler.values(name, i, s, e)

            out.append(series(resource_id, label, unit, window, values, empty_total=None))
        return out

    async def close(self) -> None:
        if self.sampler is not None:
            await self.sampler.close()


async def setup(ctx: SandboxContext, arm: ArmApi) -> Monitor:
    monitor = Monitor(ctx)
    arm.add_route("GET", "/{resource*}/providers/Microsoft.Insights/metrics", monitor.list_metrics)
    if "containers" in ctx.components:
        monitor.sampler = ProcessSampler(ctx.components["containers"])
        monitor.sampler.start()
        ctx.register_metric_source("microsoft.containerinstance/containergroups", monitor.container_metrics)
    ctx.components["monitor"] = monitor
    return monitor
