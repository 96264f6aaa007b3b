"""POST /api/restore and POST /api/drills: bad input is a 400 naming the field or rule, and starts nothing."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import config, names, policy
from tests.support.durable import FakeClient, call_http, functions, http, reads_from
from tests.support.estate import PITR, estate
from tests.support.settings import BACKUP_ENV as ENV
from triggers import operations_api

READ_WINDOW = operations_api.read_window  # the real one: the fixture below replaces it for the other tests


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
    monkeypatch.setattr(operations_api, "read_window", lambda settings: server)
    return server


RESTORE, DRILLS = names.HTTP_RESTORE, names.HTTP_DRILLS


def _post(name: str, body: Any, client: FakeClient | None = None) -> tuple[int, dict[str, Any], FakeClient]:
    client = client or FakeClient()
    resp = asyncio.run(call_http(name, http("POST", "/api/x", body), client))
    return resp.status_code, json.loads(resp.get_body()), client


def _ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def test_a_valid_restore_starts_the_restore_run() -> None:
    status, body, client = _post(RESTORE, {"restore_point": _ago(hours=1), "reason": "corrupt"})
    assert status == 202, body
    assert re.fullmatch(r"restore-qlp-\d{8}T\d{6}-[0-9a-f]{4}", body["id"])
    (name, iid, payload) = client.runs()[0]
    assert name == names.RESTORE_ORCHESTRATOR and iid == body["id"]
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
    status, body, client = _post(RESTORE, {"restore_point": point(), "reason": "x"})
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
        ({"restore_point": "2026-11-29T10:00:00Z", "reason": "x", "by": "someone"}, "by"),
        (b"not json", "body"),
        ([1, 2], "body"),
    ],
)
def test_a_malformed_request_is_a_400_naming_the_field(body: Any, field: str) -> None:
    status, answer, client = _post(RESTORE, body)
    assert status == 400 and answer["field"] == field, answer
    assert client.started == []


def test_a_dry_run_returns_the_plan_and_starts_nothing() -> None:
    point = _ago(minutes=30)
    status, body, client = _post(
        RESTORE, {"restore_point": point, "reason": "x", "switch": True, "dry_run": True}
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
    client = FakeClient()
    held = {
        "run_id": "failover-qlp-20261129T110000-abcd",
        "operation": "failover",
        "orchestrator": "x",
        "input": {},
    }
    client.put("lock-qlp", "Running", name=names.LOCK_ORCHESTRATOR, input_=held)
    status, body, _ = _post(RESTORE, {"restore_point": _ago(hours=1), "reason": "x"}, client)
    assert status == 409 and "failover-qlp-20261129T110000-abcd" in body["reason"]
    assert client.started == []


def test_an_unreadable_source_server_is_a_503_and_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(settings: Any) -> dict[str, Any]:
        raise RuntimeError("transient: get server qlp-db-uksouth: 503")

    monkeypatch.setattr(operations_api, "read_window", broken)
    status, body, client = _post(RESTORE, {"restore_point": _ago(hours=1), "reason": "x"})
    assert status == 503 and "restore window" in body["problem"]
    assert client.started == []


@pytest.mark.parametrize(
    ("scenario", "orchestrator", "operation"),
    [
        ("restore", names.RESTORE_TEST_ORCHESTRATOR, "restore-test"),
        ("database", names.DRILL_ORCHESTRATOR, "drill"),
        ("region", names.DRILL_ORCHESTRATOR, "drill"),
        ("complete", names.DRILL_ORCHESTRATOR, "drill"),
    ],
)
def test_each_drill_scenario_starts_its_plan(scenario: str, orchestrator: str, operation: str) -> None:
    status, body, client = _post(DRILLS, {"scenario": scenario})
    assert status == 202, body
    (name, started_iid, payload) = client.runs()[0]
    assert (name, started_iid) == (orchestrator, body["id"])
    assert re.fullmatch(rf"{operation}-qlp-\d{{8}}T\d{{6}}-[0-9a-f]{{4}}", started_iid)
    if orchestrator == names.DRILL_ORCHESTRATOR:
        assert payload["scenario"] == scenario


@pytest.mark.parametrize(
    "body", [{}, {"scenario": "meteor"}, {"scenario": "region", "extra": 1}, {"scenario": 3}]
)
def test_a_bad_drill_request_is_a_400_and_starts_nothing(body: dict[str, Any]) -> None:
    status, answer, client = _post(DRILLS, body)
    assert status == 400 and answer["field"] in ("scenario", "extra")
    assert client.started == []


@pytest.mark.parametrize(("name", "route"), [(names.HTTP_RESTORE, "restore"), (names.HTTP_DRILLS, "drills")])
def test_the_endpoints_are_registered_as_keyed_posts(name: str, route: str) -> None:
    fn = functions()[name]
    trigger = next(b for b in fn.get_bindings() if b.type == "httpTrigger")
    assert trigger.route == route
    assert [getattr(m, "value", m).upper() for m in trigger.methods] == ["POST"]
    assert not str(trigger.auth_level).lower().endswith("anonymous")


def test_the_window_is_read_from_the_primary_found_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a restore with switch the source is the restored server, found by observing the estate."""
    monkeypatch.setattr(operations_api, "read_now", reads_from(estate("restored")))
    assert READ_WINDOW(config.load_settings(ENV))["name"] == PITR
    monkeypatch.setattr(operations_api, "read_now", reads_from(estate("split")))
    with pytest.raises(LookupError, match="refusing to choose a primary"):
        READ_WINDOW(config.load_settings(ENV))
