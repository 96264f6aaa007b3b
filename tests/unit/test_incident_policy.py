"""Incident rules as sentences: which run opens an incident and how severe, the escalation matrix, the
response SLA per severity, where recovery stands against the RTO; and the settings that carry them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.config import SettingsError, load_settings
from shared.policy import incidents as rules
from shared.policy.incidents import Level, RunFacts
from tests.support.settings import FAILOVER_ENV

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # a Thursday


def opening(operation: str, phase: str, status: str = "", **kw: object) -> rules.Decision:
    return rules.incident_opening(RunFacts(operation, phase, status, **kw))  # type: ignore[arg-type]


def test_a_failover_opens_a_p0_incident_when_it_starts_whoever_started_it() -> None:
    for kind in ("alert", "operator"):
        decision = opening("failover", "started", trigger_kind=kind)
        assert decision.action == "open" and decision.value == "P0"
        assert decision.reason == "failover started: a regional outage of tier 1 is P0"


def test_severity_follows_the_tier_of_a_regional_outage() -> None:
    assert [rules.severity_of(RunFacts("failover", "started", tier=t)).action for t in (1, 2, 3)] == [
        "P0",
        "P1",
        "P2",
    ]


def test_container_recovery_opens_one_only_when_an_alert_started_it() -> None:
    assert opening("container-recovery", "started", trigger_kind="alert").value == "P1"
    assert opening("container-recovery", "started", trigger_kind="operator").action == "link"


def test_a_failed_deploy_is_p1_after_traffic_moved_and_p2_before() -> None:
    assert opening("deploy", "ended", "failed", traffic_moved=True).value == "P1"
    assert opening("deploy", "ended", "rolled-back", traffic_moved=True).value == "P1"
    before = opening("deploy", "ended", "failed")
    assert before.value == "P2" and "never took production traffic" in before.reason


def test_failed_drills_and_restore_tests_open_incidents_successes_do_not() -> None:
    assert opening("drill", "ended", "failed").value == "P3"
    assert opening("restore-test", "ended", "failed").value == "P2"
    assert opening("drill", "ended", "succeeded").action == "none"
    assert opening("deploy", "started").action == "none"
    assert opening("backup-watch", "ended", "failed").action == "none"


def test_runs_that_recover_join_an_open_incident() -> None:
    for operation in ("failback", "restore", "rollback"):
        assert opening(operation, "started").action == "link"


def test_highest_severity_wins() -> None:
    assert rules.highest("P2", "P0", "P3") == "P0"
    assert rules.highest("P2", "") == "P2"


def test_the_default_matrix_is_the_documents() -> None:
    assert rules.parse_levels("on-call:0,senior:15,lead:30,manager:60") == rules.DEFAULT_LEVELS


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("on-call:5,senior:15", "first level must start at 0"),
        ("on-call:0,senior:15,lead:10", "must be above the previous"),
        ("on-call:0,on-call:5", "names must differ"),
        ("on-call", "is not name:minutes"),
        ("on-call:0,senior:soon", "minutes must be a number"),
    ],
)
def test_bad_matrices_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        rules.parse_levels(text)


def test_next_escalation_climbs_and_stops() -> None:
    levels = rules.DEFAULT_LEVELS
    assert rules.next_escalation(levels, T0, 0, acknowledged=False) == (Level("on-call", 0), T0)
    assert rules.next_escalation(levels, T0, 2, acknowledged=False) == (
        Level("lead", 30),
        T0 + timedelta(minutes=30),
    )
    assert rules.next_escalation(levels, T0, 2, acknowledged=True) is None
    assert rules.next_escalation(levels, T0, 4, acknowledged=False) is None
    decision = rules.escalation(Level("senior", 15), 1, T0, T0 + timedelta(minutes=15))
    assert decision.reason == "unacknowledged for 15 min: escalate to senior (level 2, after 15 min)"


def test_response_due_per_severity() -> None:
    sla = rules.parse_sla("P0:15,P1:30,P2:120,P3:next-business-day")
    assert rules.response_due("P0", T0, sla) == T0 + timedelta(minutes=15)
    assert rules.response_due("P2", T0, sla) == T0 + timedelta(hours=2)
    assert rules.response_due("P3", T0, sla) == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # Friday 17:00
    friday = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    assert rules.response_due("P3", friday, sla) == datetime(2026, 12, 7, 17, 0, tzinfo=UTC)  # Monday


def test_response_verdicts() -> None:
    due = T0 + timedelta(minutes=15)
    met = rules.response_verdict("P0", T0, due, T0 + timedelta(minutes=9), T0 + timedelta(minutes=9))
    assert met.passed and met.reason == "P0 response SLA met: acknowledged after 9 min"
    late = rules.response_verdict("P0", T0, due, T0 + timedelta(minutes=20), T0 + timedelta(minutes=20))
    assert not late.passed and late.reason.endswith("5 min late")
    pending = rules.response_verdict("P0", T0, due, None, T0 + timedelta(minutes=5))
    assert not pending.available and "due in 10 min" in pending.reason
    missed = rules.response_verdict("P0", T0, due, None, T0 + timedelta(minutes=40))
    assert missed.available and not missed.passed and "25 min past due" in missed.reason


def test_sla_needs_every_severity() -> None:
    with pytest.raises(ValueError, match="missing P3"):
        rules.parse_sla("P0:15,P1:30,P2:120")
    with pytest.raises(ValueError, match="minutes"):
        rules.parse_sla("P0:0,P1:30,P2:120,P3:60")


def test_eta_against_the_rto() -> None:
    assert rules.eta_text(T0, 30, T0 + timedelta(minutes=12), measured_rto=None) == (
        "RTO 30 min: 18 min left (due 10:30 UTC)"
    )
    assert rules.eta_text(T0, 30, T0 + timedelta(minutes=40), measured_rto=None) == (
        "RTO 30 min: passed 10 min ago (was due 10:30 UTC)"
    )
    assert rules.eta_text(T0, 30, T0, measured_rto=2400) == "recovered: RTO 40 min (RTO 30 min: missed)"


def test_incident_settings_are_validated_naming_the_key() -> None:
    env = {**FAILOVER_ENV, "CONTINUITY_ESCALATION_LEVELS": "on-call:0,senior:5,lead:5"}
    env["CONTINUITY_ESCALATION_TARGETS"] = '{"senior": {"slack": "not a url"}}'
    env["CONTINUITY_RESPONSE_SLA"] = "P0:15"
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    text = " ".join(caught.value.problems)
    assert "CONTINUITY_ESCALATION_LEVELS" in text and "CONTINUITY_ESCALATION_TARGETS" in text
    assert "CONTINUITY_RESPONSE_SLA" in text and "not a url" not in text


def test_incident_settings_defaults() -> None:
    settings = load_settings(FAILOVER_ENV)
    assert settings.escalation_levels == "on-call:0,senior:15,lead:30,manager:60"
    assert settings.status_update_minutes == 30 and settings.postmortem_due_hours == 48
