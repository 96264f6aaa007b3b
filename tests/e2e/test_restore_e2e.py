"""End to end on devhost + sandbox: the restore test, invalid restore points, and restore after corruption."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from sandbox.client import SandboxClient
from tests.fixtures.devhost import DevhostProcess
from tests.fixtures.sandbox import SandboxFactory, start_sandbox, stop_sandbox
from tests.support.e2e import (
    RESTORE_DEADLINE,
    SANDBOX_CONFIG,
    app_env,
    post,
    run_report,
    servers,
    start_devhost,
    wait_run,
    watch_tick,
)
from tests.support.receiver import Receiver, running_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[SandboxClient, DevhostProcess, Receiver]]:
    """One sandbox for the tests that leave the estate as they found it, with devhost on it."""
    sb = start_sandbox(config=SANDBOX_CONFIG)
    try:
        with running_receiver() as hook:
            host = start_devhost(app_env(sb, hook))
            try:
                yield sb, host, hook
            finally:
                host.stop()
    finally:
        stop_sandbox(sb.state_dir)


def _events(hook: Receiver, run_id: str) -> list[str]:
    return [m["event"] for m in hook.messages(lambda m: m.get("run_id") == run_id)]


def test_restore_test_passes_on_a_healthy_estate_and_leaves_no_scratch_server(
    shared: tuple[SandboxClient, DevhostProcess, Receiver],
) -> None:
    sb, host, hook = shared
    _write_intents(sb.endpoints["frontdoor_url"], [f"intent before the restore test #{i}" for i in range(5)])
    before = servers(sb)
    status, started = post(host, "/api/drills", {"scenario": "restore"})
    assert status == 202, started
    assert started["id"].startswith("restore-test-qlp-"), started
    view = wait_run(host, started["id"], timeout=RESTORE_DEADLINE)
    report = run_report(host, started["id"])
    assert view["output"]["status"] == report["status"] == "succeeded", report["summary"]
    assert report["verdict"]["passed"]
    names = [c["name"] for c in report["checks"]]
    assert any(n.endswith("-before present") for n in names) and any(
        n.endswith("-after absent") for n in names
    )
    assert report["measurements"]["restore_seconds"] > 0
    counted = report["measurements"]["source_row_counts"]["intents"]
    assert counted >= 5 and report["measurements"]["row_counts"]["intents"] >= counted
    assert report["resources"]["scratch_server"] not in servers(sb)
    assert servers(sb) == before
    assert _events(hook, started["id"]) == ["completed"]


def test_restore_test_fails_and_notifies_when_a_check_fails(
    shared: tuple[SandboxClient, DevhostProcess, Receiver],
) -> None:
    sb, _, hook = shared
    impossible = json.dumps([{"name": "a-million-intents", "sql": "select count(*) >= 1000000 from intents"}])
    host = start_devhost(app_env(sb, hook, verify_sql=impossible))
    try:
        before = servers(sb)
        status, started = post(host, "/api/drills", {"scenario": "restore"})
        assert status == 202, started
        output = wait_run(host, started["id"], timeout=RESTORE_DEADLINE)["output"]
        report = run_report(host, started["id"])
        assert output["status"] == report["status"] == "failed"
        (reason,) = report["verdict"]["reasons"]
        assert reason.startswith("check a-million-intents failed")
        failed = hook.messages(lambda m: m.get("run_id") == started["id"] and m.get("event") == "failed")
        assert len(failed) == 1 and failed[0]["page"] is True
        assert servers(sb) == before
    finally:
        host.stop()


def test_invalid_restore_points_are_400_and_create_nothing(
    shared: tuple[SandboxClient, DevhostProcess, Receiver],
) -> None:
    sb, host, _ = shared
    before = servers(sb)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    early = (datetime.now(UTC) - timedelta(days=1)).isoformat()  # before the sandbox's first backup
    for point, rule in ((future, "not-in-future"), (old, "inside-retention"), (early, "not-before-earliest")):
        status, body = post(host, "/api/restore", {"restore_point": point, "reason": "test"})
        assert status == 400, body
        assert body["rule"].startswith(rule), body
    status, body = post(host, "/api/restore", {"restore_point": "yesterday", "reason": "test"})
    assert status == 400 and body["field"] == "restore_point"
    runs = host.request("GET", "/api/runs", key="function").json()["runs"]
    assert [r for r in runs if r["id"].startswith("restore-qlp")] == []
    assert servers(sb) == before


def _write_intents(public: str, texts: list[str]) -> None:
    for text in texts:
        resp = requests.post(f"{public}/api/v1/intents", json={"text": text}, timeout=10)
        assert resp.status_code == 201, resp.text


def _top_hit(public: str, text: str) -> str | None:
    resp = requests.post(f"{public}/api/v1/search", json={"text": text, "limit": 1}, timeout=10)
    assert resp.status_code == 200, resp.text
    results: list[dict[str, Any]] = resp.json()["results"]
    return results[0]["text"] if results else None


def test_restore_after_corruption_brings_back_every_row_before_it_and_nothing_after(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = sandbox_factory(config=SANDBOX_CONFIG)
    with running_receiver() as hook:
        host = start_devhost(app_env(sb, hook, restore_requires_approval="true"))
        try:
            _corrupt_and_restore(sb, host, hook)
        finally:
            host.stop()


def _approve_when_asked(host: DevhostProcess, iid: str) -> None:
    """Poll the run until it waits for approval (the checks passed), then approve through the API."""
    wait_run(host, iid, lambda view: (view.get("custom_status") or {}).get("awaiting") == "approval")
    status, body = post(host, f"/api/runs/{iid}/approve", {"note": "checks look right"})
    assert status == 202 and body["by"] == "function key", body


def _corrupt_and_restore(sb: SandboxClient, host: DevhostProcess, hook: Receiver) -> None:
    public = sb.endpoints["frontdoor_url"]
    watch_tick(sb, host)  # as every 15 minutes in production: a sentinel row from before the corruption
    kept = [f"intent committed before the corruption #{i}" for i in range(12)]
    _write_intents(public, kept)
    corruption = sb.fault("corrupt-db")
    assert corruption["rows_deleted"] >= 10
    late = "intent written after the corruption"
    _write_intents(public, [late])
    point = (datetime.fromisoformat(corruption["ran_at"]) - timedelta(milliseconds=1)).isoformat()

    status, started = post(
        host, "/api/restore", {"restore_point": point, "reason": "corrupt-db", "switch": True}
    )
    assert status == 202, started
    _approve_when_asked(host, started["id"])
    wait_run(host, started["id"], timeout=RESTORE_DEADLINE)
    report = run_report(host, started["id"])
    assert report["status"] == "succeeded", json.dumps(report, indent=1)[:3000]
    assert [d["action"] for d in report["decisions"]][-2:] == ["await-approval", "switch"]
    target = report["resources"]["target_server"]
    assert target != sb.endpoints["servers"]["primary"] and target in servers(sb)
    assert report["measurements"]["data_loss_window_seconds"] > 0
    assert "data-loss window" in report["summary"]
    checked = {c["name"]: c["passed"] for c in report["checks"]}
    assert checked["sentinel before the restore point present"] is True
    assert checked["no sentinel after the restore point"] is True

    # the app serves the restored data through the public endpoint
    for text in kept:
        assert _top_hit(public, text) == text
    assert _top_hit(public, late) != late
    # the old server is kept, stopped, never deleted
    assert sb.endpoints["servers"]["primary"] in servers(sb)
    assert "completed" in _events(hook, started["id"])
