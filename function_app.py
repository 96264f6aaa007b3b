"""Composition root: the Durable Functions app and the blueprints it serves. Nothing else."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from activities import containers, database, events, metrics, notify, probe, schema, secrets, storage, traffic
from orchestrators import (
    backup_watch,
    blue_green,
    container_recovery,
    drill,
    failback,
    failover,
    lock,
    maintenance,
    migration,
    restore,
    restore_test,
    rollback,
)
from triggers import (
    alerts,
    dashboard_api,
    deploy_api,
    migration_api,
    operations_api,
    runs_api,
    schedules,
    status_api,
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
    migration_api,
    migration,
    maintenance,
    schema,
)
for module in _BLUEPRINTS:
    app.register_functions(module.bp)
