"""Failover and failback decisions, from every intermediate state a run can resume in. No doubles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared import policy
from shared.models import Decision, ProbeSnapshot, ReplicaLag

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def probes(*healthy: bool) -> list[ProbeSnapshot]:
    return [ProbeSnapshot(target="https://primary/health", healthy=h) for h in healthy]


# ---- rule 1 ----------------------------------------------------------------------------------------
def test_an_operation_starts_when_nothing_runs() -> None:
    d = policy.may_start("failover", [])
    assert d == Decision("start", "no other DR operation is running: failover may start", "rule 1")


def test_a_second_operation_is_refused_naming_the_running_one() -> None:
    d = policy.may_start("failover", ["failover-qlp"])
    assert d == Decision("refuse", "failover refused: failover-qlp is already running for this app", "rule 1")


# ---- confirmation ----------------------------------------------------------------------------------
def test_no_probes_yet_probes_again() -> None:
    d = policy.confirm_outage([], threshold=3, max_probes=9)
    assert d.action == "probe"
    assert d.reason == "0 consecutive failed probes of 3 needed: probing again"


def test_two_failures_of_three_probe_again() -> None:
    assert policy.confirm_outage(probes(False, False), threshold=3, max_probes=9).action == "probe"


def test_three_failures_in_a_row_confirm_the_outage() -> None:
    d = policy.confirm_outage(probes(True, False, False, False), threshold=3, max_probes=9)
    assert d == Decision("confirmed", "the primary failed 3 consecutive probes: outage confirmed")


def test_a_success_resets_the_count() -> None:
    d = policy.confirm_outage(probes(False, False, True, False), threshold=3, max_probes=9)
    assert d.action == "probe"
    assert d.reason.startswith("1 consecutive failed probes")


def test_a_primary_that_answers_threshold_times_has_recovered() -> None:
    d = policy.confirm_outage(probes(False, True, True, True), threshold=3, max_probes=9)
    assert d == Decision("recovered", "the primary answered 3 consecutive probes: recovered, no failover")


def test_a_resolved_alert_ends_confirmation_without_failover() -> None:
    d = policy.confirm_outage(probes(False, False), threshold=3, max_probes=9, resolved=True)
    assert d == Decision("recovered", "the alert resolved during confirmation: recovered, no failover")


def test_a_flapping_primary_is_not_failed_over_automatically() -> None:
    d = policy.confirm_outage(probes(False, True, False, True), threshold=3, max_probes=4)
    assert d.action == "recovered"
    assert d.reason == (
        "the primary failed 2 of 4 probes without 3 failures in a row: not confirmed, no automatic failover"
    )


def test_threshold_zero_confirms_at_once() -> None:
    d = policy.confirm_outage([], threshold=0, max_probes=0)
    assert d.action == "confirmed"
    assert "threshold 0" in d.reason


# ---- rule 7 ----------------------------------------------------------------------------------------
def test_budget_allows_when_under_the_limit() -> None:
    d = policy.failover_budget([NOW - timedelta(hours=30)], now=NOW, max_per_window=1, window_seconds=86400)
    assert d == Decision("allow", "0 automatic failovers in the last 1 d 0 h, limit 1", "rule 7")


def test_budget_refuses_when_the_window_is_full() -> None:
    d = policy.failover_budget([NOW - timedelta(hours=2)], now=NOW, max_per_window=1, window_seconds=86400)
    assert d.action == "refuse"
    assert d.rule == "rule 7"
    assert d.reason == (
        "automatic failover refused: 1 already ran in the last 1 d 0 h (limit 1); an operator may start one"
    )


# ---- rule 3: lag -----------------------------------------------------------------------------------
def test_lag_within_rpo() -> None:
    d = policy.lag_gate(ReplicaLag(seconds=4.0), rpo_seconds=900)
    assert d == Decision("within", "replica lag 4 s is within the RPO of 15 min", "rule 3")


def test_lag_over_rpo() -> None:
    d = policy.lag_gate(ReplicaLag(seconds=1200.0), rpo_seconds=900)
    assert d == Decision("exceeded", "replica lag 20 min is over the RPO of 15 min", "rule 3")


def test_unknown_lag_counts_as_over_the_rpo() -> None:
    d = policy.lag_gate(ReplicaLag(seconds=None, source="unavailable"), rpo_seconds=900)
    assert d == Decision(
        "exceeded", "replica lag could not be measured: treated as over the RPO of 15 min", "rule 3"
    )


# ---- rule 4: promote mode --------------------------------------------------------------------------
@pytest.mark.parametrize("requested", ["auto", "planned"])
def test_reachable_primary_gets_a_planned_switchover(requested: str) -> None:
    d = policy.promote_mode(requested=requested, primary_reachable=True)
    assert d == Decision("planned", "the primary answers: planned switchover, no data loss", "rule 4")


def test_forced_is_downgraded_to_planned_while_the_primary_answers() -> None:
    d = policy.promote_mode(requested="forced", primary_reachable=True)
    assert d.action == "planned"
    assert d.rule == "rule 4"
    assert d.reason == "forced was requested but the primary answers: planned switchover instead"


@pytest.mark.parametrize("requested", ["auto", "forced"])
def test_unreachable_primary_gets_a_forced_promote(requested: str) -> None:
    d = policy.promote_mode(requested=requested, primary_reachable=False)
    assert d == Decision("forced", "the primary does not answer: forced promote of the replica", "rule 4")


def test_planned_is_refused_when_the_primary_does_not_answer() -> None:
    d = policy.promote_mode(requested="planned", primary_reachable=False)
    assert d.action == "refuse"
    assert d.rule == "rule 4"
    assert "start a forced failover instead" in d.reason


# ---- approval --------------------------------------------------------------------------------------
FORCED = Decision("forced", "")
PLANNED = Decision("planned", "")
OVER = policy.lag_gate(ReplicaLag(seconds=1200.0), rpo_seconds=900)
WITHIN = policy.lag_gate(ReplicaLag(seconds=1.0), rpo_seconds=900)


@pytest.mark.parametrize("trigger", ["alert", "operator"])
def test_forced_promote_over_the_rpo_waits_for_an_operator(trigger: str) -> None:
    d = policy.approval(trigger_kind=trigger, failover_mode="auto", promote=FORCED, lag=OVER)
    assert d.action == "approval"
    assert d.rule == "rule 3"
    assert d.reason == (
        "replica lag 20 min is over the RPO of 15 min: "
        "no automatic forced promote, waiting for operator approval"
    )


def test_planned_promote_ignores_the_lag_gate() -> None:
    d = policy.approval(trigger_kind="alert", failover_mode="auto", promote=PLANNED, lag=OVER)
    assert d.action == "proceed"


def test_manual_mode_waits_for_an_operator() -> None:
    d = policy.approval(trigger_kind="alert", failover_mode="manual", promote=FORCED, lag=WITHIN)
    assert d == Decision("approval", "failover mode is manual: waiting for operator approval")


def test_operator_started_run_is_its_own_approval() -> None:
    d = policy.approval(trigger_kind="operator", failover_mode="manual", promote=FORCED, lag=WITHIN)
    assert d == Decision("proceed", "started by an operator: no further approval needed")


def test_automatic_mode_within_rpo_proceeds() -> None:
    d = policy.approval(trigger_kind="alert", failover_mode="auto", promote=FORCED, lag=WITHIN)
    assert d.reason == "failover mode is automatic and the lag gate passed: no approval needed"


@pytest.mark.parametrize(
    ("answer", "action", "reason"),
    [
        ("approve", "proceed", "approved by ops: lag accepted"),
        ("reject", "stop", "rejected by ops: lag accepted: stopped, nothing changed"),
        ("cancel", "stop", "cancelled by ops: lag accepted: stopped, nothing changed"),
    ],
)
def test_operator_answers(answer: str, action: str, reason: str) -> None:
    assert policy.approval_answer(answer, by="ops", note="lag accepted") == Decision(action, reason)


def test_approval_timeout_stops_or_escalates() -> None:
    stop = policy.approval_timeout(on_timeout="stop", waited_seconds=1800)
    assert stop == Decision("stop", "no approval after 30 min: stopped, nothing changed")
    page = policy.approval_timeout(on_timeout="escalate", waited_seconds=1800)
    assert page == Decision("escalate", "no approval after 30 min: escalated by page, still waiting")
    wait = policy.approval_timeout(on_timeout="wait", waited_seconds=1800)
    assert wait == Decision("wait", "no approval after 30 min: still waiting")


# ---- grace period ----------------------------------------------------------------------------------
def test_grace_period_waits_inside_the_rto() -> None:
    d = policy.grace(trigger_kind="alert", grace_seconds=600, rto_seconds=1800)
    assert d.action == "wait"
    assert d.reason == (
        "standby prepared; waiting 10 min for the primary to recover (inside the RTO of 30 min); "
        "approval ends the wait early"
    )


def test_grace_period_longer_than_the_rto_says_so() -> None:
    assert "NOT inside" in policy.grace(trigger_kind="alert", grace_seconds=3600, rto_seconds=1800).reason


def test_no_grace_for_operators_or_zero() -> None:
    assert policy.grace(trigger_kind="operator", grace_seconds=600, rto_seconds=1800).action == "skip"
    assert policy.grace(trigger_kind="alert", grace_seconds=0, rto_seconds=1800) == Decision(
        "skip", "grace period is 0: failing over at once"
    )


def test_after_grace() -> None:
    down, up = ProbeSnapshot("p", healthy=False), ProbeSnapshot("p", healthy=True)
    assert policy.after_grace(down, resolved=False).action == "failover"
    assert policy.after_grace(up, resolved=False).action == "stand-down"
    assert policy.after_grace(down, resolved=True).reason == (
        "the alert resolved during the grace period: recovered, no failover"
    )
    assert policy.after_grace(up, resolved=True, approved=True).action == "failover"


# ---- rule 2 ----------------------------------------------------------------------------------------
def test_traffic_goes_only_to_a_pool_with_a_healthy_origin() -> None:
    ok = policy.route_traffic(target="og-ukwest", healthy_origins=1, total_origins=2)
    assert ok == Decision("switch", "origin group og-ukwest has 1 of 2 origins healthy", "rule 2")
    no = policy.route_traffic(target="og-ukwest", healthy_origins=0, total_origins=2)
    assert no == Decision(
        "refuse", "traffic switch refused: origin group og-ukwest has no healthy origin (0 of 2)", "rule 2"
    )


# ---- rule 5 ----------------------------------------------------------------------------------------
def test_forced_promote_fences_the_old_primary() -> None:
    d = policy.fence(promote="forced", old_primary_role="primary", old_primary_state="Ready")
    assert d.action == "fence"
    assert d.rule == "rule 5"


def test_switchover_needs_no_fence() -> None:
    d = policy.fence(promote="planned", old_primary_role="replica", old_primary_state="Ready")
    assert d == Decision(
        "skip", "switchover made the old primary a read-only replica: no fence needed", "rule 5"
    )


def test_planned_standalone_promote_still_fences_a_writable_old_primary() -> None:
    d = policy.fence(promote="planned", old_primary_role="primary", old_primary_state="Ready")
    assert d.action == "fence"
    assert "still writable" in d.reason


def test_an_already_stopped_old_primary_is_fenced() -> None:
    d = policy.fence(promote="forced", old_primary_role="primary", old_primary_state="Stopped")
    assert d == Decision("skip", "the old primary is already stopped: fenced", "rule 5")


# ---- failures --------------------------------------------------------------------------------------
def test_failure_before_anything_changed_leaves_traffic() -> None:
    d = policy.on_step_failure("promote", promoted=False, traffic_moved=False, error="boom")
    assert d == Decision("leave", "promote failed before anything changed (boom): traffic left where it was")


def test_failure_after_promote_pages_and_keeps_the_promotion() -> None:
    d = policy.on_step_failure("verify_standby", promoted=True, traffic_moved=False, error="503")
    assert d.action == "page"
    assert "traffic left where it was" in d.reason
    assert "the promotion is not undone" in d.reason


def test_failure_after_traffic_moved_pages_and_never_undoes() -> None:
    d = policy.on_step_failure("verify_public", promoted=True, traffic_moved=True, error="503")
    assert d == Decision(
        "page", "verify_public failed after traffic moved (503): paging; the promotion is never undone"
    )


# ---- failback --------------------------------------------------------------------------------------
def test_failback_needs_the_primary_away_from_home() -> None:
    assert policy.failback_allowed(primary_region="ukwest", home_region="uksouth").action == "start"
    d = policy.failback_allowed(primary_region="uksouth", home_region="uksouth")
    assert d == Decision("refuse", "failback refused: the primary is already in its home region uksouth")


def test_new_replica_catch_up() -> None:
    assert policy.caught_up(ReplicaLag(seconds=None)).action == "wait"
    behind = policy.caught_up(ReplicaLag(seconds=30.0))
    assert behind.reason == "the new replica is 30 s behind: waiting to catch up"
    assert policy.caught_up(ReplicaLag(seconds=0.0)).action == "ready"
    # Azure's metric is the time since the last replayed transaction: a few seconds when idle is current
    assert policy.caught_up(ReplicaLag(seconds=3.0)).action == "ready"


# ---- verdict ---------------------------------------------------------------------------------------
def test_objectives_verdict() -> None:
    met = policy.objectives_verdict(rto_seconds=95, rpo_seconds=0, rto_goal=1800, rpo_goal=900)
    assert met == Decision("met", "objectives met: RTO 1 min vs 30 min, RPO 0 s vs 15 min")
    missed = policy.objectives_verdict(rto_seconds=2000, rpo_seconds=0, rto_goal=1800, rpo_goal=900)
    assert missed.action == "missed"
    none = policy.objectives_verdict(rto_seconds=None, rpo_seconds=0, rto_goal=1800, rpo_goal=900)
    assert none.action == "unmeasured"
