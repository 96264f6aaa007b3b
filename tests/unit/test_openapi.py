"""The OpenAPI contract is made from the same declarations the validation uses, and covers every route."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from shared import names
from tests.support.durable import call_http, functions, http
from triggers import api
from triggers.operations_api import FAILOVER


def http_routes() -> dict[tuple[str, str], Any]:
    """(METHOD, /api/route) -> the registered function, for every HTTP-triggered function of the app."""
    found = {}
    for fn in functions().values():
        for b in fn.get_bindings():
            if b.type == "httpTrigger":
                for method in b.methods:
                    found[(str(getattr(method, "value", method)).upper(), f"/api/{b.route}")] = fn
    return found


def document() -> dict[str, Any]:
    resp = asyncio.run(call_http(names.HTTP_OPENAPI, http("GET", "/api/openapi.json")))
    assert resp.status_code == 200
    return json.loads(resp.get_body())  # type: ignore[no-any-return]


def test_every_registered_route_is_documented_and_every_documented_one_exists() -> None:
    doc = document()
    documented = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    assert documented == set(http_routes())
    assert doc["openapi"] == "3.1.0"


# Served without a key: the app's liveness, and the dashboard's page and files (they hold no data: the page
# asks for the key and reads everything through the keyed API).
ANONYMOUS = {"/api/health", "/api/dashboard", "/api/dashboard/{asset}"}


def test_every_route_but_health_and_the_dashboards_files_needs_a_function_key() -> None:
    for (method, path), fn in http_routes().items():
        trigger = next(b for b in fn.get_bindings() if b.type == "httpTrigger")
        anonymous = str(trigger.auth_level).lower().endswith("anonymous")
        assert anonymous == (path in ANONYMOUS), (method, path)
        security = document()["paths"][path][method.lower()]["security"]
        assert (security == []) == anonymous


def test_a_body_is_documented_as_it_is_validated() -> None:
    schema = document()["paths"]["/api/failover"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["reason"] and set(schema["properties"]) == set(FAILOVER.fields)
    assert schema["properties"]["mode"] == {  # optional: null is the same as leaving it out
        "type": ["string", "null"],
        "enum": ["auto", "planned", "forced", None],
        "default": "auto",
    }
    assert schema["properties"]["reason"]["type"] == "string"  # required: never null
    assert schema["properties"]["reason"]["maxLength"] == 500
    action = document()["paths"]["/api/runs/{id}/{action}"]["post"]["parameters"]
    assert {
        "name": "action",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": ["approve", "reject", "cancel"]},
    } in action
    runs = {p["name"] for p in document()["paths"]["/api/runs"]["get"]["parameters"]}
    assert runs == {"operation", "status", "limit"}


@pytest.mark.parametrize("endpoint", sorted(api.ENDPOINTS))
def test_every_declared_error_answer_uses_the_error_schema(endpoint: str) -> None:
    e = api.ENDPOINTS[endpoint]
    op = document()["paths"][f"/api/{e.route}"][e.method.lower()]
    for status, answer in op["responses"].items():
        if int(status) >= 400:
            assert answer["content"]["application/json"]["schema"].get("$ref") == api.ERROR
        else:  # what a success answers: its declared media types (the dashboard's are not JSON)
            assert set(answer["content"]) == set(e.media) and "$ref" not in json.dumps(answer)


def test_the_document_refuses_unknown_parameters() -> None:
    resp = asyncio.run(call_http(names.HTTP_OPENAPI, http("GET", "/api/openapi.json", params={"x": "1"})))
    assert resp.status_code == 400
