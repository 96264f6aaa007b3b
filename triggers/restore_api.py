"""Handlers of POST /api/restore and POST /api/drills (routed in triggers/http_api.py).

A restore request is validated before anything starts: its body, then its restore point against the
source server's restorable window (not in the future, inside retention, not before the earliest restore
point); a failure is a 400 naming the rule. ``dry_run`` answers the plan without starting anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from orchestrators.restore import integrity_checks, restored_server_name
from shared import names, policy
from shared.config import Settings
from shared.models import parse_time
from triggers.http_api import (
    BadRequest,
    bool_field,
    choice_field,
    find_primary_now,
    json_response,
    operator_of,
    read_body,
    settings_or_error,
    start_operation,
    text_field,
)

DRILL_SCENARIOS = ("restore", "database", "region", "complete")

WindowReader = Callable[[Settings], dict[str, Any]]


def read_window(settings: Settings) -> dict[str, Any]:
    """The source server (the primary found now, as the restore plan finds it): its snapshot, with its
    earliest restore point and retention. No primary raises LookupError with the policy's reason."""
    decision, seen = find_primary_now(settings)
    if decision.action != "primary":
        raise LookupError(decision.reason)
    return dict(seen[decision.primary])


# Replaced only by tests that have no Azure estate to read (the one seam of this module).
window_reader: WindowReader = read_window


def restore_point_field(body: dict[str, Any]) -> datetime:
    value = body.get("restore_point")
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("restore_point", "is required: an ISO 8601 timestamp with a time zone")
    try:
        return parse_time(value.strip())
    except ValueError:
        raise BadRequest("restore_point", "must be an ISO 8601 timestamp with a time zone") from None


def window_of(server: dict[str, Any], settings: Settings, now: datetime) -> policy.RestoreWindow:
    earliest = server.get("earliest_restore_point")
    return policy.RestoreWindow(
        now=now,
        earliest_restore_point=parse_time(str(earliest)) if earliest else None,
        retention_days=int(server.get("backup_retention_days") or settings.backup_retention_days),
    )


def restore_plan_view(
    settings: Settings, point: datetime, now: datetime, switch: bool, source: str = ""
) -> dict[str, Any]:
    """What a restore of ``source`` (default: the configured primary) would do, for dry runs."""
    source = source or settings.primary_server
    target = restored_server_name(source, now.isoformat())
    return {
        "source_server": source,
        "target_server": target,
        "restore_point": point.isoformat(),
        "data_loss_window_seconds": (now - point).total_seconds(),
        "checks": {
            "row_counts": list(settings.critical_tables),
            "sentinel_table": settings.sentinel_table,
            "sql": [c["name"] for c in integrity_checks(settings, point.isoformat())["sql"]],
        },
        "switch": {
            "requested": switch,
            "requires_approval": settings.restore_requires_approval,
            "secret": f"{settings.database_secret_name} -> {target}" if switch else None,
            "restart": [g for g in settings.container_groups.values()] if switch else [],
            "verify": [
                settings.public_url + settings.health_path,
                settings.public_url + settings.database_health_path,
            ]
            if switch
            else [],
            "old_server": f"{source} stopped, not deleted" if switch else "untouched",
        },
    }


async def start_restore(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/restore {restore_point, reason, switch, dry_run}: 202, 200 (dry run), 400, 409 or 503."""
    try:
        body = read_body(req, allowed={"restore_point", "reason", "switch", "dry_run", "by"})
        point = restore_point_field(body)
        reason = text_field(body, "reason", required=True)
        switch, is_dry = bool_field(body, "switch"), bool_field(body, "dry_run")
        by = operator_of(req, body)
    except BadRequest as bad:
        return bad.response()
    settings = settings_or_error()
    if isinstance(settings, func.HttpResponse):
        return settings
    now = datetime.now(UTC)
    try:
        server = await asyncio.to_thread(window_reader, settings)
    except Exception as exc:
        problem = f"could not read the source server's restore window: {str(exc)[:200]}"
        return json_response({"error": "unavailable", "problem": problem}, 503)
    check = policy.validate_restore_point(point, window_of(server, settings, now))
    if not check.valid:
        refusal = {"error": "invalid restore point", "field": "restore_point", "rule": check.rule}
        return json_response({**refusal, "problem": check.reason}, 400)
    if is_dry:
        plan = restore_plan_view(settings, point, now, switch, str(server.get("name") or ""))
        return json_response({"dry_run": True, "plan": plan})
    payload = {
        "restore_point": point.isoformat(),
        "reason": reason,
        "switch": switch,
        "requested_at": now.isoformat(),
        "trigger": {"kind": "operator", "source": "api", "reason": reason, "by": by},
    }
    return await start_operation(
        req, client, operation="restore", orchestrator=names.RESTORE_ORCHESTRATOR, payload=payload
    )


async def start_drill(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/drills {scenario: restore|database|region|complete, reason}: 202, 400 or 409."""
    try:
        body = read_body(req, allowed={"scenario", "reason", "by"})
        if "scenario" not in body:
            raise BadRequest("scenario", f"is required: one of {', '.join(DRILL_SCENARIOS)}")
        scenario = choice_field(body, "scenario", DRILL_SCENARIOS, "")
        reason = text_field(body, "reason", required=False) or f"{scenario} drill"
        by = operator_of(req, body)
    except BadRequest as bad:
        return bad.response()
    trigger = {"kind": "operator", "source": "api", "reason": reason, "by": by}
    if scenario == "restore":
        return await start_operation(
            req,
            client,
            operation="restore-test",
            orchestrator=names.RESTORE_TEST_ORCHESTRATOR,
            payload={"trigger": trigger},
        )
    payload = {"scenario": scenario, "trigger": trigger}
    return await start_operation(
        req, client, operation="drill", orchestrator=names.DRILL_ORCHESTRATOR, payload=payload
    )
