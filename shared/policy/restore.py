"""Point-in-time restore: the restore point's validation (safety rule 8) and the switch after the checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.models import Decision
from shared.policy.durations import describe_duration, iso

# The checks a restore point must pass; a refusal's action names the one that failed.
POINT_VALID = "valid"
RULE_NOT_IN_FUTURE = "not-in-future"
RULE_INSIDE_RETENTION = "inside-retention"
RULE_NOT_BEFORE_EARLIEST = "not-before-earliest-restore-point"


@dataclass(frozen=True)
class RestoreWindow:
    """What the source server can be restored to, observed at ``now``."""

    now: datetime
    earliest_restore_point: datetime | None
    retention_days: int


def validate_restore_point(point: datetime, window: RestoreWindow) -> Decision:
    """``valid``, or the name of the first check the point fails (rule 8): not in the future, inside
    retention, not before the earliest restore point (a point 40 days back fails retention)."""
    if point > window.now:
        ahead = describe_duration(point - window.now)
        return _refuse(RULE_NOT_IN_FUTURE, f"restore point {iso(point)} is {ahead} in the future")
    retention_start = window.now - timedelta(days=window.retention_days)
    if point < retention_start:
        return _refuse(
            RULE_INSIDE_RETENTION,
            f"restore point {iso(point)} is outside the {window.retention_days}-day backup retention "
            f"(oldest allowed {iso(retention_start)})",
        )
    earliest = window.earliest_restore_point
    if earliest is None:
        return _refuse(RULE_NOT_BEFORE_EARLIEST, "the source server has no restore point yet")
    if point < earliest:
        text = f"restore point {iso(point)} is before the earliest restore point {iso(earliest)}"
        return _refuse(RULE_NOT_BEFORE_EARLIEST, text)
    return Decision(POINT_VALID, f"restore point {iso(point)} is inside the restorable window", "rule 8")


def _refuse(check: str, reason: str) -> Decision:
    return Decision(check, reason, "rule 8")


def restore_test_point(before_written_at: datetime, after_written_at: datetime) -> datetime:
    """The restore point of a restore test: midway between the two sentinels, so one is before, one after."""
    return before_written_at + (after_written_at - before_written_at) / 2


# ---- the switch decision -----------------------------------------------------------------------------
SWITCH_REFUSE = "refuse"
SWITCH_KEEP = "keep-restored"
SWITCH_AWAIT_APPROVAL = "await-approval"
SWITCH_GO = "switch"


def decide_restore_switch(
    *,
    checks_passed: bool,
    failed_checks: tuple[str, ...],
    switch_requested: bool,
    approval_required: bool,
    approval: str | None,
) -> Decision:
    """Switch the app to the restored server only when its checks pass, it was asked for and is approved.

    ``approval`` is None (not yet answered), "approved", "rejected" or "timed-out" (nobody answered).
    """
    if not checks_passed:
        names = ", ".join(failed_checks) or "unknown"
        text = f"integrity checks failed on the restored server ({names}); not switching"
        return Decision(SWITCH_REFUSE, text)
    if not switch_requested:
        return Decision(SWITCH_KEEP, "checks passed; switch not requested, restored server kept for use")
    if approval_required and approval is None:
        return Decision(SWITCH_AWAIT_APPROVAL, "checks passed; waiting for operator approval to switch")
    if approval == "timed-out":
        return Decision(SWITCH_KEEP, "no operator answered in time; restored server kept, app unchanged")
    if approval == "rejected":
        return Decision(SWITCH_KEEP, "operator rejected the switch; restored server kept, app unchanged")
    why = "approved by operator" if approval == "approved" else "approval not required"
    return Decision(SWITCH_GO, f"checks passed and {why}; switching the app to the restored server")
