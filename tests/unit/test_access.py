"""Roles from the authenticated principal: 401 without one, 403 without the role, for every route."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared import config, names, policy
from tests.support.durable import FakeClient, call_http, http
from tests.support.settings import FAILOVER_ENV
from triggers import api, operations_api, runs, runs_api, status_api

RUN = "failover-qlp-20261129T110000-aaaa"


@pytest.fixture(autouse=True)
def roles_required(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        **FAILOVER_ENV,
        "CONTINUITY_REQUIRE_ROLES": "true",
        "WEBSITE_AUTH_ENABLED": "True",
    }.items():
        monkeypatch.setenv(key, value)
    config.current_settings.cache_clear()
    monkeypatch.setattr(runs, "report_summaries", lambda: [])
    monkeypatch.setattr(runs_api, "_read_report", lambda run_id: {"found": False})
    monkeypatch.setattr(status_api, "observe_status", lambda settings: {})
    monkeypatch.setattr(operations_api, "read_window", lambda settings: {"name": "pg-south"})
    yield
    config.current_settings.cache_clear()


def principal(name: str, *roles: str) -> dict[str, str]:
    claims = [{"typ": "name", "val": name}] + [{"typ": "roles", "val": r} for r in roles]
    body = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims}
    return {"x-ms-client-principal": base64.b64encode(json.dumps(body).encode()).decode()}


SAMPLE = {"text": "x", "flag": False, "object": {}, "time": "2026-11-29T11:00:00+00:00"}


def sample_body(e: api.Endpoint) -> dict[str, Any] | None:
    """A body with every required field of the declaration filled in."""
    if e.body is None:
        return None
    return {n: f.choices[0] if f.choices else SAMPLE[f.kind] for n, f in e.body.fields.items() if f.required}


def request(e: api.Endpoint, headers: dict[str, str]) -> tuple[int, Any]:
    params = {"id": RUN, "action": "approve"}
    path = "/api/" + e.route.format(**params)
    req = http(e.method, path, sample_body(e), route_params=params, headers=headers)
    client = FakeClient()
    client.put(RUN, "Running", name=names.FAILOVER_ORCHESTRATOR, custom={"awaiting": "approval"},
               input_={"trigger": {"by": "starter"}})  # fmt: skip
    resp = asyncio.run(call_http(e.function, req, client))
    return resp.status_code, json.loads(
        resp.get_body() or b"null"
    ) if resp.mimetype == "application/json" else None


GUARDED = sorted(n for n, e in api.ENDPOINTS.items() if not e.anonymous)


@pytest.mark.parametrize("name", GUARDED)
def test_without_a_principal_every_route_but_health_is_401(name: str) -> None:
    status, body = request(api.ENDPOINTS[name], {})
    assert status == 401 and body["error"] == "unauthenticated"


@pytest.mark.parametrize("name", GUARDED)
def test_the_wrong_role_is_403_and_the_right_one_passes(name: str) -> None:
    e = api.ENDPOINTS[name]
    needed = e.role_for(http(e.method, "/", route_params={"action": "approve"}))
    wrong = {policy.READER: "nobody", policy.OPERATOR: policy.READER, policy.APPROVER: policy.OPERATOR}[
        needed
    ]
    status, body = request(e, principal("ann", wrong))
    assert status == 403 and needed in body["reason"]
    status, _ = request(e, principal("ann", needed))
    assert status not in (401, 403)


def test_health_needs_nothing() -> None:
    assert request(api.ENDPOINTS[names.HTTP_HEALTH], {})[0] == 200


def test_reads_are_open_to_operators_and_approvers_but_starting_needs_operator() -> None:
    assert request(api.ENDPOINTS[names.HTTP_RUNS], principal("a", policy.APPROVER))[0] == 200
    assert request(api.ENDPOINTS[names.HTTP_RUNS], principal("o", policy.OPERATOR))[0] == 200
    assert request(api.ENDPOINTS[names.HTTP_FAILOVER], principal("a", policy.APPROVER))[0] == 403


def test_an_approver_may_not_approve_a_run_they_started() -> None:
    status, body = request(api.ENDPOINTS[names.HTTP_RUN_ACTION], principal("starter", policy.APPROVER))
    assert status == 403 and "separation of duties" in body["reason"]
    assert request(api.ENDPOINTS[names.HTTP_RUN_ACTION], principal("other", policy.APPROVER))[0] == 202


def test_policy_decides_roles_with_reasons() -> None:
    assert policy.role_allows(policy.READER, ["Operator"], authenticated=True).is_("allow")
    assert (
        policy.role_allows(policy.APPROVER, [], authenticated=True).reason
        == "this needs the approver role; the principal has none"
    )
    assert policy.may_answer("cancel", actor="a", started_by="a", separate=True).is_("allow")
    assert policy.may_answer("approve", actor="a", started_by="a", separate=False).is_("allow")


def test_every_http_function_of_the_app_is_declared_so_it_is_keyed_and_guarded() -> None:
    """Enumerated from app.get_functions(): an HTTP route registered without ``endpoint`` would escape
    the role check and the OpenAPI document."""
    from tests.support.durable import functions

    for name, fn in functions().items():
        trigger = next((b for b in fn.get_bindings() if b.type == "httpTrigger"), None)
        if trigger is None:
            continue
        declared = api.ENDPOINTS.get(name)
        assert declared is not None and f"api/{declared.route}" == f"api/{trigger.route}", name
        anonymous = str(trigger.auth_level).lower().endswith("anonymous")
        assert anonymous == declared.anonymous, name
        assert anonymous == (name in (names.HTTP_HEALTH, names.HTTP_DASHBOARD, names.HTTP_DASHBOARD_ASSET))
