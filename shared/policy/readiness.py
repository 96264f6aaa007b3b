"""The readiness score: each check of the estate's DR posture is pass, fail or unknown, with its reason.

A check is a :class:`Verdict` named after what it checks: ``passed`` is a pass, ``available=False`` an
unknown (the estate could not tell; never a pass, rule 11), anything else a fail. The score is the share
of checks that pass, in percent; a change of score is what notifies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.models import Decision, Verdict
from shared.policy.analysis import FAIL, PASS
from shared.policy.durations import describe_duration, duration
from shared.policy.long_term import storage_protection

UNKNOWN = "unknown"
CHECK_REPLICA_LAG = "replica_lag"
CHECK_BACKUP_AGE = "backup_age"
CHECK_RESTORE_TEST = "restore_test"
CHECK_STANDBY_IMAGE = "standby_image"
CHECK_STANDBY_ORIGINS = "standby_origin_group"
CHECK_SECRET = "database_secret"
CHECK_PERMISSIONS = "permissions"
CHECK_TASK_HUB_REGION = "task_hub_region"
CHECK_BACKUP_STORAGE = "backup_storage"
CHECK_PRIMARY = "primary"
DRILL_KINDS = ("database", "region", "complete", "security")  # the DR test calendar's quarterly drills
_DENIED = re.compile(
    r"AuthorizationFailed|Forbidden|\b403\b|not authorized|does not have authorization", re.I
)


@dataclass(frozen=True)
class RunSeen:
    """A run's summary as its report lists it: the operation, its status and when it started."""

    operation: str
    status: str
    started_at: datetime | None
    run_id: str = ""


@dataclass(frozen=True)
class ReadinessObjectives:
    rpo_seconds: float
    backup_age_alert_hours: float
    restore_test_max_age_hours: float
    drill_max_age_days: float
    dr_region: str
    min_delete_retention_days: int = 365
    compliance_years: int = 7


@dataclass(frozen=True)
class ReadinessObservation:
    """The estate as observed for readiness. ``None`` is "could not be read"; the ``*_error`` says why."""

    now: datetime
    replica_lag_seconds: float | None = None
    lag_error: str = ""
    latest_backup_at: datetime | None = None
    backup_error: str = ""
    runs: tuple[RunSeen, ...] | None = None
    runs_error: str = ""
    live_image: str | None = None
    standby_image: str | None = None
    release_error: str = ""
    standby_origins: int | None = None  # enabled origins in the standby origin group
    standby_healthy: int | None = None
    standby_running: bool = False
    origins_error: str = ""
    primary: str | None = None
    primary_reason: str = ""
    secret_host: str | None = None
    secret_error: str = ""
    secret_at_primary: bool = False
    reads: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (resource, error or "")
    host_region: str | None = None
    storage_configured: bool = False  # a backup storage account holds the long-term backups
    storage_protection: Mapping[str, Any] | None = None  # the storage management API's view of it
    storage_error: str = ""


def _result(name: str, passed: bool, reason: str) -> Verdict:
    return Verdict(passed, (reason,), name)


def _unknown(name: str, reason: str) -> Verdict:
    return Verdict(False, (reason,), name, available=False)


def readiness_result(check: Verdict) -> str:
    """``pass``, ``fail`` or ``unknown``."""
    if check.passed:
        return PASS
    return FAIL if check.available else UNKNOWN


def replica_lag(obs: ReadinessObservation, goal: ReadinessObjectives) -> Verdict:
    lag = obs.replica_lag_seconds
    if lag is None:
        return _unknown(CHECK_REPLICA_LAG, f"replica lag could not be measured: {obs.lag_error or 'no data'}")
    ok = lag <= goal.rpo_seconds
    word = "inside" if ok else "over"
    return _result(
        CHECK_REPLICA_LAG, ok, f"replica lag {duration(lag)} is {word} the {duration(goal.rpo_seconds)} RPO"
    )


def backup_age(obs: ReadinessObservation, goal: ReadinessObjectives) -> Verdict:
    if obs.latest_backup_at is None:
        return _unknown(
            CHECK_BACKUP_AGE, f"no completed backup could be read: {obs.backup_error or 'none listed'}"
        )
    age = obs.now - obs.latest_backup_at
    ok = age <= timedelta(hours=goal.backup_age_alert_hours)
    limit = describe_duration(timedelta(hours=goal.backup_age_alert_hours))
    word = "within" if ok else "older than"
    return _result(CHECK_BACKUP_AGE, ok, f"latest backup is {describe_duration(age)} old, {word} {limit}")


UNPROVEN = frozenset({"running", "preempted"})  # a run that neither passed nor failed: it proves nothing


def _newest(runs: tuple[RunSeen, ...], operation: str) -> tuple[RunSeen, datetime] | None:
    mine = [
        (r, r.started_at)
        for r in runs
        if r.operation == operation and r.started_at is not None and r.status not in UNPROVEN
    ]
    return max(mine, key=lambda pair: pair[1], default=None)


def last_run(obs: ReadinessObservation, name: str, operation: str, max_age: timedelta, label: str) -> Verdict:
    """The newest run of ``operation`` that ended with a result (one still running, or stopped for a
    failover, proves nothing either way) must have succeeded and be younger than ``max_age``."""
    if obs.runs is None:
        return _unknown(name, f"run reports could not be listed: {obs.runs_error or 'no answer'}")
    found = _newest(obs.runs, operation)
    if found is None:
        unproven = [r for r in obs.runs if r.operation == operation]
        if not unproven:
            return _result(name, False, f"no {label} has run")
        last = max(unproven, key=lambda r: str(r.started_at or ""))
        return _result(name, False, f"no {label} has ended with a result ({last.run_id} {last.status})")
    newest, started = found
    age = obs.now - started
    when = f"{label} {newest.run_id} {describe_duration(age)} ago".replace("  ", " ")
    if newest.status != "succeeded":
        return _result(name, False, f"the last {when} ended {newest.status or 'without a status'}")
    if age > max_age:
        return _result(name, False, f"the last {when} is older than {describe_duration(max_age)}")
    return _result(name, True, f"the last {when} succeeded")


def standby_image(obs: ReadinessObservation) -> Verdict:
    if obs.live_image is None:
        return _unknown(
            CHECK_STANDBY_IMAGE, f"the live release could not be read: {obs.release_error or 'no image'}"
        )
    if obs.standby_image == obs.live_image:
        return _result(CHECK_STANDBY_IMAGE, True, f"the DR standby runs the live release {obs.live_image}")
    return _result(
        CHECK_STANDBY_IMAGE, False, f"the DR standby runs {obs.standby_image}, the live slot {obs.live_image}"
    )


def standby_origins(obs: ReadinessObservation) -> Verdict:
    """The standby origin group must have an enabled origin; a running standby must answer its probe."""
    name = CHECK_STANDBY_ORIGINS
    if obs.standby_origins is None:
        return _unknown(
            name, f"the standby origin group could not be read: {obs.origins_error or 'no answer'}"
        )
    if obs.standby_origins == 0:
        return _result(
            name, False, "the standby origin group has no enabled origin: a failover could not route"
        )
    healthy = obs.standby_healthy or 0
    if obs.standby_running and healthy == 0:
        return _result(name, False, "the standby runs but no origin of its group answers its health probe")
    state = f"{healthy} healthy" if obs.standby_running else "standby kept stopped until a failover"
    return _result(
        name, True, f"the standby origin group has {obs.standby_origins} enabled origins ({state})"
    )


def database_secret(obs: ReadinessObservation) -> Verdict:
    if obs.secret_host is None:
        return _unknown(
            CHECK_SECRET, f"the database secret could not be read: {obs.secret_error or 'no host'}"
        )
    if obs.primary is None:
        return _result(
            CHECK_SECRET, False, f"the secret points at {obs.secret_host}; no primary: {obs.primary_reason}"
        )
    if not obs.secret_at_primary:
        return _result(
            CHECK_SECRET, False, f"the secret points at {obs.secret_host}, not at the primary {obs.primary}"
        )
    return _result(CHECK_SECRET, True, f"the secret is present and points at the primary {obs.primary}")


def permissions(obs: ReadinessObservation) -> Verdict:
    """A read of each resource the plans act on, with the app's identity: a refusal fails, another error
    leaves it unknown."""
    denied = [r for r, error in obs.reads if error and _DENIED.search(error)]
    failed = [r for r, error in obs.reads if error and not _DENIED.search(error)]
    if denied:
        return _result(CHECK_PERMISSIONS, False, "the app's identity may not read: " + ", ".join(denied))
    if failed or not obs.reads:
        return _unknown(CHECK_PERMISSIONS, "could not read: " + (", ".join(failed) or "nothing was read"))
    return _result(
        CHECK_PERMISSIONS, True, f"the app's identity read all {len(obs.reads)} resources the plans use"
    )


def task_hub_region(obs: ReadinessObservation, goal: ReadinessObjectives) -> Verdict:
    if not obs.host_region:
        return _unknown(CHECK_TASK_HUB_REGION, "the Functions host does not report its region (REGION_NAME)")
    ok = obs.host_region == goal.dr_region
    word = "the DR region" if ok else f"not the DR region {goal.dr_region}: it would die with the primary"
    return _result(CHECK_TASK_HUB_REGION, ok, f"the app and its task hub run in {obs.host_region}, {word}")


def backup_storage(obs: ReadinessObservation, goal: ReadinessObjectives) -> Verdict:
    """The backup account protects the long-term backups (the rule of the backup watch)."""
    if not obs.storage_configured:
        return _unknown(
            CHECK_BACKUP_STORAGE, "no backup storage account is configured (BACKUP_STORAGE_ACCOUNT)"
        )
    if obs.storage_protection is None:
        return _unknown(
            CHECK_BACKUP_STORAGE, f"could not read the backup storage account: {obs.storage_error}"
        )
    found = storage_protection(
        obs.storage_protection,
        min_delete_retention_days=goal.min_delete_retention_days,
        compliance_years=goal.compliance_years,
    )
    return _result(CHECK_BACKUP_STORAGE, found.passed, found.reason)


def failover_preconditions(obs: ReadinessObservation) -> tuple[Verdict, ...]:
    """What a failover needs beyond its own decisions (the monthly failover validation checks them in its
    dry run): a primary found now, the DR standby on the live release, its origin group able to route,
    the database secret at the primary."""
    found = obs.primary is not None
    reason = obs.primary_reason or ("the primary was found" if found else "no primary was found")
    return (
        _result(CHECK_PRIMARY, found, reason),
        standby_image(obs),
        standby_origins(obs),
        database_secret(obs),
    )


def assess_readiness(obs: ReadinessObservation, goal: ReadinessObjectives) -> tuple[Verdict, ...]:
    """Every readiness check, in a fixed order."""
    restore_age = timedelta(hours=goal.restore_test_max_age_hours)
    drill_age = timedelta(days=goal.drill_max_age_days)
    drills = [last_run(obs, f"drill_{k}", f"drill-{k}", drill_age, f"{k} drill") for k in DRILL_KINDS]
    return (
        replica_lag(obs, goal),
        backup_age(obs, goal),
        last_run(obs, CHECK_RESTORE_TEST, "restore-test", restore_age, "restore test"),
        *drills,
        standby_image(obs),
        standby_origins(obs),
        database_secret(obs),
        permissions(obs),
        task_hub_region(obs, goal),
        *([backup_storage(obs, goal)] if obs.storage_configured else []),  # when long-term backups are kept
    )


def readiness_score(checks: tuple[Verdict, ...]) -> int:
    """The share of checks that pass, in percent (unknown counts as not passing); 0 with no check."""
    return round(100 * sum(c.passed for c in checks) / len(checks)) if checks else 0


def score_change(previous: int | None, score: int) -> Decision:
    """``notify`` when the score differs from the last one (or is the first), else ``unchanged``."""
    if previous is None:
        return Decision("notify", f"readiness score {score} (first measurement)")
    if previous == score:
        return Decision("unchanged", f"readiness score stays {score}")
    verb = "rose" if score > previous else "fell"
    return Decision("notify", f"readiness score {verb} from {previous} to {score}")
