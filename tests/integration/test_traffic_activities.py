"""Front Door activities, Standard (azure-mgmt-cdn) and classic (azure-mgmt-frontdoor), against the
sandbox router: a switched route really changes which process answers the public endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.app_settings import app_settings
from sandbox.client import SandboxClient
from shared import names
from tests.polling import until
from tests.support.activities import Activity, caller

pytestmark = pytest.mark.sandbox


@pytest.fixture(params=["standard", "classic"])
def fd(request: pytest.FixtureRequest, sandbox: SandboxClient) -> Activity:
    return caller(app_settings(sandbox.endpoints, frontdoor_kind=request.param))


@pytest.fixture(scope="module")
def green_running(sandbox: SandboxClient) -> Iterator[str]:
    """The idle green slot started for these tests, and put back as it was afterwards."""
    act = caller(app_settings(sandbox.endpoints))
    green = sandbox.endpoints["container_groups"]["uksouth-green"]
    started = act(names.CONTAINERS_START_GROUP, group=green)
    yield green
    if started["changed"]:
        act(names.CONTAINERS_STOP_GROUP, group=green)


def _eventually_healthy(act: Activity, pool: str, timeout: float = 30.0) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def one_healthy() -> dict[str, Any] | None:
        seen.append(act(names.TRAFFIC_LIST_HEALTHY_ORIGINS, origin_group=pool))
        return seen[-1] if seen[-1]["healthy_count"] == 1 else None

    return until(one_healthy, lambda: f"one origin of {pool} is healthy: {seen[-1]}", timeout)


def _serving(act: Activity, public: str, group: str, timeout: float = 30.0) -> None:
    until(
        lambda: act(names.PROBE_HTTP, url=f"{public}/api/v1/status", body_contains=group, timeout_seconds=2)[
            "ok"
        ],
        f"the public endpoint serves from {group}",
        timeout,
    )


def test_route_switch_is_idempotent_and_moves_real_traffic(
    fd: Activity, sandbox: SandboxClient, green_running: str
) -> None:
    ep = sandbox.endpoints
    blue_pool, green_pool = (
        ep["frontdoor_origin_groups"]["uksouth-blue"],
        ep["frontdoor_origin_groups"]["uksouth-green"],
    )
    route = fd(names.TRAFFIC_GET_ROUTE)
    assert route["origin_group"] == blue_pool and route["endpoint_url"] == ep["frontdoor_url"]
    try:
        switched = [fd(names.TRAFFIC_SWITCH_ROUTE, origin_group=green_pool) for _ in range(2)]
        assert [s["changed"] for s in switched] == [True, False]
        assert switched[0]["previous_origin_group"] == blue_pool
        assert fd(names.TRAFFIC_GET_ROUTE)["origin_group"] == green_pool
        _serving(fd, ep["frontdoor_url"], ep["container_groups"]["uksouth-green"])
    finally:
        back = fd(names.TRAFFIC_SWITCH_ROUTE, origin_group=blue_pool)
    assert back["changed"] is True
    _serving(fd, ep["frontdoor_url"], ep["container_groups"]["uksouth-blue"])


def test_healthy_origins_follow_real_processes_and_enabled_state(
    fd: Activity, sandbox: SandboxClient
) -> None:
    ep = sandbox.endpoints
    green_pool = ep["frontdoor_origin_groups"]["uksouth-green"]
    standby_pool = ep["frontdoor_origin_groups"]["ukwest-standby"]
    green = _eventually_healthy(fd, green_pool)
    assert (
        green["healthy_count"] == 1
        and green["origins"][0]["port"] == ep["container_ports"][ep["container_groups"]["uksouth-green"]]
    )
    assert fd(names.TRAFFIC_LIST_HEALTHY_ORIGINS, origin_group=standby_pool)["healthy_count"] == 0  # stopped
    origin = green["origins"][0]["name"]
    try:
        disabled = [
            fd(names.TRAFFIC_SET_ORIGIN_STATE, origin_group=green_pool, origin=origin, enabled=False)
            for _ in range(2)
        ]
        assert [d["changed"] for d in disabled] == [True, False]
        after = fd(names.TRAFFIC_LIST_HEALTHY_ORIGINS, origin_group=green_pool)
        assert (after["origins"][0]["enabled"], after["healthy_count"]) == (False, 0)
    finally:
        enabled = fd(names.TRAFFIC_SET_ORIGIN_STATE, origin_group=green_pool, origin=origin, enabled=True)
    assert enabled["changed"] is True
    _eventually_healthy(fd, green_pool)


def test_unknown_origin_group_is_a_permanent_error_naming_it(fd: Activity) -> None:
    with pytest.raises(Exception, match=r"^permanent: .*og-nowhere"):
        fd(names.TRAFFIC_LIST_HEALTHY_ORIGINS, origin_group="og-nowhere")


def test_each_origin_group_reads_back_its_health_probe_settings(fd: Activity, sandbox: SandboxClient) -> None:
    ep = sandbox.endpoints
    for pool in ep["frontdoor_origin_groups"].values():
        found = fd(names.TRAFFIC_LIST_HEALTHY_ORIGINS, origin_group=pool)
        assert (found["probe_path"], found["probe_protocol"]) == ("/health", "Http"), found
    blue = _eventually_healthy(fd, ep["frontdoor_origin_groups"]["uksouth-blue"])
    (origin,) = blue["origins"]
    port = ep["container_ports"][ep["container_groups"]["uksouth-blue"]]
    assert origin["probe"]["url"] == f"http://127.0.0.1:{port}/health" and origin["probe"]["status"] == 200
