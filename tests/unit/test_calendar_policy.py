"""The calendar checks' decisions, pure: plain values in, a verdict with its reasons out (from every state
a check can be in), and the settings that tune them, each bad value refused with its key named."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared import policy
from shared.config import PREFIX, SettingsError, load_settings
from shared.models import Decision, Verdict
from tests.support.calendar_estate import figures
from tests.support.durable import NOW
from tests.support.settings import BACKUP_ENV

LIMITS = policy.LatencyLimits(regression_percent=50, floor_ms=25, max_error_percent=1)
PLANNED = Decision("planned", "the primary answers: planned switchover, no data loss", "rule 4")
WITHIN = Decision("within", "replica lag 2 s is within the RPO of 15 min", "rule 3")
PROCEED = Decision("proceed", "failover mode is automatic and the lag gate passed: no approval needed")
OK = Verdict(True, ("fine",), "standby_image")


# ---- verdicts over checks --------------------------------------------------------------------------------
def test_nothing_checked_is_no_pass_and_every_failure_is_listed() -> None:
    assert policy.checks_verdict("x", [], "ok").reasons == ("nothing was checked",)
    bad = policy.checks_verdict(
        "x", [OK, Verdict(False, ("gone",), "b"), Verdict(False, ("late",), "c")], "ok"
    )
    assert not bad.passed and bad.reasons == ("b: gone", "c: late")
    assert policy.checks_verdict("x", [OK], "all good").reasons == ("all good (1 checks passed)",)


# ---- the failover validation, from each state its dry run can end in -------------------------------------
def test_a_dry_run_that_would_proceed_passes_with_its_decisions_as_the_reason() -> None:
    found = policy.failover_validation_verdict([PLANNED, WITHIN, PROCEED], [OK])
    assert found.passed and found.reason.startswith("the failover would proceed: the primary answers")


@pytest.mark.parametrize(
    ("decided", "stopped", "why"),
    [
        ([], "traffic already serves from the DR region", "would not proceed: traffic already serves"),
        ([Decision("refuse", "planned switchover refused", "rule 4")], "planned switchover refused",
         "would not proceed: planned switchover refused"),
        ([PLANNED, Decision("exceeded", "replica lag 20 min is over the RPO", "rule 3"), PROCEED], "",
         "replica lag 20 min is over the RPO"),
        ([Decision("forced", "the primary does not answer"), Decision("exceeded", "lag unknown", "rule 3"),
          Decision("approval", "lag unknown: no automatic forced promote", "rule 3")], "", "lag unknown"),
        ([], "", "the dry run decided nothing"),
    ],
)  # fmt: skip
def test_a_dry_run_that_would_not_proceed_fails_saying_why(
    decided: list[Decision], stopped: str, why: str
) -> None:
    found = policy.failover_validation_verdict(decided, [], stopped=stopped)
    assert not found.passed and why in found.reason
    assert len(found.reasons) == 1, found.reasons  # each failure said once


def test_manual_mode_approval_is_by_design_but_failed_preconditions_fail() -> None:
    manual = Decision("approval", "failover mode is manual: waiting for operator approval")
    assert policy.failover_validation_verdict([PLANNED, WITHIN, manual], [OK]).passed
    no_secret = Verdict(False, ("the secret points at 10.0.0.9, not at the primary",), "database_secret")
    found = policy.failover_validation_verdict([PLANNED, WITHIN, PROCEED], [OK, no_secret])
    assert found.reasons == ("database_secret: the secret points at 10.0.0.9, not at the primary",)


def test_no_primary_found_is_a_failed_precondition() -> None:
    seen = policy.ReadinessObservation(now=NOW, primary=None, primary_reason="no server is Ready")
    first = policy.failover_preconditions(seen)[0]
    assert (first.name, first.passed, first.reason) == ("primary", False, "no server is Ready")


# ---- the performance baseline ----------------------------------------------------------------------------
def summary(run_id: str, status: str, days: int) -> dict[str, Any]:
    return {"run_id": run_id, "status": status, "started_at": (NOW - timedelta(days=days)).isoformat()}


def test_the_previous_baseline_is_the_newest_that_passed_other_than_this_run() -> None:
    runs = [summary("a", "succeeded", 60), summary("b", "succeeded", 30), summary("c", "failed", 1)]
    assert policy.previous_baseline([*runs, summary("me", "running", 0)], "me") == "b"
    assert policy.previous_baseline([summary("me", "succeeded", 0)], "me") is None


@pytest.mark.parametrize(
    ("now", "before", "passed", "said"),
    [
        (figures(12.0), None, True, "p50/p95/p99 6.0/12.0/18.0 ms: the first baseline of /x"),
        (figures(17.0), figures(12.0), True, "p95 +42% against the previous baseline's 12.0 ms (within"),
        (figures(36.0), figures(12.0), True, "+200%"),  # within the 25 ms floor: 37 ms at most
        (figures(38.0), figures(12.0), False, "(over the limit 37.0 ms: +50%, 25 ms at least)"),
        (figures(160.0), figures(100.0), False, "+60% against the previous baseline's 100.0 ms (over"),
        ({**figures(1.0), "p95_ms": None}, figures(12.0), False, "no latency of /x was measured"),
    ],
)
def test_p95_is_held_to_the_previous_baseline_beyond_the_floor(
    now: dict[str, Any], before: dict[str, Any] | None, passed: bool, said: str
) -> None:
    found = policy.performance_checks({"/x": now}, {"/x": before} if before else None, LIMITS)[1]
    assert found.name == "p95 /x"
    assert found.passed is passed and said in found.reason, found.reason


@pytest.mark.parametrize(
    ("measured", "passed", "said"),
    [
        (figures(10.0), True, "0 of 100 requests failed (0.0%), within the 1% limit"),
        (figures(10.0, errors=1), True, "1 of 100 requests failed (1.0%), within"),
        (figures(10.0, errors=2), False, "2 of 100 requests failed (2.0%), over the 1% limit"),
        ({**figures(10.0, errors=100), "answered": 0}, False, "none of 100 requests to /x was answered"),
        ({"count": 0, "error_rate": None}, False, "no request to /x was measured"),
    ],
)
def test_the_error_rate_is_held_to_its_limit(measured: dict[str, Any], passed: bool, said: str) -> None:
    found = policy.performance_checks({"/x": measured}, None, LIMITS)[0]
    assert found.name == "error rate /x" and found.passed is passed and said in found.reason, found.reason


def test_a_previous_baseline_that_cannot_be_read_is_a_failed_check() -> None:
    found = policy.performance_checks({"/x": figures(5.0)}, None, LIMITS, previous_error="unreadable")
    assert (found[0].name, found[0].passed, found[0].reason) == ("previous baseline", False, "unreadable")


# ---- the health-check validation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("listed", "passed", "said"),
    [
        ({"probe_path": "/health", "probe_protocol": "Https"}, True, "probes /health over Https"),
        ({"probe_path": "/", "probe_protocol": "Http"}, False, "probes /, not the configured health path"),
        ({"probe_path": None, "probe_protocol": None}, False, "no health probe path is set"),
        ({"probe_path": "/health", "probe_protocol": "NotSet"}, False, "protocol is NotSet"),
        ({"error": "permanent: not found"}, False, "could not be read: permanent: not found"),
    ],
)
def test_front_doors_probe_settings_must_probe_the_health_path(
    listed: dict[str, Any], passed: bool, said: str
) -> None:
    found = policy.probe_settings_check("og-blue", listed, "/health")
    assert found.name == "probe settings og-blue" and found.passed is passed and said in found.reason


def test_only_origins_of_a_running_slot_are_expected_to_answer() -> None:
    assert policy.origins_not_judged("qlp-blue", {"state": "Running"}) == ""
    assert policy.origins_not_judged("qlp-blue", {"error": "timeout"}) == ""  # unreadable: judged
    stopped = policy.origins_not_judged("qlp-green", {"state": "Stopped"})
    assert stopped == "qlp-green is Stopped: its origins answer only once it is started"


def test_each_enabled_origin_must_answer_directly() -> None:
    answered = {"url": "http://h:1/health", "status": 200, "latency_ms": 2.0, "error": None}
    refused = {"url": "http://h:2/health", "status": None, "error": "ConnectionRefusedError"}
    listed = {"origins": [
        {"name": "a", "enabled": True, "healthy": True, "probe": answered},
        {"name": "b", "enabled": True, "healthy": False, "probe": refused},
        {"name": "c", "enabled": False, "healthy": False},
    ]}  # fmt: skip
    a, b = policy.origin_checks("og", listed)
    assert (a.name, a.passed, a.reason) == ("origin og/a", True, "http://h:1/health answered 200 in 2.0 ms")
    assert not b.passed and b.reason == "http://h:2/health did not answer healthy: ConnectionRefusedError"
    (none,) = policy.origin_checks("og", {"origins": [{"name": "c", "enabled": False}]})
    assert not none.passed and "no enabled origin" in none.reason


def test_a_component_is_healthy_only_when_its_probe_is_ok() -> None:
    assert policy.component_check("db", "/db", {"ok": True, "status": 200, "latency_ms": 4}).passed
    down = policy.component_check(
        "db", "/db", {"ok": False, "status": 503, "error": "status 503, expected 200"}
    )
    assert down.name == "public db" and down.reason.endswith("status 503, expected 200")


# ---- the backup integrity check: the watch's own checks of the automatic backups --------------------------
def test_the_automatic_backup_checks_are_the_backup_watchs_first_four() -> None:
    seen = policy.BackupObservation(
        now=NOW, latest_backup_at=NOW - timedelta(hours=5), earliest_restore_point=None, retention_days=7,
        geo_redundant_backup=False, replica_state=None, replica_lag_seconds=None, storage_geo_available=False,
        storage_last_sync_at=None,
    )  # fmt: skip
    goal = policy.BackupObjectives()
    assert policy.assess_automatic_backups(seen, goal) == policy.assess_backups(seen, goal)[:4]
    assert [c.passed for c in policy.assess_automatic_backups(seen, goal)] == [False] * 4


# ---- the settings ----------------------------------------------------------------------------------------
def test_the_checks_settings_default_to_the_documented_values() -> None:
    s = load_settings(BACKUP_ENV)
    assert (s.failover_validation_schedule, s.performance_baseline_schedule) == ("0 0 6 1 * *", "0 0 1 1 * *")
    assert (s.health_check_validation_schedule, s.backup_integrity_schedule) == ("0 0 9 * * 2", "0 0 6 * * 3")
    assert (s.performance_baseline_requests, s.performance_regression_percent) == (100, 50.0)
    assert (s.performance_regression_floor_ms, s.performance_max_error_percent) == (25.0, 1.0)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("FAILOVER_VALIDATION_SCHEDULE", "0 6 1 * *", "six-field"),
        ("PERFORMANCE_BASELINE_SCHEDULE", "monthly", "six-field"),
        ("HEALTH_CHECK_VALIDATION_SCHEDULE", "0 0 9 * *", "six-field"),
        ("BACKUP_INTEGRITY_SCHEDULE", "", None),  # empty: the default
        ("PERFORMANCE_BASELINE_REQUESTS", "0", "at least 1"),
        ("PERFORMANCE_BASELINE_REQUESTS", "5000", "at most 1000 requests"),
        ("PERFORMANCE_BASELINE_REQUESTS", "many", "whole number"),
        ("PERFORMANCE_REGRESSION_PERCENT", "-5", "not be negative"),
        ("PERFORMANCE_REGRESSION_FLOOR_MS", "fast", "must be a number"),
        ("PERFORMANCE_MAX_ERROR_PERCENT", "101", "at most 100 %"),
        ("CALENDAR_OFF", "failover-validation,weekly-thing", "unknown items weekly-thing"),
    ],
)
def test_a_bad_setting_of_the_checks_is_refused_naming_its_key(
    key: str, value: str, reason: str | None
) -> None:
    env = {**BACKUP_ENV, PREFIX + key: value}
    if reason is None:
        load_settings(env)
        return
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    (problem,) = caught.value.problems
    assert problem.startswith(PREFIX + key + ":") and reason in problem, problem
