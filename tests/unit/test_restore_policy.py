"""Restore decisions: when to switch after a restore, restore-test and drill verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared import policy
from shared.policy import CheckOutcome, DrillEvidence, RestoreTestEvidence

ROWS = CheckOutcome("row-count:intents", True, "intents has 120 rows")


def _switch(**changes: object) -> policy.Decision:
    args: dict[str, object] = {
        "checks_passed": True,
        "failed_checks": (),
        "switch_requested": True,
        "approval_required": False,
        "approval": None,
    }
    args.update(changes)
    return policy.decide_restore_switch(**args)  # type: ignore[arg-type]


def test_failed_checks_refuse_the_switch_and_name_the_checks() -> None:
    d = _switch(checks_passed=False, failed_checks=("sentinel", "row-count:intents"))
    assert d.action == policy.SWITCH_REFUSE
    assert "(sentinel, row-count:intents)" in d.reason


def test_no_switch_requested_keeps_the_restored_server() -> None:
    assert _switch(switch_requested=False).action == policy.SWITCH_KEEP


def test_approval_required_and_not_yet_given_waits() -> None:
    assert _switch(approval_required=True).action == policy.SWITCH_AWAIT_APPROVAL


def test_approved_switches_and_says_who_decided() -> None:
    d = _switch(approval_required=True, approval="approved")
    assert d.action == policy.SWITCH_GO and "approved by operator" in d.reason


def test_rejected_keeps_the_app_where_it_is() -> None:
    d = _switch(approval_required=True, approval="rejected")
    assert d.action == policy.SWITCH_KEEP and "rejected" in d.reason


def test_switch_without_approval_setting_goes_at_once() -> None:
    d = _switch()
    assert d.action == policy.SWITCH_GO and "approval not required" in d.reason


# ---- restore test verdict ----------------------------------------------------------------------------


def _evidence(**changes: object) -> RestoreTestEvidence:
    base: dict[str, object] = {
        "restore_error": None,
        "checks": (ROWS,),
        "sentinel_before_present": True,
        "sentinel_after_absent": True,
        "teardown_verified": True,
        "restore_seconds": 42.0,
        "restore_objective_seconds": 1800.0,
    }
    base.update(changes)
    return RestoreTestEvidence(**base)  # type: ignore[arg-type]


def test_restore_test_passes_when_everything_holds() -> None:
    v = policy.restore_test_verdict(_evidence())
    assert v.passed
    assert "sentinel after it absent" in v.reasons[0]


def test_a_missing_sentinel_before_the_point_fails() -> None:
    v = policy.restore_test_verdict(_evidence(sentinel_before_present=False))
    assert not v.passed
    assert v.reasons == ("the sentinel written before the restore point is missing: data was lost",)


def test_a_sentinel_after_the_point_that_is_present_fails() -> None:
    v = policy.restore_test_verdict(_evidence(sentinel_after_absent=False))
    assert not v.passed and "overshot" in v.reasons[0]


def test_unchecked_sentinels_fail() -> None:
    v = policy.restore_test_verdict(_evidence(sentinel_before_present=None, sentinel_after_absent=None))
    assert not v.passed and len(v.reasons) == 2
    assert all("not checked" in r for r in v.reasons)


def test_a_failed_data_check_fails_and_is_named() -> None:
    bad = CheckOutcome("row-count:intents", False, "intents has 0 rows, expected at least 1")
    v = policy.restore_test_verdict(_evidence(checks=(ROWS, bad)))
    assert v.reasons == ("check row-count:intents failed: intents has 0 rows, expected at least 1",)


def test_a_leftover_scratch_server_fails() -> None:
    v = policy.restore_test_verdict(_evidence(teardown_verified=False))
    assert v.reasons == ("the scratch server still exists after deletion",)


def test_an_unverified_teardown_fails() -> None:
    v = policy.restore_test_verdict(_evidence(teardown_verified=None))
    assert v.reasons == ("teardown was not verified",)


def test_a_failed_restore_fails_without_blaming_the_sentinels() -> None:
    v = policy.restore_test_verdict(
        _evidence(restore_error="permanent: restore qlp-db: quota", checks=(), sentinel_before_present=None)
    )
    assert v.reasons == ("restore failed: permanent: restore qlp-db: quota",)


def test_a_restore_slower_than_the_objective_fails() -> None:
    v = policy.restore_test_verdict(_evidence(restore_seconds=2400.0))
    assert v.reasons == ("restore took 40 min, over the 30 min objective",)


def test_every_failure_is_listed_together() -> None:
    v = policy.restore_test_verdict(_evidence(sentinel_after_absent=False, teardown_verified=False))
    assert len(v.reasons) == 2


def test_the_restore_test_point_lies_between_the_sentinels() -> None:
    before = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    point = policy.restore_test_point(before, before + timedelta(seconds=4))
    assert point == before + timedelta(seconds=2)


# ---- drill verdict -----------------------------------------------------------------------------------


def _drill(**changes: object) -> DrillEvidence:
    base: dict[str, object] = {
        "failed_steps": (),
        "rto_seconds": 120.0,
        "rto_objective_seconds": 1800.0,
        "rpo_seconds": 3.0,
        "rpo_objective_seconds": 900.0,
        "teardown_verified": True,
    }
    base.update(changes)
    return DrillEvidence(**base)  # type: ignore[arg-type]


def test_a_clean_drill_passes_with_its_figures() -> None:
    v = policy.drill_verdict(_drill())
    assert v.passed and "RTO 2 min and RPO 3 s inside objectives" in v.reasons[0]


def test_a_drill_over_its_rto_fails() -> None:
    v = policy.drill_verdict(_drill(rto_seconds=2400.0))
    assert v.reasons == ("RTO 40 min is over the 30 min objective",)


def test_a_drill_without_measurements_fails() -> None:
    v = policy.drill_verdict(_drill(rto_seconds=None, rpo_seconds=None))
    assert v.reasons == ("RTO was not measured", "RPO was not measured")


def test_a_drill_that_leaves_resources_fails() -> None:
    left = policy.drill_verdict(_drill(teardown_verified=False))
    assert left.reasons == ("drill resources are left behind",)
    unverified = policy.drill_verdict(_drill(teardown_verified=None))
    assert unverified.reasons == ("drill teardown was not verified",)


def test_failed_drill_steps_are_named() -> None:
    v = policy.drill_verdict(_drill(failed_steps=("promote-drill-replica",)))
    assert v.reasons == ("step promote-drill-replica failed",)
