"""The backup watch: observe the backup posture, decide breaches, notify once, keep the state.

Every tick (timer, every 15 minutes by default) first finds which server is the primary now
(shared.estate.find_primary; no primary is a breach with the policy's reason), then reads its latest
backup age, retention and earliest restore point, geo-redundant backup, replica state and lag, storage
geo-sync time; a sentinel row is written on the primary so restores can be checked against a known
moment. Breaches notify once and resolve once (shared.policy.next_breach_state); the tick's result is
the watch's working state (``STORAGE_WRITE_STATE``, name ``shared.estate.backup_watch_state``), which
``GET /api/status`` shows. A tick is not a DR operation: it takes no lock and writes no run report.

Input: {run_id, settings}.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import azure.durable_functions as df

from orchestrators import long_term_backup
from orchestrators.toolkit import Gen, Json, Run, iso
from shared import estate, names, policy
from shared.models import Verdict, parse_time
from shared.naming import stamp

bp = df.Blueprint()

HEALTHY_EVENT_SEVERITY = {policy.BREACHED: "warning", policy.RESOLVED: "info"}


@bp.function_name(names.BACKUP_WATCH_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def backup_watch_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """One watch tick; returns the stored result: checks, open breaches, events."""
    return (yield from backup_watch_plan(Run(context, "backup-watch")))


def backup_watch_plan(run: Run) -> Gen:
    now, state_name = run.now(), estate.backup_watch_state(run.settings)
    stored = yield from run.observe(names.STORAGE_READ_STATE, {"name": state_name})
    previous = dict(stored.get("state") or {}) if stored.get("found") else {}
    found = yield from run.drive(estate.find_primary(run.settings))
    observation, errors = yield from observe(run, found.primary, found.decision.reason)
    checks = list(policy.assess_backups(observation, objectives(run))) if observation else []
    checks += [policy.probe_failed_check(e) for e in errors]
    checks += yield from long_term_backup.watch_checks(run)  # long-term backups and their storage
    transition = policy.next_breach_state(previous.get("open_breaches", {}), checks, now)
    for event in transition.events:
        yield from run.notify(breach_message(run, event))
    result = result_of(now, observation, checks, transition)
    result["primary"] = found.view()
    # a lost state would re-notify open breaches next tick: the tick fails instead
    yield from run.act(names.STORAGE_WRITE_STATE, {"name": state_name, "state": result})
    return result


def objectives(run: Run) -> policy.BackupObjectives:
    s = run.settings
    return policy.BackupObjectives(
        backup_age_alert_hours=s.backup_age_alert_hours,
        retention_days=s.backup_retention_days,
        rpo_seconds=s.rpo_minutes * 60.0,
    )


def observe(run: Run, primary: policy.Primary | None, why_none: str) -> Gen:
    """One snapshot of the primary found now; returns (observation or None, errors). A failing source is
    an error, not a crash; no primary (policy refused) is an error with the policy's reason, no guess."""
    if primary is None:
        return None, [why_none]
    errors: list[str] = []

    def attempt(name: str, payload: Json) -> Gen:
        try:  # under the one retry policy: a transient blip is no breach
            return (yield from run.act(name, payload))
        except Exception as exc:
            errors.append(f"{name}: {str(exc)[:200]}")
            return None

    backups = yield from attempt(names.DATABASE_LIST_BACKUPS, primary.address())
    replicas = yield from attempt(names.DATABASE_LIST_REPLICAS, primary.address())
    replica = chosen_replica(replicas, primary.replica)
    lag = None
    if replica is not None:
        where = {"resource_group": replica["resource_group"]} if replica.get("resource_group") else {}
        lag = yield from attempt(names.DATABASE_GET_REPLICATION_LAG, {"server": replica["name"], **where})
    geo = yield from attempt(names.STORAGE_GET_GEO_SYNC, {})
    yield from attempt(names.DATABASE_WRITE_SENTINEL, primary.address(name=f"watch-{stamp(run.now())}"))
    if backups is None:
        return None, errors
    return observation_of(run.now(), backups, replica, lag, geo), errors


def chosen_replica(replicas: Json | None, expected: str) -> Json | None:
    """The replica the policy named (when listed), else any replica of the primary."""
    found = list((replicas or {}).get("replicas") or [])
    named = [r for r in found if r.get("name") == expected]
    chosen: Json | None = (named or found or [None])[0]
    return chosen


def _time(value: Any) -> datetime | None:
    return parse_time(str(value)) if value else None


def observation_of(
    now: datetime, backups: Json, replica: Json | None, lag: Json | None, geo: Json | None
) -> policy.BackupObservation:
    return policy.BackupObservation(
        now=now,
        latest_backup_at=_time(backups.get("latest_completed_at")),
        earliest_restore_point=_time(backups.get("earliest_restore_point")),
        retention_days=backups.get("backup_retention_days"),
        geo_redundant_backup=_geo_backup(backups.get("geo_redundant_backup")),
        replica_state=_replica_state(replica or {}),
        replica_lag_seconds=(lag or {}).get("lag_seconds"),
        storage_geo_available=bool((geo or {}).get("available")),
        storage_last_sync_at=_time((geo or {}).get("last_sync_time")),
    )


def _replica_state(replica: Json) -> str | None:
    """Its replication state while the server is Ready; else the server's state (Azure keeps reporting
    replication Active for a replica that was stopped)."""
    state = str(replica.get("state") or "")
    if state and state.lower() != "ready":
        return state
    return replica.get("replication_state") or state or None


def _geo_backup(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() in ("enabled", "true")


def breach_message(run: Run, event: policy.BreachEvent) -> Json:
    verb = "breached" if event.kind == policy.BREACHED else "resolved"
    app = run.settings.app_name
    return {
        "title": f"backup watch {event.check} {verb} ({app})",
        "text": event.reason,
        "severity": HEALTHY_EVENT_SEVERITY[event.kind],
        "event": f"backup-{verb}",
        "dedup_key": f"backup-watch-{app}-{event.check}",
        "action": "trigger" if event.kind == policy.BREACHED else "resolve",
        "fields": {"check": event.check, "since": event.since},
    }


def result_of(
    now: datetime,
    obs: policy.BackupObservation | None,
    checks: list[Verdict],
    transition: policy.WatchTransition,
) -> Json:
    age = (now - obs.latest_backup_at).total_seconds() if obs and obs.latest_backup_at else None
    return {
        "operation": "backup-watch",
        "observed_at": iso(now),
        "latest_backup_at": iso(obs.latest_backup_at) if obs and obs.latest_backup_at else None,
        "latest_backup_age_seconds": age,
        "earliest_restore_point": iso(obs.earliest_restore_point)
        if obs and obs.earliest_restore_point
        else None,
        "replica_lag_seconds": obs.replica_lag_seconds if obs else None,
        "checks": [
            {"name": c.name, "ok": c.passed, "available": c.available, "reason": c.reason} for c in checks
        ],
        "open_breaches": transition.open_breaches,
        "events": [
            {"check": e.check, "kind": e.kind, "reason": e.reason, "since": e.since}
            for e in transition.events
        ],
        "healthy": all(c.passed for c in checks) and bool(checks),
    }
