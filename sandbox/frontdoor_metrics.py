"""Azure Monitor metrics of Front Door, per kind, from the router's counters.

Each kind publishes its own metric names (Azure Monitor's supported-metrics reference,
microsoft-cdn-profiles-metrics and microsoft-network-frontdoors-metrics): Standard/Premium
(``Microsoft.Cdn/profiles``) has ``Percentage5XX`` and ``Percentage4XX``; classic
(``Microsoft.Network/frontdoors``) has none, only counts (``RequestCount``, ``BackendRequestCount``)
that split by the ``HttpStatusGroup`` / ``HttpStatus`` dimensions. A name the kind does not publish fails
the whole request with Azure's 400 "Failed to find metric configuration ..." naming the valid ones. A
valid metric the sandbox does not model answers with empty data points. ``$filter`` splits or selects by
dimension: ``HttpStatusGroup eq '*'`` gives one time series per status group seen in the window,
``HttpStatusGroup eq '5xx'`` only that one, each with its ``metadatavalues``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.arm import ArmApi, ArmError
from sandbox.context import MetricQuery, SandboxContext
from sandbox.monitor import Window, aggregate, iso, make_window, metric_json, unknown_metric
from sandbox.router import RequestRecord, Router

Records = list[RequestRecord]

CDN_VALID = (
    "ByteHitRatio",
    "OriginHealthPercentage",
    "OriginLatency",
    "OriginRequestCount",
    "Percentage4XX",
    "Percentage5XX",
    "RequestCount",
    "RequestSize",
    "ResponseSize",
    "TotalLatency",
    "WebApplicationFirewallRequestCount",
)
CLASSIC_VALID = (
    "BackendHealthPercentage",
    "BackendRequestCount",
    "BackendRequestLatency",
    "BillableResponseSize",
    "RequestCount",
    "RequestSize",
    "ResponseSize",
    "TotalLatency",
    "WebApplicationFirewallRequestCount",
)
STATUS_DIMENSIONS = ("HttpStatus", "HttpStatusGroup")
CLIENT_DIMENSIONS = ("ClientRegion", "ClientCountry")


@dataclass(frozen=True)
class Spec:
    """How one metric is computed from the records of an interval."""

    unit: str
    aggregation: str
    values: Callable[[Records], list[float]]
    empty_total: float | None = 0.0
    dimensions: tuple[str, ...] = ()


def _count(records: Records) -> list[float]:
    return [1.0 for _ in records]


def _forwarded(records: Records) -> list[float]:
    return [1.0 for r in records if r.origin]  # answered by an origin


def _latency(records: Records) -> list[float]:
    return [r.latency_ms for r in records]


def _share(low: int) -> Callable[[Records], list[float]]:
    def share(records: Records) -> list[float]:
        if not records:
            return []
        return [100.0 * sum(1 for r in records if low <= r.status < low + 100) / len(records)]

    return share


_COUNTED = STATUS_DIMENSIONS + CLIENT_DIMENSIONS
CDN: dict[str, Spec] = {
    "RequestCount": Spec("Count", "Total", _count, dimensions=_COUNTED),
    "OriginRequestCount": Spec("Count", "Total", _forwarded, dimensions=STATUS_DIMENSIONS),
    "Percentage5XX": Spec("Percent", "Average", _share(500), None),
    "Percentage4XX": Spec("Percent", "Average", _share(400), None),
    "TotalLatency": Spec("MilliSeconds", "Average", _latency, None, _COUNTED),
}
CLASSIC: dict[str, Spec] = {
    "RequestCount": Spec("Count", "Total", _count, dimensions=_COUNTED),
    "BackendRequestCount": Spec("Count", "Total", _forwarded, dimensions=STATUS_DIMENSIONS),
    "TotalLatency": Spec("MilliSeconds", "Average", _latency, None, _COUNTED),
}
KINDS = {
    "microsoft.cdn/profiles": ("Microsoft.Cdn", "profiles", CDN_VALID, CDN),
    "microsoft.network/frontdoors": ("Microsoft.Network", "frontdoors", CLASSIC_VALID, CLASSIC),
}
_FILTER = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)


def parse_filter(text: str | None) -> tuple[str, str] | None:
    """``Dimension eq 'value'`` (``*`` splits by every value) or None; 400 for anything else."""
    if not text:
        return None
    match = _FILTER.match(text)
    if not match:
        raise ArmError(400, "BadRequest", f"The $filter '{text}' is not supported by the sandbox.")
    return match.group(1), match.group(2)


def status_value(dimension: str, record: RequestRecord) -> str:
    return f"{record.status // 100}xx" if dimension.lower() == "httpstatusgroup" else str(record.status)


class FrontDoorMetrics:
    """The metric source for both Front Door kinds over one router."""

    def __init__(self, router: Router, names: tuple[str, ...]) -> None:
        self.router, self.names = router, {n.lower() for n in names}

    def __call__(self, rtype: str) -> Callable[[MetricQuery], Any]:
        async def source(query: MetricQuery) -> list[dict[str, Any]]:
            return self.answer(rtype, query)

        return source

    def answer(self, rtype: str, query: MetricQuery) -> list[dict[str, Any]]:
        provider, short, valid, specs = KINDS[rtype]
        name = query.resource_id.rstrip("/").rsplit("/", 1)[1]
        if name.lower() not in self.names:
            raise ArmError(404, "ResourceNotFound", f"Front Door '{name}' was not found.")
        wanted = query.names or ["RequestCount"]
        by_lower = {v.lower(): v for v in valid}
        for metric in wanted:
            if metric.lower() not in by_lower:
                raise unknown_metric(provider, short, metric, valid)
        split = parse_filter(query.filter)
        out = []
        for metric in wanted:
            label = by_lower[metric.lower()]
            spec = specs.get(label)
            if spec is None:  # published by Azure, not modelled here: no data
                spec = Spec("Count", "Average", lambda records: [], None)
            if split is not None and split[0].lower() not in {d.lower() for d in spec.dimensions}:
                raise ArmError(
                    400,
                    "BadRequest",
                    f"Metric: {label} does not support requested dimension combination: {split[0]}, "
                    f"supported ones are: {','.join(spec.dimensions)}",
                )
            window = make_window(query.timespan, query.interval, query.aggregation, spec.aggregation)
            out.append(self.metric(query.resource_id, label, spec, window, split))
        return out

    def metric(
        self, resource_id: str, label: str, spec: Spec, window: Window, split: tuple[str, str] | None
    ) -> dict[str, Any]:
        buckets = [(s, e, self.router.records_between(s, e)) for s, e in window.buckets()]
        body = metric_json(resource_id, label, spec.unit, [])
        if split is None:
            body["timeseries"] = [{"metadatavalues": [], "data": _points(buckets, spec, window)}]
            return body
        dimension, value = split
        if dimension.lower() in {d.lower() for d in CLIENT_DIMENSIONS}:
            values = ["Unknown"] if value == "*" else [value]
            groups: dict[str, Callable[[RequestRecord], bool]] = {v: lambda r: True for v in values}
        else:
            seen = sorted({status_value(dimension, r) for _, _, rs in buckets for r in rs})
            values = seen if value == "*" else [value]
            groups = {v: (lambda r, v=v: status_value(dimension, r) == v) for v in values}
        body["timeseries"] = [
            {
                "metadatavalues": [
                    {"name": {"value": dimension.lower(), "localizedValue": dimension}, "value": v}
                ],
                "data": _points([(s, e, [r for r in rs if keep(r)]) for s, e, rs in buckets], spec, window),
            }
            for v, keep in groups.items()
        ]
        return body


def _points(buckets: list[tuple[float, float, Records]], spec: Spec, window: Window) -> list[dict[str, Any]]:
    return [
        {
            "timeStamp": iso(start),
            **aggregate(spec.values(records), window.aggregations, empty_total=spec.empty_total),
        }
        for start, _, records in buckets
    ]


@dataclass
class Component:
    """The component: the sources registered on the monitor (nothing of its own to close)."""

    metrics: FrontDoorMetrics | None

    async def close(self) -> None:
        return None


async def setup(ctx: SandboxContext, arm: ArmApi) -> Component:
    """Register both kinds' metric sources on the router (loaded after the monitor; none without it)."""
    router = ctx.components.get("router")
    if not isinstance(router, Router):
        return Component(None)
    frontdoor = FrontDoorMetrics(router, (ctx.estate.frontdoor_profile, ctx.estate.frontdoor_classic))
    for rtype in KINDS:
        ctx.register_metric_source(rtype, frontdoor(rtype))
    component = Component(frontdoor)
    ctx.components["frontdoor_metrics"] = component
    return component
