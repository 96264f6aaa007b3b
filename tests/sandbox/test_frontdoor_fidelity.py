"""Front Door as Azure answers it, through the real SDKs: each kind's own metric names (classic has no
Percentage5XX; its request count splits by status group), a classic PUT replaces the whole resource, and
a change reaches the router only after the propagation delay."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cdn import CdnManagementClient
from azure.mgmt.frontdoor import FrontDoorManagementClient
from azure.mgmt.monitor import MonitorManagementClient

from sandbox.client import SandboxClient, StaticTokenCredential
from tests.fixtures.sandbox import start_sandbox, stop_sandbox
from tests.polling import until

pytestmark = pytest.mark.sandbox
DELAY = 2.0


def sdk(kind: Any, sb: SandboxClient) -> Any:
    e = sb.endpoints
    return kind(
        StaticTokenCredential(),
        e["subscription_id"],
        base_url=e["arm_endpoint"],
        connection_verify=e["ca_bundle"],
    )


def ids(sb: SandboxClient) -> tuple[str, str]:
    e = sb.endpoints
    base = f"/subscriptions/{e['subscription_id']}/resourceGroups/{e['frontdoor_resource_group']}/providers"
    return (
        f"{base}/Microsoft.Cdn/profiles/{e['frontdoor_profile']}",
        f"{base}/Microsoft.Network/frontDoors/{e['frontdoor_classic_name']}",
    )


@pytest.fixture(scope="module")
def delayed() -> Iterator[SandboxClient]:
    """One sandbox for the module, its Front Door changes live only after DELAY seconds."""
    sb = start_sandbox(config={"frontdoor_propagation_delay": DELAY})
    try:
        yield sb
    finally:
        stop_sandbox(sb.state_dir)


def test_each_kind_has_its_own_metric_names_and_classic_splits_by_status_group(
    delayed: SandboxClient,
) -> None:
    url = delayed.endpoints["frontdoor_url"]
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    assert [requests.get(url + "/health", timeout=10).status_code for _ in range(3)] == [200] * 3
    assert requests.get(url + "/no-such-page", timeout=10).status_code == 404
    until_ = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
    span = f"{since.isoformat()}/{until_.isoformat()}"
    standard, classic = ids(delayed)
    with sdk(MonitorManagementClient, delayed) as monitor:
        assert monitor.metrics.list(standard, timespan=span, metricnames="Percentage5XX").value[
            0
        ].name.value == ("Percentage5XX")
        with pytest.raises(HttpResponseError) as info:
            monitor.metrics.list(classic, timespan=span, metricnames="RequestCount,Percentage5XX")
        assert info.value.status_code == 400
        assert (
            "Failed to find metric configuration for provider: Microsoft.Network, resource Type: frontdoors"
            in (str(info.value))
        )
        result = monitor.metrics.list(
            classic,
            timespan=span,
            metricnames="RequestCount",
            aggregation="Total",
            filter="HttpStatusGroup eq '*'",
        )
    groups = {
        series.metadatavalues[0].value: sum(p.total or 0 for p in series.data)
        for series in result.value[0].timeseries
    }
    assert groups.get("2xx", 0) >= 3 and groups.get("4xx", 0) >= 1


def test_a_classic_put_replaces_the_whole_resource(delayed: SandboxClient) -> None:
    e = delayed.endpoints
    green = e["frontdoor_classic_backend_pools"]["uksouth-green"]
    with sdk(FrontDoorManagementClient, delayed) as fd, sdk(CdnManagementClient, delayed) as cdn:
        door = fd.front_doors.get(e["frontdoor_resource_group"], e["frontdoor_classic_name"])
        routed = door.routing_rules[0].route_configuration.backend_pool.id.rsplit("/", 1)[1]
        door.backend_pools = [p for p in door.backend_pools if p.name != routed]
        with pytest.raises(HttpResponseError) as info:  # the rule still points at the pool left out
            fd.front_doors.begin_create_or_update(e["frontdoor_resource_group"], door.name, door).result()
        assert info.value.status_code == 400
        door = fd.front_doors.get(e["frontdoor_resource_group"], e["frontdoor_classic_name"])
        door.backend_pools = [p for p in door.backend_pools if p.name != green]
        fd.front_doors.begin_create_or_update(e["frontdoor_resource_group"], door.name, door).result()
        after = fd.front_doors.get(e["frontdoor_resource_group"], door.name)
        assert green not in {p.name for p in after.backend_pools}  # left out, so removed
        groups = cdn.afd_origin_groups.list_by_profile(e["frontdoor_resource_group"], e["frontdoor_profile"])
        assert green not in {g.name for g in groups}  # the same model: gone from the Standard view too


def test_a_route_change_reaches_the_router_after_the_propagation_delay(delayed: SandboxClient) -> None:
    e = delayed.endpoints
    rg, profile, endpoint, route = (
        e["frontdoor_resource_group"],
        e["frontdoor_profile"],
        e["frontdoor_endpoint"],
        e["frontdoor_route"],
    )
    blue, standby = (
        e["frontdoor_origin_groups"]["uksouth-blue"],
        e["frontdoor_origin_groups"]["ukwest-standby"],
    )

    def served() -> requests.Response:
        return requests.get(e["frontdoor_url"] + "/health", timeout=10)

    with sdk(CdnManagementClient, delayed) as cdn:
        current = cdn.routes.get(rg, profile, endpoint, route)
        group_id = current.origin_group.id.rsplit("/", 1)[0] + "/" + standby
        body = {"properties": {"originGroup": {"id": group_id}}}
        assert (
            cdn.routes.begin_update(rg, profile, endpoint, route, body).result().provisioning_state
            == "Succeeded"
        )
        assert cdn.routes.get(rg, profile, endpoint, route).deployment_status == "InProgress"
        assert served().headers.get("X-Sandbox-Origin-Group") == blue  # the operation is done, not yet live
        until(
            lambda: cdn.routes.get(rg, profile, endpoint, route).deployment_status == "Succeeded",
            "deployed",
            30,
        )
        assert served().status_code == 503  # now live: the standby is stopped, no healthy origin
