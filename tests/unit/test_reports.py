"""Run reports: the log's two views, Markdown, redaction of secrets, durations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.models import Decision
from shared.reports import RunLog, redact, render_markdown, seconds_between
from tests.unit.fake_durable import T0


def test_log_records_steps_decisions_and_status() -> None:
    log = RunLog("failover-qlp", "failover", {"kind": "alert", "reason": "down"}, T0)
    log.begin("promote", T0)
    log.decide("promote", Decision("forced", "the primary does not answer"), T0)
    log.end("promote", T0 + timedelta(seconds=30), "failed", "boom")
    status = log.custom_status()
    assert (status["step"], status["last_decision"], status["reason"]) == (
        "promote",
        "forced",
        "the primary does not answer",
    )
    assert status["steps"] == [{"name": "promote", "outcome": "failed"}]
    report = log.report().to_dict()
    assert report["steps"][0]["ended_at"] == (T0 + timedelta(seconds=30)).isoformat()
    assert log.ran() == []


def test_markdown_has_every_section() -> None:
    log = RunLog("failover-qlp", "failover", {"kind": "operator", "reason": "drill"}, T0)
    log.begin("observe", T0)
    log.end("observe", T0, detail="traffic on og|blue")
    log.decide("decide", Decision("refuse", "no healthy origin", "rule 2"), T0)
    log.measure(rto_seconds=95.0)
    log.finish("refused", T0, "no healthy origin")
    text = render_markdown(log.report().to_dict())
    assert text.startswith("# failover run failover-qlp\n")
    assert "- trigger: operator: drill" in text
    assert "- rto_seconds: 95.0" in text
    assert "| observe |" in text and "og\\|blue" in text
    assert "**refuse** - no healthy origin (rule 2)" in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgresql://qlp_app:pw123@host:5432/db", "postgresql://qlp_app:***@host:5432/db"),
        ("https://hooks.example/x?sig=abc&sv=1", "https://hooks.example/x?sig=***&sv=1"),
        (
            {"password": "pw", "routing_key": "k", "nested": ["password=pw;x"]},
            {"password": "***", "routing_key": "***", "nested": ["password=***;x"]},
        ),
        ({"lag_seconds": 3, "server": "pg"}, {"lag_seconds": 3, "server": "pg"}),
    ],
)
def test_redact(value: object, expected: object) -> None:
    assert redact(value) == expected


def test_log_redacts_what_goes_in() -> None:
    log = RunLog("r", "failover", {"kind": "operator", "reason": "postgresql://u:pw9@h/db"}, T0)
    log.end("x", T0, "failed", "connect postgresql://u:pw9@h/db failed")
    assert "pw9" not in str(log.report().to_dict())


def test_seconds_between() -> None:
    assert seconds_between(T0.isoformat(), (T0 + timedelta(minutes=2)).isoformat()) == 120.0
    assert seconds_between("", T0.isoformat()) is None
