"""The app's incidents as Durable instances, found through the durable client (the incident plan:
orchestrators/incident.py; opening and joining one: activities/incidents.py ``join``).

An incident is its own Durable instance, ``incident-<app>-<UTC stamp>-<token>``, with no lock; it is open
while its instance runs and its view says neither resolved nor merged. More than one is open only in a
race between two runs that opened one at the same moment: the earliest opened is the incident
(shared/policy/incidents.py ``first_opened``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared import incidents, instances, names
from shared.policy import incidents as rules


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
    return instances.is_active(status) and said not in incidents.ENDED


async def open_incidents(client: Any, app: str) -> list[Any]:
    """The app's open incidents, earliest opened first (ties by id): more than one only in a race."""
    found = [s for s in await all_incidents(client, app) if is_open(s)]
    return sorted(found, key=lambda s: rules.opened_order(opened(s)))


def opened(status: Any) -> tuple[datetime | None, str]:
    created = getattr(status, "created_time", None)
    return (created if isinstance(created, datetime) else None), str(status.instance_id)
