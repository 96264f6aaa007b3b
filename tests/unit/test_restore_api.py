"""POST /api/restore and POST /api/drills: bad input is a 400 naming the field or rule, and starts nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import azure.functions as func
import pytest

from shared import config, names, policy
from tests.unit import fake_durable
from tests.unit.backup_fakes import ENV
from triggers import restore_api


class FakeClient:
    def __init__(self, running: dict[str, str] | None = None) -> None:
        self.running = dict(running or {})
        self.started: list[tuple[str, str, dict[str, Any]]] = []

    async def get_status(self, iid: str) -> Any:
        status = self.running.get(iid)
        return SimpleNamespace(runtime_status=SimpleNamespace(value=status)) if status else None

    async def start_new(self, name: str, iid: str, payload: dict[str, Any]) -> str:
        self.started.append((name, iid, payload))
        return iid

    def get_client_response_links(self, req: Any, iid: str) -> dict[str, str]:
        return {"statusQueryGetUri": f"http://localhost/runtime/webhooks/durabletask/instances/{iid}"}


@pytest.fixture(autouse=True)
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    yield
    config.current_settings.cache_clear()


@pytest.fixture(autouse=True)
def source_server(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    earliest = datetime.now(UTC) - timedelta(days=3)
    server = {
        "name": "qlp-db-uksouth",
        "earliest_restore_point": earliest.isoformat(),
        "backup_retention_days": 30,
    }
    monkeypatch.setattr(restore_api, "window_reader", lambda settings: server)
    return server


def _post(
    handler: Any, body: Any, client: FakeClient | None = None
) -> tuple[int, dict[str, Any], FakeClient]:
    client = client or FakeClient()
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = func.HttpRequest(method="POST", url="http://localhost/api/restore", body=raw)
    resp = asyncio.run(handler(req, client))
    return resp.status_code, json.loads(resp.get_body()), client


def _ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def test_a_valid_restore_starts_the_restore_run() -> None:
    status, body, client = _post(
        restore_api.start_restore, {"restore_point": _ago(hours=1), "reason": "corrupt"}
    )
    assert status == 202, body
    assert body["id"] == "restore-qlp"
    (name, iid, payload) = client.started[0]
    assert name == names.RESTORE_ORCHESTRATOR and iid == "restore-qlp"
    assert payload["switch"] is False and payload["reason"] == "corrupt"
    assert payload["settings"]["primary_server"] == "qlp-db-uksouth"
    assert parse(payload["requested_at"]) - parse(payload["restore_point"]) >= timedelta(hours=1)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.mark.parametrize(
    ("point", "rule"),
    [
        (lambda: (datetime.now(UTC) + timedelta(hours=1)).isoformat(), policy.RULE_NOT_IN_FUTURE),
        (lambda: _ago(days=4), policy.RULE_NOT_BEFORE_EARLIEST),
        (lambda: _ago(days=31), policy.RULE_INSIDE_RETENTION),
    ],
)
def test_an_invalid_restore_point_is_a_400_naming_the_rule_and_starts_nothing(point: Any, rule: str) -> None:
    status, body, client = _post(restore_api.start_restore, {"restore_point": point(), "reason": "x"})
    assert status == 400
    assert body["rule"] == rule and body["field"] == "restore_point"
    assert body["problem"]
    assert client.started == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x"}, "restore_point"),
        ({"restore_point": "yesterday", "reason": "x"}, "restore_point"),
        ({"restore_point": "2026-11-29T10:00:00", "reason": "x"}, "restore_point"),
        ({"restore_point": 1732870000, "reason": "x"}, "restore_point"),
        ({"restore_point": "2026-11-29T10:00:00Z"}, "reason"),
        ({"restore_point": "2026-11-29T10:00:00Z", "reason": "x", "switch": "yes"}, "switch"),
        ({"restore_point": "2026-11-29T10:00:00Z", "reason": "x", "dry_run": 1}, "dry_run"),
        ({"restore_point": "2026-11-29T10:00:00Z", "reason": "x", "target": "prod"}, "target"),
        (b"not json", "body"),
        ([1, 2], "body"),
    ],
)
def test_a_malformed_request_is_a_400_naming_the_field(body: Any, field: str) -> None:
    status, answer, client = _post(restore_api.start_restore, body)
    assert status == 400 and answer["field"] == field, answer
    assert client.started == []


def test_a_dry_run_returns_the_plan_and_starts_nothing() -> None:
    point = _ago(minutes=30)
    status, body, client = _post(
        restore_api.start_restore, {"restore_point": point, "reason": "x", "switch": True, "dry_run": True}
    )
    assert status == 200 and client.started == []
    plan = body["plan"]
    assert plan["source_server"] == "qlp-db-uksouth"
    assert plan["target_server"].startswith("qlp-db-uksouth-pitr-")
    assert plan["restore_point"] == datetime.fromisoformat(point).isoformat()
    assert plan["checks"]["row_counts"] == ["intents"]
    assert "no sentinel after the restore point" in plan["checks"]["sql"]
    assert plan["switch"]["requested"] is True and "stopped, not deleted" in plan["switch"]["old_server"]
    assert 1790 <= plan["data_loss_window_seconds"] <= 1900


def test_a_restore_during_a_failover_is_a_409() -> None:
    client = FakeClient({"failover-qlp": "Running"})
    status, body, _ = _post(
        restore_api.start_restore, {"restore_point": _ago(hours=1), "reason": "x"}, client
    )
    assert status == 409 and "failover-qlp" in body["reason"]
    assert client.started == []


def test_an_unreadable_source_server_is_a_503_and_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(settings: Any) -> dict[str, Any]:
        raise RuntimeError("transient: get server qlp-db-uksouth: 503")

    monkeypatch.setattr(restore_api, "window_reader", broken)
    status, body, client = _post(restore_api.start_restore, {"restore_point": _ago(hours=1), "reason": "x"})
    assert status == 503 and "restore window" in body["problem"]
    assert client.started == []


@pytest.mark.parametrize(
    ("scenario", "orchestrator", "iid"),
    [
        ("restore", names.RESTORE_TEST_ORCHESTRATOR, "restore-test-qlp"),
        ("database", names.DRILL_ORCHESTRATOR, "drill-qlp"),
        ("region", names.DRILL_ORCHESTRATOR, "drill-qlp"),
        ("complete", names.DRILL_ORCHESTRATOR, "drill-qlp"),
    ],
)
def test_each_drill_scenario_starts_its_plan(scenario: str, orchestrator: str, iid: str) -> None:
    status, body, client = _post(restore_api.start_drill, {"scenario": scenario})
    assert status == 202, body
    (name, started_iid, payload) = client.started[0]
    assert (name, started_iid) == (orchestrator, iid)
    if orchestrator == names.DRILL_ORCHESTRATOR:
        assert payload["scenario"] == scenario


@pytest.mark.parametrize(
    "body", [{}, {"scenario": "meteor"}, {"scenario": "region", "extra": 1}, {"scenario": 3}]
)
def test_a_bad_drill_request_is_a_400_and_starts_nothing(body: dict[str, Any]) -> None:
    status, answer, client = _post(restore_api.start_drill, body)
    assert status == 400 and answer["field"] in ("scenario", "extra")
    assert client.started == []


@pytest.mark.parametrize(("name", "route"), [(names.HTTP_RESTORE, "restore"), (names.HTTP_DRILLS, "drills")])
def test_the_endpoints_are_registered_as_keyed_posts(name: str, route: str) -> None:
    fake_durable.registered(names.HTTP_HEALTH)  # the app is indexed once per process
    fn = fake_durable._FUNCTIONS[name]
    trigger = next(b for b in fn.get_bindings() if b.type == "httpTrigger")
    assert trigger.route == route
    assert [getattr(m, "value", m).upper() for m in trigger.methods] == ["POST"]
    assert not str(trigger.auth_level).lower().endswith("anonymous")
