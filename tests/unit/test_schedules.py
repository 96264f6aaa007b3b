"""Timers: their schedules come from settings; each starts one orchestration, and only when allowed."""

from __future__ import annotations

import asyncio
import re

from shared import names
from shared.config import Settings
from tests.support.durable import FakeClient, functions
from tests.support.settings import backup_settings
from triggers import schedules


def _schedule(name: str) -> str:
    trigger = next(b for b in functions()[name].get_bindings() if b.type == "timerTrigger")
    return str(trigger.schedule)


def test_each_timer_reads_its_schedule_from_settings() -> None:
    assert _schedule(names.TIMER_BACKUP_WATCH) == "%CONTINUITY_BACKUP_WATCH_SCHEDULE%"
    assert _schedule(names.TIMER_RESTORE_TEST) == "%CONTINUITY_RESTORE_TEST_SCHEDULE%"
    assert _schedule(names.TIMER_DRILL) == "%CONTINUITY_DRILL_SCHEDULE%"
    assert _schedule(names.TIMER_HEALTH_BACKSTOP) == "%CONTINUITY_HEALTH_PROBE_SCHEDULE%"


def test_the_watch_and_lock_orchestrators_are_registered() -> None:
    for name in (names.BACKUP_WATCH_ORCHESTRATOR, names.LOCK_ORCHESTRATOR):
        assert [b.type for b in functions()[name].get_bindings()] == ["orchestrationTrigger"]


def test_a_watch_tick_starts_the_watch_under_its_singleton_id_without_the_lock() -> None:
    client = FakeClient()
    outcome = asyncio.run(schedules.start_backup_watch(client, Settings.from_dict(backup_settings())))
    assert outcome == "started backup-watch-qlp"
    assert [(n, i) for n, i, _ in client.started] == [(names.BACKUP_WATCH_ORCHESTRATOR, "backup-watch-qlp")]
    assert client.started[0][2]["settings"]["primary_server"] == "qlp-db-uksouth"


def test_a_watch_tick_is_skipped_while_the_previous_one_runs() -> None:
    client = FakeClient()
    client.put("backup-watch-qlp", "Running")
    outcome = asyncio.run(schedules.start_backup_watch(client, Settings.from_dict(backup_settings())))
    assert outcome.startswith("skipped") and client.started == []


def test_the_daily_restore_test_starts_when_nothing_else_runs() -> None:
    client = FakeClient()
    settings = Settings.from_dict(backup_settings())
    outcome = asyncio.run(
        schedules.start_scheduled(client, settings, "restore-test", names.RESTORE_TEST_ORCHESTRATOR, {})
    )
    (name, iid, payload) = client.runs()[0]
    assert outcome == f"started {iid}" and re.fullmatch(r"restore-test-qlp-\d{8}T\d{6}-[0-9a-f]{4}", iid)
    assert name == names.RESTORE_TEST_ORCHESTRATOR and payload["run_id"] == iid
    assert payload["trigger"]["kind"] == "timer"


def test_a_scheduled_drill_does_not_start_during_a_failover() -> None:
    client = FakeClient()
    held = {
        "run_id": "failover-qlp-20261129T110000-abcd",
        "operation": "failover",
        "orchestrator": "x",
        "input": {},
    }
    client.put("lock-qlp", "Running", name=names.LOCK_ORCHESTRATOR, input_=held)
    settings = Settings.from_dict(backup_settings())
    outcome = asyncio.run(
        schedules.start_scheduled(
            client, settings, "drill", names.DRILL_ORCHESTRATOR, {"scenario": "complete"}
        )
    )
    assert outcome.startswith("not started") and "failover-qlp-20261129T110000-abcd" in outcome
    assert client.started == []
