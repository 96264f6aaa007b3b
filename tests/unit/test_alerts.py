"""Alert intake: webhook, Event Grid and the backstop become one signal and at most one failover."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

from shared import config, names
from shared.config import load_settings
from shared.models import HealthSignal
from tests.support.durable import T0, FakeClient, call_http, http, reads_from, registered
from tests.support.settings import FAILOVER_ENV as ENV
from triggers import alerts, deploy_signals

SERVER_ID = (
    "/subscriptions/sub/resourceGroups/rg-south/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-south"
)
OTHER_ID = "/subscriptions/sub/resourceGroups/rg-x/providers/Microsoft.Web/sites/unrelated"


ALERT_LOG: list[tuple[str, dict[str, Any]]] = []  # what the intake remembered (the alerts log)


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    ALERT_LOG.clear()
    deploy_signals._remembered.clear()
    alerts._delivered.clear()
    monkeypatch.setattr(deploy_signals, "append_alert", lambda log, entry: ALERT_LOG.append((log, entry)))
    config.current_settings.cache_clear()
    alerts._primary_cache.clear()
    yield
    config.current_settings.cache_clear()
    alerts._primary_cache.clear()


DEEP: Any = [1]
for _ in range(17):
    DEEP = [DEEP]


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
    started = answer(resp)
    assert (started["status"], started["reason"]) == ("started", f"failover started for {SERVER_ID.lower()}")
    assert re.fullmatch(r"failover-qlp-\d{8}T\d{6}-[0-9a-f]{4}", started["run"])
    name, iid, payload = client.runs()[0]
    assert (name, iid) == (names.FAILOVER_ORCHESTRATOR, started["run"])
    assert client.started[0][:2] == (names.LOCK_ORCHESTRATOR, "lock-qlp")
    assert payload["trigger"]["kind"] == "alert"
    assert payload["trigger"]["first_signal_at"] == "2026-11-29T11:58:00+00:00"
    assert payload["mode"] == "auto" and payload["run_id"] == started["run"]
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


RUNNING = "failover-qlp-20261129T115800-abcd"


def hold_lock(client: FakeClient, run_id: str = RUNNING, operation: str = "failover") -> None:
    held = {"run_id": run_id, "operation": operation, "orchestrator": "x", "input": {}}
    client.put("lock-qlp", "Running", name=names.LOCK_ORCHESTRATOR, input_=held)


def test_resolved_alert_is_delivered_to_the_running_failover() -> None:
    client = FakeClient()
    hold_lock(client)
    resp = post_alert(client, common_alert("Resolved"))
    assert answer(resp)["status"] == "delivered"
    iid, event, data = client.events[0]
    assert (iid, event, data["state"]) == (RUNNING, "signal", "resolved")
    assert not client.started


def test_the_running_failover_hears_each_alert_and_state_once_per_worker() -> None:
    client = FakeClient()
    hold_lock(client)
    other = "/subscriptions/sub/providers/Microsoft.AlertsManagement/alerts/2"  # another rule, one incident

    async def storm() -> list[func.HttpResponse]:
        bodies = [common_alert(alertId=other)] * 20 + [common_alert("Resolved", alertId=other)] * 20
        sent = [call_http(names.HTTP_ALERTS, http("POST", "/api/alerts", b), client) for b in bodies]
        return await asyncio.gather(*sent)

    statuses = [answer(r)["status"] for r in asyncio.run(storm())]
    assert statuses == ["acknowledged"] * 20 + ["delivered"] * 20
    heard = [(iid, data["alert_id"], data["state"]) for iid, _, data in client.events]
    assert heard == [(RUNNING, other, "fired"), (RUNNING, other, "resolved")]  # duplicates: no call
    assert not client.started


def test_a_run_that_ended_as_the_signal_arrived_is_not_an_error() -> None:
    client = FakeClient()
    hold_lock(client)
    client.put(RUNNING, "Completed", name=names.FAILOVER_ORCHESTRATOR)  # the lock has not caught up yet
    resp = post_alert(client, common_alert("Resolved"))
    assert resp.status_code == 202
    assert answer(resp) == {"status": "ignored", "reason": "the alert resolved and no failover is running"}
    assert client.events == []


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
    hold_lock(client, "restore-qlp-20261129T110000-abcd", "restore")
    resp = post_alert(client, common_alert())
    assert answer(resp)["status"] == "refused"
    assert (
        answer(resp)["reason"]
        == "failover refused: restore-qlp-20261129T110000-abcd is already running for this app"
    )
    assert not client.started


def test_rule7_last_automatic_failover_is_passed_to_the_run() -> None:
    client = FakeClient()
    earlier = datetime.now(UTC) - timedelta(hours=4)
    for iid, status, kind in (
        ("a1b2", "succeeded", "alert"),
        ("c3d4", "stood-down", "alert"),
        ("e5f6", "succeeded", "operator"),
    ):
        client.put(
            f"failover-qlp-20261129T080000-{iid}",
            "Completed",
            input_=json.dumps({"trigger": {"kind": kind}}),
            custom={"status": status},
            created=earlier.isoformat(),
        )
    client.put(
        "failover-qlp-20261101T080000-0000",
        "Completed",
        input_=json.dumps({"trigger": {"kind": "alert"}}),
        custom={"status": "succeeded"},
        created=(earlier - timedelta(days=20)).isoformat(),
    )
    post_alert(client, common_alert())
    assert client.runs()[0][2]["recent_automatic_failovers"] == [earlier.isoformat()]


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
        (b'{"schemaId": "\\ud800", "data": {}}', "schemaId"),
        ({"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {"a": DEEP}}}, "data"),
    ],
)
def test_malformed_alerts_are_400_and_start_nothing(body: Any, field: str) -> None:
    client = FakeClient()
    resp = post_alert(client, body)
    assert resp.status_code == 400
    assert answer(resp)["field"] == field
    assert not client.started and not client.events


def test_an_oversized_alert_is_413_and_starts_nothing() -> None:
    client = FakeClient()
    resp = post_alert(client, b"{" + b" " * 70000 + b"}")
    assert (resp.status_code, answer(resp)["field"]) == (413, "body")
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
    trigger = client.runs()[0][2]["trigger"]
    assert trigger["source"] == "resource-health"
    assert trigger["first_signal_at"] == "2026-11-29T11:57:00+00:00"


def test_resource_health_available_reaches_the_running_run() -> None:
    client = FakeClient()
    hold_lock(client)
    send_event(client, health_event("Available"))
    assert client.events[0][:2] == (RUNNING, "signal")


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
    assert client.runs()[0][2]["trigger"]["source"] == "eventgrid"


# ---- the servers that are the primary and replica now ---------------------------------------------------
def server_id(name: str, rg: str = "rg-south") -> str:
    return (
        f"/subscriptions/sub/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}"
    )


def failed_back(observed: list[str]) -> dict[str, Any]:
    """The estate after a failback: pg-south-fb1a2b3c is the primary, pg-west its replica."""
    home = "pg-south-fb1a2b3c"
    servers = {
        "pg-south": {"name": "pg-south", "state": "Stopped", "role": "standalone", "fqdn": "s:5432"},
        "pg-west": {
            "name": "pg-west",
            "state": "Ready",
            "role": "replica",
            "source_server": home,
            "fqdn": "w:5432",
        },
        home: {
            "name": home,
            "state": "Ready",
            "role": "primary",
            "fqdn": "h:5432",
            "created_by_continuity": True,
        },
    }

    def get_server(p: dict[str, Any]) -> dict[str, Any]:
        observed.append(p["server"])
        return {**servers[p["server"]], "resource_group": "rg-south", "exists": True}

    return {
        names.DATABASE_GET_SERVER: get_server,
        names.SECRETS_GET_DATABASE_HOST: lambda p: {"host": "h:5432"},
        names.DATABASE_LIST_SERVERS: lambda p: {"servers": []},
    }


def test_an_alert_on_the_renamed_primary_after_a_failback_starts_a_failover(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    observed: list[str] = []
    monkeypatch.setattr(alerts, "read_now", reads_from(failed_back(observed)))
    client = FakeClient()
    resp = post_alert(client, common_alert(target=server_id("pg-south-fb1a2b3c")))
    assert answer(resp)["status"] == "started", answer(resp)
    assert "pg-south-fb1a2b3c" in observed  # found by observing, not from the settings
    assert len(client.started) == 1


def test_an_alert_on_the_current_replica_is_protected_and_an_unknown_server_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    observed: list[str] = []
    monkeypatch.setattr(alerts, "read_now", reads_from(failed_back(observed)))
    settings = load_settings(ENV)
    replica = HealthSignal(
        "monitor-webhook", "fired", (server_id("pg-west", "rg-west").lower(),), T0.isoformat()
    )
    assert alerts.protected_target(replica, settings) == server_id("pg-west", "rg-west").lower()
    stranger = HealthSignal("monitor-webhook", "fired", (server_id("pg-other").lower(),), T0.isoformat())
    assert alerts.protected_target(stranger, settings) == ""
    calls = len(observed)
    alerts.protected_target(stranger, settings)
    assert len(observed) == calls  # an alert storm observes the estate once: the answer is cached


def test_alerts_on_known_names_or_other_resource_types_read_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_reads(observation: Any) -> Any:
        raise AssertionError("the estate was read")

    monkeypatch.setattr(alerts, "read_now", no_reads)
    client = FakeClient()
    assert answer(post_alert(client, common_alert()))["status"] == "started"
    assert answer(post_alert(FakeClient(), common_alert(target=OTHER_ID)))["status"] == "ignored"


# ---- backstop --------------------------------------------------------------------------------------------
def ticks(results: list[tuple[bool, str]]) -> tuple[list[dict[str, Any]], list[HealthSignal | None]]:
    """The backstop's state and signals after one tick per result, a minute apart."""
    settings, probes, signals = load_settings(ENV), [], []
    for i, (ok, detail) in enumerate(results):
        probes, signal = alerts.backstop_tick(settings, probes, ok, detail, T0 + timedelta(minutes=i))
        signals.append(signal)
    return probes, signals


def test_backstop_raises_the_signal_after_n_consecutive_failed_ticks() -> None:
    probes, signals = ticks(
        [(False, "public endpoint: 503"), (False, "check failed: boom"), (False, "no origin")]
    )
    assert signals[:2] == [None, None]
    signal = signals[2]
    assert signal is not None
    assert signal.source == "backstop" and signal.state == "fired"
    assert signal.observed_at == T0.isoformat()
    assert signal.summary == "3 consecutive failed health checks: no origin"
    assert signal.alert_id == f"backstop:qlp:{T0.isoformat()}"
    assert len(probes) == 3  # only the last N ticks are kept


def test_backstop_stays_quiet_when_a_check_passes_and_the_same_incident_keeps_its_id() -> None:
    _, signals = ticks([(False, "503"), (True, "healthy"), (False, "503"), (False, "503")])
    assert signals == [None, None, None, None]
    _, signals = ticks([(False, "x")] * 5)
    assert [s.alert_id if s else None for s in signals][2:] == [
        f"backstop:qlp:{(T0 + timedelta(minutes=m)).isoformat()}" for m in (0, 1, 2)
    ]


def test_backstop_signal_targets_the_app_and_starts_a_failover() -> None:
    _, signals = ticks([(False, "x")] * 3)
    client = FakeClient()
    outcome = asyncio.run(alerts.handle_signal(client, load_settings(ENV), signals[-1]))  # type: ignore[arg-type]
    assert outcome["status"] == "started"
    assert client.runs()[0][2]["trigger"]["source"] == "backstop"


def test_a_repeat_of_the_alert_that_started_the_last_run_is_acknowledged() -> None:
    client = FakeClient()
    first = answer(post_alert(client, common_alert()))["run"]
    _, run_id, payload = client.runs()[0]
    client.put("lock-qlp", "Completed", name=names.LOCK_ORCHESTRATOR, input_=client.started[0][2])
    client.put(run_id, "Completed", name=names.FAILOVER_ORCHESTRATOR, input_=payload,
               custom={"status": "stood-down"}, created=datetime.now(UTC).isoformat())  # fmt: skip
    resp = post_alert(client, common_alert())
    assert answer(resp)["status"] == "acknowledged"
    assert (
        answer(resp)["reason"] == f"{first} already handled alert {payload['trigger']['signal']['alert_id']}"
    )
    assert len(client.started) == 1
    post_alert(
        client, common_alert(alertId="/subscriptions/sub/providers/Microsoft.AlertsManagement/alerts/2")
    )
    assert len(client.runs()) == 2


def test_the_estate_is_observed_again_once_the_apps_lock_has_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An observation cached before a DR operation started or ended (a failback renames the primary) is
    not reused: an alert on the new primary right after a failback is not ignored."""
    observed: list[str] = []
    monkeypatch.setattr(alerts, "read_now", reads_from(failed_back(observed)))
    settings = load_settings(ENV)
    before = (time.monotonic(), {"pg-south", "pg-west"}, "Running@2026-12-02T10:00:00+00:00")
    alerts._primary_cache[settings.app_name] = before
    home_id = server_id("pg-south-fb1a2b3c").lower()
    home = HealthSignal("monitor-webhook", "fired", (home_id,), T0.isoformat())
    assert alerts.protected_target(home, settings, before[2]) == ""  # the same generation: cached
    assert observed == []
    assert alerts.protected_target(home, settings, "Completed@2026-12-02T10:05:00+00:00") == home_id
    assert "pg-south-fb1a2b3c" in observed
