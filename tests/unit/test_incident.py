"""The incident plan driven by the fake Durable runtime: the escalation climbs a level at each threshold on
durable timers and stops on an acknowledgement; status updates at the cadence, one at resolution, none
after; linked runs raise the severity; resolution writes the post-mortem draft and judges the SLA."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import names
from tests.support.durable import Event, FakeContext
from tests.support.incidents import IID, RUN, ack, context, minutes, report, resolve, run, sent


def escalations(ctx: FakeContext) -> list[tuple[str, Any]]:
    """(audience, when) of every escalation notification."""
    return [(p["audience"], at) for p, at in zip(sent(ctx), _times(ctx), strict=True) if p["message"]["page"]]


def _times(ctx: FakeContext) -> list[Any]:
    return [c["at"] for c in ctx.last_report()["notifications"]]


def test_unacknowledged_incident_climbs_a_level_at_each_threshold() -> None:
    ctx = context([resolve(75)], STATUS_UPDATE_MINUTES="600")
    out = run(ctx)
    levels = [(a, at[:16]) for a, at in escalations(ctx)]
    assert levels == [
        ("level:on-call", "2026-11-29T12:00"),
        ("level:senior", "2026-11-29T12:15"),
        ("level:lead", "2026-11-29T12:30"),
        ("level:manager", "2026-11-29T13:00"),
    ]
    assert minutes(15) in ctx.timers and minutes(30) in ctx.timers and minutes(60) in ctx.timers
    incident = ctx.last_report()["incident"]
    assert incident["level"] == "manager" and len(incident["escalations"]) == 4
    assert "unacknowledged for 15 min: escalate to senior" in incident["escalations"][1]["reason"]
    assert out["status"] == "resolved"
    assert incident["response"]["verdict"] is False and "not acknowledged" in incident["response"]["reason"]


def test_acknowledgement_stops_the_climb() -> None:
    ctx = context([ack(20), resolve(90)], STATUS_UPDATE_MINUTES="600", INCIDENT_AUTO_RESOLVE_MINUTES="0")
    run(ctx)
    assert [a for a, _ in escalations(ctx)] == ["level:on-call", "level:senior"]
    assert minutes(30) not in ctx.timers and minutes(60) not in ctx.timers  # no timer for lead or manager
    incident = ctx.last_report()["incident"]
    assert incident["acknowledged_by"] == "ops@example.com" and incident["level"] == "senior"
    assert incident["response"]["verdict"] is False  # P0: 15 min; acknowledged after 20
    assert incident["response"]["reason"] == "P0 response SLA missed: acknowledged after 20 min, 5 min late"
    acked = [p for p in sent(ctx) if p["message"]["event"] == "incident-acknowledged"]
    told, *pagerduty = acked
    assert told["audience"] == "default" and "escalation stops" in told["message"]["text"]
    assert [(p["audience"], p["message"]["action"], p["pagerduty_only"]) for p in pagerduty] == [
        ("level:on-call", "acknowledge", True),
        ("level:senior", "acknowledge", True),
    ]


def test_pagerduty_acknowledgement_in_time_meets_the_sla() -> None:
    ctx = context(
        [ack(10, by="On-call Engineer", through="pagerduty"), resolve(40)], STATUS_UPDATE_MINUTES="600"
    )
    run(ctx)
    incident = ctx.last_report()["incident"]
    assert incident["acknowledged_through"] == "pagerduty"
    assert incident["response"] == {
        "due_at": minutes(15).isoformat(),
        "sla": "15",
        "verdict": True,
        "reason": "P0 response SLA met: acknowledged after 10 min",
    }
    assert [a for a, _ in escalations(ctx)] == ["level:on-call"]
    acked = [p for p in sent(ctx) if p["message"]["event"] == "incident-acknowledged"]
    assert [p["audience"] for p in acked] == ["default"]  # PagerDuty knows already: not told again


def test_status_updates_at_the_cadence_one_at_resolution_none_after() -> None:
    ctx = context([ack(5), resolve(100)])
    run(ctx)
    updates = [p for p in sent(ctx) if p["audience"] == "status"]
    kinds = [p["message"]["event"] for p in updates]
    assert kinds == ["incident-status-update"] * 3 + ["incident-resolved"]
    times = [u["at"] for u in ctx.last_report()["incident"]["updates"]]
    assert [t[:16] for t in times[:3]] == ["2026-11-29T12:30", "2026-11-29T13:00", "2026-11-29T13:30"]
    assert times[3] >= minutes(100).isoformat()
    body = updates[0]["status_update"]
    assert body["schema"] == "continuity.incident-status/1" and body["incident_id"] == IID
    assert body["severity"] == "P0" and body["status"] == "identified" and body["runs"] == [RUN]
    assert "promote (running)" in body["step"] and "RTO 30 min: passed" in body["eta"]
    assert updates[-1]["status_update"]["status"] == "resolved"
    # nothing after resolution: the post-mortem and the report are the last things it does
    assert ctx.names()[-2:] == [names.INCIDENTS_WRITE_POSTMORTEM, names.STORAGE_WRITE_REPORT]
    after = sent(ctx)[sent(ctx).index(updates[-1]) + 1 :]
    assert all(p["message"]["action"] == "resolve" and p["pagerduty_only"] for p in after)
    assert max(ctx.timers) < minutes(100) + timedelta(minutes=30)


def test_a_status_update_says_the_measured_rto_once_the_run_has_it() -> None:
    ctx = context([ack(5), resolve(45)], run_report=report("succeeded", rto=420.0))
    run(ctx)
    body = next(p for p in sent(ctx) if p["audience"] == "status")["status_update"]
    assert body["eta"] == "recovered: RTO 7 min (RTO 30 min: met)"


def test_a_linked_run_joins_and_raises_the_severity() -> None:
    link = {
        "action": "link",
        "run_id": "deploy-qlp-x",
        "operation": "deploy",
        "severity": "P1",
        "reason": "deploy failed",
    }
    ctx = context([Event("incident", link, at=minutes(3)), ack(4), resolve(10)], severity="P2")
    run(ctx)
    incident = ctx.last_report()["incident"]
    assert [r["run_id"] for r in incident["runs"]] == [RUN, "deploy-qlp-x"]
    assert incident["severity"] == "P1" and incident["severity_reasons"][-1] == "deploy failed"
    linked = [p["message"] for p in sent(ctx) if p["message"]["event"] == "incident-linked"]
    assert linked and linked[0]["fields"]["severity"] == "P1" and "raised to P1" in linked[0]["text"]


def test_every_notification_carries_the_incident_id_and_severity() -> None:
    ctx = context([ack(2), resolve(3)])
    run(ctx)
    for payload in sent(ctx):
        message = payload["message"]
        assert message["fields"]["incident"] == IID and message["fields"]["severity"] == "P0"
        assert message["dedup_key"] == IID and message["title"].startswith(f"[P0] incident {IID}")


def test_resolution_writes_the_postmortem_and_resolves_every_paged_level() -> None:
    ctx = context([resolve(20)], STATUS_UPDATE_MINUTES="600")
    out = run(ctx)
    resolves = [p for p in sent(ctx) if p["message"]["action"] == "resolve"]
    assert [p["audience"] for p in resolves] == ["level:on-call", "level:senior"]
    assert all(p["pagerduty_only"] for p in resolves)
    written = ctx.payloads(names.INCIDENTS_WRITE_POSTMORTEM)[0]["incident"]
    assert written["status"] == "resolved" and written["resolution"] == "traffic healthy in ukwest"
    assert out["postmortem"]["due_at"] == (minutes(20) + timedelta(hours=48)).isoformat()
    final = ctx.last_report()
    assert final["status"] == "resolved" and final["evidence"]["postmortem"] == "memory://pm"


def test_custom_status_is_the_incident_view() -> None:
    ctx = context([ack(2), resolve(3)])
    run(ctx)
    first, last = ctx.statuses[0], ctx.statuses[-1]
    assert first["id"] == IID and first["status"] == "open" and first["severity"] == "P0"
    assert (
        last["status"] == "resolved"
        and last["acknowledged_by"] == "ops@example.com"
        and last["runs"] == [RUN]
    )
