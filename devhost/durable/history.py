"""History events in the Durable extension's JSON shape (EventType numbers as the SDK reads them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any


class EventType(IntEnum):
    """The DTFx history event types, numbered as in azure.durable_functions HistoryEventType."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A timestamp as the extension writes it (UTC, microseconds, trailing Z)."""
    return moment.astimezone(UTC).strftime(_FORMAT)


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive values are taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def event(kind: EventType, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """One history event; IsPlayed is set when the event is replayed to the SDK."""
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": iso(utcnow()),
        **fields,
    }


def played_json(evt: dict[str, Any]) -> str:
    """The JSON of an event as it appears in later episodes (already played)."""
    return json.dumps({**evt, "IsPlayed": True}, separators=(",", ":"))


def failure_fields(reason: str, details: str) -> dict[str, str]:
    return {"Reason": reason, "Details": details}


def error_details(exc: BaseException, trace: str) -> tuple[str, str]:
    """The message and Details JSON of a function failure, as the extension reports them."""
    message = f"{type(exc).__name__}: {exc}"
    details = json.dumps({"$type": "System.Exception", "Message": message, "StackTrace": trace})
    return message, details
