"""The migration plan driven with fakes: the anchor, maintenance verified from outside, the drain, the
job with its deadline and exit code, the version verified, the failure path (maintenance stays on, a
page, the restore body), the classes (expand online, contract's refusals) and maintenance's own plan."""

from __future__ import annotations

import json
from typing import Any

from shared import names
from tests.support.deploy_estate import GROUPS, image, released
from tests.support.durable import drive, orchestrator
from tests.support.migration_estate import MigrationEstate, migration_input, migration_settings

MIGRATION = orchestrator(names.MIGRATION_ORCHESTRATOR)
MAINTENANCE = orchestrator(names.MAINTENANCE_ORCHESTRATOR)


def migrate(estate: MigrationEstate, *args: Any, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    ctx = estate.context(migration_input(*args, **kwargs))
    return drive(MIGRATION, ctx), ctx


def test_a_breaking_migration_runs_in_maintenance_verified_from_outside_and_drained() -> None:
    estate = MigrationEstate(sessions=9)
    estate.lingering = True
    out, ctx = migrate(estate)
    assert out["status"] == "succeeded", out["summary"]
    assert out["summary"].endswith("schema 3 -> 4")
    ensured = [p for p in ctx.payloads(names.CONTAINERS_ENSURE_GROUP) if p["group"] == GROUPS["blue"]]
    assert [p["environment"]["MAINTENANCE_MODE"] for p in ensured] == ["true", "false"]
    assert ensured[0]["environment"]["MODE"] == "prod" and ensured[0]["image"] == image("1.0.0")
    assert estate.maintenance[GROUPS["blue"]] == "false"
    job = next(p for p in ctx.payloads(names.CONTAINERS_ENSURE_GROUP) if "migrate" in p["group"])
    assert job["restart_policy"] == "Never" and job["environment"] == {"PGOPTIONS": "-c lock_timeout=5000"}
    m = out["measurements"]
    assert (m["drain_sessions_before"], m["drain_terminated"], m["drain_sessions_after"]) == (9, 9, 0)
    assert m["schema_version_after"] == 4 and m["job_exit_code"] == 0
    assert m["write_unavailable_seconds"] > 0
    assert m["maintenance_on_verified_at"] and m["maintenance_off_verified_at"]
    report = ctx.last_report()
    assert report["anchor"]["restore_test_run_id"] == "restore-test-1" and report["anchor"]["backup"]
    assert report["anchor"]["schema_version_before"] == 3
    event = estate.logs["releases-qlp"][-1]
    assert (event["kind"], event["class"], event["schema_version"], event["from_schema_version"]) == (
        "migration",
        "breaking",
        4,
        3,
    )
    assert job["group"] in estate.deleted  # the job group is Continuity's: deleted, verified gone


def test_a_drain_that_empties_before_the_deadline_terminates_nothing() -> None:
    estate = MigrationEstate(sessions=2)
    out, ctx = migrate(estate)
    assert out["status"] == "succeeded"
    assert out["measurements"]["drain_terminated"] == 0
    assert not [p for p in ctx.payloads(names.DATABASE_DRAIN_SESSIONS) if p.get("terminate")]


def test_a_failing_job_leaves_maintenance_on_and_pages_with_the_logs_and_the_restore_body() -> None:
    estate = MigrationEstate()
    out, ctx = migrate(estate, "migrate-4-fail")
    assert out["status"] == "failed"
    assert estate.maintenance[GROUPS["blue"]] == "true"  # stays on
    assert "maintenance mode stays on" in out["summary"]
    report = ctx.last_report()
    body = report["restore"]
    assert body == {
        "restore_point": report["anchor"]["backup_at"],
        "reason": f"return to the anchor of migration {out['run_id']}",
        "switch": True,
    }
    assert json.dumps(body) in out["summary"]
    assert report["job"]["exit_code"] == 1 and "migration" in report["job"]["logs"]
    assert ctx.notifications[-1]["page"] is True
    assert estate.logs["releases-qlp"][-1]["outcome"] == "failed"


def test_a_job_past_its_deadline_is_stopped_and_the_run_fails_cleanly() -> None:
    estate = MigrationEstate()
    out, ctx = migrate(
        estate, "migrate-4-hang", settings=migration_settings(migration_job_deadline_seconds="6")
    )
    assert out["status"] == "failed" and "did not exit within 6 s" in out["summary"]
    assert any("migrate" in p["group"] for p in ctx.payloads(names.CONTAINERS_STOP_GROUP))
    assert estate.maintenance[GROUPS["blue"]] == "true"


def test_a_version_that_is_not_the_target_fails_the_run() -> None:
    out, _ = migrate(MigrationEstate(), "migrate-4-wrong")
    assert out["status"] == "failed" and "the schema version is 3, not the target 4" in out["summary"]


def test_no_recent_restore_test_refuses_before_anything_changes() -> None:
    estate = MigrationEstate()
    estate.restore_tests = []
    out, ctx = migrate(estate)
    assert out["status"] == "refused" and "not an anchor" in out["summary"]
    assert ctx.payloads(names.CONTAINERS_ENSURE_GROUP) == [] and estate.backups_taken == 0


def test_an_expand_runs_online_without_maintenance_or_drain() -> None:
    estate = MigrationEstate()
    out, ctx = migrate(estate, klass="expand")
    assert out["status"] == "succeeded"
    assert [
        p["group"] for p in ctx.payloads(names.CONTAINERS_ENSURE_GROUP) if "migrate" not in p["group"]
    ] == []
    assert ctx.payloads(names.DATABASE_DRAIN_SESSIONS) == []


def test_contract_is_refused_while_the_old_slot_is_warm_and_within_the_bake_time() -> None:
    estate = MigrationEstate(live="green", live_image="1.1.0", idle_image="1.0.0")
    estate.groups[GROUPS["blue"]]["state"] = "Running"  # the old slot is kept warm
    estate.history(
        released("deploy", "1.0.0", slot="blue"),
        {**released("migration", "migrate-4"), "class": "expand", "schema_version": 4},
        released("deploy", "1.1.0", slot="green", previous_image="1.0.0"),
    )
    out, _ = migrate(estate, "migrate-5", klass="contract", target=5)
    assert out["status"] == "refused" and "idle runs" in out["summary"], out["summary"]
    estate.groups[GROUPS["blue"]]["state"] = "Stopped"
    estate.groups[GROUPS["standby"]]["image"] = image("1.1.0")
    out, _ = migrate(estate, "migrate-5", klass="contract", target=5)
    assert out["status"] == "refused" and "bake time" in out["summary"], out["summary"]
    settings = migration_settings(migration_contract_bake_hours="0")
    out, _ = migrate(estate, "migrate-5", klass="contract", target=5, settings=settings)
    assert out["status"] == "succeeded", out["summary"]


def test_maintenance_off_is_the_operators_way_out_verified_from_outside() -> None:
    estate = MigrationEstate()
    estate.maintenance[GROUPS["blue"]] = "true"
    ctx = estate.context({**migration_input(), "enabled": False})
    out = drive(MAINTENANCE, ctx)
    assert out["status"] == "succeeded" and "maintenance mode off" in out["summary"]
    assert estate.maintenance[GROUPS["blue"]] == "false"
