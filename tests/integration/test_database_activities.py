"""Database activities against the sandbox's real PostgreSQL servers, through the real flexible-server SDK."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
import pytest

from sandbox.client import SandboxClient
from shared import names
from tests.polling import until
from tests.support.activities import Activity

pytestmark = pytest.mark.sandbox


def _db(sandbox: SandboxClient, server: str | None = None) -> psycopg.Connection:
    url = str(sandbox.endpoints["database_url"])
    if server is not None:
        port = sandbox.endpoints["server_ports"][server]
        url = url.replace(url.split("@", 1)[1].split("/", 1)[0], f"127.0.0.1:{port}")
    return psycopg.connect(url, autocommit=True)


def test_server_snapshots_match_the_estate(act: Activity, sandbox: SandboxClient) -> None:
    ep = sandbox.endpoints
    primary = act(names.DATABASE_GET_SERVER, server=ep["servers"]["primary"])
    replica = act(names.DATABASE_GET_SERVER, server=ep["servers"]["replica"])
    assert (primary["state"], primary["role"], replica["role"]) == ("Ready", "primary", "replica")
    assert primary["fqdn"] == f"127.0.0.1:{ep['server_ports'][ep['servers']['primary']]}"
    assert replica["source_server"] == ep["servers"]["primary"]
    assert replica["resource_group"] == ep["resource_groups"]["secondary"]
    assert primary["earliest_restore_point"] and primary["created_by_continuity"] is False
    missing = act(names.DATABASE_GET_SERVER, server="qlp-db-nowhere")
    assert missing["exists"] is False


def test_backups_replicas_and_lag(act: Activity, sandbox: SandboxClient) -> None:
    primary, replica = sandbox.endpoints["servers"]["primary"], sandbox.endpoints["servers"]["replica"]
    backups = act(names.DATABASE_LIST_BACKUPS, server=primary)
    assert backups["backups"] and backups["latest_completed_at"] == backups["backups"][0]["completed_at"]
    assert 0 <= backups["latest_age_seconds"] < 3600
    replicas = act(names.DATABASE_LIST_REPLICAS, server=primary)["replicas"]
    assert [r["name"] for r in replicas] == [replica] and replicas[0]["replication_state"] == "Active"
    lag = act(names.DATABASE_GET_REPLICATION_LAG, server=replica)
    assert lag["source"] in ("metric", "database") and 0 <= lag["lag_seconds"] < 60


def test_on_demand_backup_twice_is_one_backup(
    act: Activity, sandbox: SandboxClient, cleanup_backups: list[str]
) -> None:
    primary = sandbox.endpoints["servers"]["primary"]
    name = f"pre-deploy-{uuid.uuid4().hex[:8]}"
    cleanup_backups.append(name)
    first = act(names.DATABASE_CREATE_BACKUP, server=primary, name=name)
    second = act(names.DATABASE_CREATE_BACKUP, server=primary, name=name)
    assert (first["created"], second["created"]) == (True, False)
    listed = [b["name"] for b in act(names.DATABASE_LIST_BACKUPS, server=primary)["backups"]]
    assert listed.count(name) == 1


def test_sentinel_and_checks_read_the_real_rows(act: Activity, sandbox: SandboxClient) -> None:
    primary = sandbox.endpoints["servers"]["primary"]
    sentinel = f"it-{uuid.uuid4().hex[:8]}"
    first = act(names.DATABASE_WRITE_SENTINEL, name=sentinel)
    second = act(names.DATABASE_WRITE_SENTINEL, name=sentinel)
    assert (first["created"], second["created"]) == (True, False) and first["written_at"] == second[
        "written_at"
    ]
    with _db(sandbox) as conn:
        intents = conn.execute("select count(*) from intents").fetchone()
        assert conn.execute("select count(*) from sentinels where name = %s", (sentinel,)).fetchone() == (1,)
    checks = {
        "critical_tables": ["intents", "sentinels"],
        "sentinels_present": [sentinel],
        "sentinels_absent": ["never-written"],
        "sql": [{"name": "one schema version", "sql": "select count(*) = 1 from schema_version"}],
    }
    result = act(names.DATABASE_RUN_CHECKS, server=primary, checks=checks)
    assert result["passed"] is True, result
    assert intents is not None and result["counts"]["intents"] == intents[0]
    bad = {
        "critical_tables": [],
        "sentinels_present": ["never-written"],
        "sql": [{"name": "false", "sql": "select false"}],
    }
    failed = act(names.DATABASE_RUN_CHECKS, server=primary, checks=bad)
    assert failed["passed"] is False
    assert [c["name"] for c in failed["checks"] if not c["passed"]] == [
        "sentinel never-written present",
        "false",
    ]


def test_checks_are_read_only(act: Activity, sandbox: SandboxClient) -> None:
    primary = sandbox.endpoints["servers"]["primary"]
    sneaky = {
        "critical_tables": [],
        "sql": [{"name": "write", "sql": "delete from sentinels returning true"}],
    }
    result = act(names.DATABASE_RUN_CHECKS, server=primary, checks=sneaky)
    assert result["passed"] is False and "read-only" in result["checks"][0]["detail"]


def test_deleting_a_server_continuity_did_not_create_is_refused(
    act: Activity, sandbox: SandboxClient
) -> None:
    primary = sandbox.endpoints["servers"]["primary"]
    with pytest.raises(Exception, match=rf"^precondition: delete server {primary}: refused"):
        act(names.DATABASE_DELETE_SERVER, server=primary)
    assert act(names.DATABASE_GET_SERVER, server=primary)["state"] == "Ready"
    gone = act(names.DATABASE_DELETE_SERVER, server="qlp-db-never-existed")
    assert (gone["deleted"], gone["already_gone"]) == (False, True)


def test_restore_check_stop_start_delete_a_scratch_server(act: Activity, sandbox: SandboxClient) -> None:
    """Point-in-time restore into a new server holds the rows from before the point and not after."""
    primary = sandbox.endpoints["servers"]["primary"]
    before, after = f"before-{uuid.uuid4().hex[:6]}", f"after-{uuid.uuid4().hex[:6]}"
    act(names.DATABASE_WRITE_SENTINEL, name=before)
    with _db(sandbox) as conn:
        point = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
    act(names.DATABASE_WRITE_SENTINEL, name=after)
    target = f"qlp-db-it-{uuid.uuid4().hex[:6]}"
    run_id = f"it-restore-{target}"
    params = {
        "source": primary,
        "target": target,
        "point_in_time": point.astimezone(dt.UTC).isoformat(),
        "run_id": run_id,
    }
    try:
        first = act(names.DATABASE_RESTORE_SERVER, **params)
        again = act(names.DATABASE_RESTORE_SERVER, **params)
        assert (first["created"], again["created"]) == (True, False) and first["state"] == "Ready"
        snapshot = act(names.DATABASE_GET_SERVER, server=target)
        assert snapshot["created_by_continuity"] and snapshot["tags"]["continuity-run"] == run_id
        checks = {"critical_tables": ["intents"], "sentinels_present": [before], "sentinels_absent": [after]}
        assert act(names.DATABASE_RUN_CHECKS, server=target, checks=checks)["passed"] is True
        stopped = [act(names.DATABASE_STOP_SERVER, server=target) for _ in range(2)]
        assert [s["changed"] for s in stopped] == [True, False] and stopped[1]["state"] == "Stopped"
        # a call finding its server not Ready waits its budget (here none), then answers pending
        waiting = act(names.DATABASE_RESTORE_SERVER, **params, wait_seconds=0)
        assert (waiting["pending"], waiting["state"], waiting["created"]) == (True, "Stopped", False)
        assert "still Stopped after 0 s; call again" in waiting["message"]
        started = [act(names.DATABASE_START_SERVER, server=target) for _ in range(2)]
        assert [s["changed"] for s in started] == [True, False] and started[1]["state"] == "Ready"
        ready = act(names.DATABASE_RESTORE_SERVER, **params)
        assert "pending" not in ready and ready["state"] == "Ready" and not ready["created"]
    finally:
        deleted = act(names.DATABASE_DELETE_SERVER, server=target)
    assert deleted["deleted"] is True
    assert act(names.DATABASE_DELETE_SERVER, server=target)["already_gone"] is True
    assert act(names.DATABASE_GET_SERVER, server=target)["exists"] is False


def test_restore_refuses_to_overwrite_an_existing_server(act: Activity, sandbox: SandboxClient) -> None:
    primary, replica = sandbox.endpoints["servers"]["primary"], sandbox.endpoints["servers"]["replica"]
    now = dt.datetime.now(dt.UTC).isoformat()
    with pytest.raises(
        Exception, match=rf"^precondition: restore server {primary}: the target must be a new"
    ):
        act(names.DATABASE_RESTORE_SERVER, source=primary, target=primary, point_in_time=now, run_id="r")
    with pytest.raises(
        Exception, match=rf"^precondition: restore server {replica}: a server of that name exists"
    ):
        act(
            names.DATABASE_RESTORE_SERVER,
            source=primary,
            target=replica,
            point_in_time=now,
            run_id="r",
            resource_group=sandbox.endpoints["resource_groups"]["secondary"],
        )


def test_a_permanent_error_names_operation_and_resource(act: Activity) -> None:
    with pytest.raises(
        Exception, match=r"^permanent: get server qlp-db-nowhere: not found in resource group"
    ):
        act(names.DATABASE_PROMOTE_REPLICA, server="qlp-db-nowhere", mode="planned")
    with pytest.raises(
        Exception, match=r"^permanent: validate input of database_promote_replica: mode: must be"
    ):
        act(names.DATABASE_PROMOTE_REPLICA, server="x", mode="sideways")


def test_geo_restore_lands_in_the_dr_region(act: Activity, sandbox: SandboxClient) -> None:
    ep = sandbox.endpoints
    primary, dr_group = ep["servers"]["primary"], ep["resource_groups"]["secondary"]
    target = f"qlp-db-geo-{uuid.uuid4().hex[:6]}"
    point = dt.datetime.now(dt.UTC).isoformat()
    params = {"source": primary, "target": target, "point_in_time": point, "run_id": "it-geo", "geo": True}
    try:
        restored = act(names.DATABASE_RESTORE_SERVER, **params, resource_group=dr_group)
        assert (restored["created"], restored["location"], restored["state"]) == (
            True,
            ep["regions"]["secondary"],
            "Ready",
        )
        assert act(names.DATABASE_RUN_CHECKS, server=target, resource_group=dr_group)["passed"] is True
    finally:
        act(names.DATABASE_DELETE_SERVER, server=target, resource_group=dr_group)
    assert act(names.DATABASE_GET_SERVER, server=target, resource_group=dr_group)["exists"] is False


def test_replication_lag_grows_while_replay_is_paused(act: Activity, sandbox: SandboxClient) -> None:
    replica = sandbox.endpoints["servers"]["replica"]
    sandbox.fault("replication-lag", seconds=120)
    try:
        seen: list[dict[str, Any]] = [{}]

        def lagging() -> bool:
            with _db(sandbox) as conn:
                conn.execute("insert into sentinels (name) values (%s)", (f"lag-{uuid.uuid4().hex[:8]}",))
            seen[0] = act(names.DATABASE_GET_REPLICATION_LAG, server=replica)
            return (seen[0]["lag_seconds"] or 0) >= 2

        until(lagging, lambda: f"the replica reports 2 s of lag: {seen[0]}", timeout=45, interval=0.5)
    finally:
        sandbox.fault("clear")
    # Monitor reports the maximum of each minute, so the clearing is not awaited here.
