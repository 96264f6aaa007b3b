"""Drills driven with fake activities: each scenario's steps, evidence, retention and teardown."""

from __future__ import annotations

from typing import Any

from orchestrators import drill
from shared import names
from tests.unit.backup_fakes import FakeContext, drive, fails, returns, settings_dict
from tests.unit.estate_fakes import RG, SOUTH, WEST
from tests.unit.estate_fakes import estate as observed
from tests.unit.test_restore_test_orchestrator import FakeEstate


class FakeDrillEstate(FakeEstate):
    """Adds drill replicas and container groups to the restore-test estate."""

    def __init__(self, now: Any, state: str = "home") -> None:
        super().__init__(now, state)
        self.groups: set[str] = set()

    def create_replica(self, p: dict[str, Any]) -> dict[str, Any]:
        self.servers.add(p["target"])
        return {"server": p["target"], "created": True, "state": "Ready"}

    def ensure_group(self, p: dict[str, Any]) -> dict[str, Any]:
        self.groups.add(p["group"])
        return {"group": p["group"], "state": "Running", "url": "http://127.0.0.1:7000"}

    def get_group(self, p: dict[str, Any]) -> dict[str, Any]:
        exists = p["group"] in self.groups or p["group"] == "qlp-standby"
        return {"group": p["group"], "exists": exists, "image": "qlp:1"}

    def delete_group(self, p: dict[str, Any]) -> dict[str, Any]:
        self.groups.discard(p["group"])
        return {"group": p["group"], "deleted": True}


def _run(
    scenario: str, state: str = "home", **overrides: Any
) -> tuple[FakeContext, FakeDrillEstate, dict[str, Any]]:
    inp = {"run_id": "drill-qlp", "settings": settings_dict(), "scenario": scenario, "trigger": {}}
    ctx = FakeContext(inp, {})
    estate = FakeDrillEstate(lambda: ctx.current_utc_datetime, state)
    ctx.activities.update(
        {
            names.SECRETS_GET_DATABASE_HOST: observed(state)[names.SECRETS_GET_DATABASE_HOST],
            names.STORAGE_WRITE_REPORT: returns({"url": "u"}),
            names.NOTIFY_SEND: returns({"sent": []}),
            names.DATABASE_WRITE_SENTINEL: estate.write_sentinel,
            names.DATABASE_RESTORE_SERVER: estate.restore,
            names.DATABASE_RUN_CHECKS: estate.run_checks,
            names.DATABASE_DELETE_SERVER: estate.delete,
            names.DATABASE_GET_SERVER: estate.get,
            names.DATABASE_CREATE_REPLICA: estate.create_replica,
            names.DATABASE_GET_REPLICATION_LAG: returns({"lag_seconds": 0.5, "source": "database"}),
            names.DATABASE_PROMOTE_REPLICA: returns({"promoted": True}),
            names.CONTAINERS_GET_GROUP: estate.get_group,
            names.CONTAINERS_ENSURE_GROUP: estate.ensure_group,
            names.CONTAINERS_DELETE_GROUP: estate.delete_group,
            names.PROBE_HTTP: returns({"ok": True, "status": 200}),
            names.TRAFFIC_GET_ROUTE: returns({"origin_group": "og-blue"}),
            names.TRAFFIC_LIST_HEALTHY_ORIGINS: returns({"healthy_count": 0}),
        }
    )
    ctx.activities.update(overrides)
    return ctx, estate, drive(drill.drill_plan, ctx)


def test_database_drill_is_a_restore_test_with_evidence_kept_seven_years() -> None:
    ctx, estate, report = _run("database")
    assert report["status"] == "succeeded", report["summary"]
    assert report["operation"] == "drill-database"
    assert estate.servers == set()
    saved = ctx.payloads(names.STORAGE_WRITE_REPORT)
    assert saved and all(p["retain_years"] == 7 for p in saved)
    archived = saved[-1]
    assert archived["run_id"].startswith("drill-qlp-2026") and archived["report"]["status"] == "succeeded"
    assert saved[-2]["run_id"] == "drill-qlp"
    m = report["measurements"]
    assert m["drill_rto_seconds"] == 1.0 and m["drill_rpo_seconds"] is not None
    assert m["teardown_verified"] is True
    assert names.DATABASE_CREATE_REPLICA not in ctx.names()


def test_region_drill_promotes_a_drill_replica_runs_a_drill_group_and_removes_both() -> None:
    ctx, estate, report = _run("region")
    assert report["status"] == "succeeded", report["summary"]
    replica = ctx.payloads(names.DATABASE_CREATE_REPLICA)[0]
    assert replica["source"] == "qlp-db-uksouth"
    assert replica["target"] not in ("qlp-db-uksouth", "qlp-db-ukwest")
    assert replica["location"] == "ukwest" and replica["resource_group"] == "rg-ukwest"
    promoted = ctx.payloads(names.DATABASE_PROMOTE_REPLICA)[0]
    assert promoted["server"] == replica["target"] and promoted["server"] != "qlp-db-ukwest"
    group = ctx.payloads(names.CONTAINERS_ENSURE_GROUP)[0]
    assert group["image"] == "qlp:1" and "drill" in group["group"]
    assert estate.servers == set() and estate.groups == set()
    for name in (names.DATABASE_DELETE_SERVER, names.DATABASE_GET_SERVER, names.CONTAINERS_DELETE_GROUP):
        made = [p for p in ctx.payloads(name) if p.get("server") not in RG]
        assert made and all(p["resource_group"] == "rg-ukwest" for p in made), name
    assert report["measurements"]["drill_rpo_seconds"] == 0.5
    assert names.TRAFFIC_SWITCH_ROUTE not in ctx.names()
    assert names.SECRETS_POINT_DATABASE_URL not in ctx.names()


def test_a_failed_promote_still_tears_down_and_fails_the_drill() -> None:
    refused = fails("permanent: promote: nope")
    ctx, estate, report = _run("region", **{names.DATABASE_PROMOTE_REPLICA: refused})
    assert report["status"] == "failed"
    assert any("nope" in r for r in report["verdict"]["reasons"])
    assert estate.servers == set()
    assert names.CONTAINERS_ENSURE_GROUP not in ctx.names()
    paged = [p for p in ctx.payloads(names.NOTIFY_SEND) if p.get("page")]
    assert len(paged) == 1


def test_a_drill_group_left_behind_fails_the_drill() -> None:
    _, estate, report = _run("region", **{names.CONTAINERS_DELETE_GROUP: returns({"deleted": False})})
    assert report["status"] == "failed"
    assert "drill resources are left behind" in report["verdict"]["reasons"]
    assert estate.groups


def test_complete_drill_runs_database_region_and_front_door_without_moving_traffic() -> None:
    ctx, _, report = _run("complete")
    assert report["status"] == "succeeded", report["summary"]
    called = ctx.names()
    assert names.DATABASE_RESTORE_SERVER in called and names.DATABASE_CREATE_REPLICA in called
    assert ctx.payloads(names.TRAFFIC_LIST_HEALTHY_ORIGINS) == [{"origin_group": "og-standby"}]
    assert names.TRAFFIC_SWITCH_ROUTE not in called and names.TRAFFIC_SET_ORIGIN_STATE not in called
    assert report["measurements"]["frontdoor_route_origin_group"] == "og-blue"


def test_complete_drill_fails_when_the_public_endpoint_is_down() -> None:
    _, _, report = _run("complete", **{names.PROBE_HTTP: returns({"ok": False, "status": 503})})
    assert report["status"] == "failed"


def test_after_a_failover_the_region_drill_replicates_the_new_primary_into_the_old_home_region() -> None:
    ctx, fake, report = _run("region", "failed-over")
    assert report["status"] == "succeeded", report["summary"]
    replica = ctx.payloads(names.DATABASE_CREATE_REPLICA)[0]
    assert (replica["source"], replica["source_resource_group"]) == (WEST, "rg-ukwest")
    assert (replica["location"], replica["resource_group"]) == ("uksouth", "rg-uksouth")
    assert replica["target"].startswith(f"{WEST}-drill-")
    assert ctx.payloads(names.CONTAINERS_ENSURE_GROUP)[0]["resource_group"] == "rg-uksouth"
    assert fake.servers == set() and fake.groups == set()
    assert report["primary"]["primary"] == WEST


def test_after_a_failover_the_database_drill_restores_the_new_primary() -> None:
    ctx, _, report = _run("database", "failed-over")
    assert report["status"] == "succeeded", report["summary"]
    assert ctx.payloads(names.DATABASE_RESTORE_SERVER)[0]["source"] == WEST


def test_two_writable_primaries_refuse_the_drill_with_the_reason() -> None:
    ctx, _, report = _run("complete", "split")
    assert report["status"] == "refused"
    assert report["summary"].startswith(f"refusing to choose a primary: {SOUTH} and {WEST} are both writable")
    for activity in (names.DATABASE_RESTORE_SERVER, names.DATABASE_CREATE_REPLICA, names.PROBE_HTTP):
        assert activity not in ctx.names()
