"""Backup decisions from every state a run can be in: restore-point rules, breach transitions, the gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared import policy
from shared.policy import (
    BackupGateState,
    BackupObjectives,
    BackupObservation,
    RestoreWindow,
    Verdict,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
WINDOW = RestoreWindow(now=NOW, earliest_restore_point=NOW - timedelta(days=10), retention_days=30)


# ---- restore-point validation ------------------------------------------------------------------------


def test_a_point_inside_the_window_is_valid() -> None:
    check = policy.validate_restore_point(NOW - timedelta(hours=1), WINDOW)
    # a valid point names the rule it was checked against too (rule 8), as every governed decision does
    assert check.is_(policy.POINT_VALID) and check.rule == "rule 8"


def test_now_itself_and_the_earliest_point_itself_are_valid() -> None:
    assert policy.validate_restore_point(NOW, WINDOW).is_(policy.POINT_VALID)
    assert policy.validate_restore_point(NOW - timedelta(days=10), WINDOW).is_(policy.POINT_VALID)


def test_a_point_in_the_future_fails_the_future_rule() -> None:
    check = policy.validate_restore_point(NOW + timedelta(minutes=5), WINDOW)
    assert not check.is_(policy.POINT_VALID)
    assert (check.action, check.rule) == (policy.RULE_NOT_IN_FUTURE, "rule 8")
    assert "5 min in the future" in check.reason


def test_a_point_before_the_earliest_restore_point_fails_that_rule() -> None:
    check = policy.validate_restore_point(NOW - timedelta(days=11), WINDOW)
    assert (check.action, check.rule) == (policy.RULE_NOT_BEFORE_EARLIEST, "rule 8")
    assert "before the earliest restore point" in check.reason


def test_a_point_outside_retention_fails_retention_first() -> None:
    check = policy.validate_restore_point(NOW - timedelta(days=31), WINDOW)
    assert (check.action, check.rule) == (policy.RULE_INSIDE_RETENTION, "rule 8")
    assert "30-day backup retention" in check.reason


def test_a_server_without_restore_points_refuses_every_past_point() -> None:
    window = RestoreWindow(now=NOW, earliest_restore_point=None, retention_days=30)
    check = policy.validate_restore_point(NOW - timedelta(minutes=1), window)
    assert (check.action, check.rule) == (policy.RULE_NOT_BEFORE_EARLIEST, "rule 8")
    assert "no restore point" in check.reason


# ---- backup watch checks -----------------------------------------------------------------------------


def _observation(**changes: object) -> BackupObservation:
    base = {
        "now": NOW,
        "latest_backup_at": NOW - timedelta(hours=1),
        "earliest_restore_point": NOW - timedelta(days=30),
        "retention_days": 30,
        "geo_redundant_backup": True,
        "replica_state": "Active",
        "replica_lag_seconds": 2.0,
        "storage_geo_available": True,
        "storage_last_sync_at": NOW - timedelta(minutes=2),
    }
    base.update(changes)
    return BackupObservation(**base)  # type: ignore[arg-type]


def _by_name(obs: BackupObservation, objectives: BackupObjectives | None = None) -> dict[str, Verdict]:
    return {c.name: c for c in policy.assess_backups(obs, objectives or BackupObjectives())}


def test_a_healthy_estate_passes_every_check() -> None:
    checks = _by_name(_observation())
    assert all(c.passed for c in checks.values()), checks
    assert set(checks) == {
        policy.CHECK_BACKUP_AGE,
        policy.CHECK_RETENTION,
        policy.CHECK_EARLIEST_RESTORE_POINT,
        policy.CHECK_GEO_REDUNDANT_BACKUP,
        policy.CHECK_REPLICA,
        policy.CHECK_STORAGE_GEO_SYNC,
    }


@pytest.mark.parametrize(
    ("changes", "check", "words"),
    [
        ({"latest_backup_at": NOW - timedelta(hours=5)}, policy.CHECK_BACKUP_AGE, "5 h 0 min old"),
        ({"latest_backup_at": None}, policy.CHECK_BACKUP_AGE, "no completed backup"),
        ({"retention_days": 7}, policy.CHECK_RETENTION, "7 days (required 30)"),
        ({"retention_days": None}, policy.CHECK_RETENTION, "not reported"),
        ({"earliest_restore_point": None}, policy.CHECK_EARLIEST_RESTORE_POINT, "no earliest"),
        ({"geo_redundant_backup": False}, policy.CHECK_GEO_REDUNDANT_BACKUP, "disabled"),
        ({"geo_redundant_backup": None}, policy.CHECK_GEO_REDUNDANT_BACKUP, "not reported"),
        ({"replica_state": None, "replica_lag_seconds": None}, policy.CHECK_REPLICA, "no read replica"),
        ({"replica_state": "Broken"}, policy.CHECK_REPLICA, "state is Broken"),
        ({"replica_lag_seconds": 1200.0}, policy.CHECK_REPLICA, "lag 1200 s (RPO 900 s)"),
        ({"storage_last_sync_at": NOW - timedelta(hours=1)}, policy.CHECK_STORAGE_GEO_SYNC, "1 h 0 min ago"),
        ({"storage_last_sync_at": None}, policy.CHECK_STORAGE_GEO_SYNC, "not synced"),
    ],
)
def test_each_breach_is_named_with_its_reason(changes: dict[str, object], check: str, words: str) -> None:
    checks = _by_name(_observation(**changes))
    assert not checks[check].passed
    assert words in checks[check].reason
    assert [c.name for c in checks.values() if not c.passed] == [check]


def test_backup_age_exactly_at_the_threshold_is_not_a_breach() -> None:
    assert _by_name(_observation(latest_backup_at=NOW - timedelta(hours=4)))[policy.CHECK_BACKUP_AGE].passed


def test_storage_without_a_secondary_is_reported_not_available_not_breached() -> None:
    check = _by_name(_observation(storage_geo_available=False, storage_last_sync_at=None))[
        policy.CHECK_STORAGE_GEO_SYNC
    ]
    assert check.passed and not check.available
    assert "not available" in check.reason


def test_replica_and_geo_backup_are_not_required_when_objectives_say_so() -> None:
    objectives = BackupObjectives(require_geo_redundant_backup=False, expect_replica=False)
    checks = _by_name(_observation(geo_redundant_backup=False, replica_state=None), objectives)
    assert checks[policy.CHECK_GEO_REDUNDANT_BACKUP].passed and checks[policy.CHECK_REPLICA].passed


def test_replica_without_lag_figure_is_ok_and_says_so() -> None:
    check = _by_name(_observation(replica_lag_seconds=None))[policy.CHECK_REPLICA]
    assert check.passed and "lag not reported" in check.reason


# ---- breach state machine ----------------------------------------------------------------------------

AGE_BAD = Verdict(False, ("latest backup is 5 h 0 min old",), name=policy.CHECK_BACKUP_AGE)
AGE_OK = Verdict(True, ("latest backup is 10 min old",), name=policy.CHECK_BACKUP_AGE)
LAG_BAD = Verdict(False, ("lag 1200 s",), name=policy.CHECK_REPLICA)


def test_a_new_breach_opens_and_notifies_once() -> None:
    t = policy.next_breach_state({}, [AGE_BAD], NOW)
    assert t.open_breaches == {policy.CHECK_BACKUP_AGE: NOW.isoformat()}
    assert [(e.check, e.kind) for e in t.events] == [(policy.CHECK_BACKUP_AGE, policy.BREACHED)]
    assert t.events[0].reason == AGE_BAD.reason


def test_a_breach_that_stays_open_does_not_notify_again() -> None:
    first = policy.next_breach_state({}, [AGE_BAD], NOW)
    later = policy.next_breach_state(first.open_breaches, [AGE_BAD], NOW + timedelta(minutes=15))
    assert later.events == ()
    assert later.open_breaches == first.open_breaches


def test_a_cleared_breach_resolves_once_with_its_duration() -> None:
    opened = {policy.CHECK_BACKUP_AGE: NOW.isoformat()}
    t = policy.next_breach_state(opened, [AGE_OK], NOW + timedelta(minutes=45))
    assert t.open_breaches == {}
    assert [(e.kind, e.since) for e in t.events] == [(policy.RESOLVED, NOW.isoformat())]
    assert "cleared after 45 min" in t.events[0].reason
    again = policy.next_breach_state(t.open_breaches, [AGE_OK], NOW + timedelta(hours=1))
    assert again.events == ()


def test_missing_data_keeps_an_open_breach_open() -> None:
    opened = {policy.CHECK_BACKUP_AGE: NOW.isoformat()}
    t = policy.next_breach_state(opened, [], NOW + timedelta(minutes=15))
    assert t.open_breaches == opened and t.events == ()


def test_breaches_are_tracked_per_check() -> None:
    opened = {policy.CHECK_BACKUP_AGE: NOW.isoformat()}
    t = policy.next_breach_state(opened, [AGE_BAD, LAG_BAD], NOW + timedelta(minutes=15))
    assert [(e.check, e.kind) for e in t.events] == [(policy.CHECK_REPLICA, policy.BREACHED)]
    assert set(t.open_breaches) == {policy.CHECK_BACKUP_AGE, policy.CHECK_REPLICA}


def test_the_input_state_is_not_mutated() -> None:
    opened = {policy.CHECK_BACKUP_AGE: NOW.isoformat()}
    policy.next_breach_state(opened, [AGE_OK], NOW)
    assert opened == {policy.CHECK_BACKUP_AGE: NOW.isoformat()}


def test_a_failed_probe_is_a_breach_of_its_own() -> None:
    check = policy.probe_failed_check("transient: list backups qlp-db: 503")
    assert not check.passed and check.name == policy.CHECK_WATCH_PROBE
    assert "503" in check.reason


# ---- pre-deployment backup gate ----------------------------------------------------------------------


def _gate(**changes: object) -> BackupGateState:
    base: dict[str, object] = {"now": NOW, "latest_backup_at": NOW - timedelta(hours=7)}
    base.update(changes)
    return BackupGateState(**base)  # type: ignore[arg-type]


def test_gate_proceeds_with_a_backup_younger_than_six_hours() -> None:
    d = policy.decide_backup_gate(_gate(latest_backup_at=NOW - timedelta(hours=5, minutes=59)))
    assert d.action == policy.GATE_PROCEED and "within the 6 h 0 min gate" in d.reason


def test_gate_takes_an_on_demand_backup_when_the_latest_is_too_old() -> None:
    d = policy.decide_backup_gate(_gate())
    assert d.action == policy.GATE_TAKE_BACKUP and "7 h 0 min old" in d.reason


def test_gate_takes_a_backup_when_there_is_none_at_all() -> None:
    d = policy.decide_backup_gate(_gate(latest_backup_at=None))
    assert d.action == policy.GATE_TAKE_BACKUP and "no completed backup" in d.reason


def test_gate_refuses_when_on_demand_backups_are_not_allowed() -> None:
    d = policy.decide_backup_gate(_gate(on_demand_allowed=False))
    assert d.action == policy.GATE_REFUSE and "not allowed" in d.reason


def test_gate_waits_while_the_on_demand_backup_runs() -> None:
    started = NOW - timedelta(minutes=3)
    d = policy.decide_backup_gate(_gate(on_demand_started_at=started, on_demand_status="InProgress"))
    assert d.action == policy.GATE_WAIT and "running 3 min" in d.reason


def test_gate_proceeds_once_the_on_demand_backup_is_the_latest() -> None:
    d = policy.decide_backup_gate(
        _gate(
            latest_backup_at=NOW - timedelta(seconds=30),
            on_demand_started_at=NOW - timedelta(minutes=2),
            on_demand_status="Succeeded",
        )
    )
    assert d.action == policy.GATE_PROCEED


def test_gate_refuses_when_the_on_demand_backup_failed() -> None:
    d = policy.decide_backup_gate(_gate(on_demand_started_at=NOW, on_demand_status="Failed"))
    assert d.action == policy.GATE_REFUSE and "on-demand backup failed" in d.reason


def test_gate_refuses_a_success_that_did_not_produce_a_fresh_backup() -> None:
    d = policy.decide_backup_gate(_gate(on_demand_started_at=NOW, on_demand_status="Succeeded"))
    assert d.action == policy.GATE_REFUSE and "reported success" in d.reason


def test_gate_refuses_after_waiting_too_long() -> None:
    d = policy.decide_backup_gate(
        _gate(on_demand_started_at=NOW - timedelta(minutes=31), on_demand_status="InProgress")
    )
    assert d.action == policy.GATE_REFUSE and "still running after 31 min" in d.reason


# ---- duration wording --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (45, "45 s"), (720, "12 min"), (14700, "4 h 5 min"), (266400, "3 d 2 h"), (-300, "-5 min")],
)
def test_durations_read_as_an_operator_would_say_them(seconds: int, text: str) -> None:
    assert policy.describe_duration(timedelta(seconds=seconds)) == text
