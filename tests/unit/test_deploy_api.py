"""The deployments API: validated bodies (400 naming the field), the shared lock (409), dry runs, the
emergency rollback preempting a deploy in flight, and the releases observed now."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared import config, names
from tests.support.deploy_estate import GROUPS, REPO, DeployEstate, released
from tests.support.durable import FakeClient, call_http, http, reads_from
from tests.support.settings import BACKUP_ENV
from triggers import deploy_api

DEPLOY = "deploy-qlp-20261129T115800-abcd"


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {**BACKUP_ENV, "CONTINUITY_IMAGE_REPOSITORY": REPO}.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    yield
    config.current_settings.cache_clear()


def call(
    name: str, path: str, body: Any = None, client: FakeClient | None = None, method: str = "POST"
) -> tuple[int, Any]:
    resp = asyncio.run(call_http(name, http(method, path, body), client or FakeClient()))
    return resp.status_code, json.loads(resp.get_body())


def deploy(body: Any, client: FakeClient | None = None) -> tuple[int, Any]:
    return call(names.HTTP_DEPLOYMENTS, "/api/deployments", body, client)


def hold(client: FakeClient, operation: str = "deploy", run_id: str = DEPLOY) -> None:
    held = {"run_id": run_id, "operation": operation, "orchestrator": "x", "input": {}}
    client.put("lock-qlp", "Running", name=names.LOCK_ORCHESTRATOR, input_=held, custom=held)


def test_a_deploy_starts_holding_the_lock_with_the_full_image_reference() -> None:
    client = FakeClient()
    status, body = deploy({"image": "1.1.0", "reason": "release 1.1", "change_id": "CHG-1"}, client)
    assert status == 202 and body["status"] == "started" and body["id"].startswith("deploy-qlp-")
    ((orchestrator, run_id, payload),) = client.runs()
    assert (orchestrator, run_id) == (names.BLUE_GREEN_ORCHESTRATOR, body["id"])
    assert payload["image"] == f"{REPO}:1.1.0" and payload["change_id"] == "CHG-1"
    assert payload["trigger"] == {
        "kind": "operator",
        "source": "api",
        "reason": "release 1.1",
        "by": "function key",
    }
    assert (payload["force_window"], payload["retry_quarantined"], payload["not_before"]) == (
        False,
        False,
        None,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x"}, "image"),
        ({"image": "1.1.0"}, "reason"),
        ({"image": "evil.io/app:1", "reason": "x"}, "image"),
        ({"image": f"{REPO}:bad tag", "reason": "x"}, "image"),
        ({"image": "1.1.0", "reason": "x", "by": "mallory"}, "by"),
        ({"image": "1.1.0", "reason": "x", "not_before": "tomorrow"}, "not_before"),
        ({"image": "1.1.0", "reason": "x", "force_window": "yes"}, "force_window"),
    ],
)
def test_a_bad_deploy_request_names_the_field_and_starts_nothing(body: dict[str, Any], field: str) -> None:
    client = FakeClient()
    status, answer = deploy(body, client)
    assert (status, answer["field"]) == (400, field) and client.started == []


def test_no_deploy_while_another_deploy_or_a_dr_operation_runs() -> None:
    for operation in ("deploy", "failover", "restore"):
        client = FakeClient()
        hold(client, operation, f"{operation}-qlp-1")
        status, answer = deploy({"image": "1.1.0", "reason": "x"}, client)
        assert status == 409 and answer["running"] == [f"{operation}-qlp-1"] and client.started == []


def test_a_dry_run_runs_unlocked_and_answers_its_plan() -> None:
    client = FakeClient()
    client.dry_output = {"status": "dry-run", "plan": {"image": f"{REPO}:1.1.0"}}
    status, body = deploy(
        {"image": "1.1.0", "reason": "what if", "dry_run": True, "not_before": "2026-12-01T03:00:00Z"}, client
    )
    assert status == 200 and body["plan"]["image"] == f"{REPO}:1.1.0"
    ((name, iid, payload),) = client.started
    assert name == names.BLUE_GREEN_ORCHESTRATOR and iid.startswith("deploy-dryrun-qlp-")
    assert payload["dry_run"] is True and payload["not_before"] == "2026-12-01T03:00:00+00:00"


def rollback(body: Any, client: FakeClient) -> tuple[int, Any]:
    return call(names.HTTP_ROLLBACK, "/api/rollback", body, client)


def test_an_emergency_rollback_starts_on_its_own_or_preempts_a_deploy_in_flight() -> None:
    client = FakeClient()
    status, body = rollback({"reason": "errors", "to_image": "1.0.0"}, client)
    assert status == 202 and client.runs()[0][0] == names.ROLLBACK_ORCHESTRATOR
    assert client.runs()[0][2]["to_image"] == f"{REPO}:1.0.0"
    busy = FakeClient()
    hold(busy)
    status, body = rollback({"reason": "errors after the switch"}, busy)
    assert status == 202 and (body["status"], body["preempts"]) == ("preempting", DEPLOY)
    assert busy.started == [] and [(i, e) for i, e, _ in busy.events] == [
        ("lock-qlp", "preempt"),
        (DEPLOY, "preempt"),
    ]
    queued = busy.events[0][2]
    assert queued["orchestrator"] == names.ROLLBACK_ORCHESTRATOR and queued["input"]["run_id"] == body["id"]


def test_a_rollback_is_refused_while_a_dr_operation_runs() -> None:
    client = FakeClient()
    hold(client, "failover", "failover-qlp-1")
    status, _ = rollback({"reason": "x"}, client)
    assert status == 409 and client.events == [] and client.started == []
    assert rollback({"reason": "x", "to_image": "nope nope"}, FakeClient())[1]["field"] == "to_image"


def test_releases_show_what_runs_where_and_the_history(monkeypatch: pytest.MonkeyPatch) -> None:
    estate = DeployEstate(live="green", live_image="1.1.0", idle_image="1.0.0")
    estate.history(released("deploy", "1.1.0", slot="green", previous_image="1.0.0", previous_slot="blue"))
    estate.groups[GROUPS["standby"]]["image"] = f"{REPO}:1.0.0"  # the standby did not follow
    monkeypatch.setattr(deploy_api, "read_now", reads_from(estate.activities()))
    status, body = call(names.HTTP_RELEASES, "/api/releases", client=FakeClient(), method="GET")
    assert status == 200 and body["live_slot"] == "green"
    assert body["live"]["image"] == f"{REPO}:1.1.0" and body["idle"]["group"] == GROUPS["blue"]
    assert body["standby_matches"] is False and body["mismatch"].startswith("the DR standby runs")
    assert [e["outcome"] for e in body["history"]] == ["succeeded"]
