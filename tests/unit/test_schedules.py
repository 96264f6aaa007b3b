"""Timers: their schedules come from settings; each starts one orchestration, and only when allowed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import azure.functions as func

from shared import names
from shared.config import Settings
from tests.unit import fake_durable
from tests.unit.backup_fakes import settings_dict
from triggers import schedules


class FakeClient:
    """The durable client calls the timers make, over a dict of instance id -> runtime status."""

    def __init__(self, running: dict[str, str] | None = None) -> None:
        self.running = dict(running or {})
        self.started: list[tuple[str, str, dict[str, Any]]] = []

    async def get_status(self, iid: str) -> Any:
        status = self.running.get(iid)
        return SimpleNamespace(runtime_status=SimpleNamespace(value=status)) if status else None

    async def start_new(self, name: str, iid: str, payload: dict[str, Any]) -> str:
        self.started.append((name, iid, payload))
        return iid


def _functions() -> dict[str, func.Function]:
    # the app may be indexed once per process: share the index the other unit tests use
    fake_durable.registered(names.HTTP_HEALTH)
    return fake_durable._FUNCTIONS


def _schedule(name: str) -> str:
    trigger = next(b for b in _functions()[name].get_bindings() if b.type == "timerTrigger")
    return str(trigger.schedule)


def test_each_timer_reads_its_schedule_from_settings() -> None:
    assert _schedule(names.TIMER_BACKUP_WATCH) == "%CONTINUITY_BACKUP_WATCH_SCHEDULE%"
    assert _schedule(names.TIMER_RESTORE_TEST) == "%CONTINUITY_RESTORE_TEST_SCHEDULE%"
    assert _schedule(names.TIMER_DRILL) == "%CONTINUITY_DRILL_SCHEDULE%"


def test_the_watch_orchestrator_is_registered() -> None:
    fn = _functions()[names.BACKUP_WATCH_ORCHESTRATOR]
    assert [b.type for b in fn.get_bindings()] == ["orchestrationTrigger"]


def test_a_watch_tick_starts_the_watch_under_its_singleton_id() -> None:
    client = FakeClient()
    outcome = asyncio.run(schedules.start_backup_watch(client, settings_dict()))
    assert outcome == "started backup-watch-qlp"
    assert [(n, i) for n, i, _ in client.started] == [(names.BACKUP_WATCH_ORCHESTRATOR, "backup-watch-qlp")]
    assert client.started[0][2]["settings"]["primary_server"] == "qlp-db-uksouth"


def test_a_watch_tick_is_skipped_while_the_previous_one_runs() -> None:
    client = FakeClient({"backup-watch-qlp": "Running"})
    outcome = asyncio.run(schedules.start_backup_watch(client, settings_dict()))
    assert outcome.startswith("skipped") and client.started == []


def test_the_daily_restore_test_starts_when_nothing_else_runs() -> None:
    client = FakeClient()
    settings = Settings.from_dict(settings_dict())
    outcome = asyncio.run(
        schedules.start_scheduled(client, settings, "restore-test", names.RESTORE_TEST_ORCHESTRATOR, {})
    )
    assert outcome == "started restore-test-qlp"
    (name, iid, payload) = client.started[0]
    assert name == names.RESTORE_TEST_ORCHESTRATOR and payload["run_id"] == iid
    assert payload["trigger"]["kind"] == "timer"


def test_a_scheduled_drill_does_not_start_during_a_failover() -> None:
    client = FakeClient({"failover-qlp": "Running"})
    settings = Settings.from_dict(settings_dict())
    extra = {"scenario": "complete"}
    outcome = asyncio.run(
        schedules.start_scheduled(client, settings, "drill", names.DRILL_ORCHESTRATOR, extra)
    )
    assert outcome.startswith("not started") and "failover-qlp" in outcome
    assert client.started == []
