"""A small Durable runtime for unit tests: drives an orchestrator generator as the SDK does.

``drive`` sends each yielded task's result back into the generator (or throws its failure, as the
SDK throws a failed activity), resolves ``task_all`` / ``task_any``, fires timers by moving a fake
clock, and delivers external events that were "raised" at a given time. Activities are plain
functions ``(input) -> dict`` in a dict keyed by activity name; raising inside one fails the task
with the message, as the host reports it.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
Activity = Callable[[dict[str, Any]], Any]

_FUNCTIONS: dict[str, func.Function] = {}


def _health_index() -> Callable[[], dict[str, func.Function]]:
    """function_app may be indexed once per process: share test_health's cached index, under the module
    name pytest imported it by (tests/unit has no __init__.py, so that is ``test_health``)."""
    try:
        module = importlib.import_module("test_health")
    except ModuleNotFoundError:
        module = importlib.import_module("tests.unit.test_health")
    return module._functions  # type: ignore[no-any-return]


def registered(name: str) -> Callable[..., Any]:
    """The user function registered under ``name`` in function_app (indexed once per process)."""
    if not _FUNCTIONS:
        _FUNCTIONS.update(_health_index()())
    return _FUNCTIONS[name].get_user_function()  # type: ignore[no-any-return]


def orchestrator(name: str) -> Callable[[Any], Generator[Any, Any, Any]]:
    """The generator function behind a registered orchestrator (the SDK wraps it in a handle)."""
    return registered(name).orchestrator_function  # type: ignore[attr-defined, no-any-return]


@dataclass
class Task:
    kind: str  # activity | timer | event | all | any
    name: str = ""
    input: Any = None
    children: list[Task] = field(default_factory=list)
    fire_at: datetime | None = None
    result: Any = None
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class Event:
    name: str
    payload: dict[str, Any]
    at: datetime | None = None  # None: already raised when the run first waits


class FakeContext:
    """The slice of DurableOrchestrationContext the orchestrators use."""

    def __init__(self, payload: dict[str, Any], instance_id: str = "failover-qlp") -> None:
        self._input = payload
        self.instance_id = instance_id
        self.current_utc_datetime = T0
        self.is_replaying = False
        self.custom_status: Any = None
        self.statuses: list[Any] = []

    def get_input(self) -> Any:
        return self._input

    def new_uuid(self) -> str:
        return "a1b2c3d4-0000-5000-8000-000000000000"

    def call_activity(self, name: str, input_: Any = None) -> Task:
        return Task("activity", name, input_)

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


class Deadlock(AssertionError):
    """The orchestrator waits for something that will never come."""


@dataclass
class Runtime:
    context: FakeContext
    activities: dict[str, Activity]
    events: list[Event] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    activity_seconds: float = 1.0

    def called(self, name: str) -> list[Any]:
        return [i for n, i in self.calls if n == name]

    def resolve(self, task: Task) -> tuple[Any, Exception | None]:
        if task.kind == "activity":
            return self._activity(task)
        if task.kind == "all":
            results = []
            for child in task.children:
                value, error = self.resolve(child)
                if error is not None:
                    return None, error
                results.append(value)
            return results, None
        if task.kind in ("any", "timer", "event"):
            return self._first(task.children if task.kind == "any" else [task], task.kind == "any")
        raise AssertionError(f"unknown task {task.kind}")

    def _activity(self, task: Task) -> tuple[Any, Exception | None]:
        self.calls.append((task.name, task.input))
        self.context.current_utc_datetime += timedelta(seconds=self.activity_seconds)
        handler = self.activities.get(task.name)
        if handler is None:
            raise AssertionError(f"no fake for activity {task.name}")
        try:
            task.result = handler(dict(task.input or {}))
            return task.result, None
        except Exception as exc:
            return None, Exception(f"Activity function '{task.name}' failed: {exc}")

    def _first(self, tasks: list[Task], as_any: bool) -> tuple[Any, Exception | None]:
        timers = [t for t in tasks if t.kind == "timer"]
        deadline = min((t.fire_at for t in timers if t.fire_at), default=None)
        for event in list(self.events):
            waiter = next((t for t in tasks if t.kind == "event" and t.name == event.name), None)
            due = event.at is None or deadline is None or event.at < deadline
            if waiter is not None and due:
                self.events.remove(event)
                if event.at is not None and event.at > self.context.current_utc_datetime:
                    self.context.current_utc_datetime = event.at
                waiter.result = event.payload
                return (waiter if as_any else waiter.result), None
        if not timers or deadline is None:
            raise Deadlock(f"waiting for {[t.name for t in tasks if t.kind == 'event']} with no event queued")
        timer = next(t for t in timers if t.fire_at == deadline)
        self.context.current_utc_datetime = max(self.context.current_utc_datetime, deadline)
        return (timer if as_any else None), None


def drive(
    orchestrator: Callable[[Any], Generator[Any, Any, Any]], runtime: Runtime, *, max_steps: int = 5000
) -> Any:
    """Run the orchestrator to completion against the fakes; returns its output."""
    gen = orchestrator(runtime.context)
    value: Any = None
    error: Exception | None = None
    for _ in range(max_steps):
        try:
            task = gen.send(value) if error is None else gen.throw(error)
        except StopIteration as stop:
            return stop.value
        value, error = runtime.resolve(task)
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

    async def get_status(self, iid: str) -> Any:
        await asyncio.sleep(0)  # let concurrent callers interleave, as real I/O would
        return self.instances.get(iid) or self._status_type()

    async def get_status_all(self) -> list[Any]:
        return list(self.instances.values())

    async def start_new(self, name: str, iid: str, input_: Any) -> str:
        await asyncio.sleep(0)
        current = self.instances.get(iid)
        if current is not None and str(current.runtime_status.value) in ("Running", "Pending"):
            raise Exception(f"An instance with ID '{iid}' already exists.")
        self.put(iid, "Pending", name=name, input_=input_, created=T0.isoformat())
        self.started.append((name, iid, input_))
        return iid

    async def raise_event(self, iid: str, event: str, data: Any) -> None:
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


async def call_http(name: str, req: func.HttpRequest, client: FakeClient) -> func.HttpResponse:
    """Invoke a registered HTTP function with the fake client as its durable client binding."""
    user = registered(name)
    target = getattr(user, "client_function", user)
    return await target(req, client=client)  # type: ignore[no-any-return]
