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
