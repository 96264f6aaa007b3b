"""Readiness checks read as sentences: each is pass, fail or unknown with a reason; the score is the share
of passes, and a change of score is what notifies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from shared import policy
from shared.policy.readiness import DRILL_KINDS, UNKNOWN

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
GOAL = policy.ReadinessObjectives(
    rpo_seconds=900,
    backup_age_alert_hours=4,
    restore_test_max_age_hours=48,
    drill_max_age_days=100,
    dr_region="ukwest",
)
RUNS = (
    policy.RunSeen("restore-test", "succeeded", NOW - timedelta(hours=9), "restore-test-qlp-1"),
    *(policy.RunSeen(f"drill-{k}", "succeeded", NOW - timedelta(days=20), f"drill-{k}") for k in DRILL_KINDS),
)
READY = policy.ReadinessObservation(
    now=NOW,
    replica_lag_seconds=2.0,
    latest_backup_at=NOW - timedelta(hours=1),
    runs=RUNS,
    live_image="qlp:1.4.0",
    standby_image="qlp:1.4.0",
    standby_origins=1,
    standby_healthy=0,
    primary="qlp-db-uksouth",
    secret_host="127.0.0.1:5501",
    secret_at_primary=True,
    reads=(("front door route", ""), ("database secret", "")),
    host_region="ukwest",
)


def results(obs: policy.ReadinessObservation) -> dict[str, tuple[str, str]]:
    return {c.name: (policy.readiness_result(c), c.reason) for c in policy.assess_readiness(obs, GOAL)}


def test_a_ready_estate_passes_every_check_and_scores_100() -> None:
    found = results(READY)
    assert {r for r, _ in found.values()} == {policy.PASS}, found
    assert len(found) == 12
    assert policy.readiness_score(policy.assess_readiness(READY, GOAL)) == 100
    assert found["standby_origin_group"][1] == (
        "the standby origin group has 1 enabled origins (standby kept stopped until a failover)"
    )


def test_replica_lag_over_the_rpo_fails_and_no_lag_figure_is_unknown_never_a_pass() -> None:
    lagging = results(dataclasses.replace(READY, replica_lag_seconds=1200))
    assert lagging["replica_lag"] == (policy.FAIL, "replica lag 20 min is over the 15 min RPO")
    blind = results(dataclasses.replace(READY, replica_lag_seconds=None, lag_error="metric unavailable"))
    assert blind["replica_lag"] == (UNKNOWN, "replica lag could not be measured: metric unavailable")


def test_a_failed_or_old_restore_test_fails_and_a_missing_one_fails() -> None:
    failed = (policy.RunSeen("restore-test", "failed", NOW - timedelta(hours=2), "rt-2"), *RUNS)
    assert results(dataclasses.replace(READY, runs=failed))["restore_test"] == (
        policy.FAIL,
        "the last restore test rt-2 2 h 0 min ago ended failed",
    )
    old = (policy.RunSeen("restore-test", "succeeded", NOW - timedelta(days=3), "rt-0"),)
    assert results(dataclasses.replace(READY, runs=old))["restore_test"][1] == (
        "the last restore test rt-0 3 d 0 h ago is older than 2 d 0 h"
    )
    assert results(dataclasses.replace(READY, runs=()))["drill_region"] == (
        policy.FAIL,
        "no region drill has run",
    )
    assert results(dataclasses.replace(READY, runs=None, runs_error="403"))["drill_database"][0] == UNKNOWN


def test_a_drill_stopped_for_a_failover_or_still_running_leaves_the_last_result_standing() -> None:
    newer = (
        policy.RunSeen("drill-region", "preempted", NOW - timedelta(days=1), "drill-region-9"),
        policy.RunSeen("drill-region", "running", NOW - timedelta(minutes=5), "drill-region-10"),
    )
    assert results(dataclasses.replace(READY, runs=(*newer, *RUNS)))["drill_region"] == (
        policy.PASS,
        "the last region drill drill-region 20 d 0 h ago succeeded",
    )
    assert results(dataclasses.replace(READY, runs=newer))["drill_region"] == (
        policy.FAIL,
        "no region drill has ended with a result (drill-region-10 running)",
    )


def test_the_standby_must_run_the_live_release_and_have_an_origin_to_route_to() -> None:
    stale = results(dataclasses.replace(READY, standby_image="qlp:1.3.0"))
    assert stale["standby_image"] == (policy.FAIL, "the DR standby runs qlp:1.3.0, the live slot qlp:1.4.0")
    assert results(dataclasses.replace(READY, standby_origins=0))["standby_origin_group"][0] == policy.FAIL
    running_dark = dataclasses.replace(READY, standby_running=True, standby_healthy=0)
    assert results(running_dark)["standby_origin_group"][0] == policy.FAIL


def test_the_secret_must_point_at_the_primary_found_now() -> None:
    elsewhere = results(dataclasses.replace(READY, secret_at_primary=False, secret_host="127.0.0.1:5600"))
    assert elsewhere["database_secret"] == (
        policy.FAIL,
        "the secret points at 127.0.0.1:5600, not at the primary qlp-db-uksouth",
    )
    assert results(dataclasses.replace(READY, secret_host=None))["database_secret"][0] == UNKNOWN


def test_a_refused_read_fails_permissions_and_another_error_leaves_them_unknown() -> None:
    denied = (("front door route", "permanent: (AuthorizationFailed) no access"), ("database secret", ""))
    assert results(dataclasses.replace(READY, reads=denied))["permissions"] == (
        policy.FAIL,
        "the app's identity may not read: front door route",
    )
    flaky = (("front door route", "transient: 503"),)
    assert results(dataclasses.replace(READY, reads=flaky))["permissions"][0] == UNKNOWN


def test_the_task_hub_must_run_in_the_dr_region() -> None:
    south = results(dataclasses.replace(READY, host_region="uksouth"))["task_hub_region"]
    assert south[0] == policy.FAIL and "would die with the primary" in south[1]
    assert results(dataclasses.replace(READY, host_region=None))["task_hub_region"][0] == UNKNOWN


def test_the_score_counts_unknown_as_not_passing() -> None:
    checks = policy.assess_readiness(dataclasses.replace(READY, replica_lag_seconds=None), GOAL)
    assert policy.readiness_score(checks) == round(100 * 11 / 12) == 92


def test_a_change_of_score_notifies_and_the_same_score_does_not() -> None:
    assert policy.score_change(None, 92).action == "notify"
    fell = policy.score_change(100, 83)
    assert (fell.action, fell.reason) == ("notify", "readiness score fell from 100 to 83")
    assert policy.score_change(83, 100).reason == "readiness score rose from 83 to 100"
    assert policy.score_change(83, 83).action == "unchanged"


PROTECTED = {
    "account": "qlpbackups",
    "replication": "Standard_RAGRS",
    "versioning": True,
    "delete_retention_days": 365,
    "container": "long-term-backups",
    "immutability": True,
    "immutability_days": 2556,
    "immutability_state": "Locked",
}


def test_the_backup_accounts_protection_is_a_check_only_where_long_term_backups_are_kept() -> None:
    assert "backup_storage" not in results(READY)  # no backup account configured: no such check
    kept = dataclasses.replace(READY, storage_configured=True, storage_protection=PROTECTED)
    assert results(kept)["backup_storage"][0] == policy.PASS
    bare = results(dataclasses.replace(kept, storage_protection={**PROTECTED, "versioning": False}))
    assert bare["backup_storage"] == (policy.FAIL, "blob versioning is off")
    unread = dataclasses.replace(kept, storage_protection=None, storage_error="AuthorizationFailed")
    assert results(unread)["backup_storage"] == (
        UNKNOWN,
        "could not read the backup storage account: AuthorizationFailed",
    )
