"""The app's own /api/health endpoint, called as the host calls it."""

from __future__ import annotations

import json

import azure.functions as func

from shared import names
from shared.version import VERSION
from tests.support.durable import functions


def _function(name: str) -> func.Function:
    return functions()[name]


def test_health_reports_up_and_version() -> None:
    fn = _function(names.HTTP_HEALTH)
    req = func.HttpRequest(method="GET", url="http://localhost/api/health", body=b"")
    resp = fn.get_user_function()(req)
    assert resp.status_code == 200
    assert json.loads(resp.get_body()) == {"status": "up", "app": "continuity", "version": VERSION}


def test_health_is_anonymous_get_on_health_route() -> None:
    fn = _function(names.HTTP_HEALTH)
    trigger = next(b for b in fn.get_bindings() if b.type == "httpTrigger")
    assert trigger.route == "health"
    assert [getattr(m, "value", m).upper() for m in trigger.methods] == ["GET"]
    assert str(trigger.auth_level).lower().endswith("anonymous")
