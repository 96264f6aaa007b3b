"""The durable engine: runs orchestrations and activities of a function app, persisted in SQLite.

Orchestrator episodes run on the event-loop thread (the SDK replays them synchronously); activities
run on a worker pool (sync ones in threads, async ones on the loop). All state changes of one step go
to SQLite in one transaction before anything acts on them, so a host killed at any point resumes
from its last committed step; an activity whose completion was committed never runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from time import perf_counter
from typing import Any

from devhost.durable import episode as ep
from devhost.durable.history import EventType, event, iso, parse_iso, utcnow
from devhost.durable.store import ACTIVE_STATUSES, InstanceRow, Store, WorkKey
from devhost.durable.worker import ActivityWorker

TERMINAL = ("Completed", "Failed", "Terminated", "Canceled")


def _print(line: str) -> None:
    print(line, flush=True)


class EngineError(Exception):
    """A request the engine refuses; `status` is the HTTP status the extension answers with."""

    def __init__(self, status: int, message: str, exception_type: str = "System.ArgumentException") -> None:
        super().__init__(message)
        self.status = status
        self.exception_type = exception_type


def _failed(batch: list[tuple[int, dict[str, Any]]], error: str) -> ep.Outcome:
    """The outcome of an episode that could not run the orchestrator at all."""
    out = ep.Outcome(status="Failed", error=error, output=json.dumps(error))
    end = event(EventType.EXECUTION_COMPLETED, OrchestrationStatus="Failed", Result=out.output)
    out.history = [*(e for _, e in batch), end]
    return out


class Runtime:
    """Instances in memory, their dispatch, and the activity pool and timers behind them."""

    def __init__(
        self, functions: list[Any], state_dir: Path, workers: int, log: Callable[[str], None]
    ) -> None:
        self.orchestrators: dict[str, Callable[[Any], Any]] = {}
        self.activities: dict[str, tuple[Callable[..., Any], str]] = {}
        self.activity_clients: dict[str, str] = {}  # activity -> its durable client parameter
        self.client_binding: Callable[[], str] | None = None  # set by the HTTP API that serves the client
        for fn in functions:
            trigger = fn.get_trigger()
            kind = getattr(trigger, "type", None)
            if kind == "orchestrationTrigger":
                self.orchestrators[fn.get_function_name()] = fn.get_user_function()
            elif kind == "activityTrigger":
                self.activities[fn.get_function_name()] = (fn.get_user_function(), trigger.name)
                client = [b.name for b in fn.get_bindings() if getattr(b, "type", None) == "durableClient"]
                if client:  # an activity may take the durable client binding, as on Azure
                    self.activity_clients[fn.get_function_name()] = client[0]
        ep.memoize_timestamp_parser()
        self.db_path = state_dir / "durable.sqlite3"
        self.workers = workers
        self.log = log
        self.active: dict[str, ep.Instance] = {}
        self._store: Store | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: ActivityWorker | None = None
        self._timers: dict[WorkKey, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._waking: set[str] = set()
        self._completions: list[tuple[WorkKey, dict[str, Any]]] = []
        self._finished: dict[str, list[asyncio.Future[None]]] = {}
        self._closed = True

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the durable engine is not started")
        return self._store

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._store = Store(self.db_path)
        self._worker = ActivityWorker(
            self.activities, self.workers, clients=self.activity_clients, client_binding=self.client_binding
        )
        self._closed = False
        for row in self.store.active_instances():
            self._load(row)
        for key, name, input_ in self.store.activities():
            if key[0] in self.active:
                self._dispatch_activity(key, name, input_)
        for key, fire_at in self.store.timers():
            if key[0] in self.active:
                self._arm_timer(key, parse_iso(fire_at))
        for instance_id in list(self.active):
            self.wake(instance_id)

    async def stop(self) -> None:
        self._closed = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._worker is not None:
            self._worker.close()
        if self._store is not None:
            self._store.close()
            self._store = None

    def _load(self, row: InstanceRow) -> ep.Instance:
        history = [json.loads(e) for e in self.store.history(row.instance_id)]
        inst = ep.Instance(row, [], [], self.store.inbox(row.instance_id))
        ep.remember(inst, history)
        self.active[row.instance_id] = inst
        return inst

    # ---- dispatch --------------------------------------------------------------------------------
    def wake(self, instance_id: str) -> None:
        if instance_id in self._waking or self._loop is None:
            return
        self._waking.add(instance_id)
        self._loop.call_soon(self._drain, instance_id)

    def _drain(self, instance_id: str) -> None:
        self._waking.discard(instance_id)
        while not self._closed:
            inst = self.active.get(instance_id)
            if inst is None:
                return
            batch = ep.choose_batch(inst)
            if not batch:
                return
            self._episode(inst, batch)

    def _episode(self, inst: ep.Instance, batch: list[tuple[int, dict[str, Any]]]) -> None:
        name = inst.row.name
        orchestrator = self.orchestrators.get(name)
        started = perf_counter()
        now = utcnow()
        if orchestrator is None:
            missing = f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
            out = _failed(batch, missing)
        else:
            try:
                out = ep.run_episode(inst, orchestrator, [e for _, e in batch], now)
            except Exception as exc:  # an engine fault must not wedge the instance: fail it, say why
                out = _failed(batch, f"devhost durable engine error: {type(exc).__name__}: {exc}")
        outcome = "Failed" if out.status == "Failed" else "Succeeded"
        self.log(f"[devhost] {name} id={uuid.uuid4()} {outcome} {(perf_counter() - started) * 1000:.0f}ms")
        if out.continued:
            self._continue_as_new(inst, batch, out, now)
        else:
            self._commit(inst, batch, out, now)

    def _commit(
        self, inst: ep.Instance, batch: list[tuple[int, dict[str, Any]]], out: ep.Outcome, now: datetime
    ) -> None:
        row, store = inst.row, self.store
        row.status, row.updated = out.status, iso(now)
        execution = inst.st["exec"]
        if out.output is not None:
            row.output = out.output
        terminal = out.status in TERMINAL
        mine: list[tuple[int, dict[str, Any]]] = []
        with store.transaction():
            store.remove_inbox([rowid for rowid, _ in batch])
            store.append_history(row.instance_id, len(inst.history), [json.dumps(e) for e in out.history])
            if terminal:
                store.clear_work(row.instance_id)
                self._notify_parent(row, out.error)
            else:
                for task_id, name, input_ in out.activities:
                    store.add_activity((row.instance_id, execution, task_id), name, input_)
                for timer_id, fire_at in out.timers:
                    store.add_timer((row.instance_id, execution, timer_id), iso(fire_at))
                for timer_id in out.cancel_timers:
                    store.remove_timer((row.instance_id, execution, timer_id))
                messages = out.self_messages + self._create_children(row, out.children, now)
                mine = [(store.add_inbox(row.instance_id, m), m) for m in messages]
            store.put_instance(row)
        consumed = {rowid for rowid, _ in batch}
        inst.inbox = [m for m in inst.inbox if m[0] not in consumed] + mine
        ep.remember(inst, out.history)
        if terminal:
            self._retire(row.instance_id)
            return
        for task_id, name, input_ in out.activities:
            self._dispatch_activity((row.instance_id, execution, task_id), name, input_)
        for timer_id, fire_at in out.timers:
            self._arm_timer((row.instance_id, execution, timer_id), fire_at)
        for timer_id in out.cancel_timers:
            handle = self._timers.pop((row.instance_id, execution, timer_id), None)
            if handle is not None:
                handle.cancel()
        for child in out.children:
            self.wake(child.instance_id)
        if mine:
            self.wake(row.instance_id)

    def _continue_as_new(
        self, inst: ep.Instance, batch: list[tuple[int, dict[str, Any]]], out: ep.Outcome, now: datetime
    ) -> None:
        """Start the next execution: empty history, new input; external events not yet delivered stay."""
        row, store = inst.row, self.store
        row.input, row.output, row.updated = out.continue_input, None, iso(now)
        parent_exec = row.engine_state.get("parent_exec")
        row.status, row.engine_state = "ContinuedAsNew", ep.fresh_state()
        if parent_exec is not None:
            row.engine_state["parent_exec"] = parent_exec
        consumed = {rowid for rowid, _ in batch}
        kept = [m for m in inst.inbox if m[0] not in consumed and m[1]["EventType"] == EventType.EVENT_RAISED]
        start = event(EventType.EXECUTION_STARTED, Name=row.name, Input=row.input, Version="")
        with store.transaction():
            store.clear_history(row.instance_id)
            store.remove_inbox([m[0] for m in inst.inbox if m not in kept])
            store.clear_pending(row.instance_id)
            start_id = store.add_inbox(row.instance_id, start)
            store.put_instance(row)
        self._cancel_timers_of(row.instance_id)
        inst.history, inst.played, inst.inbox = [], [], [(start_id, start), *kept]
        self.wake(row.instance_id)

    def _create_children(
        self, parent: InstanceRow, children: list[ep.ChildStart], now: datetime
    ) -> list[dict[str, Any]]:
        """Create sub-orchestration instances; returns failure messages for the parent, if any."""
        failures: list[dict[str, Any]] = []
        for child in children:
            existing = self.store.get_instance(child.instance_id)
            if existing is not None and existing.status in ACTIVE_STATUSES:
                reason = f"An orchestration with instance ID '{child.instance_id}' is already running."
                failures.append(
                    event(
                        EventType.SUB_ORCHESTRATION_FAILED,
                        TaskScheduledId=child.task_id,
                        Reason=reason,
                        Details="",
                    )
                )
                continue
            row = self.new_row(
                child.instance_id, child.name, child.input, now, parent.instance_id, child.task_id
            )
            row.engine_state["parent_exec"] = parent.engine_state["exec"]
            self._install(row, now)
        return failures

    def new_row(
        self,
        instance_id: str,
        name: str,
        input_: str | None,
        now: datetime,
        parent_id: str | None = None,
        parent_task_id: int | None = None,
    ) -> InstanceRow:
        stamp = iso(now)
        return InstanceRow(
            instance_id,
            name,
            "Pending",
            input_,
            None,
            None,
            stamp,
            stamp,
            parent_id,
            parent_task_id,
            ep.fresh_state(),
        )

    def _install(self, row: InstanceRow, now: datetime) -> None:
        """Within a transaction: (re)create an instance and queue its ExecutionStarted."""
        self.store.delete_instance(row.instance_id)
        self.store.put_instance(row)
        start = event(EventType.EXECUTION_STARTED, Name=row.name, Input=row.input, Version="")
        rowid = self.store.add_inbox(row.instance_id, start)
        self.active[row.instance_id] = ep.Instance(row, [], [], [(rowid, start)])

    def install_new(self, row: InstanceRow, now: datetime) -> None:
        """Start (or replace) a top-level instance."""
        self.retire_if_active(row.instance_id)
        with self.store.transaction():
            self._install(row, now)
        self.wake(row.instance_id)

    def _notify_parent(self, row: InstanceRow, error: str | None) -> None:
        """Within a transaction: tell the parent orchestration how this sub-orchestration ended."""
        if row.parent_id is None or row.parent_task_id is None:
            return
        parent = self.active.get(row.parent_id)
        if parent is None or parent.st["exec"] != row.engine_state.get("parent_exec"):
            return  # the parent ended, or moved on to another execution
        if row.status == "Completed":
            msg = event(
                EventType.SUB_ORCHESTRATION_COMPLETED, TaskScheduledId=row.parent_task_id, Result=row.output
            )
        else:
            reason = error or f"Orchestrator function '{row.name}' was {row.status.lower()}."
            details = json.dumps({"$type": "System.Exception", "Message": reason})
            msg = event(
                EventType.SUB_ORCHESTRATION_FAILED,
                TaskScheduledId=row.parent_task_id,
                Reason=reason,
                Details=details,
            )
        rowid = self.store.add_inbox(row.parent_id, msg)
        parent.inbox.append((rowid, msg))
        self.wake(row.parent_id)

    def _retire(self, instance_id: str) -> None:
        self.active.pop(instance_id, None)
        self._cancel_timers_of(instance_id)
        for waiter in self._finished.pop(instance_id, []):
            if not waiter.done():
                waiter.set_result(None)

    async def wait_finished(self, instance_id: str, timeout: float) -> None:
        """Wait (without polling) until an instance is no longer active, or `timeout` seconds pass."""
        if instance_id not in self.active or self._loop is None:
            return
        waiter = self._loop.create_future()
        self._finished.setdefault(instance_id, []).append(waiter)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), timeout)

    def retire_if_active(self, instance_id: str) -> None:
        if instance_id in self.active:
            with self.store.transaction():
                self.store.clear_work(instance_id)
            self._retire(instance_id)

    def _cancel_timers_of(self, instance_id: str) -> None:
        for key in [k for k in self._timers if k[0] == instance_id]:
            self._timers.pop(key).cancel()

    # ---- control operations ----------------------------------------------------------------------
    def terminate(self, instance_id: str, reason: str | None) -> None:
        inst = self.active[instance_id]
        row, now = inst.row, utcnow()
        row.status, row.output, row.updated = "Terminated", json.dumps(reason), iso(now)
        evt = event(EventType.EXECUTION_TERMINATED, Input=json.dumps(reason))
        with self.store.transaction():
            self.store.clear_work(instance_id)
            self.store.append_history(instance_id, len(inst.history), [json.dumps(evt)])
            self.store.put_instance(row)
            self._notify_parent(row, f"Orchestrator function '{row.name}' was terminated: {reason}")
        ep.remember(inst, [evt])
        self._retire(instance_id)

    def set_suspended(self, instance_id: str, suspended: bool, reason: str | None) -> None:
        inst = self.active[instance_id]
        if (inst.row.status == "Suspended") == suspended:
            return
        kind = EventType.EXECUTION_SUSPENDED if suspended else EventType.EXECUTION_RESUMED
        evt = event(kind, Reason=reason)
        inst.row.status = "Suspended" if suspended else ("Running" if inst.history else "Pending")
        inst.row.updated = iso(utcnow())
        with self.store.transaction():
            self.store.append_history(instance_id, len(inst.history), [json.dumps(evt)])
            self.store.put_instance(inst.row)
        ep.remember(inst, [evt])
        self.wake(instance_id)

    def raise_event(self, instance_id: str, name: str, data: str) -> None:
        evt = event(EventType.EVENT_RAISED, Name=name, Input=data)
        with self.store.transaction():
            rowid = self.store.add_inbox(instance_id, evt)
        self.active[instance_id].inbox.append((rowid, evt))
        self.wake(instance_id)

    # ---- activities ------------------------------------------------------------------------------
    def _dispatch_activity(self, key: WorkKey, name: str, input_: str | None) -> None:
        assert self._loop is not None
        task = self._loop.create_task(self._run_activity(key, name, input_))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_activity(self, key: WorkKey, name: str, input_: str | None) -> None:
        started = perf_counter()
        assert self._worker is not None
        result = await self._worker.run(name, key[2], input_)
        outcome = "Succeeded" if result["EventType"] == EventType.TASK_COMPLETED else "Failed"
        self.log(f"[devhost] {name} id={uuid.uuid4()} {outcome} {(perf_counter() - started) * 1000:.0f}ms")
        self._completions.append((key, result))
        if len(self._completions) == 1 and self._loop is not None:
            self._loop.call_soon(self._flush_completions)

    def _flush_completions(self) -> None:
        """Record finished activities (one transaction for all that finished meanwhile)."""
        done, self._completions = self._completions, []
        if self._closed or not done:
            return
        delivered: list[tuple[str, int, dict[str, Any]]] = []
        with self.store.transaction():
            for key, result in done:
                if self.store.remove_activity(key) and key[0] in self.active:
                    delivered.append((key[0], self.store.add_inbox(key[0], result), result))
        for instance_id, rowid, result in delivered:
            self.active[instance_id].inbox.append((rowid, result))
            self.wake(instance_id)

    # ---- timers ----------------------------------------------------------------------------------
    def _arm_timer(self, key: WorkKey, fire_at: datetime) -> None:
        assert self._loop is not None
        delay = max(0.0, (fire_at - utcnow()).total_seconds())
        self._timers[key] = self._loop.call_later(delay, self._fire_timer, key, fire_at)

    def _fire_timer(self, key: WorkKey, fire_at: datetime) -> None:
        self._timers.pop(key, None)
        if self._closed:
            return
        instance_id = key[0]
        evt = event(EventType.TIMER_FIRED, TimerId=key[2], FireAt=iso(fire_at))
        with self.store.transaction():
            if not self.store.remove_timer(key):
                return
            rowid = self.store.add_inbox(instance_id, evt)
        inst = self.active.get(instance_id)
        if inst is not None:
            inst.inbox.append((rowid, evt))
            self.wake(instance_id)
