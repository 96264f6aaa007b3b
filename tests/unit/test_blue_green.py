"""The blue-green plan driven with fakes: a good deploy, a dry run, every gate, releases that never get
traffic, the one automatic rollback, preemption, container signals, inconclusive analysis, the schedule,
and runs resumed from the states an interrupted deploy leaves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import names
from tests.support.deploy_estate import GROUPS, OGS, URLS, DeployEstate, deploy_input, deploy_settings, image
from tests.support.durable import T0, Event, drive, orchestrator

PLAN = orchestrator(names.BLUE_GREEN_ORCHESTRATOR)


def run(estate: DeployEstate, **overrides: Any) -> tuple[dict[str, Any], Any]:
    events = overrides.pop("events", ())
    ctx = estate.context(deploy_input(**overrides), events=events)
    return drive(PLAN, ctx), ctx


def decisions(ctx: Any) -> list[str]:
    return [d["reason"] for d in ctx.last_report()["decisions"]]


def steps(ctx: Any) -> list[str]:
    return [s["name"] for s in ctx.last_report()["steps"] if s["outcome"] == "succeeded"]


# ---- a good deploy -------------------------------------------------------------------------------------
def test_a_good_release_goes_to_the_idle_slot_takes_traffic_and_the_old_slot_stops_after_the_delay() -> None:
    estate = DeployEstate()
    out, ctx = run(estate)
    assert out["status"] == "succeeded", out["summary"]
    assert out["summary"].startswith(f"deployed {image('1.1.0')} to green: 3 of 3 checks passed")
    assert estate.route == OGS["green"] and estate.switches == [OGS["green"]]
    ensured = ctx.payloads(names.CONTAINERS_ENSURE_GROUP)
    assert ensured[0] == {
        "group": GROUPS["green"],
        "image": image("1.1.0"),
        "like": GROUPS["blue"],
        "run_id": deploy_input()["run_id"],
    }
    assert ensured[1]["group"] == GROUPS["standby"]  # the DR standby follows the release ...
    assert estate.groups[GROUPS["standby"]] == {"image": image("1.1.0"), "state": "Stopped"}  # ... stopped
    assert estate.groups[GROUPS["blue"]] == {
        "image": image("1.0.0"),
        "state": "Stopped",
    }  # stopped, not deleted
    assert names.CONTAINERS_DELETE_GROUP not in ctx.names()
    assert steps(ctx) == [
        "plan",
        "pre-flight",
        "backup-gate-list",
        "idle-slot",
        "healthy",
        "smoke",
        "baseline",
        "switch",
        "analysis",
        "dr-standby",
        "warm",
        "scale-down",
    ]
    assert T0 + timedelta(minutes=30) <= ctx.timers[-1]  # the warm period is a durable timer
    assert estate.releases() == [("deploy", "1.1.0", "succeeded")]
    event = estate.logs["releases-qlp"][0]
    assert (event["slot"], event["previous_image"], event["previous_slot"]) == (
        "green",
        image("1.0.0"),
        "blue",
    )
    assert event["schema_version"] == 3 and event["run_id"] == deploy_input()["run_id"]
    m = out["measurements"]
    assert (
        m["propagation_seconds"] is not None
        and m["baseline_p95_ms"] == 8.0
        and m["time_to_deploy_seconds"] > 0
    )
    report = ctx.last_report()
    assert len(report["analysis"]["checks"]) == 3
    assert {x["name"] for x in report["analysis"]["checks"][0]["measurements"]} == {
        "health",
        "database",
        "error_rate",
        "latency_p95",
    }
    assert [c["name"] for c in report["checks"]] == [
        "health",
        "status",
        "database",
        "intent",
        "search",
        "load",
    ]
    assert "gates" in report["plan"] and report["plan"]["idle_update"]["action"] == "update"
    assert [n["event"] for n in ctx.notifications] == ["started", "completed", "completed"]
    smoked = [p["url"] for p in ctx.payloads(names.PROBE_HTTP) if p["url"].startswith(URLS[GROUPS["green"]])]
    assert smoked.index(URLS[GROUPS["green"]] + "/api/v1/intents") < smoked.index(
        URLS[GROUPS["green"]] + "/api/v1/search"
    )


def test_a_dry_run_returns_the_plan_and_changes_nothing() -> None:
    estate = DeployEstate()
    out, ctx = run(estate, dry_run=True)
    assert out["status"] == "dry-run" and out["plan"]["idle"] == {
        "slot": "green",
        "group": GROUPS["green"],
        "image": image("0.9.0"),
    }
    assert out["plan"]["idle_update"]["changes"] == ["image"]
    changes = {
        names.CONTAINERS_ENSURE_GROUP,
        names.TRAFFIC_SWITCH_ROUTE,
        names.CONTAINERS_STOP_GROUP,
        names.STORAGE_APPEND_LOG,
        names.DATABASE_CREATE_BACKUP,
        names.CONTAINERS_START_GROUP,
    }
    assert not changes & set(ctx.names())
    assert ctx.notifications == [] and estate.route == OGS["blue"]
    assert any("deploy window" in r for r in decisions(ctx))


# ---- gates ---------------------------------------------------------------------------------------------
def refused(estate: DeployEstate, **overrides: Any) -> tuple[dict[str, Any], Any]:
    out, ctx = run(estate, **overrides)
    assert out["status"] == "refused", out
    assert names.CONTAINERS_ENSURE_GROUP not in ctx.names() and estate.route == OGS["blue"]
    return out, ctx


def test_a_dry_run_says_which_gate_would_refuse_and_still_returns_the_plan() -> None:
    out, ctx = run(DeployEstate(), dry_run=True, settings=deploy_settings(deploy_window="02:00-05:00"))
    assert out["status"] == "dry-run" and out["plan"]["idle"]["slot"] == "green"
    assert "the deploy would be refused: 12:00 UTC is outside the deploy window" in out["summary"]
    assert names.CONTAINERS_ENSURE_GROUP not in ctx.names()


def test_outside_the_window_needs_force_window() -> None:
    late = deploy_settings(deploy_window="02:00-05:00")  # T0 is 12:00 UTC
    out, _ = refused(DeployEstate(), settings=late)
    assert "outside the deploy window 02:00-05:00 UTC: pass force_window" in out["summary"]
    out, ctx = run(DeployEstate(), settings=late, force_window=True)
    assert out["status"] == "succeeded" and any("forced by request" in r for r in decisions(ctx))


def test_a_change_id_is_required_when_the_setting_says_so() -> None:
    strict = deploy_settings(deploy_require_change_id="true")
    assert "a change_id is required" in refused(DeployEstate(), settings=strict)[0]["summary"]
    assert run(DeployEstate(), settings=strict, change_id="CHG-7")[0]["status"] == "succeeded"


def test_a_quarantined_image_needs_an_explicit_retry() -> None:
    estate = DeployEstate()
    estate.logs["releases-qlp"].append(
        {
            "kind": "deploy",
            "image": image("1.1.0"),
            "outcome": "rolled-back",
            "run_id": "deploy-1",
            "at": T0.isoformat(),
        }
    )
    out, ctx = refused(estate)
    assert "quarantined; pass retry_quarantined" in out["summary"]
    assert ctx.last_report()["decisions"][-1]["rule"] == "rule 10"
    out, ctx = run(estate, retry_quarantined=True)
    assert out["status"] == "succeeded" and any("explicit retry" in r for r in decisions(ctx))


def test_too_many_automatic_rollbacks_stop_deploys_and_page() -> None:
    estate = DeployEstate()
    rollback = {
        "kind": "rollback",
        "image": image("1.0.0"),
        "outcome": "succeeded",
        "automatic": True,
        "at": T0.isoformat(),
    }
    estate.logs["releases-qlp"] += [{**rollback, "run_id": "a"}, {**rollback, "run_id": "b"}]
    _, ctx = refused(estate)
    assert ctx.notifications[-1]["page"] is True


def test_no_deploy_while_an_alert_fires_or_the_replica_lags_or_production_is_down() -> None:
    firing = DeployEstate()
    firing.logs["alerts-qlp"].append(
        {"alert_id": "a1", "state": "fired", "at": T0.isoformat(), "target": "x/pg", "summary": "db"}
    )
    assert "alert(s) for the app firing" in refused(firing)[0]["summary"]
    lagging = DeployEstate()
    lagging.lag = 3600.0
    assert "exceeds the RPO" in refused(lagging)[0]["summary"]
    blind = DeployEstate()
    blind.lag = None
    assert "lag cannot be measured" in refused(blind)[0]["summary"]
    down = DeployEstate()
    down.public_down = True
    assert "production is not healthy through the public endpoint" in refused(down)[0]["summary"]


def test_live_slot_cpu_warns_and_refuses() -> None:
    busy = DeployEstate()
    busy.cpu = 950.0
    assert "is over 90%: refusing to add load" in refused(busy)[0]["summary"]
    warm = DeployEstate()
    warm.cpu = 850.0
    out, ctx = run(warm)
    assert out["status"] == "succeeded" and any("over 80%" in w for w in ctx.last_report()["warnings"])


def test_a_stale_backup_triggers_an_on_demand_backup_and_the_gate_rechecks() -> None:
    estate = DeployEstate()
    estate.backup_age = timedelta(hours=7)
    out, ctx = run(estate)
    assert out["status"] == "succeeded" and estate.backups_taken == 1
    assert len(ctx.payloads(names.DATABASE_LIST_BACKUPS)) == 2


# ---- releases that never get traffic -------------------------------------------------------------------
def test_a_broken_release_never_receives_traffic() -> None:
    estate = DeployEstate()
    out, ctx = run(estate, tag="1.1.0-broken")
    assert out["status"] == "failed" and "never received traffic" in out["summary"]
    assert "not healthy within 20 s" in out["summary"]
    assert estate.switches == [] and estate.groups[GROUPS["green"]]["state"] == "Stopped"
    assert estate.releases() == [("deploy", "1.1.0-broken", "unhealthy")]
    assert not ctx.notifications[-1]["page"]


def test_a_slow_release_fails_the_smoke_suite_before_any_traffic() -> None:
    estate = DeployEstate()
    out, _ = run(estate, tag="1.1.0-slow")
    assert out["status"] == "failed" and "smoke load failed: average 800.0 ms over 500 ms" in out["summary"]
    assert estate.switches == [] and estate.releases() == [("deploy", "1.1.0-slow", "smoke-failed")]


# ---- the analysis and the one automatic rollback -------------------------------------------------------
def test_a_release_bad_only_after_the_switch_is_rolled_back_once_and_quarantined() -> None:
    estate = DeployEstate()
    out, ctx = run(estate, tag="1.1.0-late")
    assert out["status"] == "rolled-back", out["summary"]
    assert estate.switches == [OGS["green"], OGS["blue"]] and estate.route == OGS["blue"]
    assert estate.releases() == [("deploy", "1.1.0-late", "rolled-back"), ("rollback", "1.0.0", "succeeded")]
    rollback = estate.logs["releases-qlp"][1]
    assert rollback["automatic"] is True and rollback["from_image"] == image("1.1.0-late")
    assert "is quarantined" in out["summary"] and "health failed 2 of 2 checks" in out["summary"]
    m = out["measurements"]
    assert m["switched_at"] < m["first_failed_at"] <= m["rollback_switched_at"] <= m["traffic_restored_at"]
    assert m["failure_to_restored_seconds"] >= 0 and m["rollback_propagation_seconds"] is not None
    assert estate.groups[GROUPS["green"]]["state"] == "Stopped"
    assert estate.groups[GROUPS["blue"]]["state"] == "Running"  # the old slot was never touched
    assert ctx.last_report()["new_slot_logs"] == "workload serving"
    assert any(
        d["rule"] == "rule 7" and "the one automatic rollback" in d["reason"]
        for d in ctx.last_report()["decisions"]
    )
    assert [p["group"] for p in ctx.payloads(names.CONTAINERS_ENSURE_GROUP)] == [
        GROUPS["green"]
    ]  # no DR follow


def test_the_p95_trigger_rolls_back_a_release_that_passed_the_smoke_suite() -> None:
    estate = DeployEstate()
    out, _ = run(estate, tag="1.1.0-slow-300")  # 300 ms passes the smoke suite's 500 ms average
    assert (
        out["status"] == "rolled-back"
        and "p95 latency over its trigger in 2 checks in a row" in out["summary"]
    )


def test_the_rollback_that_reaches_the_budget_pages() -> None:
    estate = DeployEstate()
    earlier = {
        "kind": "rollback",
        "image": image("1.0.0"),
        "outcome": "succeeded",
        "automatic": True,
        "at": T0.isoformat(),
        "run_id": "x",
    }
    estate.logs["releases-qlp"].append(earlier)
    out, ctx = run(estate, tag="1.1.0-late")
    assert out["status"] == "rolled-back" and "deploys are stopped" in out["summary"]
    assert ctx.notifications[-1]["page"] is True


def test_a_container_alert_on_the_new_slot_rolls_back() -> None:
    estate = DeployEstate()
    provider = "microsoft.containerinstance/containergroups"
    target = f"/subscriptions/sub-1/resourcegroups/rg-uksouth/providers/{provider}/{GROUPS['green']}"
    signal = {"state": "fired", "resource_ids": [target], "summary": "restarts"}
    out, _ = run(estate, events=[Event("signal", signal, at=T0 + timedelta(seconds=60))])
    assert out["status"] == "rolled-back" and "container alert fired: restarts on qlp-green" in out["summary"]


def test_no_data_rolls_back_by_default_or_waits_for_an_operator() -> None:
    estate = DeployEstate()
    health_only = '[{"name": "health", "path": "/health"}]'  # the load check would catch it before traffic
    blind = deploy_settings(analysis_inconclusive_limit="1", smoke_suite=health_only)
    out, _ = run(estate, tag="1.1.0-silent", settings=blind)
    assert out["status"] == "rolled-back" and "no data is not a pass" in out["summary"]
    keep = Event("approval", {"answer": "approve", "by": "ops"}, at=T0 + timedelta(minutes=5))
    waiting = deploy_settings(
        analysis_inconclusive_limit="1", analysis_inconclusive_action="wait", smoke_suite=health_only
    )
    out, ctx = run(DeployEstate(), tag="1.1.0-silent", settings=waiting, events=[keep])
    assert out["status"] == "succeeded" and "kept by ops" in out["summary"]
    assert "awaiting-approval" in [n["event"] for n in ctx.notifications]
    out, _ = run(DeployEstate(), tag="1.1.0-silent", settings=waiting)  # nobody answers: roll back
    assert out["status"] == "rolled-back" and "no answer before the approval timeout" in out["summary"]


# ---- preemption (rule 12) ------------------------------------------------------------------------------
FAILOVER = {
    "run_id": "failover-qlp-1",
    "operation": "failover",
    "reason": "region outage",
    "orchestrator": "x",
    "input": {},
}


def test_a_failover_preempts_the_deploy_at_its_next_checkpoint() -> None:
    estate = DeployEstate()
    out, ctx = run(estate, events=[Event("preempt", FAILOVER, at=T0 + timedelta(seconds=45))])
    assert out["status"] == "preempted"
    assert out["summary"].startswith("preempted by failover failover-qlp-1 (region outage)")
    assert out["measurements"]["preempted_by"] == "failover-qlp-1"
    assert ctx.last_report()["decisions"][-1]["rule"] == "rule 12"
    assert names.CONTAINERS_STOP_GROUP not in ctx.names()  # nothing is undone: the failover takes over


def test_a_preemption_before_the_idle_slot_changes_nothing() -> None:
    estate = DeployEstate()
    out, ctx = run(estate, events=[Event("preempt", FAILOVER)])
    assert out["status"] == "preempted" and "after pre-flight" in out["summary"]
    assert names.CONTAINERS_ENSURE_GROUP not in ctx.names()


# ---- the schedule --------------------------------------------------------------------------------------
def test_a_scheduled_deploy_notifies_ahead_waits_and_can_be_cancelled() -> None:
    when = (T0 + timedelta(hours=30)).isoformat()
    out, ctx = run(DeployEstate(), not_before=when)
    assert out["status"] == "succeeded"
    assert T0 + timedelta(hours=6) in ctx.timers  # the notice goes out 24 h ahead ...
    assert T0 + timedelta(hours=30) in ctx.timers  # ... and the deploy waits until its time
    texts = [n["text"] for n in ctx.notifications]
    assert any(t.startswith("scheduled deploy of") for t in texts)
    cancel = Event("approval", {"answer": "cancel", "by": "ops"}, at=T0 + timedelta(hours=1))
    out, ctx = run(DeployEstate(), not_before=when, events=[cancel])
    assert out["status"] == "cancelled" and names.CONTAINERS_ENSURE_GROUP not in ctx.names()


# ---- resumed from the states an interrupted deploy leaves ----------------------------------------------
def test_resumed_with_the_idle_slot_already_running_the_release() -> None:
    estate = DeployEstate(idle_image="1.1.0")
    estate.groups[GROUPS["green"]]["state"] = "Running"
    out, ctx = run(estate)
    assert out["status"] == "succeeded"
    assert ctx.last_report()["plan"]["idle_update"]["action"] == "unchanged"
    assert names.CONTAINERS_START_GROUP not in ctx.names()


def test_resumed_with_the_idle_slot_stopped_on_the_release() -> None:
    estate = DeployEstate(idle_image="1.1.0")
    out, ctx = run(estate)
    assert out["status"] == "succeeded" and ctx.last_report()["plan"]["idle_update"]["action"] == "start"
    assert ctx.payloads(names.CONTAINERS_START_GROUP) == [{"group": GROUPS["green"]}]


def test_a_deploy_from_green_goes_to_blue() -> None:
    estate = DeployEstate(live="green")
    out, _ = run(estate)
    assert out["status"] == "succeeded" and estate.route == OGS["blue"]


def test_no_deploy_while_traffic_serves_from_the_dr_region() -> None:
    estate = DeployEstate()
    estate.route = OGS["standby"]
    out, _ = run(estate)
    assert out["status"] == "refused" and "fail back first" in out["summary"]
