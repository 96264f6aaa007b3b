"""What the browser tests share: where screenshots go, how Chromium is started, the world they act on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import requests

from sandbox.client import SandboxClient
from tests.fixtures.devhost import ROOT, DevhostProcess
from tests.support.e2e import SCHEDULES

ARTIFACTS = ROOT / ".artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SETTINGS = {
    "FAILOVER_MODE": "manual",  # an alert's failover waits for an operator: the approval test clicks
    "GRACE_PERIOD_SECONDS": "0",
    "CONFIRM_PROBES": "3",
    "CONFIRM_INTERVAL_SECONDS": "0.2",
    "PROBE_TIMEOUT_SECONDS": "3",
    **SCHEDULES,  # the end-to-end scenarios' list: every timer only runs when a test asks
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
