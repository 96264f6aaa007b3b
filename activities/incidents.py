"""Activities of incidents (contracts in shared/names.py): open or join the app's incident, notify an
incident's audience, write its post-mortem draft.

INCIDENTS_OPEN takes the durable client binding (as any function on Azure may): it starts the incident's
own instance or raises the ``link`` event on the open one (``join``). At most one incident is open per app:
a run that opens one while one is open joins it instead, so one incident links every run of the same
trouble. Two runs that open one at the same moment both start one; each then lists the open ones again and
the earliest opened wins (shared/policy/incidents.py ``first_opened``): the other run joins it and ends
its own as merged into it (the ``merge`` event).
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
from shared import incident_instances as finder
from shared import incidents, instances, names
from shared.config import Secrets, Settings, current_secrets, current_settings
from shared.errors import PermanentError
from shared.policy import incidents as rules

bp = df.Blueprint()
AUDIENCES = ("default", "status")


@bp.function_name(names.INCIDENTS_OPEN)
@bp.activity_trigger(input_name="params")
@bp.durable_client_input(client_name="client")
async def incidents_open(params: dict[str, Any], client: Any) -> dict[str, Any]:
    """Join the app's open incident or open one (idempotent: a retry links the same run again)."""
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


# ---- opening and joining --------------------------------------------------------------------------------
async def join(client: Any, settings: Settings, params: dict[str, Any]) -> dict[str, Any]:
    """Link a run to the app's open incident (raising its severity to the run's), or open one when none
    is open and the run gives a severity; when another was opened at the same moment, the earliest is the
    incident and the one just opened is merged into it. Idempotent: a retried call finds the incident
    (the earliest open), links the run again, which the incident ignores, and merges any later one the
    run opened."""
    app, run_id = settings.app_name, str(params["run_id"])
    found = await finder.open_incidents(client, app)
    if found:
        return await _join_earliest(client, found, params)
    severity, reason = str(params.get("severity") or ""), str(params.get("reason") or "")
    if not severity:
        return {
            "incident_id": "",
            "severity": "",
            "opened": False,
            "linked": False,
            "message": "no open incident",
        }
    iid = instances.new_run_id("incident", app)
    spec = {
        "severity": severity,
        "reason": reason,
        "run": {"run_id": run_id, "operation": str(params["operation"]), "reason": reason},
    }
    start = {"settings": settings.to_dict(), "run_id": iid, "incident": spec, "settle": True}
    await client.start_new(names.INCIDENT_ORCHESTRATOR, iid, start)
    found = await finder.open_incidents(client, app)  # the post-check: another opened at the same moment?
    if rules.first_opened(iid, [finder.opened(s) for s in found]).is_(rules.MERGE):
        return await _join_earliest(client, found, params, opened=iid)  # merged before it paged anyone
    await client.raise_event(iid, incidents.KEPT, {"by": run_id})  # not a duplicate: it pages now
    return {
        "incident_id": iid,
        "severity": severity,
        "opened": True,
        "linked": True,
        "message": f"{severity} incident {iid} opened by {run_id}",
    }


async def _join_earliest(
    client: Any, found: list[Any], params: dict[str, Any], *, opened: str = ""
) -> dict[str, Any]:
    """Link the run to the earliest of the open incidents ``found``, then merge into it each later one
    that is the run's: ``opened`` just now, or listing the run (opened by an attempt that failed before
    its merge was sent)."""
    winner, *later = found
    joined = await _link(client, winner, params)
    run_id, ranked = str(params["run_id"]), [finder.opened(s) for s in found]
    message = joined["message"]
    for status in later:
        iid, custom = str(status.instance_id), getattr(status, "custom_status", None)
        if iid != opened and run_id not in ((custom if isinstance(custom, dict) else {}).get("runs") or []):
            continue
        race = rules.first_opened(iid, ranked)
        merge = {"action": "merge", "into": race.value, "by": "continuity", "note": race.reason}
        await client.raise_event(iid, incidents.EVENT, merge)
        message += f": {race.reason}"
    return {**joined, "message": message}


async def _link(client: Any, current: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Raise ``link`` with the run on the open incident ``current``; its severity raised to the run's."""
    iid, run_id = str(current.instance_id), str(params["run_id"])
    severity = str(params.get("severity") or "")
    known = str((getattr(current, "custom_status", None) or {}).get("severity") or "")
    link = {
        "action": "link",
        "run_id": run_id,
        "operation": str(params["operation"]),
        "severity": severity,
        "reason": str(params.get("reason") or ""),
    }
    await client.raise_event(iid, incidents.EVENT, link)
    return {
        "incident_id": iid,
        "severity": rules.highest(known, severity) if severity else known,
        "opened": False,
        "linked": True,
        "message": f"{run_id} joins {iid}",
    }
