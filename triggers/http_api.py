"""Operator HTTP API under /api: health, start failover/failback, list and inspect runs, approve, status.

Every endpoint validates first: a bad request is a 400 naming the field and the problem, and nothing
is started. Starting goes through shared.runs (one DR operation per app: 409 naming the running one).
Response helpers (``json_response``, ``BadRequest``, ``read_body``) are shared with the other triggers.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import names, runs
from shared.config import Settings, SettingsError, current_settings
from shared.version import VERSION

bp = df.Blueprint()

MAX_BODY_BYTES = 64 * 1024
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
RUNTIME_STATUSES = ("Running", "Pending", "Completed", "Failed", "Terminated", "Canceled", "Suspended")
DRY_RUN_WAIT_MS = 60_000


# ---- responses and validation (shared by every trigger module) -----------------------------------------
def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, default=str),
        status_code=status,
        mimetype="application/json",
        headers=dict(headers or {}),
    )


class BadRequest(ValueError):
    """A 400: ``field`` is what was wrong, ``problem`` says how."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem

    def response(self) -> func.HttpResponse:
        return json_response({"error": "invalid request", "field": self.field, "problem": self.problem}, 400)


def read_body(req: func.HttpRequest, *, allowed: set[str], required: bool = True) -> dict[str, Any]:
    """The request's JSON object, with only ``allowed`` keys; raises BadRequest otherwise."""
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("body", f"larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        if required:
            raise BadRequest("body", "a JSON object is required")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body", "not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("body", "must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(unknown[0], f"unknown field (allowed: {', '.join(sorted(allowed))})")
    return body


def text_field(body: Mapping[str, Any], field: str, *, required: bool, max_len: int = 500) -> str:
    value = body.get(field)
    if value is None:
        if required:
            raise BadRequest(field, "is required")
        return ""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(field, "must be a non-empty string")
    if len(value) > max_len or any(ord(c) < 32 and c not in "\t" for c in value):
        raise BadRequest(field, f"must be at most {max_len} printable characters")
    return value.strip()


def choice_field(body: Mapping[str, Any], field: str, options: tuple[str, ...], default: str) -> str:
    value = body.get(field, default)
    if value not in options:
        raise BadRequest(field, f"must be one of {', '.join(options)}")
    return str(value)


def bool_field(body: Mapping[str, Any], field: str) -> bool:
    value = body.get(field, False)
    if not isinstance(value, bool):
        raise BadRequest(field, "must be true or false")
    return value


def operator_of(req: func.HttpRequest, body: Mapping[str, Any]) -> str:
    """Who acts: the Easy Auth principal when present, else the body's ``by``, else 'operator'."""
    principal = req.headers.get("x-ms-client-principal-name")
    return principal or text_field(body, "by", required=False, max_len=100) or "operator"


def settings_or_error() -> Settings | func.HttpResponse:
    try:
        return current_settings()
    except SettingsError as exc:
        return json_response({"error": "settings invalid", "problems": exc.problems}, 503)


def run_id_of(req: func.HttpRequest) -> str:
    value = str(req.route_params.get("id", ""))
    if not RUN_ID.match(value):
        raise BadRequest("id", "must be 1-128 letters, digits or . _ : -")
    return value


# ---- health --------------------------------------------------------------------------------------------
@bp.function_name(names.HTTP_HEALTH)
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """The app's own liveness: always 200 while the worker runs, with the version."""
    body = {"status": "up", "app": "continuity", "version": VERSION}
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")


# ---- starting runs -------------------------------------------------------------------------------------
async def start_operation(
    req: func.HttpRequest, client: Any, *, operation: str, orchestrator: str, payload: dict[str, Any]
) -> func.HttpResponse:
    """Start a DR operation as its app's singleton run: 202 with links, or 409 naming the running one."""
    settings = settings_or_error()
    if isinstance(settings, func.HttpResponse):
        return settings
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
    links = runs.status_links(client, req, result.instance_id)
    started = {"id": result.instance_id, "status": "started", "links": links}
    return json_response(started, 202, {"Location": links["run"]})


async def dry_run(req: func.HttpRequest, client: Any, *, orchestrator: str, payload: dict[str, Any]) -> Any:
    """Run the plan's observe-and-decide part under a scratch id; return its plan (200) when it finishes."""
    settings = settings_or_error()
    if isinstance(settings, func.HttpResponse):
        return settings
    run_id = f"{payload['operation']}-{settings.app_name}-dryrun-{uuid.uuid4().hex[:12]}"
    await runs.start_scratch_run(
        client, orchestrator=orchestrator, run_id=run_id, payload={"settings": settings.to_dict(), **payload}
    )
    return await client.wait_for_completion_or_create_check_status_response(
        req, run_id, timeout_in_milliseconds=DRY_RUN_WAIT_MS
    )


@bp.function_name(names.HTTP_FAILOVER)
@bp.route(route="failover", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def failover(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/failover {reason, mode: auto|planned|forced, dry_run}: start (202) or 409 / 400."""
    try:
        body = read_body(req, allowed={"reason", "mode", "dry_run", "by"})
        reason = text_field(body, "reason", required=True)
        mode = choice_field(body, "mode", ("auto", "planned", "forced"), "auto")
        is_dry = bool_field(body, "dry_run")
        by = operator_of(req, body)
    except BadRequest as bad:
        return bad.response()
    payload = {
        "operation": "failover",
        "mode": mode,
        "dry_run": is_dry,
        "trigger": {"kind": "operator", "source": "api", "reason": reason, "by": by},
    }
    if is_dry:
        return await dry_run(req, client, orchestrator=names.FAILOVER_ORCHESTRATOR, payload=payload)  # type: ignore[no-any-return]
    return await start_operation(
        req, client, operation="failover", orchestrator=names.FAILOVER_ORCHESTRATOR, payload=payload
    )


@bp.function_name(names.HTTP_FAILBACK)
@bp.route(route="failback", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def failback(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/failback {reason, slot: blue|green}: start the planned return to the home region."""
    try:
        body = read_body(req, allowed={"reason", "slot", "by"})
        reason = text_field(body, "reason", required=True)
        slot = choice_field(body, "slot", ("blue", "green"), "blue")
        by = operator_of(req, body)
    except BadRequest as bad:
        return bad.response()
    payload = {"slot": slot, "trigger": {"kind": "operator", "source": "api", "reason": reason, "by": by}}
    return await start_operation(
        req, client, operation="failback", orchestrator=names.FAILBACK_ORCHESTRATOR, payload=payload
    )


# ---- inspecting runs -----------------------------------------------------------------------------------
def run_filters(params: Mapping[str, str]) -> tuple[str, str, int]:
    """operation, runtime status and limit from the query string; raises BadRequest."""
    unknown = sorted(set(params) - {"operation", "status", "limit", "code"})
    if unknown:
        raise BadRequest(unknown[0], "unknown filter (allowed: operation, status, limit)")
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


@bp.function_name(names.HTTP_RUNS)
@bp.route(route="runs", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def list_runs(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """GET /api/runs?operation=&status=&limit=: newest first."""
    try:
        operation, status, limit = run_filters(req.params)
    except BadRequest as bad:
        return bad.response()
    views = [runs.run_view(s) for s in await client.get_status_all()]
    views = [v for v in views if _matches(v, operation, status)]
    views.sort(key=lambda v: v.get("created") or "", reverse=True)
    return json_response({"runs": views[:limit], "count": min(len(views), limit)})


@bp.function_name(names.HTTP_RUN)
@bp.route(route="runs/{id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def get_run(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """GET /api/runs/{id}: status, current step, decisions, report link; 404 when unknown."""
    try:
        iid = run_id_of(req)
    except BadRequest as bad:
        return bad.response()
    status = await client.get_status(iid)
    if not runs.runtime_status(status):
        return json_response({"error": "not found", "id": iid}, 404)
    return json_response(runs.run_view(status))


ACTIONS = ("approve", "reject", "cancel")
# What a run must be waiting for (custom status "awaiting") to take each answer.
ANSWERABLE = {
    "approve": {"approval", "grace"},
    "reject": {"approval", "grace"},
    "cancel": {"approval", "grace", "confirmation"},
}


def action_refusal(action: str, iid: str, status: Any) -> str:
    """Why an approve/reject/cancel cannot be delivered now ('' when it can)."""
    if not runs.is_active(status):
        return f"run {iid} is {runs.runtime_status(status)}: nothing to {action}"
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    if custom.get("awaiting") in ANSWERABLE[action]:
        return ""
    step = str(custom.get("step") or "start")
    if action == "cancel":
        return f"run {iid} is at step {step}, not at a decision point: it cannot be cancelled safely"
    return f"run {iid} is at step {step}, not waiting for approval"


@bp.function_name(names.HTTP_RUN_ACTION)
@bp.route(route="runs/{id}/{action}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def run_action(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/runs/{id}/approve|reject|cancel {by, note}: delivered to the run as an event (202)."""
    try:
        iid = run_id_of(req)
        action = str(req.route_params.get("action", ""))
        if action not in ACTIONS:
            raise BadRequest("action", "must be approve, reject or cancel")
        body = read_body(req, allowed={"by", "note"}, required=False)
        note = text_field(body, "note", required=False)
        by = operator_of(req, body)
    except BadRequest as bad:
        return bad.response()
    status = await client.get_status(iid)
    if not runs.runtime_status(status):
        return json_response({"error": "not found", "id": iid}, 404)
    refusal = action_refusal(action, iid, status)
    if refusal:
        return json_response({"error": "conflict", "reason": refusal}, 409)
    await client.raise_event(iid, "approval", {"answer": action, "by": by, "note": note})
    return json_response({"id": iid, "delivered": action, "by": by}, 202)


# ---- status --------------------------------------------------------------------------------------------
EstateReader = Callable[[Settings], dict[str, Any]]


def _read_each(reads: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, read in reads.items():
        try:
            out[key] = read()
        except Exception as exc:
            out[key] = {"error": str(exc)[:300]}
    return out


def find_primary_now(settings: Settings) -> tuple[Any, dict[str, Any]]:
    """Which server is the primary now, observed as the plans observe it (shared.backups.find_primary):
    the decision (shared.policy.current_primary) and every candidate's snapshot (or ``{"error"}``)."""
    from shared import policy
    from shared.azure import runtime
    from shared.backups import server_view

    db = runtime.database()
    seen = _read_each(
        {
            settings.primary_server: lambda: db.find(
                settings.primary_server, settings.primary_resource_group
            ),
            settings.replica_server: lambda: db.find(
                settings.replica_server, settings.secondary_resource_group
            ),
        }
    )
    secret = _read_each({"secret": lambda: runtime.secrets().database_host()})["secret"]
    followed = str((seen[settings.replica_server] or {}).get("source_server") or "")
    if followed and followed not in seen:  # after a failback: a server Continuity created
        extra = _read_each({followed: lambda: db.find(followed, settings.primary_resource_group)})
        if (extra[followed] or {}).get("created_by_continuity"):
            seen.update(extra)
    views = [server_view(name, snap or {"exists": False}) for name, snap in seen.items()]
    host = None if "error" in (secret or {"error": ""}) else str(secret.get("host") or "") or None
    if host and not any(policy.same_host(v.fqdn, host) for v in views):  # after a restore with switch
        groups = (settings.primary_resource_group, settings.secondary_resource_group)
        listed = _read_each({g: functools.partial(db.list_servers, g) for g in groups})
        for found in (s for g in groups if isinstance(listed[g], list) for s in listed[g]):
            if found["created_by_continuity"] and policy.same_host(str(found["fqdn"] or ""), host):
                seen[found["name"]] = found
                views.append(server_view(found["name"], found))
    return policy.current_primary(views, secret_host=host), seen


def read_estate(settings: Settings) -> dict[str, Any]:
    """Live topology: the route, the primary found now (find_primary_now) and its replica, the replica's
    lag, the primary's backups. Each read may fail on its own."""
    from shared.azure import runtime

    db = runtime.database()
    out = _read_each(
        {
            "route": lambda: runtime.traffic().get_route(),
            "backup_watch": lambda: runtime.storage().read_report("backup-watch").get("report"),
        }
    )
    decision, seen = find_primary_now(settings)
    out["primary"] = decision.to_dict()
    if decision.action != "primary":  # no guess: primary_server is null, the candidates as observed
        out["primary_server"] = seen[settings.primary_server]
        out["replica_server"] = seen[settings.replica_server]
        return out
    out["primary_server"], out["replica_server"] = seen[decision.primary], seen.get(decision.replica)
    rg, replica_rg = decision.primary_resource_group, decision.replica_resource_group
    out |= _read_each(
        {
            "latest_backup": lambda: db.list_backups(decision.primary, rg),
            "replica_lag_seconds": lambda: (
                db.metric_lag_seconds(decision.replica, replica_rg) if decision.replica else None
            ),
        }
    )
    return out


def status_view(settings: Settings, estate: dict[str, Any], running: list[str]) -> dict[str, Any]:
    """What /api/status shows, from observed estate values (pure)."""
    route = estate.get("route") or {}
    live = str(route.get("origin_group", ""))
    slots = {group: slot for slot, group in settings.origin_groups.items()}
    slot = slots.get(live, "unknown")
    region = settings.secondary_region if slot == "standby" else settings.primary_region
    backups = estate.get("latest_backup") or {}
    return {
        "app": settings.app_name,
        "primary_region": region if slot != "unknown" else "unknown",
        "live_slot": slot,
        "origin_group": live or None,
        "primary_server": (estate.get("primary") or {}).get("primary") or None,
        "primary_reason": (estate.get("primary") or {}).get("reason"),
        "servers": {
            "primary": _server_brief(estate.get("primary_server")),
            "replica": _server_brief(estate.get("replica_server")),
        },
        "replica_lag_seconds": estate.get("replica_lag_seconds"),
        "latest_backup_age_seconds": backups.get("latest_age_seconds"),
        "backup_watch": _watch_brief(estate.get("backup_watch")),
        "running_operations": running,
        "objectives": {
            "rto_tier1_minutes": settings.rto_tier1_minutes,
            "rpo_minutes": settings.rpo_minutes,
            "backup_age_alert_hours": settings.backup_age_alert_hours,
            "failover_mode": settings.failover_mode,
            "grace_period_seconds": settings.grace_period_seconds,
        },
        "errors": {k: v["error"] for k, v in estate.items() if isinstance(v, dict) and "error" in v},
    }


def _watch_brief(result: Any) -> dict[str, Any] | None:
    """The latest backup-watch result (orchestrators/backup_watch.py): when, healthy, open breaches."""
    if not isinstance(result, dict) or "observed_at" not in result:
        return None
    failing = [c["reason"] for c in result.get("checks", []) if not c.get("ok")]
    keys = ("observed_at", "healthy", "open_breaches", "latest_backup_age_seconds")
    return {**{k: result.get(k) for k in keys}, "failing": failing}


def _server_brief(server: Any) -> dict[str, Any] | None:
    if not isinstance(server, dict):
        return None
    keys = ("name", "state", "role", "location", "replication_state", "error")
    return {k: server[k] for k in keys if k in server}


# Replaced only by tests that have no Azure estate to read (the one seam of this module).
estate_reader: EstateReader = read_estate


@bp.function_name(names.HTTP_STATUS)
@bp.route(route="status", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def status(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """GET /api/status: primary region, live slot, replica lag, backup age, running operations, objectives."""
    settings = settings_or_error()
    if isinstance(settings, func.HttpResponse):
        return settings
    estate = await asyncio.to_thread(estate_reader, settings)
    running = await runs.active_operations(client, settings.app_name)
    return json_response(status_view(settings, estate, running))


# ---- restore and drills (handlers in triggers/restore_api.py) --------------------------------------
@bp.function_name(names.HTTP_RESTORE)
@bp.route(route="restore", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def restore(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/restore {restore_point, reason, switch, dry_run}: 202, 200 plan, 400 naming the rule, 409."""
    from triggers import restore_api

    return await restore_api.start_restore(req, client)


@bp.function_name(names.HTTP_DRILLS)
@bp.route(route="drills", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def drills(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/drills {scenario: restore|database|region|complete}: 202, 400 or 409."""
    from triggers import restore_api

    return await restore_api.start_drill(req, client)
