"""The kill and chaos tests' check (tests/support/chaos.py): an action inside the window of its activity's
call is that call's work; one after the completion was recorded is a step done again."""

from __future__ import annotations

from typing import Any

from shared import names
from tests.support.chaos import repeated


def completed(activity: str, scheduled: str, done: str) -> dict[str, Any]:
    return {
        "EventType": "TaskCompleted",
        "FunctionName": activity,
        "ScheduledTime": f"2026-12-03T10:00:{scheduled}Z",
        "Timestamp": f"2026-12-03T10:00:{done}Z",
    }


AT = 1796292000.0  # 2026-12-03T10:00:00Z
HISTORY = [completed(names.DATABASE_PROMOTE_REPLICA, "10", "20")]


def promote(second: float) -> dict[str, Any]:
    return {"kind": "promotes", "name": "pg-west", "at": AT + second}


def test_an_action_while_its_call_ran_is_not_a_repeat() -> None:
    assert repeated([promote(11), promote(19.9)], HISTORY) == []  # redone before completion: allowed


def test_an_action_after_the_completion_was_recorded_is_a_repeat() -> None:
    assert repeated([promote(12), promote(25)], HISTORY) == [promote(25)]


def test_an_action_with_no_call_of_its_activity_is_a_repeat() -> None:
    switch = {"kind": "route_switches", "name": "route", "at": AT + 15}
    assert repeated([switch], HISTORY) == [switch]
