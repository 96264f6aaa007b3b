"""Drills driven with fake activities: each scenario's steps, evidence, retention and teardown."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from orchestrators import drill
from shared import names
from tests.support.durable import T0, Event, FakeContext, drive, fails, orchestrator, returns
from tests.support.estate import RG, SOUTH, WEST
from tests.support.restore_estate import FakeEstate
from tests.support.settings import backup_settings

FAILOVER = {"run_id": "failover-qlp-1", "operation": "failover", "reason": "region outage"}


class FakeDrillEstate(FakeEstate):
    """Adds drill replicas, container groups, Key Vault secrets and workload writes to the restore-test
    estate. A group's writes land on the server its DATABASE_SECRET_NAME secret points at."""

    def __init__(self, now: Any, state: str = "home") -> None:
        super().__init__(now, state)
        self.groups: set[str] = set()
        self.secrets: dict[str, str] = {"database-url": "qlp-db-uksouth"}
        self.group_secret: dict[str, str] = {}
        self.rows: dict[str, list[str]] = {}
        self.drill_paths: dict[str, str] = {}  # tag -> the drill group's url behind the drill route

    def point_secret(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p.get("secret_name") or "database-url"
        self.secrets[name] = p["server"]
        return {"secret": name, "host": p["server"], "changed": True}

    def clear_secret(self, p: dict[str, Any]) -> dict[str, Any]:
        self.secrets[p["secret_name"]] = ""
        return {"secret": p["secret_name"], "cleared": True}

    def probe(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("method") == "POST":
            for group in self.groups:
                server = self.secrets.get(self.group_secret[group], "")
                self.rows.setdefault(server, []).append(p["json"]["text"])
            return {"ok": True, "status": 201}
        if "/drill/" in p["url"]:  # production's route does not serve it; a drill route to a live group does
            served = bool(self.drill_paths) and bool(self.groups)
            return {"ok": served, "status": 200 if served else 404}
        return {"ok": True, "status": 200}

    def create_drill_path(self, p: dict[str, Any]) -> dict[str, Any]:
        self.drill_paths[p["tag"]] = p["url"]
        og = f"og-drill-{p['tag']}"
        return {"origin_group": og, "route": f"route-drill-{p['tag']}", "supported": True, "created": True}

    def delete_drill_path(self, p: dict[str, Any]) -> dict[str, Any]:
        self.drill_paths.pop(p["tag"], None)
        return {"gone": True, "remaining": []}

    def run_checks(self, p: dict[str, Any]) -> dict[str, Any]:
        sql = p["checks"].get("sql") or [{}]
        if sql[0].get("name") != "drill-write-on-replica":
            return super().run_checks(p)
        passed = any(f"'{text}'" in sql[0]["sql"] for text in self.rows.get(p["server"], []))
        return {"server": p["server"], "passed": passed, "counts": {}, "checks": []}

    def create_replica(self, p: dict[str, Any]) -> dict[str, Any]:
        self.servers.add(p["target"])
        return {"server": p["target"], "created": True, "state": "Ready"}

    def ensure_group(self, p: dict[str, Any]) -> dict[str, Any]:
        self.groups.add(p["group"])
        self.group_secret[p["group"]] = (p.get("environment") or {}).get(
            "DATABASE_SECRET_NAME", "database-url"
        )
        return {"group": p["group"], "state": "Running", "url": "http://127.0.0.1:7000"}

    def get_group(self, p: dict[str, Any]) -> dict[str, Any]:
        exists = p["group"] in self.groups or p["group"] == "qlp-standby"
        return {"group": p["group"], "exists": exists, "image": "qlp:1"}

    def delete_group(self, p: dict[str, Any]) -> dict[str, Any]:
        self.groups.discard(p["group"])
        return {"group": p["group"], "deleted": True}


def _run(
    scenario: str,
    state: str = "home",
    tweak: Callable[[FakeDrillEstate], dict[str, Any]] | None = None,
    preempt_after: str = "",
    events: tuple[Event, ...] = (),
    **overrides: Any,
) -> tuple[FakeContext, FakeDrillEstate, dict[str, Any]]:
    inp = {"run_id": "drill-qlp", "settings": backup_settings(), "scenario": scenario, "trigger": {}}
    ctx = FakeContext(inp, {}, events=events)
    estate = FakeDrillEstate(lambda: ctx.current_utc_datetime, state)
    ctx.activities.update(
        {
            **estate.activities(),
            names.DATABASE_CREATE_REPLICA: estate.create_replica,
            names.DATABASE_GET_REPLICATION_LAG: returns({"lag_seconds": 0.5, "source": "database"}),
            names.DATABASE_PROMOTE_REPLICA: returns({"promoted": True}),
            names.CONTAINERS_GET_GROUP: estate.get_group,
            names.CONTAINERS_ENSURE_GROUP: estate.ensure_group,
            names.CONTAINERS_DELETE_GROUP: estate.delete_group,
            names.PROBE_HTTP: estate.probe,
            names.SECRETS_POINT_DATABASE_URL: estate.point_secret,
            names.SECRETS_CLEAR: estate.clear_secret,
            names.TRAFFIC_GET_ROUTE: returns({"origin_group": "og-blue"}),
            names.TRAFFIC_LIST_HEALTHY_ORIGINS: returns({"healthy_count": 0}),
            names.TRAFFIC_CREATE_DRILL_PATH: estate.create_drill_path,
            names.TRAFFIC_DELETE_DRILL_PATH: estate.delete_drill_path,
        }
    )
    ctx.activities.update(overrides)
    ctx.activities.update(tweak(estate) if tweak else {})
    if preempt_after:  # a failover queued on the lock raises ``preempt`` while this activity runs
        handler = ctx.activities[preempt_after]

        def preempting(p: dict[str, Any]) -> Any:
            for waiting in [t for t in ctx.listening if t.name == "preempt" and not t.completed]:
                waiting.result, waiting.completed = FAILOVER, True  # it arrives while the activity runs
            return handler(p)

        ctx.activities[preempt_after] = preempting
    out = drive(orchestrator(names.DRILL_ORCHESTRATOR), ctx)
    report = ctx.last_report()
    assert (out["status"], out["summary"], out["verdict"]) == (
        report["status"],
        report["summary"],
        report["verdict"],
    )
    return ctx, estate, report


def test_database_drill_is_a_restore_test_with_evidence_kept_seven_years() -> None:
    ctx, estate, report = _run("database")
    assert report["status"] == "succeeded", report["summary"]
    assert report["operation"] == "drill-database"
    assert estate.servers == set()
    saved = ctx.payloads(names.STORAGE_WRITE_REPORT)
    assert saved and all(p["retain_years"] == 7 for p in saved)
    # every run has an id of its own: the evidence is kept under it (no second, dated copy any more)
    assert {p["run_id"] for p in saved} == {"drill-qlp"}
    assert saved[-1]["report"]["status"] == "succeeded"
    assert saved[-1]["report"]["retention"] == "7 years (compliance record)"
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
    assert re.fullmatch(rf"{SOUTH}-drill-20261129t\d{{6}}-r", replica["target"])  # its role, "r"
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


def test_region_drill_runs_on_a_drill_secret_and_verifies_a_write_on_the_drill_replica() -> None:
    ctx, estate, report = _run("region")
    assert report["status"] == "succeeded", report["summary"]
    replica = ctx.payloads(names.DATABASE_CREATE_REPLICA)[0]["target"]
    pointed = ctx.payloads(names.SECRETS_POINT_DATABASE_URL)
    assert pointed == [
        {"server": replica, "secret_name": "database-url-drill", "resource_group": "rg-ukwest"}
    ]
    group = ctx.payloads(names.CONTAINERS_ENSURE_GROUP)[0]
    assert group["environment"] == {"DATABASE_SECRET_NAME": "database-url-drill"}
    write = [p for p in ctx.payloads(names.PROBE_HTTP) if p.get("method") == "POST"]
    assert len(write) == 1 and write[0]["url"] == "http://127.0.0.1:7000/api/v1/intents"
    assert estate.rows == {replica: ["continuity drill drill-qlp"]}
    read = [p for p in ctx.payloads(names.DATABASE_RUN_CHECKS) if p["server"] == replica]
    assert len(read) == 1 and read[0]["resource_group"] == "rg-ukwest"
    assert report["measurements"]["drill_write_verified_on"] == replica
    assert estate.secrets == {"database-url": "qlp-db-uksouth", "database-url-drill": ""}
    order = ctx.names()
    cleared = order.index(names.SECRETS_CLEAR)
    assert order.index(names.CONTAINERS_DELETE_GROUP) < cleared < order.index(names.DATABASE_DELETE_SERVER)


def test_a_drill_group_on_the_production_secret_fails_the_read_back() -> None:
    """Were the group to write to production, the write would not be on the drill replica."""

    def on_production(fake: FakeDrillEstate) -> dict[str, Any]:
        return {names.CONTAINERS_ENSURE_GROUP: lambda p: fake.ensure_group({**p, "environment": {}})}

    _, estate, report = _run("region", tweak=on_production)
    assert report["status"] == "failed"
    assert any("not on the drill replica" in r for r in report["verdict"]["reasons"]), report["verdict"]
    assert estate.rows == {"qlp-db-uksouth": ["continuity drill drill-qlp"]}
    assert estate.servers == set() and estate.groups == set() and estate.secrets["database-url-drill"] == ""


def test_a_failed_write_through_the_drill_group_fails_the_drill_and_still_tears_down() -> None:
    def probe(p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": False, "status": 503} if p.get("method") == "POST" else {"ok": True, "status": 200}

    ctx, estate, report = _run("region", **{names.PROBE_HTTP: probe})
    assert report["status"] == "failed"
    assert any("write through the drill group failed: 503" in r for r in report["verdict"]["reasons"])
    assert (
        len([p for p in ctx.payloads(names.PROBE_HTTP) if p.get("method") == "POST"]) == drill.WRITE_ATTEMPTS
    )
    assert estate.servers == set() and estate.groups == set() and estate.secrets["database-url-drill"] == ""


def test_a_drill_secret_not_cleared_is_a_drill_resource_left_behind() -> None:
    _, _, report = _run("region", **{names.SECRETS_CLEAR: fails("permanent: clear secret: nope")})
    assert report["status"] == "failed"
    assert "drill resources are left behind" in report["verdict"]["reasons"]


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


def test_complete_drill_reaches_the_drill_group_through_a_drill_route_and_removes_it() -> None:
    ctx, estate, report = _run("complete")
    order = ctx.names()
    made = order.index(names.TRAFFIC_CREATE_DRILL_PATH)
    assert order.index(names.CONTAINERS_ENSURE_GROUP) < made < order.index(names.TRAFFIC_DELETE_DRILL_PATH)
    assert order.index(names.TRAFFIC_DELETE_DRILL_PATH) < order.index(names.CONTAINERS_DELETE_GROUP)
    [path] = ctx.payloads(names.TRAFFIC_CREATE_DRILL_PATH)
    assert path["url"] == "http://127.0.0.1:7000" and path["pattern"] == "/drill/*"
    assert ctx.payloads(names.TRAFFIC_DELETE_DRILL_PATH) == [{"tag": path["tag"]}]
    drill_probes = [p["url"] for p in ctx.payloads(names.PROBE_HTTP) if "/drill/" in p["url"]]
    assert drill_probes[:2] == ["https://qlp.example/drill/health"] * 2  # 404 before, 200 through the route
    assert drill_probes[2:] == [  # then each tier's components through the drill route
        "https://qlp.example/drill/api/v1/status",
        "https://qlp.example/drill/api/v1/health/database",
    ]
    m = report["measurements"]
    assert m["frontdoor_drill_path"] == "served"
    assert m["frontdoor_drill_served_by"] == f"og-drill-{path['tag']}"
    assert m["frontdoor_drill_teardown_verified"] is True and estate.drill_paths == {}


def test_region_drill_alone_makes_no_front_door_path() -> None:
    ctx, _, report = _run("region")
    assert report["status"] == "succeeded", report["summary"]
    assert names.TRAFFIC_CREATE_DRILL_PATH not in ctx.names()


def test_a_drill_route_that_does_not_serve_fails_the_drill_and_still_removes_it() -> None:
    def unserved(fake: FakeDrillEstate) -> dict[str, Any]:
        return {names.TRAFFIC_CREATE_DRILL_PATH: returns({"origin_group": "og-drill-x", "supported": True})}

    ctx, estate, report = _run("complete", tweak=unserved)
    assert report["status"] == "failed"
    assert any("through the drill route answered: 404" in r for r in report["verdict"]["reasons"])
    assert names.TRAFFIC_DELETE_DRILL_PATH in ctx.names() and not estate.groups


def test_a_path_already_served_before_the_drill_route_fails_the_check_and_creates_nothing() -> None:
    def catch_all(fake: FakeDrillEstate) -> dict[str, Any]:
        def probe(p: dict[str, Any]) -> dict[str, Any]:
            return {"ok": True, "status": 200} if "/drill/" in p["url"] else fake.probe(p)

        return {names.PROBE_HTTP: probe}

    ctx, _, report = _run("complete", tweak=catch_all)
    assert report["status"] == "failed"
    assert any("before the drill route exists" in r for r in report["verdict"]["reasons"])
    assert names.TRAFFIC_CREATE_DRILL_PATH not in ctx.names()


def test_a_failed_drill_path_creation_still_deletes_it_and_fails_the_drill() -> None:
    ctx, estate, report = _run("complete", **{names.TRAFFIC_CREATE_DRILL_PATH: fails("permanent: 409")})
    assert report["status"] == "failed"
    assert names.TRAFFIC_DELETE_DRILL_PATH in ctx.names() and not estate.groups


def test_a_drill_path_left_behind_fails_the_drill() -> None:
    left = returns({"gone": False, "remaining": ["route-drill-x"]})
    _, _, report = _run("complete", **{names.TRAFFIC_DELETE_DRILL_PATH: left})
    assert report["status"] == "failed"
    assert "drill resources are left behind" in report["verdict"]["reasons"]
    assert report["measurements"]["frontdoor_drill_teardown_verified"] is False


def test_classic_front_door_skips_the_drill_path_with_the_reason() -> None:
    classic = returns({"supported": False, "reason": "not supported in classic Front Door", "route": "r"})
    ctx, _, report = _run("complete", **{names.TRAFFIC_CREATE_DRILL_PATH: classic})
    assert report["status"] == "succeeded", report["summary"]
    assert report["measurements"]["frontdoor_drill_path"] == "skipped: not supported in classic Front Door"
    drill_probes = [p["url"] for p in ctx.payloads(names.PROBE_HTTP) if "/drill/" in p["url"]]
    assert drill_probes == ["https://qlp.example/drill/health"]  # only the check before: nothing made


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


# ---- a failover queued behind a drill (rule 12) -----------------------------------------------------------
def test_a_failover_stops_the_region_drill_after_the_replica_is_made_and_the_replica_is_torn_down() -> None:
    ctx, estate, report = _run("region", preempt_after=names.DATABASE_CREATE_REPLICA)
    assert report["status"] == "preempted", report["summary"]
    assert "preempted by failover failover-qlp-1 (region outage)" in report["summary"]
    assert "at the checkpoint after create-drill-replica" in report["summary"]
    assert "tore down what it made (verified gone)" in report["summary"]
    called = ctx.names()
    assert names.DATABASE_PROMOTE_REPLICA not in called and names.CONTAINERS_ENSURE_GROUP not in called
    assert estate.servers == set() and estate.groups == set() and estate.secrets["database-url-drill"] == ""
    assert report["measurements"]["preempted_by"] == "failover-qlp-1"
    assert report["measurements"]["teardown_verified"] is True and report["verdict"] is None
    assert not [p for p in ctx.payloads(names.NOTIFY_SEND) if p.get("page")]


def test_a_failover_during_the_restore_skips_the_checks_and_deletes_the_scratch_server() -> None:
    ctx, estate, report = _run("complete", preempt_after=names.DATABASE_RESTORE_SERVER)
    assert report["status"] == "preempted" and "at the checkpoint after restore" in report["summary"]
    scratch = ctx.payloads(names.DATABASE_RESTORE_SERVER)[0]["target"]
    assert [p["server"] for p in estate.checked] == ["qlp-db-uksouth"]  # the source counted, no checks
    assert scratch not in estate.servers and estate.servers == set()
    assert names.DATABASE_CREATE_REPLICA not in ctx.names()  # the region part never began
    assert names.TRAFFIC_GET_ROUTE not in ctx.names()


def test_a_failover_queued_before_the_drill_began_stops_it_before_it_makes_anything() -> None:
    ctx, _, report = _run("database", events=(Event("preempt", FAILOVER),))
    assert report["status"] == "preempted" and "after observe" in report["summary"]
    assert "before it made anything" in report["summary"]
    assert names.DATABASE_WRITE_SENTINEL not in ctx.names()
    assert names.DATABASE_RESTORE_SERVER not in ctx.names()
    assert report["measurements"]["teardown_verified"] is None


def test_a_preempted_drill_that_leaves_a_resource_behind_pages() -> None:
    ctx, estate, report = _run(
        "region",
        preempt_after=names.CONTAINERS_ENSURE_GROUP,
        **{names.CONTAINERS_DELETE_GROUP: returns({"deleted": False})},
    )
    assert report["status"] == "preempted" and "at the checkpoint after drill-group" in report["summary"]
    assert "a drill resource is still there" in report["summary"] and estate.groups
    assert names.PROBE_HTTP not in ctx.names()  # the drill group was not checked: the failover waits
    assert [p["page"] for p in ctx.payloads(names.NOTIFY_SEND)][-1] is True


def test_a_failover_queued_while_the_drill_group_is_probed_stops_the_wait_at_the_next_probe() -> None:
    down = {"ok": False, "status": 503}

    def tweak(estate: FakeDrillEstate) -> dict[str, Any]:
        return {names.PROBE_HTTP: lambda p: down}

    late = Event("preempt", FAILOVER, at=T0 + timedelta(seconds=60))
    ctx, estate, report = _run("region", tweak=tweak, events=(late,))
    assert report["status"] == "preempted", report["summary"]
    assert "at the checkpoint after a probe of the drill group" in report["summary"]
    probes = ctx.payloads(names.PROBE_HTTP)
    assert 1 < len(probes) < drill.VERIFY_ATTEMPTS  # it stopped waiting, well before the attempts ran out
    assert estate.servers == set() and estate.groups == set()
    assert names.DATABASE_RUN_CHECKS not in ctx.names()  # no write, no read-back
