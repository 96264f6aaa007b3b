"""The DR test calendar: ``GET /api/calendar`` (each item's last run and result, next run, overdue
items) and the timers of its checks (``%CONTINUITY_<ITEM>_SCHEDULE%``): the monthly failover validation
and performance baseline, the weekly health-check validation, alert verification and backup integrity.

Each check runs under its own run id and report but holds no lock (none changes anything, so none ever
delays a real failover); a tick is skipped while the previous run of its check still runs or a DR
operation holds the lock (``start_check``), and a check switched off in ``CONTINUITY_CALENDAR_OFF`` starts
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import calendar, instances, names, policy
from shared.config import Settings, current_settings
from shared.models import parse_time
from triggers import runs
from triggers.api import endpoint
from triggers.web import NO_QUERY, json_response

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
    NO_QUERY.parse(req)
    settings = current_settings()
    summaries = await asyncio.to_thread(runs.report_summaries)
    return json_response(calendar_view(settings, summaries, utc_now()))


# calendar check (its runs' operation, shared.calendar CHECKS) -> the orchestrator that runs it
ORCHESTRATORS = {
    "failover-validation": names.FAILOVER_VALIDATION_ORCHESTRATOR,
    "performance-baseline": names.PERFORMANCE_BASELINE_ORCHESTRATOR,
    "health-check-validation": names.HEALTH_CHECK_VALIDATION_ORCHESTRATOR,
    "alert-verification": names.ALERT_VERIFICATION_ORCHESTRATOR,
    "backup-integrity": names.BACKUP_INTEGRITY_ORCHESTRATOR,
}


async def start_check(client: Any, settings: Settings, item: str) -> str:
    """Start one run of a calendar check (its own run id and report, no lock) unless it is switched off,
    its previous run still runs, or a DR operation holds the lock (a check measures the estate at rest:
    a deploy or failover in flight would fail it, or skew a baseline; the next tick runs it); returns
    what happened."""
    if calendar.switched_off(settings, item):
        return "switched off (CONTINUITY_CALENDAR_OFF)"
    app, cadence = settings.app_name, calendar.CHECKS[item][0]
    holder = await runs.lock_holder(client, app)
    if holder is not None:
        return f"skipped: {holder.operation} {holder.run_id} holds the lock; the next tick runs the check"
    within = timedelta(days=policy.CADENCE_DAYS[cadence])
    for status in await runs.recent_runs(client, item, app, within):
        if instances.is_active(status):
            return f"skipped: {status.instance_id} is still running"
    run_id = instances.new_run_id(item, app)
    trigger = {"kind": "timer", "reason": f"{cadence} {item.replace('-', ' ')} (DR test calendar)"}
    payload = {"settings": settings.to_dict(), "run_id": run_id, "trigger": trigger}
    await client.start_new(ORCHESTRATORS[item], run_id, payload)
    return f"started {run_id}"


async def tick(client: Any, item: str) -> None:
    log.info("%s: %s", item, await start_check(client, current_settings(), item))


@bp.function_name(names.TIMER_FAILOVER_VALIDATION)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_FAILOVER_VALIDATION_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_failover_validation(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Monthly: the failover plan as a dry run must say the failover would proceed."""
    await tick(client, "failover-validation")


@bp.function_name(names.TIMER_PERFORMANCE_BASELINE)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_PERFORMANCE_BASELINE_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_performance_baseline(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Monthly: latency and errors through the public endpoint, against the previous baseline."""
    await tick(client, "performance-baseline")


@bp.function_name(names.TIMER_HEALTH_CHECK_VALIDATION)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_HEALTH_CHECK_VALIDATION_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_health_check_validation(
    timer: func.TimerRequest, client: df.DurableOrchestrationClient
) -> None:
    """Weekly: the tiers answer through the public endpoint; Front Door's probes and origins agree."""
    await tick(client, "health-check-validation")


@bp.function_name(names.TIMER_ALERT_VERIFICATION)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_ALERT_VERIFICATION_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_alert_verification(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Weekly: a practice alert through the intake must reach the targets and start nothing."""
    await tick(client, "alert-verification")


@bp.function_name(names.TIMER_BACKUP_INTEGRITY)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_BACKUP_INTEGRITY_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_backup_integrity(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Weekly: the automatic and long-term backups are as the backup watch and the proof require."""
    await tick(client, "backup-integrity")
