"""One orchestration episode: feed the SDK its history, read back its actions, decide what follows.

This is the part of the Durable extension that sits between DTFx and the out-of-process SDK: new
messages become history events, the registered orchestrator function replays the whole history with
the SDK's own logic, and every action it returns that is not yet in history gets a sequence number
(the same one the SDK gave its task) and becomes scheduled work. Retries are the engine's job, as in
DTFx: after a failure a retry timer, after the timer the next attempt.
"""

from __future__ import annotations

import functools
import importlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devhost.durable import actions as act
from devhost.durable.history import EventType, event, iso, parse_iso, played_json
from devhost.durable.store import InstanceRow

_OUT_OF_PROC = "\n\n$OutOfProcData$:"
_COMPLETIONS = {
    EventType.TASK_COMPLETED,
    EventType.TASK_FAILED,
    EventType.SUB_ORCHESTRATION_COMPLETED,
    EventType.SUB_ORCHESTRATION_FAILED,
}
_FAILURES = {EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED}
# Events the SDK's replay never reads (TaskOrchestrationExecutor.process_event skips them): they stay
# in the stored history and in showHistory, but are not sent to the orchestrator function, which
# halves the history it re-reads on every episode without changing anything it computes.
SDK_IGNORES = {
    EventType.TASK_SCHEDULED,
    EventType.TIMER_CREATED,
    EventType.SUB_ORCHESTRATION_CREATED,
    EventType.ORCHESTRATOR_COMPLETED,
    EventType.EXECUTION_SUSPENDED,
    EventType.EXECUTION_RESUMED,
}


def memoize_timestamp_parser() -> None:
    """Let the SDK parse each history timestamp once instead of once per replay.

    The SDK builds its HistoryEvent objects anew on every episode and parses every Timestamp with
    dateutil's general-purpose parser, which makes replay cost grow with the square of the history.
    The parser is a pure function of its string, so memoizing it changes no result, only the cost.
    """
    module: Any = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    parse = module.dt_parse
    if not hasattr(parse, "cache_info"):
        module.dt_parse = functools.lru_cache(maxsize=1 << 16)(parse)


def fresh_state() -> dict[str, Any]:
    """Engine bookkeeping of one execution: next sequence number, actions seen, open tasks, retries."""
    execution = uuid.uuid4().hex
    return {"exec": execution, "next": 0, "seen": 0, "tasks": {}, "chains": {}, "waits": {}, "tpos": {}}


@dataclass
class Instance:
    """An active orchestration instance held in memory (mirrors its rows)."""

    row: InstanceRow
    history: list[dict[str, Any]] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    inbox: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def st(self) -> dict[str, Any]:
        return self.row.engine_state


@dataclass
class ChildStart:
    instance_id: str
    name: str
    input: str | None
    task_id: int


@dataclass
class Outcome:
    """What an episode decided; the engine commits it in one transaction, then acts on it."""

    history: list[dict[str, Any]] = field(default_factory=list)
    activities: list[tuple[int, str, str | None]] = field(default_factory=list)
    timers: list[tuple[int, datetime]] = field(default_factory=list)
    cancel_timers: list[int] = field(default_factory=list)
    children: list[ChildStart] = field(default_factory=list)
    self_messages: list[dict[str, Any]] = field(default_factory=list)
    status: str = "Running"
    output: str | None = None
    error: str | None = None
    continue_input: str | None = None
    continued: bool = False


# ---- choosing what to deliver ------------------------------------------------------------------------
def is_retry_trigger(st: dict[str, Any], evt: dict[str, Any]) -> bool:
    """A failure of a retried task or the firing of a retry timer: both make the engine assign ids."""
    kind = evt["EventType"]
    if kind in _FAILURES:
        task = st["tasks"].get(str(evt["TaskScheduledId"]))
        return bool(task and task[1] is not None)
    if kind == EventType.TIMER_FIRED:
        task = st["tasks"].get(str(evt["TimerId"]))
        return bool(task and task[0] == "rt")
    return False


def choose_batch(inst: Instance) -> list[tuple[int, dict[str, Any]]]:
    """Inbox messages for the next episode, in arrival order.

    External events wait in the inbox until the orchestrator waits for them. A message that makes the
    engine assign retry ids only ever opens a batch, so that its ids precede those of actions the
    orchestrator schedules in the same episode, as in the SDK.
    """
    if inst.row.status == "Suspended":
        return []
    waits = dict(inst.st["waits"])
    batch: list[tuple[int, dict[str, Any]]] = []
    for rowid, evt in _ordered_inbox(inst):
        if evt["EventType"] == EventType.EVENT_RAISED:
            if waits.get(evt["Name"], 0) <= 0:
                continue
            waits[evt["Name"]] -= 1
        if is_retry_trigger(inst.st, evt):
            if batch:
                break
            batch.append((rowid, evt))
            continue
        batch.append((rowid, evt))
    return batch


def _ordered_inbox(inst: Instance) -> list[tuple[int, dict[str, Any]]]:
    if inst.history:
        return inst.inbox
    starts = [m for m in inst.inbox if m[1]["EventType"] == EventType.EXECUTION_STARTED]
    return starts[:1] + [m for m in inst.inbox if m[1]["EventType"] == EventType.EVENT_RAISED]


# ---- running the episode -----------------------------------------------------------------------------
def run_episode(
    inst: Instance, orchestrator: Callable[[Any], Any], batch: list[dict[str, Any]], now: datetime
) -> Outcome:
    """Deliver `batch`, run the orchestrator over the full history and turn its actions into work."""
    out = Outcome()
    started = event(EventType.ORCHESTRATOR_STARTED, Timestamp=iso(now))
    new_events = [started, *batch]
    scheduled: list[dict[str, Any]] = []
    for evt in batch:
        _absorb(inst, evt, now, scheduled, out)
    state, error = _invoke(inst, orchestrator, new_events)
    if state:
        custom = state.get("customStatus")
        inst.row.custom_status = None if custom is None else json.dumps(custom)
    if error is None:
        error = _apply_actions(inst, state.get("actions"), now, scheduled, out)
    out.history = new_events + scheduled
    _finish(inst, state, error, out)
    return out


def _invoke(
    inst: Instance, orchestrator: Callable[[Any], Any], new_events: list[dict[str, Any]]
) -> tuple[dict[str, Any], str | None]:
    fresh = [json.dumps(e, separators=(",", ":")) for e in new_events]
    body = (
        '{"history":['
        + ",".join(inst.played + fresh)
        + "],"
        + json.dumps(
            {
                "instanceId": inst.row.instance_id,
                "isReplaying": bool(inst.played),
                "parentInstanceId": inst.row.parent_id,
                "input": inst.row.input,
                "upperSchemaVersion": 1,
                "upperSchemaVersionNew": 2,
            }
        )[1:]
    )
    from azure.functions._durable_functions import OrchestrationContext

    try:
        result = orchestrator(OrchestrationContext(body))
    except Exception as exc:  # the SDK reports orchestrator failures by raising
        return _parse_failure(str(exc))
    parsed = json.loads(result) if isinstance(result, str) else result
    return (parsed if isinstance(parsed, dict) else {"isDone": True, "output": parsed}), None


def _parse_failure(text: str) -> tuple[dict[str, Any], str]:
    message, sep, payload = text.partition(_OUT_OF_PROC)
    if not sep:
        return {}, text
    try:
        return json.loads(payload), message
    except ValueError:
        return {}, message


def _absorb(
    inst: Instance, evt: dict[str, Any], now: datetime, scheduled: list[dict[str, Any]], out: Outcome
) -> None:
    """Update bookkeeping for one delivered message; retry triggers schedule the next step."""
    st, kind = inst.st, evt["EventType"]
    if kind == EventType.EVENT_RAISED:
        st["waits"][evt["Name"]] = st["waits"].get(evt["Name"], 0) - 1
    elif kind in _COMPLETIONS:
        task = st["tasks"].pop(str(evt["TaskScheduledId"]), None)
        if task and task[1] is not None and kind in _FAILURES:
            _retry_timer(inst, task[1], evt, now, scheduled, out)
    elif kind == EventType.TIMER_FIRED:
        task = st["tasks"].pop(str(evt["TimerId"]), None)
        st["tpos"] = {k: v for k, v in st["tpos"].items() if v != evt["TimerId"]}
        if task and task[0] == "rt":
            _retry_attempt(inst, task[1], now, scheduled, out)


def _retry_timer(
    inst: Instance,
    key: str,
    failure: dict[str, Any],
    now: datetime,
    scheduled: list[dict[str, Any]],
    out: Outcome,
) -> None:
    chain = inst.st["chains"][key]
    chain["error"] = [failure.get("Reason"), failure.get("Details")]
    policy = act.RetryPolicy.from_json(chain["opts"])
    delay = policy.next_delay(chain["attempt"], parse_iso(chain["first"]), now)
    if delay is None:
        chain["expired"] = True
    fire_at = now + delay if delay is not None else now
    timer_id = _take_id(inst, "rt", key)
    scheduled.append(event(EventType.TIMER_CREATED, timer_id, FireAt=iso(fire_at)))
    out.timers.append((timer_id, fire_at))


def _retry_attempt(
    inst: Instance, key: str, now: datetime, scheduled: list[dict[str, Any]], out: Outcome
) -> None:
    chain = inst.st["chains"][key]
    if chain["attempt"] >= act.RetryPolicy.from_json(chain["opts"]).max_attempts:
        inst.st["chains"].pop(key)
        return
    chain["attempt"] += 1
    task_id = _take_id(inst, chain["kind"], key)
    if chain["kind"] == "a":
        scheduled.append(event(EventType.TASK_SCHEDULED, task_id, Name=chain["name"], Input=chain["input"]))
        if chain.get("expired"):
            reason, details = chain["error"]
            out.self_messages.append(
                event(EventType.TASK_FAILED, TaskScheduledId=task_id, Reason=reason, Details=details)
            )
        else:
            out.activities.append((task_id, chain["name"], chain["input"]))
    else:
        _start_child(inst, task_id, chain["name"], chain["input"], chain.get("iid"), scheduled, out)


def _take_id(inst: Instance, kind: str, chain: str | None) -> int:
    task_id = int(inst.st["next"])
    inst.st["next"] = task_id + 1
    inst.st["tasks"][str(task_id)] = [kind, chain]
    return task_id


def _start_child(
    inst: Instance,
    task_id: int,
    name: str,
    input_: str | None,
    explicit_id: str | None,
    scheduled: list[dict[str, Any]],
    out: Outcome,
) -> None:
    child_id = explicit_id or f"{inst.row.instance_id}:{task_id}"
    scheduled.append(
        event(EventType.SUB_ORCHESTRATION_CREATED, task_id, Name=name, InstanceId=child_id, Input=input_)
    )
    out.children.append(ChildStart(child_id, name, input_, task_id))


# ---- actions -----------------------------------------------------------------------------------------
def _apply_actions(
    inst: Instance, payload: Any, now: datetime, scheduled: list[dict[str, Any]], out: Outcome
) -> str | None:
    flat = act.flatten(payload)
    st = inst.st
    new = flat[st["seen"] :]
    first_index = st["seen"]
    st["seen"] = len(flat)
    _cancel_timers(st, flat, out)
    for offset, action in enumerate(new):
        kind = action.get("actionType")
        if kind in act.UNSUPPORTED:
            return f"devhost does not support {act.UNSUPPORTED[kind]}"
        if kind == act.CONTINUE_AS_NEW:
            out.continue_input = action.get("input")
            out.continued = True
            break
        _schedule(inst, first_index + offset, action, now, scheduled, out)
    return None


def _cancel_timers(st: dict[str, Any], flat: list[dict[str, Any]], out: Outcome) -> None:
    for index, timer_id in list(st["tpos"].items()):
        if int(index) < len(flat) and flat[int(index)].get("isCanceled"):
            out.cancel_timers.append(timer_id)
            st["tpos"].pop(index)
            st["tasks"].pop(str(timer_id), None)


def _schedule(
    inst: Instance,
    index: int,
    action: dict[str, Any],
    now: datetime,
    scheduled: list[dict[str, Any]],
    out: Outcome,
) -> None:
    kind = action.get("actionType")
    if kind == act.WAIT_FOR_EXTERNAL_EVENT:
        name = action["externalEventName"]
        inst.st["waits"][name] = inst.st["waits"].get(name, 0) + 1
    elif kind == act.CREATE_TIMER:
        timer_id = _take_id(inst, "t", None)
        fire_at = parse_iso(action["fireAt"])
        scheduled.append(event(EventType.TIMER_CREATED, timer_id, FireAt=iso(fire_at)))
        if not action.get("isCanceled"):
            inst.st["tpos"][str(index)] = timer_id
            out.timers.append((timer_id, fire_at))
    elif kind in (act.CALL_ACTIVITY, act.CALL_ACTIVITY_WITH_RETRY):
        key = _chain(inst, action, "a", now) if kind == act.CALL_ACTIVITY_WITH_RETRY else None
        task_id = _take_id(inst, "a", key)
        name, input_ = action["functionName"], action.get("input")
        scheduled.append(event(EventType.TASK_SCHEDULED, task_id, Name=name, Input=input_))
        out.activities.append((task_id, name, input_))
    elif kind in (act.CALL_SUB_ORCHESTRATOR, act.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
        key = _chain(inst, action, "s", now) if kind == act.CALL_SUB_ORCHESTRATOR_WITH_RETRY else None
        task_id = _take_id(inst, "s", key)
        name, input_ = action["functionName"], action.get("input")
        _start_child(inst, task_id, name, input_, action.get("instanceId"), scheduled, out)


def _chain(inst: Instance, action: dict[str, Any], kind: str, now: datetime) -> str:
    """Register a retry chain (keyed by its first attempt's id) for a with-retry action."""
    key = str(inst.st["next"])
    inst.st["chains"][key] = {
        "opts": action.get("retryOptions") or {},
        "attempt": 1,
        "first": iso(now),
        "kind": kind,
        "name": action["functionName"],
        "input": action.get("input"),
        "iid": action.get("instanceId"),
    }
    return key


# ---- outcome -----------------------------------------------------------------------------------------
def _finish(inst: Instance, state: dict[str, Any], error: str | None, out: Outcome) -> None:
    name = inst.row.name
    if error is not None:
        out.status, out.error = "Failed", f"Orchestrator function '{name}' failed: {error}"
        out.output = json.dumps(out.error)
        out.history.append(
            event(EventType.EXECUTION_COMPLETED, OrchestrationStatus="Failed", Result=out.output)
        )
    elif state.get("isDone") and out.continued:
        out.status = "ContinuedAsNew"
        out.history.append(event(EventType.ORCHESTRATOR_COMPLETED))
    elif state.get("isDone"):
        out.status, out.output = "Completed", json.dumps(state.get("output"))
        out.history.append(
            event(EventType.EXECUTION_COMPLETED, OrchestrationStatus="Completed", Result=out.output)
        )
    else:
        out.status = "Running"
        out.history.append(event(EventType.ORCHESTRATOR_COMPLETED))


def remember(inst: Instance, events: list[dict[str, Any]]) -> None:
    """Append committed events to the in-memory history (and to what later episodes replay)."""
    inst.history.extend(events)
    inst.played.extend(played_json(e) for e in events if e["EventType"] not in SDK_IGNORES)
