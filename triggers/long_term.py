"""Timers of long-term backups: the weekly backup (``%CONTINUITY_LTR_BACKUP_SCHEDULE%``, Sunday 02:00 UTC
by default) and the monthly proof it is readable (``%CONTINUITY_LTR_PROOF_SCHEDULE%``, the 1st at 05:00
UTC). Each starts through ``triggers.runs.start_run`` like the restore test, so it never runs while
another operation of the app holds the lock (rule 1); a tick that finds one says so in the log."""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from shared import names
from shared.config import current_settings
from triggers.schedules import start_scheduled

bp = df.Blueprint()
log = logging.getLogger("continuity.long_term")


@bp.function_name(names.TIMER_LTR_BACKUP)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_LTR_BACKUP_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_ltr_backup(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Weekly long-term backup into the immutable container, read back and recorded."""
    outcome = await start_scheduled(
        client, current_settings(), "ltr-backup", names.LTR_BACKUP_ORCHESTRATOR, {}
    )
    log.info("long-term backup: %s", outcome)


@bp.function_name(names.TIMER_LTR_PROOF)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_LTR_PROOF_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_ltr_proof(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Monthly proof that the latest long-term backup is readable (Azure's record, blobs, archive)."""
    outcome = await start_scheduled(client, current_settings(), "ltr-proof", names.LTR_PROOF_ORCHESTRATOR, {})
    log.info("long-term backup proof: %s", outcome)
