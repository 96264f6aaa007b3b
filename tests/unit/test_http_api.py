"""The operator API called as the host calls it: real HttpRequest objects and a fake durable client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest

from shared import config, names
from tests.unit.fake_durable import FakeClient, call_http, http
from tests.unit.test_failover import ENV
from triggers import http_api


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    yield
    config.current_settings.cache_clear()


def call(name: str, req: func.HttpRequest, client: FakeClient | None = None) -> tuple[int, Any]:
    resp = asyncio.run(call_http(name, req, client or FakeClient()))
    return resp.status_code, json.loads(resp.get_body())


def failover(body: Any, client: FakeClient) -> tuple[int, Any]:
    return call(names.HTTP_FAILOVER, http("POST", "/api/failover", body), client)


# ---- POST /api/failover ----------------------------------------------------------------------------------
def test_failover_starts_the_singleton_run_with_links() -> None:
    client = FakeClient()
    resp = asyncio.run(
        call_http(
            names.HTTP_FAILOVER, http("POST", "/api/failover", {"reason": "drill", "mode": "planned"}), client
        )
    )
    assert resp.status_code == 202
    body = json.loads(resp.get_body())
    assert body["id"] == "failover-qlp"
    assert body["links"]["run"] == "http://localhost:7071/api/runs/failover-qlp"
    assert "statusQueryGetUri" in body["links"]
    assert resp.headers["Location"] == body["links"]["run"]
    payload = client.started[0][2]
    assert payload["mode"] == "planned" and payload["dry_run"] is False
    assert payload["trigger"] == {"kind": "operator", "source": "api", "reason": "drill", "by": "operator"}


def test_failover_takes_the_operator_from_easy_auth() -> None:
    client = FakeClient()
    req = http(
        "POST", "/api/failover", {"reason": "x"}, headers={"x-ms-client-principal-name": "ops@example"}
    )
    call(names.HTTP_FAILOVER, req, client)
    assert client.started[0][2]["trigger"]["by"] == "ops@example"


def test_rule1_failover_while_one_runs_is_409_naming_it() -> None:
    client = FakeClient()
    client.put("failback-qlp", "Running")
    status, body = failover({"reason": "x"}, client)
    assert status == 409
    assert body["reason"] == "failover refused: failback-qlp is already running for this app"
    assert body["running"] == ["failback-qlp"]
    assert not client.started


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (None, "body", "a JSON object is required"),
        (b"{bad", "body", "not valid JSON"),
        ("a string", "body", "must be a JSON object"),
        ({}, "reason", "is required"),
        ({"reason": ""}, "reason", "must be a non-empty string"),
        ({"reason": 5}, "reason", "must be a non-empty string"),
        ({"reason": "x" * 501}, "reason", "must be at most 500 printable characters"),
        ({"reason": "a\x00b"}, "reason", "must be at most 500 printable characters"),
        ({"reason": "x", "mode": "yolo"}, "mode", "must be one of auto, planned, forced"),
        ({"reason": "x", "dry_run": "yes"}, "dry_run", "must be true or false"),
        ({"reason": "x", "region": "ukwest"}, "region", "unknown field (allowed: by, dry_run, mode, reason)"),
    ],
)
def test_bad_failover_requests_are_400_naming_field_and_problem(body: Any, field: str, problem: str) -> None:
    client = FakeClient()
    status, answer = failover(body, client)
    assert status == 400
    assert (answer["field"], answer["problem"]) == (field, problem)
    assert not client.started


def test_dry_run_runs_under_a_scratch_id_and_returns_the_plan() -> None:
    client = FakeClient()
    client.dry_output = {"dry_run": True, "plan": ["promote replica (forced) || start standby"]}
    status, body = failover({"reason": "what if", "mode": "forced", "dry_run": True}, client)
    assert status == 200
    assert body["plan"] == ["promote replica (forced) || start standby"]
    name, iid, payload = client.started[0]
    assert name == names.FAILOVER_ORCHESTRATOR
    assert iid.startswith("failover-qlp-dryrun-") and payload["dry_run"] is True


def test_settings_problems_are_503_and_start_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTINUITY_PUBLIC_URL")
    config.current_settings.cache_clear()
    client = FakeClient()
    status, body = failover({"reason": "x"}, client)
    assert status == 503
    assert any("CONTINUITY_PUBLIC_URL" in p for p in body["problems"])
    assert not client.started


# ---- POST /api/failback ----------------------------------------------------------------------------------
def test_failback_starts_and_validates_the_slot() -> None:
    client = FakeClient()
    status, body = call(
        names.HTTP_FAILBACK, http("POST", "/api/failback", {"reason": "back", "slot": "green"}), client
    )
    assert (status, body["id"]) == (202, "failback-qlp")
    assert client.started[0][2]["slot"] == "green"
    status, body = call(
        names.HTTP_FAILBACK, http("POST", "/api/failback", {"reason": "b", "slot": "red"}), client
    )
    assert (status, body["field"]) == (400, "slot")
    assert len(client.started) == 1


# ---- runs ------------------------------------------------------------------------------------------------
def waiting_client(step: str = "approval", awaiting: str = "approval", state: str = "Running") -> FakeClient:
    client = FakeClient()
    custom = {"operation": "failover", "step": step, "awaiting": awaiting, "reason": "lag over RPO"}
    client.put("failover-qlp", state, name=names.FAILOVER_ORCHESTRATOR, custom=custom)
    client.put(
        "restore-qlp", "Completed", custom={"operation": "restore"}, created="2026-11-28T10:00:00+00:00"
    )
    return client


def test_runs_are_listed_newest_first_and_filtered() -> None:
    client = waiting_client()
    status, body = call(names.HTTP_RUNS, http("GET", "/api/runs"), client)
    assert status == 200 and [r["id"] for r in body["runs"]] == ["failover-qlp", "restore-qlp"]
    _, body = call(names.HTTP_RUNS, http("GET", "/api/runs", params={"operation": "restore"}), client)
    assert [r["id"] for r in body["runs"]] == ["restore-qlp"]
    _, body = call(names.HTTP_RUNS, http("GET", "/api/runs", params={"status": "Running"}), client)
    assert [r["id"] for r in body["runs"]] == ["failover-qlp"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "Happy"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"x": "1"}, "x"),
    ],
)
def test_bad_run_filters_are_400(params: dict[str, str], field: str) -> None:
    status, body = call(names.HTTP_RUNS, http("GET", "/api/runs", params=params))
    assert (status, body["field"]) == (400, field)


def test_get_run_shows_step_and_reason_or_404() -> None:
    client = waiting_client()
    status, body = call(
        names.HTTP_RUN, http("GET", "/api/runs/failover-qlp", route_params={"id": "failover-qlp"}), client
    )
    assert status == 200
    assert body["runtime_status"] == "Running"
    assert body["custom_status"]["reason"] == "lag over RPO"
    status, _ = call(names.HTTP_RUN, http("GET", "/api/runs/nope", route_params={"id": "nope"}), client)
    assert status == 404
    status, body = call(names.HTTP_RUN, http("GET", "/api/runs/..", route_params={"id": "../x"}), client)
    assert (status, body["field"]) == (400, "id")


def act(client: FakeClient, action: str, body: Any = None, iid: str = "failover-qlp") -> tuple[int, Any]:
    req = http("POST", f"/api/runs/{iid}/{action}", body, route_params={"id": iid, "action": action})
    return call(names.HTTP_RUN_ACTION, req, client)


def test_approve_delivers_the_answer_to_the_waiting_run() -> None:
    client = waiting_client()
    status, body = act(client, "approve", {"by": "ops", "note": "lag accepted"})
    assert (status, body["delivered"]) == (202, "approve")
    assert client.events == [
        ("failover-qlp", "approval", {"answer": "approve", "by": "ops", "note": "lag accepted"})
    ]


def test_reject_during_the_grace_period_is_delivered() -> None:
    client = waiting_client(step="grace", awaiting="grace")
    status, _ = act(client, "reject")
    assert status == 202
    assert client.events[0][2]["answer"] == "reject"


def test_approve_when_not_waiting_is_409() -> None:
    client = waiting_client(step="switch_traffic", awaiting="")
    status, body = act(client, "approve")
    assert status == 409
    assert body["reason"] == "run failover-qlp is at step switch_traffic, not waiting for approval"
    assert not client.events


def test_cancel_past_the_last_decision_point_is_409() -> None:
    client = waiting_client(step="promote", awaiting="")
    status, body = act(client, "cancel")
    assert status == 409
    assert (
        body["reason"]
        == "run failover-qlp is at step promote, not at a decision point: it cannot be cancelled safely"
    )


def test_cancel_during_confirmation_is_delivered() -> None:
    client = waiting_client(step="confirm", awaiting="confirmation")
    assert act(client, "cancel")[0] == 202
    assert act(client, "approve")[0] == 409


def test_actions_on_finished_or_unknown_runs() -> None:
    client = waiting_client(state="Completed")
    assert act(client, "approve")[1]["reason"] == "run failover-qlp is Completed: nothing to approve"
    assert act(client, "approve", iid="failover-none")[0] == 404
    status, body = act(client, "explode")
    assert (status, body["field"]) == (400, "action")
    status, body = act(waiting_client(), "approve", {"note": 7})
    assert (status, body["field"]) == (400, "note")


# ---- status ----------------------------------------------------------------------------------------------
def test_status_shows_topology_lag_backups_runs_and_objectives(monkeypatch: pytest.MonkeyPatch) -> None:
    estate = {
        "route": {"origin_group": "og-standby"},
        "primary_server": {"error": "transient: get pg-south: unreachable"},
        "replica_server": {"name": "pg-west", "state": "Ready", "role": "primary", "fqdn": "secret-free"},
        "replica_lag_seconds": None,
        "latest_backup": {"latest_age_seconds": 3600},
    }
    monkeypatch.setattr(http_api, "estate_reader", lambda settings: estate)
    client = waiting_client()
    status, body = call(names.HTTP_STATUS, http("GET", "/api/status"), client)
    assert status == 200
    assert (body["primary_region"], body["live_slot"]) == ("ukwest", "standby")
    assert body["servers"]["replica"] == {"name": "pg-west", "state": "Ready", "role": "primary"}
    assert body["latest_backup_age_seconds"] == 3600
    assert body["running_operations"] == ["failover-qlp"]
    assert body["objectives"]["rpo_minutes"] == 15.0
    assert body["errors"] == {"primary_server": "transient: get pg-south: unreachable"}
