"""Pre-flight gates a plan checks before it changes anything (deployments and migrations).

``backup_gate``: the latest backup of the primary found now must be younger than the gate (6 h by
default); otherwise take an on-demand backup and wait for it (re-listing backups), or refuse with the
reason (shared.policy.decide_backup_gate). No primary refuses with the policy's reason.
"""

from __future__ import annotations

from datetime import datetime

from orchestrators.toolkit import Gen, Run, StepFailed
from shared import names, policy
from shared.models import Decision, parse_time
from shared.naming import stamp

GATE_POLL_SECONDS = 30.0


def backup_gate(run: Run, *, wait_limit_seconds: float = 1800.0) -> Gen:
    """The pre-deployment backup gate, for any plan to ``yield from``; returns the final Decision."""
    found = yield from run.find_primary()
    primary = found.primary
    if primary is None:
        return run.decide("backup-gate", Decision(policy.GATE_REFUSE, found.decision.reason))
    run.resource(source_server=primary.server, replica_server=primary.replica or None)
    started_at: datetime | None = None
    status: str | None = None
    while True:
        listing = yield from run.step(
            "backup-gate-list", run.act(names.DATABASE_LIST_BACKUPS, primary.address())
        )
        latest = listing.get("latest_completed_at")
        state = policy.BackupGateState(
            now=run.now(),
            latest_backup_at=parse_time(latest) if latest else None,
            max_age_hours=run.settings.predeploy_backup_gate_hours,
            on_demand_started_at=started_at,
            on_demand_status=status,
            wait_limit_seconds=wait_limit_seconds,
        )
        decision = run.decide("backup-gate", policy.decide_backup_gate(state))
        if decision.action in (policy.GATE_PROCEED, policy.GATE_REFUSE):
            return decision
        if decision.is_(policy.GATE_TAKE_BACKUP):
            started_at = run.now()
            status = yield from on_demand_backup(run, primary)
        else:
            yield from run.pause(GATE_POLL_SECONDS)


def on_demand_backup(run: Run, primary: policy.Primary) -> Gen:
    """Take an on-demand backup now: Succeeded, InProgress or Failed."""
    name = f"predeploy-{stamp(run.now())}"
    try:
        made = yield from run.step(
            "backup-gate-on-demand", run.act(names.DATABASE_CREATE_BACKUP, primary.address(name=name))
        )
    except StepFailed:
        return "Failed"
    return "Succeeded" if made.get("completed_at") else "InProgress"
