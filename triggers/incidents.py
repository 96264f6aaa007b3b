"""Opening, joining and finding incidents through the durable client (the incident plan:
orchestrators/incident.py).

An incident is its own Durable instance, ``incident-<app>-<UTC stamp>-<token>``, with no lock. At most one
is open per app: a run that opens one while one is open joins it instead (the ``link`` event), so one
incident links every run of the same trouble. Two runs that open one at the same moment both start one;
each then lists the open ones again and the earliest opened wins (shared/policy/incidents.py
``first_opened``): the other run joins it and ends its own as merged into it (the ``merge`` event).
``join`` is what the INCIDENTS_OPEN activity does for a run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared import incidents, names
from shared.config import Settings
from shared.policy import incidents as rules
from triggers import runs


def prefix(app: str) -> str:
    return f"incident-{app}-"


async def all_incidents(client: Any, app: str) -> list[Any]:
    """Durable statuses of the app's incidents, newest first."""
    found = await client.get_status_by(instance_id_prefix=prefix(app))
    mine = [s for s in found if getattr(s, "name", "") == names.INCIDENT_ORCHESTRATOR]
    return sorted(mine, key=lambda s: str(getattr(s, "created_time", "") or ""), reverse=True)


def is_open(status: Any) -> bool:
    """Its instance runs and its view says neither resolved nor merged (then it is only closing)."""
    custom = getattr(status, "custom_status", None)
    said = custom.get("status") if isinstance(custom, dict) else None
    return runs.is_active(status) and said not in incidents.ENDED


async def open_incidents(client: Any, app: str) -> list[Any]:
    """The app's open incidents, earliest opened first (ties by id): more than one only in a race."""
    found = [s for s in await all_incidents(client, app) if is_open(s)]
    return sorted(found, key=lambda s: rules.opened_order(_opened(s)))


async def open_incident(client: Any, app: str) -> Any | None:
    """The app's open incident (the earliest opened that is still open), or None."""
    return next(iter(await open_incidents(client, app)), None)


def _opened(status: Any) -> tuple[datetime | None, str]:
    created = getattr(status, "created_time", None)
    return (created if isinstance(created, datetime) else None), str(status.instance_id)


def incident_view(status: Any) -> dict[str, Any]:
    """An incident's Durable status as API JSON: its view (custom status), runtime status, links."""
    custom = getattr(status, "custom_status", None)
    iid = str(getattr(status, "instance_id", ""))
    view = dict(custom) if isinstance(custom, dict) else {"id": iid}
    view.update(
        id=iid,
        runtime_status=runs.runtime_status(status),
        links={
            "incident": f"/api/incidents/{iid}",
            "ack": f"/api/incidents/{iid}/ack",
            "resolve": f"/api/incidents/{iid}/resolve",
            "postmortem": f"/api/incidents/{iid}/postmortem",
            "report": f"/api/runs/{iid}/report",
        },
    )
    return view


async def join(client: Any, settings: Settings, params: dict[str, Any]) -> dict[str, Any]:
    """Link a run to the app's open incident (raising its severity to the run's), or open one when none
    is open and the run gives a severity; when another was opened at the same moment, the earliest is the
    incident and the one just opened is merged into it. Idempotent: a retried call finds the incident
    (the earliest open), links the run again, which the incident ignores, and merges any later one the
    run opened."""
    app, run_id = settings.app_name, str(params["run_id"])
    found = await open_incidents(client, app)
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
    iid = runs.new_run_id("incident", app)
    spec = {
        "severity": severity,
        "reason": reason,
        "run": {"run_id": run_id, "operation": str(params["operation"]), "reason": reason},
    }
    await client.start_new(
        names.INCIDENT_ORCHESTRATOR, iid, {"settings": settings.to_dict(), "run_id": iid, "incident": spec}
    )
    found = await open_incidents(client, app)  # the post-check: another opened at the same moment?
    if rules.first_opened(iid, [_opened(s) for s in found]).is_(rules.MERGE):
        return await _join_earliest(client, found, params, opened=iid)
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
    run_id, ranked = str(params["run_id"]), [_opened(s) for s in found]
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
