"""The incidents API and intake with the fake durable client: opening or joining the app's incident, the
acknowledge / resolve answers (the actor from the principal, 409 when it cannot be delivered), bad input
named, PagerDuty's signed acknowledgement webhook; the incident notifier's audiences."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest

from activities.incidents import audience_secrets, join
from shared import config, names
from shared.config import Secrets, load_settings
from tests.support.durable import FakeClient, call_http, http
from tests.support.settings import FAILOVER_ENV

IID = "incident-qlp-20261129T120000-a1b2"
SECRET = "pd-signing-secret"


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {**FAILOVER_ENV, "CONTINUITY_PAGERDUTY_WEBHOOK_SECRET": SECRET}.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    config.current_secrets.cache_clear()
    yield
    config.current_settings.cache_clear()
    config.current_secrets.cache_clear()


def with_incident(runtime: str = "Running", **custom: Any) -> FakeClient:
    client = FakeClient()
    view = {"id": IID, "severity": "P0", "status": "open", "acknowledged_at": None, **custom}
    client.put(IID, runtime, name=names.INCIDENT_ORCHESTRATOR, custom=view)
    return client


def principal(name: str) -> dict[str, str]:
    claims = {"auth_typ": "aad", "claims": [{"typ": "name", "val": name}], "name_typ": "name"}
    return {"x-ms-client-principal": base64.b64encode(json.dumps(claims).encode()).decode()}


def answer(
    client: FakeClient, action: str, body: Any = None, iid: str = IID, **headers: str
) -> tuple[int, Any]:
    req = http(
        "POST",
        f"/api/incidents/{iid}/{action}",
        body,
        route_params={"id": iid, "action": action},
        headers=dict(headers),
    )
    resp = asyncio.run(call_http(names.HTTP_INCIDENT_ACTION, req, client))
    return resp.status_code, json.loads(resp.get_body())


def test_ack_is_delivered_with_the_principal_as_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")  # Easy Auth on: its principal headers are read
    client = with_incident()
    status, body = answer(client, "ack", {"note": "on it"}, **principal("ops@example.com"))
    assert status == 202 and body == {"id": IID, "delivered": "acknowledge", "by": "ops@example.com"}
    assert client.events == [
        (
            IID,
            "incident",
            {"action": "acknowledge", "by": "ops@example.com", "through": "api", "note": "on it"},
        )
    ]


def test_the_actor_is_never_a_body_field() -> None:
    client = with_incident()
    status, body = answer(client, "ack", {"by": "someone else"})
    assert status == 400 and body["field"] == "by" and client.events == []


def test_answers_that_cannot_be_delivered_are_409_or_404() -> None:
    acked = with_incident(
        acknowledged_at="2026-11-29T12:05:00+00:00", acknowledged_by="ops", status="acknowledged"
    )
    assert answer(acked, "ack")[0] == 409 and acked.events == []
    assert answer(acked, "resolve")[0] == 202  # an acknowledged incident can be resolved
    done = with_incident("Completed", status="resolved")
    status, body = answer(done, "resolve")
    assert status == 409 and "is resolved" in body["reason"] and done.events == []
    assert answer(FakeClient(), "ack")[0] == 404


def test_bad_ids_and_actions_are_named() -> None:
    client = with_incident()
    status, body = answer(client, "ack", iid="failover-qlp-20261129T120000-a1b2")
    assert status == 400 and body["field"] == "id"
    status, body = answer(client, "close")
    assert status == 400 and body["field"] == "action" and client.events == []


def test_incidents_are_listed_and_read() -> None:
    client = with_incident()
    client.put("failover-qlp-x", "Running", name=names.FAILOVER_ORCHESTRATOR)
    resp = asyncio.run(call_http(names.HTTP_INCIDENTS, http("GET", "/api/incidents"), client))
    listed = json.loads(resp.get_body())
    assert [i["id"] for i in listed["incidents"]] == [IID] and listed["incidents"][0]["severity"] == "P0"
    req = http("GET", f"/api/incidents/{IID}", route_params={"id": IID})
    one = json.loads(asyncio.run(call_http(names.HTTP_INCIDENT, req, client)).get_body())
    assert one["links"]["ack"] == f"/api/incidents/{IID}/ack" and one["runtime_status"] == "Running"


def run_join(client: FakeClient, **params: Any) -> dict[str, Any]:
    settings = load_settings(FAILOVER_ENV)
    return asyncio.run(join(client, settings, {"operation": "failover", **params}))


def test_a_run_opens_an_incident_when_none_is_open() -> None:
    client = FakeClient()
    found = run_join(
        client, run_id="failover-qlp-1", severity="P0", reason="a regional outage of tier 1 is P0"
    )
    assert found["opened"] and found["severity"] == "P0" and found["incident_id"].startswith("incident-qlp-")
    (name, iid, started), *_ = client.started
    assert name == names.INCIDENT_ORCHESTRATOR and iid == found["incident_id"] and started["run_id"] == iid
    assert started["incident"]["run"]["run_id"] == "failover-qlp-1"


def test_a_run_joins_the_open_incident_and_raises_its_severity() -> None:
    client = with_incident(severity="P2")
    found = run_join(client, run_id="failover-qlp-2", severity="P0", reason="outage")
    assert found == {
        "incident_id": IID,
        "severity": "P0",
        "opened": False,
        "linked": True,
        "message": f"failover-qlp-2 joins {IID}",
    }
    assert client.events[0][2]["action"] == "link" and client.started == []


def test_a_run_without_severity_opens_nothing() -> None:
    client = FakeClient()
    assert run_join(client, run_id="failback-qlp-1")["incident_id"] == "" and client.started == []


def pagerduty(client: FakeClient, payload: Any, signature: str | None = None) -> tuple[int, Any]:
    raw = json.dumps(payload).encode()
    sig = signature or "v1=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    req = http("POST", "/api/webhooks/pagerduty", raw, headers={"x-pagerduty-signature": f"v1=00,{sig}"})
    resp = asyncio.run(call_http(names.HTTP_PAGERDUTY_WEBHOOK, req, client))
    return resp.status_code, json.loads(resp.get_body())


def acknowledged(key: str = IID) -> dict[str, Any]:
    return {
        "event": {
            "id": "5ac64822",
            "event_type": "incident.acknowledged",
            "resource_type": "incident",
            "agent": {"summary": "On-call Engineer", "type": "user_reference"},
            "data": {"id": "PGR0VU2", "type": "incident", "incident_key": key, "status": "acknowledged"},
        }
    }


def test_pagerduty_acknowledgement_acknowledges_the_incident() -> None:
    client = with_incident()
    status, body = pagerduty(client, acknowledged())
    assert status == 202 and body["status"] == "delivered"
    assert client.events == [
        (
            IID,
            "incident",
            {"action": "acknowledge", "by": "On-call Engineer", "through": "pagerduty", "note": ""},
        )
    ]


def test_pagerduty_webhook_with_a_bad_signature_changes_nothing() -> None:
    client = with_incident()
    status, _ = pagerduty(client, acknowledged(), signature="v1=" + "0" * 64)
    assert status == 401 and client.events == []


def test_pagerduty_other_events_and_other_keys_are_ignored() -> None:
    client = with_incident()
    other = acknowledged()
    other["event"]["event_type"] = "incident.triggered"
    assert pagerduty(client, other)[1]["status"] == "ignored"
    assert pagerduty(client, acknowledged("d3640fbd41094207"))[1]["status"] == "ignored"
    assert client.events == []


def test_pagerduty_malformed_payload_is_400_naming_the_field() -> None:
    bad = acknowledged()
    del bad["event"]["data"]["incident_key"]
    status, body = pagerduty(with_incident(), bad)
    assert status == 400 and body["field"] == "event.data.incident_key"


def test_audiences_choose_their_targets() -> None:
    targets = {"senior": {"pagerduty": "rk-senior", "slack": "https://hooks.slack.example/senior"}}
    secrets = Secrets(
        slack_webhook_url="https://hooks.slack.example/ops",
        webhook_url="https://hook.example",
        pagerduty_routing_key="rk-default",
        escalation_targets=json.dumps(targets),
    )
    senior = audience_secrets(secrets, "level:senior")
    assert (senior.pagerduty_routing_key, senior.slack_webhook_url, senior.webhook_url) == (
        "rk-senior",
        "https://hooks.slack.example/senior",
        None,
    )
    assert audience_secrets(secrets, "level:on-call") == secrets  # not listed: the configured targets
    status = audience_secrets(secrets, "status")
    assert status.webhook_url is None and status.pagerduty_routing_key is None and status.slack_webhook_url
    only = audience_secrets(secrets, "level:senior", pagerduty_only=True)
    assert only == Secrets(pagerduty_routing_key="rk-senior")


def test_pagerduty_is_told_of_an_acknowledgement_by_its_dedup_key() -> None:
    from shared.notify import Message, render_pagerduty

    message = Message.from_dict({"title": "t", "text": "x", "action": "acknowledge", "dedup_key": IID})
    assert render_pagerduty(message, "rk", "qlp") == {
        "routing_key": "rk",
        "event_action": "acknowledge",
        "dedup_key": IID,
    }
