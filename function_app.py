"""Composition root: the Durable Functions app and the blueprints it serves. Nothing else."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from activities import containers, database, events, metrics, notify, probe, schema, secrets, storage, traffic
from activities import incidents as incident_activities
from activities import long_term as long_term_activities
from activities import long_term_restore as long_term_restore_activities
from orchestrators import (
    alert_verification,
    backup_integrity,
    backup_watch,
    blue_green,
    container_recovery,
    drill,
    failback,
    failover,
    failover_validation,
    health_check_validation,
    lock,
    long_term_backup,
    long_term_proof,
    maintenance,
    migration,
    performance_baseline,
    readiness,
    restore,
    restore_test,
    rollback,
)
from orchestrators import incident as incident_plan
from triggers import (
    alerts,
    calendar_api,
    dashboard_api,
    deploy_api,
    incidents_api,
    long_term,
    migration_api,
    operations_api,
    readiness_api,
    runs_api,
    schedules,
    status_api,
    tabletop_api,
    watchdog,
)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

_BLUEPRINTS = (
    status_api,
    operations_api,
    deploy_api,
    runs_api,
    dashboard_api,
    alerts,
    schedules,
    lock,
    failover,
    failback,
    restore,
    restore_test,
    drill,
    backup_watch,
    blue_green,
    rollback,
    container_recovery,
    database,
    containers,
    traffic,
    secrets,
    metrics,
    storage,
    events,
    notify,
    probe,
    long_term,
    long_term_backup,
    long_term_proof,
    long_term_activities,
    watchdog,
    readiness_api,
    readiness,
    calendar_api,
    tabletop_api,
    alert_verification,
    failover_validation,
    performance_baseline,
    health_check_validation,
    backup_integrity,
    incident_plan,
    incident_activities,
    incidents_api,
    migration_api,
    migration,
    maintenance,
    schema,
    long_term_restore_activities,
)
for module in _BLUEPRINTS:
    app.register_functions(module.bp)
