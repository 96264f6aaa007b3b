"""Every function name of the app, defined once.

Naming scheme (one, kept everywhere):
- HTTP triggers:      ``http_<what>``
- timer triggers:     ``timer_<what>``
- Event Grid:         ``eventgrid_<what>``
- orchestrators:      ``<plan>_orchestrator``
- activities:         ``<service>_<verb>_<object>`` where service is one of
                      database, containers, traffic, secrets, metrics, storage, events, notify, probe.

Activities take and return plain JSON (dicts); their contracts are documented on the activity
functions in activities/. Orchestrators refer to activities only through these constants.
"""

from __future__ import annotations

# ---- HTTP -------------------------------------------------------------------------------------------
HTTP_HEALTH = "http_health"

# ---- orchestrators ----------------------------------------------------------------------------------
FAILOVER_ORCHESTRATOR = "failover_orchestrator"
FAILBACK_ORCHESTRATOR = "failback_orchestrator"
RESTORE_ORCHESTRATOR = "restore_orchestrator"
RESTORE_TEST_ORCHESTRATOR = "restore_test_orchestrator"
DRILL_ORCHESTRATOR = "drill_orchestrator"
BLUE_GREEN_ORCHESTRATOR = "blue_green_orchestrator"
ROLLBACK_ORCHESTRATOR = "rollback_orchestrator"
MIGRATION_ORCHESTRATOR = "migration_orchestrator"
CONTAINER_RECOVERY_ORCHESTRATOR = "container_recovery_orchestrator"
LOCK_ORCHESTRATOR = "lock_orchestrator"  # holds the app's lock while one run runs (orchestrators/lock.py)

# ---- activities -------------------------------------------------------------------------------------
# Each comment: input keys -> output keys. Optional inputs in [brackets]. Every activity takes and returns
# one JSON dict, is idempotent, and raises TransientError / PreconditionFailed / PermanentError (shared/
# errors.py) whose message starts with "transient:", "precondition:" or "permanent:". "resource_group",
# when omitted, defaults from settings (the replica server and standby group live in the secondary group,
# everything else in the primary). Resources created by Continuity carry tags created-by=continuity and
# continuity-run=<run_id>.

# database (PostgreSQL flexible servers)
# {server, [resource_group]} -> {name, resource_group, exists, state, role: primary|replica|standalone,
#   replication_role, replication_state, source_server, fqdn, location, tags, created_by_continuity,
#   earliest_restore_point, backup_retention_days, geo_redundant_backup, version, writer_endpoint}
#   (writer_endpoint: where its virtual endpoint pair's writer answers, when it is that pair's writer)
DATABASE_GET_SERVER = "database_get_server"
# {server, [resource_group]} -> {server, backups: [{name, type, completed_at}], latest_completed_at,
#   latest_age_seconds, earliest_restore_point, backup_retention_days, geo_redundant_backup}
DATABASE_LIST_BACKUPS = "database_list_backups"
# {server, [resource_group], [name]} -> {server, name, completed_at, created}   (on-demand backup)
DATABASE_CREATE_BACKUP = "database_create_backup"
# {[resource_group], [created_by_continuity: bool]} -> {resource_group, servers: [snapshot as from
#   DATABASE_GET_SERVER]}   (created_by_continuity: only servers tagged created-by=continuity)
DATABASE_LIST_SERVERS = "database_list_servers"
# {server, [resource_group]} -> {server, replicas: [{name, resource_group, location, state,
#   replication_state, fqdn}]}
DATABASE_LIST_REPLICAS = "database_list_replicas"
# {server (the replica), [resource_group]} -> {server, lag_seconds: float|None, source: metric|database|
#   unavailable, measured_at}
DATABASE_GET_REPLICATION_LAG = "database_get_replication_lag"
# {server, [resource_group]} -> {server, in_recovery, lsn (a primary's current, a replica's replayed),
#   receive_lsn, measured_at}   (exact comparison of a primary and its replica)
DATABASE_GET_WAL_POSITION = "database_get_wal_position"
# {server (the primary), replica, [resource_group]} -> {server, name, members, writer_target,
#   reader_target, writer_host, reader_host, changed, message}   (the pair a switchover needs)
DATABASE_ENSURE_VIRTUAL_ENDPOINT = "database_ensure_virtual_endpoint"
# {server (the replica), mode: planned|forced, [operation: standalone|switchover], [resource_group]}
#   -> {server, promoted, already_primary, mode, operation, role, message}
DATABASE_PROMOTE_REPLICA = "database_promote_replica"
# {source, target, run_id, [location], [resource_group], [source_resource_group]}
#   -> {server, created, state, fqdn, location, message}
DATABASE_CREATE_REPLICA = "database_create_replica"
# {source, target, point_in_time (ISO 8601), run_id, [geo: bool], [location], [resource_group],
#   [source_resource_group]} -> {server, created, state, fqdn, point_in_time, message}
DATABASE_RESTORE_SERVER = "database_restore_server"
# {server, [resource_group]} -> {server, state, changed, message}
DATABASE_START_SERVER = "database_start_server"
# {server, [resource_group]} -> {server, state, changed, message}   (fencing: stops, never deletes)
DATABASE_STOP_SERVER = "database_stop_server"
# {server, [resource_group]} -> {server, deleted, already_gone, message}
#   refuses (precondition:) servers not tagged created-by=continuity
DATABASE_DELETE_SERVER = "database_delete_server"
# {server, [resource_group], [checks: {critical_tables: [..], sentinels_present: [..],
#   sentinels_absent: [..], sql: [{name, sql}]}]} -> {server, passed, counts: {table: n},
#   checks: [{name, passed, detail}]}   (defaults from settings; SQL assertion passes when its first
#   column of its first row is true)
DATABASE_RUN_CHECKS = "database_run_checks"
# {name, [server], [resource_group]} -> {server, name, written_at, created}   (server defaults to primary)
DATABASE_WRITE_SENTINEL = "database_write_sentinel"

# containers (Azure Container Instances)
# {group, image, run_id, [environment: {k: v}], [secure_environment: {k: Key Vault secret name}], [port],
#   [cpu], [memory_gb], [restart_policy], [location], [resource_group], [command: [..]], [allow_recreate]}
#   -> {group, created, changed, recreated, state, address, url}   (a change ACI cannot make in place
#   re-creates the group; never the live slot; precondition otherwise)
# or {group, image, run_id, like, [like_resource_group], [allow_recreate]}: ``image`` with the spec of
#   group ``like`` (read only; refused when it has secure values) -> {..., spec}
CONTAINERS_ENSURE_GROUP = "containers_ensure_group"
# {group, [resource_group]} -> {group, state, changed, address, url, message}
CONTAINERS_START_GROUP = "containers_start_group"
# {group, [resource_group]} -> {group, state, changed, message}
CONTAINERS_STOP_GROUP = "containers_stop_group"
# {group, [resource_group]} -> {group, state, changed, address, url, message}   (always restarts)
CONTAINERS_RESTART_GROUP = "containers_restart_group"
# {group, [resource_group], [spec: bool]} -> {group, exists, state, provisioning_state, image, address, url,
#   restart_count, containers: [{name, state, exit_code, restart_count}], tags, created_by_continuity,
#   [spec: {container, image, cpu, memory_gb, port, environment, secure_environment, command,
#   restart_policy, os_type, identity}]}
CONTAINERS_GET_GROUP = "containers_get_group"
# {group, [container], [tail], [resource_group]} -> {group, container, logs}
CONTAINERS_GET_LOGS = "containers_get_logs"
# {group, [resource_group]} -> {group, deleted, already_gone, message}
#   refuses (precondition:) groups not tagged created-by=continuity
CONTAINERS_DELETE_GROUP = "containers_delete_group"
# {group, image, run_id, [command], [environment], [timeout_seconds], [resource_group], [location]}
#   -> {group, exit_code, succeeded, logs, state}   (runs to completion; restart policy Never)

# traffic (Front Door Standard/Premium or classic, chosen by settings; "origin group" = backend pool)
# {} -> {kind, route, origin_group, endpoint_url, deployment_status}
TRAFFIC_GET_ROUTE = "traffic_get_route"
# {origin_group} -> {origin_group, probe_path, probe_protocol, origins: [{name, host, port, enabled,
#   priority, weight, healthy, [probe: {url, status, latency_ms, error}]}], healthy: [names],
#   healthy_count}   (probe_path / probe_protocol: the group's health probe settings as Azure reports
#   them, None when not set; healthy = enabled and answering that probe path 2xx, probed from here)
TRAFFIC_LIST_HEALTHY_ORIGINS = "traffic_list_healthy_origins"
# {origin_group} -> {route, origin_group, previous_origin_group, changed, message}
TRAFFIC_SWITCH_ROUTE = "traffic_switch_route"
# {origin_group, origin, enabled: bool} -> {origin_group, origin, enabled, changed}
TRAFFIC_SET_ORIGIN_STATE = "traffic_set_origin_state"
# {tag, url, [pattern: "/drill/*"]} -> {origin_group, origin, route, pattern, target, created, supported,
#   [reason], message}   (drill-only, named from tag; classic: supported false with the reason, no change)
TRAFFIC_CREATE_DRILL_PATH = "traffic_create_drill_path"
# {tag} -> {origin_group, origin, route, deleted, already_gone, remaining, gone, supported, message}
TRAFFIC_DELETE_DRILL_PATH = "traffic_delete_drill_path"

# secrets (Key Vault; the database URL never leaves the activity)
# {server, [resource_group], [secret_name], [endpoint: server|writer]} -> {secret, host, changed, version,
#   message}   (writer: the server's virtual endpoint writer, which follows switchovers; same host
#   twice: no new version; secret_name defaults to the production secret, another one is written from it)
SECRETS_POINT_DATABASE_URL = "secrets_point_database_url"
# {} -> {secret, host, database, user, version}   (where the secret points, as whom; never the password)
SECRETS_GET_DATABASE_HOST = "secrets_get_database_host"
# {secret_name} -> {secret, cleared, changed}   (empty value; refuses the production secret)
SECRETS_CLEAR = "secrets_clear"
# {server, role, base, [resource_group]} -> {secret, user, version, retired_versions, role, base, created,
#   message}   (role logs in with a new password, which the secret now holds; as the administrator, whose
#   password is reset through ARM for it: shared/azure/credentials.py; never a password)
SECRETS_ROTATE_CREDENTIAL = "secrets_rotate_credential"
# {server, role, [resource_group]} -> {role, can_login, sessions, terminated, after, others, message}
#   (NOLOGIN and its sessions terminated; refuses the secret's own user, the administrator and Azure's roles)
SECRETS_REVOKE_CREDENTIAL = "secrets_revoke_credential"

# metrics (Azure Monitor)
# {target: frontdoor|container_group|server, [name], [resource_group], [minutes], [baseline_minutes]}
#   -> {target, resource_id, window: {start, end, cpu_percent, error_5xx_percent, latency_ms,
#   request_count}, baseline: {same keys} | None}   (a metric with no data is None)
METRICS_GET_WINDOW = "metrics_get_window"

# storage (blob reports container)
# {run_id, report: {..}, [kind], [retain_years]} -> {json_blob, markdown_blob, url, retain_until}
#   (Markdown rendered by the activity; a report whose run ended is never overwritten: precondition)
STORAGE_WRITE_REPORT = "storage_write_report"
# {run_id, event: {..}} -> {blob, appended}
STORAGE_APPEND_EVENT = "storage_append_event"
# {run_id} -> {run_id, found, report, events: [..]}
STORAGE_READ_REPORT = "storage_read_report"
# {name, state: {..}} -> {name, blob}   (a timer's working state, replaced at every tick)
STORAGE_WRITE_STATE = "storage_write_state"
# {name} -> {name, found, state}
STORAGE_READ_STATE = "storage_read_state"
# {log, entry: {id, ..}} -> {log, blob, appended}   (durable append-only log, e.g. releases-<app>;
#   an entry whose id is already there is not appended again)
STORAGE_APPEND_LOG = "storage_append_log"
# {log} -> {log, entries: [..]}   (oldest first; none when never written)
STORAGE_READ_LOG = "storage_read_log"
# {} -> {available, last_sync_time, status, reason}   (available false where there is no secondary)
STORAGE_GET_GEO_SYNC = "storage_get_geo_sync"

# events (Event Grid topic, CloudEvents)
# {type, subject, data: {..}, [id]} -> {published, id, reason}   (published false when no topic is set)
EVENTS_PUBLISH = "events_publish"

# notify (Slack, Teams, PagerDuty Events v2, generic webhook; one message shape)
# {title, text, [severity: info|warning|error|critical], [event], [run_id], [dedup_key],
#   [action: trigger|acknowledge|resolve], [fields: {k: v}], [link], [page: bool]} -> {sent: [targets],
#   failed: [{target, error}], skipped: [targets]}   (PagerDuty only when page, acknowledge or resolve)
NOTIFY_SEND = "notify_send"

# probe (HTTP)
# {url, [method], [json], [expect_status (0: any 2xx)], [body_contains], [expect_json: {field: value|"*"}],
#   [fields: [..]], [timeout_seconds]} -> {url, ok, status, latency_ms, body_matched, error, [values]}
#   (never raises for an unhealthy target: ok=false with the reason)
PROBE_HTTP = "probe_http"
# {url, requests, concurrency, [timeout_seconds]} -> {url, count, answered, errors, error_rate (%),
#   average_ms, p50_ms, p95_ms, p99_ms, max_ms, statuses: {code: n}, error_samples}   (errors: no answer
#   or 5xx)
PROBE_BURST = "probe_burst"

# ---- backups, restore, restore tests, drills --------------------------------------------------------
BACKUP_WATCH_ORCHESTRATOR = "backup_watch_orchestrator"
TIMER_BACKUP_WATCH = "timer_backup_watch"
TIMER_RESTORE_TEST = "timer_restore_test"
TIMER_DRILL = "timer_drill"
HTTP_RESTORE = "http_restore"
HTTP_DRILLS = "http_drills"
HTTP_DRILL_TABLETOP = "http_drill_tabletop"  # triggers/tabletop_api.py: read the security drill's tabletop
HTTP_DRILL_TABLETOP_ANSWER = "http_drill_tabletop_answer"  # and answer its checklist

# ---- failover and failback intake and operator API (triggers/alerts.py, triggers/http_api.py) ----------
HTTP_ALERTS = "http_alerts"
EVENTGRID_ALERTS = "eventgrid_alerts"
TIMER_HEALTH_BACKSTOP = "timer_health_backstop"
HTTP_FAILOVER = "http_failover"
HTTP_FAILBACK = "http_failback"
HTTP_RUNS = "http_runs"
HTTP_RUN = "http_run"
HTTP_RUN_ACTION = "http_run_action"
HTTP_RUN_REPORT = "http_run_report"
HTTP_OPENAPI = "http_openapi"
HTTP_DASHBOARD = "http_dashboard"
HTTP_DASHBOARD_ASSET = "http_dashboard_asset"
HTTP_STATUS = "http_status"

# ---- deployments (triggers/deploy_api.py) ---------------------------------------------------------------
HTTP_DEPLOYMENTS = "http_deployments"
HTTP_ROLLBACK = "http_rollback"
HTTP_RELEASES = "http_releases"

# ---- long-term backups (orchestrators/long_term_backup.py, activities/long_term.py) ---------------------
LTR_BACKUP_ORCHESTRATOR = "ltr_backup_orchestrator"
TIMER_LTR_BACKUP = "timer_ltr_backup"
# {server, [resource_group], backup_name} -> {server, number_of_containers, message}   (Azure's ltrPreBackup)
LTR_PRE_BACKUP = "ltr_pre_backup"
# {server, [resource_group], backup_name, [number_of_containers]} -> {server, backup_name, container,
#   message}   (a user delegation SAS made and used inside the activity, never returned; a backup of
#   that name already started is success)
LTR_START_BACKUP = "ltr_start_backup"
# {server, [resource_group], backup_name} -> {found, backup_name, status: Running|Succeeded|Failed|Cancelled,
#   percent_complete, datasource_size_bytes, data_transferred_bytes, started_at, ended_at, error_code,
#   error_message}
LTR_GET_OPERATION = "ltr_get_operation"
# {[prefix]} -> {container, blobs: [{name, size, md5, created_at}]}   (the long-term container)
LTR_LIST_BLOBS = "ltr_list_blobs"
# {blobs: [{name, size, md5}], [tables]} -> {container, checks: [{name, passed, detail}], passed}   (read
#   back in full; with tables, each .dump blob is also checked to be a pg_dump archive naming them)
LTR_VERIFY_BLOBS = "ltr_verify_blobs"
# {} -> {account, replication, versioning, delete_retention_days, container, immutability,
#   immutability_days, immutability_state}   (the storage management API's view of the backup account)
STORAGE_GET_PROTECTION = "storage_get_protection"
LTR_PROOF_ORCHESTRATOR = "ltr_proof_orchestrator"
TIMER_LTR_PROOF = "timer_ltr_proof"
# ---- the stuck-run watchdog (triggers/watchdog.py) ----------------------------------------------------
TIMER_STUCK_RUNS = "timer_stuck_runs"
# ---- readiness, recovery tiers (orchestrators/readiness.py, triggers/readiness_api.py) -------------------
# {} -> {region: str|None, reported}   (the Functions host's region, REGION_NAME as Azure Functions sets
#   it, normalized to the short name; the task hub's storage account is deployed with it, docs/deploy.md)
STORAGE_GET_TASK_HUB_REGION = "storage_get_task_hub_region"
READINESS_ORCHESTRATOR = "readiness_orchestrator"
TIMER_READINESS = "timer_readiness"
HTTP_READINESS = "http_readiness"

# ---- the DR test calendar (its checks' orchestrators/*.py, triggers/calendar_api.py) -------------------
# {run_id, target (a resource id)} -> {url (no query), ok, status, values: {status, reason, would_act,
#   notified_targets, notify_failures}, alert_id, error}   (a practice alert through the app's own intake)
PROBE_SEND_SYNTHETIC_ALERT = "probe_send_synthetic_alert"
ALERT_VERIFICATION_ORCHESTRATOR = "alert_verification_orchestrator"
TIMER_ALERT_VERIFICATION = "timer_alert_verification"
FAILOVER_VALIDATION_ORCHESTRATOR = "failover_validation_orchestrator"
TIMER_FAILOVER_VALIDATION = "timer_failover_validation"
PERFORMANCE_BASELINE_ORCHESTRATOR = "performance_baseline_orchestrator"
TIMER_PERFORMANCE_BASELINE = "timer_performance_baseline"
HEALTH_CHECK_VALIDATION_ORCHESTRATOR = "health_check_validation_orchestrator"
TIMER_HEALTH_CHECK_VALIDATION = "timer_health_check_validation"
BACKUP_INTEGRITY_ORCHESTRATOR = "backup_integrity_orchestrator"
TIMER_BACKUP_INTEGRITY = "timer_backup_integrity"
HTTP_CALENDAR = "http_calendar"
# ---- incidents (orchestrators/incident.py, activities/incidents.py, triggers/incidents_api.py) ----------
INCIDENT_ORCHESTRATOR = "incident_orchestrator"
# {run_id, operation, reason, [severity: P0-P3 to open one], [settings]} -> {incident_id, severity, opened,
#   linked, message}   (joins the app's open incident, raising it to the run's severity; without one, opens
#   one when a severity is given; incident_id '' otherwise)
INCIDENTS_OPEN = "incidents_open"
# {message: {as NOTIFY_SEND}, audience: default|status|level:<name>, [status_update: {..}]}
#   -> {sent, failed, skipped}   (a level's targets from ESCALATION_TARGETS; status: the status page too)
INCIDENTS_NOTIFY = "incidents_notify"
# {incident: {..}} -> {blob, url, markdown}   (the post-mortem draft from the incident and its runs' reports)
INCIDENTS_WRITE_POSTMORTEM = "incidents_write_postmortem"
HTTP_INCIDENTS = "http_incidents"
HTTP_INCIDENT = "http_incident"
HTTP_INCIDENT_ACTION = "http_incident_action"
HTTP_INCIDENT_POSTMORTEM = "http_incident_postmortem"
HTTP_PAGERDUTY_WEBHOOK = "http_pagerduty_webhook"
# ---- migrations and maintenance mode (orchestrators/migration.py, triggers/migration_api.py) ---------
MAINTENANCE_ORCHESTRATOR = "maintenance_orchestrator"
HTTP_MIGRATIONS = "http_migrations"
HTTP_MAINTENANCE = "http_maintenance"
# {server, [resource_group]} -> {server, schema_version: int|None}   (the configured statement, read-only)
DATABASE_GET_SCHEMA_VERSION = "database_get_schema_version"
# {server, [role], [resource_group], [terminate: bool]} -> {server, role, administrator_login, sessions,
#   others, terminated, after}   (pg_stat_activity: only that role's client sessions, never this one;
#   refuses (precondition:) the server's administrator and Azure's own roles)
DATABASE_DRAIN_SESSIONS = "database_drain_sessions"
# {[operation]} -> {reports: [{run_id, operation, status, started_at, ended_at}]}   (report summaries)
STORAGE_LIST_REPORTS = "storage_list_reports"
# ---- the long-term proof's restore (orchestrators/long_term_restore.py, activities/long_term_restore.py) --
# {target, run_id, [resource_group], [location]} -> {server, created, state, fqdn, location, message}
#   (createMode Default: a new, empty PostgreSQL 15 server; its administrator is the database secret's user,
#   with its password read from Key Vault inside the activity)
DATABASE_CREATE_EMPTY_SERVER = "database_create_empty_server"
# {blob, server, group, run_id, [resource_group], [timeout_seconds]} -> {group, exit_code, succeeded, logs,
#   state, message}   (a job container, restart policy Never, pg_restore of the long-term container's blob
#   into ``server``; the blob's read-only SAS is made here and reaches the job only as a secure value)
LTR_RESTORE_JOB = "ltr_restore_job"
