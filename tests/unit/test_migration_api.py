"""The migrations API and a deploy's ``migration``: validated bodies (400 naming the field, nothing
started), contract refused inside a deploy, an expand run before the idle slot is created, a breaking one in
maintenance mode until the new slot serves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared import config, names
from tests.support.deploy_estate import GROUPS, REPO, deploy_input
from tests.support.durable import FakeClient, call_http, drive, http, orchestrator
from tests.support.migration_estate import MigrationEstate, migration_settings
from tests.support.settings import BACKUP_ENV
from triggers import deploy_api, migration_api  # noqa: F401  (their routes are registered on import)

DEPLOY = orchestrator(names.BLUE_GREEN_ORCHESTRATOR)


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {**BACKUP_ENV, "CONTINUITY_IMAGE_REPOSITORY": REPO}.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    yield
    config.current_settings.cache_clear()


def post(name: str, path: str, body: Any, client: FakeClient) -> tuple[int, Any]:
    resp = asyncio.run(call_http(name, http("POST", path, body), client))
    return resp.status_code, json.loads(resp.get_body())


def test_a_migration_starts_holding_the_lock() -> None:
    client = FakeClient()
    body = {"image": "migrate-4", "reason": "schema 4", "target_version": 4, "class": "breaking"}
    status, answer = post(names.HTTP_MIGRATIONS, "/api/migrations", body, client)
    assert status == 202 and answer["id"].startswith("migration-qlp-")
    ((name, _, payload),) = client.runs()
    assert name == names.MIGRATION_ORCHESTRATOR
    assert (payload["image"], payload["target_version"], payload["class"]) == (
        f"{REPO}:migrate-4",
        4,
        "breaking",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"image": "migrate-4", "reason": "x", "target_version": "4", "class": "expand"}, "target_version"),
        ({"image": "migrate-4", "reason": "x", "target_version": 4, "class": "drop"}, "class"),
        ({"image": "migrate-4", "reason": "x", "target_version": 4}, "class"),
        ({"image": "migrate-4", "reason": "x", "target_version": 4, "class": "expand", "by": "m"}, "by"),
    ],
)
def test_a_bad_migration_request_names_the_field_and_starts_nothing(body: dict[str, Any], field: str) -> None:
    client = FakeClient()
    status, answer = post(names.HTTP_MIGRATIONS, "/api/migrations", body, client)
    assert (status, answer["field"]) == (400, field) and client.runs() == []


def test_maintenance_needs_enabled_and_a_reason() -> None:
    client = FakeClient()
    status, answer = post(
        names.HTTP_MAINTENANCE, "/api/maintenance", {"enabled": "no", "reason": "x"}, client
    )
    assert (status, answer["field"]) == (400, "enabled") and client.runs() == []
    status, _ = post(names.HTTP_MAINTENANCE, "/api/maintenance", {"enabled": False, "reason": "x"}, client)
    assert status == 202 and client.runs()[0][0] == names.MAINTENANCE_ORCHESTRATOR


@pytest.mark.parametrize(
    ("migration", "field", "says"),
    [
        ({"image": "migrate-5", "target_version": 5, "class": "contract"}, "migration.class", "on its own"),
        ({"image": "migrate-5", "target_version": 5}, "migration.class", "required"),
        (
            {"image": "migrate-5", "target_version": -1, "class": "expand"},
            "migration.target_version",
            "whole",
        ),
        (
            {"image": "evil.io/x:1", "target_version": 5, "class": "expand"},
            "migration.image",
            "tag or digest",
        ),
        ({"image": "migrate-5", "target_version": 5, "class": "expand", "x": 1}, "migration.x", "unknown"),
    ],
)
def test_a_deploys_migration_is_validated_and_contract_is_refused(
    migration: dict[str, Any], field: str, says: str
) -> None:
    client = FakeClient()
    body = {"image": "1.1.0", "reason": "release", "migration": migration}
    status, answer = post(names.HTTP_DEPLOYMENTS, "/api/deployments", body, client)
    assert (status, answer["field"]) == (400, field) and says in answer["problem"] and client.runs() == []


def test_an_expand_carried_by_a_deploy_runs_before_the_idle_slot_is_created() -> None:
    estate = MigrationEstate()
    migration = {"image": f"{REPO}:migrate-4", "target_version": 4, "class": "expand"}
    settings = migration_settings()
    ctx = estate.context(deploy_input(migration=migration, settings=settings))
    out = drive(DEPLOY, ctx)
    assert out["status"] == "succeeded", out["summary"]
    ensured = [p["group"] for p in ctx.payloads(names.CONTAINERS_ENSURE_GROUP)]
    assert "migrate" in ensured[0] and ensured[1] == GROUPS["green"]  # the job first, then the idle slot
    assert estate.version == 4 and estate.maintenance.get(GROUPS["blue"]) is None  # online: no maintenance
    kinds = [(e["kind"], e.get("class"), e["schema_version"]) for e in estate.logs["releases-qlp"]]
    assert kinds == [("migration", "expand", 4), ("deploy", None, 4)]


def test_a_breaking_migration_carried_by_a_deploy_keeps_maintenance_until_the_new_slot_serves() -> None:
    estate = MigrationEstate()
    migration = {"image": f"{REPO}:migrate-4", "target_version": 4, "class": "breaking"}
    ctx = estate.context(deploy_input(migration=migration, settings=migration_settings()))
    out = drive(DEPLOY, ctx)
    assert out["status"] == "succeeded", out["summary"]
    steps = [s["name"] for s in ctx.last_report()["steps"]]
    order = ["baseline", "maintenance-on", "drain", "job", "verify-version", "idle-slot", "switch"]
    assert [s for s in steps if s in order] == order, steps
    assert steps.index("verify-writes") > steps.index("switch") and "maintenance-off" not in steps
    ensured = [
        p
        for p in ctx.payloads(names.CONTAINERS_ENSURE_GROUP)
        if p["group"] in (GROUPS["blue"], GROUPS["green"])
    ]
    assert [(p["group"], p["environment"]["MAINTENANCE_MODE"]) for p in ensured] == [
        (GROUPS["blue"], "true"),  # the old release never writes on the new schema
        (GROUPS["green"], "false"),  # the new release, created like the live slot, is not in maintenance
    ]
    assert estate.version == 4 and estate.maintenance[GROUPS["blue"]] == "true"
    assert out["measurements"]["write_unavailable_seconds"] > 0
    kinds = [(e["kind"], e.get("class"), e["schema_version"]) for e in estate.logs["releases-qlp"]]
    assert kinds == [("migration", "breaking", 4), ("deploy", None, 4)]


def test_a_new_release_that_fails_after_a_breaking_migration_leaves_maintenance_on_and_pages() -> None:
    estate = MigrationEstate()
    migration = {"image": f"{REPO}:migrate-4", "target_version": 4, "class": "breaking"}
    inp = deploy_input("1.1.0-broken", migration=migration, settings=migration_settings())
    ctx = estate.context(inp)
    out = drive(DEPLOY, ctx)
    assert out["status"] == "failed" and ctx.notifications[-1]["page"] is True, out["summary"]
    assert "maintenance mode stays on" in out["summary"] and "POST /api/restore" in out["summary"]
    assert (
        estate.maintenance[GROUPS["blue"]] == "true" and estate.live_group() == GROUPS["blue"]
    )  # no traffic moved
    assert ctx.last_report()["restore"]["reason"].startswith("return to the anchor")
