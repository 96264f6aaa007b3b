"""Bad releases seen only after the switch, end to end: slow-300 rolled back once by the p95 trigger,
errors-after-20 caught by the analysis, quarantine (rule 10) refused and then retried; the emergency
rollback on the fast and guided paths, and preempting a deploy in flight."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.deploy_e2e import LEAN, REPO, decisions, deploy, finish, polling, releases, wait_serving
from tests.support.e2e import Estate, EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]


def custom(run: dict[str, Any]) -> dict[str, Any]:
    return dict(run.get("custom_status") or {})


def rolled_back(estate: Estate, tag: str, **body: Any) -> dict[str, Any]:
    with polling(estate) as poller:
        out = finish(estate, deploy(estate, tag, **body))
    assert out["status"] == "rolled-back", out
    assert poller.versions()[-1] == "1.0.0", poller.versions()  # traffic is back on the old slot
    out["versions"] = poller.versions()
    return out


def test_releases_bad_after_the_switch_are_rolled_back_once_and_quarantined(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(**{**LEAN, "POST_SWITCH_CHECKS": "25", "MAX_AUTO_ROLLBACKS": "5"})

    slow = rolled_back(estate, "1.1.0-slow-300")
    assert "p95 latency over its trigger in 2 checks in a row" in slow["summary"]
    assert slow["versions"] == ["1.0.0", "1.1.0-slow-300", "1.0.0"]
    assert f"{REPO}:1.1.0-slow-300 is quarantined" in slow["summary"]

    late = rolled_back(estate, "1.1.0-errors-after-20")
    assert "error rate over its trigger" in late["summary"] or "health failed" in late["summary"]
    m = late["measurements"]
    assert m["first_failed_at"] < m["traffic_restored_at"] and m["failure_to_restored_seconds"] > 0
    history = releases(estate)["history"]
    assert [(e["kind"], e["version"], e["outcome"], e["automatic"]) for e in history] == [
        ("deploy", "1.1.0-slow-300", "rolled-back", False),
        ("rollback", "1.0.0", "succeeded", True),
        ("deploy", "1.1.0-errors-after-20", "rolled-back", False),
        ("rollback", "1.0.0", "succeeded", True),
    ]

    refused = finish(estate, deploy(estate, "1.1.0-slow-300"))
    assert refused["status"] == "refused" and "quarantined; pass retry_quarantined" in refused["summary"]
    retried = rolled_back(
        estate, "1.1.0-slow-300", retry_quarantined=True
    )  # the retry runs (and fails again)
    reasons = [d["reason"] for d in decisions(estate, retried["run_id"])]
    assert any("deploying it again as an explicit retry" in r for r in reasons)


def rollback(estate: Estate, **body: Any) -> dict[str, Any]:
    resp = estate.api("POST", "/api/rollback", {"reason": "errors after the release", **body})
    assert resp.status_code == 202, resp.text
    return dict(resp.json())


def test_emergency_rollback_preempts_a_deploy_then_fast_and_guided_paths(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(**{**LEAN, "SCALE_DOWN_DELAY_MINUTES": "1"})

    # a deploy in flight (keeping the old slot warm) is preempted; the fast path switches back to it
    with polling(estate) as poller:
        run = deploy(estate, "1.1.0")
        estate.wait_run(run, lambda r: custom(r).get("awaiting") == "warm")
        queued = rollback(estate)
        assert (queued["status"], queued["preempts"]) == ("preempting", run)
        stopped = finish(estate, run)
        assert stopped["status"] == "preempted" and queued["id"] in stopped["summary"]
        back = finish(estate, queued["id"])
    assert back["status"] == "succeeded" and "by the fast path" in back["summary"], back
    assert poller.failed() == [] and poller.versions() == ["1.0.0", "1.1.0", "1.0.0"]
    assert releases(estate)["live_slot"] == "blue"

    # the guided path: an image the idle slot does not have goes into it, is smoked, then takes traffic
    guided = finish(estate, rollback(estate, to_image="1.0.5")["id"])
    assert guided["status"] == "succeeded" and "by the guided path" in guided["summary"], guided
    wait_serving(estate, "1.0.5")
    report = estate.report(guided["run_id"])
    assert {c["name"] for c in report["checks"]} >= {"intent", "search", "load"}

    # the fast path with the previous slot stopped: it is started, verified, switched to
    fast = finish(estate, rollback(estate, to_image="1.0.0")["id"])
    assert fast["status"] == "succeeded" and "by the fast path" in fast["summary"], fast
    wait_serving(estate, "1.0.0")
    view = releases(estate)
    assert (view["live_slot"], view["idle"]["state"], view["standby"]["image"]) == (
        "blue",
        "Stopped",
        f"{REPO}:1.0.0",
    )
    kinds = [(e["kind"], e["version"], e["outcome"]) for e in view["history"]]
    assert kinds == [
        ("deploy", "1.1.0", "succeeded"),
        ("rollback", "1.0.0", "succeeded"),
        ("rollback", "1.0.5", "succeeded"),
        ("rollback", "1.0.0", "succeeded"),
    ]
    refused = estate.api("POST", "/api/deployments", {"image": "1.1.0", "reason": "again"})
    assert refused.status_code == 202  # quarantined: the run refuses it (rule 10)
    out = finish(estate, refused.json()["id"])
    assert out["status"] == "refused" and "quarantined" in out["summary"]
