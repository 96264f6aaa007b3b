"""devhost's Event Grid webhook, end to end: handshakes, both schemas, batches and bad deliveries."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.devhost import DevhostProcess, start_host_app
from tests.polling import until

WEBHOOK = "/runtime/webhooks/eventgrid"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevhostProcess, Path]]:
    process, out = start_host_app(tmp_path_factory)
    yield process, out
    process.stop()


@pytest.fixture
def host(served: tuple[DevhostProcess, Path]) -> DevhostProcess:
    return served[0]


def recorded(served: tuple[DevhostProcess, Path], marker: str) -> list[dict[str, Any]]:
    """Events the function recorded whose data carries ``marker``."""
    path = served[1] / "events.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    entries = [json.loads(line) for line in lines]
    return [e for e in entries if isinstance(e["data"], dict) and e["data"].get("marker") == marker]


def grid_event(marker: str, n: int = 0) -> dict[str, Any]:
    return {
        "id": f"{marker}-{n}",
        "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t",
        "subject": f"things/{n}",
        "eventType": "Continuity.Test",
        "eventTime": "2026-01-02T03:04:05.678Z",
        "data": {"marker": marker, "n": n},
        "dataVersion": "1.0",
    }


def cloud_event(marker: str, n: int = 0) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"{marker}-{n}",
        "source": "/continuity/tests",
        "type": "Continuity.Test",
        "subject": f"things/{n}",
        "time": "2026-01-02T03:04:05Z",
        "datacontenttype": "application/json",
        "data": {"marker": marker, "n": n},
    }


def post(
    host: DevhostProcess, body: Any, *, name: str = "on_event", key: str | None = "function", **kw: Any
) -> Any:
    headers = {"aeg-event-type": "Notification", **kw.pop("headers", {})}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return host.request(
        "POST", WEBHOOK, params={"functionName": name}, data=data, headers=headers, key=key, **kw
    )


def test_subscription_validation_handshake_answers_the_code(host: DevhostProcess) -> None:
    event = {
        "id": "v1",
        "topic": "/t",
        "subject": "",
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2026-01-02T03:04:05Z",
        "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", "validationUrl": "https://x"},
        "dataVersion": "2",
    }
    response = post(host, [event], headers={"aeg-event-type": "SubscriptionValidation"})
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}


def test_validation_without_a_code_is_400(host: DevhostProcess) -> None:
    event = {**grid_event("nocode"), "data": {}}
    assert post(host, [event], headers={"aeg-event-type": "SubscriptionValidation"}).status_code == 400


def test_cloudevents_validation_handshake_allows_the_origin(host: DevhostProcess) -> None:
    response = host.request("OPTIONS", WEBHOOK, headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
    assert response.status_code == 200
    assert response.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    assert host.request("OPTIONS", WEBHOOK).status_code == 400


def test_event_grid_schema_array_invokes_once_per_event_in_order(served: tuple[DevhostProcess, Path]) -> None:
    marker = uuid.uuid4().hex
    response = post(served[0], [grid_event(marker, 0), grid_event(marker, 1), grid_event(marker, 2)])
    assert response.status_code == 202
    events = recorded(served, marker)
    assert [e["id"] for e in events] == [f"{marker}-0", f"{marker}-1", f"{marker}-2"]
    assert events[0]["schema"] == "eventgrid"
    assert events[0]["type"] == "Continuity.Test"
    assert events[2]["subject"] == "things/2"


def test_single_cloudevent(served: tuple[DevhostProcess, Path]) -> None:
    marker = uuid.uuid4().hex
    response = post(served[0], cloud_event(marker), headers={"Content-Type": "application/cloudevents+json"})
    assert response.status_code == 202
    assert [(e["schema"], e["id"]) for e in recorded(served, marker)] == [("cloudevents", f"{marker}-0")]


def test_cloudevents_batch(served: tuple[DevhostProcess, Path]) -> None:
    marker = uuid.uuid4().hex
    batch = [cloud_event(marker, 0), cloud_event(marker, 1)]
    response = post(served[0], batch, headers={"Content-Type": "application/cloudevents-batch+json"})
    assert response.status_code == 202
    assert [e["id"] for e in recorded(served, marker)] == [f"{marker}-0", f"{marker}-1"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", "application/json"),
        ([], "application/json"),
        ({"no": "specversion"}, "application/json"),
        (["a string"], "application/json"),
        ("MISSING_ID", "application/json"),
        ("BAD_TIME", "application/json"),
        ("CLOUD_WITHOUT_SOURCE", "application/cloudevents+json"),
        ("OBJECT_AS_BATCH", "application/cloudevents-batch+json"),
    ],
)
def test_malformed_deliveries_are_400_and_invoke_nothing(
    served: tuple[DevhostProcess, Path], body: Any, content_type: str
) -> None:
    marker = uuid.uuid4().hex
    good = grid_event(marker)
    bodies = {
        "MISSING_ID": [good, {k: v for k, v in grid_event(marker, 1).items() if k != "id"}],
        "BAD_TIME": [good, {**grid_event(marker, 1), "eventTime": "noon"}],
        "CLOUD_WITHOUT_SOURCE": {k: v for k, v in cloud_event(marker).items() if k != "source"},
        "OBJECT_AS_BATCH": cloud_event(marker),
    }
    payload = bodies.get(body, body) if isinstance(body, str) else body
    response = post(served[0], payload, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert "error" in response.json()
    assert recorded(served, marker) == []


def test_unknown_function_is_404(host: DevhostProcess) -> None:
    assert post(host, [grid_event("x")], name="no_such_function").status_code == 404
    assert post(host, [grid_event("x")], name="echo").status_code == 404  # not an Event Grid function


def test_a_key_is_required(served: tuple[DevhostProcess, Path]) -> None:
    host = served[0]
    marker = uuid.uuid4().hex
    assert post(host, [grid_event(marker)], key=None).status_code == 401
    assert post(host, [grid_event(marker)], key="wrong").status_code == 401
    assert recorded(served, marker) == []
    assert post(host, [grid_event(marker, 1)], key="master").status_code == 202
    with_code = {"functionName": "on_event", "code": host.master_key}
    response = host.request("POST", WEBHOOK, params=with_code, json=[grid_event(marker, 2)])
    assert response.status_code == 202
    assert [e["id"] for e in recorded(served, marker)] == [f"{marker}-1", f"{marker}-2"]


def test_a_failing_invocation_makes_the_delivery_fail_so_event_grid_retries(host: DevhostProcess) -> None:
    event = {**grid_event("fail"), "data": {"fail": True}}
    assert post(host, [event]).status_code == 500
    host.wait_for_log(r"\[devhost\] on_event id=\S+ Failed \d+ms")


def test_unsubscribe_is_accepted_and_invokes_nothing(served: tuple[DevhostProcess, Path]) -> None:
    marker = uuid.uuid4().hex
    response = post(served[0], [grid_event(marker)], headers={"aeg-event-type": "Unsubscribe"})
    assert response.status_code == 202
    assert recorded(served, marker) == []


def test_admin_run_of_an_event_grid_function(served: tuple[DevhostProcess, Path]) -> None:
    host = served[0]
    marker = uuid.uuid4().hex
    body = {"input": json.dumps(grid_event(marker))}
    assert host.request("POST", "/admin/functions/on_event", json=body, key="function").status_code == 401
    assert host.request("POST", "/admin/functions/on_event", json=body, key="master").status_code == 202
    until(lambda: recorded(served, marker), "the admin run's event is recorded", timeout=20, interval=0.05)
    assert [e["id"] for e in recorded(served, marker)] == [f"{marker}-0"]
    bad = host.request("POST", "/admin/functions/on_event", json={"input": "{}"}, key="master")
    assert bad.status_code == 400


def test_over_event_grids_1_mb_is_413_and_deep_json_400(served: tuple[DevhostProcess, Path]) -> None:
    host, marker = served[0], uuid.uuid4().hex
    large = [{**grid_event(marker), "data": {"marker": marker, "pad": "x" * (1024 * 1024)}}]
    assert post(host, large).status_code == 413
    deep = post(host, b"[" * 100_000 + b"]" * 100_000)
    assert deep.status_code == 400 and "nested deeper" in deep.json()["error"]
    nested = [{**grid_event(marker), "data": {"marker": marker, "deep": json.loads("[" * 70 + "]" * 70)}}]
    assert post(host, nested).status_code == 400
    deep_admin = host.request("POST", "/admin/functions/on_event", data=b"[" * 100_000, key="master")
    assert deep_admin.status_code == 400
    assert recorded(served, marker) == []
