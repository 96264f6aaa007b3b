"""TimerService in process, with a fixed clock and a recording invoker: past-due and persistence rules."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devhost.functions import FunctionInfo, Invocation
from devhost.timers import TimerService, TimerSpec, TimerStatusStore
from shared.ncrontab import parse_schedule
from tests.polling import until_async

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
HOURLY = "0 0 * * * *"


@dataclass
class RecordingInvoker:
    calls: list[tuple[str, bool]] = field(default_factory=list)

    async def invoke(self, fn: FunctionInfo, value: Any) -> Invocation:
        self.calls.append((fn.name, value.past_due))
        return Invocation(id="test")


def spec(schedule: str = HOURLY, *, run_on_startup: bool = False, use_monitor: bool = True) -> TimerSpec:
    trigger = {"type": "timerTrigger", "name": "timer", "schedule": schedule}
    fn = FunctionInfo("cleanup", trigger, (trigger,), lambda timer: None, frozenset({"timer"}))
    return TimerSpec(fn, parse_schedule(schedule), run_on_startup, use_monitor)


def seed(path: Path, *, schedule: str, next_run: datetime) -> None:
    status = {"schedule": schedule, "last": "", "next": next_run.isoformat(), "lastUpdated": ""}
    path.write_text(json.dumps({"cleanup": status}))


def run_until_scheduled(timer: TimerSpec, path: Path) -> RecordingInvoker:
    """Start the service, wait until it has scheduled its next run, stop it; what it invoked."""
    invoker = RecordingInvoker()

    async def scenario() -> None:
        service = TimerService([timer], invoker, TimerStatusStore(path), clock=lambda: NOW)  # type: ignore[arg-type]
        await service.start()
        expected = timer.schedule.next_after(NOW).isoformat()

        def scheduled() -> bool:
            if not timer.use_monitor:
                return bool(invoker.calls)
            stored = json.loads(path.read_text()) if path.exists() else {}
            return bool(stored.get("cleanup", {}).get("next") == expected)

        await until_async(scheduled, "the timer has scheduled its next run", timeout=20, interval=0.005)
        await service.stop()

    asyncio.run(scenario())
    return invoker


def test_a_missed_run_fires_once_as_past_due(tmp_path: Path) -> None:
    path = tmp_path / "timers.json"
    seed(path, schedule=HOURLY, next_run=NOW - timedelta(hours=3))
    assert run_until_scheduled(spec(), path).calls == [("cleanup", True)]
    stored = json.loads(path.read_text())["cleanup"]
    assert stored["next"] == "2026-05-01T13:00:00+00:00"
    assert stored["last"] == NOW.isoformat()


def test_nothing_fires_when_the_next_run_is_still_ahead(tmp_path: Path) -> None:
    path = tmp_path / "timers.json"
    seed(path, schedule=HOURLY, next_run=NOW + timedelta(minutes=30))
    assert run_until_scheduled(spec(), path).calls == []


def test_a_changed_schedule_forgets_the_old_status(tmp_path: Path) -> None:
    path = tmp_path / "timers.json"
    seed(path, schedule="0 30 * * * *", next_run=NOW - timedelta(hours=3))
    assert run_until_scheduled(spec(), path).calls == []
    assert json.loads(path.read_text())["cleanup"]["schedule"] == HOURLY


def test_run_on_startup_and_past_due_together_fire_once(tmp_path: Path) -> None:
    path = tmp_path / "timers.json"
    seed(path, schedule=HOURLY, next_run=NOW - timedelta(hours=3))
    assert run_until_scheduled(spec(run_on_startup=True), path).calls == [("cleanup", True)]


def test_without_the_monitor_nothing_is_stored_or_past_due(tmp_path: Path) -> None:
    path = tmp_path / "timers.json"
    calls = run_until_scheduled(spec(run_on_startup=True, use_monitor=False), path).calls
    assert calls == [("cleanup", False)]
    assert not path.exists()


def test_a_manual_run_does_not_move_the_schedule(tmp_path: Path) -> None:
    path = tmp_path / "timers.json"
    seed(path, schedule=HOURLY, next_run=NOW + timedelta(minutes=30))
    invoker = RecordingInvoker()

    async def scenario() -> None:
        service = TimerService([spec()], invoker, TimerStatusStore(path), clock=lambda: NOW)  # type: ignore[arg-type]
        await service.run_now("cleanup")

    asyncio.run(scenario())
    assert invoker.calls == [("cleanup", False)]
    assert json.loads(path.read_text())["cleanup"]["next"] == (NOW + timedelta(minutes=30)).isoformat()
