"""Timers: the backup watch (every 15 min), the daily restore test and the quarterly drill.

Schedules are app settings (``%CONTINUITY_..._SCHEDULE%``, NCRONTAB with seconds). Each timer only
starts an orchestration: the watch under its own singleton id (a tick that finds the previous one still
running is skipped; a watch tick is not a DR operation), the restore test and the drill through
``triggers.runs.start_run``, so that they never start while another DR operation of the app runs (rule 1).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import calendar, instances, names
from shared.config import Settings, current_settings
from triggers import runs

bp = df.Blueprint()
log = logging.getLogger("continuity.schedules")

CALENDAR_ITEMS = {
    "restore-test": "restore-verification"
}  # operation -> its calendar item (drills: by quarter)


def watch_instance_id(app: str) -> str:
    return f"backup-watch-{app}"


async def start_backup_watch(client: Any, settings: Settings) -> str:
    """Start one watch tick unless the previous one still runs; returns what happened."""
    iid = watch_instance_id(settings.app_name)
    if instances.is_active(await client.get_status(iid)):
        return f"skipped: {iid} is still running"
    await client.start_new(
        names.BACKUP_WATCH_ORCHESTRATOR, iid, {"settings": settings.to_dict(), "run_id": iid}
    )
    return f"started {iid}"


async def start_scheduled(
    client: Any, settings: Settings, operation: str, orchestrator: str, extra: dict[str, Any]
) -> str:
    """Start a scheduled restore test or drill under rule 1 (unless its calendar item is switched off);
    returns what happened."""
    item = CALENDAR_ITEMS.get(operation)
    if item and calendar.switched_off(settings, item):
        return f"not started: {item} is switched off (CONTINUITY_CALENDAR_OFF)"
    payload = {
        "settings": settings.to_dict(),
        "trigger": {"kind": "timer", "reason": f"scheduled {operation}"},
        **extra,
    }
    result = await runs.start_run(
        client, app=settings.app_name, operation=operation, orchestrator=orchestrator, payload=payload
    )
    return f"started {result.run_id}" if result.started else f"not started: {result.decision.reason}"


@bp.function_name(names.TIMER_BACKUP_WATCH)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_BACKUP_WATCH_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_backup_watch(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Backup watch tick: latest backup age, retention, geo backup, replica lag, storage geo-sync."""
    log.info("backup watch: %s", await start_backup_watch(client, current_settings()))


@bp.function_name(names.TIMER_RESTORE_TEST)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_RESTORE_TEST_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_restore_test(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Daily restore test to a scratch server, with data checks and verified teardown."""
    outcome = await start_scheduled(
        client, current_settings(), "restore-test", names.RESTORE_TEST_ORCHESTRATOR, {}
    )
    log.info("restore test: %s", outcome)


@bp.function_name(names.TIMER_DRILL)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_DRILL_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_drill(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Quarterly drill in practice mode (the quarter's scenario of the DR test calendar: Q1 database, Q2
    region, Q3 complete, Q4 security by default), with its evidence report."""
    settings = current_settings()
    scenario = calendar.quarter_scenario(settings, datetime.now(UTC).month)
    if scenario is None:
        log.info("drill: not started: this quarter's drill is switched off")
        return
    extra = {"scenario": scenario}
    log.info("drill: %s", await start_scheduled(client, settings, "drill", names.DRILL_ORCHESTRATOR, extra))
