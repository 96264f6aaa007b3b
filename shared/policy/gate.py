"""The pre-deployment backup gate: deploy only on a fresh backup; else take one, wait, or refuse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.models import Decision
from shared.policy.durations import describe_duration

GATE_PROCEED = "proceed"
GATE_TAKE_BACKUP = "take-backup"
GATE_WAIT = "wait"
GATE_REFUSE = "refuse"


@dataclass(frozen=True)
class BackupGateState:
    """What the gate knows at one step: the latest backup and, once asked for, the on-demand backup."""

    now: datetime
    latest_backup_at: datetime | None
    max_age_hours: float = 6.0
    on_demand_allowed: bool = True
    on_demand_started_at: datetime | None = None
    on_demand_status: str | None = None
    wait_limit_seconds: float = 1800.0


def decide_backup_gate(state: BackupGateState) -> Decision:
    """proceed, take-backup, wait or refuse: deploy only with a backup younger than the gate; otherwise
    take one and wait, or refuse and say why."""
    limit = timedelta(hours=state.max_age_hours)
    fresh, age_text = _backup_freshness(state.latest_backup_at, state.now, limit)
    if fresh:
        return Decision(GATE_PROCEED, f"{age_text}, within the {describe_duration(limit)} gate")
    if state.on_demand_started_at is None:
        if not state.on_demand_allowed:
            return Decision(GATE_REFUSE, f"{age_text} and on-demand backups are not allowed")
        return Decision(GATE_TAKE_BACKUP, f"{age_text}; taking an on-demand backup")
    status = (state.on_demand_status or "").lower()
    if status == "failed":
        return Decision(GATE_REFUSE, f"{age_text} and the on-demand backup failed")
    if status == "succeeded":
        return Decision(GATE_REFUSE, f"the on-demand backup reported success but {age_text}")
    waited = state.now - state.on_demand_started_at
    if waited.total_seconds() > state.wait_limit_seconds:
        return Decision(
            GATE_REFUSE, f"the on-demand backup is still running after {describe_duration(waited)}"
        )
    return Decision(GATE_WAIT, f"waiting for the on-demand backup (running {describe_duration(waited)})")


def _backup_freshness(latest: datetime | None, now: datetime, limit: timedelta) -> tuple[bool, str]:
    if latest is None:
        return False, "no completed backup exists"
    age = now - latest
    return age <= limit, f"latest backup is {describe_duration(age)} old"
