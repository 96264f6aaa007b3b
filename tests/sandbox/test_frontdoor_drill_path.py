"""A drill-only path on the Standard Front Door through azure-mgmt-cdn: an origin group, its origin and a
second route on `/drill/*` are created and deleted as the SDK sends them; the drill route takes only its
pattern (prefix rewritten to its originPath), production's `/*` route keeps serving everything else."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cdn import CdnManagementClient

from sandbox.client import SandboxClient
from tests.support.frontdoor import mgmt, through_router

pytestmark = pytest.mark.sandbox


@pytest.fixture
def cdn(sandbox: SandboxClient) -> Iterator[CdnManagementClient]:
    with mgmt(CdnManagementClient, sandbox) as client:
        yield client


def served_by(sb: SandboxClient, path: str) -> tuple[int, str | None]:
    """(status, origin group the router says served it) for one request through the endpoint."""
    try:
        with urllib.request.urlopen(sb.endpoints["frontdoor_url"] + path, timeout=15) as resp:
            return int(resp.status), resp.headers.get("X-Sandbox-Origin-Group")
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), exc.headers.get("X-Sandbox-Origin-Group")


def _names() -> tuple[str, str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"og-drill-{tag}", f"drill-{tag}", f"route-drill-{tag}"


def _make(cdn: CdnManagementClient, ep: dict[str, Any], names: tuple[str, str, str], pattern: str) -> None:
    rg, profile = ep["frontdoor_resource_group"], ep["frontdoor_profile"]
    group, origin, route = names
    target = ep["container_groups"]["uksouth-blue"]  # a running container group (standby is stopped)
    probe = {"probePath": "/health", "probeProtocol": "Http", "probeIntervalInSeconds": 30}
    cdn.afd_origin_groups.begin_create(
        rg, profile, group, {"properties": {"healthProbeSettings": probe}}
    ).result()
    body = {"properties": {"hostName": "127.0.0.1", "httpPort": ep["container_ports"][target]}}
    cdn.afd_origins.begin_create(rg, profile, group, origin, body).result()
    group_id = cdn.afd_origin_groups.get(rg, profile, group).id
    props = {"originGroup": {"id": group_id}, "patternsToMatch": [pattern], "originPath": "/"}
    cdn.routes.begin_create(rg, profile, ep["frontdoor_endpoint"], route, {"properties": props}).result()


def _remove(cdn: CdnManagementClient, ep: dict[str, Any], names: tuple[str, str, str]) -> None:
    rg, profile = ep["frontdoor_resource_group"], ep["frontdoor_profile"]
    group, origin, route = names
    cdn.routes.begin_delete(rg, profile, ep["frontdoor_endpoint"], route).result()
    cdn.afd_origins.begin_delete(rg, profile, group, origin).result()
    cdn.afd_origin_groups.begin_delete(rg, profile, group).result()


def test_a_drill_route_serves_its_pattern_from_the_drill_group_and_is_deleted(
    sandbox: SandboxClient, cdn: CdnManagementClient
) -> None:
    ep = sandbox.endpoints
    rg, profile, endpoint = ep["frontdoor_resource_group"], ep["frontdoor_profile"], ep["frontdoor_endpoint"]
    names = _names()
    group, origin, route = names
    blue, blue_group = ep["container_groups"]["uksouth-blue"], ep["frontdoor_origin_groups"]["uksouth-blue"]
    assert served_by(sandbox, "/drill/api/v1/status") == (404, blue_group)  # production does not serve it
    _make(cdn, ep, names, "/drill/*")
    try:
        assert served_by(sandbox, "/drill/api/v1/status") == (200, group)  # /drill/ rewritten to /
        assert through_router(sandbox, "/drill/api/v1/status") == (200, blue)
        assert served_by(sandbox, "/drill")[1] == group  # the pattern also matches /drill itself
        assert served_by(sandbox, "/api/v1/status") == (200, blue_group)  # production's /* is unchanged
        routes = {r.name: r for r in cdn.routes.list_by_endpoint(rg, profile, endpoint)}
        assert routes[route].patterns_to_match == ["/drill/*"]
        assert routes[ep["frontdoor_route"]].origin_group.id.endswith(
            ep["frontdoor_origin_groups"]["uksouth-blue"]
        )
        assert cdn.afd_origins.get(rg, profile, group, origin).http_port == ep["container_ports"][blue]
    finally:
        _remove(cdn, ep, names)
    for read in (
        lambda: cdn.routes.get(rg, profile, endpoint, route),
        lambda: cdn.afd_origins.get(rg, profile, group, origin),
        lambda: cdn.afd_origin_groups.get(rg, profile, group),
    ):
        with pytest.raises(ResourceNotFoundError):
            read()
    _remove(cdn, ep, names)  # deleting what is gone succeeds
    assert served_by(sandbox, "/drill/api/v1/status") == (404, blue_group)
    assert served_by(sandbox, "/api/v1/status") == (200, blue_group)


def test_clashing_routes_and_deleting_a_group_in_use_are_refused(
    sandbox: SandboxClient, cdn: CdnManagementClient
) -> None:
    ep = sandbox.endpoints
    rg, profile, endpoint = ep["frontdoor_resource_group"], ep["frontdoor_profile"], ep["frontdoor_endpoint"]
    names = _names()
    with pytest.raises(HttpResponseError) as clash:
        _make(cdn, ep, names, "/*")
    assert clash.value.status_code == 409
    with pytest.raises(ResourceNotFoundError):
        cdn.routes.get(rg, profile, endpoint, names[2])
    _make(cdn, ep, names, "/drill/*")
    try:
        with pytest.raises(HttpResponseError) as in_use:
            cdn.afd_origin_groups.begin_delete(rg, profile, names[0]).result()
        assert in_use.value.status_code == 409
        assert cdn.afd_origin_groups.get(rg, profile, names[0]).name == names[0]
        with pytest.raises(HttpResponseError) as production:
            cdn.routes.begin_delete(rg, profile, endpoint, ep["frontdoor_route"]).result()
        assert production.value.status_code == 409
    finally:
        _remove(cdn, ep, names)
    assert [r.name for r in cdn.routes.list_by_endpoint(rg, profile, endpoint)] == [ep["frontdoor_route"]]


def test_an_origin_group_probe_is_refused_outside_the_rest_specs_enums(
    sandbox: SandboxClient, cdn: CdnManagementClient
) -> None:
    ep = sandbox.endpoints
    rg, profile = ep["frontdoor_resource_group"], ep["frontdoor_profile"]
    group = _names()[0]
    for key, value in (("probeProtocol", "Gopher"), ("probeRequestType", "POST")):
        probe = {"probePath": "/health", key: value, "probeIntervalInSeconds": 30}
        with pytest.raises(HttpResponseError) as refused:
            cdn.afd_origin_groups.begin_create(
                rg, profile, group, {"properties": {"healthProbeSettings": probe}}
            )
        assert refused.value.status_code == 400 and key in str(refused.value.message)
    with pytest.raises(ResourceNotFoundError):  # nothing refused was made
        cdn.afd_origin_groups.get(rg, profile, group)
    probe = {"probePath": "/health", "probeProtocol": "https", "probeRequestType": "head"}  # ARM ignores case
    cdn.afd_origin_groups.begin_create(
        rg, profile, group, {"properties": {"healthProbeSettings": probe}}
    ).result()
    cdn.afd_origin_groups.begin_delete(rg, profile, group).result()
