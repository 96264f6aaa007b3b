"""Event Grid triggers at ``/runtime/webhooks/eventgrid?functionName={name}``, as the extension serves them.

- ``OPTIONS``: the CloudEvents webhook validation handshake (``WebHook-Request-Origin`` answered with
  ``WebHook-Allowed-Origin``).
- ``POST`` with ``aeg-event-type: SubscriptionValidation``: answers ``{"validationResponse": code}``.
- ``POST`` notifications: an array of Event Grid schema events, one CloudEvent
  (``application/cloudevents+json`` or an object with ``specversion``) or a batch of them
  (``application/cloudevents-batch+json``); one invocation per event, in order. 202 when every
  invocation succeeded, 500 otherwise (Event Grid then retries the delivery).
- ``aeg-event-type: Unsubscribe``: 202, nothing invoked.
A key is required (the master key or the function key, as ``x-functions-key`` or ``code``): 401.
An unknown function is a 404; a malformed payload a 400 that invokes nothing; a delivery larger than
Event Grid's own limit (1 MB for the array, ``MAX_DELIVERY_BYTES``) a 413 that invokes nothing, as Event
Grid answers a publisher; JSON nested deeper than ``MAX_DEPTH`` (64, the default limit of .NET's
System.Text.Json reader) a 400.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web
from azure.functions import meta
from azure.functions.eventgrid import EventGridEventInConverter

from devhost.functions import FunctionInfo, Invoker
from devhost.keys import HostKeys, authorized, presented_key

__all__ = ["EventGridWebhook", "PayloadError", "PayloadTooLarge", "parse_events", "to_binding_value"]

PATH = "/runtime/webhooks/eventgrid"
MAX_DELIVERY_BYTES = 1024 * 1024  # Event Grid: an array of events is at most 1 MB (413 beyond)
MAX_DEPTH = 64
_EVENTGRID_REQUIRED = ("id", "eventType", "subject", "eventTime")
_CLOUDEVENT_REQUIRED = ("id", "source", "type", "specversion")
_NON_EMPTY = ("id", "eventType", "source", "type", "specversion")  # a subject may be ""


class PayloadError(ValueError):
    """A delivery that is not valid Event Grid or CloudEvents JSON; the message says why."""


class PayloadTooLarge(PayloadError):
    """A delivery over MAX_DELIVERY_BYTES (413)."""


def parse_events(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """The events of one delivery, validated; raises PayloadTooLarge over the size limit, PayloadError
    for a malformed payload (not JSON, nested too deep, not events)."""
    if len(body) > MAX_DELIVERY_BYTES:
        raise PayloadTooLarge(f"the delivery is larger than {MAX_DELIVERY_BYTES} bytes")
    try:
        payload = json.loads(body)
    except RecursionError:
        raise PayloadError(f"body is nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"body is not JSON: {exc}") from exc
    if _depth(payload) > MAX_DEPTH:
        raise PayloadError(f"body is nested deeper than {MAX_DEPTH} levels")
    batch = "cloudevents-batch+json" in content_type
    if isinstance(payload, dict) and not batch:
        events = [payload]
    elif isinstance(payload, list) and payload:
        events = payload
    else:
        raise PayloadError("expected a non-empty JSON array of events (or one CloudEvent object)")
    for index, event in enumerate(events):
        _check_event(event, index)
    return events


def _depth(value: Any) -> int:
    """How deep a parsed JSON value nests (iteratively: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level <= MAX_DEPTH and isinstance(item, dict | list):
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _check_event(event: Any, index: int) -> None:
    if not isinstance(event, dict):
        raise PayloadError(f"event {index} is not a JSON object")
    required = _CLOUDEVENT_REQUIRED if "specversion" in event else _EVENTGRID_REQUIRED
    missing = [key for key in required if not isinstance(event.get(key), str)]
    empty = [key for key in required if key in _NON_EMPTY and event.get(key) == ""]
    if missing or empty:
        raise PayloadError(f"event {index} lacks {', '.join(missing + empty)}")
    moment = event.get("time") if "specversion" in event else event.get("eventTime")
    if moment is not None and not _is_timestamp(moment):
        raise PayloadError(f"event {index} has a time that is not ISO 8601: {moment!r}")


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def to_binding_value(event: dict[str, Any]) -> Any:
    """The EventGridEvent (or CloudEvent) the Python worker builds from one event."""
    return EventGridEventInConverter.decode(meta.Datum(json.dumps(event), "json"), trigger_metadata={})


def validation_code(events: list[dict[str, Any]]) -> str:
    data = events[0].get("data")
    code = data.get("validationCode") if isinstance(data, dict) else None
    if not isinstance(code, str) or not code:
        raise PayloadError("subscription validation event lacks data.validationCode")
    return code


class EventGridWebhook:
    """The aiohttp handlers of the Event Grid webhook."""

    def __init__(self, functions: dict[str, FunctionInfo], invoker: Invoker, keys: HostKeys) -> None:
        self._functions = {n: f for n, f in functions.items() if f.trigger_type == "eventGridTrigger"}
        self._invoker = invoker
        self._keys = keys

    def routes(self) -> list[web.RouteDef]:
        return [web.post(PATH, self.handle_post), web.options(PATH, self.handle_options)]

    async def handle_options(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("WebHook-Request-Origin")
        if not origin:
            return web.json_response({"error": "WebHook-Request-Origin header is required"}, status=400)
        return web.Response(
            status=200, headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"}
        )

    async def handle_post(self, request: web.Request) -> web.StreamResponse:
        if not authorized("function", presented_key(request.headers, request.query), self._keys):
            return web.Response(status=401)
        fn = self._functions.get(request.query.get("functionName", ""))
        if fn is None:
            return web.json_response({"error": "no Event Grid function of that name"}, status=404)
        kind = request.headers.get("aeg-event-type", "Notification")
        if kind == "Unsubscribe":
            return web.Response(status=202)
        if (request.content_length or 0) > MAX_DELIVERY_BYTES:
            return web.json_response({"error": f"larger than {MAX_DELIVERY_BYTES} bytes"}, status=413)
        try:
            events = parse_events(await request.read(), request.headers.get("Content-Type", ""))
            if kind == "SubscriptionValidation":
                return web.json_response({"validationResponse": validation_code(events)})
        except PayloadError as exc:
            status = 413 if isinstance(exc, PayloadTooLarge) else 400
            return web.json_response({"error": str(exc)}, status=status)
        return await self._deliver(fn, events)

    async def _deliver(self, fn: FunctionInfo, events: list[dict[str, Any]]) -> web.StreamResponse:
        failed = 0
        for event in events:
            invocation = await self._invoker.invoke(fn, to_binding_value(event))
            failed += 0 if invocation.succeeded else 1
        if failed:
            return web.json_response({"error": f"{failed} of {len(events)} invocations failed"}, status=500)
        return web.Response(status=202)
