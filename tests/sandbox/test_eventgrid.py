"""The Event Grid topic through EventGridPublisherClient: both schemas reach a local webhook subscriber
after the validation handshake; failed deliveries are retried; bad keys and bad events are refused."""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, EventGridPublisherClient

from sandbox.client import SandboxClient, SandboxError
from tests.polling import until

pytestmark = pytest.mark.sandbox


class Subscriber:
    """A webhook that answers both validation handshakes and records what it receives."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[str, dict[str, str], Any]] = []
        self.fail_first = fail_first
        self.refuse_validations = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_OPTIONS(self) -> None:
                self.send_response(200)
                self.send_header("WebHook-Allowed-Origin", self.headers["WebHook-Request-Origin"])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.headers.get("aeg-event-type") == "SubscriptionValidation":
                    if owner.refuse_validations > 0:
                        owner.refuse_validations -= 1
                        self._answer(503, {})
                        return
                    self._answer(200, {"validationResponse": body[0]["data"]["validationCode"]})
                    return
                if owner.fail_first > 0:
                    owner.fail_first -= 1
                    self._answer(500, {})
                    return
                owner.received.append((self.path, dict(self.headers), body))
                self._answer(200, {})

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def subscriber(sandbox: SandboxClient) -> Iterator[Subscriber]:
    sub = Subscriber()
    yield sub
    for s in sandbox.request("GET", "/sandbox/eventgrid/subscriptions")["value"]:
        if s["url"].startswith(sub.url):
            sandbox.request("DELETE", f"/sandbox/eventgrid/subscriptions/{s['name']}")
    assert not [
        s
        for s in sandbox.request("GET", "/sandbox/eventgrid/subscriptions")["value"]
        if s["url"].startswith(sub.url)
    ]
    sub.close()


def publisher(sb: SandboxClient, key: str | None = None) -> EventGridPublisherClient:
    return EventGridPublisherClient(
        sb.endpoints["eventgrid_topic_endpoint"],
        AzureKeyCredential(key or sb.endpoints["eventgrid_topic_key"]),
    )


def test_events_in_both_schemas_reach_a_validated_subscriber(
    sandbox: SandboxClient, subscriber: Subscriber
) -> None:
    sandbox.request("POST", "/sandbox/eventgrid/subscriptions", {"url": subscriber.url + "/eg"})
    sandbox.request(
        "POST",
        "/sandbox/eventgrid/subscriptions",
        {"url": subscriber.url + "/ce", "schema": "CloudEventSchemaV1_0"},
    )
    client = publisher(sandbox)
    # EventGridPublisherClient 4.22.1 drops transport options given to its constructor: pass them per call.
    client.send(
        [
            EventGridEvent(
                subject="drill/1", event_type="Continuity.DrillStarted", data={"n": 1}, data_version="1.0"
            )
        ],
        connection_verify=sandbox.ca_bundle,
    )
    client.send(
        [CloudEvent(source="/continuity", type="Continuity.FailoverDone", data={"n": 2})],
        connection_verify=sandbox.ca_bundle,
    )
    until(lambda: len(subscriber.received) >= 4, "four deliveries arrived")
    by_path: dict[str, list[Any]] = {"/eg": [], "/ce": []}
    for path, headers, body in subscriber.received:
        assert headers["aeg-event-type"] == "Notification"
        by_path[path].append(body)
    assert sorted(b[0]["eventType"] for b in by_path["/eg"]) == [
        "Continuity.DrillStarted",
        "Continuity.FailoverDone",
    ]
    assert sorted(b["type"] for b in by_path["/ce"]) == ["Continuity.DrillStarted", "Continuity.FailoverDone"]
    assert {b[0]["data"]["n"] for b in by_path["/eg"]} == {1, 2}
    listed = sandbox.request("GET", "/sandbox/eventgrid/subscriptions")["value"]
    assert {s["provisioningState"] for s in listed if s["url"].startswith(subscriber.url)} == {"Succeeded"}


def test_failed_deliveries_are_retried(sandbox: SandboxClient) -> None:
    flaky = Subscriber(fail_first=2)
    try:
        sandbox.request("POST", "/sandbox/eventgrid/subscriptions", {"url": flaky.url + "/flaky"})
        publisher(sandbox).send(
            [EventGridEvent(subject="s", event_type="Continuity.Retry", data={}, data_version="1.0")],
            connection_verify=sandbox.ca_bundle,
        )
        until(lambda: len(flaky.received) == 1, "the third attempt is accepted")
        assert flaky.received[0][1]["aeg-delivery-count"] == "2"
    finally:
        flaky.close()


def test_events_wait_for_a_subscriber_that_validates_late(
    sandbox: SandboxClient, subscriber: Subscriber
) -> None:
    subscriber.refuse_validations = 3  # not ready yet, as a host that starts after the sandbox
    sandbox.request("POST", "/sandbox/eventgrid/subscriptions", {"url": subscriber.url + "/late"})
    publisher(sandbox).send(
        [EventGridEvent(subject="s", event_type="Continuity.Early", data={}, data_version="1.0")],
        connection_verify=sandbox.ca_bundle,
    )
    until(lambda: len(subscriber.received) == 1, "the queued event is delivered after validation")
    assert subscriber.refuse_validations == 0
    assert subscriber.received[0][2][0]["eventType"] == "Continuity.Early"


def test_a_wrong_key_and_malformed_events_are_refused(sandbox: SandboxClient) -> None:
    with pytest.raises(ClientAuthenticationError):
        publisher(sandbox, key="wrong").send(
            [EventGridEvent(subject="s", event_type="x", data={}, data_version="1.0")],
            connection_verify=sandbox.ca_bundle,
        )
    req = urllib.request.Request(
        sandbox.endpoints["eventgrid_topic_endpoint"] + "?api-version=2018-01-01",
        data=json.dumps([{"id": "1"}]).encode(),
        method="POST",
        headers={"aeg-sas-key": sandbox.endpoints["eventgrid_topic_key"], "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, context=ssl.create_default_context(cafile=sandbox.ca_bundle), timeout=10)
    err.value.close()
    assert err.value.code == 400


def test_a_subscription_needs_a_url_and_a_known_schema(sandbox: SandboxClient) -> None:
    with pytest.raises(SandboxError, match="400"):
        sandbox.request("POST", "/sandbox/eventgrid/subscriptions", {"url": "ftp://x"})
    with pytest.raises(SandboxError, match="400"):
        sandbox.request(
            "POST", "/sandbox/eventgrid/subscriptions", {"url": "http://127.0.0.1:1/", "schema": "Nope"}
        )
