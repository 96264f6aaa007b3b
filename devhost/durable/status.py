"""Instance status as the Durable extension's HTTP API renders it (StatusResponsePayload)."""

from __future__ import annotations

import json
from typing import Any

from devhost.durable.history import EventType, parse_iso
from devhost.durable.store import InstanceRow

_NAMES = {
    EventType.SUB_ORCHESTRATION_CREATED: "SubOrchestrationInstanceCreated",
    EventType.SUB_ORCHESTRATION_COMPLETED: "SubOrchestrationInstanceCompleted",
    EventType.SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
}
_HIDDEN = {
    EventType.ORCHESTRATOR_STARTED,
    EventType.ORCHESTRATOR_COMPLETED,
    EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_CREATED,
}
_RESULTS = {
    EventType.TASK_COMPLETED,
    EventType.SUB_ORCHESTRATION_COMPLETED,
    EventType.EXECUTION_COMPLETED,
}


def loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _seconds(stamp: str) -> str:
    return parse_iso(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(
    row: InstanceRow, history: list[dict[str, Any]] | None, *, show_input: bool, show_output: bool
) -> dict[str, Any]:
    """The status payload of one instance; `history` given when showHistory was asked for."""
    payload: dict[str, Any] = {
        "name": row.name,
        "instanceId": row.instance_id,
        "runtimeStatus": row.status,
        "input": loads(row.input) if show_input else None,
        "customStatus": loads(row.custom_status),
        "output": loads(row.output),
        "createdTime": _seconds(row.created),
        "lastUpdatedTime": _seconds(row.updated),
    }
    if history is not None:
        payload["historyEvents"] = history_events(history, show_output=show_output)
    return payload


def history_events(history: list[dict[str, Any]], *, show_output: bool) -> list[dict[str, Any]]:
    """History as the extension shows it: scheduling folded into completions, replay markers dropped."""
    scheduled = {
        e["EventId"]: e
        for e in history
        if e["EventType"] in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED)
    }
    out: list[dict[str, Any]] = []
    for evt in history:
        kind = EventType(evt["EventType"])
        if kind in _HIDDEN:
            continue
        item: dict[str, Any] = {
            "EventType": _NAMES.get(kind, _pascal(kind.name)),
            "Timestamp": evt["Timestamp"],
        }
        origin = scheduled.get(evt.get("TaskScheduledId"))
        if origin is not None:
            item["FunctionName"] = origin.get("Name")
            item["ScheduledTime"] = origin["Timestamp"]
        _copy_fields(evt, item, kind, show_output)
        out.append(item)
    return out


def _copy_fields(evt: dict[str, Any], item: dict[str, Any], kind: EventType, show_output: bool) -> None:
    if kind == EventType.EXECUTION_STARTED:
        item["FunctionName"] = evt.get("Name")
    for key in ("Name", "FireAt", "Reason", "Details", "OrchestrationStatus", "TimerId"):
        if evt.get(key) is not None and key not in item and kind != EventType.EXECUTION_STARTED:
            item[key] = evt[key]
    if show_output and kind in _RESULTS:
        item["Result"] = loads(evt.get("Result"))
    if show_output and kind in (EventType.EVENT_RAISED, EventType.EXECUTION_STARTED):
        item["Input"] = loads(evt.get("Input"))


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
