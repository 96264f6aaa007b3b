"""Alert intake: the Azure Monitor webhook, Event Grid and a timer backstop, normalised to one health signal.

Every source becomes a ``HealthSignal``; ``handle_signal`` turns it into at most one failover per
incident: a fired signal while the app's failover runs is acknowledged, a resolved one is delivered to it
as the ``signal`` event (it ends confirmation or the grace period), a repeat of the alert that started a
recent failover is acknowledged. Only signals that target the protected resources act: the app's slots,
its Front Door, and the servers that are the primary and its replica now (observed, whatever their names
after a failback or a restore: shared.estate.find_primary); others are acknowledged with the reason.
Deployments (triggers/deploy_signals.py): every protected signal is remembered (no deploy while one
fires); a signal on a container group is a container fault, not an outage (to a running deploy's
analysis, or container recovery); a database or regional outage while a deploy, a rollback or a recovery
holds the lock queues the failover to preempt it (rule 12).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from activities.inprocess import read_now
from shared import estate, names, policy
from shared.alert_instances import alert_key
from shared.config import Settings, current_settings
from shared.models import HealthSignal, ProbeSnapshot, parse_time
from triggers import coalesce, deploy_signals, practice, runs
from triggers.api import endpoint
from triggers.web import BadRequest, Body, Field, check_json, json_response

bp = df.Blueprint()
log = logging.getLogger(__name__)

COMMON_SCHEMA = "azureMonitorCommonAlertSchema"
RESOURCE_HEALTH_EVENT = "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged"
SERVER_TYPE = "/providers/microsoft.dbforpostgresql/flexibleservers/"
_FIRED = {"Unavailable": "fired", "Degraded": "fired", "Available": "resolved"}
_start_lock = asyncio.Lock()  # one check-then-start at a time in this worker (the lock guards the rest)
PRIMARY_CACHE_SECONDS = 30.0  # an alert storm observes the primary once
WEBHOOK = Body(Field("schemaId", required=True), Field("data", "object", required=True))


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
        practice=practice.is_practice(data),
    )


def signal_from_event(event: Mapping[str, Any]) -> HealthSignal:
    """An Event Grid event (either schema, as {type, subject, data, time}) as a signal.

    Raises Ignored for events that are not health signals, BadRequest for malformed ones.
    """
    check_json(dict(event), "event")
    data = event.get("data")
    if isinstance(data, dict) and data.get("schemaId") == COMMON_SCHEMA:
        return signal_from_common_alert(data, source="eventgrid")
    if event.get("type") != RESOURCE_HEALTH_EVENT:
        raise Ignored(f"event type {event.get('type')!r} is not a health signal")
    info = _require(data if isinstance(data, dict) else {}, "resourceInfo", "data.resourceInfo", dict)
    props = _require(info, "properties", "data.resourceInfo.properties", dict)
    target = _require(props, "targetResourceId", "data.resourceInfo.properties.targetResourceId", str)
    availability = props.get("availabilityState")
    if not isinstance(availability, str) or availability not in _FIRED:
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
    """The app's resources known by name (lower-cased): the primary server and Front Door (their failure
    means the primary region is failing) and the container groups (a container fault: recovery)."""
    known = (
        settings.primary_server,
        settings.container_group_blue,
        settings.container_group_green,
        settings.container_group_standby,
        settings.frontdoor_profile,
    )
    return {n.lower() for n in known}


_primary_cache: dict[str, tuple[float, set[str], str]] = {}


def current_servers(settings: Settings, generation: str = "") -> set[str]:
    """The servers that are the primary and its replica now (observed; cached a few seconds, while the
    app's lock stays at ``generation``: a DR operation that started or ended since may have changed them).
    When no primary can be told (an outage), every candidate observed: the failover's confirmation decides."""
    cached = _primary_cache.get(settings.app_name)
    if cached and cached[2] == generation and time.monotonic() - cached[0] < PRIMARY_CACHE_SECONDS:
        return cached[1]
    found = read_now(estate.find_primary(settings))
    primary = found.primary
    servers = {primary.server, primary.replica} - {""} if primary else set(found.seen)
    _primary_cache[settings.app_name] = (time.monotonic(), {s.lower() for s in servers}, generation)
    return _primary_cache[settings.app_name][1]


def known_target(signal: HealthSignal, settings: Settings) -> str:
    """The first targeted resource id protected by its name (or the backstop's), '' when none is."""
    sub = f"/subscriptions/{settings.subscription_id.lower()}/"
    known = protected_names(settings)
    for rid in signal.resource_ids:
        name = rid.rstrip("/").rsplit("/", 1)[-1]
        if rid == f"backstop:{settings.app_name}" or (rid.startswith(sub) and name in known):
            return rid
    return ""


def server_targets(signal: HealthSignal, settings: Settings) -> list[str]:
    """The targeted flexible servers in the app's subscription (which are ours: current_servers)."""
    sub = f"/subscriptions/{settings.subscription_id.lower()}/"
    return [rid for rid in signal.resource_ids if rid.startswith(sub) and SERVER_TYPE in rid]


def protected_target(signal: HealthSignal, settings: Settings, generation: str = "") -> str:
    """The first targeted resource id that is protected, or '' when none is (may read the estate;
    ``generation``: the app's lock's last change, runs.generation_of)."""
    known, servers = known_target(signal, settings), server_targets(signal, settings)
    if known or not servers:
        return known
    current = current_servers(settings, generation)
    return next((rid for rid in servers if rid.rstrip("/").rsplit("/", 1)[-1] in current), "")


# ---- acting on a signal ----------------------------------------------------------------------------------
def automatic_successes(recent: list[Any]) -> list[str]:
    """Start times of the app's recent automatic failovers that moved traffic (rule 7)."""
    out = []
    for status in recent:
        automatic = (runs.input_of(status).get("trigger") or {}).get("kind") == "alert"
        custom = getattr(status, "custom_status", None) or {}
        moved = isinstance(custom, dict) and str(custom.get("status", "")).startswith("succeeded")
        created = getattr(status, "created_time", None)
        if automatic and moved and created:
            out.append(created.isoformat())
    return out


def handled_by(recent: list[Any], alert_id: str) -> str:
    """The recent failover that an alert id already started ('' when none): one incident, one run."""
    for status in recent:
        signal = (runs.input_of(status).get("trigger") or {}).get("signal") or {}
        if alert_id and signal.get("alert_id") == alert_id:
            return str(getattr(status, "instance_id", ""))
    return ""


async def handle_signal(client: Any, settings: Settings, signal: HealthSignal) -> dict[str, Any]:
    """Start, join or acknowledge: returns {status, reason, run} (always answered with 202). One read of
    the lock tells whether a failover runs; joining it takes no lock of this worker (only a start does),
    so a storm of alerts on a running failover is answered at the speed of that read."""
    app = settings.app_name
    holder, generation = await coalesce.shared(("lock", app), lambda: runs.lock_state(client, app))
    target = await _protected(signal, settings, generation)
    if signal.practice:  # the calendar's synthetic alert: it reaches the targets and acts on nothing
        return await asyncio.to_thread(practice.answer, settings, signal, target)
    if not target:
        ids = ", ".join(signal.resource_ids) or "nothing"
        return {"status": "ignored", "reason": f"the alert targets {ids}, not a protected resource"}
    remembered = asyncio.ensure_future(deploy_signals.remember(settings, signal, target))
    try:  # the alerts log is written while the signal is acted on, and before it is answered
        return await _act(client, settings, signal, target, holder)
    finally:
        await remembered


async def _act(
    client: Any, settings: Settings, signal: HealthSignal, target: str, holder: runs.Holder | None
) -> dict[str, Any]:
    app = settings.app_name
    group = deploy_signals.container_group(target, settings)
    if not group and holder is not None and holder.operation == "failover":
        joined = await _join(client, holder.run_id, signal)
        if joined is not None:
            return joined
    waited_from = _started.get(app, (0, ""))[0]
    async with _start_lock:
        count, latest = _started.get(app, (0, ""))
        if count > waited_from and not group:  # this worker started a failover while it waited: join it
            joined = await _join(client, latest, signal)
            if joined is not None:
                return joined
        holder = await runs.lock_holder(client, app)
        if group:  # a container fault is not a regional outage
            return await deploy_signals.on_container_signal(client, settings, signal, group, holder)
        if holder is not None and holder.operation == "failover":
            joined = await _join(client, holder.run_id, signal)
            if joined is not None:
                return joined
            holder = None  # it ended as the signal arrived: as when none runs
        if signal.state == "resolved":
            return {"status": "ignored", "reason": "the alert resolved and no failover is running"}
        window = timedelta(hours=settings.auto_failover_window_hours)
        recent = await runs.recent_runs(client, "failover", app, window)
        done = handled_by(recent, signal.alert_id)
        if done:
            why = f"{done} already handled alert {signal.alert_id}"
            return {"status": "acknowledged", "reason": why, "run": done}
        payload = _failover_input(settings, signal, automatic_successes(recent))
        if holder is not None and holder.operation in deploy_signals.PREEMPTIBLE:
            return await deploy_signals.preempt_with_failover(client, settings, signal, holder, payload)
        result = await runs.start_run(
            client,
            app=app,
            operation="failover",
            orchestrator=names.FAILOVER_ORCHESTRATOR,
            payload=payload,
        )
        if result.started:
            _started[app] = (_started.get(app, (0, ""))[0] + 1, result.run_id)
    if not result.started:
        return {"status": "refused", "reason": result.decision.reason, "run": result.running}
    _delivered[(result.run_id, alert_key(signal.to_dict()))] = signal.state  # its input carries it
    return {"status": "started", "reason": f"failover started for {target}", "run": result.run_id}


async def _protected(signal: HealthSignal, settings: Settings, generation: str) -> str:
    """protected_target; a cold cache is filled by one read in a thread for every signal waiting."""
    cached = _primary_cache.get(settings.app_name)
    fresh = cached and cached[2] == generation and time.monotonic() - cached[0] < PRIMARY_CACHE_SECONDS
    if not fresh and not known_target(signal, settings) and server_targets(signal, settings):
        key = ("servers", settings.app_name, generation)
        await coalesce.shared(key, lambda: asyncio.to_thread(current_servers, settings, generation))
    return protected_target(signal, settings, generation)


_started: dict[str, tuple[int, str]] = {}  # app -> (failovers this worker started, the last one)
_delivered: dict[tuple[str, str], str] = {}  # (run, alert key) -> the state this worker delivered
DELIVERED_KEPT = 10_000


async def _join(client: Any, run_id: str, signal: HealthSignal) -> dict[str, Any] | None:
    """Join the running failover: an alert it has not heard, or a state it has not heard of that alert
    (shared.alert_instances), is delivered to it as the ``signal`` event, once per worker; duplicates are
    answered without a call. None when the run ended as the signal arrived."""
    key = (run_id, alert_key(signal.to_dict()))
    if _delivered.get(key) != signal.state:
        _delivered[key] = signal.state  # before the call: concurrent duplicates do not deliver again
        try:
            await client.raise_event(run_id, "signal", signal.to_dict())
        except Exception as exc:
            _delivered.pop(key, None)
            if "is gone" in str(exc) or "No instance" in str(exc):
                return None
            raise
        while len(_delivered) > DELIVERED_KEPT:
            _delivered.pop(next(iter(_delivered)))
    if signal.state == "resolved":
        return {"status": "delivered", "reason": f"resolved signal delivered to {run_id}", "run": run_id}
    return {"status": "acknowledged", "reason": f"{run_id} is already handling this incident", "run": run_id}


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
@endpoint(
    bp,
    names.HTTP_ALERTS,
    "POST",
    "alerts",
    body=WEBHOOK,
    tag="alerts",
    responses={
        202: "acted on or acknowledged, with the reason",
        400: "not a common-alert-schema payload",
        413: "body too large",
        503: "settings invalid",
    },
    summary="Azure Monitor action-group webhook (common alert schema)",
)
async def http_alerts(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """POST /api/alerts: an Azure Monitor action-group webhook (common alert schema). 202 or 4xx."""
    signal = signal_from_common_alert(WEBHOOK.parse(req))
    settings = current_settings()
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


# ---- timer backstop: one check a tick, decided over the last ticks ----------------------------------------
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
    if not traffic.list_origins(live).get("healthy_count"):
        return False, f"origin group {live} has no healthy origin"
    return True, "healthy"


def backstop_tick(
    settings: Settings, probes: list[dict[str, Any]], ok: bool, detail: str, now: datetime
) -> tuple[list[dict[str, Any]], HealthSignal | None]:
    """Add this tick's check to the last ones and decide (policy.confirm_outage): the probes to keep, and
    the fired signal once the last ``detection_threshold`` checks all failed (the same incident keeps
    its alert id, so repeated ticks are one run)."""
    threshold = settings.detection_threshold
    kept = [*probes, ProbeSnapshot("backstop", ok, at=now.isoformat(), detail=detail[:200]).to_dict()][
        -threshold:
    ]
    snapshots = [ProbeSnapshot.from_dict(p) for p in kept]
    decision = policy.confirm_outage(snapshots, threshold=threshold, max_probes=threshold + 1)
    if not decision.is_("confirmed"):
        return kept, None
    first = snapshots[0].at
    return kept, HealthSignal(
        source="backstop",
        state="fired",
        resource_ids=(f"backstop:{settings.app_name}",),
        observed_at=first,
        summary=f"{threshold} consecutive failed health checks: {detail}",
        alert_id=f"backstop:{settings.app_name}:{first}",
    )


def backstop_check(settings: Settings) -> HealthSignal | None:
    """This tick: one check, the kept checks read and written back (storage state), the decision."""
    from shared.azure import runtime

    try:
        ok, detail = observe_health(settings)
    except Exception as exc:
        ok, detail = False, f"check failed: {str(exc)[:200]}"
    storage, name = runtime.storage(), f"backstop-{settings.app_name}"
    probes = list((storage.read_state(name).get("state") or {}).get("probes") or [])
    kept, signal = backstop_tick(settings, probes, ok, detail, datetime.now(UTC))
    storage.write_state(name, {"probes": kept})
    return signal


@bp.function_name(names.TIMER_HEALTH_BACKSTOP)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_HEALTH_PROBE_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_health_backstop(timer: func.TimerRequest, client: Any) -> None:
    """One check of the public endpoint and primary origins; N failed ticks in a row raise the signal."""
    settings = current_settings()
    signal = await asyncio.to_thread(backstop_check, settings)
    if signal is not None:
        signal = await asyncio.to_thread(deploy_signals.container_fault, settings, signal)
        outcome = await handle_signal(client, settings, signal)
        log.info("health backstop: %s (%s)", outcome["status"], outcome["reason"])
