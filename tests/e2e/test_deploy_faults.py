"""Faults around deployments, end to end: a regional outage during a deploy's analysis (the failover
preempts it under the same lock, rule 12), a container alert during a deploy feeding its analysis, and
container recovery (the DR document's scenario 3): a crash loop fixed by a restart, a broken image
rolled back to the previous one. Never a failover for a container fault."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.devhost import ROOT, DevhostFactory
from tests.fixtures.sandbox import SandboxFactory
from tests.polling import until
from tests.support.deploy_e2e import LEAN, REPO, deploy, finish, releases, wait_serving
from tests.support.e2e import FAST_FAILOVER, SANDBOX_CONFIG, Estate, EstateFactory, app_env, common_alert
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]
CRASH_BACKOFF_S = 30  # the sandbox's CrashLoopBackOff: a crashed container waits this long to restart


def custom(run: dict[str, Any]) -> dict[str, Any]:
    return dict(run.get("custom_status") or {})


def group_id(estate: Estate, slot: str) -> str:
    e = estate.endpoints
    group = e["container_groups"][f"uksouth-{slot}"]
    rg = e["resource_groups"]["primary"]
    provider = "Microsoft.ContainerInstance/containerGroups"
    return f"/subscriptions/{e['subscription_id']}/resourceGroups/{rg}/providers/{provider}/{group}"


def alert(estate: Estate, target: str, alert_id: str, condition: str = "Fired") -> dict[str, Any]:
    resp = estate.api("POST", "/api/alerts", common_alert(target, condition, alert_id))
    assert resp.status_code == 202, resp.text
    return dict(resp.json())


def test_a_regional_outage_during_the_analysis_preempts_the_deploy(estate_factory: EstateFactory) -> None:
    estate = estate_factory(**{**LEAN, "POST_SWITCH_CHECKS": "30"})
    run = deploy(estate, "1.1.0")
    estate.wait_run(run, lambda r: custom(r).get("step") == "analysis")

    # a container alert on the new slot goes to the deploy's analysis, not to a failover
    signal = alert(estate, group_id(estate, "green"), "container-1")
    assert (signal["status"], signal["run"]) == ("delivered", run)
    out = finish(estate, run)
    assert out["status"] == "rolled-back" and "container alert fired" in out["summary"], out
    wait_serving(estate, "1.0.0")
    refused = finish(estate, deploy(estate, "1.2.0"))  # rule 12: not while an alert for the app fires
    assert refused["status"] == "refused" and "alert(s) for the app firing" in refused["summary"]
    alert(estate, group_id(estate, "green"), "container-1", "Resolved")

    # the next deploy is preempted by a regional outage: the failover runs next under the same lock
    run = deploy(estate, "1.2.0")
    estate.wait_run(run, lambda r: custom(r).get("step") == "analysis")
    estate.sandbox.fault("region-outage", region="uksouth")
    preempting = alert(estate, estate.resource_id(), "region-1")
    assert (preempting["status"], preempting["preempts"]) == ("preempting", run)
    failover = preempting["run"]
    stopped = finish(estate, run)
    assert stopped["status"] == "preempted" and failover in stopped["summary"]
    done = finish(estate, failover, timeout=180)
    assert done["status"].startswith("succeeded"), done
    assert (
        releases(estate)["route"]["origin_group"]
        == estate.endpoints["frontdoor_origin_groups"]["ukwest-standby"]
    )
    lock = estate.api("GET", "/api/status").json()
    assert lock["running_operations"] == []
    listed = [r["id"] for r in estate.runs(operation="failover")]
    assert listed == [failover]  # one failover, the one queued by the intake


@pytest.fixture
def crash_estate(sandbox_factory: SandboxFactory, devhost_factory: DevhostFactory) -> Iterator[Estate]:
    """An estate whose sandbox backs crashing containers off for CRASH_BACKOFF_S (as ACI's
    CrashLoopBackOff grows to minutes): a crash leaves the slot down until something restarts it."""
    sandbox = sandbox_factory(config={**SANDBOX_CONFIG, "container_restart_backoff": CRASH_BACKOFF_S})
    receiver = Receiver()
    env = app_env(sandbox, receiver, **{**FAST_FAILOVER, **LEAN, "CONFIRM_PROBES": "2"})
    host = devhost_factory(app="function_app", cwd=ROOT, env=env)
    yield Estate(sandbox, host, receiver, env)
    receiver.close()


def set_live_image(estate: Estate, tag: str) -> None:
    """Change the live group's image behind Continuity's back (a bad config push), through ARM."""
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient

    from sandbox.client import StaticTokenCredential

    e = estate.endpoints
    with ContainerInstanceManagementClient(
        StaticTokenCredential(),
        e["subscription_id"],
        base_url=e["arm_endpoint"],
        connection_verify=e["ca_bundle"],
        credential_scopes=["https://management.azure.com/.default"],
    ) as ci:
        rg, name = e["resource_groups"]["primary"], e["container_groups"]["uksouth-blue"]
        group = ci.container_groups.get(rg, name)
        group.containers[0].image = f"{REPO}:{tag}"
        ci.container_groups.begin_create_or_update(rg, name, group).result()


def blue_health(estate: Estate) -> int:
    import requests

    port = estate.endpoints["container_ports"][estate.endpoints["container_groups"]["uksouth-blue"]]
    try:
        return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code
    except requests.RequestException:
        return 0


def test_container_recovery_restarts_a_crash_loop_and_rolls_back_a_broken_image(crash_estate: Estate) -> None:
    estate = crash_estate
    set_live_image(estate, "1.0.0-crash-after-8")
    until(lambda: blue_health(estate) == 0, "the live slot has crashed (and backs off)", timeout=30)
    started = alert(estate, group_id(estate, "blue"), "crash-1")
    assert started["status"] == "started" and started["run"].startswith("container-recovery-qlp-")
    out = finish(estate, started["run"])
    assert out["status"] == "succeeded" and out["summary"].endswith("recovered by restart (after restart)"), (
        out
    )
    report = estate.report(started["run"])
    assert [s["name"] for s in report["steps"] if s["outcome"] == "succeeded"][:3] == [
        "observe",
        "confirm",
        "restart",
    ]
    assert estate.runs(operation="failover") == []

    set_live_image(estate, "1.0.0-broken")  # green still has 1.0.0: the previous image
    until(lambda: blue_health(estate) == 500, "the live slot answers 500", timeout=30)
    started = alert(estate, group_id(estate, "blue"), "broken-1")
    out = finish(estate, started["run"])
    assert (
        out["status"] == "succeeded"
        and "recovered by image-rollback (after restart, image-rollback)" in out["summary"]
    ), out
    assert releases(estate)["live"]["image"] == f"{REPO}:1.0.0"
    assert blue_health(estate) == 200
    pages = estate.receiver.messages(lambda m: bool(m.get("page")))
    assert any("roll the group back to" in str(m.get("text")) for m in pages)
    assert estate.runs(operation="failover") == []
    assert estate.api("GET", "/api/status").json()["running_operations"] == []
