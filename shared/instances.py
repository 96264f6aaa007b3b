"""Durable instances as the app sees them, wherever it holds a durable client (HTTP triggers, the
incident activity): a run's own id, an instance's runtime status, whether it is still going."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

ACTIVE_STATES = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})


def new_run_id(operation: str, app: str, *, now: datetime | None = None) -> str:
    """A run's own id: ``failover-qlp-20261202T151759-3f2a``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{operation}-{app}-{moment:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:4]}"


def runtime_status(status: Any) -> str:
    """The runtime status name of a Durable status object ('' when the instance does not exist)."""
    if not status:
        return ""
    value = getattr(status, "runtime_status", None)
    return str(getattr(value, "value", value or ""))


def is_active(status: Any) -> bool:
    return runtime_status(status) in ACTIVE_STATES
