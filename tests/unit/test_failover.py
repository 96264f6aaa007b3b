"""The failover orchestrator driven with fake activities: every branch and every safety-rule refusal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from shared import names
from shared.reports import render_markdown
from tests.support.durable import T0, Event, FakeContext, drive, orchestrator
from tests.support.failover_estate import (
    Estate,
    alert_input,
    approve,
    last_report,
    operator_input,
    reasons,
    run,
    settings,
)


def context(
    payload: dict[str, Any], activities: dict[str, Any], events: list[Event] | None = None
) -> FakeContext:
    return FakeContext(payload, activities, events=list(events or []), instance_id="failover-qlp")


def failover(ctx: FakeContext) -> Any:
    return drive(orchestrator(names.FAILOVER_ORCHESTRATOR), ctx)


# ---- the happy path ------------------------------------------------------------------------------------
def test_alert_outage_fails_over_after_confirmation_and_grace() -> None:
    estate = Estate()
    out, ctx = run(estate, alert_input())
    assert out["status"] == "succeeded"
    assert estate.route == "og-standby"
    report = last_report(estate)
    steps = [s["name"] for s in report["steps"]]
    assert steps == [
        "observe", "confirm", "prepare", "grace", "recheck_lag", "promote", "count_rows", "point_secret",
        "restart_standby", "verify_standby", "check_pool", "switch_traffic", "verify_public", "fence",
        "tier_rto",
    ]  # fmt: skip
    assert all(s["outcome"] == "succeeded" for s in report["steps"])
    assert "the primary failed 3 consecutive probes: outage confirmed" in reasons(estate)
    assert "the primary is still down after the grace period: failing over" in reasons(estate)
    assert ctx.payloads(names.DATABASE_PROMOTE_REPLICA) == [
        {"server": "pg-west", "mode": "forced", "operation": "standalone"}
    ]
    # rule 5: fenced, never deleted
    assert ctx.payloads(names.DATABASE_STOP_SERVER) == [{"server": "pg-south"}]
    assert not ctx.payloads(names.DATABASE_DELETE_SERVER)
    m = report["measurements"]
    assert m["rto_seconds"] > 600  # from the first signal, through a 10 min grace period
    assert m["rpo_seconds"] == 3.0
    assert m["rows_missing"] is None
    assert report["decisions"][-1]["action"] == "met"
    assert [n["event"] for n in estate.notes] == ["started", "completed"]
    assert estate.cloud_events[-1]["type"] == "continuity.failover.completed"


def test_traffic_moves_only_after_the_standby_is_verified() -> None:
    estate = Estate()
    _, ctx = run(estate, alert_input())
    order = ctx.names()
    promote = order.index(names.DATABASE_PROMOTE_REPLICA)
    secret = order.index(names.SECRETS_POINT_DATABASE_URL)
    restart = order.index(names.CONTAINERS_RESTART_GROUP)
    switch = order.index(names.TRAFFIC_SWITCH_ROUTE)
    assert promote < secret < restart < switch
    write = [i for i in ctx.payloads(names.PROBE_HTTP) if i.get("method") == "POST"]
    assert write and "aci-standby" in write[0]["url"]


def test_custom_status_shows_step_and_last_reason() -> None:
    estate = Estate()
    _, ctx = run(estate, alert_input())
    grace = [s for s in ctx.statuses if s["step"] == "grace" and s["reason"]]
    assert any("waiting 10 min for the primary to recover" in s["reason"] for s in grace)
    assert ctx.custom_status["status"] == "succeeded"
    assert ctx.custom_status["report"] == "http://blob/failover-qlp.json"


def test_report_is_written_as_the_run_goes() -> None:
    estate = Estate()
    run(estate, alert_input())
    assert estate.reports[0]["report"]["status"] == "running"
    last_steps = [r["report"]["steps"][-1]["name"] for r in estate.reports if r["report"]["steps"]]
    for checkpoint in ("prepare", "promote", "switch_traffic"):
        assert checkpoint in last_steps
    # the storage activity renders the Markdown: the orchestrator sends the report alone
    assert estate.reports[-1].keys() == {"run_id", "report", "kind"}
    assert estate.reports[-1]["kind"] == "failover"
    assert "# failover run failover-qlp" in render_markdown(estate.reports[-1]["report"])


# ---- confirmation and grace: no failover ---------------------------------------------------------------
def test_resolved_alert_during_confirmation_stands_down() -> None:
    estate = Estate()
    resolved = Event(  # the alert that started the run (no alert id: known by its resource) resolves
        "signal",
        {
            "source": "monitor-webhook",
            "state": "resolved",
            "resource_ids": ["/x/pg-south"],
            "observed_at": "",
        },
    )
    out, ctx = run(estate, alert_input(), [resolved])
    assert out["status"] == "stood-down"
    assert out["summary"] == "the alert resolved during confirmation: recovered, no failover"
    assert not ctx.payloads(names.DATABASE_PROMOTE_REPLICA)
    assert not ctx.payloads(names.CONTAINERS_START_GROUP)


def notice(state: str, alert_id: str, minutes: float) -> Event:
    """A common-alert notification of the primary delivered to the run ``minutes`` after T0."""
    data = {
        "source": "monitor-webhook",
        "state": state,
        "alert_id": alert_id,
        "resource_ids": ["/x/pg-south"],
    }
    return Event("signal", {**data, "observed_at": ""}, T0 + timedelta(minutes=minutes))


def flapping(*events: Event) -> tuple[Any, FakeContext, Estate]:
    estate, payload = Estate(), alert_input()
    payload["trigger"]["signal"]["alert_id"] = "rule-1/flap-1"
    out, ctx = run(estate, payload, list(events))
    return out, ctx, estate


def grace_minutes(estate: Estate) -> float:
    (grace,) = [s for s in last_report(estate)["steps"] if s["name"] == "grace"]
    began, ended = (datetime.fromisoformat(grace[k]) for k in ("started_at", "ended_at"))
    return (ended - began).total_seconds() / 60


def test_alerts_flapping_inside_the_grace_are_absorbed_and_it_stands_down_at_its_end() -> None:
    out, ctx, estate = flapping(
        notice("resolved", "rule-1/flap-1", 2),
        notice("fired", "rule-1/flap-2", 3),  # the same rule fires again: a new alert instance
        notice("fired", "rule-2/flap-1", 3.5),  # another alert rule of the same incident
        notice("resolved", "rule-1/flap-2", 4),
        notice("fired", "rule-1/flap-1", 5),  # a late duplicate: that instance has resolved
        notice("resolved", "rule-2/flap-1", 6),
    )
    assert out["status"] == "stood-down", out
    assert out["summary"] == "the alert resolved during the grace period: recovered, no failover"
    assert grace_minutes(estate) == pytest.approx(10, abs=0.1)  # waited out, not ended by the first resolve
    assert not ctx.payloads(names.DATABASE_PROMOTE_REPLICA)
    assert not ctx.payloads(names.TRAFFIC_SWITCH_ROUTE)


def test_a_flap_that_ends_fired_fails_over_at_the_end_of_the_grace() -> None:
    out, ctx, estate = flapping(notice("resolved", "rule-1/flap-1", 2), notice("fired", "rule-1/flap-2", 3))
    assert out["status"] == "succeeded", out
    assert "the primary is still down after the grace period: failing over" in reasons(estate)
    assert grace_minutes(estate) == pytest.approx(10, abs=0.1)
    assert len(ctx.payloads(names.DATABASE_PROMOTE_REPLICA)) == 1


def test_a_primary_that_answers_is_not_failed_over() -> None:
    estate = Estate()
    estate.primary_up = True
    out, ctx = run(estate, alert_input())
    assert out["summary"] == "the primary answered 3 consecutive probes: recovered, no failover"
    assert not ctx.payloads(names.TRAFFIC_SWITCH_ROUTE)


def test_primary_recovering_during_grace_stands_down() -> None:
    estate = Estate()

    def probe(i: dict[str, Any]) -> dict[str, Any]:
        # down for confirmation, back by the end of the grace period
        up = "aci-blue" in i["url"] and rt_clock() > T0 + timedelta(minutes=5)
        return {"url": i["url"], "ok": up, "status": 200 if up else 503}

    payload = alert_input()
    ctx = context(payload, {**estate.activities(), names.PROBE_HTTP: probe})

    def rt_clock() -> Any:
        return ctx.current_utc_datetime

    out = failover(ctx)
    assert out["status"] == "stood-down"
    assert out["summary"] == "the primary answers again after the grace period: recovered, no failover"
    assert not ctx.payloads(names.DATABASE_PROMOTE_REPLICA)


def test_approval_during_grace_fails_over_at_once() -> None:
    estate = Estate()
    out, _ = run(estate, alert_input(), [approve(at_minutes=2)])
    assert out["status"] == "succeeded"
    assert "approved during the grace period: failing over now" in reasons(estate)
    assert out["measurements"]["rto_seconds"] < 600


def test_traffic_already_in_the_dr_region_stands_down() -> None:
    estate = Estate()
    estate.route = "og-standby"
    out, ctx = run(estate, alert_input())
    assert out["summary"] == "traffic already serves from the DR region: nothing to fail over"
    assert not ctx.payloads(names.PROBE_HTTP)


# ---- rule 7 ------------------------------------------------------------------------------------------
def test_rule7_refuses_too_many_automatic_failovers_and_pages() -> None:
    estate = Estate()
    out, ctx = run(estate, alert_input(recent_automatic_failovers=[(T0 - timedelta(hours=3)).isoformat()]))
    assert out["status"] == "refused"
    assert out["summary"].startswith("automatic failover refused: 1 already ran in the last 1 d 0 h")
    assert estate.notes[-1]["page"] is True
    assert not ctx.payloads(names.CONTAINERS_START_GROUP)


# ---- rule 3: lag gate and approvals --------------------------------------------------------------------
def test_rule3_lag_over_rpo_waits_for_approval_then_proceeds() -> None:
    estate = Estate()
    estate.lag = 1800.0
    out, ctx = run(estate, alert_input(), [approve(at_minutes=3)])
    assert out["status"] == "succeeded"
    rule3 = [d for d in last_report(estate)["decisions"] if d.get("rule") == "rule 3"]
    gate = [d for d in rule3 if d["action"] == "approval"]
    assert len(gate) == 1 and "no automatic forced promote" in gate[0]["reason"]
    assert [(d["step"], d["action"]) for d in rule3 if d["action"] != "approval"] == [
        ("decide", "exceeded"),
        ("recheck_lag", "exceeded"),
    ]
    assert "approved by ops" in reasons(estate)
    assert [n["event"] for n in estate.notes][:2] == ["started", "awaiting-approval"]
    awaiting = [s for s in ctx.statuses if s["awaiting"] == "approval"]
    assert awaiting and "over the RPO" in awaiting[0]["reason"]


def test_rule3_unknown_lag_also_waits() -> None:
    estate = Estate()
    estate.lag = None
    out, _ = run(estate, alert_input(), [approve(answer="reject")])
    assert out["status"] == "rejected"
    assert out["summary"] == "rejected by ops: stopped, nothing changed"
    assert estate.route == "og-blue"


def test_manual_mode_reject_changes_nothing() -> None:
    estate = Estate()
    out, ctx = run(estate, alert_input(settings=settings(failover_mode="manual")), [approve(answer="reject")])
    assert out["status"] == "rejected"
    assert "failover mode is manual: waiting for operator approval" in reasons(estate)
    assert not ctx.payloads(names.DATABASE_PROMOTE_REPLICA)
    assert not ctx.payloads(names.TRAFFIC_SWITCH_ROUTE)


def test_manual_mode_cancel() -> None:
    estate = Estate()
    out, _ = run(estate, alert_input(settings=settings(failover_mode="manual")), [approve(answer="cancel")])
    assert out["status"] == "cancelled"


def test_approval_timeout_stops_when_configured() -> None:
    estate = Estate()
    payload = alert_input(settings=settings(failover_mode="manual", approval_timeout_action="stop"))
    out, ctx = run(estate, payload)
    assert out["status"] == "stopped"
    assert out["summary"] == "no approval after 30 min: stopped, nothing changed"
    assert not ctx.payloads(names.DATABASE_PROMOTE_REPLICA)


def test_approval_timeout_escalates_then_keeps_waiting() -> None:
    estate = Estate()
    payload = alert_input(settings=settings(failover_mode="manual"))
    out, _ = run(estate, payload, [approve(at_minutes=45)])
    assert out["status"] == "succeeded"
    pages = [n for n in estate.notes if n["event"] == "awaiting-approval" and n["page"]]
    assert pages and pages[0]["text"] == "no approval after 30 min: escalated by page, still waiting"


# ---- rule 4: planned vs forced ---------------------------------------------------------------------------
def test_rule4_operator_planned_switchover_with_the_primary_up() -> None:
    estate = Estate()
    estate.primary_up = True
    estate.counts_old = {"intents": 10}
    out, ctx = run(estate, operator_input(mode="planned"))
    assert out["status"] == "succeeded"
    assert ctx.payloads(names.DATABASE_PROMOTE_REPLICA)[0]["operation"] == "switchover"
    assert out["measurements"]["rows_missing"] == 0
    assert out["measurements"]["rpo_seconds"] == 0.0
    assert "switchover made the old primary a read-only replica: no fence needed" in reasons(estate)
    assert not ctx.payloads(names.DATABASE_STOP_SERVER)
    assert "confirm" not in [s["name"] for s in last_report(estate)["steps"]]
    # a switchover needs the virtual endpoint pair; the secret goes on its writer before, not after
    order = ctx.names()
    assert ctx.payloads(names.DATABASE_ENSURE_VIRTUAL_ENDPOINT) == [
        {"server": "pg-south", "replica": "pg-west"}
    ]
    assert order.index(names.DATABASE_ENSURE_VIRTUAL_ENDPOINT) < order.index(names.DATABASE_PROMOTE_REPLICA)
    secrets = ctx.payloads(names.SECRETS_POINT_DATABASE_URL)
    assert secrets == [
        {"server": "pg-south", "endpoint": "writer"},
        {"server": "pg-west", "endpoint": "writer"},
    ]
    assert order.index(names.SECRETS_POINT_DATABASE_URL) < order.index(names.DATABASE_PROMOTE_REPLICA)
    assert out["measurements"]["zero_loss_by_lsn"] is True
    assert any(r.startswith("zero loss verified by WAL position") for r in reasons(estate))


def test_rule4_forced_request_with_the_primary_up_becomes_planned() -> None:
    estate = Estate()
    estate.primary_up = True
    _, ctx = run(estate, operator_input(mode="forced"))
    assert ctx.payloads(names.DATABASE_PROMOTE_REPLICA)[0]["mode"] == "planned"
    assert "forced was requested but the primary answers: planned switchover instead" in reasons(estate)


def test_rule4_planned_request_with_the_primary_down_is_refused() -> None:
    estate = Estate()
    out, ctx = run(estate, operator_input(mode="planned"))
    assert out["status"] == "refused"
    assert "start a forced failover instead" in out["summary"]
    assert not ctx.payloads(names.DATABASE_PROMOTE_REPLICA)


def test_operator_forced_failover_skips_confirmation_and_grace() -> None:
    estate = Estate()
    out, _ = run(estate, operator_input())
    assert out["status"] == "succeeded"
    steps = [s["name"] for s in last_report(estate)["steps"]]
    assert "confirm" not in steps
    assert "started by an operator: no grace period" in reasons(estate)


# ---- failures: before and after traffic moved ------------------------------------------------------------
def test_promote_failure_leaves_traffic_and_pages() -> None:
    estate = Estate()
    estate.promote_error = "permanent: promote pg-west: conflict"
    out, ctx = run(estate, operator_input())
    assert out["status"] == "failed"
    assert estate.route == "og-blue"
    assert not ctx.payloads(names.TRAFFIC_SWITCH_ROUTE)
    assert out["summary"].startswith("promote failed before anything changed (")
    assert "traffic left where it was" in out["summary"]
    assert "Steps that ran: observe, prepare, grace." in out["summary"]
    observed = last_report(estate)["estate"]
    assert observed["before"]["route"]["origin_group"] == "og-blue"
    assert observed["after"]["route"]["origin_group"] == "og-blue"  # re-observed as the run ended
    assert observed["after"].keys() == {"route", "primary_server", "replica_server", "standby_group"}
    assert estate.notes[-1]["event"] == "step-failed" and estate.notes[-1]["page"] is True


def test_transient_promote_failure_is_retried() -> None:
    estate = Estate()
    attempts: list[int] = []

    def flaky(i: dict[str, Any]) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("transient: promote pg-west: 503 Service Unavailable")
        return {"promoted": True, "role": "primary"}

    ctx = context(operator_input(), {**estate.activities(), names.DATABASE_PROMOTE_REPLICA: flaky})
    out = failover(ctx)
    assert out["status"] == "succeeded"
    assert len(attempts) == 3


def test_rule2_no_healthy_origin_refuses_the_switch() -> None:
    estate = Estate()
    estate.healthy_origins = 0
    out, ctx = run(estate, operator_input())
    assert out["status"] == "failed"
    assert not ctx.payloads(names.TRAFFIC_SWITCH_ROUTE)
    refusal = [d for d in last_report(estate)["decisions"] if d.get("rule") == "rule 2"]
    assert (
        refusal[0]["reason"]
        == "traffic switch refused: origin group og-standby has no healthy origin (0 of 1)"
    )
    assert "the promotion is not undone" in out["summary"]


def test_standby_that_never_gets_healthy_keeps_traffic() -> None:
    estate = Estate()
    estate.standby_ok = False
    out, ctx = run(estate, operator_input())
    assert out["status"] == "failed"
    assert "verify_standby failed after the promote but before traffic moved" in out["summary"]
    assert not ctx.payloads(names.TRAFFIC_SWITCH_ROUTE)


def test_failure_after_traffic_moved_pages_and_never_undoes() -> None:
    estate = Estate()
    estate.public_ok = False
    out, ctx = run(estate, operator_input())
    assert out["status"] == "failed"
    assert "verify_public failed after traffic moved" in out["summary"]
    assert "never undone" in out["summary"]
    assert len(ctx.payloads(names.TRAFFIC_SWITCH_ROUTE)) == 1
    assert len(ctx.payloads(names.DATABASE_PROMOTE_REPLICA)) == 1


def test_fence_failure_is_a_warning_that_pages() -> None:
    estate = Estate()
    acts = estate.activities()

    def stop(i: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("permanent: stop pg-south: region unavailable")

    ctx = context(operator_input(), {**acts, names.DATABASE_STOP_SERVER: stop})
    out = failover(ctx)
    assert out["status"] == "succeeded-with-warnings"
    assert "fence failed: pg-south could not be stopped" in out["summary"]
    assert estate.notes[-1]["page"] is True


# ---- dry run -----------------------------------------------------------------------------------------
def test_dry_run_decides_without_acting() -> None:
    estate = Estate()
    out, ctx = run(estate, operator_input(dry_run=True))
    assert out["dry_run"] is True
    assert out["plan"][0] == "promote replica (forced) || start standby"
    assert [d["action"] for d in out["decisions"]] == ["forced", "within", "proceed"]
    acting = {
        names.CONTAINERS_START_GROUP,
        names.DATABASE_PROMOTE_REPLICA,
        names.SECRETS_POINT_DATABASE_URL,
        names.TRAFFIC_SWITCH_ROUTE,
        names.DATABASE_STOP_SERVER,
    }
    assert not acting & set(ctx.names())


@pytest.mark.parametrize("secret", ["postgresql://qlp_app:s3cret@host/db", "https://x?sig=s3cret"])
def test_reports_never_hold_a_secret(secret: str) -> None:
    estate = Estate()
    estate.promote_error = f"permanent: promote pg-west: failed for {secret}"
    run(estate, operator_input())
    assert all("s3cret" not in str(r) for r in estate.reports)
    assert all("s3cret" not in str(n) for n in estate.notes)


def test_cancel_during_confirmation_stops_the_run() -> None:
    estate = Estate()
    cancel = Event("approval", {"answer": "cancel", "by": "ops"}, T0 + timedelta(seconds=5))
    out, ctx = run(estate, alert_input(), [cancel])
    assert out["status"] == "cancelled"
    assert out["summary"] == "cancelled by ops: stopped, nothing changed"
    assert not ctx.payloads(names.CONTAINERS_START_GROUP)
    assert any(s["awaiting"] == "confirmation" for s in ctx.statuses)


def test_lag_that_grows_over_the_rpo_during_grace_needs_approval_rule3() -> None:
    estate = Estate()
    readings = iter([3.0, 1200.0])
    acts = {
        **estate.activities(),
        names.DATABASE_GET_REPLICATION_LAG: lambda i: {"lag_seconds": next(readings)},
    }
    ctx = context(alert_input(), acts, [approve(at_minutes=20, answer="reject")])
    out = failover(ctx)
    assert out["status"] == "rejected"
    assert not ctx.payloads(names.DATABASE_PROMOTE_REPLICA)
    reasons_ = [d["reason"] for d in ctx.custom_status["decisions"]]
    assert "replica lag 20 min is over the RPO of 15 min" in reasons_


def test_an_approved_failover_is_not_gated_again() -> None:
    estate = Estate()
    estate.lag = 1800.0
    out, _ = run(estate, alert_input(), [approve(at_minutes=3)])
    assert out["status"] == "succeeded"
    assert len([e for e in estate.notes if e["event"] == "awaiting-approval"]) == 1
    assert out["measurements"]["replica_lag_at_promotion_seconds"] == 1800.0


def test_the_primary_is_the_server_the_replica_follows() -> None:
    estate = Estate()
    acts = estate.activities()

    def get_server(i: dict[str, Any]) -> dict[str, Any]:
        if i["server"] == "pg-west":
            return {"name": "pg-west", "state": "Ready", "role": "replica", "source_server": "pg-south-fb1"}
        return {"name": i["server"], "state": "Ready", "role": "primary"}

    ctx = context(operator_input(), {**acts, names.DATABASE_GET_SERVER: get_server})
    out = failover(ctx)
    assert out["status"] == "succeeded"
    assert ctx.payloads(names.DATABASE_STOP_SERVER) == [{"server": "pg-south-fb1"}]
    reasons_ = [d["reason"] for d in ctx.custom_status["decisions"]]
    assert "the replica pg-west follows pg-south-fb1: pg-south-fb1 is the primary" in reasons_
