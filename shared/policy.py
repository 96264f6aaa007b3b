"""Pure decisions of Continuity: plain values in, a decision with a human reason out. No I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.models import Decision, ProbeSnapshot, ReplicaLag

# =====================================================================================================
# Backups, point-in-time restore, restore tests and drills
# =====================================================================================================


def describe_duration(delta: timedelta) -> str:
    """A duration as an operator reads it: '45 s', '12 min', '4 h 5 min', '3 d 2 h'."""
    seconds = int(delta.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes} min"
    if minutes:
        return f"{sign}{minutes} min"
    return f"{sign}{secs} s"


# ---- restore-point validation (safety rule 8) --------------------------------------------------------

RULE_NOT_IN_FUTURE = "not-in-future"
RULE_INSIDE_RETENTION = "inside-retention"
RULE_NOT_BEFORE_EARLIEST = "not-before-earliest-restore-point"


@dataclass(frozen=True)
class RestoreWindow:
    """What the source server can be restored to, observed at ``now``."""

    now: datetime
    earliest_restore_point: datetime | None
    retention_days: int


@dataclass(frozen=True)
class RestorePointCheck:
    """The outcome of validating a restore point; ``rule`` names the rule that failed (None when valid)."""

    valid: bool
    rule: str | None
    reason: str


def validate_restore_point(point: datetime, window: RestoreWindow) -> RestorePointCheck:
    """Check a requested restore point: not in the future, inside retention, not before the earliest point.

    The first failing rule is reported (a point 40 days back fails retention, not the earliest point).
    """
    if point > window.now:
        ahead = describe_duration(point - window.now)
        text = f"restore point {_iso(point)} is {ahead} in the future"
        return RestorePointCheck(False, RULE_NOT_IN_FUTURE, text)
    retention_start = window.now - timedelta(days=window.retention_days)
    if point < retention_start:
        return RestorePointCheck(
            False,
            RULE_INSIDE_RETENTION,
            f"restore point {_iso(point)} is outside the {window.retention_days}-day backup retention "
            f"(oldest allowed {_iso(retention_start)})",
        )
    earliest = window.earliest_restore_point
    if earliest is None:
        text = "the source server has no restore point yet"
        return RestorePointCheck(False, RULE_NOT_BEFORE_EARLIEST, text)
    if point < earliest:
        return RestorePointCheck(
            False,
            RULE_NOT_BEFORE_EARLIEST,
            f"restore point {_iso(point)} is before the earliest restore point {_iso(earliest)}",
        )
    return RestorePointCheck(True, None, f"restore point {_iso(point)} is inside the restorable window")


# ---- backup watch: checks ----------------------------------------------------------------------------

CHECK_BACKUP_AGE = "backup-age"
CHECK_RETENTION = "backup-retention"
CHECK_EARLIEST_RESTORE_POINT = "earliest-restore-point"
CHECK_GEO_REDUNDANT_BACKUP = "geo-redundant-backup"
CHECK_REPLICA = "replica"
CHECK_STORAGE_GEO_SYNC = "storage-geo-sync"
CHECK_WATCH_PROBE = "backup-watch-probe"

HEALTHY_REPLICA_STATES = frozenset({"active", "catchup", "replicating"})


@dataclass(frozen=True)
class BackupObservation:
    """One snapshot of the protected estate's backup posture (None = the value was not reported)."""

    now: datetime
    latest_backup_at: datetime | None
    earliest_restore_point: datetime | None
    retention_days: int | None
    geo_redundant_backup: bool | None
    replica_state: str | None
    replica_lag_seconds: float | None
    storage_geo_available: bool
    storage_last_sync_at: datetime | None


@dataclass(frozen=True)
class BackupObjectives:
    """The thresholds the backup watch holds the estate to (DESIGN.md section 1)."""

    backup_age_alert_hours: float = 4.0
    retention_days: int = 30
    rpo_seconds: float = 900.0
    require_geo_redundant_backup: bool = True
    expect_replica: bool = True


@dataclass(frozen=True)
class WatchCheck:
    """One check of the backup watch. ``available`` is False when the estate cannot report the value."""

    name: str
    ok: bool
    reason: str
    available: bool = True


def assess_backups(obs: BackupObservation, objectives: BackupObjectives) -> tuple[WatchCheck, ...]:
    """Every backup-watch check for one observation, in a fixed order, each with its reason."""
    return (
        _check_backup_age(obs, objectives),
        _check_retention(obs, objectives),
        _check_earliest(obs),
        _check_geo_backup(obs, objectives),
        _check_replica(obs, objectives),
        _check_storage_geo(obs, objectives),
    )


def _check_backup_age(obs: BackupObservation, objectives: BackupObjectives) -> WatchCheck:
    limit = timedelta(hours=objectives.backup_age_alert_hours)
    if obs.latest_backup_at is None:
        return WatchCheck(CHECK_BACKUP_AGE, False, "no completed backup is listed for the primary server")
    age = obs.now - obs.latest_backup_at
    text = f"latest backup is {describe_duration(age)} old (alert threshold {describe_duration(limit)})"
    return WatchCheck(CHECK_BACKUP_AGE, age <= limit, text)


def _check_retention(obs: BackupObservation, objectives: BackupObjectives) -> WatchCheck:
    if obs.retention_days is None:
        return WatchCheck(CHECK_RETENTION, False, "backup retention is not reported by the primary server")
    ok = obs.retention_days >= objectives.retention_days
    text = f"backup retention is {obs.retention_days} days (required {objectives.retention_days})"
    return WatchCheck(CHECK_RETENTION, ok, text)


def _check_earliest(obs: BackupObservation) -> WatchCheck:
    if obs.earliest_restore_point is None:
        text = "the primary server has no earliest restore point"
        return WatchCheck(CHECK_EARLIEST_RESTORE_POINT, False, text)
    span = describe_duration(obs.now - obs.earliest_restore_point)
    text = f"earliest restore point {_iso(obs.earliest_restore_point)} ({span} of history)"
    return WatchCheck(CHECK_EARLIEST_RESTORE_POINT, True, text)


def _check_geo_backup(obs: BackupObservation, objectives: BackupObjectives) -> WatchCheck:
    if not objectives.require_geo_redundant_backup:
        return WatchCheck(CHECK_GEO_REDUNDANT_BACKUP, True, "geo-redundant backup is not required")
    if obs.geo_redundant_backup is None:
        return WatchCheck(CHECK_GEO_REDUNDANT_BACKUP, False, "geo-redundant backup setting is not reported")
    if obs.geo_redundant_backup:
        return WatchCheck(CHECK_GEO_REDUNDANT_BACKUP, True, "geo-redundant backup is enabled")
    return WatchCheck(CHECK_GEO_REDUNDANT_BACKUP, False, "geo-redundant backup is disabled")


def _check_replica(obs: BackupObservation, objectives: BackupObjectives) -> WatchCheck:
    if obs.replica_state is None:
        if objectives.expect_replica:
            return WatchCheck(CHECK_REPLICA, False, "the primary server has no read replica")
        return WatchCheck(CHECK_REPLICA, True, "no read replica is expected")
    if obs.replica_state.lower() not in HEALTHY_REPLICA_STATES:
        return WatchCheck(CHECK_REPLICA, False, f"replica state is {obs.replica_state}")
    if obs.replica_lag_seconds is None:
        return WatchCheck(CHECK_REPLICA, True, f"replica state is {obs.replica_state}; lag not reported")
    lag = obs.replica_lag_seconds
    ok = lag <= objectives.rpo_seconds
    text = f"replica state is {obs.replica_state}, lag {lag:.0f} s (RPO {objectives.rpo_seconds:.0f} s)"
    return WatchCheck(CHECK_REPLICA, ok, text)


def _check_storage_geo(obs: BackupObservation, objectives: BackupObjectives) -> WatchCheck:
    if not obs.storage_geo_available:
        text = "storage geo-replication last sync time: not available (the account has no secondary)"
        return WatchCheck(CHECK_STORAGE_GEO_SYNC, True, text, available=False)
    if obs.storage_last_sync_at is None:
        return WatchCheck(CHECK_STORAGE_GEO_SYNC, False, "storage geo-replication has not synced yet")
    behind = obs.now - obs.storage_last_sync_at
    ok = behind.total_seconds() <= objectives.rpo_seconds
    text = f"storage last geo-sync {describe_duration(behind)} ago (RPO {objectives.rpo_seconds:.0f} s)"
    return WatchCheck(CHECK_STORAGE_GEO_SYNC, ok, text)


def probe_failed_check(error: str) -> WatchCheck:
    """The check recorded when the watch could not observe the estate at all."""
    return WatchCheck(CHECK_WATCH_PROBE, False, f"backup watch could not read the estate: {error}")


# ---- backup watch: breach state machine --------------------------------------------------------------

BREACHED = "breached"
RESOLVED = "resolved"


@dataclass(frozen=True)
class BreachEvent:
    """A state change to notify: a check became breached, or an open breach cleared."""

    check: str
    kind: str
    reason: str
    since: str


@dataclass(frozen=True)
class WatchTransition:
    """The open breaches after a tick (check name -> ISO time it was first seen) and what to notify."""

    open_breaches: dict[str, str]
    events: tuple[BreachEvent, ...]


def next_breach_state(
    open_breaches: Mapping[str, str], checks: Iterable[WatchCheck], now: datetime
) -> WatchTransition:
    """Notify once per breach, resolve when cleared.

    A failing check that is not open opens a breach (one 'breached' event); a failing check that is
    already open stays open silently; a passing check that was open resolves (one 'resolved' event).
    A check absent from this tick keeps its state: missing data never resolves a breach.
    """
    state = dict(open_breaches)
    events: list[BreachEvent] = []
    for check in checks:
        since = state.get(check.name)
        if not check.ok and since is None:
            state[check.name] = _iso(now)
            events.append(BreachEvent(check.name, BREACHED, check.reason, _iso(now)))
        elif check.ok and since is not None:
            del state[check.name]
            lasted = describe_duration(now - datetime.fromisoformat(since))
            reason = f"{check.reason}; breach since {since} cleared after {lasted}"
            events.append(BreachEvent(check.name, RESOLVED, reason, since))
    return WatchTransition(state, tuple(events))


# ---- pre-deployment backup gate ----------------------------------------------------------------------

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


@dataclass(frozen=True)
class GateDecision:
    """``action`` is one of proceed, take-backup, wait, refuse; ``reason`` is the sentence to report."""

    action: str
    reason: str


def decide_backup_gate(state: BackupGateState) -> GateDecision:
    """Deploy only with a backup younger than the gate; otherwise take one and wait, or refuse and say why."""
    limit = timedelta(hours=state.max_age_hours)
    fresh, age_text = _backup_freshness(state.latest_backup_at, state.now, limit)
    if fresh:
        return GateDecision(GATE_PROCEED, f"{age_text}, within the {describe_duration(limit)} gate")
    if state.on_demand_started_at is None:
        if not state.on_demand_allowed:
            return GateDecision(GATE_REFUSE, f"{age_text} and on-demand backups are not allowed")
        return GateDecision(GATE_TAKE_BACKUP, f"{age_text}; taking an on-demand backup")
    status = (state.on_demand_status or "").lower()
    if status == "failed":
        return GateDecision(GATE_REFUSE, f"{age_text} and the on-demand backup failed")
    if status == "succeeded":
        return GateDecision(GATE_REFUSE, f"the on-demand backup reported success but {age_text}")
    waited = state.now - state.on_demand_started_at
    if waited.total_seconds() > state.wait_limit_seconds:
        text = f"the on-demand backup is still running after {describe_duration(waited)}"
        return GateDecision(GATE_REFUSE, text)
    return GateDecision(GATE_WAIT, f"waiting for the on-demand backup (running {describe_duration(waited)})")


def _backup_freshness(latest: datetime | None, now: datetime, limit: timedelta) -> tuple[bool, str]:
    if latest is None:
        return False, "no completed backup exists"
    age = now - latest
    return age <= limit, f"latest backup is {describe_duration(age)} old"


# ---- restore: the switch decision --------------------------------------------------------------------

SWITCH_REFUSE = "refuse"
SWITCH_KEEP = "keep-restored"
SWITCH_AWAIT_APPROVAL = "await-approval"
SWITCH_GO = "switch"


@dataclass(frozen=True)
class SwitchDecision:
    """What the restore does after its integrity checks; ``reason`` goes to the report."""

    action: str
    reason: str


def decide_restore_switch(
    *,
    checks_passed: bool,
    failed_checks: tuple[str, ...],
    switch_requested: bool,
    approval_required: bool,
    approval: str | None,
) -> SwitchDecision:
    """Switch the app to the restored server only when its checks pass, it was asked for and is approved.

    ``approval`` is None (not yet answered), "approved" or "rejected".
    """
    if not checks_passed:
        names = ", ".join(failed_checks) or "unknown"
        text = f"integrity checks failed on the restored server ({names}); not switching"
        return SwitchDecision(SWITCH_REFUSE, text)
    if not switch_requested:
        text = "checks passed; switch not requested, restored server kept for use"
        return SwitchDecision(SWITCH_KEEP, text)
    if approval_required and approval is None:
        return SwitchDecision(SWITCH_AWAIT_APPROVAL, "checks passed; waiting for operator approval to switch")
    if approval == "rejected":
        text = "operator rejected the switch; restored server kept, app unchanged"
        return SwitchDecision(SWITCH_KEEP, text)
    why = "approved by operator" if approval == "approved" else "approval not required"
    return SwitchDecision(SWITCH_GO, f"checks passed and {why}; switching the app to the restored server")


# ---- restore test and drill verdicts -----------------------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    """One data check run against a restored server."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class RestoreTestEvidence:
    """What a restore test observed. None means the step did not run (and counts as not verified)."""

    restore_error: str | None
    checks: tuple[CheckOutcome, ...]
    sentinel_before_present: bool | None
    sentinel_after_absent: bool | None
    teardown_verified: bool | None
    restore_seconds: float | None = None
    restore_objective_seconds: float | None = None


@dataclass(frozen=True)
class Verdict:
    """Pass or fail with every reason (failures, or one sentence saying what passed)."""

    passed: bool
    reasons: tuple[str, ...]


def restore_test_verdict(evidence: RestoreTestEvidence) -> Verdict:
    """A restore test passes only when the restore ran, every check and both sentinels hold, and the
    scratch server is verified gone. Every failure is listed."""
    failures: list[str] = []
    if evidence.restore_error is not None:
        failures.append(f"restore failed: {evidence.restore_error}")
    failures.extend(f"check {c.name} failed: {c.detail}" for c in evidence.checks if not c.passed)
    failures.extend(_sentinel_failures(evidence))
    failures.extend(_time_failures(evidence.restore_seconds, evidence.restore_objective_seconds))
    failures.extend(_teardown_failures(evidence.teardown_verified))
    if failures:
        return Verdict(False, tuple(failures))
    summary = (
        f"restore succeeded, {len(evidence.checks)} checks passed, sentinel before the point present, "
        "sentinel after it absent, scratch server verified gone"
    )
    return Verdict(True, (summary,))


def _sentinel_failures(evidence: RestoreTestEvidence) -> list[str]:
    if evidence.restore_error is not None:
        return []
    out: list[str] = []
    if evidence.sentinel_before_present is None:
        out.append("the sentinel written before the restore point was not checked")
    elif not evidence.sentinel_before_present:
        out.append("the sentinel written before the restore point is missing: data was lost")
    if evidence.sentinel_after_absent is None:
        out.append("the sentinel written after the restore point was not checked")
    elif not evidence.sentinel_after_absent:
        out.append("the sentinel written after the restore point is present: the restore overshot its point")
    return out


def _time_failures(seconds: float | None, objective: float | None) -> list[str]:
    if seconds is None or objective is None or seconds <= objective:
        return []
    took = describe_duration(timedelta(seconds=seconds))
    return [f"restore took {took}, over the {describe_duration(timedelta(seconds=objective))} objective"]


def _teardown_failures(verified: bool | None) -> list[str]:
    if verified is None:
        return ["teardown was not verified"]
    if not verified:
        return ["the scratch server still exists after deletion"]
    return []


@dataclass(frozen=True)
class DrillEvidence:
    """What a drill measured: failed steps, RTO and RPO against objectives, and the teardown."""

    failed_steps: tuple[str, ...]
    rto_seconds: float | None
    rto_objective_seconds: float
    rpo_seconds: float | None
    rpo_objective_seconds: float
    teardown_verified: bool | None


def drill_verdict(evidence: DrillEvidence) -> Verdict:
    """A drill passes when every step ran, RTO and RPO were measured inside objectives and nothing is left."""
    failures = [f"step {step} failed" for step in evidence.failed_steps]
    failures.extend(_objective_failures("RTO", evidence.rto_seconds, evidence.rto_objective_seconds))
    failures.extend(_objective_failures("RPO", evidence.rpo_seconds, evidence.rpo_objective_seconds))
    failures.extend(_drill_teardown_failures(evidence.teardown_verified))
    if failures:
        return Verdict(False, tuple(failures))
    rto = describe_duration(timedelta(seconds=evidence.rto_seconds or 0))
    rpo = describe_duration(timedelta(seconds=evidence.rpo_seconds or 0))
    return Verdict(True, (f"all steps passed; RTO {rto} and RPO {rpo} inside objectives; teardown verified",))


def _objective_failures(label: str, measured: float | None, objective: float) -> list[str]:
    if measured is None:
        return [f"{label} was not measured"]
    if measured > objective:
        took = describe_duration(timedelta(seconds=measured))
        return [f"{label} {took} is over the {describe_duration(timedelta(seconds=objective))} objective"]
    return []


def _drill_teardown_failures(verified: bool | None) -> list[str]:
    if verified is None:
        return ["drill teardown was not verified"]
    if not verified:
        return ["drill resources are left behind"]
    return []


def restore_test_point(before_written_at: datetime, after_written_at: datetime) -> datetime:
    """The restore point of a restore test: midway between the two sentinels, so one is before, one after."""
    return before_written_at + (after_written_at - before_written_at) / 2


def _iso(moment: datetime) -> str:
    return moment.isoformat()


# =====================================================================================================
# Failover and failback: confirmation, the safety rules 1-5 and 7, failures, verdicts
# Each function returns a shared.models.Decision; refusals carry the DESIGN.md rule they enforce.
# =====================================================================================================


def _duration(seconds: float) -> str:
    """Seconds as an operator reads them (see describe_duration)."""
    return describe_duration(timedelta(seconds=seconds))


def _run_of(items: Sequence[ProbeSnapshot], healthy: bool) -> int:
    """How many of the latest probes in a row have the given health."""
    count = 0
    for probe in reversed(items):
        if probe.healthy != healthy:
            break
        count += 1
    return count


# ---- rule 1 -----------------------------------------------------------------------------------------
def may_start(operation: str, running: Sequence[str]) -> Decision:
    """``start`` when no DR operation runs for the app, else ``refuse`` naming the running one."""
    if running:
        names = ", ".join(running)
        return Decision("refuse", f"{operation} refused: {names} is already running for this app", "rule 1")
    return Decision("start", f"no other DR operation is running: {operation} may start")


# ---- confirmation -----------------------------------------------------------------------------------
def confirm_outage(
    probes: Sequence[ProbeSnapshot], *, threshold: int, max_probes: int, resolved: bool = False
) -> Decision:
    """Decide from the primary's probes so far: ``confirmed``, ``recovered`` or ``probe`` (again).

    Confirmed after ``threshold`` failures in a row; recovered when the alert resolved or the
    primary answered ``threshold`` times in a row; after ``max_probes`` without either, recovered
    (a flapping primary is not failed over automatically; an operator may start one).
    """
    if resolved:
        return Decision("recovered", "the alert resolved during confirmation: recovered, no failover")
    if threshold <= 0:
        return Decision(
            "confirmed", "confirmation is disabled (threshold 0): the signal is taken as an outage"
        )
    failed, answered = _run_of(probes, False), _run_of(probes, True)
    if failed >= threshold:
        return Decision("confirmed", f"the primary failed {failed} consecutive probes: outage confirmed")
    if answered >= threshold:
        return Decision(
            "recovered", f"the primary answered {answered} consecutive probes: recovered, no failover"
        )
    if len(probes) >= max_probes:
        bad = sum(1 for p in probes if not p.healthy)
        return Decision(
            "recovered",
            f"the primary failed {bad} of {len(probes)} probes without {threshold} failures in a row: "
            "not confirmed, no automatic failover",
        )
    return Decision("probe", f"{failed} consecutive failed probes of {threshold} needed: probing again")


# ---- rule 7 -----------------------------------------------------------------------------------------
def failover_budget(
    recent: Sequence[datetime], *, now: datetime, max_per_window: int, window_seconds: float
) -> Decision:
    """``allow`` an automatic failover unless ``max_per_window`` already ran in the window (``refuse``)."""
    since = now - timedelta(seconds=window_seconds)
    count = sum(1 for at in recent if at >= since)
    window = _duration(window_seconds)
    if count >= max_per_window:
        return Decision(
            "refuse",
            f"automatic failover refused: {count} already ran in the last {window} "
            f"(limit {max_per_window}); an operator may start one",
            "rule 7",
        )
    return Decision("allow", f"{count} automatic failovers in the last {window}, limit {max_per_window}")


# ---- rule 3 -----------------------------------------------------------------------------------------
def lag_gate(lag: ReplicaLag, *, rpo_seconds: float) -> Decision:
    """``within`` when the replica's lag is inside the RPO, ``exceeded`` when over it or unknown."""
    rpo = _duration(rpo_seconds)
    if lag.seconds is None:
        return Decision("exceeded", f"replica lag could not be measured: treated as over the RPO of {rpo}")
    if lag.seconds > rpo_seconds:
        return Decision("exceeded", f"replica lag {_duration(lag.seconds)} is over the RPO of {rpo}")
    return Decision("within", f"replica lag {_duration(lag.seconds)} is within the RPO of {rpo}")


# ---- rule 4 -----------------------------------------------------------------------------------------
def promote_mode(*, requested: str, primary_reachable: bool) -> Decision:
    """``planned`` or ``forced`` promote for ``requested`` auto|planned|forced, or ``refuse``.

    A planned switchover needs a reachable primary; forced is used only when it does not answer.
    """
    if primary_reachable:
        if requested == "forced":
            return Decision(
                "planned",
                "forced was requested but the primary answers: planned switchover instead",
                "rule 4",
            )
        return Decision("planned", "the primary answers: planned switchover, no data loss")
    if requested == "planned":
        return Decision(
            "refuse",
            "planned switchover refused: the primary does not answer; start a forced failover instead",
            "rule 4",
        )
    return Decision("forced", "the primary does not answer: forced promote of the replica")


def approval(*, trigger_kind: str, failover_mode: str, promote: Decision, lag: Decision) -> Decision:
    """``approval`` (wait for an operator) or ``proceed``.

    A forced promote over the RPO always waits (rule 3: the operator's approval is the override);
    an alert-started run in manual mode waits; everything else proceeds.
    """
    if promote.is_("forced") and lag.is_("exceeded"):
        return Decision(
            "approval", f"{lag.reason}: no automatic forced promote, waiting for operator approval", "rule 3"
        )
    if trigger_kind != "operator" and failover_mode == "manual":
        return Decision("approval", "failover mode is manual: waiting for operator approval")
    if trigger_kind == "operator":
        return Decision("proceed", "started by an operator: no further approval needed")
    return Decision("proceed", "failover mode is automatic and the lag gate passed: no approval needed")


def approval_timeout(*, on_timeout: str, waited_seconds: float) -> Decision:
    """After ``waited_seconds`` without an answer, per ``on_timeout``: ``stop``, ``wait`` or ``escalate``
    (page, then keep waiting)."""
    waited = _duration(waited_seconds)
    if on_timeout == "stop":
        return Decision("stop", f"no approval after {waited}: stopped, nothing changed")
    if on_timeout == "wait":
        return Decision("wait", f"no approval after {waited}: still waiting")
    return Decision("escalate", f"no approval after {waited}: escalated by page, still waiting")


def approval_answer(answer: str, *, by: str = "", note: str = "") -> Decision:
    """An operator's answer to an approval request: ``proceed`` on approve, ``stop`` otherwise."""
    who = f" by {by}" if by else ""
    why = f": {note}" if note else ""
    if answer == "approve":
        return Decision("proceed", f"approved{who}{why}")
    if answer == "cancel":
        return Decision("stop", f"cancelled{who}{why}: stopped, nothing changed")
    return Decision("stop", f"rejected{who}{why}: stopped, nothing changed")


# ---- grace period -----------------------------------------------------------------------------------
def grace(*, trigger_kind: str, grace_seconds: float, rto_seconds: float) -> Decision:
    """``wait`` ``grace_seconds`` for the primary to recover before failing over, or ``skip``."""
    if trigger_kind == "operator":
        return Decision("skip", "started by an operator: no grace period")
    if grace_seconds <= 0:
        return Decision("skip", "grace period is 0: failing over at once")
    note = "inside" if grace_seconds < rto_seconds else "NOT inside"
    return Decision(
        "wait",
        f"standby prepared; waiting {_duration(grace_seconds)} for the primary to recover "
        f"({note} the RTO of {_duration(rto_seconds)}); approval ends the wait early",
    )


def after_grace(primary: ProbeSnapshot, *, resolved: bool, approved: bool = False) -> Decision:
    """At the end of the grace period: ``failover``, or ``stand-down`` when the primary came back."""
    if approved:
        return Decision("failover", "approved during the grace period: failing over now")
    if resolved:
        return Decision("stand-down", "the alert resolved during the grace period: recovered, no failover")
    if primary.healthy:
        return Decision(
            "stand-down", "the primary answers again after the grace period: recovered, no failover"
        )
    return Decision("failover", "the primary is still down after the grace period: failing over")


# ---- rule 2 -----------------------------------------------------------------------------------------
def route_traffic(*, target: str, healthy_origins: int, total_origins: int) -> Decision:
    """``switch`` traffic to ``target`` only when it has a healthy origin, else ``refuse``."""
    if healthy_origins <= 0:
        return Decision(
            "refuse",
            f"traffic switch refused: origin group {target} has no healthy origin (0 of {total_origins})",
            "rule 2",
        )
    return Decision(
        "switch", f"origin group {target} has {healthy_origins} of {total_origins} origins healthy"
    )


# ---- rule 5 -----------------------------------------------------------------------------------------
def fence(*, promote: str, old_primary_role: str, old_primary_state: str) -> Decision:
    """``fence`` (stop, never delete) the old primary, or ``skip`` when it cannot take writes.

    After a forced promote the old primary must be fenced; after a planned promote it is fenced too
    unless it became a replica of the new primary (a switchover) or is already stopped.
    """
    if old_primary_state.lower() == "stopped":
        return Decision("skip", "the old primary is already stopped: fenced")
    if promote == "forced":
        return Decision(
            "fence", "forced promote: stopping the old primary so it cannot take writes", "rule 5"
        )
    if old_primary_role == "replica":
        return Decision("skip", "switchover made the old primary a read-only replica: no fence needed")
    return Decision(
        "fence", "the old primary is still writable after the promote: stopping it (never deleting)"
    )


# ---- failures -----------------------------------------------------------------------------------------
def on_step_failure(step: str, *, promoted: bool, traffic_moved: bool, error: str) -> Decision:
    """What a failure at ``step`` means for traffic: ``leave`` it, or ``page`` and never undo a promote."""
    if traffic_moved:
        return Decision(
            "page",
            f"{step} failed after traffic moved ({error}): paging; the promotion is never undone",
        )
    if promoted:
        return Decision(
            "page",
            f"{step} failed after the promote but before traffic moved ({error}): traffic left where it "
            "was, paging; the promotion is not undone",
        )
    return Decision("leave", f"{step} failed before anything changed ({error}): traffic left where it was")


# ---- failback -----------------------------------------------------------------------------------------
def failback_allowed(*, primary_region: str, home_region: str) -> Decision:
    """``start`` a failback only when the primary is away from its home region, else ``refuse``."""
    if primary_region == home_region:
        return Decision(
            "refuse", f"failback refused: the primary is already in its home region {home_region}"
        )
    return Decision("start", f"the primary runs in {primary_region}: failing back to {home_region}")


def caught_up(lag: ReplicaLag, *, tolerance_seconds: float = 0.0) -> Decision:
    """``ready`` when the new replica's lag is measured and within tolerance, else ``wait``."""
    if lag.seconds is None:
        return Decision("wait", "the new replica's lag is not measurable yet: waiting")
    if lag.seconds > tolerance_seconds:
        return Decision("wait", f"the new replica is {_duration(lag.seconds)} behind: waiting to catch up")
    return Decision("ready", f"the new replica has caught up (lag {_duration(lag.seconds)})")


# ---- verdict --------------------------------------------------------------------------------------------
def objectives_verdict(
    *, rto_seconds: float | None, rpo_seconds: float | None, rto_goal: float, rpo_goal: float
) -> Decision:
    """``met`` or ``missed`` the objectives, or ``unmeasured`` when a figure is missing."""
    if rto_seconds is None or rpo_seconds is None:
        return Decision("unmeasured", "RTO or RPO could not be measured: objectives not verified")
    rto = f"RTO {_duration(rto_seconds)} vs {_duration(rto_goal)}"
    rpo = f"RPO {_duration(rpo_seconds)} vs {_duration(rpo_goal)}"
    if rto_seconds <= rto_goal and rpo_seconds <= rpo_goal:
        return Decision("met", f"objectives met: {rto}, {rpo}")
    return Decision("missed", f"objectives missed: {rto}, {rpo}")


# =====================================================================================================
# Which server is the primary now: observed from the estate, never taken from the settings
# The configured primary and replica are the candidates (plus a server Continuity created and tagged
# that the replica follows, after a failback). Ambiguity is a refusal with the reason, never a guess.
# =====================================================================================================

WRITABLE_ROLES = frozenset({"primary", "standalone"})


@dataclass(frozen=True)
class ServerView:
    """One candidate server as observed (``error`` when it could not be read)."""

    name: str
    resource_group: str = ""
    exists: bool = True
    state: str = ""
    role: str = ""  # primary (has replicas) | replica | standalone
    source_server: str = ""  # the server a replica follows
    fqdn: str = ""
    error: str = ""

    @property
    def writable(self) -> bool:
        """Ready and not following anyone: it accepts writes."""
        readable = self.exists and not self.error
        return readable and self.state.lower() == "ready" and self.role in WRITABLE_ROLES

    def describe(self) -> str:
        if self.error:
            return f"{self.name} could not be read ({self.error[:120]})"
        if not self.exists:
            return f"{self.name} does not exist"
        state = self.state.lower() or "in an unknown state"
        if self.role == "replica":
            return f"{self.name} is a replica of {self.source_server or 'an unknown server'}" + (
                "" if state == "ready" else f", {state}"
            )
        if state != "ready":
            return f"{self.name} is {state}"
        return f"{self.name} is a writable {self.role or 'server'}"


@dataclass(frozen=True)
class PrimaryDecision:
    """``primary`` (with the server, its resource group and its replica, if any) or ``refuse``."""

    action: str
    reason: str
    primary: str = ""
    primary_resource_group: str = ""
    replica: str = ""
    replica_resource_group: str = ""

    def to_dict(self) -> dict[str, str]:
        keys = ("action", "reason", "primary", "primary_resource_group", "replica", "replica_resource_group")
        return {k: str(getattr(self, k)) for k in keys}


def same_host(a: str, b: str) -> bool:
    """Two database addresses are the same host (case aside; the default port implied or not)."""

    def norm(host: str) -> str:
        host = host.strip().lower()
        return host[: -len(":5432")] if host.endswith(":5432") else host

    return bool(a and b) and norm(a) == norm(b)


def _secret_note(servers: Sequence[ServerView], secret_host: str | None) -> str:
    if secret_host is None:
        return "the database secret was not read"
    named = next((s.name for s in servers if same_host(s.fqdn, secret_host)), "")
    return f"the database secret points at {named or secret_host}"


def current_primary(servers: Sequence[ServerView], *, secret_host: str | None = None) -> PrimaryDecision:
    """The one writable server among the observed candidates is the primary; its replica is the candidate
    that follows it. Two writable servers, none, or a database secret pointing elsewhere: ``refuse``.

    ``secret_host`` is where the database secret points (None: not read; then roles alone decide).
    """
    writable = [s for s in servers if s.writable]
    note = _secret_note(servers, secret_host)
    if len(writable) > 1:
        names_ = " and ".join(s.name for s in writable)
        return PrimaryDecision(
            "refuse",
            f"refusing to choose a primary: {names_} are {'both' if len(writable) == 2 else 'all'} writable "
            f"({note}); fence the one the app must "
            "not use, then run again",
        )
    if not writable:
        seen = "; ".join(s.describe() for s in servers) or "no server observed"
        return PrimaryDecision("refuse", f"no primary found: {seen} ({note})")
    primary = writable[0]
    if secret_host is not None and not same_host(primary.fqdn, secret_host):
        return PrimaryDecision(
            "refuse",
            f"refusing to choose a primary: {primary.name} is the only writable server but {note}, not at "
            "it (a switch in progress, or a server outside the candidates)",
        )
    replica = next((s for s in servers if s.role == "replica" and s.source_server == primary.name), None)
    others = "; ".join([s.describe() for s in servers if s is not primary] + [note])
    return PrimaryDecision(
        "primary",
        f"{primary.name} is the primary ({others})",
        primary=primary.name,
        primary_resource_group=primary.resource_group,
        replica=replica.name if replica else "",
        replica_resource_group=replica.resource_group if replica else "",
    )
