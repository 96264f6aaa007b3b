"""The operator API over runs: list them, inspect one, read its report, approve / reject / cancel it.

Runs are found in Durable and in their reports (triggers/runs.py), so a run whose Durable record was
purged is still listed and its report still served. An answer is delivered to a run only while it waits
for one (its custom status says ``awaiting``); who answered is the authenticated principal.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import instances, names, policy
from shared.azure import runtime
from shared.config import current_settings
from triggers import runs
from triggers.api import endpoint
from triggers.web import NO_QUERY, BadRequest, Body, Field, Param, Query, actor_of, json_response, run_id_of

bp = df.Blueprint()

RUNTIME_STATUSES = ("Running", "Pending", "Completed", "Failed", "Terminated", "Canceled", "Suspended")
ACTIONS = ("approve", "reject", "cancel")
# What a run must be waiting for (custom status "awaiting") to take each answer.
ANSWERABLE = {
    "approve": {"approval", "grace"},
    "reject": {"approval", "grace"},
    "cancel": {"approval", "grace", "confirmation", "schedule"},
}
ANSWER = Body(Field("note", doc="why (goes in the report)"), required=False)
RUNS_QUERY = Query(
    Param("operation", "an operation name such as failover"),
    Param("status", "a runtime status", RUNTIME_STATUSES),
    Param("limit", "1 to 500 (default 50)"),
)
REPORT_QUERY = Query(Param("format", "json (default) or markdown", ("json", "markdown")))
READS = {200: "found", 400: "invalid request: the field and the problem"}


def run_filters(params: dict[str, str]) -> tuple[str, str, int]:
    """operation, runtime status and limit from the query string; raises BadRequest."""
    operation = params.get("operation", "")
    if operation and not re.fullmatch(r"[a-z_-]{1,40}", operation):
        raise BadRequest("operation", "must be an operation name such as failover")
    status = params.get("status", "")
    if status and status not in RUNTIME_STATUSES:
        raise BadRequest("status", f"must be one of {', '.join(RUNTIME_STATUSES)}")
    raw = params.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise BadRequest("limit", "must be a whole number from 1 to 500")
    return operation, status, int(raw)


def _matches(view: dict[str, Any], operation: str, status: str) -> bool:
    run_op = view.get("operation") or str(view.get("id") or "").split("-", 1)[0]
    return (not operation or run_op == operation) and (not status or view["runtime_status"] == status)


@endpoint(
    bp,
    names.HTTP_RUNS,
    "GET",
    "runs",
    query=RUNS_QUERY,
    responses=READS,
    tag="runs",
    summary="Every run, newest first (from Durable, and from reports for runs it no longer holds)",
)
async def http_runs(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """GET /api/runs?operation=&status=&limit=: every run, newest first (Durable, then reports)."""
    operation, status, limit = run_filters(RUNS_QUERY.parse(req))
    durable, reports = await asyncio.gather(client.get_status_all(), asyncio.to_thread(runs.report_summaries))
    views = [v for v in runs.merged(durable, reports) if _matches(v, operation, status)]
    return json_response({"runs": views[:limit], "count": min(len(views), limit)})


async def find_run(client: Any, run_id: str) -> dict[str, Any] | None:
    """A run's view from Durable, else from its report; None when neither knows it."""
    status = await client.get_status(run_id)
    if instances.runtime_status(status) and getattr(status, "name", "") not in runs.NOT_RUNS:
        return runs.run_view(status)
    found = await asyncio.to_thread(_read_report, run_id)
    if found.get("found"):
        report = found["report"]
        return {**runs.report_view({**report, "run_id": run_id}), "report": report}
    return None


def _read_report(run_id: str) -> dict[str, Any]:
    try:
        return runtime.storage().read_report(run_id)
    except Exception:
        return {"found": False}


@endpoint(
    bp,
    names.HTTP_RUN,
    "GET",
    "runs/{id}",
    responses={**READS, 404: "no such run"},
    tag="runs",
    summary="One run: runtime status, current step and wait, decisions, output",
)
async def http_run(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """GET /api/runs/{id}: status, current step, decisions, report link; 404 when unknown."""
    NO_QUERY.parse(req)
    run_id = run_id_of(req)
    view = await find_run(client, run_id)
    if view is None:
        return json_response({"error": "not found", "id": run_id}, 404)
    return json_response(view)


@endpoint(
    bp,
    names.HTTP_RUN_REPORT,
    "GET",
    "runs/{id}/report",
    query=REPORT_QUERY,
    client=False,
    tag="runs",
    responses={**READS, 404: "no report for that run"},
    media=("application/json", "text/markdown"),
    summary="A run's report (JSON, or Markdown)",
)
async def http_run_report(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/runs/{id}/report[?format=markdown]: the run's report as written so far; 404 when none."""
    params = REPORT_QUERY.parse(req)
    run_id = run_id_of(req)
    fmt = params.get("format", "json")
    found = await asyncio.to_thread(_read_report, run_id)
    if not found.get("found"):
        return json_response({"error": "not found", "id": run_id}, 404)
    if fmt == "markdown":
        from shared.reports import render_markdown

        return func.HttpResponse(render_markdown(found["report"]), mimetype="text/markdown", charset="utf-8")
    return json_response(found["report"])


def action_refusal(action: str, run_id: str, status: Any) -> str:
    """Why an approve/reject/cancel cannot be delivered now ('' when it can)."""
    if not instances.is_active(status):
        return f"run {run_id} is {instances.runtime_status(status)}: nothing to {action}"
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    if custom.get("awaiting") in ANSWERABLE[action]:
        return ""
    step = str(custom.get("step") or "start")
    if action == "cancel":
        return f"run {run_id} is at step {step}, not at a decision point: it cannot be cancelled safely"
    return f"run {run_id} is at step {step}, not waiting for approval"


@endpoint(
    bp,
    names.HTTP_RUN_ACTION,
    "POST",
    "runs/{id}/{action}",
    body=ANSWER,
    path={"action": ACTIONS},
    role=lambda req: policy.OPERATOR if req.route_params.get("action") == "cancel" else policy.APPROVER,
    tag="runs",
    responses={
        202: "delivered to the run",
        400: "invalid request",
        404: "no such run",
        409: "the run does not wait for that answer now",
        413: "body too large",
    },
    summary="Approve, reject or cancel a run that waits for an operator",
)
async def http_run_action(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/runs/{id}/approve|reject|cancel {note}: delivered to the run as an event (202)."""
    run_id = run_id_of(req)
    action = str(req.route_params.get("action", ""))
    if action not in ACTIONS:
        raise BadRequest("action", "must be approve, reject or cancel")
    note = ANSWER.parse(req)["note"] or ""
    status = await client.get_status(run_id)
    if not instances.runtime_status(status) or getattr(status, "name", "") in runs.NOT_RUNS:
        return json_response({"error": "not found", "id": run_id}, 404)
    refusal = action_refusal(action, run_id, status)
    if refusal:
        return json_response({"error": "conflict", "reason": refusal}, 409)
    by = actor_of(req)
    started_by = str((runs.input_of(status).get("trigger") or {}).get("by") or "")
    settings = current_settings()
    duty = policy.may_answer(
        action,
        actor=by,
        started_by=started_by,
        separate=settings.require_roles and settings.separate_approver,
    )
    if not duty.is_("allow"):
        return json_response({"error": "forbidden", "reason": duty.reason}, 403)
    await client.raise_event(run_id, "approval", {"answer": action, "by": by, "note": note})
    return json_response({"id": run_id, "delivered": action, "by": by}, 202)
