"""The operator API called as the host calls it: real HttpRequest objects and a fake durable client."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest

from shared import config, names
from tests.support.durable import FakeClient, call_http, http
from tests.support.settings import FAILOVER_ENV as ENV
from triggers import runs, runs_api, status_api

RUN_ID = re.compile(r"^failover-qlp-\d{8}T\d{6}-[0-9a-f]{4}$")


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    monkeypatch.setattr(runs, "report_summaries", lambda: [])  # no storage here: runs come from Durable
    monkeypatch.setattr(runs_api, "_read_report", lambda run_id: {"found": False})
    yield
    config.current_settings.cache_clear()


def call(name: str, req: func.HttpRequest, client: FakeClient | None = None) -> tuple[int, Any]:
    resp = asyncio.run(call_http(name, req, client or FakeClient()))
    return resp.status_code, json.loads(resp.get_body())


def failover(body: Any, client: FakeClient, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return call(names.HTTP_FAILOVER, http("POST", "/api/failover", body, headers=headers), client)


def hold_lock(client: FakeClient, run_id: str, operation: str) -> None:
    """The app's lock held by ``run_id`` (a run of ``operation``)."""
    held = {"run_id": run_id, "operation": operation, "orchestrator": "x", "input": {}}
    client.put("lock-qlp", "Running", name=names.LOCK_ORCHESTRATOR, input_=held)


# ---- POST /api/failover ----------------------------------------------------------------------------------
def test_failover_starts_a_run_of_its_own_holding_the_lock_with_links() -> None:
    client = FakeClient()
    resp = asyncio.run(
        call_http(
            names.HTTP_FAILOVER, http("POST", "/api/failover", {"reason": "drill", "mode": "planned"}), client
        )
    )
    assert resp.status_code == 202
    body = json.loads(resp.get_body())
    assert RUN_ID.match(body["id"]), body["id"]
    assert body["links"]["run"] == f"http://localhost:7071/api/runs/{body['id']}"
    assert body["links"]["report"] == f"http://localhost:7071/api/runs/{body['id']}/report"
    assert "statusQueryGetUri" in body["links"]
    assert resp.headers["Location"] == body["links"]["run"]
    ((lock, lock_id, held),) = client.started
    assert (lock, lock_id) == (names.LOCK_ORCHESTRATOR, "lock-qlp")
    assert (held["orchestrator"], held["run_id"], held["operation"]) == (
        names.FAILOVER_ORCHESTRATOR,
        body["id"],
        "failover",
    )
    payload = held["input"]
    assert payload["mode"] == "planned" and payload["dry_run"] is False and payload["run_id"] == body["id"]
    assert payload["trigger"] == {
        "kind": "operator",
        "source": "api",
        "reason": "drill",
        "by": "function key",
    }


def test_two_failovers_get_two_run_ids() -> None:
    client = FakeClient()
    _, first = failover({"reason": "x"}, client)
    client.put("lock-qlp", "Completed", name=names.LOCK_ORCHESTRATOR, input_=client.started[0][2])
    _, second = failover({"reason": "y"}, client)
    assert RUN_ID.match(first["id"]) and RUN_ID.match(second["id"]) and first["id"] != second["id"]


def test_the_actor_comes_from_easy_auth_never_from_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    claimed = {"x-ms-client-principal-name": "ops@example"}
    client = FakeClient()  # Easy Auth off: a principal header is anyone's claim, the actor is the key
    failover({"reason": "x"}, client, headers=claimed)
    assert client.runs()[0][2]["trigger"]["by"] == "function key"
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    client = FakeClient()
    failover({"reason": "x"}, client, headers={"x-ms-client-principal-name": "ops@example"})
    assert client.runs()[0][2]["trigger"]["by"] == "ops@example"
    principal = {"auth_typ": "aad", "name_typ": "name", "claims": [{"typ": "name", "val": "Ada Ops"}]}
    encoded = base64.b64encode(json.dumps(principal).encode()).decode()
    client = FakeClient()
    failover({"reason": "x"}, client, headers={"x-ms-client-principal": encoded})
    assert client.runs()[0][2]["trigger"]["by"] == "Ada Ops"
    status, body = failover({"reason": "x", "by": "someone else"}, FakeClient())
    assert (status, body["field"]) == (400, "by")


def test_rule1_failover_while_one_runs_is_409_naming_it() -> None:
    client = FakeClient()
    hold_lock(client, "failback-qlp-20261129T110000-abcd", "failback")
    status, body = failover({"reason": "x"}, client)
    assert status == 409
    assert (
        body["reason"]
        == "failover refused: failback-qlp-20261129T110000-abcd is already running for this app"
    )
    assert body["running"] == ["failback-qlp-20261129T110000-abcd"]
    assert not client.started


def test_rule1_of_two_concurrent_starts_exactly_one_wins() -> None:
    client = FakeClient()

    async def both() -> list[Any]:
        reqs = [http("POST", "/api/failover", {"reason": r}) for r in ("a", "b")]
        return list(await asyncio.gather(*(call_http(names.HTTP_FAILOVER, r, client) for r in reqs)))

    answers = asyncio.run(both())
    assert sorted(r.status_code for r in answers) == [202, 409]
    winner = next(json.loads(r.get_body()) for r in answers if r.status_code == 202)
    loser = next(json.loads(r.get_body()) for r in answers if r.status_code == 409)
    assert loser["running"] == [winner["id"]]
    assert len(client.started) == 1


def test_a_start_that_lost_a_race_the_host_accepted_is_409() -> None:
    """On a host that quietly accepts a second start, the lock read back names the winner: 409."""
    client = FakeClient()
    real_start = client.start_new

    async def start_and_lose(name: str, iid: str, input_: Any) -> str:
        await real_start(name, iid, input_)
        hold_lock(client, "failover-qlp-20261129T110000-beef", "failover")  # someone else's start landed
        return iid

    client.start_new = start_and_lose  # type: ignore[method-assign]
    status, body = failover({"reason": "x"}, client)
    assert status == 409 and body["running"] == ["failover-qlp-20261129T110000-beef"]


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (None, "body", "a JSON object is required"),
        (b"{bad", "body", "not valid JSON"),
        ("a string", "body", "must be a JSON object"),
        ({}, "reason", "is required: why, in a sentence (goes in the report and notifications)"),
        ({"reason": ""}, "reason", "must be a non-empty string"),
        ({"reason": 5}, "reason", "must be a non-empty string"),
        ({"reason": "x" * 501}, "reason", "must be at most 500 printable characters"),
        ({"reason": "a\x00b"}, "reason", "must be at most 500 printable characters"),
        ({"reason": "x", "mode": "yolo"}, "mode", "must be one of auto, planned, forced"),
        ({"reason": "x", "dry_run": "yes"}, "dry_run", "must be true or false"),
        ({"reason": "x", "region": "ukwest"}, "region", "unknown field (allowed: dry_run, mode, reason)"),
        (b'{"reason": "\\ud800"}', "reason", "is not valid Unicode (a lone surrogate)"),
        (b'{"reason": "x", "\\udfff": 1}', "body", "is not valid Unicode (a lone surrogate)"),
        (b'{"reason": ' + b"[" * 20 + b"]" * 20 + b"}", "reason", "nested deeper than 16 levels"),
        (b"[" * 30000 + b"]" * 30000, "body", "nested deeper than 16 levels"),
    ],
)
def test_bad_failover_requests_are_400_naming_field_and_problem(body: Any, field: str, problem: str) -> None:
    client = FakeClient()
    status, answer = failover(body, client)
    assert status == 400
    assert (answer["field"], answer["problem"]) == (field, problem)
    assert not client.started


def test_a_body_over_the_limit_is_413_and_starts_nothing() -> None:
    client = FakeClient()
    status, answer = failover({"reason": "x" * (70 * 1024)}, client)
    assert (status, answer["field"]) == (413, "body")
    assert not client.started


def test_an_unknown_query_parameter_on_a_start_is_400_and_starts_nothing() -> None:
    client = FakeClient()
    for params, field in (({"x": "1"}, "x"), ({"": "false"}, "query"), ({"\ud800": "1"}, "query")):
        req = http("POST", "/api/failover", {"reason": "x"}, params=params)
        status, answer = call(names.HTTP_FAILOVER, req, client)
        assert (status, answer["field"]) == (400, field), params
    assert not client.started
    req = http("POST", "/api/failover", {"reason": "x"}, params={"code": "the key"})
    assert call(names.HTTP_FAILOVER, req, client)[0] == 202  # the function key's parameter is the host's


def test_a_body_sent_as_another_media_type_is_415_and_starts_nothing() -> None:
    client = FakeClient()
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        status, answer = failover({"reason": "x"}, client, headers={"content-type": media})
        assert (status, answer["field"]) == (415, "Content-Type"), media
    assert not client.started
    for media in ("application/json; charset=utf-8", "application/merge-patch+json"):
        assert failover({"reason": "x"}, FakeClient(), headers={"content-type": media})[0] == 202


def test_dry_run_runs_under_its_own_id_without_the_lock_and_returns_the_plan() -> None:
    client = FakeClient()
    client.dry_output = {"dry_run": True, "plan": ["promote replica (forced) || start standby"]}
    status, body = failover({"reason": "what if", "mode": "forced", "dry_run": True}, client)
    assert status == 200
    assert body["plan"] == ["promote replica (forced) || start standby"]
    name, iid, payload = client.started[0]
    assert name == names.FAILOVER_ORCHESTRATOR
    assert iid.startswith("failover-dryrun-qlp-") and payload["dry_run"] is True and payload["run_id"] == iid


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
    assert status == 202 and body["id"].startswith("failback-qlp-")
    assert client.runs()[0][2]["slot"] == "green"
    client.instances.clear()
    status, body = call(
        names.HTTP_FAILBACK, http("POST", "/api/failback", {"reason": "b", "slot": "red"}), client
    )
    assert (status, body["field"]) == (400, "slot")
    assert len(client.started) == 1


# ---- runs ------------------------------------------------------------------------------------------------
WAITING = "failover-qlp-20261129T110000-aaaa"
FINISHED = "restore-qlp-20261128T100000-bbbb"


def waiting_client(step: str = "approval", awaiting: str = "approval", state: str = "Running") -> FakeClient:
    client = FakeClient()
    custom = {"operation": "failover", "step": step, "awaiting": awaiting, "reason": "lag over RPO"}
    client.put(WAITING, state, name=names.FAILOVER_ORCHESTRATOR, custom=custom)
    client.put(FINISHED, "Completed", custom={"operation": "restore"}, created="2026-11-28T10:00:00+00:00")
    hold_lock(client, WAITING, "failover")
    return client


def test_runs_are_listed_newest_first_and_filtered_and_the_lock_is_not_a_run() -> None:
    client = waiting_client()
    status, body = call(names.HTTP_RUNS, http("GET", "/api/runs"), client)
    assert status == 200 and [r["id"] for r in body["runs"]] == [WAITING, FINISHED]
    _, body = call(names.HTTP_RUNS, http("GET", "/api/runs", params={"operation": "restore"}), client)
    assert [r["id"] for r in body["runs"]] == [FINISHED]
    _, body = call(names.HTTP_RUNS, http("GET", "/api/runs", params={"status": "Running"}), client)
    assert [r["id"] for r in body["runs"]] == [WAITING]


def test_runs_whose_durable_record_is_gone_are_listed_from_their_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = waiting_client()
    purged = {"run_id": "failover-qlp-20261120T090000-cccc", "operation": "failover", "status": "succeeded",
              "started_at": "2026-11-20T09:00:00+00:00", "ended_at": "2026-11-20T09:20:00+00:00"}  # fmt: skip
    again = {
        "run_id": WAITING,
        "operation": "failover",
        "status": "running",
        "started_at": "2026-11-29T11:00:00+00:00",
    }
    monkeypatch.setattr(runs, "report_summaries", lambda: [purged, again])
    _, body = call(names.HTTP_RUNS, http("GET", "/api/runs"), client)
    assert [r["id"] for r in body["runs"]] == [WAITING, FINISHED, purged["run_id"]]
    listed = body["runs"][2]
    assert (listed["source"], listed["runtime_status"], listed["output"]) == (
        "report",
        "Completed",
        {"status": "succeeded"},
    )
    assert body["runs"][0]["source"] == "durable"  # Durable's view wins while it exists


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
        names.HTTP_RUN, http("GET", f"/api/runs/{WAITING}", route_params={"id": WAITING}), client
    )
    assert status == 200
    assert body["runtime_status"] == "Running"
    assert body["custom_status"]["reason"] == "lag over RPO"
    status, _ = call(names.HTTP_RUN, http("GET", "/api/runs/nope", route_params={"id": "nope"}), client)
    assert status == 404
    status, _ = call(
        names.HTTP_RUN, http("GET", "/api/runs/lock-qlp", route_params={"id": "lock-qlp"}), client
    )
    assert status == 404  # the lock is not a run
    status, body = call(names.HTTP_RUN, http("GET", "/api/runs/..", route_params={"id": "../x"}), client)
    assert (status, body["field"]) == (400, "id")


def test_a_purged_run_is_served_from_its_report(monkeypatch: pytest.MonkeyPatch) -> None:
    report = {
        "run_id": "failover-qlp-old",
        "operation": "failover",
        "status": "succeeded",
        "started_at": "t0",
    }
    monkeypatch.setattr(runs_api, "_read_report", lambda run_id: {"found": True, "report": report})
    status, body = call(
        names.HTTP_RUN, http("GET", "/api/runs/failover-qlp-old", route_params={"id": "failover-qlp-old"})
    )
    assert status == 200 and body["source"] == "report" and body["report"] == report


def test_the_report_route_serves_json_and_markdown(monkeypatch: pytest.MonkeyPatch) -> None:
    report = {
        "run_id": "r1",
        "operation": "failover",
        "status": "succeeded",
        "started_at": "2026-11-29T12:00Z",
    }
    report.update(steps=[], decisions=[], measurements={"rto_seconds": 42})
    monkeypatch.setattr(runs_api, "_read_report", lambda run_id: {"found": run_id == "r1", "report": report})
    req = http("GET", "/api/runs/r1/report", route_params={"id": "r1"})
    resp = asyncio.run(call_http(names.HTTP_RUN_REPORT, req))
    assert resp.status_code == 200 and json.loads(resp.get_body()) == report
    req = http("GET", "/api/runs/r1/report", params={"format": "markdown"}, route_params={"id": "r1"})
    resp = asyncio.run(call_http(names.HTTP_RUN_REPORT, req))
    assert resp.status_code == 200 and resp.mimetype == "text/markdown"
    text = resp.get_body().decode()
    assert "# failover run r1" in text and "| rto seconds | 42 s |" in text
    req = http("GET", "/api/runs/r2/report", route_params={"id": "r2"})
    assert asyncio.run(call_http(names.HTTP_RUN_REPORT, req)).status_code == 404
    req = http("GET", "/api/runs/r1/report", params={"format": "pdf"}, route_params={"id": "r1"})
    assert asyncio.run(call_http(names.HTTP_RUN_REPORT, req)).status_code == 400


def act(
    client: FakeClient,
    action: str,
    body: Any = None,
    iid: str = WAITING,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    req = http(
        "POST", f"/api/runs/{iid}/{action}", body, route_params={"id": iid, "action": action}, headers=headers
    )
    return call(names.HTTP_RUN_ACTION, req, client)


def test_approve_delivers_the_answer_with_the_principal_to_the_waiting_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    client = waiting_client()
    status, body = act(
        client, "approve", {"note": "lag accepted"}, headers={"x-ms-client-principal-name": "ops"}
    )
    assert (status, body["delivered"], body["by"]) == (202, "approve", "ops")
    assert client.events == [
        (WAITING, "approval", {"answer": "approve", "by": "ops", "note": "lag accepted"})
    ]
    status, body = act(waiting_client(), "approve", {"by": "mallory"})
    assert (status, body["field"]) == (400, "by")


def test_reject_during_the_grace_period_is_delivered() -> None:
    client = waiting_client(step="grace", awaiting="grace")
    status, _ = act(client, "reject")
    assert status == 202
    assert client.events[0][2]["answer"] == "reject" and client.events[0][2]["by"] == "function key"


def test_approve_when_not_waiting_is_409() -> None:
    client = waiting_client(step="switch_traffic", awaiting="")
    status, body = act(client, "approve")
    assert status == 409
    assert body["reason"] == f"run {WAITING} is at step switch_traffic, not waiting for approval"
    assert not client.events


def test_cancel_past_the_last_decision_point_is_409() -> None:
    client = waiting_client(step="promote", awaiting="")
    status, body = act(client, "cancel")
    assert status == 409
    assert (
        body["reason"]
        == f"run {WAITING} is at step promote, not at a decision point: it cannot be cancelled safely"
    )


def test_cancel_during_confirmation_is_delivered() -> None:
    client = waiting_client(step="confirm", awaiting="confirmation")
    assert act(client, "cancel")[0] == 202
    assert act(client, "approve")[0] == 409


def test_actions_on_finished_or_unknown_runs() -> None:
    client = waiting_client(state="Completed")
    assert act(client, "approve")[1]["reason"] == f"run {WAITING} is Completed: nothing to approve"
    assert act(client, "approve", iid="failover-none")[0] == 404
    assert act(client, "approve", iid="lock-qlp")[0] == 404  # the lock takes no answers
    status, body = act(client, "explode")
    assert (status, body["field"]) == (400, "action")
    status, body = act(waiting_client(), "approve", {"note": 7})
    assert (status, body["field"]) == (400, "note")


# ---- status ----------------------------------------------------------------------------------------------
def test_status_shows_topology_lag_backups_runs_and_objectives(monkeypatch: pytest.MonkeyPatch) -> None:
    observed = {
        "route": {"origin_group": "og-standby"},
        "primary_server": {"error": "transient: get pg-south: unreachable"},
        "replica_server": {"name": "pg-west", "state": "Ready", "role": "primary", "fqdn": "secret-free"},
        "replica_lag_seconds": None,
        "latest_backup": {"latest_age_seconds": 3600},
    }
    monkeypatch.setattr(status_api, "observe_status", lambda settings: observed)
    client = waiting_client()
    status, body = call(names.HTTP_STATUS, http("GET", "/api/status"), client)
    assert status == 200
    assert (body["primary_region"], body["live_slot"]) == ("ukwest", "standby")
    assert body["servers"]["replica"] == {"name": "pg-west", "state": "Ready", "role": "primary"}
    assert body["latest_backup_age_seconds"] == 3600
    assert body["running_operations"] == [WAITING]
    assert body["objectives"]["rpo_minutes"] == 15.0
    assert body["errors"] == {"primary_server": "transient: get pg-south: unreachable"}
    assert asyncio.run(runs.active_operations(client, "qlp")) == [WAITING]


def test_a_runs_report_link_is_the_apis_not_the_blob_address() -> None:
    client = FakeClient()
    blob = "http://127.0.0.1:10000/devstoreaccount1/continuity-reports/runs/r1/report.json"
    client.put("failover-qlp-r1", "Running", name=names.FAILOVER_ORCHESTRATOR, custom={"report": blob})
    req = http("GET", "/api/runs/failover-qlp-r1", route_params={"id": "failover-qlp-r1"})
    status, body = call(names.HTTP_RUN, req, client)
    assert status == 200
    assert body["custom_status"]["report"] == "/api/runs/failover-qlp-r1/report"
    assert body["links"] == {
        "run": "/api/runs/failover-qlp-r1",
        "report": "/api/runs/failover-qlp-r1/report",
        "markdown": "/api/runs/failover-qlp-r1/report?format=markdown",
    }


def test_status_shows_each_slots_image_and_the_last_drill_and_restore_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    observed = {
        "route": {"origin_group": "og-blue"},
        "slots": {
            "blue": {"group": "ci-blue", "state": "Running", "image": "app:1.4.0", "ip": "10.0.0.4"},
            "green": {"group": "ci-green", "exists": False, "state": None},
            "standby": {"group": "ci-west", "state": "Stopped", "image": "app:1.4.0"},
        },
    }
    summaries = [
        {
            "run_id": "drill-qlp-a",
            "operation": "drill-region",
            "status": "failed",
            "started_at": "2026-11-28",
        },
        {
            "run_id": "drill-qlp-b",
            "operation": "drill-complete",
            "status": "succeeded",
            "started_at": "2026-11-29",
        },
        {
            "run_id": "restore-test-qlp-c",
            "operation": "restore-test",
            "status": "succeeded",
            "started_at": "2026-11-27",
        },
        {
            "run_id": "failover-qlp-d",
            "operation": "failover",
            "status": "succeeded",
            "started_at": "2026-11-30",
        },
    ]
    monkeypatch.setattr(status_api, "observe_status", lambda settings: observed)
    monkeypatch.setattr(runs, "report_summaries", lambda: summaries)
    status, body = call(names.HTTP_STATUS, http("GET", "/api/status"), FakeClient())
    assert status == 200
    assert (body["live_slot"], body["live_image"], body["standby_image"]) == (
        "blue",
        "app:1.4.0",
        "app:1.4.0",
    )
    assert body["slots"]["blue"] == {"group": "ci-blue", "state": "Running", "image": "app:1.4.0"}
    assert body["slots"]["green"] == {"group": "ci-green", "exists": False, "state": None}
    assert body["last_drill"] == {
        "run_id": "drill-qlp-b",
        "operation": "drill-complete",
        "status": "succeeded",
        "started_at": "2026-11-29",
        "ended_at": None,
    }
    assert body["last_restore_test"]["run_id"] == "restore-test-qlp-c"
