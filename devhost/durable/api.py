"""DurableEngine: the engine behind the Durable extension's HTTP API (/runtime/webhooks/durabletask).

Same routes, query parameters, JSON shapes and status codes as the extension's HttpApiHandler, so the
unmodified DurableOrchestrationClient (built from `client_binding()`) and the webhook URLs returned by
`create_check_status_response` work against it. As on the real host, the public webhook needs a key: the
extension's system key (`code=` in every URL the binding hands out, as the extension writes them) or the
master key; without one it answers 401. The worker's own client calls go, like the real host's
`rpcBaseUrl`, to an internal path that is not published: here `/durabletask-rpc/<random token>/`.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from devhost.durable import status as st
from devhost.durable.engine import TERMINAL, EngineError, Runtime, _print
from devhost.durable.history import iso, parse_iso, utcnow
from devhost.durable.store import ACTIVE_STATUSES

PREFIX = "/runtime/webhooks/durabletask"
RPC_PREFIX = "/durabletask-rpc"
Handler = Callable[[web.Request], Any]
_STATUSES = (
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Canceled",
    "Terminated",
    "Pending",
    "Suspended",
)


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name, "").strip().lower()
    return {"true": True, "false": False}.get(value, default)


def _seconds(request: web.Request, name: str) -> float | None:
    try:
        return float(request.query[name])
    except (KeyError, ValueError):
        return None


def _when(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return iso(parse_iso(value))
    except ValueError:
        return None


def _error(status: int, message: str, detail: str, kind: str) -> web.Response:
    body = {"Message": message, "ExceptionMessage": detail, "ExceptionType": kind, "StackTrace": None}
    return web.json_response(body, status=status)


def _json_text(raw: bytes) -> str | None:
    """Input or event data as JSON text. The SDK client posts JSON text as a JSON string; unwrap it."""
    if not raw.strip():
        return None
    value = json.loads(raw)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    return None if value is None else json.dumps(value)


class DurableEngine:
    """The durable engine devhost mounts: lifecycle, HTTP routes and the durable client binding."""

    def __init__(
        self,
        functions: list[Any],
        state_dir: Path,
        *,
        base_url: str,
        hub_name: str,
        workers: int = 4,
        log: Callable[[str], None] | None = None,
        overridable_states: str = "AnyState",
        keys: tuple[str, ...] = (),
    ) -> None:
        """``keys``: the system key first, then any other key the public webhook takes (the master key);
        none: the webhook is open (tests of the engine alone)."""
        self.runtime = Runtime(list(functions), Path(state_dir), workers, log or _print)
        self.runtime.client_binding = self.client_binding
        self.base_url = base_url.rstrip("/")
        self.hub_name = hub_name
        self.replace_running = overridable_states != "NonRunningStates"
        self.keys = keys
        self.rpc_token = secrets.token_urlsafe(24)

    async def start(self) -> None:
        await self.runtime.start()

    async def stop(self) -> None:
        await self.runtime.stop()

    # ---- binding and URLs ------------------------------------------------------------------------
    @property
    def webhook(self) -> str:
        return f"{self.base_url}{PREFIX}"

    def _query(self) -> str:
        code = f"&code={quote(self.keys[0])}" if self.keys else ""
        return f"taskHub={quote(self.hub_name)}&connection=Storage{code}"

    def management_urls(self, instance_id: str) -> dict[str, str]:
        base, q = f"{self.webhook}/instances/{instance_id}", self._query()
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{q}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{q}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{q}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{q}",
            "purgeHistoryDeleteUri": f"{base}?{q}",
            "restartPostUri": f"{base}/restart?{q}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{q}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{q}",
        }

    def client_binding(self) -> str:
        """The JSON the extension passes as a `durableClient` input binding."""
        q = self._query()
        creation = f"{self.webhook}/orchestrators/{{functionName}}[/{{instanceId}}]?{q}"
        return json.dumps(
            {
                "taskHubName": self.hub_name,
                "creationUrls": {
                    "createNewInstancePostUri": creation,
                    "createAndWaitOnNewInstancePostUri": creation.replace(
                        "?", "?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&", 1
                    ),
                },
                "managementUrls": self.management_urls("INSTANCEID"),
                "baseUrl": self.webhook,
                "requiredQueryStringParameters": q,
                "rpcBaseUrl": f"{self.base_url}{RPC_PREFIX}/{self.rpc_token}/",
                "httpBaseUrl": "",
            }
        )

    # ---- routes ----------------------------------------------------------------------------------
    def routes(self) -> list[web.AbstractRouteDef]:
        """The public webhook (keyed) and the worker's internal path (its token is the key)."""
        return self._routes(PREFIX, self._keyed) + self._routes(f"{RPC_PREFIX}/{self.rpc_token}", lambda h: h)

    def _routes(self, p: str, guard: Callable[[Handler], Handler]) -> list[web.AbstractRouteDef]:
        return [
            web.post(f"{p}/orchestrators/{{name}}", guard(self._start)),
            web.post(f"{p}/orchestrators/{{name}}/{{instance_id}}", guard(self._start)),
            web.get(f"{p}/instances", guard(self._list)),
            web.get(f"{p}/instances/", guard(self._list)),
            web.delete(f"{p}/instances", guard(self._purge_by)),
            web.delete(f"{p}/instances/", guard(self._purge_by)),
            web.get(f"{p}/instances/{{instance_id}}", guard(self._status)),
            web.delete(f"{p}/instances/{{instance_id}}", guard(self._purge)),
            web.post(f"{p}/instances/{{instance_id}}/raiseEvent/{{event}}", guard(self._raise_event)),
            web.post(f"{p}/instances/{{instance_id}}/{{operation}}", guard(self._operation)),
        ]

    def _keyed(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if self.keys and not self._key_ok(request):
                return web.Response(status=401)
            result: web.StreamResponse = await handler(request)
            return result

        return guarded

    def _key_ok(self, request: web.Request) -> bool:
        presented = request.headers.get("x-functions-key") or request.query.get("code") or ""
        given = presented.encode("utf-8", "surrogateescape")
        return any(hmac.compare_digest(given, key.encode()) for key in self.keys)

    async def _start(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        instance_id = request.match_info.get("instance_id") or uuid.uuid4().hex
        try:
            input_text = _json_text(await request.read())
        except ValueError as exc:
            return _error(400, "Invalid JSON content", str(exc), "Newtonsoft.Json.JsonReaderException")
        try:
            self.start_new(name, instance_id, input_text)
        except EngineError as exc:
            message = (
                "One or more of the arguments submitted is incorrect"
                if exc.status == 400
                else "Something went wrong while processing your request"
            )
            return _error(exc.status, message, str(exc), exc.exception_type)
        timeout = _seconds(request, "timeout")
        if timeout is not None and _seconds(request, "pollingInterval") is not None:
            return await self._wait_or_check_status(request, instance_id, timeout)
        return self._check_status_response(instance_id)

    async def _wait_or_check_status(
        self, request: web.Request, instance_id: str, timeout: float
    ) -> web.Response:
        """The extension's create-and-wait: the output when done in time, else the check-status response."""
        await self.runtime.wait_finished(instance_id, timeout)
        row = self.runtime.store.get_instance(instance_id)
        if row is not None and row.status == "Completed":
            return web.json_response(st.loads(row.output))
        if row is not None and row.status in TERMINAL:
            return web.json_response(st.render(row, None, show_input=True, show_output=False))
        return self._check_status_response(instance_id)

    def _check_status_response(self, instance_id: str) -> web.Response:
        payload = self.management_urls(instance_id)
        headers = {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        return web.json_response(payload, status=202, headers=headers)

    def start_new(self, name: str, instance_id: str, input_text: str | None) -> None:
        rt = self.runtime
        if name not in rt.orchestrators:
            raise EngineError(
                400, f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
            )
        if not instance_id or any(c in instance_id for c in "/\\?#") or not instance_id.isprintable():
            raise EngineError(400, f"Instance ID '{instance_id}' contains invalid characters.")
        existing = rt.store.get_instance(instance_id)
        if existing is not None and existing.status in ACTIVE_STATUSES and not self.replace_running:
            raise EngineError(
                500,
                f"An Orchestration instance with the status {existing.status} already exists.",
                "System.InvalidOperationException",
            )
        rt.install_new(rt.new_row(instance_id, name, input_text, utcnow()), utcnow())

    async def _status(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        row = self.runtime.store.get_instance(instance_id)
        if row is None:
            return web.Response(status=404)
        history = None
        if _flag(request, "showHistory", False):
            history = [json.loads(e) for e in self.runtime.store.history(instance_id)]
        payload = st.render(
            row,
            history,
            show_input=_flag(request, "showInput", True),
            show_output=_flag(request, "showHistoryOutput", False),
        )
        if row.status in ("Running", "Pending", "ContinuedAsNew", "Suspended"):
            headers = {"Location": str(request.url), "Retry-After": "5"}
            return web.json_response(payload, status=202, headers=headers)
        failed_500 = row.status == "Failed" and _flag(request, "returnInternalServerErrorOnFailure", False)
        return web.json_response(payload, status=500 if failed_500 else 200)

    def _filters(self, request: web.Request) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        statuses = [
            s for v in request.query.getall("runtimeStatus", []) for s in v.split(",") if s in _STATUSES
        ]
        if statuses:
            clauses.append(f"status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        for name, op in (("createdTimeFrom", ">="), ("createdTimeTo", "<=")):
            when = _when(request, name)
            if when is not None:
                clauses.append(f"created {op} ?")
                args.append(when)
        prefix = request.query.get("instanceIdPrefix")
        if prefix:
            clauses.append("substr(instance_id, 1, ?) = ?")
            args.extend([len(prefix), prefix])
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", args

    async def _list(self, request: web.Request) -> web.Response:
        where, args = self._filters(request)
        try:
            top = int(request.query.get("top", "0"))
        except ValueError:
            top = 0
        offset = _decode_token(request.headers.get("x-ms-continuation-token"))
        limit = top if top > 0 else -1
        rows = self.runtime.store.query_instances(where, args, limit if limit < 0 else limit + 1, offset)
        more = limit > 0 and len(rows) > limit
        rows = rows[:limit] if more else rows
        show_input = _flag(request, "showInput", True)
        body = [st.render(r, None, show_input=show_input, show_output=False) for r in rows]
        headers = {"x-ms-continuation-token": _encode_token(offset + len(rows))} if more else {}
        return web.json_response(body, headers=headers)

    async def _purge(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        row = self.runtime.store.get_instance(instance_id)
        if row is None:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": self.purge([instance_id])})

    async def _purge_by(self, request: web.Request) -> web.Response:
        if _when(request, "createdTimeFrom") is None:
            return web.json_response("Please provide value for 'createdTimeFrom' parameter.", status=400)
        where, args = self._filters(request)
        rows = self.runtime.store.query_instances(where, args, -1, 0)
        deleted = self.purge([r.instance_id for r in rows])
        if deleted == 0:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    def purge(self, instance_ids: list[str]) -> int:
        """Delete instances in a terminal state with all their history; returns how many."""
        store, deleted = self.runtime.store, 0
        with store.transaction():
            for instance_id in instance_ids:
                row = store.get_instance(instance_id)
                if row is not None and row.status in TERMINAL:
                    store.delete_instance(instance_id)
                    deleted += 1
        return deleted

    async def _raise_event(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        row = self.runtime.store.get_instance(instance_id)
        if row is None:
            return web.Response(status=404)
        if row.status in TERMINAL:
            return web.Response(status=410)
        if request.content_type.lower() != "application/json":
            return _error(
                400, "Only application/json request content is supported", "", "System.ArgumentException"
            )
        try:
            data = _json_text(await request.read())
        except ValueError as exc:
            return _error(400, "Invalid JSON content", str(exc), "Newtonsoft.Json.JsonReaderException")
        self.runtime.raise_event(instance_id, request.match_info["event"], data or "null")
        return web.Response(status=202)

    async def _operation(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        operation = request.match_info["operation"].lower()
        row = self.runtime.store.get_instance(instance_id)
        if operation not in ("terminate", "suspend", "resume", "restart", "rewind"):
            return web.Response(status=404)
        if row is None:
            return web.Response(status=404)
        if operation == "restart":
            return self._restart(request, row.name, row.input, instance_id)
        if row.status in TERMINAL:
            return web.Response(status=410)
        reason = request.query.get("reason")
        if operation == "terminate":
            self.runtime.terminate(instance_id, reason)
        elif operation in ("suspend", "resume"):
            self.runtime.set_suspended(instance_id, operation == "suspend", reason)
        else:
            return _error(400, "Rewind is not supported by devhost", "", "System.NotSupportedException")
        return web.Response(status=202)

    def _restart(
        self, request: web.Request, name: str, input_text: str | None, instance_id: str
    ) -> web.Response:
        new_id = uuid.uuid4().hex if _flag(request, "restartWithNewInstanceId", True) else instance_id
        try:
            self.start_new(name, new_id, input_text)
        except EngineError as exc:
            return _error(
                exc.status,
                "InstanceId does not match a valid orchestration instance.",
                str(exc),
                exc.exception_type,
            )
        return self._check_status_response(new_id)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token or token == "null":
        return 0
    try:
        return max(0, int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]))
    except (ValueError, KeyError, TypeError):
        return 0
