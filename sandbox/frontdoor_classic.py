"""Classic Front Door (Microsoft.Network/frontDoors): a second view of the Standard model's router.

Shapes follow azure-mgmt-frontdoor 2.0.0 (api-version 2025-10-01): get, and create-or-update of the whole
resource (a long-running operation). Backend pools are the Standard origin groups (same names), backends
are their origins (matched by address and HTTP port), the routing rule forwards to the pool the Standard
route points at, and each pool has its own health probe and load-balancing settings. A PUT is validated
as a whole before anything changes and replaces the whole resource, as Azure's does: pools (with their
health probe and load-balancing settings) left out of a PUT are deleted.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from sandbox.arm import ArmApi, ArmError, not_found
from sandbox.context import SandboxContext
from sandbox.frontdoor import FrontDoorModel, check_origin_props

FORWARDING = "#Microsoft.Azure.FrontDoor.Models.FrontdoorForwardingConfiguration"
PATH = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/frontDoors/{name}"


def _bad(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


def _ref_name(ref: Any, kind: str) -> str:
    rid = ref.get("id") if isinstance(ref, dict) else None
    if not isinstance(rid, str) or f"/{kind.lower()}/" not in rid.lower():
        raise _bad(f"expected a reference to a {kind} resource id")
    return rid.rstrip("/").rsplit("/", 1)[1]


class ClassicFrontDoor:
    """Renders the model as a classic Front Door and applies whole-resource PUTs onto it."""

    def __init__(self, model: FrontDoorModel, *, name: str, rule: str) -> None:
        self.m, self.name, self.rule = model, name, rule
        self.tags: dict[str, str] = {}
        self.friendly_name = name

    async def close(self) -> None:
        return None

    @property
    def rid(self) -> str:
        return self.m.ctx.estate.resource_id(self.m.rg, "Microsoft.Network/frontDoors", self.name)

    def _child(self, kind: str, name: str) -> str:
        return f"{self.rid}/{kind}/{name}"

    # ---- the view ------------------------------------------------------------------------------------
    def _backend(self, props: dict[str, Any]) -> dict[str, Any]:
        return {
            "address": props["hostName"],
            "httpPort": props.get("httpPort", 80),
            "httpsPort": props.get("httpsPort", 443),
            "enabledState": props.get("enabledState", "Enabled"),
            "priority": props.get("priority", 1),
            "weight": props.get("weight", 50),
            "backendHostHeader": props.get("originHostHeader") or props["hostName"],
        }

    def _pool(self, group: str) -> dict[str, Any]:
        backends = [self._backend(p) for p in self.m.origins[group].values()]
        props = {
            "backends": backends,
            "loadBalancingSettings": {"id": self._child("loadBalancingSettings", f"lb-{group}")},
            "healthProbeSettings": {"id": self._child("healthProbeSettings", f"hp-{group}")},
            "resourceState": "Enabled",
        }
        return {"id": self._child("backendPools", group), "name": group, "properties": props}

    def _probe(self, group: str) -> dict[str, Any]:
        probe = self.m.groups[group].get("healthProbeSettings") or {}
        props = {
            "path": probe.get("probePath", "/"),
            "protocol": probe.get("probeProtocol", "Http"),
            "intervalInSeconds": probe.get("probeIntervalInSeconds", self.m.probe_interval),
            "healthProbeMethod": probe.get("probeRequestType", "GET"),
            "enabledState": "Enabled",
            "resourceState": "Enabled",
        }
        return {
            "id": self._child("healthProbeSettings", f"hp-{group}"),
            "name": f"hp-{group}",
            "properties": props,
        }

    def _balancing(self, group: str) -> dict[str, Any]:
        lb = self.m.groups[group].get("loadBalancingSettings") or {}
        props = {
            "sampleSize": lb.get("sampleSize", 4),
            "successfulSamplesRequired": lb.get("successfulSamplesRequired", 2),
            "additionalLatencyMilliseconds": lb.get("additionalLatencyInMilliseconds", 0),
            "resourceState": "Enabled",
        }
        return {
            "id": self._child("loadBalancingSettings", f"lb-{group}"),
            "name": f"lb-{group}",
            "properties": props,
        }

    def _rule(self) -> dict[str, Any]:
        route = next(iter(self.m.routes.values()))
        pool = self.m.group_name_from_id(route["originGroup"])
        props = {
            "frontendEndpoints": [{"id": self._child("frontendEndpoints", "default")}],
            "acceptedProtocols": route.get("supportedProtocols", ["Http", "Https"]),
            "patternsToMatch": route.get("patternsToMatch", ["/*"]),
            "enabledState": route.get("enabledState", "Enabled"),
            "routeConfiguration": {
                "@odata.type": FORWARDING,
                "forwardingProtocol": route.get("forwardingProtocol", "HttpOnly"),
                "backendPool": {"id": self._child("backendPools", pool)},
            },
            "resourceState": "Enabled",
        }
        return {"id": self._child("routingRules", self.rule), "name": self.rule, "properties": props}

    def view(self, provisioning: str = "Succeeded") -> dict[str, Any]:
        host = f"127.0.0.1:{self.m.router.port}"
        frontend = {
            "id": self._child("frontendEndpoints", "default"),
            "name": "default",
            "properties": {
                "hostName": host,
                "sessionAffinityEnabledState": "Disabled",
                "resourceState": "Enabled",
            },
        }
        props = {
            "friendlyName": self.friendly_name,
            "routingRules": [self._rule()],
            "backendPools": [self._pool(g) for g in self.m.groups],
            "healthProbeSettings": [self._probe(g) for g in self.m.groups],
            "loadBalancingSettings": [self._balancing(g) for g in self.m.groups],
            "frontendEndpoints": [frontend],
            "backendPoolsSettings": {"enforceCertificateNameCheck": "Enabled", "sendRecvTimeoutSeconds": 30},
            "enabledState": "Enabled",
            "resourceState": "Enabled",
            "provisioningState": provisioning,
            "cname": host,
            "frontdoorId": "00000000-0000-4000-8000-00000000fd01",
        }
        return {
            "id": self.rid,
            "name": self.name,
            "type": "Microsoft.Network/frontDoors",
            "location": "Global",
            "tags": self.tags,
            "properties": props,
        }

    # ---- a whole-resource PUT ------------------------------------------------------------------------
    def _plan_pool(
        self, pool: dict[str, Any], probes: dict[str, dict[str, Any]]
    ) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
        name = pool.get("name")
        if not isinstance(name, str) or not name:
            raise _bad("each backend pool needs a name")
        props = pool.get("properties") or {}
        backends = props.get("backends")
        if not isinstance(backends, list):
            raise _bad(f"backend pool '{name}' needs a list of backends")
        origins = []
        for b in backends:
            if not isinstance(b, dict):
                raise _bad(f"backend pool '{name}': each backend must be an object")
            origin = {
                "hostName": b.get("address"),
                "httpPort": b.get("httpPort", 80),
                "httpsPort": b.get("httpsPort", 443),
                "enabledState": b.get("enabledState", "Enabled"),
                "priority": b.get("priority", 1),
                "weight": b.get("weight", 50),
            }
            if b.get("backendHostHeader"):
                origin["originHostHeader"] = b["backendHostHeader"]
            check_origin_props(origin)
            origins.append(origin)
        group: dict[str, Any] = {}
        probe_ref = props.get("healthProbeSettings")
        if probe_ref is not None:
            probe = probes.get(_ref_name(probe_ref, "healthProbeSettings").lower())
            if probe is None:
                raise _bad(
                    f"backend pool '{name}' refers to health probe settings that the resource does not define"
                )
            group["healthProbeSettings"] = probe
        return name, group, origins

    def _probes(self, body_props: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out = {}
        for hp in body_props.get("healthProbeSettings") or []:
            p = hp.get("properties") or {}
            out[str(hp.get("name", "")).lower()] = {
                "probePath": p.get("path", "/"),
                "probeProtocol": p.get("protocol", "Http"),
                "probeRequestType": p.get("healthProbeMethod", "GET"),
                "probeIntervalInSeconds": p.get("intervalInSeconds", self.m.probe_interval),
            }
        return out

    def _plan_rule(self, body_props: dict[str, Any], pools: set[str]) -> str:
        rules = body_props.get("routingRules")
        if not isinstance(rules, list) or len(rules) != 1:
            raise _bad("the sandbox Front Door has exactly one routing rule")
        config = (rules[0].get("properties") or {}).get("routeConfiguration") or {}
        if config.get("@odata.type") != FORWARDING:
            raise _bad(f"the routing rule must use a forwarding configuration ({FORWARDING})")
        pool = _ref_name(config.get("backendPool"), "backendPools")
        match = next((p for p in pools if p.lower() == pool.lower()), None)
        if match is None:
            raise _bad(
                f"the routing rule refers to backend pool '{pool}', which the resource does not define"
            )
        return match

    def apply(self, body: dict[str, Any]) -> None:
        """Validate the whole body, then change the model (the router follows)."""
        props = body.get("properties")
        if not isinstance(props, dict):
            raise _bad("the request needs 'properties'")
        probes = self._probes(props)
        plans = [self._plan_pool(p, probes) for p in props.get("backendPools") or []]
        kept = {self.m.real(name) or name for name, _, _ in plans}
        pool = self._plan_rule(props, {name for name, _, _ in plans})
        removed = [g for g in self.m.groups if g not in kept]
        self._check_removable(removed)
        for name, group, origins in plans:
            real = self.m.real(name) or name
            self.m.put_group(real, group, patch=real in self.m.groups)
            self._put_backends(real, origins)
        self.m.put_route(
            next(iter(self.m.routes)),
            {"originGroup": {"id": self.m.group_id(self.m.real(pool) or pool)}},
            patch=True,
        )
        for name in removed:  # a PUT replaces the whole resource: pools left out are deleted
            self._remove_pool(name)
        if isinstance(body.get("tags"), dict):
            self.tags = copy.deepcopy(body["tags"])
        if isinstance(props.get("friendlyName"), str):
            self.friendly_name = props["friendlyName"]

    def _check_removable(self, removed: list[str]) -> None:
        """A pool left out of the PUT is deleted with it; refuse when something else still uses it."""
        main = next(iter(self.m.routes), None)
        for name in removed:
            users = [
                r
                for r, props in self.m.routes.items()
                if r != main and self.m.group_name_from_id(props["originGroup"]) == name
            ]
            if users:
                raise _bad(f"backend pool '{name}' is left out of the request but still used by {users}")

    def _remove_pool(self, name: str) -> None:
        self.m.groups.pop(name, None)
        self.m.origins.pop(name, None)
        self.m.changed([f"group/{name}"])

    def _put_backends(self, group: str, origins: list[dict[str, Any]]) -> None:
        by_address = {(p["hostName"], p.get("httpPort", 80)): n for n, p in self.m.origins[group].items()}
        keep = set()
        for i, origin in enumerate(origins):
            name = by_address.get((origin["hostName"], origin["httpPort"])) or f"{group}-backend-{i}"
            keep.add(name)
            self.m.put_origin(group, name, origin, patch=name in self.m.origins[group])
        for name in [n for n in self.m.origins[group] if n not in keep]:
            del self.m.origins[group][name]
        self.m.changed([f"group/{group}"])


class ClassicApi:
    def __init__(self, fd: ClassicFrontDoor, arm: ArmApi) -> None:
        self.fd, self.arm = fd, arm

    def register(self) -> None:
        self.arm.add_route("GET", PATH, self.get)
        self.arm.add_route("PUT", PATH, self.put)

    def _find(self, p: dict[str, str]) -> None:
        if p["rg"].lower() != self.fd.m.rg.lower() or p["name"].lower() != self.fd.name.lower():
            raise not_found("Microsoft.Network/frontDoors", p["name"], p["rg"])

    async def get(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._find(p)
        return self.arm.json(self.fd.view())

    async def put(self, request: web.Request, p: dict[str, str]) -> web.Response:
        self._find(p)
        self.fd.apply(await self.arm.read_json(request))
        return self.arm.begin_lro(request, self.fd.view, body=self.fd.view("Updating"))


async def setup(ctx: SandboxContext, arm: ArmApi) -> ClassicFrontDoor:
    model: FrontDoorModel = ctx.components["frontdoor"]  # type: ignore[assignment]
    estate = ctx.estate
    fd = ClassicFrontDoor(model, name=estate.frontdoor_classic, rule=estate.frontdoor_classic_routing_rule)
    ClassicApi(fd, arm).register()
    ctx.endpoints.update(
        {
            "frontdoor_classic_name": fd.name,
            "frontdoor_classic_routing_rule": fd.rule,
            "frontdoor_classic_backend_pools": dict(ctx.endpoints.get("frontdoor_origin_groups", {})),
        }
    )
    ctx.components["frontdoor_classic"] = fd
    return fd
