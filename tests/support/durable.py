"""The one fake Durable runtime for unit tests: drives an orchestrator generator as the SDK does.

``FakeContext`` is the slice of DurableOrchestrationContext the plans use. ``drive`` sends each yielded
task's result back into the generator (or throws its failure, as the SDK throws a failed activity),
resolves ``task_all`` / ``task_any``, fires timers by moving the fake clock, and delivers external events
raised at a given time. Activities are plain functions ``(input) -> dict`` keyed by activity name; one
that raises fails the task with its message, as the host reports it. Each activity call moves the clock
by ``activity_seconds``. The notify, events and report-writing activities have defaults that record
what they were sent (``ctx.notifications``, ``ctx.cloud_events``, ``ctx.reports``).

``FakeClient`` is an in-memory DurableOrchestrationClient for the triggers; ``http`` builds a real
``azure.functions.HttpRequest``; ``call_http`` invokes a registered HTTP function with the fake client.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func

from shared import names

T0 = NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
Activity = Callable[[dict[str, Any]], Any]


# ---- the app's registered functions --------------------------------------------------------------------
@functools.cache
def functions() -> dict[str, func.Function]:
    """function_app's functions by name (get_functions() may index an app only once per process)."""
    import function_app

    return {f.get_function_name(): f for f in function_app.app.get_functions()}


def registered(name: str) -> Callable[..., Any]:
    """The user function registered under ``name`` in function_app."""
    return functions()[name].get_user_function()  # type: ignore[no-any-return]


def orchestrator(name: str) -> Callable[[Any], Generator[Any, Any, Any]]:
    """The generator function behind a registered orchestrator (the SDK wraps it in a handle)."""
    return registered(name).orchestrator_function  # type: ignore[attr-defined, no-any-return]


# ---- activities as plain functions ----------------------------------------------------------------------
def returns(result: Any) -> Activity:
    return lambda payload: copy.deepcopy(result)


def fails(message: str) -> Activity:
    def activity(payload: dict[str, Any]) -> Any:
        raise RuntimeError(message)

    return activity


def sequence(*results: Any) -> Activity:
    """Each call returns the next result (an Exception instance is raised); the last one repeats."""
    items = list(results)

    def activity(payload: dict[str, Any]) -> Any:
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, Exception):
            raise item
        return copy.deepcopy(item)

    return activity


# ---- tasks and the context ------------------------------------------------------------------------------
@dataclass
class Task:
    kind: str  # activity | timer | event | all | any | suborchestration
    name: str = ""
    input: Any = None
    children: list[Task] = field(default_factory=list)
    fire_at: datetime | None = None
    result: Any = None
    cancelled: bool = False
    completed: bool = False
    error: Exception | None = None

    def cancel(self) -> None:
        self.cancelled = True

    @property
    def is_completed(self) -> bool:
        """As the SDK's task: completed (succeeded or failed). An external event raised while the run
        does not wait for it completes a task the run waited on before (``FakeContext`` delivers it)."""
        return self.completed


@dataclass
class Event:
    """An external event; ``at`` None: already raised when the run first waits for it."""

    name: str
    payload: Any
    at: datetime | None = None


class Deadlock(AssertionError):
    """The orchestrator waits for something that will never come."""


class FakeContext:
    """The slice of DurableOrchestrationContext the plans use, and a record of what they did."""

    def __init__(
        self,
        input_: dict[str, Any],
        activities: Mapping[str, Activity] | None = None,
        *,
        events: Iterable[Event] | Mapping[str, Any] = (),
        now: datetime = T0,
        activity_seconds: float = 1.0,
        instance_id: str | None = None,
    ) -> None:
        self._input = input_
        self.instance_id = instance_id or str(input_.get("run_id") or "run-1")
        self.current_utc_datetime = now
        self.is_replaying = False
        self.activity_seconds = activity_seconds
        self.notifications: list[dict[str, Any]] = []
        self.cloud_events: list[dict[str, Any]] = []
        self.reports: list[dict[str, Any]] = []
        self.activities: dict[str, Activity] = {
            names.NOTIFY_SEND: lambda p: self.notifications.append(p) or {"sent": ["webhook"]},
            names.EVENTS_PUBLISH: lambda p: self.cloud_events.append(p) or {"published": True},
            names.STORAGE_WRITE_REPORT: self._write_report,
            names.INCIDENTS_OPEN: lambda p: {"incident_id": "", "severity": ""},  # no open incident
            **(activities or {}),
        }
        raised = events.items() if isinstance(events, Mapping) else ()
        self.events: list[Event] = [Event(n, p) for n, p in raised] or list(events)  # type: ignore[arg-type]
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.listening: list[Task] = []  # event tasks the run waited on once (the SDK keeps them open)
        self.timers: list[datetime] = []
        self.statuses: list[Any] = []
        self.custom_status: Any = None

    def _write_report(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.reports.append(payload["report"])
        return {"url": f"memory://runs/{payload['run_id']}/report.json"}

    # ---- the context API ---------------------------------------------------------------------------
    def get_input(self) -> Any:
        return self._input

    def new_uuid(self) -> str:
        return "a1b2c3d4-0000-5000-8000-000000000000"

    def call_activity(self, name: str, input_: Any = None) -> Task:
        # Durable serialises the input when the task is created: later changes must not leak in.
        return Task("activity", name, json.loads(json.dumps(input_)))

    def call_sub_orchestrator(self, name: str, input_: Any = None, instance_id: str | None = None) -> Task:
        return Task("suborchestration", name, {"input": input_, "instance_id": instance_id})

    def create_timer(self, fire_at: datetime) -> Task:
        return Task("timer", fire_at=fire_at)

    def wait_for_external_event(self, name: str) -> Task:
        return Task("event", name)

    def task_all(self, tasks: list[Task]) -> Task:
        return Task("all", children=list(tasks))

    def task_any(self, tasks: list[Task]) -> Task:
        return Task("any", children=list(tasks))

    def set_custom_status(self, status: Any) -> None:
        self.custom_status = status
        self.statuses.append(status)

    # ---- what happened ------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def payloads(self, name: str) -> list[dict[str, Any]]:
        return [payload for called, payload in self.calls if called == name]

    def last_report(self) -> dict[str, Any]:
        assert self.reports, "no report was written"
        return self.reports[-1]

    # ---- resolution ---------------------------------------------------------------------------------
    def resolve(self, task: Task) -> tuple[Any, Exception | None]:
        self._deliver(task)
        if task.completed:  # yielded again after it completed: its value, as the SDK gives it
            return task.result, task.error
        if task.kind in ("activity", "suborchestration"):  # a sub-orchestration is faked like an activity
            return self._activity(task)
        if task.kind == "all":
            results = []
            for child in task.children:
                value, error = self.resolve(child)
                if error is not None:
                    return None, error
                results.append(value)
            return results, None
        if task.kind == "any":
            done = next((c for c in task.children if c.completed), None)
            if done is not None:
                return done, None
            return self._first(task.children, True)
        if task.kind in ("timer", "event"):
            return self._first([task], False)
        raise AssertionError(f"cannot resolve {task.kind}")

    def _deliver(self, current: Task) -> None:
        """Complete event tasks the run waited on before (and does not wait on now) whose event is due."""
        awaited = {id(t) for t in [current, *current.children]}
        for waiter in [t for t in self.listening if not t.completed and id(t) not in awaited]:
            due = [
                e
                for e in self.events
                if e.name == waiter.name and (e.at is None or e.at <= self.current_utc_datetime)
            ]
            if due:
                self.events.remove(due[0])
                waiter.result, waiter.completed = due[0].payload, True

    def _activity(self, task: Task) -> tuple[Any, Exception | None]:
        self.calls.append((task.name, dict(task.input or {})))
        self.current_utc_datetime += timedelta(seconds=self.activity_seconds)
        handler = self.activities.get(task.name)
        if handler is None:
            raise AssertionError(f"no fake for activity {task.name}")
        task.completed = True
        try:
            task.result = handler(dict(task.input or {}))
            return task.result, None
        except Exception as exc:
            task.error = Exception(f"Activity function '{task.name}' failed: {exc}")
            return None, task.error

    def _first(self, tasks: list[Task], as_any: bool) -> tuple[Any, Exception | None]:
        self.listening += [t for t in tasks if t.kind == "event" and t not in self.listening]
        timers = [t for t in tasks if t.kind == "timer"]
        deadline = min((t.fire_at for t in timers if t.fire_at), default=None)
        work = [t for t in tasks if t.kind in ("activity", "suborchestration")]
        for event in list(self.events):
            waiter = next((t for t in tasks if t.kind == "event" and t.name == event.name), None)
            due = event.at is None or (not work and (deadline is None or event.at < deadline))
            if waiter is not None and due:
                self.events.remove(event)
                if event.at is not None and event.at > self.current_utc_datetime:
                    self.current_utc_datetime = event.at
                waiter.result, waiter.completed = event.payload, True
                return (waiter if as_any else waiter.result), None
        if work:  # an activity (or sub-orchestration) finishes before any event not yet raised
            self._activity(work[0])
            return work[0], None
        if not timers or deadline is None:
            raise Deadlock(f"waiting for {[t.name for t in tasks if t.kind == 'event']} with no event queued")
        timer = next(t for t in timers if t.fire_at == deadline)
        timer.completed = True
        self.timers.append(deadline)
        self.current_utc_datetime = max(self.current_utc_datetime, deadline)
        return (timer if as_any else None), None


def drive(plan: Callable[[Any], Generator[Any, Any, Any]], ctx: FakeContext, *, max_steps: int = 5000) -> Any:
    """Run an orchestrator (or any plan generator taking the context) to completion; returns its output."""
    gen = plan(ctx)
    value: Any = None
    error: Exception | None = None
    for _ in range(max_steps):
        try:
            task = gen.send(value) if error is None else gen.throw(error)
        except StopIteration as stop:
            return stop.value
        value, error = ctx.resolve(task)
    raise AssertionError("orchestrator did not finish")


# ---- the durable client, as the triggers see it ---------------------------------------------------------
class FakeClient:
    """An in-memory DurableOrchestrationClient: instances by id, raised events, refused double starts."""

    def __init__(self) -> None:
        from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

        self._status_type = DurableOrchestrationStatus
        self.instances: dict[str, Any] = {}
        self.started: list[tuple[str, str, Any]] = []
        self.events: list[tuple[str, str, Any]] = []
        self.dry_output: Any = {"dry_run": True, "plan": []}

    def put(
        self,
        iid: str,
        runtime_status: str,
        *,
        name: str = "",
        input_: Any = None,
        output: Any = None,
        custom: Any = None,
        created: str = "2026-11-29T11:00:00+00:00",
    ) -> None:
        self.instances[iid] = self._status_type(
            name=name,
            instanceId=iid,
            createdTime=created,
            lastUpdatedTime=created,
            input=input_,
            output=output,
            runtimeStatus=runtime_status,
            customStatus=custom,
        )

    def runs(self) -> list[tuple[str, str, Any]]:
        """What was started holding the lock: (orchestrator, run id, the run's input)."""
        out = []
        for name, _, held in self.started:
            if name == names.LOCK_ORCHESTRATOR:
                out.append((held["orchestrator"], held["run_id"], held["input"]))
            else:
                out.append((name, _, held))
        return out

    async def get_status(self, iid: str) -> Any:
        await asyncio.sleep(0)  # let concurrent callers interleave, as real I/O would
        return self.instances.get(iid) or self._status_type()

    async def get_status_all(self) -> list[Any]:
        return list(self.instances.values())

    async def get_status_by(
        self, created_time_from: datetime | None = None, instance_id_prefix: str | None = None, **_: Any
    ) -> list[Any]:
        found = [s for s in self.instances.values() if s.instance_id.startswith(instance_id_prefix or "")]
        return [s for s in found if created_time_from is None or s.created_time >= created_time_from]

    async def start_new(self, name: str, iid: str, input_: Any) -> str:
        await asyncio.sleep(0)
        current = self.instances.get(iid)
        if current is not None and str(current.runtime_status.value) in ("Running", "Pending"):
            raise Exception(f"An instance with ID '{iid}' already exists.")
        self.put(iid, "Pending", name=name, input_=input_, created=datetime.now(UTC).isoformat())
        self.started.append((name, iid, input_))
        return iid

    async def raise_event(self, iid: str, event: str, data: Any) -> None:
        current = self.instances.get(iid)
        if current is not None and str(current.runtime_status.value) in ("Completed", "Failed", "Terminated"):
            raise Exception(f"Instance with ID {iid} is gone: either completed or failed")  # the SDK's 410
        self.events.append((iid, event, data))

    def get_client_response_links(self, request: Any, iid: str) -> dict[str, str]:
        base = "http://localhost/runtime/webhooks/durabletask/instances"
        return {
            "id": iid,
            "statusQueryGetUri": f"{base}/{iid}",
            "sendEventPostUri": f"{base}/{iid}/raiseEvent",
        }

    async def wait_for_completion_or_create_check_status_response(
        self, request: Any, iid: str, timeout_in_milliseconds: int = 10000
    ) -> func.HttpResponse:
        return func.HttpResponse(json.dumps(self.dry_output), status_code=200, mimetype="application/json")


def http(
    method: str,
    path: str,
    body: Any = None,
    *,
    params: dict[str, str] | None = None,
    route_params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> func.HttpRequest:
    """A real azure.functions.HttpRequest as the host builds it."""
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    return func.HttpRequest(
        method=method,
        url=f"http://localhost:7071{path}",
        headers=headers or {},
        params=params or {},
        route_params=route_params or {},
        body=raw,
    )


async def call_http(name: str, req: func.HttpRequest, client: FakeClient | None = None) -> func.HttpResponse:
    """Invoke a registered HTTP function (with the fake client as its durable client binding, if any)."""
    user = registered(name)
    target = getattr(user, "client_function", None)
    result = target(req, client=client or FakeClient()) if target is not None else user(req)
    return await result if asyncio.iscoroutine(result) else result  # type: ignore[no-any-return]


def reads_from(activities: Mapping[str, Activity]) -> Callable[[Generator[Any, Any, Any]], Any]:
    """A ``read_now`` (activities.inprocess) that answers an estate observation from fake activities."""

    def read_now(observation: Generator[Any, Any, Any]) -> Any:
        def answer(name: str, payload: dict[str, Any]) -> dict[str, Any]:
            try:
                return dict(activities[name](dict(payload)) or {})
            except Exception as exc:
                return {"error": str(exc)}

        try:
            batch = next(observation)
            while True:
                batch = observation.send([answer(n, p) for n, p in batch])
        except StopIteration as done:
            return done.value

    return read_now
