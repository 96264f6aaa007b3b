"""The stuck-run watchdog: runs past their operation's deadline or waiting past the approval timeout are
paged once, with the run and its step, and shown in /api/status."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from shared import config, names, notify, policy
from shared.azure import runtime
from tests.support.durable import T0, FakeClient, call_http, http, registered
from tests.support.settings import FAILOVER_ENV
from triggers import status_api, watchdog

STUCK_RUN = "failover-qlp-20261129T090000-aaaa"
FRESH_RUN = "restore-qlp-20261129T115500-bbbb"
WAITING_RUN = "failover-qlp-20261129T112000-cccc"


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {**FAILOVER_ENV, "CONTINUITY_APPROVAL_TIMEOUT_MINUTES": "30"}.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    yield
    config.current_settings.cache_clear()


def custom(operation: str, step: str, awaiting: str = "", since: str = "") -> dict[str, Any]:
    waits = (
        [{"what": awaiting, "step": step, "started_at": since, "until": "", "ended_at": ""}] if since else []
    )
    return {"operation": operation, "step": step, "awaiting": awaiting, "waits": waits}


def estate_client() -> FakeClient:
    """At T0 (12:00): a failover running for 3 h (deadline 60 min), a restore started 5 min ago, a
    failover waiting for approval for 40 min (timeout 30), the lock and the backup watch (not runs) and
    another app's old run."""
    client = FakeClient()
    client.put(STUCK_RUN, "Running", name=names.FAILOVER_ORCHESTRATOR,
               custom=custom("failover", "promote"), created="2026-11-29T09:00:00+00:00")  # fmt: skip
    client.put(FRESH_RUN, "Running", name=names.RESTORE_ORCHESTRATOR,
               custom=custom("restore", "restore"), created="2026-11-29T11:55:00+00:00")  # fmt: skip
    client.put(WAITING_RUN, "Running", name=names.FAILOVER_ORCHESTRATOR,
               custom=custom("failover", "approval", "approval", "2026-11-29T11:20:00+00:00"),
               created="2026-11-29T11:19:00+00:00")  # fmt: skip
    client.put("lock-qlp", "Running", name=names.LOCK_ORCHESTRATOR, created="2026-11-29T09:00:00+00:00")
    client.put("backup-watch-qlp", "Running", name=names.BACKUP_WATCH_ORCHESTRATOR,
               created="2026-11-28T00:00:00+00:00")  # fmt: skip
    client.put("failover-other-20261101T000000-dddd", "Running", name=names.FAILOVER_ORCHESTRATOR,
               created="2026-11-01T00:00:00+00:00")  # fmt: skip
    return client


# ---- policy ----------------------------------------------------------------------------------------------
def run(**kw: Any) -> policy.ActiveRun:
    return policy.ActiveRun(**{"run_id": "r", "operation": "failover", "started_at": T0.isoformat(), **kw})


def test_a_run_within_its_deadline_is_on_time_and_past_it_is_stuck_with_its_step() -> None:
    limits = {"deadline_minutes": 60.0, "approval_timeout_minutes": 30.0}
    assert policy.run_overdue(run(step="promote"), T0 + timedelta(minutes=59), **limits).is_("on-time")
    late = policy.run_overdue(run(step="promote"), T0 + timedelta(minutes=61), **limits)
    assert late.is_("stuck")
    assert late.reason == (
        "r (failover) at step promote has been active for 1 h 1 min, "
        "past the 1 h 0 min deadline of a failover"
    )


def test_a_wait_for_approval_past_the_timeout_is_overdue_even_within_the_deadline() -> None:
    limits = {"deadline_minutes": 600.0, "approval_timeout_minutes": 30.0}
    waiting = run(step="approval", awaiting="approval", waiting_since=(T0 + timedelta(minutes=5)).isoformat())
    assert policy.run_overdue(waiting, T0 + timedelta(minutes=34), **limits).is_("on-time")
    overdue = policy.run_overdue(waiting, T0 + timedelta(minutes=36), **limits)
    assert overdue.is_("approval-overdue") and "waited for approval for 31 min" in overdue.reason
    grace = run(awaiting="grace", waiting_since=T0.isoformat())  # only approvals have that timeout
    assert policy.run_overdue(grace, T0 + timedelta(minutes=300), **limits).is_("on-time")


def test_deadlines_per_operation_need_a_default_and_name_the_bad_entry() -> None:
    deadlines = policy.run_deadlines("failover=60, deploy=180,*=120")
    assert policy.deadline_for("deploy", deadlines) == 180 and policy.deadline_for("drill", deadlines) == 120
    for bad, says in [
        ("failover=60", "*=minutes"),
        ("failover=soon,*=1", "'failover=soon'"),
        ("*=0", "'*=0'"),
    ]:
        with pytest.raises(ValueError, match=re.escape(says)):
            policy.run_deadlines(bad)
    with pytest.raises(config.SettingsError, match="CONTINUITY_RUN_DEADLINES_MINUTES"):
        config.load_settings({**FAILOVER_ENV, "CONTINUITY_RUN_DEADLINES_MINUTES": "x"})


# ---- the timer and the status ----------------------------------------------------------------------------
class Storage:
    def __init__(self) -> None:
        self.states: dict[str, Any] = {}

    def read_state(self, name: str) -> dict[str, Any]:
        return {"name": name, "found": name in self.states, "state": self.states.get(name)}

    def write_state(self, name: str, state: dict[str, Any]) -> dict[str, Any]:
        self.states[name] = json.loads(json.dumps(state))
        return {"name": name}


@pytest.fixture
def pages(monkeypatch: pytest.MonkeyPatch) -> list[notify.Message]:
    sent: list[notify.Message] = []
    storage = Storage()
    monkeypatch.setattr(runtime, "storage", lambda: storage)
    monkeypatch.setattr(
        notify, "send", lambda msg, settings, secrets: sent.append(msg) or {"sent": ["webhook"]}
    )
    monkeypatch.setattr(watchdog, "now", lambda: T0)
    return sent


def tick(client: FakeClient) -> None:
    user = registered(names.TIMER_STUCK_RUNS)
    asyncio.run(getattr(user, "client_function", user)(None, client=client))


def test_a_tick_pages_each_stuck_run_once_with_its_step(pages: list[notify.Message]) -> None:
    client = estate_client()
    tick(client)
    assert sorted(p.run_id for p in pages) == [STUCK_RUN, WAITING_RUN]
    stuck = next(p for p in pages if p.run_id == STUCK_RUN)
    assert stuck.page and stuck.severity == "critical" and stuck.fields["step"] == "promote"
    assert stuck.link == f"/api/runs/{STUCK_RUN}" and "past the 1 h 0 min deadline" in stuck.text
    waiting = next(p for p in pages if p.run_id == WAITING_RUN)
    assert waiting.fields["kind"] == "approval-overdue"
    tick(client)
    assert len(pages) == 2  # paged once, however many ticks see it


def test_what_was_paged_is_forgotten_once_the_run_ended(pages: list[notify.Message]) -> None:
    client = estate_client()
    tick(client)
    client.put(STUCK_RUN, "Completed", name=names.FAILOVER_ORCHESTRATOR, created="2026-11-29T09:00:00+00:00")
    tick(client)
    state = runtime.storage().read_state("watchdog-qlp")["state"]
    assert list(state["paged"]) == [f"{WAITING_RUN}:approval-overdue"]


def test_status_shows_the_stuck_runs(monkeypatch: pytest.MonkeyPatch, pages: list[notify.Message]) -> None:
    monkeypatch.setattr(status_api, "observe_status", lambda settings: {})
    monkeypatch.setattr(status_api.runs, "report_summaries", lambda: [])
    resp = asyncio.run(call_http(names.HTTP_STATUS, http("GET", "/api/status"), estate_client()))
    stuck = json.loads(resp.get_body())["stuck_runs"]
    assert [(s["run"], s["kind"], s["step"]) for s in stuck] == [
        (STUCK_RUN, "stuck", "promote"),
        (WAITING_RUN, "approval-overdue", "approval"),
    ]
    assert pages == []  # the status shows, only the timer pages
