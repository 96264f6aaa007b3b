"""The app's own health and the estate's status: ``GET /api/health`` (anonymous) and ``GET /api/status``.

The status is observed, never remembered: the route, the primary found now (shared.estate, driven
in-process by activities.inprocess) with its replica, lag and backups, the backup watch's last result,
the running operation, and the objectives.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from activities.inprocess import read_now
from shared import estate, names
from shared.config import Settings
from shared.version import VERSION
from triggers import runs
from triggers.api import endpoint, openapi
from triggers.web import NO_QUERY, BadRequest, json_response, settings_or_error

bp = df.Blueprint()


@endpoint(
    bp,
    names.HTTP_HEALTH,
    "GET",
    "health",
    responses={200: "up, with the version"},
    anonymous=True,
    client=False,
    tag="status",
    summary="The app's own liveness (no key needed)",
)
def http_health(req: func.HttpRequest) -> func.HttpResponse:
    """The app's own liveness: always 200 while the worker runs, with the version."""
    body = {"status": "up", "app": "continuity", "version": VERSION}
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")


def status_view(settings: Settings, observed: dict[str, Any], running: list[str]) -> dict[str, Any]:
    """What /api/status shows, from observed estate values (pure)."""
    route = observed.get("route") or {}
    live = str(route.get("origin_group", ""))
    slot = {group: slot for slot, group in settings.origin_groups.items()}.get(live, "unknown")
    region = settings.secondary_region if slot == "standby" else settings.primary_region
    backups = observed.get("latest_backup") or {}
    primary = observed.get("primary") or {}
    return {
        "app": settings.app_name,
        "primary_region": region if slot != "unknown" else "unknown",
        "live_slot": slot,
        "origin_group": live or None,
        "primary_server": primary.get("primary") or None,
        "primary_reason": primary.get("reason"),
        "servers": {
            "primary": _server_brief(observed.get("primary_server")),
            "replica": _server_brief(observed.get("replica_server")),
        },
        "replica_lag_seconds": observed.get("replica_lag_seconds"),
        "latest_backup_age_seconds": backups.get("latest_age_seconds"),
        "backup_watch": _watch_brief(observed.get("backup_watch")),
        "running_operations": running,
        "objectives": {
            "rto_tier1_minutes": settings.rto_tier1_minutes,
            "rpo_minutes": settings.rpo_minutes,
            "backup_age_alert_hours": settings.backup_age_alert_hours,
            "failover_mode": settings.failover_mode,
            "grace_period_seconds": settings.grace_period_seconds,
        },
        "errors": {k: v["error"] for k, v in observed.items() if isinstance(v, dict) and "error" in v},
    }


def _watch_brief(result: Any) -> dict[str, Any] | None:
    """The latest backup-watch result (orchestrators/backup_watch.py): when, healthy, open breaches."""
    if not isinstance(result, dict) or "observed_at" not in result:
        return None
    failing = [c["reason"] for c in result.get("checks", []) if not c.get("ok")]
    keys = ("observed_at", "healthy", "open_breaches", "latest_backup_age_seconds")
    return {**{k: result.get(k) for k in keys}, "failing": failing}


def _server_brief(server: Any) -> dict[str, Any] | None:
    if not isinstance(server, dict):
        return None
    keys = ("name", "state", "role", "location", "replication_state", "error")
    return {k: server[k] for k in keys if k in server}


def observe_status(settings: Settings) -> dict[str, Any]:
    """The estate as /api/status shows it, read now through the adapters."""
    return read_now(estate.status(settings))


@endpoint(
    bp,
    names.HTTP_STATUS,
    "GET",
    "status",
    responses={200: "the estate as observed now", 400: "invalid request", 503: "settings invalid"},
    tag="status",
    summary="The estate now: primary, live slot, lag, backups, running runs",
)
async def http_status(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """GET /api/status: primary region, live slot, replica lag, backup age, running operations, objectives."""
    try:
        NO_QUERY.parse(req)
    except BadRequest as bad:
        return bad.response()
    settings = settings_or_error()
    if isinstance(settings, func.HttpResponse):
        return settings
    observed, running = await asyncio.gather(
        asyncio.to_thread(observe_status, settings), runs.active_operations(client, settings.app_name)
    )
    return json_response(status_view(settings, observed, running))


@endpoint(
    bp,
    names.HTTP_OPENAPI,
    "GET",
    "openapi.json",
    responses={200: "this API's OpenAPI 3.1 document", 400: "invalid request"},
    client=False,
    tag="status",
    summary="The OpenAPI document of this API",
)
def http_openapi(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/openapi.json: the contract, made from the same declarations the validation uses."""
    try:
        NO_QUERY.parse(req)
    except BadRequest as bad:
        return bad.response()
    return json_response(openapi())
