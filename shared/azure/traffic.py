"""Traffic: one interface over Front Door Standard/Premium (azure-mgmt-cdn) and classic Front Door
(azure-mgmt-frontdoor), chosen by ``CONTINUITY_FRONTDOOR_KIND``.

Vocabulary: the *route* (standard route / classic routing rule) sends traffic to one *origin group*
(standard origin group / classic backend pool) of *origins* (origins / backends). A classic backend has no
name; it is named ``<address>:<httpPort>``. An origin is healthy when it is enabled and its origin group's
health probe path answers 2xx when probed from here.
"""

from __future__ import annotations

from typing import Any, Protocol

from shared.azure.clients import Clients
from shared.azure.errors import is_not_found, translated
from shared.azure.probe import probe
from shared.config import Settings
from shared.errors import PermanentError

CLASSIC_FORWARDING = "#Microsoft.Azure.FrontDoor.Models.FrontdoorForwardingConfiguration"


class Traffic(Protocol):
    """What the orchestrations need from Front Door, whichever kind it is."""

    def get_route(self) -> dict[str, Any]: ...

    def list_origins(self, origin_group: str) -> dict[str, Any]: ...

    def switch_route(self, origin_group: str) -> dict[str, Any]: ...

    def set_origin_state(self, origin_group: str, origin: str, enabled: bool) -> dict[str, Any]: ...

    def create_drill_path(self, tag: str, host: str, port: int, pattern: str) -> dict[str, Any]: ...

    def delete_drill_path(self, tag: str) -> dict[str, Any]: ...


CLASSIC_NO_DRILL_PATH = (
    "not supported in classic Front Door: the complete drill's Front Door step through a drill-only "
    "origin group is skipped"
)


def drill_names(tag: str) -> dict[str, str]:
    """The drill path's resources, all named from the drill run's tag (Front Door routes, origin groups
    and origins carry no tags): only these names are ever created or deleted by the drill activities."""
    if not tag or not tag.replace("-", "").isalnum() or len(tag) > 30:
        raise PermanentError("name drill path", tag, "the drill tag must be 1-30 letters, digits or '-'")
    return {"origin_group": f"og-drill-{tag}", "origin": f"drill-{tag}", "route": f"route-drill-{tag}"}


def _last_segment(resource_id: str | None) -> str | None:
    return resource_id.rstrip("/").rsplit("/", 1)[-1] if resource_id else None


def _base_url(host: str | None, public_url: str) -> str | None:
    """The endpoint's URL: the configured public URL when it is that host, else https://<host>."""
    if not host:
        return None
    if public_url.split("://", 1)[-1].split("/", 1)[0] == host:
        return public_url
    return host if host.startswith("http") else f"https://{host}"


def with_health(
    settings: Settings, origins: list[dict[str, Any]], probe_path: str, protocol: str
) -> dict[str, Any]:
    """Probe each enabled origin; the shared tail of list_origins."""
    for origin in origins:
        origin["healthy"] = False
        if origin["enabled"]:
            scheme = "https" if protocol.lower() == "https" else "http"
            port = origin["https_port"] if scheme == "https" else origin["port"]
            url = f"{scheme}://{origin['host']}:{port}{probe_path}"
            result = probe(url, timeout=settings.probe_timeout_seconds, ca_bundle=settings.ca_bundle)
            origin["healthy"] = result["status"] is not None and 200 <= result["status"] < 300
            origin["probe"] = {k: result[k] for k in ("url", "status", "latency_ms", "error")}
    healthy = [o["name"] for o in origins if o["healthy"]]
    return {"origins": origins, "healthy": healthy, "healthy_count": len(healthy)}


class StandardTraffic:
    """Front Door Standard/Premium: route, origin groups and origins of one profile and endpoint."""

    kind = "standard"

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._s = clients.settings
        self._rg, self._profile = self._s.frontdoor_resource_group, self._s.frontdoor_profile
        self._endpoint, self._route = self._s.frontdoor_endpoint or "", self._s.frontdoor_route

    def _origin_group_id(self, name: str) -> str:
        return (
            f"/subscriptions/{self._s.subscription_id}/resourceGroups/{self._rg}/providers/Microsoft.Cdn"
            f"/profiles/{self._profile}/originGroups/{name}"
        )

    def get_route(self) -> dict[str, Any]:
        cdn = self._clients.cdn()
        with translated("get Front Door route", self._route):
            route = cdn.routes.get(self._rg, self._profile, self._endpoint, self._route).as_dict()
            endpoint = cdn.afd_endpoints.get(self._rg, self._profile, self._endpoint).as_dict()
        props = route.get("properties") or {}
        return {
            "kind": self.kind,
            "route": self._route,
            "origin_group": _last_segment((props.get("originGroup") or {}).get("id")),
            "endpoint_url": _base_url((endpoint.get("properties") or {}).get("hostName"), self._s.public_url),
            "deployment_status": props.get("deploymentStatus"),
        }

    def list_origins(self, origin_group: str) -> dict[str, Any]:
        cdn = self._clients.cdn()
        with translated("list origins of origin group", origin_group):
            group = cdn.afd_origin_groups.get(self._rg, self._profile, origin_group).as_dict()
            raw = [
                o.as_dict()
                for o in cdn.afd_origins.list_by_origin_group(self._rg, self._profile, origin_group)
            ]
        probe_settings = (group.get("properties") or {}).get("healthProbeSettings") or {}
        origins = [_standard_origin(o) for o in raw]
        path, protocol = probe_settings.get("probePath"), probe_settings.get("probeProtocol")
        health = with_health(self._s, origins, path or self._s.health_path, protocol or "Http")
        return {"origin_group": origin_group, "probe_path": path, "probe_protocol": protocol, **health}

    def switch_route(self, origin_group: str) -> dict[str, Any]:
        current = self.get_route()
        base = {
            "route": self._route,
            "origin_group": origin_group,
            "previous_origin_group": current["origin_group"],
        }
        if current["origin_group"] == origin_group:
            return {
                **base,
                "changed": False,
                "message": f"route {self._route} already sends traffic to {origin_group}",
            }
        body = {"properties": {"originGroup": {"id": self._origin_group_id(origin_group)}}}
        with translated(f"switch Front Door route to {origin_group}", self._route):
            self._clients.cdn().routes.begin_update(
                self._rg, self._profile, self._endpoint, self._route, body
            ).result()
        return {**base, "changed": True, "message": f"route {self._route} switched to {origin_group}"}

    def set_origin_state(self, origin_group: str, origin: str, enabled: bool) -> dict[str, Any]:
        cdn = self._clients.cdn()
        state = "Enabled" if enabled else "Disabled"
        with translated("get origin", origin):
            current = cdn.afd_origins.get(self._rg, self._profile, origin_group, origin).as_dict()
        base = {"origin_group": origin_group, "origin": origin, "enabled": enabled}
        if (current.get("properties") or {}).get("enabledState") == state:
            return {**base, "changed": False}
        with translated(f"set origin {state.lower()}", origin):
            body = {"properties": {"enabledState": state}}
            cdn.afd_origins.begin_update(self._rg, self._profile, origin_group, origin, body).result()
        return {**base, "changed": True}

    def create_drill_path(self, tag: str, host: str, port: int, pattern: str) -> dict[str, Any]:
        """A drill-only origin group with one origin (host:port) and a drill route on `pattern` (its
        prefix rewritten to /); production's route, groups and origins are not touched. Converges."""
        n, cdn = drill_names(tag), self._clients.cdn()
        probe_settings = {
            "probePath": self._s.health_path,
            "probeRequestType": "GET",
            "probeProtocol": "Http",
            "probeIntervalInSeconds": 30,
        }
        balance = {"sampleSize": 4, "successfulSamplesRequired": 3, "additionalLatencyInMilliseconds": 50}
        group_body = {"properties": {"healthProbeSettings": probe_settings, "loadBalancingSettings": balance}}
        origin_body = {
            "properties": {
                "hostName": host,
                "httpPort": port,
                "originHostHeader": host,
                "priority": 1,
                "weight": 1000,
                "enabledState": "Enabled",
            }
        }
        route_body = {
            "properties": {
                "originGroup": {"id": self._origin_group_id(n["origin_group"])},
                "patternsToMatch": [pattern],
                "originPath": "/",
                "supportedProtocols": ["Http", "Https"],
                "forwardingProtocol": "HttpOnly",
                "linkToDefaultDomain": "Enabled",
                "httpsRedirect": "Disabled",
                "enabledState": "Enabled",
            }
        }
        rg, profile = self._rg, self._profile
        with translated("create drill origin group", n["origin_group"]):
            cdn.afd_origin_groups.begin_create(rg, profile, n["origin_group"], group_body).result()
        with translated("create drill origin", n["origin"]):
            cdn.afd_origins.begin_create(rg, profile, n["origin_group"], n["origin"], origin_body).result()
        with translated("create drill route", n["route"]):
            cdn.routes.begin_create(rg, profile, self._endpoint, n["route"], route_body).result()
        return {**n, "pattern": pattern, "target": f"{host}:{port}", "created": True, "supported": True}

    def delete_drill_path(self, tag: str) -> dict[str, Any]:
        """Delete the drill route, origin and origin group of `tag` (what is already gone is success),
        then read each back: ``gone`` only when none of them is found."""
        n, cdn = drill_names(tag), self._clients.cdn()
        rg, profile, group = self._rg, self._profile, n["origin_group"]
        steps: list[tuple[str, Any, Any]] = [
            (
                "route",
                lambda: cdn.routes.begin_delete(rg, profile, self._endpoint, n["route"]),
                lambda: cdn.routes.get(rg, profile, self._endpoint, n["route"]),
            ),
            (
                "origin",
                lambda: cdn.afd_origins.begin_delete(rg, profile, group, n["origin"]),
                lambda: cdn.afd_origins.get(rg, profile, group, n["origin"]),
            ),
            (
                "origin_group",
                lambda: cdn.afd_origin_groups.begin_delete(rg, profile, group),
                lambda: cdn.afd_origin_groups.get(rg, profile, group),
            ),
        ]
        deleted, already_gone, remaining = [], [], []
        for what, delete, _ in steps:
            try:
                with translated(f"delete drill {what.replace('_', ' ')}", n[what]):
                    delete().result()
                deleted.append(n[what])
            except PermanentError as exc:
                if exc.__cause__ is None or not is_not_found(exc.__cause__):
                    raise
                already_gone.append(n[what])
        for what, _, read in steps:
            try:
                with translated(f"read drill {what.replace('_', ' ')}", n[what]):
                    read()
                remaining.append(n[what])
            except PermanentError as exc:
                if exc.__cause__ is None or not is_not_found(exc.__cause__):
                    raise
        return {
            **n,
            "deleted": deleted,
            "already_gone": already_gone,
            "remaining": remaining,
            "gone": not remaining,
            "supported": True,
        }


def _standard_origin(origin: dict[str, Any]) -> dict[str, Any]:
    props = origin.get("properties") or {}
    return {
        "name": origin.get("name"),
        "host": props.get("hostName"),
        "port": props.get("httpPort") or 80,
        "https_port": props.get("httpsPort") or 443,
        "enabled": (props.get("enabledState") or "Enabled") == "Enabled",
        "priority": props.get("priority"),
        "weight": props.get("weight"),
    }


class ClassicTraffic:
    """Classic Front Door: one resource holding routing rules, backend pools and health probe settings."""

    kind = "classic"

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._s = clients.settings
        self._rg, self._name, self._rule = (
            self._s.frontdoor_resource_group,
            self._s.frontdoor_profile,
            self._s.frontdoor_route,
        )

    def _load(self, operation: str) -> dict[str, Any]:
        with translated(operation, self._name):
            return dict(self._clients.frontdoor().front_doors.get(self._rg, self._name).as_dict())

    def _save(self, operation: str, front_door: dict[str, Any]) -> None:
        with translated(operation, self._name):
            self._clients.frontdoor().front_doors.begin_create_or_update(
                self._rg, self._name, front_door
            ).result()

    def _rule_of(self, front_door: dict[str, Any]) -> dict[str, Any]:
        return _named(front_door, "routingRules", self._rule, "routing rule")

    def get_route(self) -> dict[str, Any]:
        front_door = self._load("get Front Door")
        config = (self._rule_of(front_door).get("properties") or {}).get("routeConfiguration") or {}
        endpoints = (front_door.get("properties") or {}).get("frontendEndpoints") or []
        host = (endpoints[0].get("properties") or {}).get("hostName") if endpoints else None
        return {
            "kind": self.kind,
            "route": self._rule,
            "origin_group": _last_segment((config.get("backendPool") or {}).get("id")),
            "endpoint_url": _base_url(host, self._s.public_url),
            "deployment_status": (front_door.get("properties") or {}).get("resourceState"),
        }

    def list_origins(self, origin_group: str) -> dict[str, Any]:
        front_door = self._load("get Front Door")
        pool = _named(front_door, "backendPools", origin_group, "backend pool")
        props = pool.get("properties") or {}
        probe_id = _last_segment((props.get("healthProbeSettings") or {}).get("id"))
        probes = (front_door.get("properties") or {}).get("healthProbeSettings") or []
        probe_props = next((p.get("properties") or {} for p in probes if p.get("name") == probe_id), {})
        origins = [_classic_backend(b) for b in props.get("backends") or []]
        path, protocol = probe_props.get("path"), probe_props.get("protocol")
        return {
            "origin_group": origin_group,
            "probe_path": path,
            "probe_protocol": protocol,
            **with_health(self._s, origins, path or self._s.health_path, protocol or "Http"),
        }

    def switch_route(self, origin_group: str) -> dict[str, Any]:
        front_door = self._load("get Front Door")
        pool_id = _named(front_door, "backendPools", origin_group, "backend pool").get("id")
        config = (self._rule_of(front_door).setdefault("properties", {})).setdefault("routeConfiguration", {})
        previous = _last_segment((config.get("backendPool") or {}).get("id"))
        base = {"route": self._rule, "origin_group": origin_group, "previous_origin_group": previous}
        if previous == origin_group:
            return {
                **base,
                "changed": False,
                "message": f"routing rule {self._rule} already sends traffic to {origin_group}",
            }
        config.setdefault("@odata.type", CLASSIC_FORWARDING)
        config["backendPool"] = {"id": pool_id}
        self._save(f"switch routing rule {self._rule} to {origin_group} on Front Door", front_door)
        return {**base, "changed": True, "message": f"routing rule {self._rule} switched to {origin_group}"}

    def set_origin_state(self, origin_group: str, origin: str, enabled: bool) -> dict[str, Any]:
        front_door = self._load("get Front Door")
        pool = _named(front_door, "backendPools", origin_group, "backend pool")
        backends = (pool.get("properties") or {}).get("backends") or []
        backend = next((b for b in backends if _classic_backend(b)["name"] == origin), None)
        if backend is None:
            raise PermanentError("set backend state", origin, f"no such backend in pool {origin_group}")
        state = "Enabled" if enabled else "Disabled"
        base = {"origin_group": origin_group, "origin": origin, "enabled": enabled}
        if backend.get("enabledState", "Enabled") == state:
            return {**base, "changed": False}
        backend["enabledState"] = state
        self._save(f"set backend {origin} {state.lower()} on Front Door", front_door)
        return {**base, "changed": True}

    def create_drill_path(self, tag: str, host: str, port: int, pattern: str) -> dict[str, Any]:
        """Not supported in classic: the answer says so and nothing is changed."""
        return {**drill_names(tag), "supported": False, "created": False, "reason": CLASSIC_NO_DRILL_PATH}

    def delete_drill_path(self, tag: str) -> dict[str, Any]:
        """Nothing was created in classic: nothing to delete."""
        names = drill_names(tag)
        return {**names, "supported": False, "deleted": [], "already_gone": [], "remaining": [], "gone": True}


def _named(front_door: dict[str, Any], collection: str, name: str, what: str) -> dict[str, Any]:
    items = (front_door.get("properties") or {}).get(collection) or []
    found = next((i for i in items if str(i.get("name", "")).lower() == name.lower()), None)
    if found is None:
        raise PermanentError(f"find {what}", name, f"not found on Front Door {front_door.get('name')}")
    return found  # type: ignore[no-any-return]


def _classic_backend(backend: dict[str, Any]) -> dict[str, Any]:
    port = backend.get("httpPort") or 80
    return {
        "name": f"{backend.get('address')}:{port}",
        "host": backend.get("address"),
        "port": port,
        "https_port": backend.get("httpsPort") or 443,
        "enabled": (backend.get("enabledState") or "Enabled") == "Enabled",
        "priority": backend.get("priority"),
        "weight": backend.get("weight"),
    }


def traffic_for(clients: Clients) -> Traffic:
    """The implementation the settings choose."""
    return (
        ClassicTraffic(clients) if clients.settings.frontdoor_kind == "classic" else StandardTraffic(clients)
    )
