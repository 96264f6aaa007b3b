"""The run toolkit: how every plan is written. ``Run`` (activities, steps, decisions, waits, reports,
notifications, endings), its ``RunRecord``, and the ``End`` / ``Stop`` / ``StepFailed`` a plan ends with.

A plan in ten lines::

    @bp.function_name(names.BACKUP_NOW_ORCHESTRATOR)
    @bp.orchestration_trigger(context_name="context")
    def backup_now_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
        return (yield from Run(context, "backup-now").execute(backup_now))

    def backup_now(run: Run) -> Gen:
        primary = yield from run.require_primary(page=False)
        made = yield from run.step("backup", run.act(names.DATABASE_CREATE_BACKUP, primary.address()))
        run.measure(backup=made.get("name"))
        return End("succeeded", f"backup {made.get('name')} of {primary.server} taken")
"""

from orchestrators.toolkit.calls import POWER_DEADLINE_SECONDS, Calls, Gen, Json, Read, RetryPolicy
from orchestrators.toolkit.record import RunRecord, iso
from orchestrators.toolkit.run import (
    APPROVAL,
    AWAITING_APPROVAL,
    COMPLETED,
    DRY_RUN,
    FAILED,
    REFUSED,
    SIGNAL,
    STARTED,
    STEP_FAILED,
    End,
    Run,
    StepFailed,
    Stop,
)

__all__ = [
    "APPROVAL",
    "AWAITING_APPROVAL",
    "COMPLETED",
    "DRY_RUN",
    "FAILED",
    "POWER_DEADLINE_SECONDS",
    "REFUSED",
    "SIGNAL",
    "STARTED",
    "STEP_FAILED",
    "Calls",
    "End",
    "Gen",
    "Json",
    "Read",
    "RetryPolicy",
    "Run",
    "RunRecord",
    "StepFailed",
    "Stop",
    "iso",
]
