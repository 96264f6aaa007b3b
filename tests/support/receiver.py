"""A local HTTP receiver for tests (webhook notifications, Event Grid deliveries): a server on
127.0.0.1:<free port> in its own thread that records every JSON body POSTed to it, with its path, and
answers Event Grid subscription validation handshakes.

``with running_receiver() as rec:`` post to ``rec.url + "/any/path"``; ``rec.messages()`` are the bodies
in order, ``rec.bodies(path)`` those posted to one path, ``rec.events()`` their ``event`` fields.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.polling import until

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
Received = list[tuple[str, Any]]


class Receiver:
    """Every JSON body POSTed, as (path, body), in arrival order."""

    def __init__(self) -> None:
        self._received: Received = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def record(self, path: str, body: Any) -> None:
        with self._lock:
            self._received.append((path, body))

    def snapshot(self) -> Received:
        """(path, body) of everything received so far."""
        with self._lock:
            return list(self._received)

    def bodies(self, path: str) -> list[Any]:
        return [body for p, body in self.snapshot() if p == path]

    def messages(self, predicate: Callable[[dict[str, Any]], bool] = lambda m: True) -> list[dict[str, Any]]:
        """The JSON objects received (any path) that ``predicate`` accepts, in order."""
        return [b for _, b in self.snapshot() if isinstance(b, dict) and predicate(b)]

    def events(self) -> list[str]:
        """The ``event`` field of every notification received."""
        return [str(m.get("event", "")) for m in self.messages()]

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 30.0) -> None:
        until(
            lambda: predicate(self.snapshot()),
            lambda: f"the receiver got what was expected; received {self.snapshot()!r}",
            timeout,
            interval=0.05,
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                self._answer(400, b"not JSON")
                return
            events = body if isinstance(body, list) else [body]
            first = events[0] if events and isinstance(events[0], dict) else {}
            if first.get("eventType") == VALIDATION_EVENT:
                code = {"validationResponse": first["data"]["validationCode"]}
                self._answer(200, json.dumps(code).encode(), "application/json")
                return
            receiver.record(urlsplit(self.path).path, body)
            self._answer(200, b"ok")

        def _answer(self, status: int, payload: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver for the duration of the block."""
    rec = Receiver()
    try:
        yield rec
    finally:
        rec.close()
