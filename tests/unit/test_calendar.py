"""The DR test calendar: next runs from NCRONTAB schedules, overdue items, switched-off items, the
quarter's drill scenario; the weekly practice alert (the plan with fake activities, the intake's practice
path with a real notification receiver) and ``GET /api/calendar``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import calendar, config, names, ncrontab, policy
from shared.config import Settings, SettingsError, load_settings
from tests.support.durable import FakeClient, FakeContext, call_http, drive, http, orchestrator
from tests.support.estate import estate
from tests.support.receiver import Receiver
from tests.support.settings import BACKUP_ENV, FAILOVER_ENV, backup_settings
from triggers import calendar_api

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # a Thursday in Q4
SETTINGS = Settings.from_dict(backup_settings())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_next_runs_follow_the_ncrontab_schedules() -> None:
    assert policy.next_occurrence("0 */15 * * * *", at("2026-12-03T12:07:30")) == at("2026-12-03T12:15:00")
    assert policy.next_occurrence("0 0 9 * * 1", NOW) == at("2026-12-07T09:00:00")  # the next Monday
    quarterly = "0 0 4 1 1,4,7,10 *"
    assert policy.next_occurrence(quarterly, NOW, (1, 2, 3)) == at("2027-01-01T04:00:00")
    assert policy.next_occurrence(quarterly, NOW, (4, 5, 6)) == at("2027-04-01T04:00:00")
    assert policy.next_occurrence("0 0 3 * * *", at("2026-12-03T03:00:00")) == at("2026-12-04T03:00:00")
    assert policy.next_occurrence("0 0 9 * * MON", NOW) == at("2026-12-07T09:00:00")  # names, as Azure takes
    assert policy.next_occurrence("0 0 4 1 JAN,APR *", NOW, (7, 8, 9)) is None  # not in that quarter
    with pytest.raises(ValueError, match="expected 6"):
        ncrontab.parse_schedule("0 0 3 * *")
    with pytest.raises(SettingsError, match=r"CONTINUITY_ALERT_VERIFICATION_SCHEDULE.*day of week"):
        load_settings({**BACKUP_ENV, "CONTINUITY_ALERT_VERIFICATION_SCHEDULE": "0 0 9 * * FUNDAY"})


def item(cadence: str = "weekly", enabled: bool = True) -> policy.CalendarItem:
    return policy.CalendarItem(
        "alert-verification", cadence, "alert-verification", "", "0 0 9 * * 1", (), enabled
    )


def seen(status: str, days_ago: float) -> policy.RunSeen:
    return policy.RunSeen("alert-verification", status, NOW - timedelta(days=days_ago), f"av-{days_ago}")


def test_an_item_is_overdue_without_a_success_inside_its_cadence() -> None:
    never = policy.calendar_entry(item(), [], NOW)
    assert never["overdue"] and never["reason"] == "no successful alert-verification run yet"
    recent = policy.calendar_entry(item(), [seen("succeeded", 3), seen("failed", 1)], NOW)
    assert not recent["overdue"] and recent["result"] == "failed" and recent["last_run"] == "av-1"
    assert recent["next_run"] == "2026-12-07T09:00:00+00:00"
    stale = policy.calendar_entry(item(), [seen("succeeded", 9)], NOW)
    assert stale["overdue"] and "over its weekly cadence" in stale["reason"]
    off = policy.calendar_entry(item(enabled=False), [], NOW)
    assert (off["overdue"], off["next_run"], off["reason"]) == (False, None, "switched off")


def test_each_quarter_runs_its_own_drill_scenario_and_each_can_be_switched_off() -> None:
    assert [calendar.quarter_scenario(SETTINGS, m) for m in (2, 5, 8, 11)] == [
        "database",
        "region",
        "complete",
        "security",  # Q4: the credential rotation and the tabletop checklist
    ]
    assert "rotated" in {i.name: i for i in calendar.items(SETTINGS)}["q4-drill"].what
    q2_off = Settings.from_dict(backup_settings(calendar_off="q2-drill,alert-verification"))
    assert calendar.quarter_scenario(q2_off, 5) is None
    found = {i.name: i for i in calendar.items(q2_off)}
    assert not found["q2-drill"].enabled and not found["alert-verification"].enabled
    assert found["q1-drill"].operation == "drill-database" and found["q1-drill"].months == (1, 2, 3)
    with pytest.raises(SettingsError, match="CONTINUITY_CALENDAR_OFF"):
        load_settings({**BACKUP_ENV, "CONTINUITY_CALENDAR_OFF": "q5-drill"})
    with pytest.raises(SettingsError, match="CONTINUITY_CALENDAR_QUARTERS"):
        load_settings({**BACKUP_ENV, "CONTINUITY_CALENDAR_QUARTERS": "database,region"})


def test_the_calendar_route_shows_each_item_and_the_overdue_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    summaries = [
        {
            "run_id": "rt-1",
            "operation": "restore-test",
            "status": "succeeded",
            "started_at": "2026-12-03T03:00:00Z",
        },
        {
            "run_id": "d-1",
            "operation": "drill-complete",
            "status": "failed",
            "started_at": "2026-07-01T04:00:00Z",
        },
    ]
    monkeypatch.setattr(calendar_api.runs, "report_summaries", lambda: summaries)
    monkeypatch.setattr(calendar_api, "utc_now", lambda: NOW)
    monkeypatch.setattr(calendar_api, "current_settings", lambda: SETTINGS)
    resp = asyncio.run(call_http(names.HTTP_CALENDAR, http("GET", "/api/calendar")))
    body = json.loads(resp.get_body())
    assert resp.status_code == 200
    by_name = {i["name"]: i for i in body["items"]}
    assert by_name["restore-verification"]["overdue"] is False
    assert by_name["restore-verification"]["next_run"] == "2026-12-04T03:00:00+00:00"
    assert by_name["q3-drill"]["result"] == "failed" and by_name["q3-drill"]["overdue"] is True
    assert by_name["q4-drill"]["enabled"] is True and "security drill" in by_name["q4-drill"]["what"]
    assert body["overdue"] == [
        "q1-drill", "q2-drill", "q3-drill", "q4-drill", "failover-validation", "performance-baseline",
        "health-check-validation", "alert-verification", "backup-integrity",
    ]  # fmt: skip
    bad = asyncio.run(call_http(names.HTTP_CALENDAR, http("GET", "/api/calendar", params={"all": "1"})))
    assert bad.status_code == 400


def verify(answer: dict[str, Any]) -> tuple[dict[str, Any], FakeContext]:
    activities = {**estate("home"), names.PROBE_SEND_SYNTHETIC_ALERT: lambda p: answer}
    ctx = FakeContext({"settings": backup_settings(), "run_id": "alert-verification-qlp-1"}, activities)
    return drive(orchestrator(names.ALERT_VERIFICATION_ORCHESTRATOR), ctx), ctx


PRACTICE = {"status": "practice", "reason": "r", "would_act": True, "notified_targets": "webhook,slack"}


def test_the_alert_verification_passes_when_the_practice_alert_reached_the_targets() -> None:
    out, ctx = verify({"status": 202, "ok": True, "values": {**PRACTICE, "notify_failures": 0}})
    assert out["status"] == "succeeded", out
    (sent,) = ctx.payloads(names.PROBE_SEND_SYNTHETIC_ALERT)
    assert sent["target"].endswith("/providers/Microsoft.DBforPostgreSQL/flexibleServers/qlp-db-uksouth")
    assert ctx.last_report()["measurements"]["notified_targets"] == "webhook,slack"


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"status": 404, "error": "status 404, expected 202"}, "the intake answered 404"),
        ({"status": 202, "values": {**PRACTICE, "status": "started"}}, "did not treat it as practice"),
        ({"status": 202, "values": {**PRACTICE, "notified_targets": ""}}, "reached no notification target"),
        ({"status": 202, "values": {**PRACTICE, "notify_failures": 1}}, "1 notification targets failed"),
        ({"status": 202, "values": {**PRACTICE, "would_act": False}}, "not seen as protected"),
    ],
)
def test_the_alert_verification_fails_and_pages_naming_what_went_wrong(
    answer: dict[str, Any], why: str
) -> None:
    out, ctx = verify(answer)
    assert out["status"] == "failed" and why in out["summary"]
    assert any(n.get("page") for n in ctx.notifications)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    hook = Receiver()
    for key, value in {**FAILOVER_ENV, "CONTINUITY_WEBHOOK_URL": hook.url + "/hook"}.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    config.current_secrets.cache_clear()
    yield hook
    hook.close()
    config.current_settings.cache_clear()
    config.current_secrets.cache_clear()


def test_a_practice_alert_through_the_intake_notifies_and_starts_nothing(receiver: Receiver) -> None:
    provider = "Microsoft.DBforPostgreSQL/flexibleServers"
    target = f"/subscriptions/sub/resourceGroups/rg-south/providers/{provider}/pg-south"
    essentials = {
        "alertId": "synthetic-av-1",
        "alertRule": "continuity weekly alert verification",
        "monitorCondition": "Fired",
        "alertTargetIDs": [target],
        "firedDateTime": "2026-12-03T12:00:00Z",
    }
    data = {"essentials": essentials, "alertContext": {}, "customProperties": {"continuity-practice": "true"}}
    client = FakeClient()
    body = {"schemaId": "azureMonitorCommonAlertSchema", "data": data}
    resp = asyncio.run(call_http(names.HTTP_ALERTS, http("POST", "/api/alerts", body), client))
    said = json.loads(resp.get_body())
    assert resp.status_code == 202 and said["status"] == "practice", said
    assert said["would_act"] is True and said["notified_targets"] == "webhook"
    assert client.started == []  # no failover, no lock
    (message,) = receiver.messages(lambda m: m.get("event") == "practice-alert")
    assert "would start a failover" in message["text"] and "synthetic-av-1" in message["text"]
