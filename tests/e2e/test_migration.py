"""Migrations end to end on devhost + sandbox, one estate: a breaking migration with maintenance mode
verified from outside (a writer through the public endpoint sees 503 while reads work), a drain that
terminates only the application role's sessions (the administrator's stays), the version verified; a
failing migration that leaves maintenance on and pages with the restore body, then POST /api/maintenance
as the way out; and an expand blocked by a held lock that times out cleanly (PGOPTIONS lock_timeout)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.support.deploy_e2e import MIGRATION, Writer, finish
from tests.support.e2e import RESTORE_DEADLINE, Estate, EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]


def migrate(estate: Estate, tag: str, target: int, klass: str = "breaking") -> dict[str, Any]:
    body = {"image": tag, "reason": f"schema {target}", "target_version": target, "class": klass}
    return finish(estate, estate.start("/api/migrations", body))


def alive(conn: psycopg.Connection[Any]) -> bool:
    try:
        conn.execute("select 1")
        return True
    except psycopg.Error:
        return False


def test_breaking_failing_and_lock_bound_migrations(estate_factory: EstateFactory) -> None:
    estate = estate_factory(**MIGRATION)
    refused = migrate(estate, "migrate-2", 2)
    assert refused["status"] == "refused" and "not an anchor" in refused["summary"]  # no restore test yet
    tested = estate.start("/api/drills", {"scenario": "restore", "reason": "anchor for the migrations"})
    assert estate.wait_done(tested, RESTORE_DEADLINE)["output"]["status"] == "succeeded"

    bad = estate.api("POST", "/api/migrations", {"image": "migrate-2", "reason": "x", "target_version": "2"})
    assert bad.status_code == 400 and bad.json()["field"] == "target_version"

    primary = estate.sandbox.endpoints["server_ports"]
    app = psycopg.connect(estate.database_url("qlp-db-uksouth"), autocommit=True)  # a pooled app session
    base, _, tail = str(estate.endpoints["database_admin_url"]).rpartition("@")
    admin = psycopg.connect(f"{base}@127.0.0.1:{primary['qlp-db-uksouth']}/{tail.split('/', 1)[1]}")
    writer = Writer(estate)
    try:
        out = migrate(estate, "migrate-2", 2)
    finally:
        writer.stop()
    assert out["status"] == "succeeded", out["summary"]
    m = out["measurements"]
    assert (m["schema_version_before"], m["schema_version_after"], m["job_exit_code"]) == (1, 2, 0)
    assert m["drain_terminated"] >= 1 and m["drain_sessions_after"] == 0 and m["drain_role"] == "qlp_app"
    assert not alive(app) and alive(admin)  # only the application role's session was terminated
    assert m["write_unavailable_seconds"] > 0
    unavailable = [a for a in writer.answers if a[1] == 503]
    assert unavailable and any(a[2] == 200 for a in unavailable)  # writes refused while reads worked
    assert writer.answers[-1][1] == 201  # and writes work again
    report = estate.report(out["run_id"])
    assert report["anchor"]["backup"] and report["anchor"]["restore_test_run_id"] == tested
    assert report["job"]["exit_code"] == 0 and "schema_version 1 -> 2" in report["job"]["logs"]

    failed = migrate(estate, "migrate-3-fail", 3)
    assert failed["status"] == "failed" and "maintenance mode stays on" in failed["summary"]
    assert estate.public("POST", "/api/v1/intents", json={"user_input": "x"}).status_code == 503
    report = estate.report(failed["run_id"])
    assert report["restore"]["restore_point"] == report["anchor"]["backup_at"]
    assert report["job"]["exit_code"] == 1
    assert any(n.get("page") and n.get("run_id") == failed["run_id"] for n in estate.receiver.messages())
    way_out = finish(
        estate, estate.start("/api/maintenance", {"enabled": False, "reason": "after the failure"})
    )
    assert way_out["status"] == "succeeded", way_out["summary"]
    assert estate.public("POST", "/api/v1/intents", json={"user_input": "x"}).status_code == 201

    holder = psycopg.connect(estate.database_url("qlp-db-uksouth"))
    holder.execute("lock table schema_version in share mode")  # reads go on; the migration waits
    try:
        locked = migrate(estate, "migrate-3", 3, klass="expand")
    finally:
        holder.close()
    assert locked["status"] == "failed" and "exited with 1" in locked["summary"], locked["summary"]
    assert "lock timeout" in estate.report(locked["run_id"])["job"]["logs"]
    app.close()
    admin.close()
