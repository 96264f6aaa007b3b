"""Event Grid (azure-eventgrid): publish CloudEvents about runs to the configured custom topic.

The source of every event is ``/continuity/<app>``. Callers pass a stable ``id`` (e.g. derived from the
run and its state change), so a retried publish is recognisable downstream as the same event.
"""

from __future__ import annotations

from typing import Any

from shared.azure.clients import Clients
from shared.azure.errors import translated
from shared.azure.imports import SDK_IMPORT_LOCK

EVENT_TYPE_PREFIX = "Continuity."


class EventsAdapter:
    """Publishes to the Event Grid topic (key auth when a key is set, else the app's identity)."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._source = f"/continuity/{clients.settings.app_name}"

    def publish(
        self, event_type: str, subject: str, data: dict[str, Any], event_id: str | None
    ) -> dict[str, Any]:
        client = self._clients.eventgrid()
        if client is None:
            return {"published": False, "id": event_id, "reason": "no Event Grid topic configured"}
        with SDK_IMPORT_LOCK:
            from azure.core.messaging import CloudEvent

        kind = event_type if event_type.startswith(EVENT_TYPE_PREFIX) else EVENT_TYPE_PREFIX + event_type
        options: dict[str, Any] = {"subject": subject, "data": data}
        if event_id:
            options["id"] = event_id
        event = CloudEvent(source=self._source, type=kind, **options)
        with translated(
            f"publish {kind} to Event Grid topic", self._clients.settings.eventgrid_topic_endpoint or ""
        ):
            client.send([event])
        return {"published": True, "id": event.id, "type": kind, "reason": ""}
