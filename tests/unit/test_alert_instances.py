"""The alerts of one incident (shared/alert_instances.py): keyed by alert instance or by resource, resolved
when every alert heard has resolved; an alert instance never fires again after it resolved."""

from __future__ import annotations

from typing import Any

from shared.alert_instances import AlertInstances, alert_key


def alert(
    state: str, alert_id: str = "", source: str = "monitor-webhook", rid: str = "/x/PG"
) -> dict[str, Any]:
    return {"source": source, "state": state, "alert_id": alert_id, "resource_ids": [rid]}


def test_common_alerts_are_keyed_by_instance_resource_health_by_resource() -> None:
    assert alert_key(alert("fired", "a-1")) == "alert:a-1"
    assert alert_key(alert("fired", "event-9", source="resource-health")) == "resource:/x/pg"
    assert alert_key(alert("fired")) == "resource:/x/pg"
    assert alert_key({"state": "resolved"}) == "resource:"


def test_resolved_only_when_every_alert_heard_has_resolved() -> None:
    incident = AlertInstances(alert("fired", "a-1"))
    incident.hear(alert("fired", "b-1"))
    incident.hear(alert("resolved", "a-1"))
    assert not incident.resolved  # b-1 still fires
    incident.hear(alert("resolved", "b-1"))
    assert incident.resolved
    incident.hear(alert("fired", "a-2"))  # the rule fires again: a new instance
    assert not incident.resolved


def test_a_late_duplicate_does_not_reopen_an_instance_but_a_resource_can_fail_again() -> None:
    incident = AlertInstances(alert("fired", "a-1"))
    incident.hear(alert("resolved", "a-1"))
    incident.hear(alert("fired", "a-1"))
    assert incident.resolved
    health = AlertInstances(alert("fired", "e-1", source="resource-health"))
    health.hear(alert("resolved", "e-2", source="resource-health"))
    assert health.resolved
    health.hear(alert("fired", "e-3", source="resource-health"))
    assert not health.resolved


def test_nothing_heard_is_not_resolved() -> None:
    assert not AlertInstances().resolved
