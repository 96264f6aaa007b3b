"""The ARM-compatible HTTP framework: routing, auth, api-version, faults, errors, long-running operations.

Components register handlers with :meth:`ArmApi.add_route`; the framework answers everything else the
way Azure Resource Manager does, so the unmodified Azure management SDKs can talk to the sandbox.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import json
import logging
import random
import re
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox import api_versions
from sandbox.context import FAULT_KINDS, SandboxContext

log = logging.getLogger("sandbox.arm")

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]
Result = dict[str, Any] | None
Work = Callable[[], Awaitable[Result] | Result]  # see ArmApi.begin_lro

_PARAM = re.compile(r"\{(\w+)(\*?)\}")


class ArmError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def not_found(kind: str, name: str, resource_group: str) -> ArmError:
    """The 404 ARM answers for a missing resource."""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{kind}/{name}' under resource group '{resource_group}' was not found.",
    )


def utc_now() -> str:
    """Current time as ARM writes it (ISO 8601, UTC, with offset)."""
    return datetime.datetime.now(datetime.UTC).isoformat()


@dataclass
class _Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler


@dataclass
class Operation:
    """A long-running operation's status resource."""

    id: str
    status: str = "InProgress"
    start_time: str = field(default_factory=utc_now)
    end_time: str | None = None
    result: dict[str, Any] | None = None
    error: ArmError | None = None

    def status_body(self, url: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": url,
            "name": self.id,
            "status": self.status,
            "startTime": self.start_time,
        }
        if self.end_time:
            body["endTime"] = self.end_time
        if self.error is not None:
            body["error"] = self.error.body()["error"]
        return body


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``/a/{x}/b/{rest*}`` -> regex; literals match case-insensitively, ``{p*}`` spans segments."""
    out, pos = [], 0
    for m in _PARAM.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>.+?)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(out) + "/?$", re.IGNORECASE)


class ArmApi:
    """The ARM endpoint: one aiohttp application dispatching to registered handlers."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.fault_rate = 0.0
        self.operations: dict[str, Operation] = {}
        self._routes: list[_Route] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._random = random.Random()
        self.requests_served = 0
        self.faults_injected = 0
        self._faulted: dict[str, int] = {}
        ctx.on_fault("arm-faults", self._set_fault_rate)
        ctx.on_fault("clear", self._clear_faults)
        self._add_core_routes()

    # ---- registration ---------------------------------------------------------------------------
    def add_route(self, method: str, path_pattern: str, handler: Handler) -> None:
        """Serve ``method path_pattern`` with ``async handler(request, params)``.

        Parameters named ``sub`` and ``rg`` are checked against the estate (404
        SubscriptionNotFound / ResourceGroupNotFound) before the handler runs.
        """
        self._routes.append(_Route(method.upper(), path_pattern, compile_pattern(path_pattern), handler))

    def _add_core_routes(self) -> None:
        ops = "/subscriptions/{sub}/providers/{provider}/locations/{location}"
        self.add_route("GET", ops + "/azureAsyncOperation/{operation_id}", self._operation_status)
        self.add_route("GET", ops + "/operationResults/{operation_id}", self._operation_result)
        self.add_route("GET", "/subscriptions/{sub}/resourcegroups/{rg}", self._resource_group)

    # ---- helpers for handlers -------------------------------------------------------------------
    @staticmethod
    def json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response(body, status=status, headers=headers)

    @staticmethod
    def page(items: list[dict[str, Any]]) -> web.Response:
        """A list answer (a single page)."""
        return web.json_response({"value": items})

    @staticmethod
    async def read_json(request: web.Request) -> dict[str, Any]:
        """The request body as a JSON object, or 400 InvalidRequestContent."""
        raw = await request.read()
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise ArmError(
                400, "InvalidRequestContent", f"The request content is not valid JSON: {exc}"
            ) from exc
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
        return body

    def begin_lro(
        self,
        request: web.Request,
        work: Work | None = None,
        *,
        status: int = 202,
        body: dict[str, Any] | None = None,
    ) -> web.Response:
        """Answer as ARM does for a long-running operation, and run ``work`` as that operation.

        ``work`` is an async function that makes the change; or a plain function when the change is
        already made (it gives the result, read as the operation completes); or None when nothing is
        left to do. Its result is a dict or None. The answer is ``status`` (202; a PUT that shows the
        resource at once answers 200/201 with ``body``) with ``Azure-AsyncOperation`` (the status
        resource: InProgress -> Succeeded or Failed), ``Location`` (the operation-result resource: 202
        while running, then 200 with the result, or 204 when there is none) and the retry header. An
        :class:`ArmError` raised by ``work`` becomes the operation's error, any other exception a 500.
        """
        op = Operation(id=str(uuid.uuid4()))
        self.operations[op.id] = op
        task = asyncio.create_task(self._run(op, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        base = self._operation_base(request)
        query = f"?api-version={request.query.get('api-version', '')}"
        headers = {
            "Azure-AsyncOperation": f"{base}/azureAsyncOperation/{op.id}{query}",
            "Location": f"{base}/operationResults/{op.id}{query}",
            **self.ctx.settings.retry_headers(),
        }
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    async def _run(self, op: Operation, work: Work | None) -> None:
        try:
            result = work() if work is not None else None
            if inspect.isawaitable(result):
                result = await result
            op.result = result
            op.status = "Succeeded"
        except ArmError as exc:
            op.error, op.status = exc, "Failed"
        except Exception as exc:  # any failure of the work is the operation's failure
            log.error("operation %s failed:\n%s", op.id, traceback.format_exc())
            op.error, op.status = (
                ArmError(500, "InternalServerError", str(exc) or type(exc).__name__),
                "Failed",
            )
        op.end_time = utc_now()

    def _operation_base(self, request: web.Request) -> str:
        parts = request.path.split("/")
        lowered = [p.lower() for p in parts]
        provider = parts[lowered.index("providers") + 1] if "providers" in lowered else "Microsoft.Resources"
        sub = parts[2] if len(parts) > 2 else self.ctx.estate.subscription_id
        region = self.ctx.estate.primary_region
        return f"{request.url.origin()}/subscriptions/{sub}/providers/{provider}/locations/{region}"

    def _operation(self, params: dict[str, str]) -> Operation:
        op = self.operations.get(params["operation_id"])
        if op is None:
            raise ArmError(
                404, "OperationNotFound", f"The operation '{params['operation_id']}' was not found."
            )
        return op

    async def _operation_status(self, request: web.Request, params: dict[str, str]) -> web.Response:
        op = self._operation(params)
        headers = self.ctx.settings.retry_headers() if op.status == "InProgress" else {}
        return self.json(op.status_body(str(request.url)), headers=headers)

    async def _operation_result(self, request: web.Request, params: dict[str, str]) -> web.Response:
        op = self._operation(params)
        if op.status == "InProgress":
            headers = {"Location": str(request.url), **self.ctx.settings.retry_headers()}
            return web.Response(status=202, headers=headers)
        if op.error is not None:
            raise op.error
        return web.Response(status=204) if op.result is None else self.json(op.result)

    async def _resource_group(self, request: web.Request, params: dict[str, str]) -> web.Response:
        region = self.ctx.estate.region_of_group(params["rg"])
        name = self.ctx.estate.resource_group(region or "")
        body = {
            "id": f"/subscriptions/{self.ctx.estate.subscription_id}/resourceGroups/{name}",
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": region,
            "properties": {"provisioningState": "Succeeded"},
        }
        return self.json(body)

    # ---- faults ---------------------------------------------------------------------------------
    async def _set_fault_rate(self, rate: float | str = 0.0, **_: Any) -> dict[str, Any]:
        value = float(rate)
        if not 0.0 <= value <= 1.0:
            raise ValueError("arm-faults rate must be between 0 and 1")
        self.fault_rate = value
        return {"arm_fault_rate": value}

    async def _clear_faults(self, **_: Any) -> dict[str, Any]:
        self.fault_rate = 0.0
        return {"arm_fault_rate": 0.0}

    def _injected_fault(self, request: web.Request) -> web.Response | None:
        """A 429/503 for ``fault_rate`` of the calls. One request (its x-ms-client-request-id, kept
        across the SDK's retries) is faulted at most twice: azure-core retries a status 3 times."""
        if self.fault_rate <= 0 or self._random.random() >= self.fault_rate:
            return None
        request_id = request.headers.get("x-ms-client-request-id")
        if request_id:
            seen = self._faulted.get(request_id, 0)
            if seen >= 2:
                return None
            self._faulted[request_id] = seen + 1
            while len(self._faulted) > 10_000:
                self._faulted.pop(next(iter(self._faulted)))
        method = request.method
        # azure-core retries POST and PATCH only on 500/503/504, other methods on 429 too.
        self.faults_injected += 1
        throttle = method not in ("POST", "PATCH") and self._random.random() < 0.5
        status, code = (429, "TooManyRequests") if throttle else (503, "ServiceUnavailable")
        message = "Injected fault: the request was throttled." if throttle else "Injected fault: unavailable."
        err = ArmError(status, code, message, self.ctx.settings.retry_headers())
        return self._error_response(err)

    # ---- dispatch -------------------------------------------------------------------------------
    @staticmethod
    def _error_response(err: ArmError) -> web.Response:
        headers = {"x-ms-failure-cause": "gateway", **err.headers}
        return web.json_response(err.body(), status=err.status, headers=headers)

    def _check_auth(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            challenge = (
                'Bearer authorization_uri="https://login.microsoftonline.com/'
                f'{self.ctx.estate.tenant_id}", error="invalid_token", '
                "error_description=\"The authentication failed because of missing 'Authorization' header.\""
            )
            raise ArmError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                {"WWW-Authenticate": challenge},
            )

    def _check_scope(self, params: dict[str, str]) -> None:
        estate = self.ctx.estate
        sub = params.get("sub")
        if sub is not None and sub.lower() != estate.subscription_id.lower():
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        rg = params.get("rg")
        if rg is not None and estate.region_of_group(rg) is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]]:
        path_matched = False
        for route in self._routes:
            m = route.regex.match(path)
            if m is None:
                continue
            path_matched = True
            if route.method == method:
                return route, m.groupdict()
        if path_matched:
            raise ArmError(405, "MethodNotAllowed", f"The method '{method}' is not supported on '{path}'.")
        raise ArmError(404, "InvalidResourceType", f"The sandbox does not serve the resource path '{path}'.")

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        start = time.monotonic()
        self.requests_served += 1
        try:
            response = await self._dispatch(request)
        except ArmError as err:
            response = self._error_response(err)
        except Exception:
            log.error("unhandled error on %s %s:\n%s", request.method, request.path, traceback.format_exc())
            response = self._error_response(ArmError(500, "InternalServerError", "Unexpected sandbox error."))
        response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        log.info(
            "%s %s -> %s %.0fms",
            request.method,
            request.path_qs,
            response.status,
            (time.monotonic() - start) * 1000,
        )
        return response

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self._check_auth(request)
        if request.path.startswith("/sandbox/"):
            return await self._admin(request)
        if not request.query.get("api-version"):
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        route, params = self._match(request.method, request.path)
        refused = api_versions.unsupported(request.method, request.path, request.query["api-version"])
        if refused is not None:
            raise ArmError(400, "InvalidApiVersionParameter", refused)
        injected = self._injected_fault(request)
        if injected is not None:
            return injected
        self._check_scope(params)
        return await route.handler(request, params)

    # ---- admin (sandbox control, not ARM) ------------------------------------------------------
    async def _admin(self, request: web.Request) -> web.Response:
        if request.path == "/sandbox/status" and request.method == "GET":
            return self.json(self.status())
        if request.path == "/sandbox/faults" and request.method == "POST":
            body = await self.read_json(request)
            kind, args = body.get("kind"), body.get("args") or {}
            if kind not in FAULT_KINDS or not isinstance(args, dict):
                raise ArmError(
                    400, "InvalidFault", f"kind must be one of {', '.join(FAULT_KINDS)}; args an object"
                )
            try:
                return self.json(await self.ctx.fire_fault(kind, **args))
            except (ValueError, TypeError) as exc:
                raise ArmError(400, "InvalidFault", str(exc)) from exc
        for route in self._routes:  # admin routes components registered (e.g. /sandbox/eventgrid/...)
            m = route.regex.match(request.path)
            if m is not None and route.method == request.method and route.pattern.startswith("/sandbox/"):
                return await route.handler(request, m.groupdict())  # type: ignore[return-value]
        raise ArmError(404, "NotFound", f"No sandbox admin route '{request.method} {request.path}'.")

    def status(self) -> dict[str, Any]:
        return {
            "endpoints": self.ctx.endpoints,
            "components": sorted(self.ctx.components),
            "processes": self.ctx.running_processes(),
            "faults": self.ctx.active_faults,
            "arm_fault_rate": self.fault_rate,
            "requests_served": self.requests_served,
            "faults_injected": self.faults_injected,
            "actions": self.ctx.actions.view(),
            "resources": {
                name: summary()
                for name, component in self.ctx.components.items()
                if callable(summary := getattr(component, "summary", None))
            },
        }

    def application(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app
