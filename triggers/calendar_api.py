"""The DR test calendar: ``GET /api/calendar`` (each item's last run and result, next run, overdue
items) and the weekly alert verification's timer (``%CONTINUITY_ALERT_VERIFICATION_SCHEDULE%``).

The alert verification runs under its own run id and report but holds no lock (a practice alert never
delays a real failover); a tick that finds the previous verification still running is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import calendar, names, policy
from shared.config import Settings, current_settings
from shared.models import parse_time
from triggers import runs
from triggers.api import endpoint
from triggers.web import NO_QUERY, BadRequest, json_response, settings_or_error

bp = df.Blueprint()
log = logging.getLogger("continuity.calendar")


def utc_now() -> datetime:
    return datetime.now(UTC)


def calendar_view(settings: Settings, summaries: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """What /api/calendar shows (pure): every item, and the names of the overdue ones."""
    seen = tuple(
        policy.RunSeen(
            operation=str(r.get("operation") or ""),
            status=str(r.get("status") or ""),
            started_at=parse_time(str(r["started_at"])) if r.get("started_at") else None,
            run_id=str(r.get("run_id") or ""),
        )
        for r in summaries
    )
    entries = [policy.calendar_entry(item, seen, now) for item in calendar.items(settings)]
    return {
        "app": settings.app_name,
        "at": now.isoformat(),
        "items": entries,
        "overdue": [e["name"] for e in entries if e["overdue"]],
    }


@endpoint(
    bp,
    names.HTTP_CALENDAR,
    "GET",
    "calendar",
    responses={
        200: "every calendar item and the overdue ones",
        400: "invalid request",
        503: "settings invalid",
    },
    client=False,
    tag="status",
    summary="The DR test calendar: last run, result, next run of each item; overdue items",
)
async def http_calendar(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/calendar."""
    try:
        NO_QUERY.parse(req)
    except BadRequest as bad:
        return bad.response()
    settings = settings_or_error()
    if isinstance(settings, func.HttpResponse):
        return settings
    summaries = await asyncio.to_thread(runs.report_summaries)
    return json_response(calendar_view(settings, summaries, utc_now()))


async def start_alert_verification(client: Any, settings: Settings) -> str:
    """Start one alert verification (its own run id and report, no lock) unless switched off or one
    still runs; returns what happened."""
    if calendar.switched_off(settings, "alert-verification"):
        return "switched off (CONTINUITY_CALENDAR_OFF)"
    app = settings.app_name
    for status in await runs.recent_runs(client, "alert-verification", app, timedelta(days=1)):
        if runs.is_active(status):
            return f"skipped: {status.instance_id} is still running"
    run_id = runs.new_run_id("alert-verification", app)
    trigger = {"kind": "timer", "reason": "weekly alert verification (DR test calendar)"}
    payload = {"settings": settings.to_dict(), "run_id": run_id, "trigger": trigger}
    await client.start_new(names.ALERT_VERIFICATION_ORCHESTRATOR, run_id, payload)
    return f"started {run_id}"


@bp.function_name(names.TIMER_ALERT_VERIFICATION)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_ALERT_VERIFICATION_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_alert_verification(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Weekly: a practice alert through the intake must reach the targets and start nothing."""
    log.info("alert verification: %s", await start_alert_verification(client, current_settings()))
