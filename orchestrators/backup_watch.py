"""The backup watch as a Durable orchestration: observe the backup posture, decide breaches, notify, store.

Every tick (timer, every 15 minutes by default) first finds which server is the primary now
(shared.backups.find_primary: observed, not taken from the settings; no primary is a breach with the
policy's reason), then reads its latest backup age, retention and earliest restore
point, geo-redundant backup, replica state and lag, storage geo-sync time; a sentinel row is written on
the primary so restores can be checked against a known moment. Breaches notify once and resolve once
(shared.policy.next_breach_state); the latest result is stored in blob storage under the run id
``backup-watch`` (``STORAGE_READ_REPORT {"run_id": "backup-watch"}``) for ``GET /api/status``.

Registered by triggers/schedules.py (the composition root registers one blueprint per trigger area).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared import names, policy
from shared.backups import Gen, Json, call, find_primary, iso, on_primary, stamp
from shared.config import Settings
from shared.models import parse_time

WATCH_RUN_ID = "backup-watch"
HEALTHY_EVENT_SEVERITY = {policy.BREACHED: "warning", policy.RESOLVED: "info"}


def backup_watch_plan(context: Any) -> Gen:
    """Input: {settings}. Returns the stored watch result: checks, open breaches, events."""
    settings = Settings.from_dict((context.get_input() or {})["settings"])
    now = context.current_utc_datetime
    previous = yield from _previous_state(context)
    primary = yield from find_primary(context, settings)
    observation, errors = yield from _observe(context, primary, now)
    checks = list(policy.assess_backups(observation, _objectives(settings))) if observation else []
    checks += [policy.probe_failed_check(e) for e in errors]
    transition = policy.next_breach_state(previous.get("open_breaches", {}), checks, now)
    for event in transition.events:
        yield from _notify(context, settings, event)
    result = _result(now, observation, checks, transition)
    result["primary"] = primary.to_dict()
    payload = {"run_id": WATCH_RUN_ID, "report": result, "kind": "backup-watch"}
    yield from call(context, names.STORAGE_WRITE_REPORT, payload, attempts=2)
    return result


def _previous_state(context: Any) -> Gen:
    try:
        stored = yield from call(context, names.STORAGE_READ_REPORT, {"run_id": WATCH_RUN_ID}, attempts=2)
    except Exception:
        return {}
    return dict(stored.get("report") or {}) if stored.get("found") else {}


def _objectives(settings: Settings) -> policy.BackupObjectives:
    return policy.BackupObjectives(
        backup_age_alert_hours=settings.backup_age_alert_hours,
        retention_days=settings.backup_retention_days,
        rpo_seconds=settings.rpo_minutes * 60.0,
    )


def _observe(context: Any, primary: policy.PrimaryDecision, now: datetime) -> Gen:
    """One snapshot of the primary found now; returns (observation or None, errors). A failing source is
    an error, not a crash; no primary (policy refused) is an error with the policy's reason, no guess."""
    errors: list[str] = []
    if primary.action != "primary":
        return None, [primary.reason]

    def attempt(name: str, payload: Json) -> Gen:
        try:
            return (yield from call(context, name, payload))
        except Exception as exc:
            errors.append(f"{name}: {str(exc)[:200]}")
            return None

    backups = yield from attempt(names.DATABASE_LIST_BACKUPS, on_primary(primary))
    replicas = yield from attempt(names.DATABASE_LIST_REPLICAS, on_primary(primary))
    replica = _replica(replicas, primary.replica)
    lag = None
    if replica is not None:
        where = {"resource_group": replica["resource_group"]} if replica.get("resource_group") else {}
        lag = yield from attempt(names.DATABASE_GET_REPLICATION_LAG, {"server": replica["name"], **where})
    geo = yield from attempt(names.STORAGE_GET_GEO_SYNC, {})
    yield from attempt(names.DATABASE_WRITE_SENTINEL, on_primary(primary, name=f"watch-{stamp(now)}"))
    if backups is None:
        return None, errors
    return _observation(now, backups, replica, lag, geo), errors


def _replica(replicas: Json | None, expected: str) -> Json | None:
    """The replica the policy named (when listed), else any replica of the primary."""
    found = list((replicas or {}).get("replicas") or [])
    named = [r for r in found if r.get("name") == expected]
    chosen: Json | None = (named or found or [None])[0]
    return chosen


def _time(value: Any) -> datetime | None:
    return parse_time(str(value)) if value else None


def _observation(
    now: datetime, backups: Json, replica: Json | None, lag: Json | None, geo: Json | None
) -> Any:
    return policy.BackupObservation(
        now=now,
        latest_backup_at=_time(backups.get("latest_completed_at")),
        earliest_restore_point=_time(backups.get("earliest_restore_point")),
        retention_days=backups.get("backup_retention_days"),
        geo_redundant_backup=_geo_backup(backups.get("geo_redundant_backup")),
        replica_state=(replica or {}).get("replication_state") or (replica or {}).get("state"),
        replica_lag_seconds=(lag or {}).get("lag_seconds"),
        storage_geo_available=bool((geo or {}).get("available")),
        storage_last_sync_at=_time((geo or {}).get("last_sync_time")),
    )


def _geo_backup(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() in ("enabled", "true")


def _notify(context: Any, settings: Settings, event: policy.BreachEvent) -> Gen:
    verb = "breached" if event.kind == policy.BREACHED else "resolved"
    message = {
        "title": f"backup watch {event.check} {verb} ({settings.app_name})",
        "text": event.reason,
        "severity": HEALTHY_EVENT_SEVERITY[event.kind],
        "event": f"backup-{verb}",
        "dedup_key": f"backup-watch-{settings.app_name}-{event.check}",
        "action": "trigger" if event.kind == policy.BREACHED else "resolve",
        "fields": {"check": event.check, "since": event.since},
    }
    try:
        yield from call(context, names.NOTIFY_SEND, message, attempts=2)
    except Exception:
        return  # a lost notification is retried by nothing: the breach stays open and is in the result


def _result(
    now: datetime, obs: Any, checks: list[policy.WatchCheck], transition: policy.WatchTransition
) -> Json:
    age = (now - obs.latest_backup_at).total_seconds() if obs and obs.latest_backup_at else None
    return {
        "run_id": WATCH_RUN_ID,
        "operation": "backup-watch",
        "observed_at": iso(now),
        "latest_backup_at": iso(obs.latest_backup_at) if obs and obs.latest_backup_at else None,
        "latest_backup_age_seconds": age,
        "earliest_restore_point": iso(obs.earliest_restore_point)
        if obs and obs.earliest_restore_point
        else None,
        "replica_lag_seconds": obs.replica_lag_seconds if obs else None,
        "checks": [
            {"name": c.name, "ok": c.ok, "available": c.available, "reason": c.reason} for c in checks
        ],
        "open_breaches": transition.open_breaches,
        "events": [
            {"check": e.check, "kind": e.kind, "reason": e.reason, "since": e.since}
            for e in transition.events
        ],
        "healthy": all(c.ok for c in checks) and bool(checks),
    }
