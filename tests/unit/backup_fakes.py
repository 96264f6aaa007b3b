"""A fake Durable orchestration context that drives the backup plans' generators with plain functions.

Activities are functions ``payload -> result`` (or raising); each call advances the clock by
``activity_seconds``; timers jump the clock to their fire time; external events come from a dict.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import names
from shared.config import load_settings

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

ENV = {
    "CONTINUITY_SUBSCRIPTION_ID": "sub-1",
    "CONTINUITY_PRIMARY_RESOURCE_GROUP": "rg-uksouth",
    "CONTINUITY_SECONDARY_RESOURCE_GROUP": "rg-ukwest",
    "CONTINUITY_PRIMARY_SERVER": "qlp-db-uksouth",
    "CONTINUITY_REPLICA_SERVER": "qlp-db-ukwest",
    "CONTINUITY_CONTAINER_GROUP_BLUE": "qlp-blue",
    "CONTINUITY_CONTAINER_GROUP_GREEN": "qlp-green",
    "CONTINUITY_CONTAINER_GROUP_STANDBY": "qlp-standby",
    "CONTINUITY_FRONTDOOR_RESOURCE_GROUP": "rg-uksouth",
    "CONTINUITY_FRONTDOOR_PROFILE": "qlp-fd",
    "CONTINUITY_FRONTDOOR_ENDPOINT": "qlp-ep",
    "CONTINUITY_FRONTDOOR_ROUTE": "qlp-route",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_BLUE": "og-blue",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_GREEN": "og-green",
    "CONTINUITY_FRONTDOOR_ORIGIN_GROUP_STANDBY": "og-standby",
    "CONTINUITY_KEY_VAULT_URL": "https://kv.example",
    "CONTINUITY_PUBLIC_URL": "https://qlp.example",
    "CONTINUITY_REPORTS_ACCOUNT_URL": "https://reports.example",
}


def settings_dict(**overrides: str) -> dict[str, Any]:
    env = dict(ENV)
    env.update({f"CONTINUITY_{k.upper()}": v for k, v in overrides.items()})
    return load_settings(env).to_dict()


class FakeTask:
    def __init__(self, kind: str, name: str = "", payload: Any = None, children: tuple[FakeTask, ...] = ()):
        self.kind, self.name, self.payload, self.children = kind, name, payload, children
        self.result: Any = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


Activity = Callable[[dict[str, Any]], Any]


class FakeContext:
    """Enough of DurableOrchestrationContext for the plans; records every activity call."""

    def __init__(
        self,
        input_: dict[str, Any],
        activities: Mapping[str, Activity],
        *,
        events: Mapping[str, Any] | None = None,
        now: datetime = NOW,
        activity_seconds: float = 1.0,
    ) -> None:
        self._input = input_
        self.activities: dict[str, Activity] = {names.EVENTS_PUBLISH: lambda p: {"published": False}}
        self.activities.update(activities)
        self.events = dict(events or {})
        self.current_utc_datetime = now
        self.activity_seconds = activity_seconds
        self.is_replaying = False
        self.instance_id = input_.get("run_id", "run-1")
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.timers: list[datetime] = []
        self.statuses: list[Any] = []

    # ---- the context API the plans use -------------------------------------------------------------
    def get_input(self) -> dict[str, Any]:
        return self._input

    def set_custom_status(self, status: Any) -> None:
        self.statuses.append(status)

    def call_activity(self, name: str, input_: Any = None) -> FakeTask:
        # Durable serialises the input when the task is created: later changes must not leak in.
        return FakeTask("activity", name, copy.deepcopy(input_))

    def create_timer(self, fire_at: datetime) -> FakeTask:
        return FakeTask("timer", payload=fire_at)

    def wait_for_external_event(self, name: str) -> FakeTask:
        return FakeTask("event", name)

    def task_any(self, tasks: list[FakeTask]) -> FakeTask:
        return FakeTask("any", children=tuple(tasks))

    def task_all(self, tasks: list[FakeTask]) -> FakeTask:
        return FakeTask("all", children=tuple(tasks))

    # ---- resolution ---------------------------------------------------------------------------------
    def resolve(self, task: FakeTask) -> Any:
        if task.kind == "activity":
            self.calls.append((task.name, dict(task.payload or {})))
            self.current_utc_datetime += timedelta(seconds=self.activity_seconds)
            if task.name not in self.activities:
                raise AssertionError(f"unexpected activity {task.name}")
            return self.activities[task.name](dict(task.payload or {}))
        if task.kind == "timer":
            self.timers.append(task.payload)
            self.current_utc_datetime = max(self.current_utc_datetime, task.payload)
            return None
        if task.kind == "all":
            return [self.resolve(child) for child in task.children]
        if task.kind == "any":
            for child in task.children:
                if child.kind == "event" and child.name in self.events:
                    child.result = self.events[child.name]
                    return child
            timer = next(c for c in task.children if c.kind == "timer")
            self.resolve(timer)
            return timer
        raise AssertionError(f"cannot resolve {task.kind}")

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def payloads(self, name: str) -> list[dict[str, Any]]:
        return [payload for called, payload in self.calls if called == name]


def drive(plan: Callable[[Any], Generator[Any, Any, Any]], ctx: FakeContext) -> Any:
    """Run a plan to completion against the fake context; returns its result."""
    gen = plan(ctx)
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            task = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            value = ctx.resolve(task)
        except Exception as exc:
            error = exc


def fails(message: str) -> Activity:
    def activity(payload: dict[str, Any]) -> Any:
        raise RuntimeError(message)

    return activity


def returns(result: Any) -> Activity:
    return lambda payload: result


def sequence(*results: Any) -> Activity:
    """Each call returns the next result (an Exception instance is raised); the last one repeats."""
    items = list(results)

    def activity(payload: dict[str, Any]) -> Any:
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, Exception):
            raise item
        return item

    return activity
