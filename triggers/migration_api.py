"""The operator API of migrations and maintenance mode.

``POST /api/migrations`` starts a migration holding the app's lock (409 while any operation runs; a dry
run answers its plan, 200). ``POST /api/maintenance`` turns maintenance mode on or off on the running
slots, verified from outside: the operator's way out after a failed migration.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import names, policy
from shared.config import current_settings
from triggers.api import endpoint
from triggers.deploy_api import image_of
from triggers.operations_api import STARTS, dry_run, start_operation, trigger_of
from triggers.web import Body, Field

bp = df.Blueprint()

REASON = Field("reason", required=True, doc="why, in a sentence (goes in the report and notifications)")
MIGRATION = Body(
    Field("image", required=True, doc="the migration job's image: a tag or digest of the image repository"),
    REASON,
    Field("target_version", "integer", required=True, doc="the schema version the job must leave"),
    Field(
        "class",
        "choice",
        required=True,
        choices=policy.MIGRATION_CLASSES,
        doc="expand (online), contract (after no slot runs an older release), breaking (maintenance mode)",
    ),
    Field("dry_run", "flag", default=False, doc="return the plan and the anchor's decisions; change nothing"),
)
MAINTENANCE = Body(
    Field("enabled", "flag", required=True, doc="true: writes answer 503; false: writes work again"),
    REASON,
)


@endpoint(
    bp,
    names.HTTP_MIGRATIONS,
    "POST",
    "migrations",
    body=MIGRATION,
    responses={**STARTS, 200: "dry run: the plan"},
    tag="deployments",
    summary="Run a schema migration (expand, contract or breaking) from a recorded anchor",
)
async def http_migrations(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/migrations {image, reason, target_version, class, dry_run}: 202, 200, 400 or 409."""
    body = MIGRATION.parse(req)
    settings = current_settings()
    image = image_of(body["image"], settings, "image")
    payload = {
        "image": image,
        "target_version": body["target_version"],
        "class": body["class"],
        "dry_run": body["dry_run"],
        "trigger": trigger_of(req, body["reason"]),
    }
    start = dry_run if body["dry_run"] else start_operation
    return await start(
        req,
        client,
        settings,
        operation="migration",
        orchestrator=names.MIGRATION_ORCHESTRATOR,
        payload=payload,
    )


@endpoint(
    bp,
    names.HTTP_MAINTENANCE,
    "POST",
    "maintenance",
    body=MAINTENANCE,
    responses=STARTS,
    tag="deployments",
    summary="Turn maintenance mode on or off on the running slots, verified from outside",
)
async def http_maintenance(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/maintenance {enabled, reason}: 202, 400 or 409."""
    body = MAINTENANCE.parse(req)
    settings = current_settings()
    payload = {"enabled": body["enabled"], "trigger": trigger_of(req, body["reason"])}
    return await start_operation(
        req,
        client,
        settings,
        operation="maintenance",
        orchestrator=names.MAINTENANCE_ORCHESTRATOR,
        payload=payload,
    )
