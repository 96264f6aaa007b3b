"""What the browser tests share: where screenshots go, how Chromium is started, the world they act on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import requests

from sandbox.client import SandboxClient
from tests.fixtures.devhost import ROOT, DevhostProcess

ARTIFACTS = ROOT / ".artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NEVER = "0 0 0 1 1 *"
SETTINGS = {
    "FAILOVER_MODE": "manual",  # an alert's failover waits for an operator: the approval test clicks
    "GRACE_PERIOD_SECONDS": "0",
    "CONFIRM_PROBES": "3",
    "CONFIRM_INTERVAL_SECONDS": "0.2",
    "PROBE_TIMEOUT_SECONDS": "3",
    "HEALTH_PROBE_SCHEDULE": NEVER,
    "BACKUP_WATCH_SCHEDULE": NEVER,
    "RESTORE_TEST_SCHEDULE": NEVER,
    "DRILL_SCHEDULE": NEVER,
    "LTR_BACKUP_SCHEDULE": NEVER,
    "LTR_PROOF_SCHEDULE": NEVER,
    "WATCHDOG_SCHEDULE": NEVER,
    "READINESS_SCHEDULE": NEVER,
    "ALERT_VERIFICATION_SCHEDULE": NEVER,
}
# Chromium as root on a machine with no outside network: no sandbox, no background connections.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class World:
    sandbox: SandboxClient
    host: DevhostProcess

    @property
    def dashboard(self) -> str:
        return self.host.url("/api/dashboard")

    def api(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.host.request(method, path, key="function", json=body)
