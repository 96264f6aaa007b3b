"""Front Door Standard/Premium (Microsoft.Cdn/profiles): endpoint, routes, origin groups and origins.

Shapes follow azure-mgmt-cdn 14.1.0 (api-version 2026-10-01): afdEndpoints get; routes get, list, create
(PUT), update (PATCH) and delete; originGroups get, list, create, update and delete; origins get, list,
create, update and delete — the writes are long-running operations (a delete of what is not there answers
204, as ARM does). The first route is the production route (`/*`); further routes on the endpoint need
patterns no other route has, and the router gives each request to the most specific matching pattern. An
origin group a route uses cannot be deleted (409).
The resources' properties are the single model of the configuration; every change is published to
the router after the propagation delay (setting `frontdoor_propagation_delay`,
seconds, default 0), and until then the changed resources report `deploymentStatus: InProgress`.
The classic API (sandbox/frontdoor_classic.py) reads and writes this same model.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.arm import ArmApi, ArmError
from sandbox.context import SandboxContext
from sandbox.router import GroupConfig, OriginConfig, Router, RouterConfig

PROFILE = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Cdn/profiles/{profile}"
EDITABLE_ORIGIN = (
    "hostName",
    "httpPort",
    "httpsPort",
    "originHostHeader",
    "priority",
    "weight",
    "enabledState",
    "enforceCertificateNameCheck",
    "azureOrigin",
)
EDITABLE_ROUTE = (
    "originGroup",
    "patternsToMatch",
    "supportedProtocols",
    "forwardingProtocol",
    "httpsRedirect",
    "linkToDefaultDomain",
    "enabledState",
    "originPath",
    "customDomains",
    "ruleSets",
    "cacheConfiguration",
)
EDITABLE_GROUP = (
    "healthProbeSettings",
    "loadBalancingSettings",
    "sessionAffinityState",
    "trafficRestorationTimeToHealedOrNewEndpointsInMinutes",
)


def _bad(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


def check_origin_props(props: dict[str, Any]) -> None:
    """Validate the writable origin fields present in `props` (400 on a bad value, nothing changed)."""
    if "enabledState" in props and props["enabledState"] not in ("Enabled", "Disabled"):
        raise _bad("enabledState must be 'Enabled' or 'Disabled'.")
    if "priority" in props and (not isinstance(props["priority"], int) or not 1 <= props["priority"] <= 5):
        raise _bad("priority must be an integer from 1 to 5.")
    if "weight" in props and (not isinstance(props["weight"], int) or not 1 <= props["weight"] <= 1000):
        raise _bad("weight must be an integer from 1 to 1000.")
    for port in ("httpPort", "httpsPort"):
        if port in props and (not isinstance(props[port], int) or not 1 <= props[port] <= 65535):
            raise _bad(f"{port} must be an integer from 1 to 65535.")
    if "hostName" in props and (not isinstance(props["hostName"], str) or not props["hostName"]):
        raise _bad("hostName must be a non-empty string.")


PROBE_PROTOCOLS = ("NotSet", "Http", "Https")
PROBE_REQUEST_TYPES = ("NotSet", "GET", "HEAD")


def check_group_props(props: dict[str, Any]) -> None:
    """Validate an origin group's health probe settings when present."""
    probe = props.get("healthProbeSettings")
    if probe is None:
        return
    if not isinstance(probe, dict):
        raise _bad("healthProbeSettings must be an object.")
    path = probe.get("probePath", "/")
    if not isinstance(path, str) or not path.startswith("/"):
        raise _bad("healthProbeSettings.probePath must start with '/'.")
    interval = probe.get("probeIntervalInSeconds", 1)
    if not isinstance(interval, int | float) or not 0 < interval <= 255:
        raise _bad("healthProbeSettings.probeIntervalInSeconds must be from 1 to 255.")
    for key, allowed in (("probeProtocol", PROBE_PROTOCOLS), ("probeRequestType", PROBE_REQUEST_TYPES)):
        value = probe.get(key)  # the REST spec's enums, matched regardless of case as ARM does
        if value is not None and (
            not isinstance(value, str) or value.lower() not in {a.lower() for a in allowed}
        ):
            raise _bad(f"healthProbeSettings.{key} '{value}' is not one of {', '.join(allowed)}.")


class FrontDoorModel:
    """One profile with one endpoint: routes, origin groups and origins, and what the router serves."""

    def __init__(self, ctx: SandboxContext, router: Router, *, rg: str, profile: str, endpoint: str) -> None:
        self.ctx, self.router = ctx, router
        self.rg, self.profile, self.endpoint = rg, profile, endpoint
        self.delay = float(ctx.settings.extra.get("frontdoor_propagation_delay", 0.0))
        self.probe_interval = float(ctx.settings.extra.get("frontdoor_probe_interval", 1.0))
        self.routes: dict[str, dict[str, Any]] = {}  # name -> properties
        self.groups: dict[str, dict[str, Any]] = {}  # name -> properties
        self.origins: dict[str, dict[str, dict[str, Any]]] = {}  # group -> origin -> properties
        self.names: dict[str, str] = {}  # lower-case -> real name, for routes, groups, origins
        self.pending: dict[str, int] = {}  # resource key -> changes not yet live
        self.listeners: list[Any] = []  # callables run after each change (the classic view)

    # ---- ids and names -------------------------------------------------------------------------------
    @property
    def profile_id(self) -> str:
        return self.ctx.estate.resource_id(self.rg, "Microsoft.Cdn/profiles", self.profile)

    def group_id(self, group: str) -> str:
        return f"{self.profile_id}/originGroups/{group}"

    def real(self, name: str) -> str | None:
        return self.names.get(name.lower())

    def group_name_from_id(self, ref: Any) -> str:
        rid = ref.get("id") if isinstance(ref, dict) else None
        if not isinstance(rid, str) or "/origingroups/" not in rid.lower():
            raise _bad("originGroup.id must be an origin group resource id.")
        name = self.real(rid.rstrip("/").rsplit("/", 1)[1])
        if name is None or name not in self.groups:
            raise _bad(f"Origin group '{rid}' does not exist in profile '{self.profile}'.")
        return name

    # ---- changes and publication ---------------------------------------------------------------------
    def router_config(self) -> RouterConfig:
        groups = {}
        for name, props in self.groups.items():
            probe = props.get("healthProbeSettings") or {}
            origins = {
                o: OriginConfig(
                    host=p["hostName"],
                    port=int(p.get("httpPort", 80)),
                    enabled=p.get("enabledState") != "Disabled",
                    priority=int(p.get("priority", 1)),
                    weight=int(p.get("weight", 1000)),
                )
                for o, p in self.origins.get(name, {}).items()
            }
            groups[name] = GroupConfig(
                origins,
                probe.get("probePath", "/"),
                float(probe.get("probeIntervalInSeconds", self.probe_interval)),
            )
        route = next(iter(self.routes.values()), None)
        enabled = route is not None and route.get("enabledState", "Enabled") == "Enabled"
        live = self.group_name_from_id(route["originGroup"]) if enabled and route else None
        further = tuple(
            (
                tuple(props.get("patternsToMatch") or ()),
                self.group_name_from_id(props["originGroup"]),
                props.get("originPath") or None,
            )
            for props in list(self.routes.values())[1:]
            if props.get("enabledState", "Enabled") == "Enabled"
        )
        return RouterConfig(route_group=live, groups=groups, routes=further)

    def changed(self, keys: list[str]) -> None:
        """Publish the model to the router now or after the propagation delay."""
        for key in keys:
            self.pending[key] = self.pending.get(key, 0) + 1
        for listener in self.listeners:
            listener()
        config = self.router_config()
        if self.delay <= 0:
            self._apply(config, keys)
        else:
            asyncio.get_running_loop().call_later(self.delay, self._apply, config, keys)

    def _apply(self, config: RouterConfig, keys: list[str]) -> None:
        self.router.set_config(config)
        for key in keys:
            self.pending[key] -= 1

    async def close(self) -> None:
        await self.router.close()

    def deployment_status(self, key: str) -> str:
        return "InProgress" if self.pending.get(key, 0) > 0 else "Succeeded"

    # ---- views -----------------------------------------------------------------------------------------
    def _resource(self, rid: str, name: str, rtype: str, props: dict[str, Any], key: str) -> dict[str, Any]:
        out = copy.deepcopy(props)
        out["provisioningState"] = "Succeeded"
        out["deploymentStatus"] = self.deployment_status(key)
        return {"id": rid, "name": name, "type": rtype, "properties": out}

    def endpoint_view(self) -> dict[str, Any]:
        props = {
            "hostName": f"127.0.0.1:{self.router.port}",
            "enabledState": "Enabled",
            "profileName": self.profile,
            "autoGeneratedDomainNameLabelScope": "TenantReuse",
        }
        view = self._resource(
            f"{self.profile_id}/afdEndpoints/{self.endpoint}",
            self.endpoint,
            "Microsoft.Cdn/profiles/afdendpoints",
            props,
            "endpoint",
        )
        view["location"] = "Global"
        return view

    def route_view(self, name: str) -> dict[str, Any]:
        props = {**self.routes[name], "endpointName": self.endpoint}
        return self._resource(
            f"{self.profile_id}/afdEndpoints/{self.endpoint}/routes/{name}",
            name,
            "Microsoft.Cdn/profiles/afdendpoints/routes",
            props,
            f"route/{name}",
        )

    def group_view(self, name: str) -> dict[str, Any]:
        props = {**self.groups[name], "profileName": self.profile}
        return self._resource(
            self.group_id(name), name, "Microsoft.Cdn/profiles/origingroups", props, f"group/{name}"
        )

    def origin_view(self, group: str, name: str) -> dict[str, Any]:
        props = {**self.origins[group][name], "originGroupName": group}
        return self._resource(
            f"{self.group_id(group)}/origins/{name}",
            name,
            "Microsoft.Cdn/profiles/origingroups/origins",
            props,
            f"origin/{group}/{name}",
        )

    # ---- writes (validated first; a bad body changes nothing) ----------------------------------------------
    def put_route(self, name: str, props: dict[str, Any], *, patch: bool) -> str:
        if name not in self.routes and patch:
            raise ArmError(404, "NotFound", f"Route '{name}' was not found.")
        current = copy.deepcopy(self.routes.get(name, {})) if patch else {}
        new = {**current, **{k: v for k, v in props.items() if k in EDITABLE_ROUTE}}
        if "originGroup" not in new:
            raise _bad("A route needs an originGroup.")
        self.group_name_from_id(new["originGroup"])
        new["originGroup"] = {"id": new["originGroup"]["id"]}
        patterns = new.get("patternsToMatch") or ["/*"]
        if not isinstance(patterns, list) or not all(
            isinstance(x, str) and x.startswith("/") for x in patterns
        ):
            raise _bad("patternsToMatch must be a list of paths starting with '/'.")
        taken = {
            x
            for other, props in self.routes.items()
            if other != name
            for x in props.get("patternsToMatch") or ["/*"]
        }
        clash = sorted(taken & set(patterns))
        if clash:
            raise ArmError(409, "Conflict", f"Another route on this endpoint already matches {clash}.")
        before = (self.routes.get(name) or {}).get("originGroup", {}).get("id")
        if before is not None and before.lower() != str(new["originGroup"]["id"]).lower():
            self.ctx.actions.record("route_switches", name)
        self.routes[name] = new
        self.names[name.lower()] = name
        self.changed([f"route/{name}"])
        return name

    def put_group(self, name: str, props: dict[str, Any], *, patch: bool) -> str:
        if name not in self.groups and patch:
            raise ArmError(404, "NotFound", f"Origin group '{name}' was not found.")
        check_group_props(props)
        current = copy.deepcopy(self.groups.get(name, {})) if patch else {}
        new = {**current, **{k: v for k, v in props.items() if k in EDITABLE_GROUP}}
        self.groups[name] = new
        self.origins.setdefault(name, {})
        self.names[name.lower()] = name
        self.changed([f"group/{name}"])
        return name

    def put_origin(self, group: str, name: str, props: dict[str, Any], *, patch: bool) -> str:
        check_origin_props(props)
        existing = self.origins[group].get(name)
        if existing is None and patch:
            raise ArmError(404, "NotFound", f"Origin '{name}' was not found in origin group '{group}'.")
        current = copy.deepcopy(existing or {}) if patch else {}
        new = {
            "httpPort": 80,
            "httpsPort": 443,
            "priority": 1,
            "weight": 1000,
            "enabledState": "Enabled",
            **current,
            **{k: v for k, v in props.items() if k in EDITABLE_ORIGIN},
        }
        if "hostName" not in new:
            raise _bad("An origin needs a hostName.")
        self.origins[group][name] = new
        self.names[name.lower()] = name
        self.changed([f"origin/{group}/{name}"])
        return name

    # ---- deletes (what is not there is not an error) -----------------------------------------------------
    def delete_route(self, name: str) -> None:
        if name == next(iter(self.routes), None) and len(self.routes) > 1:
            raise ArmError(
                409, "Conflict", "The production route cannot be deleted while other routes exist."
            )
        if self.routes.pop(name, None) is not None:
            self.changed([f"route/{name}"])

    def delete_group(self, name: str) -> None:
        if name not in self.groups:
            return
        users = [
            r for r, props in self.routes.items() if self.group_name_from_id(props["originGroup"]) == name
        ]
        if users:
            raise ArmError(409, "Conflict", f"Origin group '{name}' is used by route(s) {users}.")
        del self.groups[name]
        self.origins.pop(name, None)
        self.changed([f"group/{name}"])

    def delete_origin(self, group: str, name: str) -> None:
        if self.origins.get(group, {}).pop(name, None) is not None:
            self.changed([f"origin/{group}/{name}"])


class FrontDoorApi:
    """The ARM routes over the model."""

    def __init__(self, model: FrontDoorModel, arm: ArmApi) -> None:
        self.m, self.arm = model, arm

    def register(self) -> None:
        add = self.arm.add_route
        ep = PROFILE + "/afdEndpoints/{endpoint}"
        og = PROFILE + "/originGroups"
        add("GET", ep, self.get_endpoint)
        add("GET", ep + "/routes", self.list_routes)
        add("GET", ep + "/routes/{route}", self.get_route)
        add("PUT", ep + "/routes/{route}", self.put_route)
        add("PATCH", ep + "/routes/{route}", self.put_route)
        add("DELETE", ep + "/routes/{route}", self.delete_route)
        add("GET", og, self.list_groups)
        add("GET", og + "/{group}", self.get_group)
        add("PUT", og + "/{group}", self.put_group)
        add("PATCH", og + "/{group}", self.put_group)
        add("DELETE", og + "/{group}", self.delete_group)
        add("GET", og + "/{group}/origins", self.list_origins)
        add("GET", og + "/{group}/origins/{origin}", self.get_origin)
        add("PUT", og + "/{group}/origins/{origin}", self.put_origin)
        add("PATCH", og + "/{group}/origins/{origin}", self.put_origin)
        add("DELETE", og + "/{group}/origins/{origin}", self.delete_origin)

    def _profile(self, p: dict[str, str]) -> None:
        if p["rg"].lower() != self.m.rg.lower() or p["profile"].lower() != self.m.profile.lower():
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Cdn/profiles/{p['profile']}' under resource group "
                f"'{p['rg']}' was not found.",
            )

    def _endpoint(self, p: dict[str, str]) -> None:
        self._profile(p)
        if p["endpoint"].lower() != self.m.endpoint.lower():
            raise ArmError(404, "NotFound", f"Endpoint '{p['endpoint']}' was not found.")

    def _group(self, p: dict[str, str]) -> str:
        self._profile(p)
        name = self.m.real(p["group"])
        if name is None or name not in self.m.groups:
            raise ArmError(404, "NotFound", f"Origin group '{p['group']}' was not found.")
        return name

    def _origin(self, p: dict[str, str]) -> tuple[str, str]:
        group = self._group(p)
        name = self.m.real(p["origin"])
        if name is None or name not in self.m.origins[group]:
            raise ArmError(
                404, "NotFound", f"Origin '{p['origin']}' was not found in origin group '{group}'."
            )
        return group, name

    @staticmethod
    def _props(body: dict[str, Any]) -> dict[str, Any]:
        props = body.get("properties", {})
        if not isinstance(props, dict):
            raise _bad("properties must be an object.")
        return props

    def _begin_write(
        self, request: web.Request, view: Callable[[], dict[str, Any]], created: bool
    ) -> web.Response:
        """The write is made: answer the resource as being created (201) or updated (202); the
        operation's result is its view when the operation completes."""
        first = view()
        first["properties"]["provisioningState"] = "Updating" if not created else "Creating"
        return self.arm.begin_lro(request, view, status=201 if created else 202, body=first)

    async def get_endpoint(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._endpoint(p)
        return self.arm.json(self.m.endpoint_view())

    async def list_routes(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._endpoint(p)
        return self.arm.page([self.m.route_view(r) for r in self.m.routes])

    async def get_route(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._endpoint(p)
        name = self.m.real(p["route"])
        if name is None or name not in self.m.routes:
            raise ArmError(404, "NotFound", f"Route '{p['route']}' was not found.")
        return self.arm.json(self.m.route_view(name))

    async def put_route(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._endpoint(p)
        props = self._props(await self.arm.read_json(request))
        name = self.m.real(p["route"]) or p["route"]
        created = name not in self.m.routes
        self.m.put_route(name, props, patch=request.method == "PATCH")
        return self._begin_write(request, lambda: self.m.route_view(name), created)

    def _deleted(self, request: web.Request, existed: bool, remove: Any) -> web.Response:
        """ARM's delete: 204 when there was nothing, else the long-running delete (202)."""
        if not existed:
            return web.Response(status=204)
        remove()  # validated and applied now (a 409 changes nothing); the operation reports it done
        return self.arm.begin_lro(request)

    async def delete_route(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._endpoint(p)
        name = self.m.real(p["route"]) or p["route"]
        return self._deleted(request, name in self.m.routes, lambda: self.m.delete_route(name))

    async def delete_group(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._profile(p)
        name = self.m.real(p["group"]) or p["group"]
        return self._deleted(request, name in self.m.groups, lambda: self.m.delete_group(name))

    async def delete_origin(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._profile(p)
        group = self.m.real(p["group"]) or p["group"]
        name = self.m.real(p["origin"]) or p["origin"]
        existed = name in self.m.origins.get(group, {})
        return self._deleted(request, existed, lambda: self.m.delete_origin(group, name))

    async def list_groups(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._profile(p)
        return self.arm.page([self.m.group_view(g) for g in self.m.groups])

    async def get_group(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return self.arm.json(self.m.group_view(self._group(p)))

    async def put_group(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._profile(p)
        props = self._props(await self.arm.read_json(request))
        name = self.m.real(p["group"]) or p["group"]
        created = name not in self.m.groups
        self.m.put_group(name, props, patch=request.method == "PATCH")
        return self._begin_write(request, lambda: self.m.group_view(name), created)

    async def list_origins(self, request: web.Request, p: dict[str, str]) -> web.Response:
        group = self._group(p)
        return self.arm.page([self.m.origin_view(group, o) for o in self.m.origins[group]])

    async def get_origin(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return self.arm.json(self.m.origin_view(*self._origin(p)))

    async def put_origin(self, request: web.Request, p: dict[str, str]) -> web.Response:
        group = self._group(p)
        props = self._props(await self.arm.read_json(request))
        name = self.m.real(p["origin"]) or p["origin"]
        created = name not in self.m.origins[group]
        self.m.put_origin(group, name, props, patch=request.method == "PATCH")
        return self._begin_write(request, lambda: self.m.origin_view(group, name), created)


# ---- the estate ----------------------------------------------------------------------------------------
def origin_group_name(ctx: SandboxContext, slot_key: str) -> str:
    return f"og-{ctx.estate.app}-{slot_key}"


def build_estate(model: FrontDoorModel, ctx: SandboxContext, ports: dict[str, int]) -> None:
    """An origin group per region and slot, one origin each (its container group); the route -> blue."""
    estate = ctx.estate
    probe = {
        "probePath": "/health",
        "probeRequestType": "GET",
        "probeProtocol": "Http",
        "probeIntervalInSeconds": model.probe_interval,
    }
    balance = {"sampleSize": 4, "successfulSamplesRequired": 3, "additionalLatencyInMilliseconds": 50}
    for key, container in estate.container_groups.items():
        group = origin_group_name(ctx, key)
        model.put_group(group, {"healthProbeSettings": probe, "loadBalancingSettings": balance}, patch=False)
        model.put_origin(
            group,
            container,
            {
                "hostName": "127.0.0.1",
                "httpPort": ports[container],
                "originHostHeader": "127.0.0.1",
                "priority": 1,
                "weight": 1000,
                "enabledState": "Enabled",
            },
            patch=False,
        )
    blue = origin_group_name(ctx, f"{estate.primary_region}-blue")
    model.put_route(
        estate.frontdoor_route,
        {
            "originGroup": {"id": model.group_id(blue)},
            "patternsToMatch": ["/*"],
            "supportedProtocols": ["Http", "Https"],
            "forwardingProtocol": "HttpOnly",
            "linkToDefaultDomain": "Enabled",
            "httpsRedirect": "Disabled",
            "enabledState": "Enabled",
            "customDomains": [],
            "ruleSets": [],
        },
        patch=False,
    )
    model.pending.clear()


async def setup(ctx: SandboxContext, arm: ArmApi) -> FrontDoorModel:
    estate = ctx.estate
    router = Router()
    await router.start()
    model = FrontDoorModel(
        ctx,
        router,
        rg=estate.resource_group(estate.primary_region),
        profile=estate.frontdoor_profile,
        endpoint=estate.frontdoor_endpoint,
    )
    model.delay, delay = 0.0, model.delay  # the initial estate is live at once
    build_estate(model, ctx, ctx.endpoints.get("container_ports", {}))
    model.delay = delay
    await router.probe_all()
    FrontDoorApi(model, arm).register()
    ctx.endpoints.update(
        {
            "frontdoor_url": router.url,
            "frontdoor_resource_group": model.rg,
            "frontdoor_profile": model.profile,
            "frontdoor_endpoint": model.endpoint,
            "frontdoor_route": estate.frontdoor_route,
            "frontdoor_origin_groups": {k: origin_group_name(ctx, k) for k in estate.container_groups},
            "frontdoor_origins": dict(estate.container_groups),
        }
    )
    ctx.components["frontdoor"] = model
    ctx.components["router"] = router
    return model
