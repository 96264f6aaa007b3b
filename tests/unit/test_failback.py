"""The failback orchestrator driven with fake activities: the planned return, its refusals and failures."""

from __future__ import annotations

from typing import Any

from shared import names
from tests.support.durable import FakeContext, drive, orchestrator
from tests.support.settings import failover_settings as settings


class AwayEstate:
    """The estate after a failover: traffic on the standby, pg-west primary."""

    def __init__(self) -> None:
        self.route = "og-standby"
        self.lags: list[float | None] = [None, 40.0, 0.0]
        self.replayed: list[str | None] = [None, "0/3000000", "0/3000060", "0/3000100"]  # the home replica
        self.primary_lsn = "0/3000060"
        self.switched = False
        self.counts_home = {"intents": 12}
        self.counts_away = {"intents": 12}
        self.healthy = 1
        self.create_error = ""
        self.reports: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []

    def lag(self, i: dict[str, Any]) -> dict[str, Any]:
        value = self.lags.pop(0) if len(self.lags) > 1 else self.lags[0]
        return {"lag_seconds": value, "source": "database"}

    def position(self, i: dict[str, Any]) -> dict[str, Any]:
        if self.switched:  # home is the primary now, past everything pg-west had written
            return {"server": i["server"], "in_recovery": i["server"] == "pg-west", "lsn": "0/3000100"}
        if i["server"] == "pg-west":  # the primary while away
            return {"server": "pg-west", "in_recovery": False, "lsn": self.primary_lsn}
        lsn = self.replayed.pop(0) if len(self.replayed) > 1 else self.replayed[0]
        return {"server": i["server"], "in_recovery": True, "lsn": lsn}  # None: nothing replayed yet

    def promote(self, i: dict[str, Any]) -> dict[str, Any]:
        self.switched = True
        return {"promoted": True, "role": "primary"}

    def create(self, i: dict[str, Any]) -> dict[str, Any]:
        if self.create_error:
            raise RuntimeError(self.create_error)
        return {"server": i["target"], "created": True, "state": "Ready"}

    def activities(self) -> dict[str, Any]:
        def switch(i: dict[str, Any]) -> dict[str, Any]:
            self.route = i["origin_group"]
            return {"changed": True}

        def probe(i: dict[str, Any]) -> dict[str, Any]:
            return {"url": i["url"], "ok": "aci-blue" in i["url"] or self.route == "og-blue", "status": 200}

        def checks(i: dict[str, Any]) -> dict[str, Any]:
            return {"counts": self.counts_away if i["server"] == "pg-west" else self.counts_home}

        return {
            names.TRAFFIC_GET_ROUTE: lambda i: {"origin_group": self.route},
            names.DATABASE_CREATE_REPLICA: self.create,
            names.DATABASE_GET_REPLICATION_LAG: self.lag,
            names.DATABASE_GET_WAL_POSITION: self.position,
            names.DATABASE_ENSURE_VIRTUAL_ENDPOINT: lambda i: {"name": "pg-west-ve", "changed": True},
            names.DATABASE_PROMOTE_REPLICA: self.promote,
            names.DATABASE_RUN_CHECKS: checks,
            names.SECRETS_POINT_DATABASE_URL: lambda i: {"changed": True},
            names.CONTAINERS_START_GROUP: lambda i: {"state": "Running"},
            names.CONTAINERS_RESTART_GROUP: lambda i: {"url": f"http://{i['group']}"},
            names.PROBE_HTTP: probe,
            names.TRAFFIC_LIST_HEALTHY_ORIGINS: lambda i: {"healthy_count": self.healthy, "origins": [{}]},
            names.TRAFFIC_SWITCH_ROUTE: switch,
            names.DATABASE_GET_SERVER: lambda i: {"state": "Ready"},
            names.CONTAINERS_GET_GROUP: lambda i: {"state": "Running"},
            names.STORAGE_WRITE_REPORT: lambda i: self.reports.append(i) or {"url": "http://blob/r"},
            names.NOTIFY_SEND: lambda i: self.notes.append(i) or {"sent": []},
            names.EVENTS_PUBLISH: lambda i: {"published": False},
        }


def run(estate: AwayEstate) -> tuple[Any, FakeContext]:
    payload = {
        "settings": settings(),
        "trigger": {"kind": "operator", "reason": "region back"},
        "slot": "blue",
        "poll_attempts": 5,
        "poll_interval_seconds": 1,
    }
    ctx = FakeContext(payload, estate.activities(), instance_id="failback-qlp")
    return drive(orchestrator(names.FAILBACK_ORCHESTRATOR), ctx), ctx


def test_failback_returns_home_with_zero_rows_lost() -> None:
    estate = AwayEstate()
    out, ctx = run(estate)
    assert out["status"] == "succeeded"
    assert estate.route == "og-blue"
    assert "zero rows lost, verified" in out["summary"]
    assert out["measurements"]["zero_loss_by_lsn"] is True
    create = ctx.payloads(names.DATABASE_CREATE_REPLICA)[0]
    assert create["source"] == "pg-west" and create["target"] == "pg-south-fba1b2c3"
    assert create["location"] == "uksouth" and create["resource_group"] == "rg-south"
    promote = ctx.payloads(names.DATABASE_PROMOTE_REPLICA)[0]
    assert (promote["server"], promote["mode"], promote["operation"]) == (
        "pg-south-fba1b2c3",
        "planned",
        "switchover",
    )
    order = ctx.names()
    assert order.index(names.DATABASE_PROMOTE_REPLICA) < order.index(names.TRAFFIC_SWITCH_ROUTE)
    assert len(ctx.payloads(names.DATABASE_GET_REPLICATION_LAG)) == 3  # waited until caught up
    decisions = [d["reason"] for d in estate.reports[-1]["report"]["decisions"]]
    exact = "the new replica has replayed the primary's position 0/3000060 (at 0/3000060): nothing missing"
    assert any(d.startswith(exact) for d in decisions)  # by WAL position, not the lag metric
    assert not ctx.payloads(names.DATABASE_DELETE_SERVER)
    # the switchover's virtual endpoint pair, and the secret on its writer before the switchover
    assert ctx.payloads(names.DATABASE_ENSURE_VIRTUAL_ENDPOINT) == [
        {"server": "pg-west", "resource_group": "rg-west", "replica": "pg-south-fba1b2c3"}
    ]
    writer = [p for p in ctx.payloads(names.SECRETS_POINT_DATABASE_URL) if p.get("endpoint") == "writer"]
    assert [p["server"] for p in writer] == ["pg-west", "pg-south-fba1b2c3"]
    assert order.index(names.DATABASE_ENSURE_VIRTUAL_ENDPOINT) < order.index(names.DATABASE_PROMOTE_REPLICA)


def test_failback_is_refused_when_already_home() -> None:
    estate = AwayEstate()
    estate.route = "og-blue"
    out, ctx = run(estate)
    assert out["status"] == "refused"
    assert out["summary"] == "failback refused: the primary is already in its home region uksouth"
    assert not ctx.payloads(names.DATABASE_CREATE_REPLICA)


def test_without_wal_positions_the_lag_metric_decides_within_its_tolerance() -> None:
    estate = AwayEstate()
    estate.replayed, estate.lags = [None], [5.0]  # idle primary: Azure's metric shows a few seconds
    out, _ = run(estate)
    assert out["status"] == "succeeded"
    decisions = [d["reason"] for d in estate.reports[-1]["report"]["decisions"]]
    within = "the new replica has caught up (lag 5 s, within 15 s of the lag metric; the WAL positions"
    assert f"{within} could not be compared)" in decisions


def test_a_replica_that_never_catches_up_leaves_traffic() -> None:
    estate = AwayEstate()
    estate.lags, estate.replayed = [30.0], [None]
    out, ctx = run(estate)
    assert out["status"] == "failed"
    assert "catch_up failed before anything changed" in out["summary"]
    assert "the new replica is 30 s behind" in out["summary"]
    assert not ctx.payloads(names.DATABASE_PROMOTE_REPLICA)
    assert estate.route == "og-standby"


def test_rows_missing_after_switchover_is_a_warning_that_pages() -> None:
    estate = AwayEstate()
    estate.counts_home = {"intents": 10}
    out, _ = run(estate)
    assert out["status"] == "succeeded-with-warnings"
    assert "rows lost: 2" in out["summary"]
    assert estate.notes[-1]["page"] is True


def test_create_failure_reports_steps_and_pages() -> None:
    estate = AwayEstate()
    estate.create_error = "permanent: create replica pg-south-fb: quota exceeded"
    out, _ = run(estate)
    assert out["status"] == "failed"
    assert out["summary"].endswith("Steps that ran: observe.")
    assert estate.notes[-1]["event"] == "step-failed"


def test_home_slot_without_healthy_origin_is_not_switched_rule2() -> None:
    estate = AwayEstate()
    estate.healthy = 0
    out, ctx = run(estate)
    assert out["status"] == "failed"
    assert not ctx.payloads(names.TRAFFIC_SWITCH_ROUTE)
    assert "origin group og-blue has no healthy origin" in out["summary"]
