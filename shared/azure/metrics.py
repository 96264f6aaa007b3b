"""Azure Monitor metrics (azure-mgmt-monitor): CPU, 5xx percentage, latency and request count over a
window, and the same for a baseline window just before it. Each Front Door kind is asked only for the
metric names it publishes: one unknown name fails the whole request.

Targets: ``frontdoor`` (the configured profile), ``container_group`` and ``server``. A metric with no data
in the window is None (never 0: "no data" and "no errors" are different things).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.azure.clients import Clients
from shared.azure.errors import translated
from shared.errors import PermanentError

# target -> {normalised key: (metric name, aggregation)}
METRICS: dict[str, dict[str, tuple[str, str]]] = {
    "frontdoor": {  # Standard/Premium (Microsoft.Cdn/profiles)
        "request_count": ("RequestCount", "Total"),
        "error_5xx_percent": ("Percentage5XX", "Average"),
        "latency_ms": ("TotalLatency", "Average"),
    },
    # classic (Microsoft.Network/frontdoors) publishes no Percentage5XX: the 5xx share is computed from
    # RequestCount split by its HttpStatusGroup dimension (see classic_window)
    "frontdoor_classic": {
        "request_count": ("RequestCount", "Total"),
        "latency_ms": ("TotalLatency", "Average"),
    },
    "container_group": {"cpu": ("CpuUsage", "Average"), "memory_bytes": ("MemoryUsage", "Average")},
    "server": {
        "cpu": ("cpu_percent", "Average"),
        "replication_lag_seconds": ("physical_replication_delay_in_seconds", "Maximum"),
    },
}


TARGETS = ("frontdoor", "container_group", "server")


def _combine(values: list[float], aggregation: str) -> float | None:
    if not values:
        return None
    if aggregation == "Total":
        return float(sum(values))
    if aggregation == "Maximum":
        return float(max(values))
    return float(sum(values) / len(values))


def _timespan(start: dt.datetime, end: dt.datetime) -> str:
    return f"{start.isoformat().replace('+00:00', 'Z')}/{end.isoformat().replace('+00:00', 'Z')}"


class MetricsAdapter:
    """Reads metric windows for the estate's resources."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._s = clients.settings

    def resource_id(self, target: str, name: str | None, resource_group: str | None) -> str:
        s = self._s
        sub = f"/subscriptions/{s.subscription_id}/resourceGroups"
        if target == "frontdoor":
            provider = (
                "Microsoft.Network/frontDoors" if s.frontdoor_kind == "classic" else "Microsoft.Cdn/profiles"
            )
            return f"{sub}/{s.frontdoor_resource_group}/providers/{provider}/{s.frontdoor_profile}"
        if target == "container_group" and name:
            rg = resource_group or s.group_resource_group(name)
            return f"{sub}/{rg}/providers/Microsoft.ContainerInstance/containerGroups/{name}"
        if target == "server" and name:
            rg = resource_group or s.server_resource_group(name)
            return f"{sub}/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"
        raise PermanentError("read metrics", f"{target}/{name}", "unknown target or missing name")

    def _list(self, resource_id: str, start: dt.datetime, end: dt.datetime, **query: Any) -> Any:
        with translated("read metrics of", resource_id.rsplit("/", 1)[-1]):
            return self._clients.monitor().metrics.list(
                resource_id, timespan=_timespan(start, end), interval="PT1M", **query
            )

    def classic_window(self, resource_id: str, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        """Classic Front Door: request count and latency, and the 5xx share from the request count per
        HttpStatusGroup (None without requests: no data is not "no errors")."""
        out = self.window(resource_id, "frontdoor_classic", start, end)
        split = self._list(
            resource_id,
            start,
            end,
            metricnames="RequestCount",
            aggregation="Total",
            filter="HttpStatusGroup eq '*'",
        )
        totals: dict[str, float] = {}
        for metric in split.value or []:
            for series in metric.timeseries or []:
                group = next((str(m.value) for m in series.metadatavalues or []), "")
                totals[group.lower()] = sum(float(p.total or 0) for p in series.data or [])
        requests = sum(totals.values())
        out["error_5xx_percent"] = 100.0 * totals.get("5xx", 0.0) / requests if requests else None
        return out

    def window(self, resource_id: str, target: str, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        if target == "frontdoor" and self._s.frontdoor_kind == "classic":
            return self.classic_window(resource_id, start, end)
        wanted = METRICS[target]
        names = ",".join(metric for metric, _ in wanted.values())
        aggregations = ",".join(sorted({agg for _, agg in wanted.values()}))
        result = self._list(resource_id, start, end, metricnames=names, aggregation=aggregations)
        by_name = {m.name.value if m.name is not None else "": m for m in result.value or []}
        out: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
        for key, (metric, aggregation) in wanted.items():
            found = by_name.get(metric)
            points = (
                [p for s in (found.timeseries or []) for p in (s.data or [])] if found is not None else []
            )
            values = [getattr(p, aggregation.lower()) for p in points]
            out[key] = _combine([float(v) for v in values if v is not None], aggregation)
        return out

    def get_window(
        self,
        target: str,
        name: str | None,
        resource_group: str | None,
        *,
        minutes: float,
        baseline_minutes: float,
    ) -> dict[str, Any]:
        """The metrics of the last ``minutes`` and (when asked) of the ``baseline_minutes`` before them."""
        if target not in TARGETS:
            raise PermanentError("read metrics", target, "target must be one of " + ", ".join(TARGETS))
        resource_id = self.resource_id(target, name, resource_group)
        end = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)  # include this second
        start = end - dt.timedelta(minutes=minutes)
        window = self.window(resource_id, target, start, end)
        baseline = None
        if baseline_minutes > 0:
            baseline = self.window(resource_id, target, start - dt.timedelta(minutes=baseline_minutes), start)
        return {"target": target, "resource_id": resource_id, "window": window, "baseline": baseline}
