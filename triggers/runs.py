"""Starting and finding runs through the durable client: run ids, the app's lock (rules 1 and 12), views.

Every run gets its own id, ``<operation>-<app>-<UTC stamp>-<token>``, and runs under it as its own
Durable instance; the app's lock (orchestrators/lock.py) holds it. ``start_run`` checks the lock, starts
it (the host refuses a second start while it runs: exactly one of two concurrent starts wins) and then
reads it back, so a start that lost a race is answered 409 even on a host that accepted both quietly.
Runs are found from Durable and, when the Durable record is gone (purged) or never existed here, from
their reports (``list_runs``, ``find_run``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrators.lock import lock_id
from shared import names, policy
from shared.azure import runtime
from shared.instances import is_active, new_run_id, runtime_status
from shared.models import Decision

NOT_RUNS = frozenset(
    {names.LOCK_ORCHESTRATOR, names.BACKUP_WATCH_ORCHESTRATOR, names.INCIDENT_ORCHESTRATOR}
)  # instances that are not runs (incidents: GET /api/incidents)


def report_summaries() -> list[dict[str, Any]]:
    """Every run report's summary (shared/azure/storage.py list_reports); none when the reports cannot be
    listed now (Durable's view alone then)."""
    try:
        return runtime.storage().list_reports()
    except Exception:
        return []


def input_of(status: Any) -> dict[str, Any]:
    raw = getattr(status, "input_", None) if status else None
    value = json.loads(raw) if isinstance(raw, str) else raw
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Holder:
    """The run holding the app's lock now, and the run queued to hold it next (a preemption), if any."""

    run_id: str
    operation: str
    next_run: str = ""


def holder_of(status: Any, app: str) -> Holder | None:
    """The run that holds the app's lock (its Durable status), or None when it is free. The lock says
    who holds it in its custom status (it changes when a preempting run takes over); its input names the
    first holder."""
    if not is_active(status):
        return None
    custom = getattr(status, "custom_status", None)
    held: dict[str, Any] = custom if isinstance(custom, dict) and custom.get("run_id") else input_of(status)
    queued = held["next"] if isinstance(held.get("next"), dict) else {}
    return Holder(
        str(held.get("run_id") or lock_id(app)),
        str(held.get("operation") or ""),
        str(queued.get("run_id") or ""),
    )


def generation_of(status: Any, app: str) -> str:
    """Which DR operation holds the app's lock (its Durable status), or when the lock last ended: what an
    observation of the estate taken since is valid for (it changes when an operation starts or ends,
    not while one runs; '' when no operation ever ran)."""
    holder = holder_of(status, app)
    if holder is not None:
        return f"held by {holder.run_id}"
    if not runtime_status(status):
        return ""
    return f"{runtime_status(status)}@{_iso(getattr(status, 'last_updated_time', None))}"


async def lock_holder(client: Any, app: str) -> Holder | None:
    """The run that holds the app's lock now, or None when it is free (one read of the lock)."""
    return holder_of(await client.get_status(lock_id(app)), app)


async def lock_state(client: Any, app: str) -> tuple[Holder | None, str]:
    """The lock's holder and generation from one read of the lock."""
    status = await client.get_status(lock_id(app))
    return holder_of(status, app), generation_of(status, app)


async def active_operations(client: Any, app: str) -> list[str]:
    """Run ids of the app's DR operations running now (at most one: the lock's holder)."""
    holder = await lock_holder(client, app)
    return [holder.run_id] if holder else []


@dataclass(frozen=True)
class StartResult:
    """What ``start_run`` did: ``started`` or not, and the decision that says why."""

    started: bool
    run_id: str
    decision: Decision
    running: list[str] = field(default_factory=list)


async def start_run(
    client: Any, *, app: str, operation: str, orchestrator: str, payload: dict[str, Any]
) -> StartResult:
    """Start ``orchestrator`` as a new run of ``operation`` holding the app's lock, unless it is held."""
    run_id = new_run_id(operation, app)
    running = await active_operations(client, app)
    decision = policy.may_start(operation, running)
    if decision.is_("refuse"):
        return StartResult(False, run_id, decision, running)
    held = {"run_id": run_id, "operation": operation, "orchestrator": orchestrator}
    try:
        await client.start_new(
            names.LOCK_ORCHESTRATOR, lock_id(app), {**held, "input": {**payload, "run_id": run_id}}
        )
    except Exception:  # the host refuses a second start of a running lock: someone won the race
        return await _lost(client, app, operation, run_id)
    holder = await lock_holder(client, app)
    if holder is not None and holder.run_id != run_id:
        return await _lost(client, app, operation, run_id)
    return StartResult(True, run_id, decision)


async def _lost(client: Any, app: str, operation: str, run_id: str) -> StartResult:
    running = await active_operations(client, app) or [lock_id(app)]
    return StartResult(False, run_id, policy.may_start(operation, running), running)


PREEMPT = "preempt"  # orchestrators/lock.py: the event naming the run to hold the lock next


async def preempt(
    client: Any,
    holder: Holder,
    *,
    app: str,
    operation: str,
    orchestrator: str,
    payload: dict[str, Any],
    reason: str,
) -> StartResult:
    """Queue ``operation`` to take the lock from ``holder`` (rule 12): the lock runs it next, without
    releasing in between, and the holder stops at its next checkpoint. When the lock was released
    meanwhile, the run simply starts; when another run is already queued, nothing is queued."""
    if holder.next_run:
        decision = Decision("refuse", f"{holder.next_run} already preempts {holder.run_id}", "rule 12")
        return StartResult(False, holder.next_run, decision, [holder.run_id])
    run_id = new_run_id(operation, app)
    queued = {"run_id": run_id, "operation": operation, "orchestrator": orchestrator, "reason": reason}
    await client.raise_event(lock_id(app), PREEMPT, {**queued, "input": {**payload, "run_id": run_id}})
    await client.raise_event(holder.run_id, PREEMPT, queued)
    if await lock_holder(client, app) is None:  # the holder ended before the lock saw the event
        return await start_run(
            client, app=app, operation=operation, orchestrator=orchestrator, payload=payload
        )
    why = f"{operation} {run_id} preempts {holder.operation} {holder.run_id}: it runs next under the lock"
    return StartResult(True, run_id, Decision("preempt", why, "rule 12"), [holder.run_id])


async def start_unlocked(client: Any, *, orchestrator: str, run_id: str, payload: dict[str, Any]) -> str:
    """Start a run that takes no lock (a dry run changes nothing) under its own id."""
    await client.start_new(orchestrator, run_id, {**payload, "run_id": run_id})
    return run_id


async def recent_runs(client: Any, operation: str, app: str, since: timedelta) -> list[Any]:
    """Durable statuses of the app's runs of ``operation`` created within ``since``, newest first."""
    found = await client.get_status_by(
        created_time_from=datetime.now(UTC) - since, instance_id_prefix=f"{operation}-{app}-"
    )
    runs = [s for s in found if getattr(s, "name", "") not in NOT_RUNS]
    return sorted(runs, key=lambda s: _iso(getattr(s, "created_time", None)), reverse=True)


def status_links(client: Any, request: Any, run_id: str) -> dict[str, str]:
    """The API's own links for a run plus the Durable management links."""
    links = {k: str(v) for k, v in client.get_client_response_links(request, run_id).items()}
    base = str(getattr(request, "url", "")).split("/api/")[0]
    return {"run": f"{base}/api/runs/{run_id}", "report": f"{base}/api/runs/{run_id}/report", **links}


def api_links(run_id: str) -> dict[str, str]:
    """Where the API serves a run and its report (paths under the app's own address)."""
    run = f"/api/runs/{run_id}"
    return {"run": run, "report": f"{run}/report", "markdown": f"{run}/report?format=markdown"}


def run_view(status: Any) -> dict[str, Any]:
    """A Durable status as API JSON: id, operation, runtime status, times, custom status, output, links.
    The report link is the API's (the blob address stays in the report's evidence)."""
    custom = getattr(status, "custom_status", None)
    links = api_links(str(getattr(status, "instance_id", "")))
    if isinstance(custom, dict) and custom.get("report"):
        custom = {**custom, "report": links["report"]}
    return {
        "id": getattr(status, "instance_id", None),
        "orchestrator": getattr(status, "name", None),
        "operation": (custom or {}).get("operation") if isinstance(custom, dict) else None,
        "runtime_status": runtime_status(status),
        "created": _iso(getattr(status, "created_time", None)) or None,
        "last_updated": _iso(getattr(status, "last_updated_time", None)) or None,
        "custom_status": custom,
        "output": getattr(status, "output", None),
        "source": "durable",
        "links": links,
    }


def report_view(summary: dict[str, Any]) -> dict[str, Any]:
    """A run known only from its report (the Durable record was purged, or it ran on another host)."""
    status = str(summary.get("status") or "")
    return {
        "id": summary.get("run_id"),
        "orchestrator": None,
        "operation": summary.get("operation"),
        "runtime_status": "Running" if status == "running" else "Completed",
        "created": summary.get("started_at"),
        "last_updated": summary.get("ended_at") or summary.get("started_at"),
        "custom_status": {"operation": summary.get("operation"), "status": status},
        "output": None if status == "running" else {"status": status},
        "source": "report",
        "links": api_links(str(summary.get("run_id") or "")),
    }


def merged(durable: list[Any], reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every run once, newest first: from Durable where it still is, else from its report."""
    views = {v["id"]: v for v in (run_view(s) for s in durable if getattr(s, "name", "") not in NOT_RUNS)}
    for summary in reports:
        if summary.get("operation") == "incident":  # an incident's report: listed by GET /api/incidents
            continue
        if summary.get("run_id") and summary["run_id"] not in views:
            views[summary["run_id"]] = report_view(summary)
    return sorted(views.values(), key=lambda v: v.get("created") or "", reverse=True)


def _iso(moment: Any) -> str:
    return moment.isoformat() if isinstance(moment, datetime) else str(moment or "")
