"""The backup watch: each check of the backup posture as a verdict, and breaches that notify once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.models import Verdict
from shared.policy.durations import describe_duration, iso

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


def check(name: str, passed: bool, reason: str, *, available: bool = True) -> Verdict:
    """One named check of the watch as a verdict with its reason."""
    return Verdict(passed, (reason,), name=name, available=available)


def assess_backups(obs: BackupObservation, objectives: BackupObjectives) -> tuple[Verdict, ...]:
    """Every backup-watch check for one observation, in a fixed order, each with its reason."""
    return (
        *assess_automatic_backups(obs, objectives),
        _check_replica(obs, objectives),
        _check_storage_geo(obs, objectives),
    )


def assess_automatic_backups(obs: BackupObservation, objectives: BackupObjectives) -> tuple[Verdict, ...]:
    """The checks of the primary's automatic backups alone (the backup watch's first four; the weekly
    backup integrity item's): the latest backup's age, retention, earliest restore point, geo-redundancy.
    Only the backup fields of ``obs`` are read."""
    return (
        _check_backup_age(obs, objectives),
        _check_retention(obs, objectives),
        _check_earliest(obs),
        _check_geo_backup(obs, objectives),
    )


def _check_backup_age(obs: BackupObservation, objectives: BackupObjectives) -> Verdict:
    limit = timedelta(hours=objectives.backup_age_alert_hours)
    if obs.latest_backup_at is None:
        return check(CHECK_BACKUP_AGE, False, "no completed backup is listed for the primary server")
    age = obs.now - obs.latest_backup_at
    text = f"latest backup is {describe_duration(age)} old (alert threshold {describe_duration(limit)})"
    return check(CHECK_BACKUP_AGE, age <= limit, text)


def _check_retention(obs: BackupObservation, objectives: BackupObjectives) -> Verdict:
    if obs.retention_days is None:
        return check(CHECK_RETENTION, False, "backup retention is not reported by the primary server")
    ok = obs.retention_days >= objectives.retention_days
    text = f"backup retention is {obs.retention_days} days (required {objectives.retention_days})"
    return check(CHECK_RETENTION, ok, text)


def _check_earliest(obs: BackupObservation) -> Verdict:
    if obs.earliest_restore_point is None:
        return check(CHECK_EARLIEST_RESTORE_POINT, False, "the primary server has no earliest restore point")
    span = describe_duration(obs.now - obs.earliest_restore_point)
    text = f"earliest restore point {iso(obs.earliest_restore_point)} ({span} of history)"
    return check(CHECK_EARLIEST_RESTORE_POINT, True, text)


def _check_geo_backup(obs: BackupObservation, objectives: BackupObjectives) -> Verdict:
    if not objectives.require_geo_redundant_backup:
        return check(CHECK_GEO_REDUNDANT_BACKUP, True, "geo-redundant backup is not required")
    if obs.geo_redundant_backup is None:
        return check(CHECK_GEO_REDUNDANT_BACKUP, False, "geo-redundant backup setting is not reported")
    if obs.geo_redundant_backup:
        return check(CHECK_GEO_REDUNDANT_BACKUP, True, "geo-redundant backup is enabled")
    return check(CHECK_GEO_REDUNDANT_BACKUP, False, "geo-redundant backup is disabled")


def _check_replica(obs: BackupObservation, objectives: BackupObjectives) -> Verdict:
    if obs.replica_state is None:
        if objectives.expect_replica:
            return check(CHECK_REPLICA, False, "the primary server has no read replica")
        return check(CHECK_REPLICA, True, "no read replica is expected")
    if obs.replica_state.lower() not in HEALTHY_REPLICA_STATES:
        return check(CHECK_REPLICA, False, f"replica state is {obs.replica_state}")
    if obs.replica_lag_seconds is None:
        return check(CHECK_REPLICA, True, f"replica state is {obs.replica_state}; lag not reported")
    lag = obs.replica_lag_seconds
    ok = lag <= objectives.rpo_seconds
    text = f"replica state is {obs.replica_state}, lag {lag:.0f} s (RPO {objectives.rpo_seconds:.0f} s)"
    return check(CHECK_REPLICA, ok, text)


def _check_storage_geo(obs: BackupObservation, objectives: BackupObjectives) -> Verdict:
    if not obs.storage_geo_available:
        text = "storage geo-replication last sync time: not available (the account has no secondary)"
        return check(CHECK_STORAGE_GEO_SYNC, True, text, available=False)
    if obs.storage_last_sync_at is None:
        return check(CHECK_STORAGE_GEO_SYNC, False, "storage geo-replication has not synced yet")
    behind = obs.now - obs.storage_last_sync_at
    ok = behind.total_seconds() <= objectives.rpo_seconds
    text = f"storage last geo-sync {describe_duration(behind)} ago (RPO {objectives.rpo_seconds:.0f} s)"
    return check(CHECK_STORAGE_GEO_SYNC, ok, text)


def probe_failed_check(error: str) -> Verdict:
    """The check recorded when the watch could not observe the estate at all."""
    return check(CHECK_WATCH_PROBE, False, f"backup watch could not read the estate: {error}")


# ---- breach state machine ----------------------------------------------------------------------------
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
    open_breaches: Mapping[str, str], checks: Iterable[Verdict], now: datetime
) -> WatchTransition:
    """Notify once per breach, resolve when cleared.

    A failing check that is not open opens a breach (one 'breached' event); a failing check that is
    already open stays open silently; a passing check that was open resolves (one 'resolved' event).
    A check absent from this tick keeps its state: missing data never resolves a breach.
    """
    state = dict(open_breaches)
    events: list[BreachEvent] = []
    for verdict in checks:
        since = state.get(verdict.name)
        if not verdict.passed and since is None:
            state[verdict.name] = iso(now)
            events.append(BreachEvent(verdict.name, BREACHED, verdict.reason, iso(now)))
        elif verdict.passed and since is not None:
            del state[verdict.name]
            lasted = describe_duration(now - datetime.fromisoformat(since))
            reason = f"{verdict.reason}; breach since {since} cleared after {lasted}"
            events.append(BreachEvent(verdict.name, RESOLVED, reason, since))
    return WatchTransition(state, tuple(events))
