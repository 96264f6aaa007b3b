"""Practice alerts: the calendar's weekly alert verification sends a synthetic alert through the real
intake (``POST /api/alerts``, the common alert schema); the intake recognises it by the webhook custom
property ``continuity-practice: true`` (Azure Monitor appends an action's webhook properties to the
payload as ``data.customProperties``), notifies every target with what it would have done, and starts
nothing: no failover, no deploy block, no container recovery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.config import Settings, current_secrets
from shared.models import HealthSignal

PRACTICE_PROPERTY = "continuity-practice"
RUN_PROPERTY = "continuity-run"


def is_practice(data: Mapping[str, Any]) -> bool:
    """The payload carries ``customProperties["continuity-practice"] == "true"``."""
    custom = data.get("customProperties")
    return isinstance(custom, dict) and str(custom.get(PRACTICE_PROPERTY, "")).lower() == "true"


def answer(settings: Settings, signal: HealthSignal, target: str) -> dict[str, Any]:
    """Notify the targets of the practice alert (through the same notifier as every message) and say what
    the intake would have done; returns {status: practice, reason, would_act, notified, notified_targets
    (comma-separated), notify_failures}."""
    from shared import notify  # the sending module loads on first use, not at import

    would = f"start a failover for {target}" if target else "ignore it: it targets no protected resource"
    message = notify.Message.from_dict(
        {
            "title": f"practice alert received ({settings.app_name})",
            "text": f"synthetic alert {signal.alert_id}: in earnest the intake would {would}; nothing ran",
            "severity": "info",
            "event": "practice-alert",
            "dedup_key": f"practice-{signal.alert_id}",
            "fields": {"alert_id": signal.alert_id, "would": would, "practice": True},
        }
    )
    sent = notify.send(message, settings, current_secrets())
    reached = ", ".join(sent["sent"]) or "no target"
    return {
        "status": "practice",
        "reason": f"practice alert: notified {reached}; would {would}; nothing started",
        "would_act": bool(target),
        "notified": sent,
        "notified_targets": ",".join(sent["sent"]),
        "notify_failures": len(sent["failed"]),
    }
