"""The boundary types survive a JSON round trip and ignore keys written by newer code."""

from __future__ import annotations

import json

import pytest

from shared.models import (
    Decision,
    HealthSignal,
    ProbeSnapshot,
    ReplicaLag,
    RunReport,
    StepRecord,
    parse_time,
)


def roundtrip(obj: object) -> object:
    return type(obj).from_dict(json.loads(json.dumps(obj.to_dict())))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "obj",
    [
        HealthSignal("monitor-webhook", "fired", ("/subscriptions/s/x",), "2026-11-29T12:00:00Z", "down"),
        ProbeSnapshot("https://x/health", True, 200, 12.5, "2026-11-29T12:00:00+00:00"),
        ReplicaLag(None, "unavailable"),
        Decision("refuse", "no healthy origin", "rule 2"),
        StepRecord("promote", "2026-11-29T12:00:00+00:00", "2026-11-29T12:01:00+00:00", "succeeded"),
    ],
)
def test_values_round_trip_through_json(obj: object) -> None:
    assert roundtrip(obj) == obj


def test_report_round_trips_with_steps_and_decisions() -> None:
    report = RunReport(
        run_id="failover-qlp",
        operation="failover",
        trigger={"kind": "alert"},
        started_at="2026-11-29T12:00:00+00:00",
        steps=(StepRecord("confirm", "2026-11-29T12:00:00+00:00"),),
        decisions=({"action": "confirmed", "reason": "r", "rule": "", "step": "confirm"},),
        measurements={"rto_seconds": 90.0},
    )
    assert roundtrip(report) == report


def test_unknown_keys_are_ignored() -> None:
    assert Decision.from_dict({"action": "a", "reason": "r", "new_field": 1}) == Decision("a", "r")


def test_step_finishes_with_an_outcome() -> None:
    step = StepRecord("promote", "t0").finished("t1", "failed", "boom")
    assert (step.ended_at, step.outcome, step.detail) == ("t1", "failed", "boom")


def test_parse_time_needs_a_zone() -> None:
    assert parse_time("2026-11-29T12:00:00Z").utcoffset() is not None
    with pytest.raises(ValueError, match="time zone"):
        parse_time("2026-11-29T12:00:00")
