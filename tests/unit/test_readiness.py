"""The readiness tick over ticks (fake activities): the score falls when the replica lags or a restore test
fails, rises when fixed, and only a change of score notifies; ``GET /api/readiness`` scores now."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from shared import names
from shared.config import Settings
from tests.support.durable import (
    NOW,
    FakeClient,
    FakeContext,
    call_http,
    drive,
    functions,
    http,
    orchestrator,
    reads_from,
)
from tests.support.estate import estate
from tests.support.settings import backup_settings
from triggers import readiness_api, status_api

STATE = "readiness-qlp"


class Blob:
    """The tick's state, carried from one tick to the next as blob storage would."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    def read(self, p: dict[str, Any]) -> dict[str, Any]:
        if p != {"name": STATE}:  # the backup watch's state, as the status observation reads it
            return {"found": False, "state": None}
        return {"found": self.state is not None, "state": self.state}

    def write(self, p: dict[str, Any]) -> dict[str, Any]:
        assert p["name"] == STATE
        self.state = p["state"]
        return {"name": STATE}


def activities(*, lag: float = 2.0, restore_test: str = "succeeded") -> dict[str, Any]:
    groups = {"qlp-blue": "qlp:1.4.0", "qlp-green": "qlp:1.3.0", "qlp-standby": "qlp:1.4.0"}
    reports = [
        {"run_id": "rt-1", "operation": "restore-test", "status": restore_test},
        *({"run_id": f"d-{k}", "operation": f"drill-{k}", "status": "succeeded"} for k in DRILLS),
    ]
    for report in reports:
        report["started_at"] = (NOW - timedelta(hours=6)).isoformat()
    return {
        **estate("home"),
        names.TRAFFIC_GET_ROUTE: lambda p: {"origin_group": "og-blue"},
        names.CONTAINERS_GET_GROUP: lambda p: {
            "group": p["group"],
            "exists": True,
            "state": "Stopped" if p["group"] == "qlp-standby" else "Running",
            "image": groups[p["group"]],
        },
        names.DATABASE_LIST_BACKUPS: lambda p: {
            "latest_completed_at": (NOW - timedelta(hours=1)).isoformat()
        },
        names.DATABASE_GET_REPLICATION_LAG: lambda p: {"lag_seconds": lag, "source": "database"},
        names.TRAFFIC_LIST_HEALTHY_ORIGINS: lambda p: {
            "origin_group": p["origin_group"],
            "origins": [{"name": "standby", "enabled": True, "healthy": False}],
            "healthy_count": 0,
        },
        names.STORAGE_LIST_REPORTS: lambda p: {"reports": reports},
        names.STORAGE_GET_TASK_HUB_REGION: lambda p: {"region": "ukwest", "reported": True},
    }


DRILLS = ("database", "region", "complete", "security")


def tick(blob: Blob, **state: Any) -> tuple[dict[str, Any], FakeContext]:
    found = {
        **activities(**state),
        names.STORAGE_READ_STATE: blob.read,
        names.STORAGE_WRITE_STATE: blob.write,
    }
    ctx = FakeContext({"settings": backup_settings(), "run_id": STATE}, found, now=NOW)
    result = drive(orchestrator(names.READINESS_ORCHESTRATOR), ctx)
    assert result == blob.state and ctx.reports == []  # a tick: its state, no run report
    return result, ctx


def by_name(result: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["result"] for c in result["checks"]}


def test_a_ready_estate_scores_100_and_its_first_score_notifies_once() -> None:
    blob = Blob()
    first, ctx = tick(blob)
    assert first["score"] == 100, first["checks"]
    assert [n["event"] for n in ctx.notifications] == ["readiness-changed"]
    again, quiet = tick(blob)
    assert again["change"]["action"] == "unchanged" and quiet.notifications == []


def test_the_score_falls_when_the_replica_lags_and_rises_when_it_catches_up() -> None:
    blob = Blob()
    tick(blob)
    lagging, ctx = tick(blob, lag=1800.0)
    assert by_name(lagging)["replica_lag"] == "fail" and lagging["score"] == 92
    (sent,) = ctx.notifications
    assert sent["severity"] == "warning" and sent["fields"]["previous_score"] == 100
    assert "readiness score fell from 100 to 92" in sent["text"]
    assert "replica_lag fail: replica lag 30 min is over the 15 min RPO" in sent["text"]
    caught_up, ctx = tick(blob)
    assert caught_up["score"] == 100 and ctx.notifications[0]["severity"] == "info"


def test_the_score_falls_when_the_restore_test_fails_and_rises_when_one_passes() -> None:
    blob = Blob()
    tick(blob)
    failed, ctx = tick(blob, restore_test="failed")
    assert by_name(failed)["restore_test"] == "fail" and failed["score"] == 92
    assert "the last restore test rt-1 6 h 0 min ago ended failed" in ctx.notifications[0]["text"]
    fixed, _ = tick(blob)
    assert fixed["score"] == 100


def test_an_unreadable_lag_is_unknown_and_lowers_the_score() -> None:
    def broken(p: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("transient: metrics unavailable")

    blob = Blob()
    found = {**activities(), names.STORAGE_READ_STATE: blob.read, names.STORAGE_WRITE_STATE: blob.write}
    found[names.DATABASE_GET_REPLICATION_LAG] = broken
    ctx = FakeContext({"settings": backup_settings(), "run_id": STATE}, found, now=NOW)
    result = drive(orchestrator(names.READINESS_ORCHESTRATOR), ctx)
    assert by_name(result)["replica_lag"] == "unknown" and result["score"] < 100


def test_the_route_scores_now_and_shows_the_last_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    blob = Blob()
    tick(blob, lag=1800.0)
    found = {**activities(), names.STORAGE_READ_STATE: blob.read}
    monkeypatch.setattr(readiness_api, "read_now", reads_from(found))
    monkeypatch.setattr(readiness_api, "utc_now", lambda: NOW)
    monkeypatch.setattr(readiness_api, "current_settings", lambda: Settings.from_dict(backup_settings()))
    resp = asyncio.run(call_http(names.HTTP_READINESS, http("GET", "/api/readiness")))
    body = json.loads(resp.get_body())
    assert resp.status_code == 200
    assert body["score"] == 100 and len(body["checks"]) == 12
    assert body["last_tick"]["score"] == 92


def test_the_route_refuses_a_query_it_does_not_know() -> None:
    resp = asyncio.run(call_http(names.HTTP_READINESS, http("GET", "/api/readiness", params={"x": "1"})))
    assert resp.status_code == 400 and "x" in resp.get_body().decode()


def test_the_timer_skips_a_tick_while_the_previous_one_runs() -> None:
    client = FakeClient()
    settings = Settings.from_dict(backup_settings())
    assert asyncio.run(readiness_api.start_readiness(client, settings)) == "started readiness-qlp"
    client.put("readiness-qlp", "Running")
    assert (
        asyncio.run(readiness_api.start_readiness(client, settings))
        == "skipped: readiness-qlp is still running"
    )


def test_the_status_shows_the_last_ticks_score_and_the_checks_not_passing() -> None:
    blob = Blob()
    tick(blob, lag=1800.0)
    brief = status_api.readiness_brief(blob.state)
    assert brief is not None and brief["score"] == 92
    assert [c["name"] for c in brief["failing"]] == ["replica_lag"]
    assert status_api.readiness_brief(None) is None


def test_the_readiness_timer_reads_its_schedule_from_settings() -> None:
    (trigger,) = [b for b in functions()[names.TIMER_READINESS].get_bindings() if b.type == "timerTrigger"]
    assert trigger.schedule == "%CONTINUITY_READINESS_SCHEDULE%"
