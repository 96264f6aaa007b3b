"""The alerts of one incident, as a failover run hears them: each alert's latest state, and whether every
alert heard has resolved.

An incident can raise several alerts (alert rules on the primary, Resource Health, the backstop). Each
is keyed by what its fired and resolved notifications share: the common alert schema's ``alertId`` (an
Azure Monitor alert instance fires once and resolves once; when it flaps, the next firing is a new
instance with a new id), and the target resource for Resource Health (each of its events has its own
id, and the resource goes Unavailable and Available again). An alert instance that resolved stays
resolved, so duplicates arriving out of order change nothing; a resource's latest state counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RESOLVED, FIRED = "resolved", "fired"


def alert_key(signal: Mapping[str, Any]) -> str:
    """What identifies the alert a signal (a HealthSignal dict) is a notification of."""
    alert_id = str(signal.get("alert_id") or "")
    if alert_id and signal.get("source") != "resource-health":
        return f"alert:{alert_id}"
    targets = signal.get("resource_ids") or []
    return f"resource:{str(targets[0]).lower() if targets else ''}"


class AlertInstances:
    """The alerts heard so far and their states (rebuilt on every replay from the trigger and events)."""

    def __init__(self, first: Mapping[str, Any] | None = None) -> None:
        self.states: dict[str, str] = {}
        if first:
            self.hear(first)

    def hear(self, signal: Mapping[str, Any]) -> None:
        key = alert_key(signal)
        if key.startswith("alert:") and self.states.get(key) == RESOLVED:
            return  # an alert instance never fires again after it resolved
        self.states[key] = RESOLVED if str(signal.get("state")) == RESOLVED else FIRED

    @property
    def resolved(self) -> bool:
        """Every alert heard has resolved (False before any was heard)."""
        return bool(self.states) and all(s == RESOLVED for s in self.states.values())
