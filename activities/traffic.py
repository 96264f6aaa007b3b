"""Activities for Front Door (Standard/Premium or classic, chosen by settings): thin, idempotent steps
over shared/azure/traffic.py. Contracts (input -> output keys) are in shared/names.py.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params, done
from activities.registry import activity
from shared import names
from shared.azure import runtime
from shared.errors import PermanentError

bp = df.Blueprint()


@activity(bp, names.TRAFFIC_GET_ROUTE)
def traffic_get_route(params: dict[str, Any]) -> dict[str, Any]:
    """The origin group (backend pool) the route sends traffic to, and the public endpoint."""
    Params(names.TRAFFIC_GET_ROUTE, params or {})
    return runtime.traffic().get_route()


@activity(bp, names.TRAFFIC_LIST_HEALTHY_ORIGINS)
def traffic_list_healthy_origins(params: dict[str, Any]) -> dict[str, Any]:
    """Origins of a group with ``healthy`` = enabled and answering the group's health probe path (each
    probed from here, its answer kept), and the group's probe path and protocol as Azure reports them."""
    p = Params(names.TRAFFIC_LIST_HEALTHY_ORIGINS, params)
    return runtime.traffic().list_origins(p.text("origin_group"))


@activity(bp, names.TRAFFIC_SWITCH_ROUTE)
def traffic_switch_route(params: dict[str, Any]) -> dict[str, Any]:
    """Point the route at ``origin_group``; already pointing there is success (``changed: false``).

    Does not check origin health: the orchestrator checks first (safety rule 2).
    """
    p = Params(names.TRAFFIC_SWITCH_ROUTE, params)
    return done(p.activity, runtime.traffic().switch_route(p.text("origin_group")))


@activity(bp, names.TRAFFIC_SET_ORIGIN_STATE)
def traffic_set_origin_state(params: dict[str, Any]) -> dict[str, Any]:
    """Enable or disable one origin (classic: backend ``<address>:<httpPort>``); converges."""
    p = Params(names.TRAFFIC_SET_ORIGIN_STATE, params)
    origin_group, origin = p.text("origin_group"), p.text("origin")
    result = runtime.traffic().set_origin_state(origin_group, origin, p.flag("enabled", True))
    return done(p.activity, {**result, "message": f"origin {origin} enabled={result['enabled']}"})


@activity(bp, names.TRAFFIC_CREATE_DRILL_PATH)
def traffic_create_drill_path(params: dict[str, Any]) -> dict[str, Any]:
    """A drill-only origin group (one origin: ``url``'s host and port) and a drill route on ``pattern``,
    all named from the drill ``tag``; production's route is not touched. Converges."""
    from urllib.parse import urlsplit

    p = Params(names.TRAFFIC_CREATE_DRILL_PATH, params)
    target = urlsplit(p.text("url"))
    if not target.hostname:
        raise PermanentError("create drill path", p.text("url"), "url has no host")
    port = target.port or (443 if target.scheme == "https" else 80)
    tag, pattern = p.text("tag"), p.opt_text("pattern") or "/drill/*"
    result = runtime.traffic().create_drill_path(tag, target.hostname, port, pattern)
    what = f"drill route {pattern} -> {target.hostname}:{port}"
    return done(p.activity, {**result, "message": result.get("reason") or what})


@activity(bp, names.TRAFFIC_DELETE_DRILL_PATH)
def traffic_delete_drill_path(params: dict[str, Any]) -> dict[str, Any]:
    """Delete the drill route, origin and origin group of ``tag`` (already gone is success) and read them
    back: ``gone`` when none is left. Deletes nothing not named from the tag."""
    p = Params(names.TRAFFIC_DELETE_DRILL_PATH, params)
    result = runtime.traffic().delete_drill_path(p.text("tag"))
    message = "drill path gone" if result["gone"] else f"left behind: {result['remaining']}"
    return done(p.activity, {**result, "message": message})
