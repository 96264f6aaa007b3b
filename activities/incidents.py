"""Activities of incidents (contracts in shared/names.py): open or join the app's incident, notify an
incident's audience, write its post-mortem draft.

INCIDENTS_OPEN takes the durable client binding (as any function on Azure may): it starts the incident's
own instance or raises the ``link`` event on the open one (triggers/incidents.py ``join``).
Audiences of INCIDENTS_NOTIFY: ``default`` (the configured targets), ``level:<name>`` (that escalation
level's targets from ESCALATION_TARGETS; a level not listed there: the configured targets), ``status``
(Slack, Teams and the status page webhook, which receives shared/incidents.py ``status_page_body``).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import azure.durable_functions as df

from activities._params import Params, done
from activities.registry import activity
from shared import names
from shared.config import Secrets, current_secrets, current_settings
from shared.errors import PermanentError

bp = df.Blueprint()
AUDIENCES = ("default", "status")


@bp.function_name(names.INCIDENTS_OPEN)
@bp.activity_trigger(input_name="params")
@bp.durable_client_input(client_name="client")
async def incidents_open(params: dict[str, Any], client: Any) -> dict[str, Any]:
    """Join the app's open incident or open one (idempotent: a retry links the same run again)."""
    from triggers.incidents import join

    p = Params(names.INCIDENTS_OPEN, params)
    p.text("run_id"), p.text("operation")
    severity = p.opt_text("severity")
    if severity is not None and severity not in ("P0", "P1", "P2", "P3"):
        raise PermanentError("validate input of", p.activity, "severity: must be P0, P1, P2 or P3")
    return done(p.activity, await join(client, current_settings(), dict(p.data)))


def audience_secrets(secrets: Secrets, audience: str, *, pagerduty_only: bool = False) -> Secrets:
    """The targets of an audience, as Secrets the notifier sends to."""
    chosen = secrets
    if audience == "status":
        chosen = dataclasses.replace(secrets, webhook_url=None, pagerduty_routing_key=None)
    elif audience.startswith("level:"):
        levels = json.loads(secrets.escalation_targets or "{}")
        targets = levels.get(audience.removeprefix("level:"))
        if targets is not None:
            chosen = dataclasses.replace(
                secrets,
                slack_webhook_url=targets.get("slack"),
                teams_webhook_url=targets.get("teams"),
                webhook_url=targets.get("webhook"),
                pagerduty_routing_key=targets.get("pagerduty"),
            )
    if pagerduty_only:
        return Secrets(pagerduty_routing_key=chosen.pagerduty_routing_key)
    return chosen


@activity(bp, names.INCIDENTS_NOTIFY)
def incidents_notify(params: dict[str, Any]) -> dict[str, Any]:
    """Send an incident's message to its audience; a status update also goes to the status page."""
    from shared import notify

    p = Params(names.INCIDENTS_NOTIFY, params)
    audience = p.text("audience")
    if audience not in AUDIENCES and not audience.startswith("level:"):
        raise PermanentError("validate input of", p.activity, "audience: default, status or level:<name>")
    try:
        message = notify.Message.from_dict(p.mapping("message"))
    except ValueError as exc:
        raise PermanentError("validate input of", p.activity, str(exc)) from None
    settings, secrets = current_settings(), current_secrets()
    chosen = audience_secrets(secrets, audience, pagerduty_only=p.flag("pagerduty_only"))
    result = notify.send(message, settings, chosen)
    body = p.mapping("status_update")
    if audience == "status" and body and secrets.status_page_webhook_url:
        error = notify._deliver(
            notify.urllib_post, secrets.status_page_webhook_url, body, settings.notify_timeout_seconds
        )
        if error is None:
            result["sent"].append("status-page")
        else:
            result["failed"].append({"target": "status-page", "error": error})
    return done(p.activity, {**result, "message": f"{audience}: sent to {result['sent'] or 'nobody'}"})


@activity(bp, names.INCIDENTS_WRITE_POSTMORTEM)
def incidents_write_postmortem(params: dict[str, Any]) -> dict[str, Any]:
    """Render the post-mortem draft from the incident and its runs' reports; write it beside the
    incident's report (``runs/<incident id>/postmortem.md``; written once)."""
    from shared import postmortem
    from shared.azure import runtime

    p = Params(names.INCIDENTS_WRITE_POSTMORTEM, params)
    incident = p.mapping("incident")
    iid = str(incident.get("id") or "")
    if not iid:
        raise PermanentError("validate input of", p.activity, "incident.id: required")
    storage = runtime.storage()
    reports = []
    for linked in incident.get("runs") or []:
        found = storage.read_report(str(linked.get("run_id")))
        if found.get("found"):
            reports.append({**found["report"], "run_id": found["run_id"]})
    markdown = postmortem.render(incident, reports)
    written = storage.write_document(iid, "postmortem.md", markdown)
    return done(
        p.activity, {**written, "markdown": markdown[:2000], "message": f"post-mortem {written['blob']}"}
    )
