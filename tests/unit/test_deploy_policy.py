"""Deployment decisions (shared/policy/deploy.py): slots, images, every pre-flight gate, the idle slot's
update, the schedule, the previous release, quarantine (rule 10), the rollback budget (rule 7), the schema
check of a rollback (rule 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared import policy

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
REPO = "acr.io/qlp-app"
OGS = {"blue": "og-blue", "green": "og-green", "standby": "og-standby"}
GROUPS = {"blue": "aci-blue", "green": "aci-green", "standby": "aci-standby"}


def event(kind: str, image: str, outcome: str = "succeeded", **extra: Any) -> dict[str, Any]:
    at = extra.pop("at", NOW - timedelta(hours=1))
    return {
        "kind": kind,
        "image": image,
        "outcome": outcome,
        "run_id": f"{kind}-{image}",
        "at": at.isoformat(),
        **extra,
    }


# ---- slots and images ------------------------------------------------------------------------------------
def test_the_live_slot_is_the_one_the_route_serves() -> None:
    found = policy.slots("og-green", OGS, GROUPS)
    assert found.is_("slots") and found.value is not None
    assert (found.value.live, found.value.idle, found.value.idle_group) == ("green", "blue", "aci-blue")
    assert found.reason == "green is live (the route serves og-green); blue is idle"


def test_no_deploy_while_traffic_serves_from_the_dr_region() -> None:
    refused = policy.slots("og-standby", OGS, GROUPS)
    assert refused.is_("refuse") and "the DR region" in refused.reason and "fail back first" in refused.reason


def test_an_image_is_a_tag_or_digest_of_the_configured_repository() -> None:
    assert policy.image_reference("1.1.0", REPO).value == f"{REPO}:1.1.0"
    assert policy.image_reference(f"{REPO}:1.1.0-slow-300", REPO).value == f"{REPO}:1.1.0-slow-300"
    digest = "sha256:" + "a" * 64
    assert policy.image_reference(digest, REPO).value == f"{REPO}@{digest}"
    assert policy.image_reference("evil.io/qlp-app:1.1.0", REPO).is_("invalid")
    assert policy.image_reference(f"{REPO}:bad tag", REPO).is_("invalid")
    assert policy.image_reference("1.1.0", None).reason.startswith("no image repository is configured")
    assert policy.version_of(f"{REPO}:1.1.0") == "1.1.0" and policy.version_of(f"{REPO}@{digest}") == digest


# ---- gates -----------------------------------------------------------------------------------------------
def test_the_deploy_window_opens_closes_wraps_and_can_be_forced() -> None:
    window = (120, 300)  # 02:00-05:00
    assert policy.deploy_window(NOW, window, force=False).is_("open")
    late = NOW.replace(hour=14)
    refused = policy.deploy_window(late, window, force=False)
    assert (
        refused.reason
        == "14:00 UTC is outside the deploy window 02:00-05:00 UTC: pass force_window with a reason"
    )
    assert policy.deploy_window(late, window, force=True).is_("forced")
    assert policy.deploy_window(NOW.replace(hour=23), (1320, 240), force=False).is_("open")
    assert policy.deploy_window(late, (0, 1440), force=False).is_("open")


def test_a_change_id_is_needed_only_when_the_setting_says_so() -> None:
    assert policy.change_id_gate(None, required=True).is_("refuse")
    assert policy.change_id_gate("CHG-42", required=True).reason == "change CHG-42"
    assert policy.change_id_gate(None, required=False).is_("proceed")


def test_a_rolled_back_image_is_quarantined_until_retried_and_deployed() -> None:
    history = [event("deploy", "1.1.0", "rolled-back")]
    refused = policy.quarantine(history, "1.1.0", retry=False)
    assert (refused.action, refused.rule) == ("refuse", "rule 10")
    assert "quarantined; pass retry_quarantined with a reason" in refused.reason
    assert policy.quarantine(history, "1.1.0", retry=True).is_("retry")
    assert policy.quarantine(history, "1.2.0", retry=False).is_("clear")
    history.append(event("deploy", "1.1.0"))  # the retry succeeded
    assert policy.quarantine(history, "1.1.0", retry=False).is_("clear")
    history.append(event("rollback", "1.0.0", from_image="1.1.0"))  # emergency rollback away from it
    assert policy.quarantine(history, "1.1.0", retry=False).is_("refuse")


def test_automatic_rollbacks_in_the_window_stop_deploys() -> None:
    one = [event("rollback", "1.0.0", automatic=True, from_image="1.1.0")]
    assert policy.rollback_budget(one, NOW, limit=2, window_hours=24).is_("proceed")
    two = [*one, event("rollback", "1.0.0", automatic=True, from_image="1.2.0")]
    refused = policy.rollback_budget(two, NOW, limit=2, window_hours=24)
    assert (refused.action, refused.rule) == ("refuse", "rule 7") and "deploys are stopped" in refused.reason
    old = [event("rollback", "1.0.0", automatic=True, at=NOW - timedelta(hours=30))] * 3
    assert policy.rollback_budget(old, NOW, limit=2, window_hours=24).is_("proceed")
    manual = [event("rollback", "1.0.0", automatic=False)] * 3
    assert policy.rollback_budget(manual, NOW, limit=2, window_hours=24).is_("proceed")


def alert(state: str, alert_id: str = "a1", at: datetime = NOW - timedelta(minutes=5)) -> dict[str, Any]:
    target = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg"
    return {
        "alert_id": alert_id,
        "state": state,
        "target": target,
        "at": at.isoformat(),
        "summary": "db down",
    }


def test_no_deploy_while_an_alert_for_the_app_fires() -> None:
    refused = policy.alerts_gate([alert("fired")], NOW, hours=24)
    assert (refused.action, refused.rule) == ("refuse", "rule 12")
    assert "db down on pg since" in refused.reason
    assert policy.alerts_gate([alert("fired"), alert("resolved")], NOW, hours=24).is_("proceed")
    stale = alert("fired", at=NOW - timedelta(hours=30))
    assert policy.alerts_gate([stale], NOW, hours=24).is_("proceed")
    assert policy.alerts_gate([alert("fired", "a1"), alert("resolved", "a2")], NOW, hours=24).is_("refuse")


def test_no_deploy_while_the_replica_lags_past_the_rpo_or_cannot_be_measured() -> None:
    assert policy.deploy_lag_gate(2.0, rpo_seconds=900).is_("proceed")
    over = policy.deploy_lag_gate(1000.0, rpo_seconds=900)
    assert (over.action, over.rule) == ("refuse", "rule 12")
    assert policy.deploy_lag_gate(None, rpo_seconds=900).reason.startswith(
        "the replica's lag cannot be measured"
    )


def test_live_slot_cpu_warns_over_80_and_refuses_over_the_setting() -> None:
    assert policy.cpu_gate(100, 1.0, warn=80, refuse=90).is_("proceed")
    warned = policy.cpu_gate(850, 1.0, warn=80, refuse=90)
    assert warned.is_("warn") and warned.value == 85.0
    assert policy.cpu_gate(950, 1.0, warn=80, refuse=90).is_("refuse")
    assert policy.cpu_gate(1500, 2.0, warn=80, refuse=90).is_("proceed")  # 75% of two cores
    none = policy.cpu_gate(None, 1.0, warn=80, refuse=90)
    assert (none.action, none.rule) == ("refuse", "rule 11")


def test_production_must_answer_through_the_public_endpoint() -> None:
    ok = {"url": "https://app/health", "ok": True, "status": 200}
    assert policy.production_health([ok, ok]).is_("proceed")
    bad = {"url": "https://app/api/v1/health/database", "ok": False, "status": 503, "error": "status 503"}
    refused = policy.production_health([ok, bad])
    assert refused.is_("refuse") and "https://app/api/v1/health/database: 503 status 503" in refused.reason


def test_a_scheduled_deploy_waits_and_notifies_ahead() -> None:
    assert policy.schedule(NOW, None, notice_hours=24).is_("now")
    wait = policy.schedule(NOW, NOW + timedelta(hours=48), notice_hours=24)
    assert wait.is_("wait") and wait.value == (NOW + timedelta(hours=24)).isoformat()
    soon = policy.schedule(NOW, NOW + timedelta(hours=2), notice_hours=24)
    assert soon.value == NOW.isoformat()  # less than the notice ahead: notify at once
    assert policy.schedule(NOW, NOW - timedelta(minutes=1), notice_hours=24).is_("now")


# ---- the idle slot ---------------------------------------------------------------------------------------
SPEC = {"image": f"{REPO}:1.0.0", "environment": {"A": "1"}, "cpu": 1.0, "memory_gb": 1.5, "port": 8000}


def test_what_the_idle_slots_update_changes_and_whether_aci_recreates_it() -> None:
    wanted = {**SPEC, "image": f"{REPO}:1.1.0"}
    update = policy.idle_update(SPEC, wanted, running=False)
    assert (update.action, update.value) == ("update", ["image"])
    bigger = policy.idle_update(SPEC, {**wanted, "cpu": 2.0}, running=True)
    assert bigger.is_("recreate") and bigger.value == ["image", "cpu"]
    assert "ACI deletes and re-creates the idle group" in bigger.reason
    assert policy.idle_update(None, wanted, running=False).is_("create")
    assert policy.idle_update(SPEC, SPEC, running=False).is_("start")
    assert policy.idle_update(SPEC, SPEC, running=True).is_("unchanged")


# ---- releases --------------------------------------------------------------------------------------------
def test_the_previous_release_is_what_the_live_one_followed() -> None:
    history = [event("deploy", "1.1.0", previous_image="1.0.0", previous_slot="blue", slot="green")]
    found = policy.previous_release(history, "1.1.0")
    assert found.is_("found") and found.value == {"image": "1.0.0", "slot": "blue"}
    assert (
        policy.previous_release(history, "1.2.0").reason
        == "no release before 1.2.0 is recorded: pass to_image"
    )
    assert policy.previous_release([], "1.0.0").is_("none")


def test_no_rollback_onto_a_schema_the_image_never_ran_on_after_a_breaking_migration() -> None:
    ran = event("deploy", "1.0.0", schema_version=6)
    expand = {"kind": "migration", "class": "expand", "schema_version": 7, "run_id": "m-7"}
    assert policy.schema_rollback([ran, expand], "1.0.0", force=False).is_("allow")
    breaking = {"kind": "migration", "class": "breaking", "schema_version": 8, "run_id": "m-8"}
    refused = policy.schema_rollback([ran, expand, breaking], "1.0.0", force=False)
    assert (refused.action, refused.rule) == ("refuse", "rule 9")
    assert refused.reason.startswith("1.0.0 ran on schema 6; breaking migration m-8 moved it to 8")
    assert policy.schema_rollback([ran, breaking], "1.0.0", force=True, reason="data fixed").is_("forced")
    assert policy.schema_rollback([ran, breaking], "1.0.0", force=True).is_("refuse")  # force needs a reason
    assert policy.schema_rollback([ran], "1.0.0", force=False).is_("allow")
