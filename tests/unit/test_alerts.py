"""Alert intake: webhook, Event Grid and the backstop become one signal and at most one failover."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import azure.functions as func
import pytest

from shared import config, names
from shared.config import load_settings
from tests.unit.fake_durable import T0, FakeClient, call_http, http, registered
from tests.unit.test_failover import ENV
from triggers import alerts

SERVER_ID = (
    "/subscriptions/sub/resourceGroups/rg-south/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-south"
)
OTHER_ID = "/subscriptions/sub/resourceGroups/rg-x/providers/Microsoft.Web/sites/unrelated"


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    yield
    config.current_settings.cache_clear()


def common_alert(condition: str = "Fired", target: str = SERVER_ID, **essentials: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": "/subscriptions/sub/providers/Microsoft.AlertsManagement/alerts/1",
                "alertRule": "pg-south availability",
                "severity": "Sev1",
                "signalType": "Metric",
                "monitorCondition": condition,
                "alertTargetIDs": [target],
                "firedDateTime": "2026-11-29T11:58:00Z",
                "resolvedDateTime": "2026-11-29T11:59:00Z",
                **essentials,
            },
            "alertContext": {},
        },
    }
    return body


def post_alert(client: FakeClient, body: Any) -> func.HttpResponse:
    return asyncio.run(call_http(names.HTTP_ALERTS, http("POST", "/api/alerts", body), client))


def answer(resp: func.HttpResponse) -> dict[str, Any]:
    return json.loads(resp.get_body())  # type: ignore[no-any-return]


# ---- webhook ---------------------------------------------------------------------------------------------
def test_fired_alert_on_a_protected_resource_starts_one_failover() -> None:
    client = FakeClient()
    resp = post_alert(client, common_alert())
    assert resp.status_code == 202
    assert answer(resp) == {
        "status": "started",
        "reason": f"failover started for {SERVER_ID.lower()}",
        "run": "failover-qlp",
    }
    name, iid, payload = client.started[0]
    assert (name, iid) == (names.FAILOVER_ORCHESTRATOR, "failover-qlp")
    assert payload["trigger"]["kind"] == "alert"
    assert payload["trigger"]["first_signal_at"] == "2026-11-29T11:58:00+00:00"
    assert payload["mode"] == "auto" and payload["run_id"] == "failover-qlp"
    assert payload["settings"]["primary_server"] == "pg-south"


def test_a_storm_of_alerts_yields_exactly_one_run() -> None:
    client = FakeClient()

    async def storm() -> list[func.HttpResponse]:
        req = lambda: http("POST", "/api/alerts", common_alert())  # noqa: E731
        return await asyncio.gather(*(call_http(names.HTTP_ALERTS, req(), client) for _ in range(200)))

    responses = asyncio.run(storm())
    assert len(client.started) == 1
    statuses = [answer(r)["status"] for r in responses]
    assert statuses.count("started") == 1
    assert statuses.count("acknowledged") == 199
    assert {r.status_code for r in responses} == {202}


def test_resolved_alert_is_delivered_to_the_running_failover() -> None:
    client = FakeClient()
    client.put("failover-qlp", "Running")
    resp = post_alert(client, common_alert("Resolved"))
    assert answer(resp)["status"] == "delivered"
    iid, event, data = client.events[0]
    assert (iid, event, data["state"]) == ("failover-qlp", "signal", "resolved")
    assert not client.started


def test_resolved_alert_without_a_run_is_ignored() -> None:
    client = FakeClient()
    resp = post_alert(client, common_alert("Resolved"))
    assert answer(resp) == {"status": "ignored", "reason": "the alert resolved and no failover is running"}
    assert not client.started


def test_alert_on_an_unprotected_resource_is_acknowledged_with_the_reason() -> None:
    client = FakeClient()
    resp = post_alert(client, common_alert(target=OTHER_ID))
    assert resp.status_code == 202
    assert answer(resp)["reason"] == f"the alert targets {OTHER_ID.lower()}, not a protected resource"
    assert not client.started


def test_alert_on_the_same_name_in_another_subscription_is_not_ours() -> None:
    client = FakeClient()
    post_alert(client, common_alert(target=SERVER_ID.replace("/sub/", "/other/")))
    assert not client.started


def test_rule1_another_dr_operation_running_refuses() -> None:
    client = FakeClient()
    client.put("restore-qlp", "Running")
    resp = post_alert(client, common_alert())
    assert answer(resp)["status"] == "refused"
    assert answer(resp)["reason"] == "failover refused: restore-qlp is already running for this app"
    assert not client.started


def test_rule7_last_automatic_failover_is_passed_to_the_run() -> None:
    client = FakeClient()
    client.put(
        "failover-qlp",
        "Completed",
        input_=json.dumps({"trigger": {"kind": "alert"}}),
        output={"status": "succeeded"},
        created="2026-11-29T08:00:00+00:00",
    )
    post_alert(client, common_alert())
    assert client.started[0][2]["recent_automatic_failovers"] == ["2026-11-29T08:00:00+00:00"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"", "body"),
        ([1, 2], "body"),
        ({"schemaId": "other", "data": {}}, "schemaId"),
        ({"schemaId": "azureMonitorCommonAlertSchema"}, "data"),
        ({"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": "x"}}, "data.essentials"),
        (common_alert("Maybe"), "data.essentials.monitorCondition"),
        (common_alert(alertTargetIDs=[]), "data.essentials.alertTargetIDs"),
        (common_alert(alertTargetIDs=["pg-south"]), "data.essentials.alertTargetIDs"),
        (common_alert(firedDateTime="yesterday"), "data.essentials.firedDateTime"),
        ({**common_alert(), "extra": 1}, "extra"),
        (b"{" + b" " * 70000 + b"}", "body"),
    ],
)
def test_malformed_alerts_are_400_and_start_nothing(body: Any, field: str) -> None:
    client = FakeClient()
    resp = post_alert(client, body)
    assert resp.status_code == 400
    assert answer(resp)["field"] == field
    assert not client.started and not client.events


# ---- Event Grid ------------------------------------------------------------------------------------------
def health_event(state: str = "Unavailable") -> func.EventGridEvent:
    data = {
        "resourceInfo": {
            "id": SERVER_ID + "/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
            "properties": {
                "targetResourceId": SERVER_ID,
                "availabilityState": state,
                "occurredTime": "2026-11-29T11:57:00Z",
                "title": "Server unavailable",
            },
        }
    }
    return func.EventGridEvent(
        id="e1",
        data=data,
        topic="/subscriptions/sub",
        subject=SERVER_ID,
        event_type=alerts.RESOURCE_HEALTH_EVENT,
        event_time=T0,
        data_version="1",
    )


def send_event(client: FakeClient, event: Any) -> None:
    user = registered(names.EVENTGRID_ALERTS)
    asyncio.run(getattr(user, "client_function", user)(event, client=client))


def test_resource_health_unavailable_starts_a_failover() -> None:
    client = FakeClient()
    send_event(client, health_event())
    trigger = client.started[0][2]["trigger"]
    assert trigger["source"] == "resource-health"
    assert trigger["first_signal_at"] == "2026-11-29T11:57:00+00:00"


def test_resource_health_available_reaches_the_running_run() -> None:
    client = FakeClient()
    client.put("failover-qlp", "Running")
    send_event(client, health_event("Available"))
    assert client.events[0][1] == "signal"


def test_unknown_availability_and_other_events_are_ignored() -> None:
    client = FakeClient()
    send_event(client, health_event("Unknown"))
    other = func.EventGridEvent(
        id="e2", data={}, topic="t", subject="s", event_type="Microsoft.Storage.BlobCreated",
        event_time=T0, data_version="1",
    )  # fmt: skip
    send_event(client, other)
    assert not client.started


def test_common_alert_republished_as_a_cloud_event_starts_a_failover() -> None:
    client = FakeClient()
    event = func.CloudEvent(  # type: ignore[attr-defined]
        id="c1", source="/alerts", type="Continuity.Alert", specversion="1.0", time=T0, subject="x",
        datacontenttype="application/json", dataschema=None, data=common_alert(),
    )  # fmt: skip
    send_event(client, event)
    assert client.started[0][2]["trigger"]["source"] == "eventgrid"


# ---- backstop --------------------------------------------------------------------------------------------
def backstop(results: list[Any]) -> tuple[Any, list[float]]:
    settings = load_settings(ENV)
    sleeps: list[float] = []
    answers = iter(results)

    def observe(_: Any) -> tuple[bool, str]:
        value = next(answers)
        if isinstance(value, Exception):
            raise value
        return value  # type: ignore[no-any-return]

    clock = iter(T0 + timedelta(seconds=i) for i in range(10))
    return alerts.backstop_signal(settings, observe, sleeps.append, lambda: next(clock)), sleeps


def test_backstop_raises_the_signal_after_n_consecutive_failures() -> None:
    signal, sleeps = backstop([(False, "public endpoint: 503"), RuntimeError("boom"), (False, "no origin")])
    assert signal is not None
    assert signal.source == "backstop" and signal.state == "fired"
    assert signal.observed_at == T0.isoformat()
    assert signal.summary == "3 consecutive failed health checks: no origin"
    assert sleeps == [10.0, 10.0]


def test_backstop_stays_quiet_when_a_check_passes() -> None:
    signal, _ = backstop([(False, "503"), (True, "healthy")])
    assert signal is None


def test_backstop_signal_targets_the_app_and_starts_a_failover() -> None:
    signal, _ = backstop([(False, "x")] * 3)
    client = FakeClient()
    outcome = asyncio.run(alerts.handle_signal(client, load_settings(ENV), signal))
    assert outcome["status"] == "started"
    assert client.started[0][2]["trigger"]["source"] == "backstop"


def test_a_repeat_of_the_alert_that_started_the_last_run_is_acknowledged() -> None:
    client = FakeClient()
    post_alert(client, common_alert())
    client.put("failover-qlp", "Completed", input_=client.started[0][2], output={"status": "stood-down"})
    resp = post_alert(client, common_alert())
    assert answer(resp)["status"] == "acknowledged"
    assert "already handled alert" in answer(resp)["reason"]
    assert len(client.started) == 1
    post_alert(
        client, common_alert(alertId="/subscriptions/sub/providers/Microsoft.AlertsManagement/alerts/2")
    )
    assert len(client.started) == 2
