"""Helpers of the backup end-to-end tests: the estate (sandbox + devhost on it), runs, a webhook receiver."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sandbox.app_settings import app_settings
from sandbox.client import SandboxClient
from tests.fixtures.devhost import ROOT, DevhostProcess

API = "api-version=2026-10-01"
RUN_DEADLINE = 150.0
NEVER = "0 0 0 1 1 *"  # timers that only run when the test asks (admin endpoint)


class Receiver:
    """A local webhook target: every JSON body posted to it, in order."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.bodies.append(json.loads(raw or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hook"

    def messages(self, predicate: Callable[[dict[str, Any]], bool] = lambda m: True) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.bodies if predicate(m)]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def app_env(sb: SandboxClient, hook: str, **overrides: str) -> dict[str, str]:
    """The app settings for devhost on this sandbox, with notifications to ``hook``."""
    values = {
        "CONTINUITY_WEBHOOK_URL": hook,
        "CONTINUITY_BACKUP_WATCH_SCHEDULE": NEVER,
        "CONTINUITY_RESTORE_TEST_SCHEDULE": NEVER,
        "CONTINUITY_DRILL_SCHEDULE": NEVER,
        "CONTINUITY_HEALTH_PROBE_SCHEDULE": NEVER,
    }
    values.update({f"CONTINUITY_{k.upper()}": v for k, v in overrides.items()})
    return app_settings(sb.endpoints, overrides=values)


def start_devhost(env: Mapping[str, str]) -> DevhostProcess:
    """devhost serving function_app with ``env``; the caller stops it."""
    work = Path(tempfile.mkdtemp(prefix="continuity-e2e-devhost-"))
    host = DevhostProcess(
        app="function_app", cwd=ROOT, env=env, state_dir=work / "state", log_path=work / "devhost.log"
    )
    return host.start()


def post(host: DevhostProcess, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    resp = host.request("POST", path, key="function", json=body)
    return resp.status_code, resp.json()


def wait_run(host: DevhostProcess, iid: str, deadline: float = RUN_DEADLINE) -> dict[str, Any]:
    """Poll GET /api/runs/{iid} until the run is no longer running; its view (with output)."""
    end = time.monotonic() + deadline
    view: dict[str, Any] = {}
    while time.monotonic() < end:
        view = host.request("GET", f"/api/runs/{iid}", key="function").json()
        if view.get("runtime_status") not in (None, "Running", "Pending"):
            return view
        time.sleep(0.5)
    raise AssertionError(f"run {iid} still running after {deadline}s: {view}\n{host.log[-4000:]}")


def run_timer(host: DevhostProcess, name: str) -> None:
    """Run a timer function now, as the host's admin endpoint does."""
    resp = host.request("POST", f"/admin/functions/{name}", key="master", json={"input": ""})
    assert resp.status_code in (200, 202), resp.text


def servers(sb: SandboxClient) -> set[str]:
    """Every flexible server in both resource groups."""
    sub, found = sb.endpoints["subscription_id"], set()
    for rg in sb.endpoints["resource_groups"].values():
        path = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers"
        found |= {s["name"] for s in sb.request("GET", f"{path}?{API}")["value"]}
    return found


def container_groups(sb: SandboxClient) -> set[str]:
    """Every container group in both resource groups."""
    sub, found = sb.endpoints["subscription_id"], set()
    for rg in sb.endpoints["resource_groups"].values():
        path = (
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups"
        )
        found |= {g["name"] for g in sb.request("GET", f"{path}?api-version=2023-05-01")["value"]}
    return found


def watch_tick(host: DevhostProcess) -> dict[str, Any]:
    """One backup-watch tick through the timer, waited for; the stored watch result."""

    def observed() -> tuple[str | None, dict[str, Any]]:
        view = host.request("GET", "/api/runs/backup-watch-qlp", key="function").json()
        output = view.get("output") if view.get("runtime_status") == "Completed" else None
        return (output or {}).get("observed_at"), output or {}

    before, _ = observed()
    run_timer(host, "timer_backup_watch")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        at, output = observed()
        if at is not None and at != before:
            return output
        time.sleep(0.3)
    raise AssertionError(f"backup watch tick did not complete\n{host.log[-3000:]}")
