"""Shared end-to-end fixtures: a fresh sandbox, devhost serving function_app against it, a notification
receiver, and helpers to call the API, wait for runs, read reports and count rows.

``estate_factory(**settings)`` starts all three for one test; keyword arguments override app settings
(``GRACE_PERIOD_SECONDS="0"`` becomes ``CONTINUITY_GRACE_PERIOD_SECONDS``). Short confirmation and
zero grace periods are the defaults here so scenarios run in seconds; every wait polls a condition
with a generous deadline.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from sandbox.app_settings import app_settings
from sandbox.client import SandboxClient
from tests.fixtures.devhost import ROOT, DevhostFactory, DevhostProcess
from tests.fixtures.sandbox import SandboxFactory

NEVER = "0 0 0 1 1 *"  # timers that must not fire during a scenario
DEFAULTS = {
    "GRACE_PERIOD_SECONDS": "0",
    "CONFIRM_PROBES": "3",
    "CONFIRM_INTERVAL_SECONDS": "0.2",
    "PROBE_TIMEOUT_SECONDS": "3",
    "APPROVAL_TIMEOUT_MINUTES": "30",
    "HEALTH_PROBE_SCHEDULE": NEVER,
    "BACKUP_WATCH_SCHEDULE": NEVER,
    "RESTORE_TEST_SCHEDULE": NEVER,
    "DRILL_SCHEDULE": NEVER,
}
FINISHED = ("Completed", "Failed", "Terminated", "Canceled")


class Receiver:
    """A local webhook target that records every JSON body posted to it (the notification sink)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with contextlib.suppress(ValueError):
                    received.append(json.loads(raw))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def events(self) -> list[str]:
        return [str(b.get("event", "")) for b in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Estate:
    """One scenario's world: sandbox + devhost + receiver, and what tests do with them."""

    def __init__(self, sandbox: SandboxClient, host: DevhostProcess, receiver: Receiver, env: dict[str, str]):
        self.sandbox, self.host, self.receiver, self.env = sandbox, host, receiver, env
        self.endpoints = sandbox.endpoints

    # ---- the API ------------------------------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        if body is not None:
            kwargs["json"] = body
        return self.host.request(method, path, key="function", **kwargs)

    def run(self, iid: str) -> dict[str, Any]:
        resp = self.api("GET", f"/api/runs/{iid}")
        return resp.json() if resp.status_code == 200 else {}

    def wait_run(
        self, iid: str, until: Callable[[dict[str, Any]], bool], timeout: float = 120
    ) -> dict[str, Any]:
        """Poll GET /api/runs/{iid} until ``until(run)`` holds; fail with the last state otherwise."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            last = self.run(iid)
            if last and until(last):
                return last
            if last.get("runtime_status") in FINISHED and not until(last):
                break
            time.sleep(0.25)
        raise AssertionError(f"run {iid} did not reach the expected state; last: {json.dumps(last)[:3000]}")

    def wait_done(self, iid: str, timeout: float = 120) -> dict[str, Any]:
        return self.wait_run(iid, lambda r: r.get("runtime_status") in FINISHED, timeout)

    def wait_step(self, iid: str, awaiting: str = "approval", timeout: float = 60) -> dict[str, Any]:
        return self.wait_run(
            iid, lambda r: (r.get("custom_status") or {}).get("awaiting") == awaiting, timeout
        )

    # ---- alerts ----------------------------------------------------------------------------------------
    def resource_id(self, kind: str = "server") -> str:
        sub, rg = self.endpoints["subscription_id"], self.endpoints["resource_groups"]["primary"]
        name = self.endpoints["servers"]["primary"]
        provider = "Microsoft.DBforPostgreSQL/flexibleServers"
        return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/{name}"

    def common_alert(self, condition: str = "Fired", alert_id: str = "") -> dict[str, Any]:
        """A common-alert-schema payload on the primary server; a new alert id unless one is given."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        alert_id = (
            alert_id or f"/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/{time.time_ns()}"
        )
        return {
            "schemaId": "azureMonitorCommonAlertSchema",
            "data": {
                "essentials": {
                    "alertId": alert_id,
                    "alertRule": "primary database availability",
                    "severity": "Sev0",
                    "signalType": "Metric",
                    "monitorCondition": condition,
                    "alertTargetIDs": [self.resource_id()],
                    "firedDateTime": now,
                    "resolvedDateTime": now,
                },
                "alertContext": {},
            },
        }

    def alert(self, condition: str = "Fired", alert_id: str = "") -> requests.Response:
        return self.api("POST", "/api/alerts", self.common_alert(condition, alert_id))

    # ---- the app and its data -----------------------------------------------------------------------
    def public(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 15)
        return requests.request(method, self.endpoints["frontdoor_url"] + path, **kwargs)

    def database_url(self, server: str) -> str:
        base = str(self.endpoints["database_url"])
        port = self.endpoints["server_ports"][server]
        head, _, tail = base.rpartition("@")
        return f"{head}@127.0.0.1:{port}/{tail.split('/', 1)[1]}"

    def count(self, server: str, table: str = "intents") -> int:
        import psycopg

        with psycopg.connect(self.database_url(server), connect_timeout=5) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0

    def report(self, iid: str) -> dict[str, Any]:
        """The run report JSON as written to blob storage."""
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(str(self.endpoints["storage_connection_string"]))
        container = self.env.get("CONTINUITY_REPORTS_CONTAINER", "continuity-reports")
        blob = service.get_blob_client(container, f"runs/{iid}/report.json")
        return json.loads(blob.download_blob().readall())  # type: ignore[no-any-return]

    def history(self, iid: str) -> list[dict[str, Any]]:
        """The durable history of a run, through the Durable extension's HTTP API."""
        path = f"/runtime/webhooks/durabletask/instances/{iid}"
        resp = self.host.request("GET", path, key="master", params={"showHistory": "true"})
        return list(resp.json().get("historyEvents") or [])


EstateFactory = Callable[..., Estate]


@pytest.fixture
def estate_factory(
    sandbox_factory: SandboxFactory, devhost_factory: DevhostFactory
) -> Iterator[EstateFactory]:
    receivers: list[Receiver] = []

    def start(**settings: str) -> Estate:
        sandbox = sandbox_factory()
        receiver = Receiver()
        receivers.append(receiver)
        overrides = {f"CONTINUITY_{k}": v for k, v in {**DEFAULTS, **settings}.items()}
        overrides["CONTINUITY_WEBHOOK_URL"] = receiver.url
        env = app_settings(sandbox.endpoints, overrides=overrides)
        host = devhost_factory(app="function_app", cwd=ROOT, env=env)
        return Estate(sandbox, host, receiver, env)

    yield start
    for receiver in receivers:
        receiver.close()
