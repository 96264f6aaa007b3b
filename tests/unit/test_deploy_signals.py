"""The alert intake with deployments: container signals are not outages, a failover preempts a deploy
(rule 12), and every protected signal is remembered (no deploy while one fires)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared import config, names
from shared.models import HealthSignal
from tests.support.durable import FakeClient, call_http, http, reads_from
from tests.support.settings import FAILOVER_ENV as ENV
from triggers import alerts, deploy_signals

SUB = "/subscriptions/sub/resourceGroups/rg-south/providers"
SERVER_ID = f"{SUB}/Microsoft.DBforPostgreSQL/flexibleServers/pg-south"
GROUP_ID = f"{SUB}/Microsoft.ContainerInstance/containerGroups/aci-green"
DEPLOY = "deploy-qlp-20261129T115800-abcd"
REMEMBERED: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    alerts._primary_cache.clear()
    REMEMBERED.clear()
    deploy_signals._remembered.clear()
    monkeypatch.setattr(deploy_signals, "append_alert", lambda log, entry: REMEMBERED.append((log, entry)))
    yield
    config.current_settings.cache_clear()


def alert(target: str, condition: str = "Fired", alert_id: str = "a-1") -> dict[str, Any]:
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": alert_id,
                "alertRule": "availability",
                "monitorCondition": condition,
                "alertTargetIDs": [target],
                "firedDateTime": "2026-11-29T11:58:00Z",
                "resolvedDateTime": "2026-11-29T11:59:00Z",
            }
        },
    }


def post(client: FakeClient, body: Any) -> dict[str, Any]:
    resp = asyncio.run(call_http(names.HTTP_ALERTS, http("POST", "/api/alerts", body), client))
    assert resp.status_code == 202
    return json.loads(resp.get_body())  # type: ignore[no-any-return]


def hold(client: FakeClient, operation: str = "deploy", run_id: str = DEPLOY, **custom: Any) -> None:
    held = {"run_id": run_id, "operation": operation, "orchestrator": "x", "input": {}}
    client.put("lock-qlp", "Running", name=names.LOCK_ORCHESTRATOR, input_=held, custom={**held, **custom})


def test_a_container_alert_outside_a_deploy_starts_container_recovery_not_a_failover() -> None:
    client = FakeClient()
    answer = post(client, alert(GROUP_ID))
    assert answer["status"] == "started" and answer["reason"] == "container recovery started for aci-green"
    ((orchestrator, run_id, payload),) = client.runs()
    assert orchestrator == names.CONTAINER_RECOVERY_ORCHESTRATOR and run_id.startswith(
        "container-recovery-qlp-"
    )
    assert payload["group"] == "aci-green" and payload["trigger"]["signal"]["alert_id"] == "a-1"


def test_a_container_alert_during_a_deploy_goes_to_its_analysis() -> None:
    client = FakeClient()
    hold(client)
    answer = post(client, alert(GROUP_ID))
    assert answer["status"] == "delivered" and client.started == []
    ((iid, event, data),) = client.events
    assert (iid, event, list(data["resource_ids"])) == (DEPLOY, "signal", [GROUP_ID.lower()])


def test_a_container_alert_while_another_operation_runs_is_noted() -> None:
    client = FakeClient()
    hold(client, "failover", "failover-qlp-1")
    assert post(client, alert(GROUP_ID))["status"] == "acknowledged" and client.events == []
    standby = GROUP_ID.replace("aci-green", "aci-standby")
    assert (
        post(FakeClient(), alert(standby, alert_id="s"))["reason"]
        == "aci-standby is the DR standby: it serves no traffic"
    )


def test_a_database_outage_during_a_deploy_queues_the_failover_to_preempt_it() -> None:
    client = FakeClient()
    hold(client)
    answer = post(client, alert(SERVER_ID))
    assert answer["status"] == "preempting" and answer["preempts"] == DEPLOY
    assert client.started == []  # the lock is never released: it runs the failover next
    (lock, event, queued), (deploy, event2, told) = client.events
    assert (lock, event, deploy, event2) == ("lock-qlp", "preempt", DEPLOY, "preempt")
    assert queued["run_id"] == answer["run"] == told["run_id"] and queued["operation"] == "failover"
    assert queued["orchestrator"] == names.FAILOVER_ORCHESTRATOR
    assert queued["input"]["run_id"] == answer["run"] and queued["input"]["trigger"]["kind"] == "alert"
    assert "input" not in told and told["reason"] == "availability"


def test_a_database_outage_during_a_drill_queues_the_failover_behind_it() -> None:
    client = FakeClient()
    hold(client, "drill", "drill-qlp-1")
    answer = post(client, alert(SERVER_ID))
    assert answer["status"] == "preempting" and answer["preempts"] == "drill-qlp-1" and client.started == []
    assert [(iid, event) for iid, event, _ in client.events] == [
        ("lock-qlp", "preempt"),
        ("drill-qlp-1", "preempt"),
    ]
    refused = FakeClient()
    hold(refused, "restore-test", "restore-test-qlp-1")  # not preemptible: rule 1 refuses, as before
    assert post(refused, alert(SERVER_ID))["status"] != "preempting"


def test_a_second_outage_alert_while_the_failover_is_queued_is_acknowledged() -> None:
    client = FakeClient()
    hold(client, next={"run_id": "failover-qlp-9", "operation": "failover"})
    answer = post(client, alert(SERVER_ID, alert_id="a-2"))
    assert (answer["status"], answer["run"]) == ("acknowledged", "failover-qlp-9") and client.events == []


class ReleasingClient(FakeClient):
    """The deploy ends (and the lock with it) just as the preemption is raised."""

    async def raise_event(self, iid: str, event: str, data: Any) -> None:
        await super().raise_event(iid, event, data)
        self.put("lock-qlp", "Completed", name=names.LOCK_ORCHESTRATOR, input_={})


def test_a_preemption_that_finds_the_lock_released_starts_the_failover_itself() -> None:
    client = ReleasingClient()
    hold(client)
    answer = post(client, alert(SERVER_ID))
    assert answer["status"] == "preempting"
    assert [name for name, _, _ in client.runs()] == [names.FAILOVER_ORCHESTRATOR]


def test_every_protected_signal_is_remembered_once_per_state() -> None:
    client = FakeClient()
    post(client, alert(SERVER_ID))
    post(client, alert(SERVER_ID))
    post(client, alert(SERVER_ID, "Resolved"))
    assert [(log, e["alert_id"], e["state"]) for log, e in REMEMBERED] == [
        ("alerts-qlp", "a-1", "fired"),
        ("alerts-qlp", "a-1", "resolved"),
    ]
    post(client, alert(f"{SUB}/Microsoft.Web/sites/other", alert_id="x"))
    assert len(REMEMBERED) == 2  # not a protected resource: not the app's alert


# ---- the health backstop: a failing live slot in a healthy region is a container fault --------------------
BACKSTOP = HealthSignal(
    source="backstop",
    state="fired",
    resource_ids=("backstop:qlp",),
    observed_at="2026-11-29T11:58:00+00:00",
    summary="3 consecutive failed health checks: public endpoint: status 502",
    alert_id="backstop:qlp:t",
)


def server(name: str, up: bool) -> dict[str, Any]:
    role, source = ("primary", None) if name == "pg-south" else ("replica", "pg-south")
    host = {"pg-south": "10.1.0.1:5432", "pg-west": "10.2.0.1:5432"}[name]
    state = "Ready" if up else "Stopped"
    return {"name": name, "exists": True, "state": state, "role": role, "source_server": source, "fqdn": host}


def estate_reads(*, database: bool = True, slot_answers: bool = False) -> dict[str, Any]:
    return {
        names.DATABASE_GET_SERVER: lambda p: server(p["server"], database),
        names.SECRETS_GET_DATABASE_HOST: lambda p: {"host": "10.1.0.1:5432"},
        names.TRAFFIC_GET_ROUTE: lambda p: {"origin_group": "og-blue"},
        names.CONTAINERS_GET_GROUP: lambda p: {
            "group": p["group"],
            "state": "Running",
            "url": "http://10.0.0.1:8000",
        },
        names.PROBE_HTTP: lambda p: {
            "url": p["url"],
            "ok": slot_answers,
            "status": 200 if slot_answers else 0,
        },
    }


def test_the_backstop_signal_becomes_a_container_fault_when_only_the_live_slot_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = config.load_settings(ENV)
    monkeypatch.setattr(deploy_signals, "read_now", reads_from(estate_reads()))
    fault = deploy_signals.container_fault(settings, BACKSTOP)
    assert fault.resource_ids == (f"{SUB}/Microsoft.ContainerInstance/containerGroups/aci-blue".lower(),)
    assert fault.summary.endswith("the live slot aci-blue fails while the database and its region answer")
    client = FakeClient()
    outcome = asyncio.run(alerts.handle_signal(client, settings, fault))
    assert outcome["status"] == "started" and client.runs()[0][0] == names.CONTAINER_RECOVERY_ORCHESTRATOR


def test_the_backstop_signal_stays_an_outage_when_the_database_or_the_slot_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = config.load_settings(ENV)
    for reads in (estate_reads(database=False), estate_reads(slot_answers=True)):
        monkeypatch.setattr(deploy_signals, "read_now", reads_from(reads))
        assert deploy_signals.container_fault(settings, BACKSTOP) == BACKSTOP
