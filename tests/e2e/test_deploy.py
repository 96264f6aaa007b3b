"""Blue-green deploys end to end on devhost + sandbox: a good release with zero failed public requests
(and devhost SIGKILLed mid-deploy resuming with no completed step repeated), a dry run that changes
nothing, the shared lock (409), and releases that never receive traffic (broken, slow, flaky-10)."""

from __future__ import annotations

from typing import Any

import pytest

from shared import names
from tests.support.deploy_e2e import LEAN, REPO, completed_once, deploy, finish, polling, releases
from tests.support.e2e import EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]


def custom(run: dict[str, Any]) -> dict[str, Any]:
    return dict(run.get("custom_status") or {})


def test_a_good_release_with_a_host_kill_then_releases_that_never_get_traffic(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(**{**LEAN, "POST_SWITCH_CHECKS": "6"})

    # a dry run decides and changes nothing
    dry = estate.api("POST", "/api/deployments", {"image": "1.1.0", "reason": "what if", "dry_run": True})
    assert dry.status_code == 200, dry.text
    plan = dry.json()["plan"]
    assert (plan["live"]["slot"], plan["idle"]["slot"], plan["idle_update"]["changes"]) == (
        "blue",
        "green",
        ["image"],
    )
    before = releases(estate)
    assert (before["live_slot"], before["idle"]["state"], before["history"]) == ("blue", "Stopped", [])

    with polling(estate) as poller:
        run = deploy(estate, "1.1.0", "release 1.1", change_id="CHG-1")
        # rule 12 shares rule 1's lock: a second deploy and an operator's failover are refused
        again = estate.api("POST", "/api/deployments", {"image": "1.1.1", "reason": "too soon"})
        assert again.status_code == 409 and again.json()["running"] == [run]
        failover = estate.api("POST", "/api/failover", {"reason": "drill", "mode": "planned"})
        assert failover.status_code == 409
        estate.wait_run(run, lambda r: custom(r).get("step") == "analysis")
        estate.host.kill()  # the host dies mid-analysis and comes back on the same state
        estate.host.start()
        out = finish(estate, run)
    assert out["status"] == "succeeded", out
    assert poller.failed() == [] and poller.versions() == ["1.0.0", "1.1.0"]
    assert len(poller.answers) > 50
    for activity, times in ((names.TRAFFIC_SWITCH_ROUTE, 1), (names.CONTAINERS_ENSURE_GROUP, 2)):
        assert completed_once(estate, run, activity) == times, activity  # idle slot + DR standby, once each

    after = releases(estate)
    assert (after["live_slot"], after["live"]["image"]) == ("green", f"{REPO}:1.1.0")
    assert (after["idle"]["image"], after["idle"]["state"]) == (f"{REPO}:1.0.0", "Stopped")  # stopped, kept
    assert (after["standby"]["image"], after["standby"]["state"]) == (f"{REPO}:1.1.0", "Stopped")
    assert [(e["kind"], e["version"], e["outcome"], e["slot"]) for e in after["history"]] == [
        ("deploy", "1.1.0", "succeeded", "green")
    ]
    assert estate.api("GET", "/api/status").json()["release"]["standby_matches"] is True
    report = estate.report(run)
    m = report["measurements"]
    assert m["propagation_seconds"] is not None and m["time_to_deploy_seconds"] > 0
    assert len(report["analysis"]["checks"]) == 6 and report["verdict"]["passed"] is True
    assert {c["name"] for c in report["checks"]} == {
        "health",
        "status",
        "database",
        "intent",
        "search",
        "load",
    }

    # releases that fail before any traffic: the live slot keeps serving, nothing failed for users
    cases = [
        ("1.2.0-broken", "not healthy within 8 s"),
        ("1.2.0-slow", "smoke load failed: average"),
        ("1.2.0-flaky-10", "smoke load failed"),
    ]
    for tag, why in cases:
        with polling(estate) as poller:
            out = finish(estate, deploy(estate, tag))
        assert out["status"] == "failed" and "never received traffic" in out["summary"], out
        assert why in out["summary"], out["summary"]
        assert poller.failed() == [] and poller.versions() == ["1.1.0"], tag
    history = releases(estate)["history"]
    assert [e["outcome"] for e in history] == ["succeeded", "unhealthy", "smoke-failed", "smoke-failed"]
