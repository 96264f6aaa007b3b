"""Front Door through azure-mgmt-cdn (Standard) and azure-mgmt-frontdoor (classic): one router, two views;
traffic really moves, and a region outage really fails the router until traffic moves."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cdn import CdnManagementClient
from azure.mgmt.cdn.models import AFDOriginUpdateParameters, ResourceReference, RouteUpdateParameters
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.frontdoor import FrontDoorManagementClient
from azure.mgmt.monitor import MonitorManagementClient

from sandbox.client import SandboxClient
from tests.polling import until
from tests.support.frontdoor import mgmt, through_router

pytestmark = pytest.mark.sandbox


@pytest.fixture
def cdn(sandbox: SandboxClient) -> Iterator[CdnManagementClient]:
    with mgmt(CdnManagementClient, sandbox) as client:
        yield client


def test_the_standard_profile_describes_the_router(sandbox: SandboxClient, cdn: CdnManagementClient) -> None:
    ep = sandbox.endpoints
    rg, profile = ep["frontdoor_resource_group"], ep["frontdoor_profile"]
    endpoint = cdn.afd_endpoints.get(rg, profile, ep["frontdoor_endpoint"])
    assert f"http://{endpoint.host_name}" == ep["frontdoor_url"]
    assert endpoint.deployment_status == "Succeeded"
    route = cdn.routes.get(rg, profile, ep["frontdoor_endpoint"], ep["frontdoor_route"])
    assert route.origin_group.id.endswith("/originGroups/" + ep["frontdoor_origin_groups"]["uksouth-blue"])
    groups = {g.name: g for g in cdn.afd_origin_groups.list_by_profile(rg, profile)}
    assert set(groups) == set(ep["frontdoor_origin_groups"].values())
    assert groups[ep["frontdoor_origin_groups"]["uksouth-blue"]].health_probe_settings.probe_path == "/health"
    for key, group in ep["frontdoor_origin_groups"].items():
        (origin,) = list(cdn.afd_origins.list_by_origin_group(rg, profile, group))
        container = ep["container_groups"][key]
        assert (origin.name, origin.host_name) == (container, "127.0.0.1")
        assert origin.http_port == ep["container_ports"][container]
        assert origin.enabled_state == "Enabled" and origin.deployment_status == "Succeeded"
    assert through_router(sandbox) == (200, ep["container_groups"]["uksouth-blue"])


def test_the_classic_front_door_mirrors_the_same_pools(sandbox: SandboxClient) -> None:
    ep = sandbox.endpoints
    with mgmt(FrontDoorManagementClient, sandbox) as client:
        fd = client.front_doors.get(ep["frontdoor_resource_group"], ep["frontdoor_classic_name"])
    (rule,) = fd.routing_rules
    assert rule.name == ep["frontdoor_classic_routing_rule"]
    assert rule.route_configuration.backend_pool.id.endswith(
        "/backendPools/" + ep["frontdoor_classic_backend_pools"]["uksouth-blue"]
    )
    pools = {p.name: p for p in fd.backend_pools}
    assert set(pools) == set(ep["frontdoor_classic_backend_pools"].values())
    blue = pools[ep["frontdoor_classic_backend_pools"]["uksouth-blue"]].backends[0]
    assert (blue.address, blue.http_port, blue.enabled_state) == (
        "127.0.0.1",
        ep["container_ports"][ep["container_groups"]["uksouth-blue"]],
        "Enabled",
    )


def test_bad_updates_are_refused_and_change_nothing(sandbox: SandboxClient, cdn: CdnManagementClient) -> None:
    ep = sandbox.endpoints
    rg, profile = ep["frontdoor_resource_group"], ep["frontdoor_profile"]
    group, origin = ep["frontdoor_origin_groups"]["uksouth-blue"], ep["container_groups"]["uksouth-blue"]
    with pytest.raises(HttpResponseError) as err:
        cdn.afd_origins.begin_update(
            rg, profile, group, origin, AFDOriginUpdateParameters(weight=5000)
        ).result()
    assert err.value.status_code == 400
    assert cdn.afd_origins.get(rg, profile, group, origin).weight == 1000
    missing = ResourceReference(
        id=f"/subscriptions/x/resourceGroups/{rg}/providers/Microsoft.Cdn/profiles/{profile}/originGroups/nope"
    )
    with pytest.raises(HttpResponseError):
        cdn.routes.begin_update(
            rg,
            profile,
            ep["frontdoor_endpoint"],
            ep["frontdoor_route"],
            RouteUpdateParameters(origin_group=missing),
        ).result()
    with pytest.raises(ResourceNotFoundError):
        cdn.afd_origin_groups.get(rg, profile, "no-such-group")
    assert through_router(sandbox) == (200, ep["container_groups"]["uksouth-blue"])


def _request_metrics(sb: SandboxClient, since: datetime.datetime) -> dict[str, list[Any]]:
    ep = sb.endpoints
    rid = (
        f"/subscriptions/{ep['subscription_id']}/resourceGroups/{ep['frontdoor_resource_group']}"
        f"/providers/Microsoft.Cdn/profiles/{ep['frontdoor_profile']}"
    )
    end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
    with mgmt(MonitorManagementClient, sb) as monitor:
        result = monitor.metrics.list(
            rid,
            timespan=f"{since.isoformat()}/{end.isoformat()}",
            interval="PT1M",
            metricnames="RequestCount,Percentage5XX",
        )
    return {m.name.value: m.timeseries[0].data for m in result.value}


def test_an_outage_fails_the_router_until_traffic_moves(
    sandbox_factory: Callable[..., SandboxClient],
) -> None:
    sb = sandbox_factory()
    ep = sb.endpoints
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    rg, profile, fd_endpoint = (
        ep["frontdoor_resource_group"],
        ep["frontdoor_profile"],
        ep["frontdoor_endpoint"],
    )
    blue, standby = ep["container_groups"]["uksouth-blue"], ep["container_groups"]["ukwest-standby"]
    with (
        mgmt(CdnManagementClient, sb) as cdn,
        mgmt(ContainerInstanceManagementClient, sb) as ci,
        mgmt(FrontDoorManagementClient, sb) as classic,
    ):
        ci.container_groups.begin_start(ep["resource_groups"]["secondary"], standby).result()
        assert through_router(sb) == (200, blue)

        sb.fault("region-outage", region="uksouth")
        until(lambda: through_router(sb)[0] == 503, "the router sees its uksouth origins fail")
        assert through_router(sb) == (503, None)  # and keeps failing: traffic has not moved

        standby_group = cdn.afd_origin_groups.get(
            rg, profile, ep["frontdoor_origin_groups"]["ukwest-standby"]
        )
        route = cdn.routes.begin_update(
            rg,
            profile,
            fd_endpoint,
            ep["frontdoor_route"],
            RouteUpdateParameters(origin_group=ResourceReference(id=standby_group.id)),
        ).result()
        assert route.origin_group.id == standby_group.id
        until(lambda: through_router(sb) == (200, standby), "the router serves from the standby group")
        fd = classic.front_doors.get(rg, ep["frontdoor_classic_name"])
        assert fd.routing_rules[0].route_configuration.backend_pool.id.endswith("/" + standby_group.name)

        result = sb.fault("heal", region="uksouth")
        assert blue in result["containers_restarted"]
        fd.routing_rules[0].route_configuration.backend_pool.id = (
            fd.routing_rules[0].route_configuration.backend_pool.id.rsplit("/", 1)[0]
            + "/"
            + ep["frontdoor_classic_backend_pools"]["uksouth-blue"]
        )
        classic.front_doors.begin_create_or_update(rg, fd.name, fd).result()
        until(lambda: through_router(sb) == (200, blue), "the classic update moves traffic back to blue")
        assert cdn.routes.get(rg, profile, fd_endpoint, ep["frontdoor_route"]).origin_group.id.endswith(
            "/" + ep["frontdoor_origin_groups"]["uksouth-blue"]
        )

        blue_group = ep["frontdoor_origin_groups"]["uksouth-blue"]
        cdn.afd_origins.begin_update(
            rg, profile, blue_group, blue, AFDOriginUpdateParameters(enabled_state="Disabled")
        ).result()
        assert through_router(sb)[0] == 503
        cdn.afd_origins.begin_update(
            rg, profile, blue_group, blue, AFDOriginUpdateParameters(enabled_state="Enabled")
        ).result()
        assert through_router(sb) == (200, blue)

    metrics = _request_metrics(sb, since)
    assert sum(p.total or 0 for p in metrics["RequestCount"]) >= 6
    assert max(p.average or 0 for p in metrics["Percentage5XX"]) > 0
