"""ARM answering 429 / 503 with Retry-After on 20% of calls (the sandbox's ``arm-faults``), on one
estate: a deploy rolled back automatically, a forced failover after a UK South outage, then a
point-in-time restore of the new primary with the switch. Each run completes, and after each the estate
is consistent, read with the faults off: the route, the database secret, the servers' roles, the fenced
server; the sandbox counted each change once (nothing half-switched, nothing done twice)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.polling import until
from tests.support import chaos
from tests.support.deploy_e2e import LEAN, REPO, deploy, finish, polling, releases
from tests.support.e2e import RESTORE_DEADLINE, Estate, EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

RATE = 0.2


def faulted(estate: Estate, before: int) -> int:
    """ARM calls answered with an injected 429 / 503 since the count was ``before``."""
    return int(estate.sandbox.status()["faults_injected"]) - before


def under_faults(estate: Estate) -> int:
    estate.sandbox.fault("arm-faults", rate=RATE)
    return int(estate.sandbox.status()["faults_injected"])


def faults_off(estate: Estate) -> None:
    estate.sandbox.fault("arm-faults", rate=0)


def test_a_rollback_a_failover_and_a_restore_complete_under_arm_throttling(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(**{**LEAN, "POST_SWITCH_CHECKS": "6"})
    groups, servers = estate.endpoints["frontdoor_origin_groups"], estate.endpoints["servers"]
    route, secret = estate.endpoints["frontdoor_route"], estate.endpoints["database_secret_name"]

    # a release bad after the switch: rolled back automatically, traffic back on blue
    since, before = time.time(), under_faults(estate)
    with polling(estate) as poller:
        out = finish(estate, deploy(estate, "1.1.0-slow-300"))
    faults_off(estate)
    assert out["status"] == "rolled-back", out
    assert poller.versions()[-1] == "1.0.0", poller.versions()
    assert faulted(estate, before) > 0
    done = chaos.counts(chaos.actions(estate, since))
    assert done.get(("route_switches", route)) == 2, done  # to green and back, once each
    assert estate.api("GET", "/api/status").json()["origin_group"] == groups["uksouth-blue"]
    view = releases(estate)
    assert (view["live_slot"], view["live"]["image"]) == ("blue", f"{REPO}:1.0.0")
    assert [(e["kind"], e["outcome"]) for e in view["history"]] == [
        ("deploy", "rolled-back"),
        ("rollback", "succeeded"),
    ]

    # a forced failover after an outage, started by an alert
    estate.sandbox.fault("region-outage", region="uksouth")
    since, before = time.time(), under_faults(estate)
    resp = estate.alert()
    assert resp.status_code == 202 and resp.json()["status"] == "started", resp.text
    out = dict(estate.wait_done(resp.json()["run"], timeout=180)["output"])
    faults_off(estate)
    assert str(out["status"]).startswith("succeeded"), out
    assert faulted(estate, before) > 0
    assert chaos.counts(chaos.actions(estate, since)) == {
        ("promotes", servers["replica"]): 1,
        ("secret_writes", secret): 1,
        ("route_switches", route): 1,
    }
    chaos.consistent_after_failover(estate)

    # a point-in-time restore of the new primary, switched to: the secret on the restored server,
    # the restored-from server stopped (kept), the route unchanged
    earliest = until(
        lambda: chaos.server(estate, servers["replica"], "secondary")["backup"]["earliestRestoreDate"],
        "the new primary has its first backup",
        timeout=60,
        interval=0.5,
    )
    point = max(datetime.now(UTC) - timedelta(seconds=1), datetime.fromisoformat(earliest))
    since, before = time.time(), under_faults(estate)
    body = {"restore_point": point.isoformat(), "reason": "chaos restore", "switch": True}
    run = estate.start("/api/restore", body)
    estate.wait_step(run)  # the checks passed: the switch waits for an operator (the default)
    assert estate.api("POST", f"/api/runs/{run}/approve", {"note": "checks look right"}).status_code == 202
    out = dict(estate.wait_done(run, timeout=RESTORE_DEADLINE)["output"])
    faults_off(estate)
    assert out["status"] == "succeeded", out
    assert faulted(estate, before) > 0
    target = estate.report(run)["resources"]["target_server"]
    assert chaos.counts(chaos.actions(estate, since)) == {("secret_writes", secret): 1}
    restored = chaos.server(estate, target, "secondary")
    assert (restored["state"], restored["replicationRole"]) == ("Ready", "None"), restored
    assert chaos.secret_host(estate) == restored["fullyQualifiedDomainName"]
    assert chaos.server(estate, servers["replica"], "secondary")["state"] == "Stopped"
    assert estate.api("GET", "/api/status").json()["origin_group"] == groups["ukwest-standby"]
    health = estate.public("GET", "/api/v1/health/database")
    assert health.status_code == 200, health.text
