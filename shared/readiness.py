"""The readiness observation: the estate as the readiness checks read it, and its conversion to policy's
``ReadinessObservation``. Written once as a generator of reads (shared.estate's shape), driven by the
readiness timer's plan (orchestrators/readiness.py) and in-process by ``GET /api/readiness``.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import Any

from shared import estate, names, policy, releases
from shared.config import Settings
from shared.models import parse_time

Json = dict[str, Any]
Read = tuple[str, Json]


readiness_state = estate.readiness_state


NOT_READ: Json = {"error": "not read"}  # what a read left out answers


def observe(settings: Settings, *, posture: bool = True) -> Generator[list[Read], list[Json], Json]:
    """Every read the checks need, each of which may fail alone: the status observation (route, slots,
    servers, backups, lag), the release, the standby origin group, the secret and, for the posture
    (``posture``; a failover's preconditions need none of them), the run reports, the host's region and
    the backup account's protection."""
    status = yield from estate.status(settings)
    release = yield from releases.observe(settings, history=False)
    reads: list[Read] = [
        (names.TRAFFIC_LIST_HEALTHY_ORIGINS, {"origin_group": settings.frontdoor_origin_group_standby}),
        (names.SECRETS_GET_DATABASE_HOST, {}),
    ]
    if posture:
        reads += [(names.STORAGE_LIST_REPORTS, {}), (names.STORAGE_GET_TASK_HUB_REGION, {})]
        if settings.backup_storage_account:  # the long-term backups' account and its protection
            reads.append((names.STORAGE_GET_PROTECTION, {}))
    origins, secret, *posture_reads = yield reads
    reports, region, storage = NOT_READ, NOT_READ, None
    if posture:
        reports, region, *found = posture_reads
        storage = found[0] if found else None
    return {
        "storage": storage,
        "status": status,
        "release": release,
        "standby_origins": origins,
        "secret": secret,
        "reports": reports,
        "region": region,
    }


def _error(value: Any) -> str:
    return str(value.get("error") or "") if isinstance(value, dict) else "not read"


def _runs(reports: Json) -> tuple[policy.RunSeen, ...] | None:
    if "error" in reports:
        return None
    return tuple(
        policy.RunSeen(
            operation=str(r.get("operation") or ""),
            status=str(r.get("status") or ""),
            started_at=parse_time(str(r["started_at"])) if r.get("started_at") else None,
            run_id=str(r.get("run_id") or ""),
        )
        for r in reports.get("reports") or []
    )


def _reads(settings: Settings, status: Json, origins: Json, secret: Json) -> tuple[tuple[str, str], ...]:
    """(resource, error) for every resource the plans act on, as the app's identity read it."""
    slots = status.get("slots") or {}
    pairs = [("front door route", status.get("route") or {})]
    pairs += [(f"container group {settings.container_groups[s]}", slots.get(s) or {}) for s in slots]
    for key in ("primary_server", "replica_server"):
        server = status.get(key)
        if isinstance(server, dict):
            pairs.append((f"server {server.get('name') or key}", server))
    if isinstance(status.get("latest_backup"), dict):
        pairs.append(("backups of the primary", status["latest_backup"]))
    pairs += [
        (f"origin group {settings.frontdoor_origin_group_standby}", origins),
        ("database secret", secret),
    ]
    return tuple((name, _error(found)) for name, found in pairs)


def observation_of(settings: Settings, now: datetime, seen: Json) -> policy.ReadinessObservation:
    """What ``observe`` returned, as the checks read it (pure)."""
    status, release, storage = seen["status"], seen["release"], seen.get("storage")
    origins, secret = seen["standby_origins"], seen["secret"]
    backups = status.get("latest_backup") or {}
    primary = status.get("primary") or {}
    server = status.get("primary_server") or {}
    host = None if "error" in secret else str(secret.get("host") or "") or None
    at_primary = bool(host and primary.get("primary")) and estate.server_view(
        str(primary.get("primary")), server
    ).answers_at(str(host))
    standby = (status.get("slots") or {}).get("standby") or {}
    enabled = [o for o in origins.get("origins") or [] if o.get("enabled", True)]
    latest = backups.get("latest_completed_at")
    return policy.ReadinessObservation(
        now=now,
        replica_lag_seconds=status.get("replica_lag_seconds"),
        lag_error=_error(status.get("replica_lag") or {})
        or ("no replica" if not primary.get("replica") else ""),
        latest_backup_at=parse_time(str(latest)) if latest else None,
        backup_error=_error(backups),
        runs=_runs(seen["reports"]),
        runs_error=_error(seen["reports"]),
        live_image=(release.get("live") or {}).get("image"),
        standby_image=(release.get("standby") or {}).get("image"),
        release_error=str(release.get("reason") or ""),
        standby_origins=None if "error" in origins else len(enabled),
        standby_healthy=origins.get("healthy_count"),
        standby_running=str(standby.get("state") or "").lower() == "running",
        origins_error=_error(origins),
        primary=str(primary.get("primary") or "") or None,
        primary_reason=str(primary.get("reason") or ""),
        secret_host=host,
        secret_error=_error(secret),
        secret_at_primary=at_primary,
        reads=_reads(settings, status, origins, secret),
        host_region=str(seen["region"].get("region") or "") or None,
        storage_configured=bool(settings.backup_storage_account),
        storage_protection=None if storage is None or "error" in storage else storage,
        storage_error=_error(storage or {}),
    )


def objectives(settings: Settings) -> policy.ReadinessObjectives:
    return policy.ReadinessObjectives(
        rpo_seconds=settings.rpo_minutes * 60.0,
        backup_age_alert_hours=settings.backup_age_alert_hours,
        restore_test_max_age_hours=settings.readiness_restore_test_max_age_hours,
        drill_max_age_days=settings.readiness_drill_max_age_days,
        dr_region=settings.secondary_region,
        min_delete_retention_days=settings.backup_delete_retention_days,
        compliance_years=settings.compliance_retention_years,
    )


def last_tick(seen: Json) -> Json | None:
    """The last readiness tick's score, when and why it changed (from the status observation)."""
    tick = (seen.get("status") or {}).get("readiness")
    return {k: tick.get(k) for k in ("observed_at", "score", "change")} if isinstance(tick, dict) else None


def assess(settings: Settings, now: datetime, seen: Json) -> Json:
    """The readiness result: the score and every check with its result and reason (pure)."""
    checks = policy.assess_readiness(observation_of(settings, now, seen), objectives(settings))
    return {
        "app": settings.app_name,
        "observed_at": now.isoformat(),
        "score": policy.readiness_score(checks),
        "checks": [
            {"name": c.name, "result": policy.readiness_result(c), "reason": c.reason} for c in checks
        ],
    }
