"""Azure Monitor metrics through azure-mgmt-monitor, computed from real router and process counters."""

from __future__ import annotations

import datetime
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.monitor import MonitorManagementClient

from sandbox.client import SandboxClient, StaticTokenCredential
from sandbox.monitor import Window, aggregate, parse_duration, parse_timespan
from tests.polling import until


def test_durations_and_timespans_parse_as_azure_monitor_writes_them() -> None:
    assert parse_duration("PT1M") == 60 and parse_duration("PT30S") == 30 and parse_duration("P1D") == 86400
    assert parse_timespan("PT1H", 10_000.0) == (6400.0, 10_000.0)
    start, end = parse_timespan("2026-01-01T00:00:00Z/2026-01-01T00:05:00Z", 0)
    assert end - start == 300
    for bad in ("1M", "PT", "PT0S"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert len(Window(0, 300, 60, ("Total",)).buckets()) == 5
    assert aggregate([1.0, 3.0], ["Average", "Total", "Count", "Maximum"], empty_total=0.0) == {
        "average": 2.0,
        "total": 4.0,
        "count": 2.0,
        "maximum": 3.0,
    }
    assert aggregate([], ["Total", "Average"], empty_total=0.0) == {"total": 0.0}


@pytest.fixture
def monitor(sandbox: SandboxClient) -> Iterator[MonitorManagementClient]:
    with MonitorManagementClient(
        StaticTokenCredential(),
        sandbox.endpoints["subscription_id"],
        base_url=sandbox.arm_endpoint,
        connection_verify=sandbox.ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
    ) as client:
        yield client


def timespan() -> str:
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=3), now + datetime.timedelta(minutes=1)
    return f"{start.isoformat()}/{end.isoformat()}"


def profile_id(sb: SandboxClient) -> str:
    ep = sb.endpoints
    return (
        f"/subscriptions/{ep['subscription_id']}/resourceGroups/{ep['frontdoor_resource_group']}"
        f"/providers/Microsoft.Cdn/profiles/{ep['frontdoor_profile']}"
    )


def metric(client: MonitorManagementClient, rid: str, name: str, aggregation: str, span: str) -> list[Any]:
    result = client.metrics.list(
        rid, timespan=span, interval="PT1M", metricnames=name, aggregation=aggregation
    )
    (only,) = result.value
    assert only.name.value == name
    return list(only.timeseries[0].data)


@pytest.mark.sandbox
def test_front_door_metrics_count_the_requests_really_served(
    sandbox: SandboxClient, monitor: MonitorManagementClient
) -> None:
    span, rid = timespan(), profile_id(sandbox)
    before = sum(p.total for p in metric(monitor, rid, "RequestCount", "Total", span))
    for _ in range(7):
        with urllib.request.urlopen(sandbox.endpoints["frontdoor_url"] + "/health", timeout=10) as resp:
            assert resp.status == 200
    after = sum(p.total for p in metric(monitor, rid, "RequestCount", "Total", span))
    assert after - before == 7
    classic = rid.replace(
        "Microsoft.Cdn/profiles/" + sandbox.endpoints["frontdoor_profile"],
        "Microsoft.Network/frontDoors/" + sandbox.endpoints["frontdoor_classic_name"],
    )
    assert sum(p.total for p in metric(monitor, classic, "RequestCount", "Total", span)) == after
    latencies = [
        p.average for p in metric(monitor, rid, "TotalLatency", "Average", span) if p.average is not None
    ]
    assert latencies and all(v > 0 for v in latencies)
    errors = [
        p.average for p in metric(monitor, rid, "Percentage5XX", "Average", span) if p.average is not None
    ]
    assert errors and all(0 <= v <= 100 for v in errors)  # the outage test shows a 5xx share above 0


@pytest.mark.sandbox
def test_container_group_metrics_come_from_the_running_process(
    sandbox: SandboxClient, monitor: MonitorManagementClient
) -> None:
    ep = sandbox.endpoints
    rid = (
        f"/subscriptions/{ep['subscription_id']}/resourceGroups/{ep['resource_groups']['primary']}"
        f"/providers/Microsoft.ContainerInstance/containerGroups/{ep['container_groups']['uksouth-blue']}"
    )
    memory = until(
        lambda: [p.average for p in metric(monitor, rid, "MemoryUsage", "Average", timespan()) if p.average],
        "the container group reports its memory usage",
        timeout=20,
        interval=0.5,
    )
    assert min(memory) > 1_000_000  # a Python process holds more than 1 MB resident
    cpu = [
        p.average for p in metric(monitor, rid, "CpuUsage", "Average", timespan()) if p.average is not None
    ]
    assert cpu and all(v >= 0 for v in cpu)
    stopped = rid.replace(
        ep["container_groups"]["uksouth-blue"], ep["container_groups"]["ukwest-standby"]
    ).replace(ep["resource_groups"]["primary"], ep["resource_groups"]["secondary"])
    assert all(p.average is None for p in metric(monitor, stopped, "CpuUsage", "Average", timespan()))


@pytest.mark.sandbox
def test_unknown_metrics_bad_windows_and_unmetered_types_are_refused(
    sandbox: SandboxClient, monitor: MonitorManagementClient
) -> None:
    rid = profile_id(sandbox)
    with pytest.raises(HttpResponseError) as err:
        monitor.metrics.list(rid, metricnames="NoSuchMetric")
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:
        monitor.metrics.list(rid, metricnames="RequestCount", interval="one minute")
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:
        monitor.metrics.list(rid + "-missing", metricnames="RequestCount")
    assert err.value.status_code == 404
    other = rid.replace("Microsoft.Cdn/profiles", "Microsoft.Storage/storageAccounts")
    with pytest.raises(HttpResponseError) as err:
        monitor.metrics.list(other, metricnames="Transactions")
    assert err.value.status_code == 404
