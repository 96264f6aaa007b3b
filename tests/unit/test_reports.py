"""Run reports: the run record's two views, Markdown, redaction of secrets, durations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrators.toolkit.record import RunRecord
from shared.models import Decision, Verdict, seconds_between
from shared.reports import redact, render_markdown
from tests.support.durable import T0


def test_record_records_steps_decisions_and_status() -> None:
    record = RunRecord("failover-qlp", "failover", {"kind": "alert", "reason": "down"}, T0)
    entry = record.begin("promote", T0)
    record.decide("promote", Decision("forced", "the primary does not answer", "rule 4"), T0)
    status = record.custom_status()
    assert (status["step"], status["last_decision"], status["reason"]) == (
        "promote",
        "forced",
        "the primary does not answer",
    )
    assert status["steps"] == [{"name": "promote", "outcome": "running"}]
    assert status["decisions"] == [
        {"step": "promote", "action": "forced", "reason": "the primary does not answer", "rule": "rule 4"}
    ]
    record.end(entry, T0 + timedelta(seconds=30), "failed", "boom")
    status = record.custom_status()
    assert status["step"] == ""  # no step runs any more
    assert (status["last_decision"], status["reason"]) == ("forced", "the primary does not answer")
    assert status["steps"] == [{"name": "promote", "outcome": "failed"}]
    report = record.to_dict()
    assert report["steps"][0] == {
        "name": "promote",
        "started_at": T0.isoformat(),
        "ended_at": (T0 + timedelta(seconds=30)).isoformat(),
        "outcome": "failed",
        "detail": "boom",
    }
    assert record.ran() == []
    assert record.step_named("promote") == report["steps"][0]


def test_a_step_finishes_with_an_outcome() -> None:
    record = RunRecord("r", "failover", {"kind": "operator"}, T0)
    entry = record.begin("promote", T0)
    record.end(entry, T0 + timedelta(seconds=1), "failed", "boom")
    assert (entry["ended_at"], entry["outcome"], entry["detail"]) == (
        (T0 + timedelta(seconds=1)).isoformat(),
        "failed",
        "boom",
    )
    record.skip("fence", T0, "nothing to fence")
    assert record.step_named("fence") == {
        "name": "fence",
        "started_at": T0.isoformat(),
        "ended_at": T0.isoformat(),
        "outcome": "skipped",
        "detail": "nothing to fence",
    }
    record.end(record.begin("report", T0), T0, "succeeded")
    assert record.ran() == ["report"]


def test_markdown_has_every_section() -> None:
    record = RunRecord("failover-qlp", "failover", {"kind": "operator", "reason": "drill"}, T0)
    record.end(record.begin("observe", T0), T0, "succeeded", "traffic on og|blue")
    record.decide("decide", Decision("refuse", "no healthy origin", "rule 2"), T0)
    record.measure(rto_seconds=95.0)
    record.resource(server="pg-south-pitr")
    record.observed("before", "route", {"origin_group": "og-blue"})
    record.observed("after", "route", {"origin_group": "og-standby"})
    record.judge(Verdict(False, ("no healthy origin",)))
    record.finish("refused", T0, "no healthy origin")
    text = render_markdown(record.to_dict())
    assert text.startswith("# failover run failover-qlp\n")
    assert "- status: **refused**" in text
    assert "- trigger: operator: drill" in text
    assert "- rto_seconds: 95.0" in text
    assert "| observe |" in text and "og\\|blue" in text
    assert "**refuse** - no healthy origin (rule 2)" in text
    assert "## Verdict\n\n**fail**\n\n- no healthy origin" in text
    assert "## Resources\n\n- server: pg-south-pitr" in text
    assert "## Estate before\n\n- route: {'origin_group': 'og-blue'}" in text
    assert "## Estate after\n\n- route: {'origin_group': 'og-standby'}" in text


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


def test_record_redacts_what_goes_in() -> None:
    record = RunRecord("r", "failover", {"kind": "operator", "reason": "postgresql://u:pw9@h/db"}, T0)
    record.end(record.begin("x", T0), T0, "failed", "connect postgresql://u:pw9@h/db failed")
    record.decide("x", Decision("leave", "postgresql://u:pw9@h/db unreachable"), T0)
    record.measure(url="https://x?sig=pw9")
    record.resource(password="pw9")
    record.observed("after", "secret", {"host": "postgresql://u:pw9@h/db"})
    record.warn("password=pw9")
    record.judge(Verdict(False, ("postgresql://u:pw9@h/db",)))
    record.finish("failed", T0, "postgresql://u:pw9@h/db down")
    assert "pw9" not in str(record.to_dict())
    assert "pw9" not in str(record.custom_status())


def test_seconds_between() -> None:
    assert seconds_between(T0.isoformat(), (T0 + timedelta(minutes=2)).isoformat()) == 120.0
    assert seconds_between("", T0.isoformat()) is None
