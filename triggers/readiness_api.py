"""Readiness: the timer that scores the DR posture (``%CONTINUITY_READINESS_SCHEDULE%``, every 15 minutes
by default) and ``GET /api/readiness``.

The timer starts one readiness tick (orchestrators/readiness.py) under its own singleton id, skipped while
the previous tick still runs (a tick is not a DR operation and takes no lock). The route observes and
scores the estate now, in-process (shared.readiness through activities.inprocess), and shows the last
tick's score (the one that notified) beside it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from activities.inprocess import read_now
from shared import instances, names, readiness
from shared.config import Settings, current_settings
from triggers.api import endpoint
from triggers.web import NO_QUERY, json_response

bp = df.Blueprint()
log = logging.getLogger("continuity.readiness")


def tick_instance_id(app: str) -> str:
    return f"readiness-{app}"


async def start_readiness(client: Any, settings: Settings) -> str:
    """Start one readiness tick unless the previous one still runs; returns what happened."""
    iid = tick_instance_id(settings.app_name)
    if instances.is_active(await client.get_status(iid)):
        return f"skipped: {iid} is still running"
    await client.start_new(names.READINESS_ORCHESTRATOR, iid, {"settings": settings.to_dict(), "run_id": iid})
    return f"started {iid}"


@bp.function_name(names.TIMER_READINESS)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_READINESS_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_readiness(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    """Readiness tick: score the DR posture; a change of score notifies."""
    log.info("readiness: %s", await start_readiness(client, current_settings()))


def utc_now() -> datetime:
    return datetime.now(UTC)


def readiness_now(settings: Settings) -> dict[str, Any]:
    """The readiness computed now, with the last tick's score and when it was taken."""
    seen = read_now(readiness.observe(settings))
    return {**readiness.assess(settings, utc_now(), seen), "last_tick": readiness.last_tick(seen)}


@endpoint(
    bp,
    names.HTTP_READINESS,
    "GET",
    "readiness",
    responses={
        200: "the readiness score and its checks, now",
        400: "invalid request",
        503: "settings invalid",
    },
    client=False,
    tag="status",
    summary="The DR readiness score: every check pass / fail / unknown with its reason",
)
async def http_readiness(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/readiness: the score (share of passing checks), each check's result and reason."""
    NO_QUERY.parse(req)
    settings = current_settings()
    return json_response(await asyncio.to_thread(readiness_now, settings))
