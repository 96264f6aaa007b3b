"""Starting, finding and stepping runs: singleton instance ids, the one-operation rule, retries.

Client side (triggers): ``start_run`` starts an orchestration under the fixed instance id of its app and
operation (``failover-qlp``) after checking that no DR operation of the app is running (safety rule 1);
``run_view`` turns a Durable status into the JSON the API returns.
Orchestration side: ``call`` runs one activity and retries it only when its failure says ``transient:``.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shared import policy
from shared.errors import is_transient
from shared.models import Decision

# Operations that change the estate; at most one of them runs per app (safety rule 1).
DR_OPERATIONS: list[str] = ["failover", "failback", "restore", "drill"]
ACTIVE_STATES = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})


def instance_id(operation: str, app: str) -> str:
    """The fixed instance id of an operation for an app: one incident, one run."""
    return f"{operation}-{app}"


def runtime_status(status: Any) -> str:
    """The runtime status name of a Durable status object ('' when the instance does not exist)."""
    if not status:
        return ""
    value = getattr(status, "runtime_status", None)
    return str(getattr(value, "value", value or ""))


def is_active(status: Any) -> bool:
    return runtime_status(status) in ACTIVE_STATES


@dataclass(frozen=True)
class StartResult:
    """What ``start_run`` did: ``started`` or not, and the decision that says why."""

    started: bool
    instance_id: str
    decision: Decision
    running: list[str] = field(default_factory=list)


async def active_operations(client: Any, app: str) -> list[str]:
    """Instance ids of the app's DR operations that are running now."""
    found = []
    for operation in DR_OPERATIONS:
        iid = instance_id(operation, app)
        if is_active(await client.get_status(iid)):
            found.append(iid)
    return found


async def start_run(
    client: Any, *, app: str, operation: str, orchestrator: str, payload: dict[str, Any]
) -> StartResult:
    """Start ``orchestrator`` as the singleton run of ``operation`` unless a DR operation runs (rule 1)."""
    iid = instance_id(operation, app)
    running = await active_operations(client, app)
    decision = policy.may_start(operation, running)
    if decision.is_("refuse"):
        return StartResult(False, iid, decision, running)
    try:
        await client.start_new(orchestrator, iid, {**payload, "run_id": iid})
    except Exception:  # the host refuses a second start of a running instance: someone won the race
        running = await active_operations(client, app) or [iid]
        return StartResult(False, iid, policy.may_start(operation, running), running)
    return StartResult(True, iid, decision)


async def start_scratch_run(client: Any, *, orchestrator: str, run_id: str, payload: dict[str, Any]) -> str:
    """Start a run that changes nothing (a dry run) under its own id; rule 1 does not apply."""
    await client.start_new(orchestrator, run_id, {**payload, "run_id": run_id})
    return run_id


def status_links(client: Any, request: Any, iid: str) -> dict[str, str]:
    """The API's own link for a run plus the Durable management links."""
    links = {k: str(v) for k, v in client.get_client_response_links(request, iid).items()}
    base = str(getattr(request, "url", "")).split("/api/")[0]
    return {"run": f"{base}/api/runs/{iid}", **links}


def run_view(status: Any) -> dict[str, Any]:
    """A Durable status as API JSON: id, operation, runtime status, times, custom status, output."""
    created, updated = getattr(status, "created_time", None), getattr(status, "last_updated_time", None)
    custom = getattr(status, "custom_status", None)
    return {
        "id": getattr(status, "instance_id", None),
        "orchestrator": getattr(status, "name", None),
        "operation": (custom or {}).get("operation") if isinstance(custom, dict) else None,
        "runtime_status": runtime_status(status),
        "created": created.isoformat() if created else None,
        "last_updated": updated.isoformat() if updated else None,
        "custom_status": custom,
        "output": getattr(status, "output", None),
    }


# ---- orchestration side --------------------------------------------------------------------------------
def call(
    context: Any, name: str, payload: dict[str, Any], *, attempts: int = 4, delay_seconds: float = 2.0
) -> Generator[Any, Any, dict[str, Any]]:
    """Run one activity; on a ``transient:`` failure wait (durable timer, doubling) and retry.

    Other failures, and the last transient one, are raised to the orchestrator with their message.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = yield context.call_activity(name, payload)
            return dict(result or {})
        except Exception as exc:
            if attempt == attempts or not is_transient(str(exc)):
                raise
            wait = timedelta(seconds=delay_seconds * 2 ** (attempt - 1))
            yield context.create_timer(context.current_utc_datetime + wait)
    raise AssertionError("unreachable")
