"""A failover preempts a practice drill (rule 12), end to end: an outage alert while a complete drill holds
the lock queues the failover; the drill stops at its next checkpoint, tears down what it made (nothing
of it is left in the estate), ends ``preempted`` naming the failover, and the failover runs next under
the same lock. The primary is healthy here, so the failover confirms no outage and stands down: what is
proved is the hand-over, not the promotion (tests/e2e/test_failover.py proves that)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.e2e import RESTORE_DEADLINE, EstateFactory, container_groups, servers

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]
MADE = ("restore", "data-checks", "delete-scratch", "verify-scratch-gone", "create-drill-replica")


def test_an_outage_alert_stops_a_drill_which_tears_down_and_hands_the_lock_to_the_failover(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory()
    before = servers(estate.sandbox), container_groups(estate.sandbox)
    drill = estate.start("/api/drills", {"scenario": "complete"})
    # once the scratch server is being restored (or later: the region part still has checkpoints ahead)
    estate.wait_run(drill, lambda r: (r.get("custom_status") or {}).get("step") in MADE, timeout=90)

    resp = estate.alert(alert_id="outage-during-drill")
    assert resp.status_code == 202, resp.text
    queued: dict[str, Any] = resp.json()
    assert (queued["status"], queued["preempts"]) == ("preempting", drill), queued
    failover = str(queued["run"])

    stopped = estate.wait_done(drill, timeout=RESTORE_DEADLINE)
    report = estate.report(drill)
    assert report["status"] == "preempted", report["summary"]
    assert f"preempted by failover {failover}" in report["summary"]
    assert report["measurements"]["preempted_by"] == failover
    assert report["measurements"]["teardown_verified"] is True, report["measurements"]
    scratch = report["resources"]["scratch_server"]
    assert scratch not in servers(estate.sandbox)
    assert report["verdict"] is None  # a drill stopped part-way proves nothing either way
    assert (servers(estate.sandbox), container_groups(estate.sandbox)) == before  # nothing of it is left
    assert names_ran(report).isdisjoint({"frontdoor-drill-path", "frontdoor-route"})  # it went no further
    assert stopped["runtime_status"] == "Completed"

    estate.wait_done(failover)
    followed = estate.report(failover)
    assert followed["status"] == "stood-down", followed["summary"]  # the primary answers: no outage
    assert followed["started_at"] >= report["ended_at"]  # it ran after the drill, under the same lock
    status = estate.api("GET", "/api/status").json()
    assert status["running_operations"] == []


def names_ran(report: dict[str, Any]) -> set[str]:
    return {str(s["name"]) for s in report["steps"]}
