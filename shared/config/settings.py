"""The typed settings: one frozen ``Settings`` (no secrets: it may travel in orchestration input) and the
``Secrets`` only adapters read."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.config.security_fields import DOCUMENT_TABLETOP


class SettingsError(ValueError):
    """One or more settings are missing or malformed; ``problems`` has one sentence per key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings: " + "; ".join(problems))


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
    deploy_window: tuple[int, int]
    deploy_require_change_id: bool
    deploy_notice_hours: float
    deploy_cpu_warn_percent: float
    deploy_cpu_refuse_percent: float
    deploy_poll_interval_seconds: float
    health_deadline_seconds: float
    smoke_suite: tuple[dict[str, Any], ...]
    version_path: str
    version_field: str
    propagation_consecutive: int
    propagation_interval_seconds: float
    propagation_deadline_seconds: float
    analysis_path: str
    analysis_requests: int
    analysis_concurrency: int
    baseline_requests: int
    rollback_latency_floor_ms: float
    rollback_consecutive_checks: int
    analysis_inconclusive_limit: int
    analysis_inconclusive_action: str
    max_auto_rollbacks: int
    auto_rollback_window_hours: float
    scale_down_delay_minutes: float
    alert_firing_hours: float
    recovery_verify_checks: int
    activity_retry_attempts: int
    activity_retry_first_seconds: float
    activity_retry_max_seconds: float
    require_roles: bool
    separate_approver: bool
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
    # optional fields added later: defaults keep runs started before them replayable
    container_identity_id: str | None = None
    container_identity_client_id: str | None = None
    container_registry_server: str | None = None
    ltr_backup_schedule: str = "0 0 2 * * 0"
    ltr_container: str = "long-term-backups"
    backup_storage_account: str | None = None
    backup_storage_resource_group: str | None = None
    backup_storage_url: str | None = None
    ltr_deadline_minutes: float = 360.0
    ltr_poll_seconds: float = 60.0
    ltr_max_age_days: float = 8.0
    backup_delete_retention_days: int = 365
    ltr_proof_schedule: str = "0 0 5 1 * *"
    ltr_restore_image: str = "continuity-pg-restore:15"
    ltr_restore_deadline_minutes: float = 60.0
    server_create_deadline_minutes: float = 180.0
    # the stuck-run watchdog
    run_deadlines_minutes: str = "*=120"
    watchdog_schedule: str | None = None
    # readiness and recovery tiers (optional for the same reason)
    readiness_schedule: str = "0 */15 * * * *"
    readiness_restore_test_max_age_hours: float = 48.0
    readiness_drill_max_age_days: float = 380.0
    tier_components: tuple[dict[str, Any], ...] = ()
    tier_poll_interval_seconds: float = 10.0
    calendar_quarters: tuple[str, ...] = ("database", "region", "complete", "security")
    calendar_off: tuple[str, ...] = ()
    alert_verification_schedule: str = "0 0 9 * * 1"
    failover_validation_schedule: str = "0 0 6 1 * *"
    performance_baseline_schedule: str = "0 0 1 1 * *"
    performance_baseline_requests: int = 100
    performance_regression_percent: float = 50.0
    performance_regression_floor_ms: float = 25.0
    performance_max_error_percent: float = 1.0
    health_check_validation_schedule: str = "0 0 9 * * 2"
    backup_integrity_schedule: str = "0 0 6 * * 3"
    # incidents (shared/policy/incidents.py parses the matrix and the SLA)
    escalation_levels: str = "on-call:0,senior:15,lead:30,manager:60"
    response_sla: str = "P0:15,P1:30,P2:120,P3:next-business-day"
    status_update_minutes: float = 30.0
    incident_auto_resolve_minutes: float = 30.0
    postmortem_due_hours: float = 48.0
    # migrations and maintenance mode (shared/config/migration_fields.py)
    migration_restore_test_days: float = 7.0
    migration_version_sql: str = "select max(version) from schema_version"
    migration_app_role: str | None = None
    migration_drain_seconds: float = 30.0
    migration_drain_interval_seconds: float = 2.0
    migration_lock_timeout_ms: int = 5000
    migration_job_deadline_seconds: float = 900.0
    migration_contract_bake_hours: float = 24.0
    maintenance_variable: str = "MAINTENANCE_MODE"
    maintenance_write_path: str = "/api/v1/intents"
    maintenance_verify_seconds: float = 120.0
    slot_secure_environment: dict[str, str] = dataclasses.field(default_factory=dict)
    # the security drill (shared/config/security_fields.py)
    credential_base_role: str | None = None
    security_tabletop_checklist: tuple[str, ...] = DOCUMENT_TABLETOP

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

    @property
    def registry_server(self) -> str | None:
        """The private registry pulled through the identity: the setting, else IMAGE_REPOSITORY's host."""
        if self.container_registry_server:
            return self.container_registry_server
        first, sep, _ = (self.image_repository or "").partition("/")
        return first.lower() if sep and ("." in first or ":" in first) else None

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
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        problems = [f"{k}: unknown setting" for k in data if k not in fields]
        problems += [f"{k}: missing" for k in sorted(required - set(data))]
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
    alert_intake_url: str | None = None
    escalation_targets: str | None = None
    status_page_webhook_url: str | None = None
    pagerduty_webhook_secret: str | None = None

    def __repr__(self) -> str:
        present = [f.name for f in dataclasses.fields(self) if getattr(self, f.name)]
        return f"Secrets(set={present})"
