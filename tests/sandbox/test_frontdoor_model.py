"""The Front Door model in-process: propagation delay and deploymentStatus, and classic PUTs that are
validated as a whole before they change anything."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import pytest

from sandbox.arm import ArmError
from sandbox.context import SandboxContext, Settings
from sandbox.estate import Estate
from sandbox.frontdoor import FrontDoorModel, build_estate, origin_group_name
from sandbox.frontdoor_classic import ClassicFrontDoor
from sandbox.router import Router
from tests.polling import until_async


async def _model(tmp_path: Path, delay: float) -> tuple[SandboxContext, FrontDoorModel]:
    ctx = SandboxContext(tmp_path, Estate(), Settings(extra={"frontdoor_propagation_delay": delay}))
    router = Router()
    await router.start()
    estate = ctx.estate
    model = FrontDoorModel(
        ctx,
        router,
        rg=estate.resource_group(estate.primary_region),
        profile=estate.frontdoor_profile,
        endpoint=estate.frontdoor_endpoint,
    )
    model.delay, saved = 0.0, model.delay
    ports = {name: 1 + i for i, name in enumerate(estate.container_groups.values())}
    build_estate(model, ctx, ports)
    model.delay = saved
    return ctx, model


def test_changes_go_live_after_the_propagation_delay(tmp_path: Path) -> None:
    async def scenario() -> None:
        ctx, model = await _model(tmp_path, delay=0.3)
        try:
            route = ctx.estate.frontdoor_route
            blue, standby = origin_group_name(ctx, "uksouth-blue"), origin_group_name(ctx, "ukwest-standby")
            assert model.router.config.route_group == blue
            model.put_route(route, {"originGroup": {"id": model.group_id(standby)}}, patch=True)
            assert model.route_view(route)["properties"]["deploymentStatus"] == "InProgress"
            assert model.router.config.route_group == blue  # not live yet
            await until_async(
                lambda: model.deployment_status(f"route/{route}") == "Succeeded",
                "the route's deployment has succeeded",
                timeout=10,
                interval=0.02,
            )
            assert model.router.config.route_group == standby
        finally:
            await model.close()

    asyncio.run(scenario())


def test_a_bad_classic_put_changes_nothing_and_a_good_one_changes_both_views(tmp_path: Path) -> None:
    async def scenario() -> None:
        _, model = await _model(tmp_path, delay=0.0)
        try:
            classic = ClassicFrontDoor(model, name="fd-qlp", rule="rr-qlp")
            view = classic.view()
            before = (copy.deepcopy(model.routes), copy.deepcopy(model.origins))
            bad = copy.deepcopy(view)
            bad["properties"]["routingRules"][0]["properties"]["routeConfiguration"]["backendPool"]["id"] += (
                "-nope"
            )
            bad["properties"]["backendPools"][0]["properties"]["backends"][0]["enabledState"] = "Disabled"
            with pytest.raises(ArmError) as err:
                classic.apply(bad)
            assert err.value.status == 400
            assert (model.routes, model.origins) == before
            good = copy.deepcopy(view)
            pool = good["properties"]["backendPools"][0]
            pool["properties"]["backends"][0]["enabledState"] = "Disabled"
            pool["properties"]["backends"][0]["priority"] = 3
            classic.apply(good)
            (origin,) = model.origins[pool["name"]].values()
            assert (origin["enabledState"], origin["priority"]) == ("Disabled", 3)
            routed = model.router.config.groups[pool["name"]].origins
            assert [o.enabled for o in routed.values()] == [False]
        finally:
            await model.close()

    asyncio.run(scenario())
