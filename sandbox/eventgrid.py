"""Event Grid topic: accepts Event Grid schema and CloudEvents (key auth) and delivers them to webhooks.

The topic listens on its own HTTPS port at `/api/events` as azure-eventgrid 4.22.1's
EventGridPublisherClient posts (api-version 2018-01-01, `aeg-sas-key` header, JSON arrays; CloudEvents
as `application/cloudevents-batch+json`). Subscribers are webhooks given in the `up` configuration
(`eventgrid_subscriptions: [{"url", "schema"}]`) or added at run time with
`POST /sandbox/eventgrid/subscriptions {"url", "schema"}` on the ARM port (`GET` lists them with
their delivery counts, `DELETE .../{name}` removes one). Each subscription first passes the
validation handshake (Event Grid schema: a SubscriptionValidationEvent answered with
`validationResponse`; CloudEvents: the HTTP OPTIONS abuse-protection request answered with
`WebHook-Allowed-Origin`; retried until it passes, since a subscriber may start after the sandbox, with
events queued meanwhile), then receives events one per request, retried with exponential back-off;
events that exhaust their attempts are dead-lettered (kept and counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.arm import ArmApi, ArmError
from sandbox.context import SandboxContext
from sandbox.router import Listener

SCHEMAS = ("EventGridSchema", "CloudEventSchemaV1_0")
EVENTGRID_FIELDS = ("id", "subject", "eventType", "eventTime", "data", "dataVersion")
CLOUDEVENT_FIELDS = ("id", "source", "type", "specversion")
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
DELIVERY_TIMEOUT_S = 10.0
MAX_VALIDATION_DELAY_S = 5.0


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


def to_eventgrid(event: dict[str, Any], topic: str) -> dict[str, Any]:
    """An accepted event in the Event Grid schema (a CloudEvent is mapped field by field)."""
    if "specversion" not in event:
        return {**event, "topic": event.get("topic") or topic, "metadataVersion": "1"}
    return {
        "id": event["id"],
        "topic": topic,
        "subject": event.get("subject", ""),
        "eventType": event["type"],
        "eventTime": event.get("time", _now()),
        "data": event.get("data"),
        "dataVersion": event.get("dataschema", "1.0"),
        "metadataVersion": "1",
    }


def to_cloudevent(event: dict[str, Any], topic: str) -> dict[str, Any]:
    """An accepted event as a CloudEvent 1.0 (an Event Grid event is mapped field by field)."""
    if "specversion" in event:
        return dict(event)
    out = {
        "specversion": "1.0",
        "id": event["id"],
        "source": topic,
        "type": event["eventType"],
        "subject": event.get("subject", ""),
        "time": event.get("eventTime", _now()),
        "data": event.get("data"),
        "datacontenttype": "application/json",
    }
    return out


def check_events(body: Any) -> list[dict[str, Any]]:
    """The events of a publish request; ValueError naming the first problem."""
    if not isinstance(body, list) or not body:
        raise ValueError("the body must be a non-empty JSON array of events")
    for i, event in enumerate(body):
        if not isinstance(event, dict):
            raise ValueError(f"event {i} is not an object")
        needed = CLOUDEVENT_FIELDS if "specversion" in event else EVENTGRID_FIELDS
        missing = [f for f in needed if event.get(f) in (None, "") and not (f == "data" and "data" in event)]
        if missing:
            raise ValueError(f"event {i} lacks required field(s): {', '.join(missing)}")
    return body


@dataclass
class Subscription:
    name: str
    url: str
    schema: str = "EventGridSchema"
    state: str = "AwaitingValidation"  # then Succeeded once the handshake passed
    delivered: int = 0
    attempts: int = 0
    dead_lettered: list[dict[str, Any]] = field(default_factory=list)
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None

    def view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "schema": self.schema,
            "provisioningState": self.state,
            "delivered": self.delivered,
            "attempts": self.attempts,
            "pending": self.queue.qsize(),
            "deadLettered": len(self.dead_lettered),
        }


class Topic:
    """The topic listener, its subscriptions and their delivery workers."""

    def __init__(self, topic_id: str, *, key: str, max_attempts: int = 6, first_retry_s: float = 0.2) -> None:
        self.topic_id = topic_id
        self.key = key
        self.max_attempts = max_attempts
        self.first_retry_s = first_retry_s
        self.subscriptions: dict[str, Subscription] = {}
        self.endpoint = ""
        self.published = 0
        self._listener: Listener | None = None
        self._session: aiohttp.ClientSession | None = None

    # ---- subscriptions -------------------------------------------------------------------------------
    def subscribe(self, url: Any, schema: Any = "EventGridSchema", name: Any = None) -> Subscription:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("url must be an http(s) URL")
        if schema not in SCHEMAS:
            raise ValueError(f"schema must be one of {', '.join(SCHEMAS)}")
        sub_name = name if isinstance(name, str) and name else f"sub-{len(self.subscriptions) + 1}"
        if sub_name in self.subscriptions:
            raise ValueError(f"subscription '{sub_name}' exists")
        sub = Subscription(name=sub_name, url=url, schema=schema)
        self.subscriptions[sub_name] = sub
        sub.task = asyncio.create_task(self._worker(sub))
        return sub

    async def _validate(self, sub: Subscription) -> bool:
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_S)
        if sub.schema == "CloudEventSchemaV1_0":
            headers = {"WebHook-Request-Origin": "eventgrid.azure.net", "WebHook-Request-Rate": "120"}
            async with self._session.options(sub.url, headers=headers, timeout=timeout) as resp:
                allowed = resp.headers.get("WebHook-Allowed-Origin", "")
                return resp.status == 200 and allowed in ("*", "eventgrid.azure.net")
        code = secrets.token_hex(16)
        event = {
            "id": str(uuid.uuid4()),
            "topic": self.topic_id,
            "subject": "",
            "data": {"validationCode": code, "validationUrl": f"{self.endpoint}/validate?code={code}"},
            "eventType": VALIDATION_EVENT,
            "eventTime": _now(),
            "metadataVersion": "1",
            "dataVersion": "2",
        }
        headers = {"aeg-event-type": "SubscriptionValidation", "aeg-subscription-name": sub.name.upper()}
        async with self._session.post(sub.url, json=[event], headers=headers, timeout=timeout) as resp:
            if resp.status != 200:
                return False
            with contextlib.suppress(ValueError, aiohttp.ContentTypeError):
                body = await resp.json(content_type=None)
                return isinstance(body, dict) and body.get("validationResponse") == code
        return False

    async def _with_retries(self, sub: Subscription, attempt: Any) -> bool:
        delay = self.first_retry_s
        for n in range(1, self.max_attempts + 1):
            sub.attempts += 1
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                if await attempt(n):
                    return True
            if n < self.max_attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        return False

    async def _deliver(self, sub: Subscription, event: dict[str, Any], n: int) -> bool:
        assert self._session is not None
        headers = {
            "aeg-event-type": "Notification",
            "aeg-subscription-name": sub.name.upper(),
            "aeg-delivery-count": str(n - 1),
        }
        if sub.schema == "CloudEventSchemaV1_0":
            payload: Any = to_cloudevent(event, self.topic_id)
            headers["Content-Type"] = "application/cloudevents+json; charset=utf-8"
        else:
            payload = [to_eventgrid(event, self.topic_id)]
            headers["Content-Type"] = "application/json"
        data = json.dumps(payload).encode()
        timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_S)
        async with self._session.post(sub.url, data=data, headers=headers, timeout=timeout) as resp:
            await resp.read()
            return 200 <= resp.status < 300

    async def _await_validation(self, sub: Subscription) -> None:
        """Handshake until it passes (a subscriber may start after the sandbox); events queue meanwhile."""
        delay = self.first_retry_s
        while True:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                if await self._validate(sub):
                    sub.state = "Succeeded"
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_VALIDATION_DELAY_S)

    async def _worker(self, sub: Subscription) -> None:
        await self._await_validation(sub)
        while True:
            event = await sub.queue.get()
            if await self._with_retries(sub, lambda n, e=event: self._deliver(sub, e, n)):
                sub.delivered += 1
            else:
                sub.dead_lettered.append(event)

    # ---- publishing ----------------------------------------------------------------------------------
    def authorized(self, request: web.Request) -> bool:
        given = request.headers.get("aeg-sas-key", "")
        return bool(given) and hmac.compare_digest(given.encode(), self.key.encode())

    async def publish(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return _error(
                401, "Unauthorized", "The request authorization key is not authorized for this topic."
            )
        if not request.query.get("api-version"):
            return _error(400, "BadRequest", "The api-version query parameter is required.")
        try:
            events = check_events(json.loads(await request.read() or b"null"))
        except ValueError as exc:
            return _error(400, "BadRequest", str(exc))
        for event in events:
            self.published += 1
            for sub in self.subscriptions.values():
                sub.queue.put_nowait(event)
        return web.Response(status=200)

    async def validate_get(self, request: web.Request) -> web.Response:
        return web.json_response({"validated": True})

    # ---- lifecycle -------------------------------------------------------------------------------------
    async def start(self, ssl_context: Any) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/api/events", self.publish)
        app.router.add_get("/validate", self.validate_get)
        self._listener = await Listener.start(app, 0, ssl_context=ssl_context)
        self.endpoint = f"https://127.0.0.1:{self._listener.port}"

    async def close(self) -> None:
        tasks = [s.task for s in self.subscriptions.values() if s.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._listener is not None:
            await self._listener.close()
        if self._session is not None:
            await self._session.close()


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class SubscriptionsAdmin:
    """`POST|GET /sandbox/eventgrid/subscriptions` on the ARM port."""

    def __init__(self, topic: Topic, arm: ArmApi) -> None:
        self.topic, self.arm = topic, arm

    async def add(self, request: web.Request, p: dict[str, str]) -> web.Response:
        body = await self.arm.read_json(request)
        try:
            sub = self.topic.subscribe(
                body.get("url"), body.get("schema", "EventGridSchema"), body.get("name")
            )
        except ValueError as exc:
            raise ArmError(400, "InvalidSubscription", str(exc)) from exc
        return self.arm.json(sub.view(), status=201)

    async def list(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return self.arm.json({"value": [s.view() for s in self.topic.subscriptions.values()]})

    async def delete(self, request: web.Request, p: dict[str, str]) -> web.Response:
        """Remove a subscription (its pending deliveries are dropped); already gone is a success."""
        sub = self.topic.subscriptions.pop(p["name"], None)
        if sub is not None and sub.task is not None:
            sub.task.cancel()
        return web.Response(status=204)


async def setup(ctx: SandboxContext, arm: ArmApi) -> Topic:
    from sandbox import tls

    estate = ctx.estate
    rg = estate.resource_group(estate.secondary_region)
    topic_id = estate.resource_id(rg, "Microsoft.EventGrid/topics", estate.eventgrid_topic)
    topic = Topic(topic_id, key=secrets.token_urlsafe(32))
    cert, key = ctx.server_cert()
    await topic.start(tls.server_context(cert, key))
    for sub in ctx.settings.extra.get("eventgrid_subscriptions") or []:
        topic.subscribe(sub.get("url"), sub.get("schema", "EventGridSchema"), sub.get("name"))
    admin = SubscriptionsAdmin(topic, arm)
    arm.add_route("POST", "/sandbox/eventgrid/subscriptions", admin.add)
    arm.add_route("GET", "/sandbox/eventgrid/subscriptions", admin.list)
    arm.add_route("DELETE", "/sandbox/eventgrid/subscriptions/{name}", admin.delete)
    ctx.endpoints["eventgrid_topic_endpoint"] = f"{topic.endpoint}/api/events"
    ctx.endpoints["eventgrid_topic_key"] = topic.key
    ctx.endpoints["eventgrid_topic_id"] = topic_id
    ctx.components["eventgrid"] = topic
    return topic
