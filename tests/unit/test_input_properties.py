"""Property tests of every parser of untrusted input: any JSON gives a signal, an acknowledged "not for
us", or a 4xx naming a field; never an exception.

Values are arbitrary JSON (text with lone surrogates, deep nesting, every JSON type) and mutations of
valid payloads, where any field may be replaced by any JSON value, so the deep paths are reached too.
"""

from __future__ import annotations

import json
import os
from typing import Any

import azure.functions as func
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devhost.eventgrid import (
    MAX_DELIVERY_BYTES,
    PayloadError,
    PayloadTooLarge,
    parse_events,
    to_binding_value,
)
from shared.models import HealthSignal
from tests.support.durable import http
from triggers import alerts
from triggers.web import MAX_BODY_BYTES, BadRequest, parse_principal

SERVER_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg"
# every code point, lone surrogates included (they reach the app as "\ud800" escapes in JSON)
TEXT = st.text(st.characters(codec=None, categories=None, exclude_categories=()), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=24,
)
# make test tries the same 300 examples every run (a fixed seed); PROPERTY_EXAMPLES=5000 searches harder
# with new random examples each time (locally: whatever it finds becomes a plain test here)
SEARCH = os.environ.get("PROPERTY_EXAMPLES")
PROPERTIES = settings(
    max_examples=int(SEARCH or "300"),
    derandomize=not SEARCH,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

COMMON_ALERT: dict[str, Any] = {
    "schemaId": alerts.COMMON_SCHEMA,
    "data": {
        "essentials": {
            "alertId": "/subscriptions/sub/providers/Microsoft.AlertsManagement/alerts/1",
            "alertRule": "pg availability",
            "severity": "Sev1",
            "monitorCondition": "Fired",
            "alertTargetIDs": [SERVER_ID],
            "firedDateTime": "2026-11-29T11:58:00Z",
            "resolvedDateTime": "2026-11-29T11:59:00Z",
        },
        "alertContext": {},
    },
}
HEALTH_EVENT: dict[str, Any] = {
    "id": "e1",
    "topic": "/subscriptions/sub",
    "subject": SERVER_ID,
    "eventType": alerts.RESOURCE_HEALTH_EVENT,
    "eventTime": "2026-11-29T11:57:00Z",
    "dataVersion": "1",
    "data": {
        "resourceInfo": {
            "id": SERVER_ID + "/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
            "properties": {
                "targetResourceId": SERVER_ID,
                "availabilityState": "Unavailable",
                "occurredTime": "2026-11-29T11:57:00Z",
                "title": "Server unavailable",
            },
        }
    },
}
CLOUD_ALERT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "c1",
    "source": "/alerts",
    "type": "Continuity.Alert",
    "time": "2026-11-29T11:58:00Z",
    "datacontenttype": "application/json",
    "data": COMMON_ALERT,
}


def mutated(template: Any) -> st.SearchStrategy[Any]:
    """``template`` with any of its values (at any depth) kept, replaced by any JSON, or dropped."""
    if isinstance(template, dict):
        return st.fixed_dictionaries(
            {},
            optional={k: st.one_of(mutated(v), ANY_JSON) for k, v in template.items()},
        )
    if isinstance(template, list):
        return st.lists(st.one_of(*(mutated(v) for v in template), ANY_JSON), max_size=3)
    return st.one_of(st.just(template), ANY_JSON)


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if not isinstance(value, dict | list):
        return [at]
    children = value.items() if isinstance(value, dict) else enumerate(value)
    return [at] + [p for k, v in children for p in _paths(v, (*at, k))]


def _replaced(template: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return {} if new is _DROP else new
    copy = json.loads(json.dumps(template))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if new is _DROP:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


_DROP = object()


def one_change(template: Any) -> st.SearchStrategy[Any]:
    """``template`` with exactly one value, at any depth, replaced by any JSON or dropped."""
    return st.tuples(st.sampled_from(_paths(template)), ANY_JSON | st.just(_DROP)).map(
        lambda change: _replaced(template, *change)
    )


def changed(template: Any) -> st.SearchStrategy[Any]:
    return one_change(template) | mutated(template)


def body_of(value: Any) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: lone surrogates travel as \\ud800 escapes


# ---- the Azure Monitor webhook --------------------------------------------------------------------------
def webhook_outcome(raw: bytes) -> HealthSignal | BadRequest:
    req = http("POST", "/api/alerts", raw)
    try:
        return alerts.signal_from_common_alert(alerts.WEBHOOK.parse(req))
    except BadRequest as bad:
        return bad


def check_webhook(raw: bytes) -> None:
    outcome = webhook_outcome(raw)
    if isinstance(outcome, BadRequest):
        assert outcome.status in (400, 413) and outcome.field and outcome.problem
        json.dumps(outcome.response().get_body().decode())  # the answer itself is valid text
    else:
        assert outcome.state in ("fired", "resolved") and outcome.resource_ids


@PROPERTIES
@given(ANY_JSON)
def test_any_json_to_the_webhook_is_a_signal_or_a_4xx(value: Any) -> None:
    check_webhook(body_of(value))


@PROPERTIES
@given(changed(COMMON_ALERT))
def test_any_mutation_of_a_common_alert_is_a_signal_or_a_4xx(value: Any) -> None:
    check_webhook(body_of(value))


@PROPERTIES
@given(st.binary(max_size=64))
def test_any_bytes_to_the_webhook_are_a_signal_or_a_4xx(raw: bytes) -> None:
    check_webhook(raw)


def test_deep_and_large_webhook_bodies_are_4xx_naming_the_body() -> None:
    deep = webhook_outcome(b"[" * 50000 + b"]" * 50000)
    assert isinstance(deep, BadRequest) and deep.field == "body" and deep.status in (400, 413)
    nested = webhook_outcome(b'{"schemaId": "x", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    assert isinstance(nested, BadRequest) and (nested.field, nested.status) == ("body", 400)
    large = webhook_outcome(b'{"schemaId": "' + b"x" * MAX_BODY_BYTES + b'"}')
    assert isinstance(large, BadRequest) and large.status == 413


# ---- Event Grid: devhost's webhook, the binding, the app's parser -----------------------------------------
def event_outcome(raw: bytes, content_type: str = "application/json") -> list[Any]:
    """What each event of one delivery becomes: a HealthSignal, Ignored or BadRequest; or the delivery's
    PayloadError (a 400 / 413 that invokes nothing)."""
    try:
        events = parse_events(raw, content_type)
    except PayloadError as refused:
        return [refused]
    out: list[Any] = []
    for event in events:
        binding = to_binding_value(event)
        assert isinstance(binding, func.EventGridEvent | func.CloudEvent)  # type: ignore[attr-defined]
        try:
            out.append(alerts.signal_from_event(alerts.event_document(binding)))
        except (alerts.Ignored, BadRequest) as why:
            out.append(why)
    return out


def check_events(raw: bytes, content_type: str = "application/json") -> None:
    for outcome in event_outcome(raw, content_type):
        if isinstance(outcome, BadRequest):
            assert outcome.status == 400 and outcome.field and outcome.problem
        elif isinstance(outcome, HealthSignal):
            assert outcome.state in ("fired", "resolved") and outcome.resource_ids
        else:
            assert isinstance(outcome, alerts.Ignored | PayloadError) and str(outcome)


@PROPERTIES
@given(ANY_JSON)
def test_any_json_to_the_event_grid_webhook_is_a_signal_ignored_or_a_400(value: Any) -> None:
    check_events(body_of(value))
    check_events(body_of(value), "application/cloudevents+json")


@PROPERTIES
@given(st.lists(changed(HEALTH_EVENT), min_size=1, max_size=2))
def test_any_mutation_of_a_resource_health_event_is_a_signal_ignored_or_a_400(events: Any) -> None:
    check_events(body_of(events))


@PROPERTIES
@given(changed(CLOUD_ALERT))
def test_any_mutation_of_a_republished_common_alert_is_a_signal_ignored_or_a_400(event: Any) -> None:
    check_events(body_of(event), "application/cloudevents+json")


def test_a_delivery_over_event_grids_limit_is_413_and_deep_nesting_400() -> None:
    too_large = event_outcome(body_of([{**HEALTH_EVENT, "data": "x" * MAX_DELIVERY_BYTES}]))
    assert isinstance(too_large[0], PayloadTooLarge)
    deep = event_outcome(b"[" * 100000 + b"]" * 100000)
    assert isinstance(deep[0], PayloadError) and "nested deeper" in str(deep[0])
    nested = [{**HEALTH_EVENT, "data": json.loads("[" * 70 + "]" * 70)}]
    assert "nested deeper" in str(event_outcome(body_of(nested))[0])


def test_a_health_event_parses_to_a_fired_signal() -> None:  # the properties' templates are valid
    (signal,) = event_outcome(body_of([HEALTH_EVENT]))
    assert isinstance(signal, HealthSignal) and signal.state == "fired"
    (republished,) = event_outcome(body_of(CLOUD_ALERT), "application/cloudevents+json")
    assert isinstance(republished, HealthSignal) and republished.source == "eventgrid"
    assert isinstance(webhook_outcome(body_of(COMMON_ALERT)), HealthSignal)


# ---- the Easy Auth principal header ---------------------------------------------------------------------
@PROPERTIES
@given(st.binary(max_size=80).map(lambda b: __import__("base64").b64encode(b).decode()) | TEXT)
def test_any_principal_header_gives_a_principal(header: str) -> None:
    principal = parse_principal({"x-ms-client-principal": header})
    assert all(r.isprintable() for r in principal.roles)
    assert principal.name.isprintable() and len(principal.name) <= 100


@PROPERTIES
@given(ANY_JSON)
def test_any_json_principal_gives_a_principal(value: Any) -> None:
    import base64

    header = base64.b64encode(body_of(value)).decode()
    principal = parse_principal({"x-ms-client-principal": header})
    assert isinstance(principal.name, str) and all(isinstance(r, str) for r in principal.roles)


def test_a_lone_surrogate_under_an_empty_name_is_named_by_its_quoted_path() -> None:
    # found by the webhook property above: the field of a 400 is never empty
    outcome = webhook_outcome(b'{"": {"\\ud800": null}}')
    assert isinstance(outcome, BadRequest) and (outcome.status, outcome.field) == (400, 'body[""]')
