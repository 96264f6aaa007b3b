"""Settings: the one typed view of the app's configuration, parsed and validated once at start-up.

``load_settings(os.environ)`` returns a frozen :class:`Settings` or raises :class:`SettingsError` naming
every missing or malformed key at once. Settings hold no secrets, so ``to_dict()`` may travel in
orchestration inputs. Secret values (webhook URLs, the PagerDuty routing key, the Event Grid key, the
sandbox token, the storage connection string) are validated by ``load_settings`` but only ever read by
the adapters that send them, through :func:`load_secrets`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

PREFIX = "CONTINUITY_"

TAG_CREATED_BY = "created-by"
TAG_CREATED_BY_VALUE = "continuity"
TAG_RUN = "continuity-run"


class SettingsError(ValueError):
    """One or more settings are missing or malformed; ``problems`` has one sentence per key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings: " + "; ".join(problems))


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
    if len(raw.split()) != 6:
        raise ValueError("must be a six-field NCRONTAB expression (second minute hour day month weekday)")
    return raw


def _existing_file(raw: str) -> str:
    if not Path(raw).is_file():
        raise ValueError("must be the path of an existing file")
    return raw


class _Field(NamedTuple):
    parse: Callable[[str], Any]
    default: str | None  # None: required; "": optional (the field is None when unset)
    doc: str


REQUIRED = None
OPTIONAL = ""

# Field name = env key without the prefix, lower-cased. The order is the order of docs and samples.
FIELDS: dict[str, _Field] = {
    # the protected estate
    "APP_NAME": _Field(_name, "qlp", "Name of the protected app; part of every singleton instance id."),
    "SUBSCRIPTION_ID": _Field(_name, REQUIRED, "Azure subscription holding the estate."),
    "PRIMARY_REGION": _Field(_name, "uksouth", "Primary region."),
    "SECONDARY_REGION": _Field(_name, "ukwest", "DR region."),
    "PRIMARY_RESOURCE_GROUP": _Field(_name, REQUIRED, "Resource group of the primary region."),
    "SECONDARY_RESOURCE_GROUP": _Field(_name, REQUIRED, "Resource group of the DR region."),
    "PRIMARY_SERVER": _Field(_name, REQUIRED, "PostgreSQL flexible server that is primary at install time."),
    "REPLICA_SERVER": _Field(_name, REQUIRED, "Its cross-region read replica (in the DR resource group)."),
    "DATABASE_NAME": _Field(_name, "qlp_db", "Application database on the servers."),
    "CONTAINER_GROUP_BLUE": _Field(_name, REQUIRED, "Container group of the blue slot (primary region)."),
    "CONTAINER_GROUP_GREEN": _Field(_name, REQUIRED, "Container group of the green slot (primary region)."),
    "CONTAINER_GROUP_STANDBY": _Field(_name, REQUIRED, "Standby container group (DR region)."),
    "CONTAINER_PORT": _Field(_positive_int, "8000", "Port the app containers listen on."),
    "IMAGE_REPOSITORY": _Field(
        _text, OPTIONAL, "Image repository of the app, e.g. myacr.azurecr.io/qlp-api."
    ),
    "FRONTDOOR_KIND": _Field(
        _choice("standard", "classic"), "standard", "Front Door Standard/Premium or classic."
    ),
    "FRONTDOOR_RESOURCE_GROUP": _Field(_name, REQUIRED, "Resource group of the Front Door profile."),
    "FRONTDOOR_PROFILE": _Field(
        _name, REQUIRED, "Front Door profile (standard) or Front Door name (classic)."
    ),
    "FRONTDOOR_ENDPOINT": _Field(_name, OPTIONAL, "Front Door endpoint (standard only; required there)."),
    "FRONTDOOR_ROUTE": _Field(
        _name, REQUIRED, "Route (standard) or routing rule (classic) carrying the app."
    ),
    "FRONTDOOR_ORIGIN_GROUP_BLUE": _Field(_name, REQUIRED, "Origin group / backend pool of the blue slot."),
    "FRONTDOOR_ORIGIN_GROUP_GREEN": _Field(_name, REQUIRED, "Origin group / backend pool of the green slot."),
    "FRONTDOOR_ORIGIN_GROUP_STANDBY": _Field(_name, REQUIRED, "Origin group / backend pool of the standby."),
    "KEY_VAULT_URL": _Field(_url, REQUIRED, "Key Vault holding the database URL secret."),
    "DATABASE_SECRET_NAME": _Field(_name, "database-url", "Secret holding postgresql://user:pw@host/db."),
    "PUBLIC_URL": _Field(_url, REQUIRED, "Public URL of the app (through Front Door)."),
    "HEALTH_PATH": _Field(_path, "/health", "App health path (probes and origin checks)."),
    "DATABASE_HEALTH_PATH": _Field(_path, "/api/v1/health/database", "App path that checks its database."),
    "REPORTS_CONTAINER": _Field(_name, "continuity-reports", "Blob container for run reports and events."),
    "REPORTS_ACCOUNT_URL": _Field(
        _url, OPTIONAL, "Blob account URL (managed identity). Or use the next key."
    ),
    "REPORTS_CONNECTION_SETTING": _Field(
        _name, OPTIONAL, "Name of an app setting with a storage connection string."
    ),
    "CRITICAL_TABLES": _Field(
        _names_list, "intents", "Comma-separated tables whose row counts checks compare."
    ),
    "SENTINEL_TABLE": _Field(_table, "sentinels", "Table of sentinel rows (name text, written_at)."),
    "VERIFY_SQL": _Field(
        _sql_checks, "[]", "JSON list of {name, sql}; each must return true in row 1 col 1."
    ),
    # objectives (DESIGN.md section 1)
    "RTO_TIER1_MINUTES": _Field(_positive_int, "30", "RTO of tier 1 (intent API, database, auth)."),
    "RTO_TIER2_MINUTES": _Field(_positive_int, "120", "RTO of tier 2."),
    "RTO_TIER3_MINUTES": _Field(_positive_int, "240", "RTO of tier 3."),
    "RPO_MINUTES": _Field(_float, "15", "RPO; replica lag above it blocks an automatic forced promote."),
    "BACKUP_AGE_ALERT_HOURS": _Field(_float, "4", "Latest backup older than this is a breach."),
    "PREDEPLOY_BACKUP_GATE_HOURS": _Field(_float, "6", "Pre-deployment gate on the latest backup's age."),
    "DETECTION_THRESHOLD": _Field(
        _positive_int, "3", "Consecutive failed health checks that raise a signal."
    ),
    "POST_SWITCH_CHECKS": _Field(_positive_int, "30", "Checks after a blue-green switch."),
    "POST_SWITCH_INTERVAL_SECONDS": _Field(_float, "10", "Seconds between post-switch checks."),
    "ROLLBACK_HEALTH_FAILURE_PERCENT": _Field(
        _float, "50", "Health failures (%) over the window that roll back."
    ),
    "ROLLBACK_ERROR_RATE_POINTS": _Field(_float, "5", "5xx rate points above baseline that roll back."),
    "ROLLBACK_LATENCY_FACTOR": _Field(_float, "2", "p95 latency over baseline times this rolls back."),
    "BACKUP_RETENTION_DAYS": _Field(_positive_int, "30", "Expected backup retention of the servers."),
    "COMPLIANCE_RETENTION_YEARS": _Field(_positive_int, "7", "Retention of drill evidence reports."),
    # failover and restore behaviour
    "FAILOVER_MODE": _Field(_choice("auto", "manual"), "auto", "auto: fail over after the grace period."),
    "GRACE_PERIOD_SECONDS": _Field(_float, "600", "Wait after a confirmed outage before failing over."),
    "CONFIRM_PROBES": _Field(_positive_int, "3", "Probes of the primary that confirm an outage."),
    "CONFIRM_INTERVAL_SECONDS": _Field(_float, "10", "Seconds between confirmation probes."),
    "APPROVAL_TIMEOUT_MINUTES": _Field(_float, "30", "How long to wait for an operator approval."),
    "APPROVAL_TIMEOUT_ACTION": _Field(
        _choice("escalate", "wait", "stop"), "escalate", "On approval timeout."
    ),
    "MAX_AUTO_FAILOVERS": _Field(_int, "1", "Automatic failovers allowed per window."),
    "AUTO_FAILOVER_WINDOW_HOURS": _Field(_float, "24", "The window for MAX_AUTO_FAILOVERS."),
    "RESTORE_REQUIRES_APPROVAL": _Field(_bool, "true", "A restore with switch waits for approval."),
    "PROBE_TIMEOUT_SECONDS": _Field(_float, "10", "Timeout of one HTTP probe."),
    # schedules (timer triggers read them as %CONTINUITY_..._SCHEDULE%)
    "BACKUP_WATCH_SCHEDULE": _Field(_cron, "0 */15 * * * *", "Backup watch timer."),
    "HEALTH_PROBE_SCHEDULE": _Field(_cron, "0 * * * * *", "Backstop health probe timer."),
    "RESTORE_TEST_SCHEDULE": _Field(_cron, "0 0 3 * * *", "Daily restore test timer."),
    "DRILL_SCHEDULE": _Field(_cron, "0 0 4 1 1,4,7,10 *", "Quarterly drill timer."),
    # notification targets (their secret parts: see SECRET_FIELDS)
    "PAGERDUTY_EVENTS_URL": _Field(
        _url, "https://events.pagerduty.com/v2/enqueue", "PagerDuty Events API v2."
    ),
    "EVENTGRID_TOPIC_ENDPOINT": _Field(_url, OPTIONAL, "Event Grid topic for CloudEvents (optional)."),
    "NOTIFY_TIMEOUT_SECONDS": _Field(_float, "10", "Timeout of one notification call."),
    # endpoint overrides (the sandbox)
    "ARM_ENDPOINT": _Field(_url, "https://management.azure.com", "Azure Resource Manager endpoint."),
    "CA_BUNDLE": _Field(_existing_file, OPTIONAL, "CA bundle for TLS to Azure endpoints (the sandbox CA)."),
    "CREDENTIAL": _Field(_choice("default", "sandbox"), "default", "default: DefaultAzureCredential."),
}

# Secret settings: validated here, never stored in Settings, read only by the adapter that sends them.
SECRET_FIELDS: dict[str, _Field] = {
    "SLACK_WEBHOOK_URL": _Field(_url, OPTIONAL, "Slack incoming webhook URL."),
    "TEAMS_WEBHOOK_URL": _Field(_url, OPTIONAL, "Teams incoming webhook (workflow) URL."),
    "WEBHOOK_URL": _Field(_url, OPTIONAL, "Generic webhook: receives the message as JSON."),
    "PAGERDUTY_ROUTING_KEY": _Field(_text, OPTIONAL, "PagerDuty Events API v2 routing key."),
    "EVENTGRID_TOPIC_KEY": _Field(_text, OPTIONAL, "Event Grid topic key (else managed identity)."),
    "SANDBOX_TOKEN": _Field(_text, OPTIONAL, "Bearer token for the sandbox (CREDENTIAL=sandbox only)."),
}

_TARGET_KEYS = {
    "slack": "SLACK_WEBHOOK_URL",
    "teams": "TEAMS_WEBHOOK_URL",
    "pagerduty": "PAGERDUTY_ROUTING_KEY",
    "webhook": "WEBHOOK_URL",
}


@dataclass(frozen=True)
class Settings:
    """The app's settings; no secrets (safe to put in orchestration input and reports)."""

    app_name: str
    subscription_id: str
    primary_region: str
    secondary_region: str
    primary_resource_group: str
    secondary_resource_group: str
    primary_server: str
    replica_server: str
    database_name: str
    container_group_blue: str
    container_group_green: str
    container_group_standby: str
    container_port: int
    image_repository: str | None
    frontdoor_kind: str
    frontdoor_resource_group: str
    frontdoor_profile: str
    frontdoor_endpoint: str | None
    frontdoor_route: str
    frontdoor_origin_group_blue: str
    frontdoor_origin_group_green: str
    frontdoor_origin_group_standby: str
    key_vault_url: str
    database_secret_name: str
    public_url: str
    health_path: str
    database_health_path: str
    reports_container: str
    reports_account_url: str | None
    reports_connection_setting: str | None
    critical_tables: tuple[str, ...]
    sentinel_table: str
    verify_sql: tuple[dict[str, str], ...]
    rto_tier1_minutes: int
    rto_tier2_minutes: int
    rto_tier3_minutes: int
    rpo_minutes: float
    backup_age_alert_hours: float
    predeploy_backup_gate_hours: float
    detection_threshold: int
    post_switch_checks: int
    post_switch_interval_seconds: float
    rollback_health_failure_percent: float
    rollback_error_rate_points: float
    rollback_latency_factor: float
    backup_retention_days: int
    compliance_retention_years: int
    failover_mode: str
    grace_period_seconds: float
    confirm_probes: int
    confirm_interval_seconds: float
    approval_timeout_minutes: float
    approval_timeout_action: str
    max_auto_failovers: int
    auto_failover_window_hours: float
    restore_requires_approval: bool
    probe_timeout_seconds: float
    backup_watch_schedule: str
    health_probe_schedule: str
    restore_test_schedule: str
    drill_schedule: str
    pagerduty_events_url: str
    eventgrid_topic_endpoint: str | None
    notify_timeout_seconds: float
    arm_endpoint: str
    ca_bundle: str | None
    credential: str
    notify_targets: tuple[str, ...] = ()

    # ---- derived values ----------------------------------------------------------------------------
    @property
    def sandbox(self) -> bool:
        """True when acting on the local sandbox (static credential)."""
        return self.credential == "sandbox"

    @property
    def container_groups(self) -> dict[str, str]:
        """Slot -> container group name: blue, green, standby."""
        return {
            "blue": self.container_group_blue,
            "green": self.container_group_green,
            "standby": self.container_group_standby,
        }

    @property
    def origin_groups(self) -> dict[str, str]:
        """Slot -> Front Door origin group (or classic backend pool): blue, green, standby."""
        return {
            "blue": self.frontdoor_origin_group_blue,
            "green": self.frontdoor_origin_group_green,
            "standby": self.frontdoor_origin_group_standby,
        }

    def server_resource_group(self, server: str) -> str:
        """Default resource group of a server: the replica's is the DR group, all others the primary."""
        return self.secondary_resource_group if server == self.replica_server else self.primary_resource_group

    def group_resource_group(self, group: str) -> str:
        """Default resource group of a container group: the standby's is the DR group."""
        if group == self.container_group_standby:
            return self.secondary_resource_group
        return self.primary_resource_group

    def region_of_resource_group(self, resource_group: str) -> str:
        if resource_group == self.secondary_resource_group:
            return self.secondary_region
        return self.primary_region

    # ---- JSON round trip ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (lists for tuples); safe for orchestration input: holds no secret."""
        return json.loads(json.dumps(dataclasses.asdict(self)))  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """Inverse of to_dict; raises SettingsError naming unknown or missing keys."""
        fields = {f.name for f in dataclasses.fields(cls)}
        problems = [f"{k}: unknown setting" for k in data if k not in fields]
        problems += [f"{k}: missing" for k in sorted(fields - set(data)) if k != "notify_targets"]
        if problems:
            raise SettingsError(problems)
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


@dataclass(frozen=True)
class Secrets:
    """Secret settings, read by the adapters that use them. Never logged: repr hides the values."""

    slack_webhook_url: str | None = None
    teams_webhook_url: str | None = None
    webhook_url: str | None = None
    pagerduty_routing_key: str | None = None
    eventgrid_topic_key: str | None = None
    sandbox_token: str | None = None
    storage_connection_string: str | None = None

    def __repr__(self) -> str:
        present = [f.name for f in dataclasses.fields(self) if getattr(self, f.name)]
        return f"Secrets(set={present})"


def _parse_all(fields: Mapping[str, _Field], env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, field in fields.items():
        env_key = PREFIX + key
        raw = env.get(env_key, "").strip()
        if not raw:
            if field.default is None:
                problems.append(f"{env_key}: missing ({field.doc})")
                continue
            raw = field.default
        try:
            values[key.lower()] = field.parse(raw) if raw else None
        except ValueError as exc:
            problems.append(f"{env_key}: {exc}")
    return values


def _cross_checks(values: Mapping[str, Any], secrets: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    problems = []
    if values.get("frontdoor_kind") == "standard" and not values.get("frontdoor_endpoint"):
        problems.append(f"{PREFIX}FRONTDOOR_ENDPOINT: missing (required when FRONTDOOR_KIND is standard)")
    account, connection = values.get("reports_account_url"), values.get("reports_connection_setting")
    if bool(account) == bool(connection):
        problems.append(
            f"{PREFIX}REPORTS_ACCOUNT_URL / {PREFIX}REPORTS_CONNECTION_SETTING: set exactly one of the two"
        )
    elif connection and not env.get(connection, "").strip():
        problems.append(f"{connection}: missing (named by {PREFIX}REPORTS_CONNECTION_SETTING)")
    if values.get("credential") == "sandbox" and not secrets.get("sandbox_token"):
        problems.append(f"{PREFIX}SANDBOX_TOKEN: missing (required when CREDENTIAL is sandbox)")
    if values.get("primary_server") and values.get("primary_server") == values.get("replica_server"):
        problems.append(f"{PREFIX}REPLICA_SERVER: must differ from {PREFIX}PRIMARY_SERVER")
    return problems


def load_settings(env: Mapping[str, str]) -> Settings:
    """Parse and validate every setting; raise SettingsError naming every problem (never a value)."""
    problems: list[str] = []
    values = _parse_all(FIELDS, env, problems)
    secrets = _parse_all(SECRET_FIELDS, env, problems)
    problems += _cross_checks(values, secrets, env)
    if problems:
        raise SettingsError(problems)
    targets = tuple(t for t, key in _TARGET_KEYS.items() if secrets.get(key.lower()))
    if values.get("eventgrid_topic_endpoint"):
        targets += ("eventgrid",)
    return Settings(**values, notify_targets=targets)


def load_secrets(env: Mapping[str, str]) -> Secrets:
    """The secret settings (assumes load_settings already validated the same environment)."""
    problems: list[str] = []
    values = _parse_all(SECRET_FIELDS, env, problems)
    connection = env.get(PREFIX + "REPORTS_CONNECTION_SETTING", "").strip()
    conn_string = env.get(connection, "").strip() if connection else ""
    if problems:
        raise SettingsError(problems)
    return Secrets(**values, storage_connection_string=conn_string or None)


@functools.cache
def current_settings() -> Settings:
    """The settings of this process (activities and triggers; orchestrators get them in their input)."""
    return load_settings(os.environ)


@functools.cache
def current_secrets() -> Secrets:
    """The secret settings of this process, for adapters only."""
    return load_secrets(os.environ)
