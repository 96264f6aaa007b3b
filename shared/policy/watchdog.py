"""The stuck-run watchdog's decision: is an active run past its operation's deadline, or waiting for an
operator past the approval timeout?

A run's own timers end its waits (an approval times out into the configured action); a run still active
past those is stuck: its host lost it, an activity hangs, or a timer never fired. Pure: the run as plain
values, the clock and the limits passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.models import Decision, parse_time
from shared.policy.durations import duration as human

STUCK = "stuck"
OVERDUE_APPROVAL = "approval-overdue"
ON_TIME = "on-time"


@dataclass(frozen=True)
class ActiveRun:
    """What the watchdog reads of an active run: its id, operation, when it started, its step, and
    what it waits for since when ('' when it does not wait)."""

    run_id: str
    operation: str
    started_at: str
    step: str = ""
    awaiting: str = ""
    waiting_since: str = ""


def run_deadlines(text: str) -> dict[str, float]:
    """``failover=60,deploy=120,*=240`` as minutes per operation (``*``: every other operation);
    raises ValueError naming the bad entry."""
    out: dict[str, float] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        operation, sep, minutes = entry.partition("=")
        try:
            value = float(minutes)
        except ValueError:
            value = -1.0
        if not sep or not operation.strip() or value <= 0:
            raise ValueError(f"{entry!r} is not operation=minutes (minutes above 0)")
        out[operation.strip()] = value
    if "*" not in out:
        raise ValueError("needs a default for every other operation (*=minutes)")
    return out


def deadline_for(operation: str, deadlines: dict[str, float]) -> float:
    return deadlines.get(operation, deadlines["*"])


def run_overdue(
    run: ActiveRun, now: datetime, *, deadline_minutes: float, approval_timeout_minutes: float
) -> Decision[None]:
    """``approval-overdue`` when it has waited for approval longer than the timeout (its own timer should
    have ended the wait), ``stuck`` when it has run past its operation's deadline, else ``on-time``;
    each with the sentence a page carries (the run, its step, for how long)."""
    where = f"{run.run_id} ({run.operation}) at step {run.step or 'unknown'}"
    if run.awaiting == "approval" and run.waiting_since:
        waited = now - parse_time(run.waiting_since)
        if waited > timedelta(minutes=approval_timeout_minutes):
            limit = human(approval_timeout_minutes * 60)
            return Decision(
                OVERDUE_APPROVAL,
                f"{where} has waited for approval for {human(waited.total_seconds())}, past the "
                f"approval timeout of {limit}: its timeout did not end the wait",
            )
    ran = now - parse_time(run.started_at)
    if ran > timedelta(minutes=deadline_minutes):
        return Decision(
            STUCK,
            f"{where} has been active for {human(ran.total_seconds())}, past the "
            f"{human(deadline_minutes * 60)} deadline of a {run.operation}",
        )
    return Decision(ON_TIME, f"{where} is within its deadline")
