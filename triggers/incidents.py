"""Opening, joining and finding incidents through the durable client (the incident plan:
orchestrators/incident.py).

An incident is its own Durable instance, ``incident-<app>-<UTC stamp>-<token>``, with no lock. At most one
is open per app: a run that opens one while one is open joins it instead (the ``link`` event), so one
incident links every run of the same trouble. ``join`` is what the INCIDENTS_OPEN activity does for a run.
"""

from __future__ import annotations

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


async def open_incident(client: Any, app: str) -> Any | None:
    """The app's open incident (the newest that still runs), or None."""
    return next((s for s in await all_incidents(client, app) if runs.is_active(s)), None)


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
    is open and the run gives a severity. Idempotent: a retried call finds the incident it opened and
    links the run again, which the incident ignores."""
    app = settings.app_name
    run_id, operation = str(params["run_id"]), str(params["operation"])
    severity, reason = str(params.get("severity") or ""), str(params.get("reason") or "")
    current = await open_incident(client, app)
    if current is not None:
        iid = str(current.instance_id)
        known = str((getattr(current, "custom_status", None) or {}).get("severity") or "")
        link = {
            "action": "link",
            "run_id": run_id,
            "operation": operation,
            "severity": severity,
            "reason": reason,
        }
        await client.raise_event(iid, incidents.EVENT, link)
        raised = rules.highest(known, severity) if severity else known
        return {
            "incident_id": iid,
            "severity": raised,
            "opened": False,
            "linked": True,
            "message": f"{run_id} joins {iid}",
        }
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
        "run": {"run_id": run_id, "operation": operation, "reason": reason},
    }
    await client.start_new(
        names.INCIDENT_ORCHESTRATOR, iid, {"settings": settings.to_dict(), "run_id": iid, "incident": spec}
    )
    return {
        "incident_id": iid,
        "severity": severity,
        "opened": True,
        "linked": True,
        "message": f"{severity} incident {iid} opened by {run_id}",
    }
