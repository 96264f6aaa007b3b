"""Activities for PostgreSQL flexible servers: thin, idempotent steps over shared/azure/database.py.

Contracts (input -> output keys) are in shared/names.py. All raise TransientError, PreconditionFailed
or PermanentError (messages prefixed ``transient:``, ``precondition:``, ``permanent:``). ``resource_group``
is optional everywhere and defaults from settings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import azure.durable_functions as df

from activities._params import Params, done
from activities.registry import activity
from shared import names
from shared.azure import runtime
from shared.config import current_settings

bp = df.Blueprint()


def _server(p: Params, key: str = "server") -> tuple[str, str]:
    name = p.text(key)
    rg = p.opt_text("resource_group") if key == "server" else p.opt_text(f"{key}_resource_group")
    return name, rg or current_settings().server_resource_group(name)


@activity(bp, names.DATABASE_GET_SERVER)
def database_get_server(params: dict[str, Any]) -> dict[str, Any]:
    """Snapshot of a server; ``exists: false`` (not an error) when it does not exist."""
    from shared.azure.database import missing_snapshot

    name, rg = _server(Params(names.DATABASE_GET_SERVER, params))
    return runtime.database().find(name, rg) or missing_snapshot(name, rg)


@activity(bp, names.DATABASE_LIST_BACKUPS)
def database_list_backups(params: dict[str, Any]) -> dict[str, Any]:
    """Backups newest first, the latest one's age, earliest restore point, retention, geo-redundancy."""
    name, rg = _server(Params(names.DATABASE_LIST_BACKUPS, params))
    return runtime.database().list_backups(name, rg)


@activity(bp, names.DATABASE_CREATE_BACKUP)
def database_create_backup(params: dict[str, Any]) -> dict[str, Any]:
    """On-demand backup; idempotent per ``name`` (default: one per server per minute)."""
    p = Params(names.DATABASE_CREATE_BACKUP, params)
    name, rg = _server(p)
    default = "continuity-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M")
    return done(p.activity, runtime.database().create_backup(name, rg, p.opt_text("name") or default))


@activity(bp, names.DATABASE_LIST_SERVERS)
def database_list_servers(params: dict[str, Any]) -> dict[str, Any]:
    """Snapshots of the servers in a resource group; ``created_by_continuity`` keeps only tagged ones."""
    p = Params(names.DATABASE_LIST_SERVERS, params)
    rg = p.opt_text("resource_group") or current_settings().primary_resource_group
    found = runtime.database().list_servers(rg)
    if p.flag("created_by_continuity"):
        found = [s for s in found if s["created_by_continuity"]]
    return {"resource_group": rg, "servers": found}


@activity(bp, names.DATABASE_LIST_REPLICAS)
def database_list_replicas(params: dict[str, Any]) -> dict[str, Any]:
    name, rg = _server(Params(names.DATABASE_LIST_REPLICAS, params))
    return {"server": name, "replicas": runtime.database().list_replicas(name, rg)}


@activity(bp, names.DATABASE_GET_REPLICATION_LAG)
def database_get_replication_lag(params: dict[str, Any]) -> dict[str, Any]:
    """Replica lag in seconds: the Monitor metric, else measured in the replica, else None (unavailable)."""
    from shared.azure import sql

    name, rg = _server(Params(names.DATABASE_GET_REPLICATION_LAG, params))
    adapter = runtime.database()
    now = dt.datetime.now(dt.UTC).isoformat()
    lag = adapter.metric_lag_seconds(name, rg)
    if lag is not None:
        return {"server": name, "lag_seconds": lag, "source": "metric", "measured_at": now}
    snapshot = adapter.find(name, rg)
    if snapshot and snapshot["fqdn"] and (snapshot["state"] or "").lower() == "ready":
        url = runtime.clients().database_url_secret()
        with sql.connect(url, snapshot["fqdn"], name, "measure replication lag of", read_only=True) as conn:
            return {
                "server": name,
                "lag_seconds": sql.lag_seconds(conn),
                "source": "database",
                "measured_at": now,
            }
    return {"server": name, "lag_seconds": None, "source": "unavailable", "measured_at": now}


@activity(bp, names.DATABASE_GET_WAL_POSITION)
def database_get_wal_position(params: dict[str, Any]) -> dict[str, Any]:
    """A server's WAL position (read-only SQL): a primary's current LSN, a replica's replayed LSN."""
    from shared.azure import sql

    name, rg = _server(Params(names.DATABASE_GET_WAL_POSITION, params))
    fqdn = runtime.database().get(name, rg)["fqdn"]
    url = runtime.clients().database_url_secret()
    with sql.connect(url, fqdn, name, "read the WAL position of", read_only=True) as conn:
        position = sql.wal_position(conn)
    return {"server": name, **position, "measured_at": dt.datetime.now(dt.UTC).isoformat()}


@activity(bp, names.DATABASE_ENSURE_VIRTUAL_ENDPOINT)
def database_ensure_virtual_endpoint(params: dict[str, Any]) -> dict[str, Any]:
    """A virtual endpoint pair on the primary ``server``: writer on it, reader on ``replica`` (what a
    switchover needs); already so is success (``changed: false``)."""
    p = Params(names.DATABASE_ENSURE_VIRTUAL_ENDPOINT, params)
    name, rg = _server(p)
    return done(p.activity, runtime.virtual_endpoints().ensure(name, rg, p.text("replica")))


@activity(bp, names.DATABASE_PROMOTE_REPLICA)
def database_promote_replica(params: dict[str, Any]) -> dict[str, Any]:
    """Promote a replica; an already promoted server is success (``already_primary: true``)."""
    p = Params(names.DATABASE_PROMOTE_REPLICA, params)
    name, rg = _server(p)
    mode = p.choice("mode", ("planned", "forced"))
    operation = p.choice("operation", ("standalone", "switchover"), "standalone")
    return done(p.activity, runtime.database().promote(name, rg, mode=mode, operation=operation))


def _target(p: Params) -> tuple[str, str, str, str, str, str]:
    settings = current_settings()
    source, source_rg = _server(p, "source")
    target = p.text("target")
    rg = p.opt_text("resource_group") or source_rg
    location = p.opt_text("location") or settings.region_of_resource_group(rg)
    return source, source_rg, target, rg, location, p.text("run_id")


@activity(bp, names.DATABASE_CREATE_REPLICA)
def database_create_replica(params: dict[str, Any]) -> dict[str, Any]:
    """Create a read replica ``target`` of ``source``; already created by Continuity is success (both
    once it is Ready; until then ``pending``)."""
    p = Params(names.DATABASE_CREATE_REPLICA, params)
    source, source_rg, target, rg, location, run_id = _target(p)
    result = runtime.database().create_replica(
        source, source_rg, target, rg, location=location, run_id=run_id, wait=p.wait()
    )
    return done(p.activity, result)


@activity(bp, names.DATABASE_RESTORE_SERVER)
def database_restore_server(params: dict[str, Any]) -> dict[str, Any]:
    """Restore ``source`` at ``point_in_time`` into the new server ``target``; never over an existing one
    (``pending`` until the new server is Ready)."""
    p = Params(names.DATABASE_RESTORE_SERVER, params)
    source, source_rg, target, rg, location, run_id = _target(p)
    point = p.text("point_in_time")
    result = runtime.database().restore(
        source,
        source_rg,
        target,
        rg,
        point_in_time=point,
        geo=p.flag("geo"),
        location=location,
        run_id=run_id,
        wait=p.wait(),
    )
    return done(p.activity, result)


@activity(bp, names.DATABASE_START_SERVER)
def database_start_server(params: dict[str, Any]) -> dict[str, Any]:
    """Start a server; already Ready is success; ``pending`` while it is still Starting."""
    p = Params(names.DATABASE_START_SERVER, params)
    return done(p.activity, runtime.database().start(*_server(p), wait=p.wait()))


@activity(bp, names.DATABASE_STOP_SERVER)
def database_stop_server(params: dict[str, Any]) -> dict[str, Any]:
    """Stop (fence) a server; never deletes it. Already stopped is success; ``pending`` while it is still
    Stopping."""
    p = Params(names.DATABASE_STOP_SERVER, params)
    return done(p.activity, runtime.database().stop(*_server(p), wait=p.wait()))


@activity(bp, names.DATABASE_DELETE_SERVER)
def database_delete_server(params: dict[str, Any]) -> dict[str, Any]:
    """Delete a server Continuity created (tagged); already gone is success; others are refused."""
    p = Params(names.DATABASE_DELETE_SERVER, params)
    return done(p.activity, runtime.database().delete(*_server(p)))


def _checks(p: Params) -> dict[str, Any]:
    settings = current_settings()
    given = p.mapping("checks")
    return {
        "critical_tables": given.get("critical_tables", list(settings.critical_tables)),
        "min_counts": given.get("min_counts") or {},
        "sentinels_present": given.get("sentinels_present") or [],
        "sentinels_absent": given.get("sentinels_absent") or [],
        "sql": given.get("sql", [dict(item) for item in settings.verify_sql]),
    }


@activity(bp, names.DATABASE_RUN_CHECKS)
def database_run_checks(params: dict[str, Any]) -> dict[str, Any]:
    """Row counts, sentinels and SQL assertions on a server (read-only). Failed checks are data."""
    from shared.azure import sql

    p = Params(names.DATABASE_RUN_CHECKS, params)
    name, rg = _server(p)
    checks = _checks(p)
    fqdn = runtime.database().get(name, rg)["fqdn"]
    url = runtime.clients().database_url_secret()
    with sql.connect(url, fqdn, name, "run checks on", read_only=True) as conn:
        result = sql.run_checks(conn, checks, current_settings().sentinel_table)
    failed = [c["name"] for c in result["checks"] if not c["passed"]]
    message = "all checks passed" if not failed else "failed: " + ", ".join(failed)
    return done(p.activity, {"server": name, **result, "message": message})


@activity(bp, names.DATABASE_WRITE_SENTINEL)
def database_write_sentinel(params: dict[str, Any]) -> dict[str, Any]:
    """Insert a sentinel row (default: on the configured primary); an existing one is returned as is."""
    from shared.azure import sql

    p = Params(names.DATABASE_WRITE_SENTINEL, params)
    sentinel = p.text("name")
    name = p.opt_text("server") or current_settings().primary_server
    rg = p.opt_text("resource_group") or current_settings().server_resource_group(name)
    fqdn = runtime.database().get(name, rg)["fqdn"]
    url = runtime.clients().database_url_secret()
    with sql.connect(url, fqdn, name, "write sentinel on", read_only=False) as conn:
        result = sql.write_sentinel(conn, current_settings().sentinel_table, sentinel)
    return done(p.activity, {"server": name, **result})
