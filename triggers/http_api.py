"""Operator HTTP API under /api: health now; runs, approvals and status as the plans arrive."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

from shared import names
from shared.version import VERSION

bp = df.Blueprint()


@bp.function_name(names.HTTP_HEALTH)
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """The app's own liveness: always 200 while the worker runs, with the version."""
    body = {"status": "up", "app": "continuity", "version": VERSION}
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
