"""The operator API that starts DR operations: failover, failback, point-in-time restore, drills.

Each route validates its body first (triggers/web.py: a bad request is a 4xx naming the field, and
nothing starts), then starts the run holding the app's lock (triggers/runs.py: 202 with the run's own
id and links, or 409 naming the running one). A dry run decides and changes nothing: it runs under its
own id without the lock and answers its plan (200).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from activities.inprocess import read_now
from orchestrators.drill import SCENARIOS
from orchestrators.restore import integrity_checks, restore_window, restored_server_name
from shared import estate, instances, names, policy
from shared.config import Settings, current_settings
from triggers import runs
from triggers.api import endpoint
from triggers.web import Body, Field, actor_of, json_response

bp = df.Blueprint()

DRY_RUN_WAIT_MS = 60_000
STARTS = {
    202: "started: the run's id and links",
    400: "invalid request: the field and the problem",
    409: "another operation runs (rule 1): the running run",
    413: "body too large",
    503: "settings invalid, or the estate cannot be read",
}
REASON = Field("reason", required=True, doc="why, in a sentence (goes in the report and notifications)")
FAILOVER = Body(
    REASON,
    Field("mode", "choice", choices=("auto", "planned", "forced"), default="auto"),
    Field("dry_run", "flag", default=False),
)
FAILBACK = Body(REASON, Field("slot", "choice", choices=("blue", "green"), default="blue"))
RESTORE = Body(
    Field("restore_point", "time", required=True, doc="an ISO 8601 timestamp with a time zone"),
    REASON,
    Field("switch", "flag", default=False),
    Field("dry_run", "flag", default=False),
)
DRILL = Body(
    Field("scenario", "choice", required=True, choices=SCENARIOS, doc=f"one of {', '.join(SCENARIOS)}"),
    Field("reason"),
)


def trigger_of(req: func.HttpRequest, reason: str) -> dict[str, Any]:
    """How an operator's request appears in a run: who (the principal), why, through what."""
    return {"kind": "operator", "source": "api", "reason": reason, "by": actor_of(req)}


async def start_operation(
    req: func.HttpRequest,
    client: Any,
    settings: Settings,
    *,
    operation: str,
    orchestrator: str,
    payload: dict[str, Any],
) -> func.HttpResponse:
    """Start a DR operation holding the app's lock: 202 with links, or 409 naming the running one."""
    result = await runs.start_run(
        client,
        app=settings.app_name,
        operation=operation,
        orchestrator=orchestrator,
        payload={"settings": settings.to_dict(), **payload},
    )
    if not result.started:
        conflict = {"error": "conflict", "reason": result.decision.reason, "running": result.running}
        return json_response(conflict, 409)
    links = runs.status_links(client, req, result.run_id)
    return json_response(
        {"id": result.run_id, "status": "started", "links": links}, 202, {"Location": links["run"]}
    )


async def dry_run(
    req: func.HttpRequest,
    client: Any,
    settings: Settings,
    *,
    operation: str,
    orchestrator: str,
    payload: dict[str, Any],
) -> Any:
    """Run the plan's observe-and-decide part under its own id; return its plan (200) when it finishes."""
    run_id = instances.new_run_id(f"{operation}-dryrun", settings.app_name)
    body = {"settings": settings.to_dict(), **payload}
    await runs.start_unlocked(client, orchestrator=orchestrator, run_id=run_id, payload=body)
    return await client.wait_for_completion_or_create_check_status_response(
        req, run_id, timeout_in_milliseconds=DRY_RUN_WAIT_MS
    )


@endpoint(
    bp,
    names.HTTP_FAILOVER,
    "POST",
    "failover",
    body=FAILOVER,
    responses={**STARTS, 200: "dry run: the plan"},
    summary="Fail over to the DR region (or a dry run that decides and changes nothing)",
)
async def http_failover(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/failover {reason, mode: auto|planned|forced, dry_run}: 202, 200 (dry run), 400 or 409."""
    body = FAILOVER.parse(req)
    settings = current_settings()
    payload = {"mode": body["mode"], "dry_run": body["dry_run"], "trigger": trigger_of(req, body["reason"])}
    start = dry_run if body["dry_run"] else start_operation
    return await start(
        req, client, settings, operation="failover", orchestrator=names.FAILOVER_ORCHESTRATOR, payload=payload
    )


@endpoint(
    bp,
    names.HTTP_FAILBACK,
    "POST",
    "failback",
    body=FAILBACK,
    responses=STARTS,
    summary="Return to the home region with zero data loss (planned switchover)",
)
async def http_failback(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/failback {reason, slot: blue|green}: start the planned return to the home region."""
    body = FAILBACK.parse(req)
    settings = current_settings()
    payload = {"slot": body["slot"], "trigger": trigger_of(req, body["reason"])}
    return await start_operation(
        req, client, settings, operation="failback", orchestrator=names.FAILBACK_ORCHESTRATOR, payload=payload
    )


def read_window(settings: Settings) -> dict[str, Any]:
    """The source server of a restore (the primary found now, as the restore plan finds it): its snapshot,
    with its earliest restore point and retention. No primary raises LookupError with the policy's reason."""
    found = read_now(estate.find_primary(settings))
    if found.primary is None:
        raise LookupError(found.decision.reason)
    return dict(found.seen[found.primary.server])


def restore_plan_view(
    settings: Settings, point: datetime, now: datetime, switch: bool, source: str
) -> dict[str, Any]:
    """What a restore of ``source`` would do, for dry runs."""
    target = restored_server_name(source, now.isoformat())
    verify = [settings.public_url + settings.health_path, settings.public_url + settings.database_health_path]
    return {
        "source_server": source,
        "target_server": target,
        "restore_point": point.isoformat(),
        "data_loss_window_seconds": (now - point).total_seconds(),
        "checks": {
            "row_counts": list(settings.critical_tables),
            "sentinel_table": settings.sentinel_table,
            "sql": [c["name"] for c in integrity_checks(settings, point.isoformat())["sql"]],
        },
        "switch": {
            "requested": switch,
            "requires_approval": settings.restore_requires_approval,
            "secret": f"{settings.database_secret_name} -> {target}" if switch else None,
            "restart": list(settings.container_groups.values()) if switch else [],
            "verify": verify if switch else [],
            "old_server": f"{source} stopped, not deleted" if switch else "untouched",
        },
    }


@endpoint(
    bp,
    names.HTTP_RESTORE,
    "POST",
    "restore",
    body=RESTORE,
    responses={**STARTS, 200: "dry run: the plan"},
    summary="Restore the primary to a point in time into a new server; optionally switch the app to it",
)
async def http_restore(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/restore {restore_point, reason, switch, dry_run}: 202, 200 (dry run), 400 naming the
    rule the point fails, 409 (another run, or no primary can be told now), or 503 when the source's
    window cannot be read. The point is validated
    against the primary found now before anything starts."""
    body = RESTORE.parse(req)
    settings = current_settings()
    now, point = datetime.now(UTC), body["restore_point"]
    try:
        server = await asyncio.to_thread(read_window, settings)
    except LookupError as exc:  # no primary can be told now (one is Updating, or none answers)
        return json_response({"error": "conflict", "reason": f"no source server to restore now: {exc}"}, 409)
    except Exception as exc:
        problem = f"could not read the source server's restore window: {str(exc)[:200]}"
        return json_response({"error": "unavailable", "problem": problem}, 503)
    check = policy.validate_restore_point(point, restore_window(server, settings, now))
    if not check.is_(policy.POINT_VALID):
        refusal = {"error": "invalid restore point", "field": "restore_point", "rule": check.action}
        return json_response({**refusal, "problem": check.reason}, 400)
    if body["dry_run"]:
        plan = restore_plan_view(settings, point, now, body["switch"], str(server.get("name") or ""))
        return json_response({"dry_run": True, "plan": plan})
    payload = {
        "restore_point": point.isoformat(),
        "reason": body["reason"],
        "switch": body["switch"],
        "requested_at": now.isoformat(),
        "trigger": trigger_of(req, body["reason"]),
    }
    return await start_operation(
        req, client, settings, operation="restore", orchestrator=names.RESTORE_ORCHESTRATOR, payload=payload
    )


@endpoint(
    bp,
    names.HTTP_DRILLS,
    "POST",
    "drills",
    body=DRILL,
    responses=STARTS,
    summary="Run a restore test or a drill in practice mode (production traffic is not moved)",
)
async def http_drills(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/drills {scenario: restore|database|region|complete, reason}: 202, 400 or 409. The
    restore scenario is a restore test."""
    body = DRILL.parse(req)
    settings = current_settings()
    scenario = body["scenario"]
    trigger = trigger_of(req, body["reason"] or f"{scenario} drill")
    if scenario == "restore":
        return await start_operation(
            req,
            client,
            settings,
            operation="restore-test",
            orchestrator=names.RESTORE_TEST_ORCHESTRATOR,
            payload={"trigger": trigger},
        )
    return await start_operation(
        req,
        client,
        settings,
        operation="drill",
        orchestrator=names.DRILL_ORCHESTRATOR,
        payload={"scenario": scenario, "trigger": trigger},
    )
