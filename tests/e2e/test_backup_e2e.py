"""End to end on devhost + sandbox: the backup watch notifies once per breach and resolves once; each
drill scenario produces its evidence report and leaves no drill resource behind; the region drill's
container group runs on a drill-only secret, and its write lands on the drill replica, not production."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.keyvault.secrets import SecretClient
from azure.mgmt.cdn import CdnManagementClient

from sandbox.client import SandboxClient, StaticTokenCredential
from tests.fixtures.devhost import DevhostProcess
from tests.fixtures.sandbox import start_sandbox, stop_sandbox
from tests.polling import until
from tests.support.e2e import (
    API,
    RESTORE_DEADLINE,
    SANDBOX_CONFIG,
    app_env,
    container_groups,
    post,
    run_report,
    servers,
    start_devhost,
    wait_run,
    watch_tick,
)
from tests.support.frontdoor import mgmt
from tests.support.receiver import Receiver, running_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

# A threshold the sandbox's backup (taken at start-up, then hourly here) passes within seconds.
AGE_ALERT_HOURS = "0.006"  # 21.6 s
BREACH_DEADLINE = 90.0


@pytest.fixture(scope="module")
def estate() -> Iterator[tuple[SandboxClient, DevhostProcess, Receiver]]:
    sb = start_sandbox(backup_interval=3600.0, config=SANDBOX_CONFIG)
    try:
        with running_receiver() as hook:
            env = app_env(sb, hook, backup_age_alert_hours=AGE_ALERT_HOURS, backup_retention_days="7")
            host = start_devhost(env)
            try:
                yield sb, host, hook
            finally:
                host.stop()
    finally:
        stop_sandbox(sb.state_dir)


def _secrets(sb: SandboxClient) -> SecretClient:
    return SecretClient(
        sb.endpoints["key_vault_url"],
        StaticTokenCredential(),
        verify_challenge_resource=False,
        connection_verify=sb.ca_bundle,
    )


def _frontdoor_names(sb: SandboxClient) -> tuple[list[str], list[str]]:
    """(routes on the endpoint, origin groups of the profile) of the Standard Front Door."""
    ep = sb.endpoints
    rg, profile = ep["frontdoor_resource_group"], ep["frontdoor_profile"]
    with mgmt(CdnManagementClient, sb) as cdn:
        routes = [r.name for r in cdn.routes.list_by_endpoint(rg, profile, ep["frontdoor_endpoint"])]
        groups = [g.name for g in cdn.afd_origin_groups.list_by_profile(rg, profile)]
    return routes, groups


def _versions(kv: SecretClient, name: str) -> int:
    return sum(1 for _ in kv.list_properties_of_secret_versions(name))


def _age_messages(hook: Receiver, event: str) -> list[dict[str, Any]]:
    return hook.messages(
        lambda m: m.get("event") == event and m.get("fields", {}).get("check") == "backup-age"
    )


def _on_demand_backup(sb: SandboxClient) -> None:
    sub, rg = sb.endpoints["subscription_id"], sb.endpoints["resource_groups"]["primary"]
    server = sb.endpoints["servers"]["primary"]
    servers_path = (
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers"
    )
    path = f"{servers_path}/{server}"
    name = f"e2e-{int(time.time())}"
    sb.request("PUT", f"{path}/backups/{name}?{API}", {})
    until(
        lambda: any(b["name"] == name for b in sb.request("GET", f"{path}/backups?{API}")["value"]),
        f"on-demand backup {name} has completed",
        timeout=60,
        interval=0.3,
    )


def test_backup_watch_notifies_once_per_breach_and_resolves_once(
    estate: tuple[SandboxClient, DevhostProcess, Receiver],
) -> None:
    sb, host, hook = estate

    def breach_tick() -> dict[str, Any] | None:
        result = watch_tick(sb, host)
        return result if _age_messages(hook, "backup-breached") else None

    result = until(
        breach_tick, lambda: f"a backup-age breach is notified: {hook.messages()}", BREACH_DEADLINE, 1.0
    )
    assert "backup-age" in result["open_breaches"]
    assert result["latest_backup_age_seconds"] > 21.6

    again = watch_tick(sb, host)
    assert "backup-age" in again["open_breaches"]
    assert len(_age_messages(hook, "backup-breached")) == 1
    assert _age_messages(hook, "backup-resolved") == []

    _on_demand_backup(sb)
    cleared = watch_tick(sb, host)
    assert "backup-age" not in cleared["open_breaches"], cleared
    resolved = _age_messages(hook, "backup-resolved")
    assert len(resolved) == 1 and resolved[0]["action"] == "resolve"
    assert resolved[0]["dedup_key"] == _age_messages(hook, "backup-breached")[0]["dedup_key"]

    watch_tick(sb, host)
    assert len(_age_messages(hook, "backup-resolved")) == 1
    assert len(_age_messages(hook, "backup-breached")) == 1


@pytest.mark.parametrize("scenario", ["database", "region", "complete"])
def test_each_drill_produces_its_report_and_leaves_nothing_behind(
    estate: tuple[SandboxClient, DevhostProcess, Receiver], scenario: str
) -> None:
    sb, host, hook = estate
    before_servers, before_groups = servers(sb), container_groups(sb)
    before_frontdoor = _frontdoor_names(sb)
    kv = _secrets(sb)
    production_versions = _versions(kv, "database-url")
    status, started = post(host, "/api/drills", {"scenario": scenario})
    assert status == 202, started
    iid = started["id"]
    assert iid.startswith("drill-qlp-"), iid
    output = wait_run(host, iid, timeout=RESTORE_DEADLINE)["output"]
    report = run_report(host, iid)
    assert (output["run_id"], output["status"]) == (iid, report["status"])
    assert report["operation"] == f"drill-{scenario}"
    assert report["status"] == "succeeded", report["summary"]
    m = report["measurements"]
    assert m["drill_rto_seconds"] > 0 and m["drill_rpo_seconds"] is not None
    assert m["rto_objective_seconds"] == 1800.0 and m["teardown_verified"] is True
    assert report["retention"].startswith("7 years")
    assert servers(sb) == before_servers
    assert container_groups(sb) == before_groups
    assert _frontdoor_names(sb) == before_frontdoor  # no drill route or origin group is left
    done = hook.messages(lambda msg: msg.get("title") == f"drill-{scenario} completed: {iid}")
    assert len(done) == 1
    assert _versions(kv, "database-url") == production_versions
    if scenario != "database":
        replica = report["resources"]["drill_replica"]
        assert m["drill_write_verified_on"] == replica
        steps = {s["name"]: s["outcome"] for s in report["steps"]}
        assert steps["drill-write"] == steps["drill-read-back"] == "succeeded"
        assert steps["clear-drill-secret"] == "succeeded"
        assert kv.get_secret("database-url-drill").value == ""
        assert replica not in str(kv.get_secret("database-url").value)
    if scenario == "complete":
        steps = {s["name"]: (s["outcome"], s["detail"]) for s in report["steps"]}
        for step in ("frontdoor-drill-before", "frontdoor-drill-path", "frontdoor-drill-probe"):
            assert steps[step][0] == "succeeded", steps
        assert steps["frontdoor-drill-teardown"][0] == "succeeded", steps
        drill_group = report["resources"]["drill_origin_group"]
        assert drill_group.startswith("og-drill-") and drill_group not in before_frontdoor[1]
        # 404 through production's route before, 200 through the drill route to the drill group after
        assert m["frontdoor_drill_path"] == "served" and m["frontdoor_drill_served_by"] == drill_group
        assert m["frontdoor_drill_teardown_verified"] is True
        assert not any("drill" in name for names in _frontdoor_names(sb) for name in names)
