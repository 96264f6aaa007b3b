"""The operator API over incidents: list them, read one, acknowledge or resolve it, read its post-mortem
draft; and PagerDuty's v3 webhook, whose ``incident.acknowledged`` acknowledges the incident it paged for.

An acknowledgement stops the escalation; a resolution ends the incident (one last status update, the
post-mortem draft); an incident merged into another (opened at the same moment) takes neither (409). Who
acknowledged or resolved is the authenticated principal (or PagerDuty's agent, from a webhook whose
signature verifies), never a body field.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import incident_instances as finder
from shared import incidents, instances, names, policy
from shared.azure import runtime
from shared.config import current_secrets, current_settings
from triggers.api import endpoint
from triggers.web import (
    BadRequest,
    Body,
    Field,
    Param,
    Query,
    actor_of,
    json_response,
    read_json,
    run_id_of,
)

bp = df.Blueprint()

ACTIONS = {"ack": "acknowledge", "resolve": "resolve"}
ANSWER = Body(
    Field("note", doc="why, or what was done (goes in the incident and its post-mortem)"), required=False
)
LIST_QUERY = Query(Param("status", "open (default: every incident)", ("open", "all")))
READS = {200: "found", 400: "invalid request: the field and the problem", 404: "no such incident"}
PAGERDUTY_ACK = "incident.acknowledged"


def incident_view(status: Any) -> dict[str, Any]:
    """An incident's Durable status as API JSON: its view (custom status), runtime status, links."""
    custom = getattr(status, "custom_status", None)
    iid = str(getattr(status, "instance_id", ""))
    view = dict(custom) if isinstance(custom, dict) else {"id": iid}
    view.update(
        id=iid,
        runtime_status=instances.runtime_status(status),
        links={
            "incident": f"/api/incidents/{iid}",
            "ack": f"/api/incidents/{iid}/ack",
            "resolve": f"/api/incidents/{iid}/resolve",
            "postmortem": f"/api/incidents/{iid}/postmortem",
            "report": f"/api/runs/{iid}/report",
        },
    )
    return view


def incident_id_of(req: func.HttpRequest) -> str:
    value = run_id_of(req)
    if not value.startswith("incident-"):
        raise BadRequest("id", "must be an incident id (incident-<app>-<stamp>-<token>)")
    return value


async def find(client: Any, iid: str) -> Any | None:
    status = await client.get_status(iid)
    if instances.runtime_status(status) and getattr(status, "name", "") == names.INCIDENT_ORCHESTRATOR:
        return status
    return None


def _report(iid: str) -> dict[str, Any]:
    try:
        return runtime.storage().read_report(iid)
    except Exception:
        return {"found": False}


@endpoint(
    bp,
    names.HTTP_INCIDENTS,
    "GET",
    "incidents",
    query=LIST_QUERY,
    responses={200: "the incidents, newest first", 400: "invalid request"},
    tag="incidents",
    summary="The app's incidents, newest first (status=open: the open one)",
)
async def http_incidents(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    only_open = LIST_QUERY.parse(req).get("status") == "open"
    settings = current_settings()
    found = await finder.all_incidents(client, settings.app_name)
    views = [incident_view(s) for s in found if finder.is_open(s) or not only_open]
    return json_response({"incidents": views, "count": len(views)})


@endpoint(
    bp,
    names.HTTP_INCIDENT,
    "GET",
    "incidents/{id}",
    responses=READS,
    tag="incidents",
    summary="One incident: severity, status, escalation level, linked runs, response SLA, post-mortem",
)
async def http_incident(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    iid = incident_id_of(req)
    status = await find(client, iid)
    if status is not None:
        return json_response(incident_view(status))
    found = await asyncio.to_thread(_report, iid)  # the Durable record was purged: its report
    record = (found.get("report") or {}).get("incident") if found.get("found") else None
    if not isinstance(record, dict):
        return json_response({"error": "not found", "id": iid}, 404)
    return json_response({**incidents.view(record), "runtime_status": "Completed"})


def refusal(action: str, view: dict[str, Any], active: bool) -> str:
    """Why ``action`` cannot be delivered to the incident now ('' when it can)."""
    iid = view.get("id")
    if view.get("status") == "merged":
        return f"incident {iid} was merged into {view.get('merged_into')}: nothing to {action} here"
    if not active or view.get("status") == "resolved":
        return f"incident {iid} is resolved: nothing to {action}"
    if action == "acknowledge" and view.get("acknowledged_at"):
        return f"incident {iid} was already acknowledged by {view.get('acknowledged_by')}"
    return ""


@endpoint(
    bp,
    names.HTTP_INCIDENT_ACTION,
    "POST",
    "incidents/{id}/{action}",
    body=ANSWER,
    path={"action": tuple(ACTIONS)},
    role=policy.OPERATOR,
    tag="incidents",
    responses={
        202: "delivered to the incident",
        400: "invalid request",
        404: "no such incident",
        409: "the incident is resolved (or already acknowledged)",
        413: "body too large",
    },
    summary="Acknowledge an incident (stops the escalation) or resolve it (ends it: post-mortem draft)",
)
async def http_incident_action(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    iid = incident_id_of(req)
    verb = str(req.route_params.get("action", ""))
    if verb not in ACTIONS:
        raise BadRequest("action", "must be ack or resolve")
    note = ANSWER.parse(req)["note"] or ""
    status = await find(client, iid)
    if status is None:
        return json_response({"error": "not found", "id": iid}, 404)
    action, view = ACTIONS[verb], incident_view(status)
    refused = refusal(action, view, instances.is_active(status))
    if refused:
        return json_response({"error": "conflict", "reason": refused}, 409)
    by = actor_of(req)
    await client.raise_event(
        iid, incidents.EVENT, {"action": action, "by": by, "through": "api", "note": note}
    )
    return json_response({"id": iid, "delivered": action, "by": by}, 202)


@endpoint(
    bp,
    names.HTTP_INCIDENT_POSTMORTEM,
    "GET",
    "incidents/{id}/postmortem",
    client=False,
    tag="incidents",
    responses={**READS, 404: "no post-mortem draft (the incident is not resolved, or unknown)"},
    summary="The post-mortem draft of a resolved incident (Markdown)",
)
async def http_incident_postmortem(req: func.HttpRequest) -> func.HttpResponse:
    iid = incident_id_of(req)
    text = await asyncio.to_thread(_postmortem, iid)
    if text is None:
        return json_response({"error": "not found", "id": iid, "reason": "no post-mortem draft yet"}, 404)
    return func.HttpResponse(text, mimetype="text/markdown", charset="utf-8")


def _postmortem(iid: str) -> str | None:
    try:
        return runtime.storage().read_document(iid, "postmortem.md")
    except Exception:
        return None


# ---- PagerDuty's v3 webhook --------------------------------------------------------------------------------
def signature_valid(body: bytes, header: str, secret: str) -> bool:
    """PagerDuty v3: ``X-PagerDuty-Signature`` holds ``v1=<hex HMAC-SHA256 of the raw body>`` values,
    comma separated (several during a secret rotation); one match is enough (constant-time compare)."""
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s.strip()) for s in header.split(","))


def pagerduty_ack(body: dict[str, Any]) -> tuple[str, str]:
    """(incident key, agent) of an ``incident.acknowledged`` webhook; ('', reason) for other events;
    raises BadRequest naming the bad field."""
    event = body.get("event")
    if not isinstance(event, dict):
        raise BadRequest("event", "must be a JSON object (a PagerDuty v3 webhook payload)")
    kind = event.get("event_type")
    if not isinstance(kind, str) or not kind:
        raise BadRequest("event.event_type", "must be a non-empty string")
    if kind != PAGERDUTY_ACK:
        return "", f"{kind} is not an acknowledgement"
    data = event.get("data")
    key = data.get("incident_key") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key:
        raise BadRequest("event.data.incident_key", "must be the incident key (Continuity's dedup key)")
    agent = event.get("agent")
    who = agent.get("summary") if isinstance(agent, dict) else None
    return key, str(who or "PagerDuty")[:100]


@endpoint(
    bp,
    names.HTTP_PAGERDUTY_WEBHOOK,
    "POST",
    "webhooks/pagerduty",
    tag="incidents",
    responses={
        202: "acted on or acknowledged, with the reason",
        400: "not a PagerDuty v3 webhook payload",
        401: "the signature does not verify",
        413: "body too large",
    },
    summary="PagerDuty v3 webhook: incident.acknowledged acknowledges the incident it paged for",
)
async def http_pagerduty_webhook(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    secret = current_secrets().pagerduty_webhook_secret
    raw = req.get_body() or b""
    if secret and not signature_valid(raw, req.headers.get("x-pagerduty-signature", ""), secret):
        return json_response(
            {"error": "unauthorized", "reason": "X-PagerDuty-Signature does not verify"}, 401
        )
    key, agent = pagerduty_ack(read_json(req))
    if not key:
        return json_response({"status": "ignored", "reason": agent}, 202)
    status = await find(client, key) if key.startswith("incident-") else None
    if status is None:
        return json_response({"status": "ignored", "reason": f"{key} is not an incident of this app"}, 202)
    refused = refusal("acknowledge", incident_view(status), instances.is_active(status))
    if refused:
        return json_response({"status": "ignored", "reason": refused}, 202)
    ack = {"action": "acknowledge", "by": agent, "through": "pagerduty", "note": ""}
    await client.raise_event(key, incidents.EVENT, ack)
    return json_response(
        {"status": "delivered", "reason": f"acknowledged by {agent} in PagerDuty", "id": key}, 202
    )
