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
from shared import estate, names, releases
from shared.config import Settings, current_settings
from shared.version import VERSION
from triggers import runs, watchdog
from triggers.api import endpoint, openapi
from triggers.web import NO_QUERY, json_response

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


def status_view(
    settings: Settings,
    observed: dict[str, Any],
    running: list[str],
    reports: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What /api/status shows, from observed estate values and the runs' report summaries (pure)."""
    route = observed.get("route") or {}
    live = str(route.get("origin_group", ""))
    slot = {group: slot for slot, group in settings.origin_groups.items()}.get(live, "unknown")
    region = settings.secondary_region if slot == "standby" else settings.primary_region
    backups = observed.get("latest_backup") or {}
    primary = observed.get("primary") or {}
    slots = {name: _group_brief(found) for name, found in (observed.get("slots") or {}).items()}
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
        "slots": slots,
        "live_image": (slots.get(slot) or {}).get("image"),
        "standby_image": (slots.get("standby") or {}).get("image"),
        "replica_lag_seconds": observed.get("replica_lag_seconds"),
        "latest_backup_age_seconds": backups.get("latest_age_seconds"),
        "backup_watch": _watch_brief(observed.get("backup_watch")),
        "running_operations": running,
        "last_drill": last_run(reports or [], "drill"),
        "last_restore_test": last_run(reports or [], "restore-test"),
        "release": _release_brief(observed.get("release")),
        "readiness": readiness_brief(observed.get("readiness")),
        "objectives": {
            "rto_tier1_minutes": settings.rto_tier1_minutes,
            "rpo_minutes": settings.rpo_minutes,
            "backup_age_alert_hours": settings.backup_age_alert_hours,
            "failover_mode": settings.failover_mode,
            "grace_period_seconds": settings.grace_period_seconds,
        },
        "errors": {k: v["error"] for k, v in observed.items() if isinstance(v, dict) and "error" in v},
    }


def _release_brief(release: Any) -> dict[str, Any] | None:
    """What the live slot runs and whether the DR standby follows it (a mismatch is flagged)."""
    if not isinstance(release, dict) or "standby_matches" not in release:
        return None
    return {
        "live_image": (release.get("live") or {}).get("image"),
        "idle_image": (release.get("idle") or {}).get("image"),
        "standby_image": (release.get("standby") or {}).get("image"),
        "standby_matches": release["standby_matches"],
        "mismatch": release.get("mismatch"),
    }


def readiness_brief(result: Any) -> dict[str, Any] | None:
    """The last readiness tick (orchestrators/readiness.py): its score, when, and the checks not passing."""
    if not isinstance(result, dict) or "score" not in result:
        return None
    failing = [c for c in result.get("checks", []) if c.get("result") != "pass"]
    return {
        "score": result["score"],
        "observed_at": result.get("observed_at"),
        "failing": [{k: c.get(k) for k in ("name", "result", "reason")} for c in failing],
    }


def _watch_brief(result: Any) -> dict[str, Any] | None:
    """The latest backup-watch result (orchestrators/backup_watch.py): when, healthy, open breaches."""
    if not isinstance(result, dict) or "observed_at" not in result:
        return None
    failing = [c["reason"] for c in result.get("checks", []) if not c.get("ok")]
    keys = ("observed_at", "healthy", "open_breaches", "latest_backup_age_seconds")
    return {**{k: result.get(k) for k in keys}, "failing": failing}


def last_run(reports: list[dict[str, Any]], operation: str) -> dict[str, Any] | None:
    """The newest run of ``operation`` (drill: any scenario) from the reports' summaries, or None."""
    mine = [
        r
        for r in reports
        if str(r.get("operation") or "") == operation
        or str(r.get("operation") or "").startswith(operation + "-")
    ]
    if not mine:
        return None
    newest = max(mine, key=lambda r: str(r.get("started_at") or ""))
    keys = ("run_id", "operation", "status", "started_at", "ended_at")
    return {k: newest.get(k) for k in keys}


def _group_brief(group: Any) -> dict[str, Any] | None:
    if not isinstance(group, dict):
        return None
    keys = ("group", "state", "image", "exists", "error")
    return {k: group[k] for k in keys if k in group}


def _server_brief(server: Any) -> dict[str, Any] | None:
    if not isinstance(server, dict):
        return None
    keys = ("name", "state", "role", "location", "replication_state", "error")
    return {k: server[k] for k in keys if k in server}


def observe_status(settings: Settings) -> dict[str, Any]:
    """The estate as /api/status shows it, read now through the adapters."""
    return {
        **read_now(estate.status(settings)),
        "release": read_now(releases.observe(settings, history=False)),
    }


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
    """GET /api/status: primary region, live slot, replica lag, backup age, running operations, objectives,
    and the runs the watchdog finds stuck (triggers/watchdog.py)."""
    NO_QUERY.parse(req)
    settings = current_settings()
    observed, running, reports, stuck = await asyncio.gather(
        asyncio.to_thread(observe_status, settings),
        runs.active_operations(client, settings.app_name),
        asyncio.to_thread(runs.report_summaries),
        watchdog.stuck_runs(client, settings),
    )
    return json_response({**status_view(settings, observed, running, reports), "stuck_runs": stuck})


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
    NO_QUERY.parse(req)
    return json_response(openapi())
