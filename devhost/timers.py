"""Timer triggers: run functions on their schedules, on startup, when past due, and on demand.

Per timer one asyncio task: on start it fires once if ``run_on_startup`` is set or a run was missed
while the host was down (``past_due`` true; last and next run times persist in
``<state dir>/timers.json``), then sleeps to each next occurrence, runs the function (never two runs
of one timer at once) and records the run. ``use_monitor=False`` turns persistence and past-due
detection off for that timer. A bad schedule disables only its function, with a message.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.functions import meta
from azure.functions.timer import TimerRequestConverter

from devhost.functions import FunctionInfo, Invocation, Invoker
from shared.ncrontab import Schedule, ScheduleError, parse_schedule, resolve_app_setting

__all__ = ["TimerService", "TimerSpec", "TimerStatusStore", "timer_specs"]

STATUS_FILE = "timers.json"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TimerSpec:
    """One timer-triggered function and its parsed schedule."""

    function: FunctionInfo
    schedule: Schedule
    run_on_startup: bool
    use_monitor: bool


def timer_specs(functions: dict[str, FunctionInfo], env: Mapping[str, str]) -> list[TimerSpec]:
    """The app's timers; one whose schedule does not parse is reported and left out."""
    specs: list[TimerSpec] = []
    for fn in functions.values():
        if fn.trigger_type != "timerTrigger":
            continue
        try:
            schedule = parse_schedule(resolve_app_setting(str(fn.trigger.get("schedule", "")), env))
        except ScheduleError as exc:
            print(f"[devhost] {fn.name} disabled: {exc}", file=sys.stderr, flush=True)
            continue
        monitor = fn.trigger.get("useMonitor")
        specs.append(TimerSpec(fn, schedule, bool(fn.trigger.get("runOnStartup")), monitor is not False))
    return specs


class TimerStatusStore:
    """Last and next run of each timer, in one JSON file rewritten atomically."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._data = self._load()

    def get(self, name: str, schedule_text: str) -> dict[str, str] | None:
        """The recorded status, or None when absent or recorded for another schedule."""
        status = self._data.get(name)
        if not isinstance(status, dict) or status.get("schedule") != schedule_text:
            return None
        return status

    def set(self, name: str, schedule_text: str, *, last: datetime | None, next_run: datetime) -> None:
        previous = self._data.get(name) or {}
        self._data[name] = {
            "schedule": schedule_text,
            "last": last.isoformat() if last else previous.get("last", ""),
            "next": next_run.isoformat(),
            "lastUpdated": utc_now().isoformat(),
        }
        self._save()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._data, indent=1))
        os.replace(tmp, self._path)


class TimerService:
    """Runs every timer of the app until stopped."""

    def __init__(
        self, specs: list[TimerSpec], invoker: Invoker, store: TimerStatusStore, clock: Clock = utc_now
    ) -> None:
        self._specs = {spec.function.name: spec for spec in specs}
        self._invoker = invoker
        self._store = store
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._locks = {name: asyncio.Lock() for name in self._specs}

    def names(self) -> list[str]:
        return list(self._specs)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(spec), name=f"timer:{n}") for n, spec in self._specs.items()
        ]

    async def stop(self, grace: float = 10.0) -> None:
        """Stop scheduling; a run in progress may finish within ``grace`` seconds, then it is cancelled."""
        self._stopping.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def run_now(self, name: str) -> Invocation:
        """A manual run (the admin endpoint): not past due, and it does not move the schedule."""
        spec = self._specs[name]
        return await self._fire(spec, past_due=False, record=False)

    async def _run(self, spec: TimerSpec) -> None:
        name, text = spec.function.name, spec.schedule.text
        status = self._store.get(name, text) if spec.use_monitor else None
        past_due = status is not None and _parse(status.get("next")) <= self._clock()
        if past_due or spec.run_on_startup:
            await self._fire(spec, past_due=past_due, record=True)
        while True:
            next_run = spec.schedule.next_after(self._clock())
            if spec.use_monitor:
                self._store.set(name, text, last=None, next_run=next_run)
            if not await self._sleep_until(next_run):
                return
            await self._fire(spec, past_due=False, record=True, occurrence=next_run)

    async def _fire(
        self, spec: TimerSpec, *, past_due: bool, record: bool, occurrence: datetime | None = None
    ) -> Invocation:
        name = spec.function.name
        async with self._locks[name]:
            status = self._store.get(name, spec.schedule.text) or {}
            request = _timer_request(past_due, status)
            invocation = await self._invoker.invoke(spec.function, request)
            if record and spec.use_monitor:
                last = occurrence or self._clock()
                self._store.set(name, spec.schedule.text, last=last, next_run=spec.schedule.next_after(last))
            return invocation

    async def _sleep_until(self, moment: datetime) -> bool:
        """Sleep until ``moment``; False when the service is stopping instead."""
        while (remaining := (moment - self._clock()).total_seconds()) > 0:
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=min(remaining, 60.0))
            except TimeoutError:
                continue
            return False
        return not self._stopping.is_set()


def _parse(text: str | None) -> datetime:
    try:
        return datetime.fromisoformat(text or "")
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)


def _timer_request(past_due: bool, status: Mapping[str, str]) -> Any:
    """The TimerRequest the Python worker builds from the host's timer payload."""
    payload = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {
            "Last": status.get("last") or None,
            "Next": status.get("next") or None,
            "LastUpdated": status.get("lastUpdated") or None,
        },
        "IsPastDue": past_due,
    }
    return TimerRequestConverter.decode(meta.Datum(json.dumps(payload), "json"), trigger_metadata={})
