"""Composition root: the Durable Functions app and the blueprints it serves. Nothing else."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from activities import containers, database, events, metrics, notify, probe, secrets, storage, traffic
from orchestrators import drill, failback, failover, restore, restore_test
from triggers import alerts, http_api, schedules

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

_BLUEPRINTS = (
    http_api,
    alerts,
    schedules,
    failover,
    failback,
    restore,
    restore_test,
    drill,
    database,
    containers,
    traffic,
    secrets,
    metrics,
    storage,
    events,
    notify,
    probe,
)
for module in _BLUEPRINTS:
    app.register_functions(module.bp)
