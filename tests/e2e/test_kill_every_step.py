"""devhost SIGKILLed at every step, on one estate: a blue-green deploy, then a forced failover after a
UK South outage. As each new step starts (polled every 50 ms) the host is killed and restarted on the
same state (about 11 steps of each run); each run completes, and the sandbox's record of what it was
asked to change shows no step done again after its completion was recorded in the run's history
(tests/support/chaos.py)."""

from __future__ import annotations

import time

import pytest

from tests.support import chaos
from tests.support.deploy_e2e import LEAN, REPO, deploy, releases
from tests.support.e2e import Estate, EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]


def run_killed(estate: Estate, run_id: str, since: float) -> tuple[dict[str, object], list[str]]:
    """Kill the host at each step of ``run_id`` until it ends; its output and the steps killed in. Every
    action of the run happened while its activity's call was running."""
    view, killed = chaos.kill_at_every_step(estate, run_id)
    done = chaos.actions(estate, since)
    history = estate.history(run_id)
    assert chaos.repeated(done, history) == [], (killed, done)
    return dict(view.get("output") or {}), killed


def test_a_deploy_then_a_failover_complete_with_the_host_killed_at_every_step(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(**LEAN)
    groups, servers = estate.endpoints["frontdoor_origin_groups"], estate.endpoints["servers"]
    route = estate.endpoints["frontdoor_route"]

    since = time.time()
    out, killed = run_killed(estate, deploy(estate, "1.1.0", "release 1.1"), since)
    assert out["status"] == "succeeded", out
    # every step seen starting is killed; a step shorter than the poll can pass unseen
    assert {"idle-slot", "switch", "analysis"} <= set(killed) and len(killed) >= 8, killed
    done = chaos.counts(chaos.actions(estate, since))
    assert done.get(("route_switches", route)) == 1, done  # to green, once
    slots = estate.endpoints["container_groups"]
    assert done.get(("group_updates", slots["uksouth-green"])) == 1, done  # the idle slot, once
    assert done.get(("group_updates", slots["ukwest-standby"])) == 1, done  # the DR standby follows
    after = releases(estate)
    assert (after["live_slot"], after["live"]["image"]) == ("green", f"{REPO}:1.1.0")

    estate.sandbox.fault("region-outage", region="uksouth")
    since = time.time()
    resp = estate.alert()
    assert resp.status_code == 202 and resp.json()["status"] == "started", resp.text
    out, killed = run_killed(estate, resp.json()["run"], since)
    assert str(out["status"]).startswith("succeeded"), out
    assert {"prepare", "promote", "switch_traffic", "fence"} <= set(killed) and len(killed) >= 8, killed
    done = chaos.counts(chaos.actions(estate, since))
    secret = estate.endpoints["database_secret_name"]
    assert done == {
        ("promotes", servers["replica"]): 1,
        ("secret_writes", secret): 1,
        ("route_switches", route): 1,
    }, done
    chaos.consistent_after_failover(estate)
    assert estate.api("GET", "/api/status").json()["origin_group"] == groups["ukwest-standby"]
