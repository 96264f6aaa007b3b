"""The boundary types survive a JSON round trip and ignore keys written by newer code."""

from __future__ import annotations

import json

import pytest

from orchestrators.toolkit.record import RunRecord
from shared.models import Decision, HealthSignal, ProbeSnapshot, ReplicaLag, Verdict, parse_time
from shared.policy import Primary
from tests.support.durable import T0


def roundtrip(obj: object) -> object:
    return type(obj).from_dict(json.loads(json.dumps(obj.to_dict())))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "obj",
    [
        HealthSignal("monitor-webhook", "fired", ("/subscriptions/s/x",), "2026-11-29T12:00:00Z", "down"),
        ProbeSnapshot("https://x/health", True, 200, 12.5, "2026-11-29T12:00:00+00:00"),
        ReplicaLag(None, "unavailable"),
        Decision("refuse", "no healthy origin", "rule 2"),
        Verdict(False, ("backup is 30 h old", "retention 3 d"), "backup_age", available=False),
    ],
)
def test_values_round_trip_through_json(obj: object) -> None:
    assert roundtrip(obj) == obj


def test_report_round_trips_with_steps_and_decisions() -> None:
    record = RunRecord("failover-qlp", "failover", {"kind": "alert"}, T0)
    record.end(record.begin("confirm", T0), T0, "succeeded", "confirmed")
    record.decide("confirm", Decision("confirmed", "r"), T0)
    record.measure(rto_seconds=90.0)
    report = record.to_dict()
    assert json.loads(json.dumps(report)) == report
    assert report["steps"] == [
        {
            "name": "confirm",
            "started_at": T0.isoformat(),
            "ended_at": T0.isoformat(),
            "outcome": "succeeded",
            "detail": "confirmed",
        }
    ]
    assert report["decisions"] == [
        {"action": "confirmed", "reason": "r", "rule": "", "step": "confirm", "at": T0.isoformat()}
    ]
    assert report["measurements"] == {"rto_seconds": 90.0}


def test_unknown_keys_are_ignored() -> None:
    assert Decision.from_dict({"action": "a", "reason": "r", "new_field": 1}) == Decision("a", "r")


def test_verdict_ignores_unknown_keys_and_joins_its_reasons() -> None:
    verdict = Verdict.from_dict({"passed": False, "reasons": ["a", "b"], "new_field": 1})
    assert verdict == Verdict(False, ("a", "b"))
    assert verdict.reason == "a; b"
    assert verdict.available is True


def test_a_decision_carries_what_it_found_as_json() -> None:
    found = Decision("primary", "pg-south is the primary", value=Primary("pg-south", "rg-south", "pg-west"))
    data = json.loads(json.dumps(found.to_dict()))
    assert data == {
        "action": "primary",
        "reason": "pg-south is the primary",
        "rule": "",
        "value": {
            "server": "pg-south",
            "resource_group": "rg-south",
            "replica": "pg-west",
            "replica_resource_group": "",
        },
    }
    assert found.value == Primary("pg-south", "rg-south", "pg-west")
    assert Decision("a", "r", value=3).to_dict()["value"] == 3
    assert "value" not in Decision("a", "r").to_dict()
    # what a decision found is evidence for the report: it does not travel back into a decision
    assert Decision.from_dict(data) == Decision("primary", "pg-south is the primary")


def test_parse_time_needs_a_zone() -> None:
    assert parse_time("2026-11-29T12:00:00Z").utcoffset() is not None
    with pytest.raises(ValueError, match="time zone"):
        parse_time("2026-11-29T12:00:00")
