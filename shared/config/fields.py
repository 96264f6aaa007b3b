"""The settings' declarations: every key with its parser, default and documentation, and the parsers.

Field name = env key without the prefix, lower-cased (``Settings`` has one attribute per field). The
order is the order of docs and samples. Secret keys (``SECRET_FIELDS``) are validated but never stored in
Settings: only the adapter that sends them reads them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from shared.config.calendar import parse_items_off, parse_quarters
from shared.config.smoke import parse_smoke_suite
from shared.config.tiers import DOCUMENT_TIER_COMPONENTS, parse_tier_components
from shared.policy.incidents import escalation_targets_setting, levels_setting, sla_setting

PREFIX = "CONTINUITY_"


# ---- parsers: each takes the raw text and returns a value or raises ValueError(reason) ----------------
def _text(raw: str) -> str:
    return raw


def _name(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._()\-]*", raw):
        raise ValueError("must be a resource name (letters, digits, . _ - ( ))")
    return raw


def _url(raw: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", raw):
        raise ValueError("must be an http(s) URL")
    return raw.rstrip("/")


def _path(raw: str) -> str:
    if not raw.startswith("/"):
        raise ValueError("must start with /")
    return raw


def _int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("must be a whole number") from None
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive_int(raw: str) -> int:
    value = _int(raw)
    if value == 0:
        raise ValueError("must be at least 1")
    return value


def _float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if not value >= 0:
        raise ValueError("must not be negative")
    return value


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("must be true or false")


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError("must be one of " + ", ".join(options))
        return raw

    return parse


def _table(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", raw):
        raise ValueError("not a table name (letters, digits, _; optionally schema.table)")
    return raw


def _names_list(raw: str) -> tuple[str, ...]:
    return tuple(_table(item.strip()) for item in raw.split(",") if item.strip())


def _sql_checks(raw: str) -> tuple[dict[str, str], ...]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("must be a JSON list of {name, sql}") from None
    ok = isinstance(value, list) and all(
        isinstance(v, dict)
        and set(v) == {"name", "sql"}
        and all(isinstance(x, str) and x for x in v.values())
        for v in value
    )
    if not ok:
        raise ValueError("must be a JSON list of {name, sql}")
    return tuple(value)


def _cron(raw: str) -> str:
    from shared import ncrontab

    if len(raw.split()) != 6:
        raise ValueError("must be a six-field NCRONTAB expression (second minute hour day month weekday)")
    ncrontab.parse_schedule(raw)  # ScheduleError (a ValueError) names the bad field
    return raw


def _identity_id(raw: str) -> str:
    if not re.fullmatch(
        r"/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.managedidentity"
        r"/userassignedidentities/[^/]+",
        raw.lower(),
    ):
        raise ValueError("must be the resource id of a user-assigned managed identity")
    return raw


def _uuid(raw: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", raw):
        raise ValueError("must be a GUID")
    return raw.lower()


def _host(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]+)?", raw):
        raise ValueError("must be a registry login server, e.g. myacr.azurecr.io")
    return raw.lower()


def _window(raw: str) -> tuple[int, int]:
    """``HH:MM-HH:MM`` (UTC) as minutes of the day (start, end); a window may wrap past midnight;
    ``00:00-24:00`` is always open."""
    found = re.fullmatch(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})", raw.strip())
    if not found:
        raise ValueError("must be HH:MM-HH:MM (UTC), e.g. 02:00-05:00")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or start == end:
        raise ValueError("must be HH:MM-HH:MM (UTC) with two different times of the day")
    return start, end


def _run_deadlines(raw: str) -> str:
    from shared.policy.watchdog import run_deadlines

    run_deadlines(raw)  # raises ValueError naming the bad entry
    return raw


def _existing_file(raw: str) -> str:
    if not Path(raw).is_file():
        raise ValueError("must be the path of an existing file")
    return raw


class Field(NamedTuple):
    parse: Callable[[str], Any]
    default: str | None  # None: required; "": optional (the field is None when unset)
    doc: str


REQUIRED = None
OPTIONAL = ""

# Field name = env key without the prefix, lower-cased. The order is the order of docs and samples.
FIELDS: dict[str, Field] = {
    # the protected estate
    "APP_NAME": Field(_name, "qlp", "Name of the protected app; part of every singleton instance id."),
    "SUBSCRIPTION_ID": Field(_name, REQUIRED, "Azure subscription holding the estate."),
    "PRIMARY_REGION": Field(_name, "uksouth", "Primary region."),
    "SECONDARY_REGION": Field(_name, "ukwest", "DR region."),
    "PRIMARY_RESOURCE_GROUP": Field(_name, REQUIRED, "Resource group of the primary region."),
    "SECONDARY_RESOURCE_GROUP": Field(_name, REQUIRED, "Resource group of the DR region."),
    "PRIMARY_SERVER": Field(_name, REQUIRED, "PostgreSQL flexible server that is primary at install time."),
    "REPLICA_SERVER": Field(_name, REQUIRED, "Its cross-region read replica (in the DR resource group)."),
    "DATABASE_NAME": Field(_name, "qlp_db", "Application database on the servers."),
    "CONTAINER_GROUP_BLUE": Field(_name, REQUIRED, "Container group of the blue slot (primary region)."),
    "CONTAINER_GROUP_GREEN": Field(_name, REQUIRED, "Container group of the green slot (primary region)."),
    "CONTAINER_GROUP_STANDBY": Field(_name, REQUIRED, "Standby container group (DR region)."),
    "CONTAINER_PORT": Field(_positive_int, "8000", "Port the app containers listen on."),
    "IMAGE_REPOSITORY": Field(_text, OPTIONAL, "Image repository of the app, e.g. myacr.azurecr.io/qlp-api."),
    "CONTAINER_IDENTITY_ID": Field(
        _identity_id,
        OPTIONAL,
        "User-assigned managed identity (resource id) every container group Continuity creates carries: "
        "it pulls from the registry (AcrPull) and reads the database secret (Key Vault Secrets User).",
    ),
    "CONTAINER_IDENTITY_CLIENT_ID": Field(
        _uuid, OPTIONAL, "Client id of that identity (AZURE_CLIENT_ID in the containers); required with it."
    ),
    "CONTAINER_REGISTRY_SERVER": Field(
        _host,
        OPTIONAL,
        "Private registry whose images are pulled through the identity (default: the host "
        "of IMAGE_REPOSITORY).",
    ),
    "FRONTDOOR_KIND": Field(
        _choice("standard", "classic"), "standard", "Front Door Standard/Premium or classic."
    ),
    "FRONTDOOR_RESOURCE_GROUP": Field(_name, REQUIRED, "Resource group of the Front Door profile."),
    "FRONTDOOR_PROFILE": Field(
        _name, REQUIRED, "Front Door profile (standard) or Front Door name (classic)."
    ),
    "FRONTDOOR_ENDPOINT": Field(_name, OPTIONAL, "Front Door endpoint (standard only; required there)."),
    "FRONTDOOR_ROUTE": Field(_name, REQUIRED, "Route (standard) or routing rule (classic) carrying the app."),
    "FRONTDOOR_ORIGIN_GROUP_BLUE": Field(_name, REQUIRED, "Origin group / backend pool of the blue slot."),
    "FRONTDOOR_ORIGIN_GROUP_GREEN": Field(_name, REQUIRED, "Origin group / backend pool of the green slot."),
    "FRONTDOOR_ORIGIN_GROUP_STANDBY": Field(_name, REQUIRED, "Origin group / backend pool of the standby."),
    "KEY_VAULT_URL": Field(_url, REQUIRED, "Key Vault holding the database URL secret."),
    "DATABASE_SECRET_NAME": Field(_name, "database-url", "Secret holding postgresql://user:pw@host/db."),
    "PUBLIC_URL": Field(_url, REQUIRED, "Public URL of the app (through Front Door)."),
    "HEALTH_PATH": Field(_path, "/health", "App health path (probes and origin checks)."),
    "DATABASE_HEALTH_PATH": Field(_path, "/api/v1/health/database", "App path that checks its database."),
    "REPORTS_CONTAINER": Field(_name, "continuity-reports", "Blob container for run reports and events."),
    "REPORTS_ACCOUNT_URL": Field(_url, OPTIONAL, "Blob account URL (managed identity). Or use the next key."),
    "REPORTS_CONNECTION_SETTING": Field(
        _name, OPTIONAL, "Name of an app setting with a storage connection string."
    ),
    "CRITICAL_TABLES": Field(
        _names_list, "intents", "Comma-separated tables whose row counts checks compare."
    ),
    "SENTINEL_TABLE": Field(_table, "sentinels", "Table of sentinel rows (name text, written_at)."),
    "VERIFY_SQL": Field(_sql_checks, "[]", "JSON list of {name, sql}; each must return true in row 1 col 1."),
    # objectives (DESIGN.md section 1)
    "RTO_TIER1_MINUTES": Field(_positive_int, "30", "RTO of tier 1 (intent API, database, auth)."),
    "RTO_TIER2_MINUTES": Field(_positive_int, "120", "RTO of tier 2."),
    "RTO_TIER3_MINUTES": Field(_positive_int, "240", "RTO of tier 3."),
    "RPO_MINUTES": Field(_float, "15", "RPO; replica lag above it blocks an automatic forced promote."),
    "BACKUP_AGE_ALERT_HOURS": Field(_float, "4", "Latest backup older than this is a breach."),
    "PREDEPLOY_BACKUP_GATE_HOURS": Field(_float, "6", "Pre-deployment gate on the latest backup's age."),
    "DETECTION_THRESHOLD": Field(_positive_int, "3", "Consecutive failed health checks that raise a signal."),
    "POST_SWITCH_CHECKS": Field(_positive_int, "30", "Checks after a blue-green switch."),
    "POST_SWITCH_INTERVAL_SECONDS": Field(_float, "10", "Seconds between post-switch checks."),
    "ROLLBACK_HEALTH_FAILURE_PERCENT": Field(
        _float, "50", "Health failures (%) over the window that roll back."
    ),
    "ROLLBACK_ERROR_RATE_POINTS": Field(_float, "5", "5xx rate points above baseline that roll back."),
    "ROLLBACK_LATENCY_FACTOR": Field(_float, "2", "p95 latency over baseline times this rolls back."),
    "BACKUP_RETENTION_DAYS": Field(_positive_int, "30", "Expected backup retention of the servers."),
    "COMPLIANCE_RETENTION_YEARS": Field(_positive_int, "7", "Retention of drill evidence reports."),
    # failover and restore behaviour
    "FAILOVER_MODE": Field(_choice("auto", "manual"), "auto", "auto: fail over after the grace period."),
    "GRACE_PERIOD_SECONDS": Field(_float, "600", "Wait after a confirmed outage before failing over."),
    "CONFIRM_PROBES": Field(_positive_int, "3", "Probes of the primary that confirm an outage."),
    "CONFIRM_INTERVAL_SECONDS": Field(_float, "10", "Seconds between confirmation probes."),
    "APPROVAL_TIMEOUT_MINUTES": Field(_float, "30", "How long to wait for an operator approval."),
    "APPROVAL_TIMEOUT_ACTION": Field(_choice("escalate", "wait", "stop"), "escalate", "On approval timeout."),
    "MAX_AUTO_FAILOVERS": Field(_int, "1", "Automatic failovers allowed per window."),
    "AUTO_FAILOVER_WINDOW_HOURS": Field(_float, "24", "The window for MAX_AUTO_FAILOVERS."),
    "RESTORE_REQUIRES_APPROVAL": Field(_bool, "true", "A restore with switch waits for approval."),
    # deployments (blue-green, rollback, container recovery)
    "DEPLOY_WINDOW": Field(
        _window, "02:00-05:00", "Low-traffic hours (UTC) for deploys; outside needs force_window."
    ),
    "DEPLOY_REQUIRE_CHANGE_ID": Field(_bool, "false", "A deploy must carry a change_id."),
    "DEPLOY_NOTICE_HOURS": Field(_float, "24", "Advance notice of a scheduled (not_before) deploy."),
    "DEPLOY_CPU_WARN_PERCENT": Field(_float, "80", "Live slot CPU above this warns in the pre-flight."),
    "DEPLOY_CPU_REFUSE_PERCENT": Field(_float, "90", "Live slot CPU above this refuses the deploy."),
    "DEPLOY_POLL_INTERVAL_SECONDS": Field(_float, "5", "Seconds between polls of a deploy's waits."),
    "HEALTH_DEADLINE_SECONDS": Field(_float, "300", "The idle slot must be running and healthy by then."),
    "SMOKE_SUITE": Field(
        parse_smoke_suite, "document", "Smoke checks on the idle slot: 'document' or a JSON list of checks."
    ),
    "VERSION_PATH": Field(_path, "/api/v1/status", "App path answering JSON with the running version."),
    "VERSION_FIELD": Field(_name, "version", "Field of that JSON holding the image tag."),
    "PROPAGATION_CONSECUTIVE": Field(
        _positive_int, "3", "Answers in a row of the new version that end the switch."
    ),
    "PROPAGATION_INTERVAL_SECONDS": Field(_float, "2", "Seconds between those answers."),
    "PROPAGATION_DEADLINE_SECONDS": Field(_float, "900", "Longest wait for Front Door to serve it."),
    "ANALYSIS_PATH": Field(_path, "/api/v1/status", "Path of the analysis request bursts."),
    "ANALYSIS_REQUESTS": Field(_positive_int, "20", "Requests per analysis burst (each check)."),
    "ANALYSIS_CONCURRENCY": Field(_positive_int, "5", "Concurrency of the bursts."),
    "BASELINE_REQUESTS": Field(_positive_int, "60", "Requests of the baseline burst on the live slot."),
    "ROLLBACK_LATENCY_FLOOR_MS": Field(
        _float, "100", "p95 must also exceed the baseline by this much to roll back."
    ),
    "ROLLBACK_CONSECUTIVE_CHECKS": Field(
        _positive_int, "2", "Failed checks in a row (error rate, latency) that roll back."
    ),
    "ANALYSIS_INCONCLUSIVE_LIMIT": Field(_int, "3", "Inconclusive checks tolerated before acting."),
    "ANALYSIS_INCONCLUSIVE_ACTION": Field(
        _choice("rollback", "wait"), "rollback", "Past the limit: roll back, or wait for an operator."
    ),
    "MAX_AUTO_ROLLBACKS": Field(
        _positive_int, "2", "Automatic rollbacks per window that stop deploys (and page)."
    ),
    "AUTO_ROLLBACK_WINDOW_HOURS": Field(_float, "24", "The window for MAX_AUTO_ROLLBACKS."),
    "SCALE_DOWN_DELAY_MINUTES": Field(_float, "30", "The old slot stays warm this long, then is stopped."),
    "ALERT_FIRING_HOURS": Field(_float, "24", "A fired, unresolved alert this recent blocks deploys."),
    "RECOVERY_VERIFY_CHECKS": Field(
        _positive_int, "3", "Healthy checks in a row that end a container recovery step."
    ),
    "ACTIVITY_RETRY_ATTEMPTS": Field(
        _positive_int, "4", "Calls of an activity whose failures are transient (throttled, unavailable)."
    ),
    "ACTIVITY_RETRY_FIRST_SECONDS": Field(_float, "2", "Wait after the first transient failure; doubles."),
    "ACTIVITY_RETRY_MAX_SECONDS": Field(_float, "30", "Longest wait between two calls of an activity."),
    "REQUIRE_ROLES": Field(
        _bool, "false", "Operations need app roles (reader, operator, approver) from Easy Auth's principal."
    ),
    "SEPARATE_APPROVER": Field(_bool, "true", "With roles: nobody approves or rejects a run they started."),
    "PROBE_TIMEOUT_SECONDS": Field(_float, "10", "Timeout of one HTTP probe."),
    # schedules (timer triggers read them as %CONTINUITY_..._SCHEDULE%)
    "BACKUP_WATCH_SCHEDULE": Field(_cron, "0 */15 * * * *", "Backup watch timer."),
    "HEALTH_PROBE_SCHEDULE": Field(_cron, "0 * * * * *", "Backstop health probe timer."),
    "RESTORE_TEST_SCHEDULE": Field(_cron, "0 0 3 * * *", "Daily restore test timer."),
    "DRILL_SCHEDULE": Field(_cron, "0 0 4 1 1,4,7,10 *", "Quarterly drill timer."),
    # notification targets (their secret parts: see SECRET_FIELDS)
    "PAGERDUTY_EVENTS_URL": Field(
        _url, "https://events.pagerduty.com/v2/enqueue", "PagerDuty Events API v2."
    ),
    "EVENTGRID_TOPIC_ENDPOINT": Field(_url, OPTIONAL, "Event Grid topic for CloudEvents (optional)."),
    "NOTIFY_TIMEOUT_SECONDS": Field(_float, "10", "Timeout of one notification call."),
    # endpoint overrides (the sandbox)
    "ARM_ENDPOINT": Field(_url, "https://management.azure.com", "Azure Resource Manager endpoint."),
    "CA_BUNDLE": Field(_existing_file, OPTIONAL, "CA bundle for TLS to Azure endpoints (the sandbox CA)."),
    "CREDENTIAL": Field(_choice("default", "sandbox"), "default", "default: DefaultAzureCredential."),
    # long-term backups (weekly, kept COMPLIANCE_RETENTION_YEARS in the backup account's immutable container)
    "LTR_BACKUP_SCHEDULE": Field(_cron, "0 0 2 * * 0", "Weekly long-term backup timer (Sunday 02:00 UTC)."),
    "LTR_CONTAINER": Field(_name, "long-term-backups", "The backup account's immutable long-term container."),
    "BACKUP_STORAGE_ACCOUNT": Field(
        _name, OPTIONAL, "The backup storage account (its protection is checked)."
    ),
    "BACKUP_STORAGE_RESOURCE_GROUP": Field(_name, OPTIONAL, "Its resource group (default: the primary's)."),
    "BACKUP_STORAGE_URL": Field(_url, OPTIONAL, "Its blob endpoint (default: REPORTS_ACCOUNT_URL)."),
    "LTR_DEADLINE_MINUTES": Field(_float, "360", "A long-term backup must complete within this."),
    "LTR_POLL_SECONDS": Field(_float, "60", "Seconds between reads of a running long-term backup."),
    "LTR_MAX_AGE_DAYS": Field(_float, "8", "The backup watch breaches when the last one is older."),
    "LTR_PROOF_SCHEDULE": Field(
        _cron, "0 0 5 1 * *", "Monthly proof the latest one is readable (1st, 05:00)."
    ),
    "BACKUP_DELETE_RETENTION_DAYS": Field(
        _positive_int, "365", "Least blob soft-delete retention the backup account must have."
    ),
    "LTR_RESTORE_IMAGE": Field(
        _text,
        "continuity-pg-restore:15",
        "Job image of the monthly proof's pg_restore (PostgreSQL 15 tools).",
    ),
    "LTR_RESTORE_DEADLINE_MINUTES": Field(_float, "60", "The proof's pg_restore job must exit within this."),
    "SERVER_CREATE_DEADLINE_MINUTES": Field(
        _float,
        "180",
        "A server Continuity creates (a restore, a replica, a scratch server) must be Ready within this.",
    ),
    # the stuck-run watchdog
    "RUN_DEADLINES_MINUTES": Field(
        _run_deadlines,
        "failover=60,failback=240,restore=240,restore-test=180,drill=240,deploy=180,rollback=60,*=120",
        "A run active longer than its operation's deadline is stuck: paged once, shown in the status.",
    ),
    "WATCHDOG_SCHEDULE": Field(_cron, "0 */5 * * * *", "Stuck-run watchdog timer."),
    # readiness and recovery tiers
    "READINESS_SCHEDULE": Field(_cron, "0 */15 * * * *", "Readiness score timer."),
    "READINESS_RESTORE_TEST_MAX_AGE_HOURS": Field(
        _float, "48", "Readiness: the last restore test must have passed within this."
    ),
    "READINESS_DRILL_MAX_AGE_DAYS": Field(
        _float,
        "380",
        "Readiness: the last drill of each kind must have passed within this (each runs yearly).",
    ),
    "TIER_COMPONENTS": Field(
        parse_tier_components,
        DOCUMENT_TIER_COMPONENTS,
        "JSON list of {name, path, tier 1-3}: each component's health path through the public endpoint.",
    ),
    "TIER_POLL_INTERVAL_SECONDS": Field(_float, "10", "Seconds between probes of the tiers' health paths."),
    # the DR test calendar
    "CALENDAR_QUARTERS": Field(
        parse_quarters,
        "database,region,complete,security",
        "Drill scenario of Q1-Q4 on the drill timer (or off).",
    ),
    "CALENDAR_OFF": Field(parse_items_off, "none", "Comma-separated calendar items switched off (or none)."),
    "ALERT_VERIFICATION_SCHEDULE": Field(_cron, "0 0 9 * * 1", "Weekly practice alert through the intake."),
    # incidents (escalation matrix, response SLA, status updates, post-mortem)
    "ESCALATION_LEVELS": Field(
        levels_setting,
        "on-call:0,senior:15,lead:30,manager:60",
        "Escalation levels as name:minutes unacknowledged.",
    ),
    "RESPONSE_SLA": Field(
        sla_setting, "P0:15,P1:30,P2:120,P3:next-business-day", "Acknowledgement due per severity (minutes)."
    ),
    "STATUS_UPDATE_MINUTES": Field(_float, "30", "Status updates while an incident is open, this often."),
    "INCIDENT_AUTO_RESOLVE_MINUTES": Field(
        _float,
        "30",
        "An incident resolves itself when every linked run has ended, the last well, and this long has "
        "passed since the later of the last link and that end (0: off).",
    ),
    "POSTMORTEM_DUE_HOURS": Field(_float, "48", "The post-mortem is due this long after resolution."),
}

# Secret settings: validated here, never stored in Settings, read only by the adapter that sends them.
SECRET_FIELDS: dict[str, Field] = {
    "SLACK_WEBHOOK_URL": Field(_url, OPTIONAL, "Slack incoming webhook URL."),
    "TEAMS_WEBHOOK_URL": Field(_url, OPTIONAL, "Teams incoming webhook (workflow) URL."),
    "WEBHOOK_URL": Field(_url, OPTIONAL, "Generic webhook: receives the message as JSON."),
    "PAGERDUTY_ROUTING_KEY": Field(_text, OPTIONAL, "PagerDuty Events API v2 routing key."),
    "EVENTGRID_TOPIC_KEY": Field(_text, OPTIONAL, "Event Grid topic key (else managed identity)."),
    "SANDBOX_TOKEN": Field(_text, OPTIONAL, "Bearer token for the sandbox (CREDENTIAL=sandbox only)."),
    "ALERT_INTAKE_URL": Field(
        _url,
        OPTIONAL,
        "The alert webhook as the action group calls it, with its key (weekly practice alert).",
    ),
    "ESCALATION_TARGETS": Field(
        escalation_targets_setting,
        OPTIONAL,
        "JSON {level: {pagerduty: routing key, slack, teams, webhook: URL}}; a level not listed there "
        "notifies the targets above.",
    ),
    "STATUS_PAGE_WEBHOOK_URL": Field(_url, OPTIONAL, "Status page webhook: incident status updates as JSON."),
    "PAGERDUTY_WEBHOOK_SECRET": Field(
        _text, OPTIONAL, "Signing secret of the PagerDuty v3 webhook subscription."
    ),
}

TARGET_KEYS = {
    "slack": "SLACK_WEBHOOK_URL",
    "teams": "TEAMS_WEBHOOK_URL",
    "pagerduty": "PAGERDUTY_ROUTING_KEY",
    "webhook": "WEBHOOK_URL",
}
