"""devhost's HTTP triggers, end to end: routing, methods, parameters, bodies, responses and keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.fixtures.devhost import DevhostProcess, start_host_app
from tests.polling import until


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevhostProcess]:
    process, _ = start_host_app(tmp_path_factory)
    yield process
    process.stop()


def test_route_parameters_query_headers_and_body_reach_the_function(host: DevhostProcess) -> None:
    response = host.request("POST", "/api/echo/42/bob?x=1&y=two", data=b"payload", headers={"X-Test": "hi"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["method"] == "POST"
    assert body["route"] == {"id": "42", "name": "bob"}
    assert body["query"] == {"x": "1", "y": "two"}
    assert body["header"] == "hi"
    assert body["body"] == "payload"
    assert body["url"].endswith("/api/echo/42/bob?x=1&y=two")


def test_optional_parameter_may_be_left_out(host: DevhostProcess) -> None:
    assert host.request("GET", "/api/echo/7").json()["route"] == {"id": "7"}


def test_constraint_violation_and_unknown_paths_are_404(host: DevhostProcess) -> None:
    assert host.request("GET", "/api/echo/notanint").status_code == 404
    assert host.request("GET", "/api/echo/1/two/three").status_code == 404
    assert host.request("GET", "/api/nothing-here").status_code == 404
    assert host.request("GET", "/elsewhere").status_code == 404


def test_literal_route_wins_over_a_parameter(host: DevhostProcess) -> None:
    assert host.request("GET", "/api/echo/special").json() == {"which": "literal route wins"}


def test_method_not_declared_is_404(host: DevhostProcess) -> None:
    assert host.request("DELETE", "/api/echo/1").status_code == 404
    assert host.request("GET", "/api/status/201").status_code == 404


def test_status_code_and_headers_of_the_response_are_kept(host: DevhostProcess) -> None:
    response = host.request("PUT", "/api/status/418")
    assert response.status_code == 418
    assert response.headers["X-Custom"] == "yes"
    assert response.text == "custom"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_async_function_and_catch_all_route(host: DevhostProcess) -> None:
    assert host.request("GET", "/api/files/a/b/c.txt").json() == {"path": "a/b/c.txt", "async": True}


def test_a_returned_string_is_the_body(host: DevhostProcess) -> None:
    response = host.request("GET", "/api/text")
    assert (response.status_code, response.text) == (200, "plain text")


def test_an_exception_is_a_500_and_is_logged_as_failed(host: DevhostProcess) -> None:
    assert host.request("GET", "/api/boom").status_code == 500
    host.wait_for_log(r"\[devhost\] boom id=[0-9a-f-]{36} Failed \d+ms")


def test_each_invocation_logs_one_line(host: DevhostProcess) -> None:
    host.request("GET", "/api/text")
    host.wait_for_log(r"\[devhost\] text id=[0-9a-f-]{36} Succeeded \d+ms")


def test_context_parameter_gets_the_function_name(host: DevhostProcess) -> None:
    assert host.request("GET", "/api/settings").json()["function"] == "settings"


@pytest.mark.parametrize("key", [None, "wrong"])
def test_function_level_needs_a_valid_key(host: DevhostProcess, key: str | None) -> None:
    assert host.request("GET", "/api/keyed", key=key).status_code == 401
    assert host.request("GET", "/api/keyed", params={"code": key or ""}).status_code == 401


def test_function_level_accepts_function_or_master_key_in_header_or_query(host: DevhostProcess) -> None:
    assert host.request("GET", "/api/keyed", key="function").status_code == 200
    assert host.request("GET", "/api/keyed", key="master").status_code == 200
    assert host.request("GET", "/api/keyed", params={"code": host.function_key}).status_code == 200


def test_admin_level_needs_the_master_key(host: DevhostProcess) -> None:
    assert host.request("GET", "/api/admin-only").status_code == 401
    assert host.request("GET", "/api/admin-only", key="function").status_code == 401
    assert host.request("GET", "/api/admin-only", key="master").json() == {"level": "admin"}


def test_admin_api_needs_the_master_key(host: DevhostProcess) -> None:
    assert host.request("GET", "/admin/host/status", key="function").status_code == 401
    status = host.request("GET", "/admin/host/status", key="master")
    assert status.json()["state"] == "Running"
    names = {f["name"] for f in host.request("GET", "/admin/functions", key="master").json()}
    assert {"echo", "tick", "on_event"} <= names


def test_durable_client_binding_points_at_the_engine(host: DevhostProcess) -> None:
    assert host.request("GET", "/api/client").json() == {"task_hub": "HostAppHub"}
    started = host.request("POST", "/api/start/ada")
    assert started.status_code == 202
    status_url = started.json()["statusQueryGetUri"]
    assert status_url.startswith(host.base_url + "/runtime/webhooks/durabletask/instances/")
    seen: list[Any] = []

    def completed() -> dict[str, Any] | None:
        status = requests.get(status_url, timeout=10).json()
        seen.append(status)
        assert status["runtimeStatus"] in ("Pending", "Running", "Completed"), status
        return status if status["runtimeStatus"] == "Completed" else None

    status = until(completed, lambda: f"the instance has completed: {seen[-1]}", timeout=30, interval=0.05)
    assert status["output"] == "hello hello ada"


def test_the_durable_webhook_needs_the_system_or_master_key(host: DevhostProcess) -> None:
    hooks = "/runtime/webhooks/durabletask/instances/"
    assert host.request("GET", hooks).status_code == 401
    assert host.request("GET", hooks, key="function").status_code == 401
    assert host.request("GET", hooks, params={"code": "\u00e9t\u00e9"}).status_code == 401
    assert host.request("GET", hooks, key="master").status_code == 200
    started = host.request("POST", "/api/start/ada").json()
    assert "code=" in started["statusQueryGetUri"]  # the links the binding hands out carry the system key
    assert requests.get(started["statusQueryGetUri"], timeout=10).status_code in (200, 202)
    bare = started["statusQueryGetUri"].split("&code=")[0]
    assert requests.get(bare, timeout=10).status_code == 401


@pytest.mark.parametrize("key", [b"\xff\xfe\xc3", "clé-é".encode(), b"\xed\xa0\x80"])
def test_a_key_that_is_not_ascii_is_401_everywhere_never_500(host: DevhostProcess, key: bytes) -> None:
    """Keys in headers and in the query (percent-encoded bytes that are not UTF-8) on every keyed path:
    HTTP triggers, the Durable webhook, the Event Grid webhook, the admin API."""
    paths = [
        ("GET", "/api/keyed"),  # the test app's function-level route
        ("GET", "/runtime/webhooks/durabletask/instances"),
        ("POST", "/runtime/webhooks/eventgrid?functionName=on_event"),
        ("GET", "/admin/host/status"),
    ]
    for method, path in paths:
        as_header = host.request(method, path, headers={"x-functions-key": key}, data=b"[]")
        sep = "&" if "?" in path else "?"
        as_query = requests.request(method, host.url(path) + sep + "code=%FF%FE" + key.hex(), timeout=30)
        assert (as_header.status_code, as_query.status_code) == (401, 401), (path, key)
