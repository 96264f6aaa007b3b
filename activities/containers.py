"""Activities for container groups: thin, idempotent steps over shared/azure/containers.py.

Contracts (input -> output keys) are in shared/names.py. ``resource_group`` is optional and defaults
from settings (the standby group lives in the DR resource group).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params, done
from activities.registry import activity
from shared import names
from shared.azure import runtime
from shared.config import current_settings

bp = df.Blueprint()


def _group(p: Params) -> tuple[str, str]:
    name = p.text("group")
    return name, p.opt_text("resource_group") or current_settings().group_resource_group(name)


def _spec(p: Params) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "image": p.text("image"),
        "environment": p.mapping("environment"),
        "secure_environment": p.mapping("secure_environment"),
    }
    if p.opt_text("restart_policy"):
        spec["restart_policy"] = p.choice("restart_policy", ("Always", "OnFailure", "Never"))
    for key in ("port", "cpu", "memory_gb"):
        if key in p.data:
            spec[key] = p.number(key, 0)
    command = p.opt_list("command")
    if command is not None:
        spec["command"] = [str(part) for part in command]
    return spec


def _location(p: Params, rg: str) -> str:
    return p.opt_text("location") or current_settings().region_of_resource_group(rg)


def _serves_traffic(group: str) -> bool:
    """Whether ``group`` is the slot the Front Door route serves now (read when a re-create is needed)."""
    settings = current_settings()
    live = str(runtime.traffic().get_route().get("origin_group") or "")
    slots = {origin_group: slot for slot, origin_group in settings.origin_groups.items()}
    return live in slots and settings.container_groups[slots[live]] == group


@activity(bp, names.CONTAINERS_ENSURE_GROUP)
def containers_ensure_group(params: dict[str, Any]) -> dict[str, Any]:
    """Create a group, or change it by round-tripping its full definition, to run ``image`` with
    ``environment`` (``secure_environment``: variable -> Key Vault secret, read again at every change);
    the same spec twice changes nothing. Every group carries the configured identity, a registry
    credential through it and the vault URL. A field ACI cannot change in place re-creates the group,
    never the live slot, and only one Continuity created (or with ``allow_recreate``): precondition.
    With ``like``: ``image`` with the spec of that group (cpu, memory, port, environment, command), which
    is only read; ``environment`` then overrides some of its variables."""
    from shared.azure.containers import ensure_like  # adapter modules load on first use

    p = Params(names.CONTAINERS_ENSURE_GROUP, params)
    name, rg = _group(p)
    like = p.opt_text("like")
    if like:
        like_rg = p.opt_text("like_resource_group") or current_settings().group_resource_group(like)
        result = ensure_like(
            runtime.containers(),
            name,
            rg,
            like=like,
            like_resource_group=like_rg,
            image=p.text("image"),
            environment=p.mapping("environment"),
            location=_location(p, rg),
            run_id=p.text("run_id"),
            is_live=lambda: _serves_traffic(name),
            allow_recreate=p.flag("allow_recreate"),
        )
        return done(
            p.activity, {**result, "message": f"{name} {'updated' if result['changed'] else 'unchanged'}"}
        )
    result = runtime.containers().ensure(
        name,
        rg,
        _spec(p),
        location=_location(p, rg),
        run_id=p.text("run_id"),
        is_live=lambda: _serves_traffic(name),
        allow_recreate=p.flag("allow_recreate"),
    )
    state = "re-created" if result.get("recreated") else "updated" if result["changed"] else "unchanged"
    return done(p.activity, {**result, "message": f"{name} {state}"})


@activity(bp, names.CONTAINERS_START_GROUP)
def containers_start_group(params: dict[str, Any]) -> dict[str, Any]:
    """Start a group; already running is success (``changed: false``)."""
    p = Params(names.CONTAINERS_START_GROUP, params)
    return done(p.activity, runtime.containers().start(*_group(p)))


@activity(bp, names.CONTAINERS_STOP_GROUP)
def containers_stop_group(params: dict[str, Any]) -> dict[str, Any]:
    """Stop a group; already stopped is success."""
    p = Params(names.CONTAINERS_STOP_GROUP, params)
    return done(p.activity, runtime.containers().stop(*_group(p)))


@activity(bp, names.CONTAINERS_RESTART_GROUP)
def containers_restart_group(params: dict[str, Any]) -> dict[str, Any]:
    """Restart a group so it re-reads its configuration (a stopped group is started)."""
    p = Params(names.CONTAINERS_RESTART_GROUP, params)
    return done(p.activity, runtime.containers().restart(*_group(p)))


@activity(bp, names.CONTAINERS_GET_GROUP)
def containers_get_group(params: dict[str, Any]) -> dict[str, Any]:
    """State, address and containers of a group; ``exists: false`` when there is none. With ``spec: true``
    also what it runs (``spec``: container, image, cpu, memory_gb, port, environment, command, ...)."""
    from shared.azure.containers import spec  # adapter modules load on first use

    p = Params(names.CONTAINERS_GET_GROUP, params)
    name, rg = _group(p)
    adapter = runtime.containers()
    found = adapter.find(name, rg)
    if found is None:
        return {"group": name, "resource_group": rg, "exists": False, "state": None}
    return {**found, "spec": spec(adapter, name, rg)} if p.flag("spec") else found


@activity(bp, names.CONTAINERS_GET_LOGS)
def containers_get_logs(params: dict[str, Any]) -> dict[str, Any]:
    p = Params(names.CONTAINERS_GET_LOGS, params)
    name, rg = _group(p)
    tail = int(p.number("tail", 0)) or None
    return runtime.containers().logs(name, rg, p.opt_text("container"), tail)


@activity(bp, names.CONTAINERS_DELETE_GROUP)
def containers_delete_group(params: dict[str, Any]) -> dict[str, Any]:
    """Delete a group Continuity created; already gone is success; others are refused."""
    p = Params(names.CONTAINERS_DELETE_GROUP, params)
    return done(p.activity, runtime.containers().delete(*_group(p)))
