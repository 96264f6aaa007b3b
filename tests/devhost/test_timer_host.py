"""devhost's timer triggers, end to end: per-second firing, run_on_startup, manual runs, past due."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.devhost import DevhostProcess, start_host_app
from tests.polling import until

DEADLINE = 30.0


def entries(out: Path, name: str) -> list[dict[str, Any]]:
    path = out / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    until(condition, what, timeout, interval=0.05)


@pytest.fixture(scope="module")
def ticking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevhostProcess, Path]]:
    process, out = start_host_app(tmp_path_factory, {"TICK_SCHEDULE": "* * * * * *"})
    yield process, out
    process.stop()


def test_a_per_second_timer_fires_repeatedly(ticking: tuple[DevhostProcess, Path]) -> None:
    host, out = ticking
    wait_for(lambda: len(entries(out, "tick")) >= 3, "three ticks are recorded")
    first = entries(out, "tick")[0]
    assert first["past_due"] is False
    host.wait_for_log(r"\[devhost\] tick id=[0-9a-f-]{36} Succeeded \d+ms")


def test_schedule_status_reaches_the_function(ticking: tuple[DevhostProcess, Path]) -> None:
    _, out = ticking
    wait_for(lambda: len(entries(out, "tick")) >= 2, "two ticks are recorded")
    status = entries(out, "tick")[1]["status"]
    assert datetime.fromisoformat(status["Next"]) > datetime.fromisoformat(status["Last"])


def test_run_on_startup_runs_once_at_start(ticking: tuple[DevhostProcess, Path]) -> None:
    _, out = ticking
    wait_for(lambda: len(entries(out, "on_startup")) >= 1, "the startup run is recorded")
    assert entries(out, "on_startup") == [{"past_due": False}]
    assert entries(out, "yearly") == []  # no run_on_startup, not due: never ran by itself


def test_manual_run_through_the_admin_api(ticking: tuple[DevhostProcess, Path]) -> None:
    host, out = ticking
    assert (
        host.request("POST", "/admin/functions/yearly", json={"input": ""}, key="function").status_code == 401
    )
    assert host.request("POST", "/admin/functions/yearly", json={"input": ""}).status_code == 401
    response = host.request("POST", "/admin/functions/yearly", json={"input": "ignored"}, key="master")
    assert response.status_code == 202
    wait_for(lambda: len(entries(out, "yearly")) == 1, "the manual run is recorded")
    assert entries(out, "yearly") == [{"past_due": False}]


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("no_such_function", {"input": ""}, 404),
        ("echo", {"input": ""}, 400),  # HTTP functions are called over HTTP
        ("yearly", b"{not json", 400),
        ("yearly", b"[1, 2]", 400),
    ],
)
def test_manual_run_refusals(ticking: tuple[DevhostProcess, Path], name: str, body: Any, status: int) -> None:
    host, _ = ticking
    kwargs = {"data": body} if isinstance(body, bytes) else {"json": body}
    assert host.request("POST", f"/admin/functions/{name}", key="master", **kwargs).status_code == status


def test_a_run_missed_while_the_host_was_down_is_past_due(tmp_path_factory: pytest.TempPathFactory) -> None:
    host, out = start_host_app(tmp_path_factory, {"TICK_SCHEDULE": "* * * * * *"})
    try:
        wait_for(lambda: len(entries(out, "tick")) >= 1, "a first tick is recorded")
        assert host.stop() == 0
        status = json.loads((host.state_dir / "timers.json").read_text())["tick"]
        missed = datetime.fromisoformat(status["next"])
        wait_for(lambda: datetime.now(UTC) > missed, "the recorded next run has passed", timeout=10)
        before = len(entries(out, "tick"))
        host.start()
        wait_for(lambda: len(entries(out, "tick")) > before, "a tick after the restart is recorded")
        assert entries(out, "tick")[before]["past_due"] is True
        wait_for(
            lambda: len(entries(out, "tick")) > before + 1,
            "a regular tick after the past-due one is recorded",
        )
        assert entries(out, "tick")[before + 1]["past_due"] is False
    finally:
        host.stop()


def test_a_timer_with_a_durable_client_starts_an_orchestration(ticking: tuple[DevhostProcess, Path]) -> None:
    host, out = ticking
    assert host.request("POST", "/admin/functions/yearly_flow", json={}, key="master").status_code == 202
    wait_for(lambda: len(entries(out, "yearly_flow")) == 1, "the timer has started an orchestration")
    instance_id = entries(out, "yearly_flow")[0]["instance_id"]
    path = f"/runtime/webhooks/durabletask/instances/{instance_id}"

    def completed() -> bool:
        status = host.request("GET", path, key="master").json()
        assert status["runtimeStatus"] in ("Pending", "Running", "Completed"), status
        return bool(status["runtimeStatus"] == "Completed" and status["output"] == "hello hello timer")

    wait_for(completed, "the orchestration has completed")
