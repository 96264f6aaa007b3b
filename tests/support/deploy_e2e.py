"""What the deployment end-to-end tests share: lean deploy and migration settings, a poller on the public
endpoint that records every answer, a writer that tries writes and reads through it, and helpers over
the API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from tests.polling import until
from tests.support.e2e import Estate, View

REPO = "qlpregistry.azurecr.io/qlp-app"
# Settings of a lean deploy: every wait short, the analysis a few 1-second checks.
LEAN = {
    "DEPLOY_WINDOW": "00:00-24:00",
    "POST_SWITCH_CHECKS": "4",
    "POST_SWITCH_INTERVAL_SECONDS": "1",
    "PROPAGATION_CONSECUTIVE": "3",
    "PROPAGATION_INTERVAL_SECONDS": "0.3",
    "PROPAGATION_DEADLINE_SECONDS": "30",
    "HEALTH_DEADLINE_SECONDS": "8",
    "DEPLOY_POLL_INTERVAL_SECONDS": "0.5",
    "ANALYSIS_REQUESTS": "10",
    "BASELINE_REQUESTS": "20",
    "SCALE_DOWN_DELAY_MINUTES": "0.02",
    "ACTIVITY_RETRY_FIRST_SECONDS": "0.5",
}
DEPLOY_DEADLINE = 180.0
# Settings of a lean migration: a short drain, a 1-second lock timeout, a minute for the job.
MIGRATION = {
    **LEAN,
    "MIGRATION_DRAIN_SECONDS": "3",
    "MIGRATION_DRAIN_INTERVAL_SECONDS": "0.5",
    "MIGRATION_LOCK_TIMEOUT_MS": "1000",
    "MIGRATION_JOB_DEADLINE_SECONDS": "60",
    "MAINTENANCE_VERIFY_SECONDS": "40",
}


class Writer:
    """POSTs an intent and GETs the database health through the public endpoint every 0.1 s."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.answers: list[tuple[float, int, int]] = []  # (time, write status, read status)
        self._running = True
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _status(self, method: str, path: str, **kwargs: Any) -> int:
        try:
            return self.estate.public(method, path, timeout=5, **kwargs).status_code
        except requests.RequestException:
            return 0

    def _loop(self) -> None:
        while self._running:
            wrote = self._status("POST", "/api/v1/intents", json={"user_input": "written during a migration"})
            read = self._status("GET", "/api/v1/health/database")
            self.answers.append((time.time(), wrote, read))
            time.sleep(0.1)

    def stop(self) -> None:
        self._running = False
        self._thread.join(10)


class Poller:
    """GETs ``/api/v1/status`` through the public endpoint every ``interval`` seconds, recording
    (time, status, version) until stopped: a deploy's zero-downtime evidence."""

    def __init__(self, estate: Estate, interval: float = 0.05) -> None:
        self.estate, self.interval = estate, interval
        self.answers: list[tuple[float, int, str]] = []
        self._running = True
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while self._running:
            try:
                resp = self.estate.public("GET", "/api/v1/status", timeout=5)
                version = str(resp.json().get("version", "")) if resp.status_code == 200 else ""
                self.answers.append((time.time(), resp.status_code, version))
            except (requests.RequestException, ValueError):
                self.answers.append((time.time(), 0, ""))
            time.sleep(self.interval)

    def stop(self) -> None:
        self._running = False
        self._thread.join(10)

    def failed(self) -> list[tuple[float, int, str]]:
        return [a for a in self.answers if a[1] != 200]

    def versions(self) -> list[str]:
        """The versions served, in order, each once per run of answers."""
        out: list[str] = []
        for _, status, version in self.answers:
            if status == 200 and (not out or out[-1] != version):
                out.append(version)
        return out


@contextmanager
def polling(estate: Estate) -> Iterator[Poller]:
    poller = Poller(estate)
    try:
        yield poller
    finally:
        poller.stop()


def deploy(estate: Estate, tag: str, reason: str = "release", **body: Any) -> str:
    """POST /api/deployments; the run id."""
    return estate.start("/api/deployments", {"image": tag, "reason": reason, **body})


def finish(estate: Estate, run_id: str, timeout: float = DEPLOY_DEADLINE) -> View:
    """Wait for a run to end; its output."""
    return dict(estate.wait_done(run_id, timeout).get("output") or {})


def releases(estate: Estate) -> dict[str, Any]:
    resp = estate.api("GET", "/api/releases")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def serving(estate: Estate) -> str:
    """The version the public endpoint serves now."""
    return str(estate.public("GET", "/api/v1/status").json().get("version"))


def wait_serving(estate: Estate, version: str, timeout: float = 60) -> None:
    def served() -> bool:
        try:
            return serving(estate) == version
        except (requests.RequestException, ValueError):
            return False

    until(served, f"the public endpoint serves {version}", timeout, interval=0.2)


def decisions(estate: Estate, run_id: str) -> list[dict[str, Any]]:
    return list(estate.report(run_id)["decisions"])


def completed_once(estate: Estate, run_id: str, activity: str) -> int:
    """How many times an activity's completion is in the run's Durable history."""
    return sum(
        1
        for e in estate.history(run_id)
        if e.get("FunctionName") == activity and e.get("EventType") == "TaskCompleted"
    )


def schema_version(estate: Estate) -> int:
    """The primary's schema version, read directly (0 when the table is empty)."""
    import psycopg

    with psycopg.connect(estate.database_url("qlp-db-uksouth"), connect_timeout=5) as conn:
        row = conn.execute("select coalesce(max(version), 0) from schema_version").fetchone()
    return int(row[0]) if row else 0
