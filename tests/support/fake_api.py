"""A fake operator API over real HTTP: routes answered by plain functions, every request recorded.

``FakeApi()`` serves on 127.0.0.1; ``api.on("GET", "/api/status", lambda req: (200, {...}))`` sets an
answer (a handler may change with each call); ``api.requests`` lists what came (method, path, query,
headers, body). Unknown routes answer 404 with the API's error shape. ``drctl(fake, *args)`` runs the
command line against it.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


Answer = tuple[int, Any]
Handler = Callable[[Request], Answer]


@dataclass
class FakeApi:
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Serve(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(
                    self.command,
                    parts.path,
                    dict(urllib.parse.parse_qsl(parts.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
                fake.requests.append(request)
                handler = fake.routes.get((self.command, parts.path))
                status, body = handler(request) if handler else (404, {"error": "not found"})
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                kind = "text/markdown" if isinstance(body, str) else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api"

    def on(self, method: str, path: str, handler: Handler | Answer) -> None:
        self.routes[(method, path)] = handler if callable(handler) else (lambda _req, a=handler: a)

    def sequence(self, method: str, path: str, answers: list[Answer]) -> None:
        """Answer each call with the next answer; the last one repeats."""
        remaining = list(answers)

        def next_answer(_req: Request) -> Answer:
            return remaining.pop(0) if len(remaining) > 1 else remaining[0]

        self.routes[(method, path)] = next_answer

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def drctl(fake: FakeApi | None, *args: str, key: str = "the-key", **env: str) -> Any:
    """Run drctl with ``args`` against ``fake`` (None: nothing listens), its state fresh each time."""
    from typer.testing import CliRunner

    from cli import core
    from cli.main import app

    core.STATE.clear()
    base = {"DRCTL_URL": fake.url if fake else "http://127.0.0.1:9/api", "DRCTL_KEY": key}
    base.update(DRCTL_POLL_SECONDS="0.01", DRCTL_CONFIG="/nonexistent", **env)
    return CliRunner().invoke(app, list(args), env=base)
