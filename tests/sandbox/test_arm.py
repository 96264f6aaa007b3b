"""The ARM framework as the Azure SDK's own pipeline and LRO poller see it (in-process server)."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from azure.core.exceptions import HttpResponseError
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.postgresqlflexibleservers import PostgreSQLManagementClient

from sandbox import tls
from sandbox.arm import ArmApi, ArmError, not_found
from sandbox.client import StaticTokenCredential
from sandbox.context import SandboxContext, Settings
from sandbox.estate import Estate
from tests.polling import until

API = "api-version=2099-01-01"
WIDGETS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Test/widgets/{name}"


class Widgets:
    """A tiny resource provider registered on the framework, the way components register theirs."""

    def __init__(self, arm: ArmApi) -> None:
        self.arm, self.items, self.release = arm, {}, asyncio.Event()
        self.items: dict[str, dict[str, Any]] = {}
        arm.add_route("GET", WIDGETS, self.get)
        arm.add_route("PUT", WIDGETS, self.put)
        arm.add_route("DELETE", WIDGETS, self.delete)
        arm.add_route("POST", WIDGETS + "/polish", self.polish)

    async def get(self, request: web.Request, p: dict[str, str]) -> web.Response:
        if p["name"] not in self.items:
            raise not_found("Microsoft.Test/widgets", p["name"], p["rg"])
        return self.arm.json(self.items[p["name"]])

    async def put(self, request: web.Request, p: dict[str, str]) -> web.Response:
        body = await self.arm.read_json(request)

        async def work() -> dict[str, Any]:
            await asyncio.sleep(0.3)  # long enough that the poller sees InProgress first
            if body.get("fail"):
                raise ArmError(409, "WidgetConflict", "the widget cannot be built")
            self.items[p["name"]] = {"name": p["name"], "properties": {"provisioningState": "Succeeded"}}
            return self.items[p["name"]]

        return self.arm.begin_lro(request, work)

    async def delete(self, request: web.Request, p: dict[str, str]) -> web.Response:
        async def work() -> None:
            self.items.pop(p["name"], None)

        return self.arm.begin_lro(request, work)

    async def polish(self, request: web.Request, p: dict[str, str]) -> web.Response:
        async def work() -> dict[str, Any]:
            await asyncio.sleep(0.2)
            return {"polished": p["name"]}

        return self.arm.begin_lro(request, work)


class Server:
    def __init__(self, tmp: Path) -> None:
        self.ctx = SandboxContext(tmp, Estate(), Settings(retry_after=0.1))
        self.arm = ArmApi(self.ctx)
        self.widgets: Widgets | None = None
        self.clients: list[Any] = []
        self.loop = asyncio.new_event_loop()
        self.port = self.ctx.free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(30)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.widgets = Widgets(self.arm)
        cert, key = self.ctx.server_cert()
        self.runner = web.AppRunner(self.arm.application(), access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, ssl_context=tls.server_context(cert, key))
        self.loop.run_until_complete(site.start())
        ready.set()
        self.loop.run_forever()

    async def _abort_transports(self) -> None:
        """Close server-side sockets left open (e.g. mid TLS shutdown) so none outlives the test."""
        for transport in list(self.loop._transports.values()):  # type: ignore[attr-defined]
            if transport is not None and not transport.is_closing():
                transport.abort()
        await asyncio.sleep(0)

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.call(self.runner.cleanup())
        self.call(self._abort_transports())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    try:
        yield s
    finally:
        s.stop()


def pipeline(server: Server) -> Any:
    """The real ARM pipeline (auth, retries) of a generated management client (closed with the server)."""
    client = PostgreSQLManagementClient(
        StaticTokenCredential(),
        server.ctx.estate.subscription_id,
        base_url=server.url,
        connection_verify=str(server.ctx.ca_cert_path),
        retry_backoff_factor=0.05,
    )
    client._client.test_base = server.url
    server.clients.append(client)
    return client._client


def widget_path(server: Server, name: str, suffix: str = "") -> str:
    estate = server.ctx.estate
    return (
        f"/subscriptions/{estate.subscription_id}/resourceGroups/{estate.resource_group('uksouth')}"
        f"/providers/Microsoft.Test/widgets/{name}{suffix}?{API}"
    )


def begin(client: Any, method: str, path: str, body: Any = None) -> LROPoller[Any]:
    """Send the initial request through the SDK pipeline and poll it with the SDK's ARMPolling."""
    initial = client._pipeline.run(HttpRequest(method, client.test_base + path, json=body))
    return LROPoller(
        client,
        initial,
        lambda r: r.http_response.json() if r.http_response.text() else None,
        ARMPolling(30, path_format_arguments={"endpoint": client.test_base}),
    )


def raw(server: Server, path: str, *, token: bool = True) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(server.url + path)
    if token:
        req.add_header("Authorization", "Bearer anything")
    context = ssl.create_default_context(cafile=str(server.ctx.ca_cert_path))
    try:
        with urllib.request.urlopen(req, context=context) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def test_put_polls_azure_async_operation_then_gets_the_resource(server: Server) -> None:
    client = pipeline(server)
    poller = begin(client, "PUT", widget_path(server, "w1"), {"x": 1})
    assert poller.status() == "InProgress"
    result = poller.result(timeout=30)
    assert result["name"] == "w1"
    assert poller.status() == "Succeeded"


def test_post_result_comes_from_location(server: Server) -> None:
    poller = begin(pipeline(server), "POST", widget_path(server, "w2", "/polish"))
    assert poller.result(timeout=30) == {"polished": "w2"}


def test_delete_then_get_is_resource_not_found(server: Server) -> None:
    client = pipeline(server)
    begin(client, "PUT", widget_path(server, "w3"), {}).result(timeout=30)
    begin(client, "DELETE", widget_path(server, "w3")).result(timeout=30)
    status, _, body = raw(server, widget_path(server, "w3"))
    assert status == 404
    assert body["error"]["code"] == "ResourceNotFound"


def test_failed_operation_raises_with_the_error_code(server: Server) -> None:
    poller = begin(pipeline(server), "PUT", widget_path(server, "w4"), {"fail": True})
    with pytest.raises(HttpResponseError) as info:
        poller.result(timeout=30)
    assert "WidgetConflict" in str(info.value)
    assert "w4" not in server.widgets.items  # type: ignore[union-attr]


def test_401_without_token_with_challenge(server: Server) -> None:
    status, headers, body = raw(server, widget_path(server, "w5"), token=False)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    assert body["error"]["code"] == "AuthenticationFailed"


def test_400_without_api_version(server: Server) -> None:
    status, _, body = raw(server, widget_path(server, "w6").split("?")[0])
    assert status == 400
    assert body["error"]["code"] == "MissingApiVersionParameter"


def test_unknown_resource_group_and_subscription(server: Server) -> None:
    path = widget_path(server, "w7").replace("rg-qlp-uksouth", "rg-nope")
    assert raw(server, path)[2]["error"]["code"] == "ResourceGroupNotFound"
    path = widget_path(server, "w7").replace(server.ctx.estate.subscription_id, "0000")
    assert raw(server, path)[2]["error"]["code"] == "SubscriptionNotFound"


def test_unserved_path_and_literal_segments_case_insensitive(server: Server) -> None:
    assert raw(server, f"/subscriptions/x/providers/Microsoft.Nope/things?{API}")[0] == 404
    status, _, body = raw(server, widget_path(server, "missing").replace("resourceGroups", "RESOURCEGROUPS"))
    assert (status, body["error"]["code"]) == (404, "ResourceNotFound")


def test_arm_faults_are_retried_by_the_sdk(server: Server) -> None:
    client = pipeline(server)
    begin(client, "PUT", widget_path(server, "w8"), {}).result(timeout=30)
    server.call(server.ctx.fire_fault("arm-faults", rate=0.3))

    def a_get_succeeds() -> bool:
        response = client.send_request(HttpRequest("GET", server.url + widget_path(server, "w8")))
        assert response.status_code == 200
        return server.arm.faults_injected > 0

    # calls until a fault was injected (a random 30% could spare any fixed number of calls), each one served
    until(a_get_succeeds, "a GET meets an injected fault and is retried to 200", 60, interval=0)
    assert begin(client, "POST", widget_path(server, "w8", "/polish")).result(timeout=60) == {
        "polished": "w8"
    }
    assert server.arm.faults_injected > 0
    server.call(server.ctx.fire_fault("clear"))
    assert server.arm.fault_rate == 0.0


def test_arm_fault_rate_is_validated(server: Server) -> None:
    with pytest.raises(ValueError):
        server.call(server.ctx.fire_fault("arm-faults", rate=1.5))
    assert server.arm.fault_rate == 0.0
