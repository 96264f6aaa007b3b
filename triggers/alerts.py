"""Alert intake: the Azure Monitor webhook, Event Grid and a timer backstop, normalised to one health signal.

Every source becomes a ``HealthSignal``; ``handle_signal`` turns it into at most one failover per
incident: the run has a fixed instance id per app, a fired signal while it runs is acknowledged, and a
resolved signal is delivered to it as the ``signal`` event (it ends confirmation or the grace period).
Only signals that target the protected resources act; others are acknowledged with the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import names, runs
from shared.config import Settings, current_settings
from shared.models import HealthSignal, parse_time
from triggers.http_api import BadRequest, json_response, read_body, settings_or_error

bp = df.Blueprint()
log = logging.getLogger(__name__)

COMMON_SCHEMA = "azureMonitorCommonAlertSchema"
RESOURCE_HEALTH_EVENT = "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged"
_FIRED = {"Unavailable": "fired", "Degraded": "fired", "Available": "resolved"}
_start_lock = asyncio.Lock()  # one check-then-start at a time in this worker (the host guards the rest)


class Ignored(Exception):
    """A well-formed event that is not a health signal for us: acknowledged with this reason."""


# ---- parsing: each source to one HealthSignal ------------------------------------------------------------
def _require(mapping: Mapping[str, Any], key: str, field: str, kind: type | tuple[type, ...]) -> Any:
    value = mapping.get(key)
    if not isinstance(value, kind) or (isinstance(value, str | list) and not value):
        raise BadRequest(field, f"is required and must be a non-empty {getattr(kind, '__name__', 'value')}")
    return value


def _time(value: Any, field: str) -> str:
    try:
        return parse_time(str(value)).isoformat()
    except ValueError:
        raise BadRequest(field, "must be an ISO 8601 time with a zone") from None


def signal_from_common_alert(body: Mapping[str, Any], source: str = "monitor-webhook") -> HealthSignal:
    """An Azure Monitor common-alert-schema payload as a signal; raises BadRequest naming the bad field."""
    if body.get("schemaId") != COMMON_SCHEMA:
        raise BadRequest("schemaId", f"must be {COMMON_SCHEMA}")
    data = _require(body, "data", "data", dict)
    essentials = _require(data, "essentials", "data.essentials", dict)
    condition = essentials.get("monitorCondition")
    if condition not in ("Fired", "Resolved"):
        raise BadRequest("data.essentials.monitorCondition", "must be Fired or Resolved")
    targets = _require(essentials, "alertTargetIDs", "data.essentials.alertTargetIDs", list)
    if not all(isinstance(t, str) and t.startswith("/subscriptions/") for t in targets) or len(targets) > 50:
        raise BadRequest("data.essentials.alertTargetIDs", "must be Azure resource ids (/subscriptions/...)")
    when_key = "firedDateTime" if condition == "Fired" else "resolvedDateTime"
    at = _time(essentials.get(when_key) or essentials.get("firedDateTime"), f"data.essentials.{when_key}")
    return HealthSignal(
        source=source,
        state="fired" if condition == "Fired" else "resolved",
        resource_ids=tuple(t.lower() for t in targets),
        observed_at=at,
        summary=str(essentials.get("alertRule") or essentials.get("description") or "")[:200],
        severity=str(essentials.get("severity") or ""),
        alert_id=str(essentials.get("alertId") or "")[:300],
    )


def signal_from_event(event: Mapping[str, Any]) -> HealthSignal:
    """An Event Grid event (either schema, as {type, subject, data, time}) as a signal.

    Raises Ignored for events that are not health signals, BadRequest for malformed ones.
    """
    data = event.get("data")
    if isinstance(data, dict) and data.get("schemaId") == COMMON_SCHEMA:
        return signal_from_common_alert(data, source="eventgrid")
    if event.get("type") != RESOURCE_HEALTH_EVENT:
        raise Ignored(f"event type {event.get('type')!r} is not a health signal")
    info = _require(data if isinstance(data, dict) else {}, "resourceInfo", "data.resourceInfo", dict)
    props = _require(info, "properties", "data.resourceInfo.properties", dict)
    target = _require(props, "targetResourceId", "data.resourceInfo.properties.targetResourceId", str)
    availability = props.get("availabilityState")
    if availability not in _FIRED:
        raise Ignored(f"availability state {availability!r} says nothing either way")
    at = props.get("occurredTime") or event.get("time")
    return HealthSignal(
        source="resource-health",
        state=_FIRED[str(availability)],
        resource_ids=(target.lower(),),
        observed_at=_time(at, "data.resourceInfo.properties.occurredTime"),
        summary=str(props.get("title") or props.get("summary") or availability)[:200],
        alert_id=str(event.get("id") or "")[:300],
    )


def event_document(event: Any) -> dict[str, Any]:
    """The parts of a func.EventGridEvent or func.CloudEvent the parser reads."""
    moment = getattr(event, "event_time", None) or getattr(event, "time", None)
    return {
        "id": getattr(event, "id", None),
        "type": getattr(event, "event_type", None) or getattr(event, "type", None),
        "subject": getattr(event, "subject", None),
        "data": event.get_json(),
        "time": moment.isoformat() if isinstance(moment, datetime) else moment,
    }


# ---- which resources are protected ----------------------------------------------------------------------
def protected_names(settings: Settings) -> set[str]:
    """Resources whose failure means the primary region is failing (lower-cased names)."""
    names_ = (
        settings.primary_server,
        settings.container_group_blue,
        settings.container_group_green,
        settings.frontdoor_profile,
    )
    return {n.lower() for n in names_}


def protected_target(signal: HealthSignal, settings: Settings) -> str:
    """The first targeted resource id that is protected, or '' when none is."""
    sub = f"/subscriptions/{settings.subscription_id.lower()}/"
    protected = protected_names(settings)
    for rid in signal.resource_ids:
        name = rid.rstrip("/").rsplit("/", 1)[-1]
        if rid == f"backstop:{settings.app_name}" or (rid.startswith(sub) and name in protected):
            return rid
    return ""


# ---- acting on a signal ----------------------------------------------------------------------------------
def recent_automatic(status: Any) -> list[str]:
    """When the app's last failover was an automatic one that moved traffic, its start time (rule 7)."""
    if not status or not runs.runtime_status(status):
        return []
    started = _input_of(status)
    output = getattr(status, "output", None) or {}
    automatic = (started.get("trigger") or {}).get("kind") == "alert"
    moved = isinstance(output, dict) and str(output.get("status", "")).startswith("succeeded")
    created = getattr(status, "created_time", None)
    return [created.isoformat()] if automatic and moved and created else []


def _input_of(status: Any) -> dict[str, Any]:
    raw = getattr(status, "input_", None) if status else None
    value = json.loads(raw) if isinstance(raw, str) else raw
    return value if isinstance(value, dict) else {}


def handled_alert(status: Any) -> str:
    """The alert id that started the app's last failover ('' when none): one incident, one run."""
    signal = (_input_of(status).get("trigger") or {}).get("signal") or {}
    return str(signal.get("alert_id") or "")


async def handle_signal(client: Any, settings: Settings, signal: HealthSignal) -> dict[str, Any]:
    """Start, join or acknowledge: returns {status, reason, run} (always answered with 202)."""
    target = protected_target(signal, settings)
    if not target:
        ids = ", ".join(signal.resource_ids) or "nothing"
        return {"status": "ignored", "reason": f"the alert targets {ids}, not a protected resource"}
    iid = runs.instance_id("failover", settings.app_name)
    async with _start_lock:
        current = await client.get_status(iid)
        if runs.is_active(current):
            return await _join(client, iid, signal)
        if signal.state == "resolved":
            return {"status": "ignored", "reason": "the alert resolved and no failover is running"}
        if signal.alert_id and signal.alert_id == handled_alert(current):
            reason = f"{iid} already handled alert {signal.alert_id} ({runs.runtime_status(current)})"
            return {"status": "acknowledged", "reason": reason, "run": iid}
        result = await runs.start_run(
            client,
            app=settings.app_name,
            operation="failover",
            orchestrator=names.FAILOVER_ORCHESTRATOR,
            payload=_failover_input(settings, signal, recent_automatic(current)),
        )
    if not result.started:
        return {"status": "refused", "reason": result.decision.reason, "run": result.running}
    return {"status": "started", "reason": f"failover started for {target}", "run": iid}


async def _join(client: Any, iid: str, signal: HealthSignal) -> dict[str, Any]:
    if signal.state == "resolved":
        await client.raise_event(iid, "signal", signal.to_dict())
        return {"status": "delivered", "reason": f"resolved signal delivered to {iid}", "run": iid}
    return {"status": "acknowledged", "reason": f"{iid} is already handling this incident", "run": iid}


def _failover_input(settings: Settings, signal: HealthSignal, recent: list[str]) -> dict[str, Any]:
    trigger = {
        "kind": "alert",
        "source": signal.source,
        "reason": signal.summary or "health signal fired",
        "signal": signal.to_dict(),
        "first_signal_at": signal.observed_at,
    }
    return {
        "settings": settings.to_dict(),
        "trigger": trigger,
        "mode": "auto",
        "dry_run": False,
        "recent_automatic_failovers": recent,
    }


# ---- the three intakes ------------------------------------------------------------------------------------
@bp.function_name(names.HTTP_ALERTS)
@bp.route(route="alerts", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def alerts(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/alerts: an Azure Monitor action-group webhook (common alert schema). 202 or 400."""
    settings = settings_or_error()
    if isinstance(settings, func.HttpResponse):
        return settings
    try:
        body = read_body(req, allowed={"schemaId", "data"})
        signal = signal_from_common_alert(body)
    except BadRequest as bad:
        return bad.response()
    return json_response(await handle_signal(client, settings, signal), 202)


@bp.function_name(names.EVENTGRID_ALERTS)
@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def eventgrid_alerts(event: func.EventGridEvent, client: Any) -> None:
    """Resource Health availability events and republished common-alert-schema payloads."""
    try:
        signal = signal_from_event(event_document(event))
    except (Ignored, BadRequest) as why:
        log.info("event %s not acted on: %s", getattr(event, "id", "?"), why)
        return
    outcome = await handle_signal(client, current_settings(), signal)
    log.info("event %s: %s (%s)", getattr(event, "id", "?"), outcome["status"], outcome["reason"])


# ---- timer backstop ---------------------------------------------------------------------------------------
Observe = Callable[[Settings], tuple[bool, str]]


def observe_health(settings: Settings) -> tuple[bool, str]:
    """One backstop check: the public endpoint and the live primary origins both answer."""
    from shared.azure import runtime
    from shared.azure.probe import probe

    public = probe(
        settings.public_url + settings.health_path,
        timeout=settings.probe_timeout_seconds,
        ca_bundle=settings.ca_bundle,
    )
    if not public["ok"]:
        return False, f"public endpoint: {public['error']}"
    traffic = runtime.traffic()
    live = str(traffic.get_route().get("origin_group", ""))
    if live == settings.frontdoor_origin_group_standby:
        return True, "serving from the DR region"
    pool = traffic.list_origins(live)
    if not pool.get("healthy_count"):
        return False, f"origin group {live} has no healthy origin"
    return True, "healthy"


def backstop_signal(
    settings: Settings, observe: Observe, sleep: Callable[[float], None], now: Callable[[], datetime]
) -> HealthSignal | None:
    """Check up to N (detection threshold) times; N consecutive failures raise a fired signal."""
    first_failure = ""
    for attempt in range(settings.detection_threshold):
        if attempt:
            sleep(settings.confirm_interval_seconds)
        try:
            ok, detail = observe(settings)
        except Exception as exc:
            ok, detail = False, f"check failed: {str(exc)[:200]}"
        if ok:
            return None
        first_failure = first_failure or now().isoformat()
    return HealthSignal(
        source="backstop",
        state="fired",
        resource_ids=(f"backstop:{settings.app_name}",),
        observed_at=first_failure,
        summary=f"{settings.detection_threshold} consecutive failed health checks: {detail}",
    )


@bp.function_name(names.TIMER_HEALTH_BACKSTOP)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_HEALTH_PROBE_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def health_backstop(timer: func.TimerRequest, client: Any) -> None:
    """Probe the public endpoint and primary origins; N consecutive failures raise the health signal."""
    settings = current_settings()
    utc_now = lambda: datetime.now().astimezone()  # noqa: E731
    signal = await asyncio.to_thread(backstop_signal, settings, observe_health, time.sleep, utc_now)
    if signal is not None:
        outcome = await handle_signal(client, settings, signal)
        log.info("health backstop: %s (%s)", outcome["status"], outcome["reason"])
