"""METRICS_GET_WINDOW asks each Front Door kind only for what it publishes: classic has no Percentage5XX,
so its 5xx share comes from the request count per HttpStatusGroup; Standard reads Percentage5XX."""

from __future__ import annotations

import pytest

from sandbox.app_settings import app_settings
from sandbox.client import SandboxClient
from shared import names
from tests.support.activities import Activity, caller

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize("kind", ["standard", "classic"])
def test_the_5xx_share_and_request_count_per_front_door_kind(
    act: Activity, sandbox: SandboxClient, kind: str
) -> None:
    of_kind = caller(app_settings(sandbox.endpoints, frontdoor_kind=kind))
    public = sandbox.endpoints["frontdoor_url"]
    for _ in range(4):
        assert act(names.PROBE_HTTP, url=f"{public}/health")["ok"]
    window = of_kind(names.METRICS_GET_WINDOW, target="frontdoor", minutes=5)
    provider = "Microsoft.Network/frontDoors" if kind == "classic" else "Microsoft.Cdn/profiles"
    assert provider in window["resource_id"]
    assert window["window"]["request_count"] >= 4
    share = window["window"]["error_5xx_percent"]
    assert share is not None and 0 <= share <= 100
    assert window["window"]["latency_ms"] is not None
