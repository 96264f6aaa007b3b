"""The probe's burst (shared/azure/probe.py) against a real local HTTP server: latency percentiles (p50,
p95, p99: nearest rank over the answered requests) and errors (no answer or 5xx)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.azure.probe import burst


@pytest.fixture
def server() -> Iterator[str]:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(500 if self.path == "/broken" else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_burst_measures_p50_p95_and_p99_of_the_answered_requests(server: str) -> None:
    found = burst(server + "/health", requests=40, concurrency=4, timeout=5)
    assert (found["count"], found["answered"], found["errors"], found["error_rate"]) == (40, 40, 0, 0.0)
    assert 0 < found["p50_ms"] <= found["p95_ms"] <= found["p99_ms"] <= found["max_ms"]


def test_5xx_answers_are_errors_and_no_answer_has_no_latency(server: str) -> None:
    broken = burst(server + "/broken", requests=5, concurrency=2, timeout=5)
    assert (broken["errors"], broken["error_rate"], broken["statuses"]) == (5, 100.0, {"500": 5})
    gone = burst(f"http://127.0.0.1:{closed_port()}/health", requests=3, concurrency=1, timeout=2)
    assert (gone["answered"], gone["errors"], gone["p50_ms"], gone["p99_ms"]) == (0, 3, None, None)


def closed_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
