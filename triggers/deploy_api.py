"""The operator API of deployments: blue-green deploys, the emergency rollback, the releases.

``POST /api/deployments`` starts a deploy holding the app's lock (rule 12 shares rule 1's: 409 while a
deploy or any DR operation runs; a dry run answers its plan, 200). ``POST /api/rollback`` preempts a
deploy in flight (the deploy stops at its next checkpoint and the lock runs the rollback next) and is
refused (409) while a DR operation runs. ``GET /api/releases`` shows what runs where, observed now, and
the release history.
"""

from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from activities.inprocess import read_now
from shared import names, policy, releases
from shared.config import Settings, current_settings
from triggers import runs
from triggers.api import endpoint
from triggers.operations_api import STARTS, dry_run, start_operation, trigger_of
from triggers.web import NO_QUERY, BadRequest, Body, Field, json_response

bp = df.Blueprint()

REASON = Field("reason", required=True, doc="why, in a sentence (goes in the report and notifications)")
DEPLOYMENT = Body(
    Field("image", required=True, doc="a tag or digest of the configured image repository"),
    REASON,
    Field("dry_run", "flag", default=False, doc="return the plan and the gates' decisions; change nothing"),
    Field("not_before", "time", doc="deploy at this time (ISO 8601 with a zone), notified in advance"),
    Field("change_id", max_len=100, doc="the change record (required when the settings say so)"),
    Field(
        "force_window", "flag", default=False, doc="deploy outside the deploy window (the reason says why)"
    ),
    Field("retry_quarantined", "flag", default=False, doc="deploy an image that was rolled back (rule 10)"),
    Field(
        "migration",
        "object",
        doc="{image, target_version, class}: an expand runs before the idle slot is created; a breaking one "
        "runs in maintenance mode before it, which lasts until the new slot takes the traffic; contract is "
        "refused inside a deploy (it runs later, on its own: POST /api/migrations)",
    ),
)
ROLLBACK = Body(
    REASON,
    Field("to_image", doc="roll back to this image (default: the release the live one followed)"),
    Field("force", "flag", default=False, doc="roll back onto a schema the image never ran on (rule 9)"),
)


def image_of(value: str, settings: Settings, field: str) -> str:
    """The full reference of an image in the configured repository; raises BadRequest naming ``field``."""
    found = policy.image_reference(value, settings.image_repository)
    if not found.is_("valid"):
        raise BadRequest(field, found.reason)
    return str(found.value)


def migration_of(value: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A deploy's migration {image, target_version, class}; raises BadRequest naming ``migration.<key>``."""
    unknown = sorted(set(value) - {"image", "target_version", "class"})
    if unknown:
        raise BadRequest(f"migration.{unknown[0]}", "unknown field")
    for key in ("image", "target_version", "class"):
        if key not in value:
            raise BadRequest(f"migration.{key}", "required")
    version = value["target_version"]
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**31:
        raise BadRequest("migration.target_version", "must be a whole number from 0 to 2147483647")
    klass = value["class"]
    if klass == "contract":
        raise BadRequest(
            "migration.class",
            "contract is refused inside a deploy: it runs later, on its own (POST /api/migrations)",
        )
    if klass not in ("expand", "breaking"):
        raise BadRequest("migration.class", "must be one of expand, breaking, contract")
    image = image_of(
        str(value["image"]) if isinstance(value["image"], str) else "", settings, "migration.image"
    )
    return {"image": image, "target_version": version, "class": klass}


@endpoint(
    bp,
    names.HTTP_DEPLOYMENTS,
    "POST",
    "deployments",
    body=DEPLOYMENT,
    responses={**STARTS, 200: "dry run: the plan and the gates' decisions"},
    tag="deployments",
    summary="Deploy an image blue-green: idle slot, smoke tests, switch, analysis, one automatic rollback",
)
async def http_deployments(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/deployments {image, reason, dry_run, not_before, change_id, force_window,
    retry_quarantined}: 202, 200 (dry run), 400 naming the field, or 409."""
    body = DEPLOYMENT.parse(req)
    settings = current_settings()
    image = image_of(body["image"], settings, "image")
    migration = migration_of(body["migration"], settings) if body["migration"] is not None else None
    payload = {
        "image": image,
        "migration": migration,
        "dry_run": body["dry_run"],
        "not_before": body["not_before"].isoformat() if body["not_before"] else None,
        "change_id": body["change_id"],
        "force_window": body["force_window"],
        "retry_quarantined": body["retry_quarantined"],
        "trigger": trigger_of(req, body["reason"]),
    }
    start = dry_run if body["dry_run"] else start_operation
    return await start(
        req, client, settings, operation="deploy", orchestrator=names.BLUE_GREEN_ORCHESTRATOR, payload=payload
    )


@endpoint(
    bp,
    names.HTTP_ROLLBACK,
    "POST",
    "rollback",
    body=ROLLBACK,
    responses={**STARTS, 202: "started, or queued to preempt the deploy in flight"},
    tag="deployments",
    summary="Emergency rollback to the previous release (preempts a deploy in flight)",
)
async def http_rollback(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/rollback {reason, to_image, force}: 202 (started, or preempting the deploy), 400, 409."""
    body = ROLLBACK.parse(req)
    settings = current_settings()
    to_image = image_of(body["to_image"], settings, "to_image") if body["to_image"] else None
    payload = {
        "settings": settings.to_dict(),
        "to_image": to_image,
        "force": body["force"],
        "trigger": trigger_of(req, body["reason"]),
    }
    holder = await runs.lock_holder(client, settings.app_name)
    if holder is None or holder.operation != "deploy":
        return await start_operation(
            req,
            client,
            settings,
            operation="rollback",
            orchestrator=names.ROLLBACK_ORCHESTRATOR,
            payload=payload,
        )
    result = await runs.preempt(
        client,
        holder,
        app=settings.app_name,
        operation="rollback",
        orchestrator=names.ROLLBACK_ORCHESTRATOR,
        payload=payload,
        reason=body["reason"],
    )
    if not result.started:
        return json_response(
            {"error": "conflict", "reason": result.decision.reason, "running": result.running}, 409
        )
    links = runs.status_links(client, req, result.run_id)
    answer = {
        "id": result.run_id,
        "status": "preempting",
        "preempts": holder.run_id,
        "reason": result.decision.reason,
    }
    return json_response({**answer, "links": links}, 202, {"Location": links["run"]})


@endpoint(
    bp,
    names.HTTP_RELEASES,
    "GET",
    "releases",
    responses={200: "the live and idle slots, the DR standby and the release history"},
    tag="deployments",
    summary="What runs where (observed now) and every release event",
)
async def http_releases(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """GET /api/releases: the live slot and image (from the route and the group), the idle slot, the DR
    standby (and whether it follows the live release), the release history."""
    NO_QUERY.parse(req)
    settings = current_settings()
    view = await asyncio.to_thread(read_now, releases.observe(settings))
    return json_response(view)
