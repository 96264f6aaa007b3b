"""Benchmark: Continuity's automated failover against the DR document's runbook, on one sandbox, one run.

1. Continuity: UK South goes down; an Azure Monitor alert reaches POST /api/alerts; the failover runs
   (confirmation 1 probe, no interval, grace period 0 - set for this measurement); the clock stops when
   the public endpoint answers /api/v1/health/database from UK West. Phases come from the run report;
   the overhead is the share of the run's time in which no activity was scheduled or running (history).
2. Reset: UK South heals and Continuity fails back (a new UK South primary, UK West its replica).
3. Runbook, executed as written, with the same SDK calls: switch traffic, promote the replica (forced),
   restart the standby, set the secret, then poll health every 10 s. As written it cannot succeed: the
   standby restarted before the secret changed and still points at the dead primary. After 3 failed
   polls (the DR plan's detection threshold) the operator restarts the standby again; the clock stops at
   the first healthy poll.

Prints the breakdown and, last, ``failover ratio: runbook/continuity=<x> overhead=<fraction>``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import Api, estate  # noqa: E402
from sandbox.client import SandboxClient  # noqa: E402
from tests.fixtures.devhost import DevhostProcess  # noqa: E402

POLL_SECONDS = 10.0  # the runbook's health polling interval
RUNBOOK_PATIENCE = 3  # failed polls before the operator restarts the standby again


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> float:
    """Poll ``check`` until true; returns the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(interval)
    raise TimeoutError("condition not reached")


def healthy(public_url: str, region: str | None = None) -> bool:
    import requests

    try:
        db = requests.get(public_url + "/api/v1/health/database", timeout=3)
        if db.status_code != 200:
            return False
        return (
            region is None
            or requests.get(public_url + "/api/v1/status", timeout=3).json()["region"] == region
        )
    except (requests.RequestException, ValueError, KeyError):
        return False


def stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def overhead(history: list[dict[str, Any]]) -> float:
    """Share of the run's wall time covered by no activity interval (scheduled -> completed)."""
    start = next(stamp(e["Timestamp"]) for e in history if e["EventType"] == "ExecutionStarted")
    end = max(stamp(e["Timestamp"]) for e in history)
    spans = sorted(
        (stamp(e["ScheduledTime"]), stamp(e["Timestamp"]))
        for e in history
        if e["EventType"] in ("TaskCompleted", "TaskFailed") and e.get("ScheduledTime")
    )
    covered, cursor = 0.0, start
    for lo, hi in spans:
        lo = max(lo, cursor)
        if hi > lo:
            covered += hi - lo
            cursor = hi
    return max(0.0, 1 - covered / (end - start)) if end > start else 0.0


class Bench(Api):
    def __init__(self, sandbox: SandboxClient, host: DevhostProcess, env: dict[str, str]) -> None:
        super().__init__(host)
        self.sandbox, self.env = sandbox, env
        self.public = str(sandbox.endpoints["frontdoor_url"])

    def alert(self) -> dict[str, Any]:
        e = self.sandbox.endpoints
        rid = (
            f"/subscriptions/{e['subscription_id']}/resourceGroups/{e['resource_groups']['primary']}"
            f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{e['servers']['primary']}"
        )
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        essentials = {
            "alertId": f"bench-{time.time_ns()}",
            "alertRule": "primary availability",
            "severity": "Sev0",
            "signalType": "Metric",
            "monitorCondition": "Fired",
            "alertTargetIDs": [rid],
            "firedDateTime": now,
        }
        return dict(self.api("POST", "/api/alerts", {"schemaId": "azureMonitorCommonAlertSchema",
                                                      "data": {"essentials": essentials}}))  # fmt: skip

    # ---- 1. Continuity --------------------------------------------------------------------------------
    def continuity(self) -> tuple[float, float]:
        self.sandbox.fault("region-outage", region="uksouth")
        t0 = time.monotonic()
        started = self.alert()
        assert started["status"] == "started", started
        t1 = wait_for(lambda: healthy(self.public, "ukwest"), 300)
        run = self.wait_run(started["run"])
        assert run["output"]["status"].startswith("succeeded"), run["output"]
        report_steps = self.report_steps(started["run"])
        history = self.history(started["run"])
        print("continuity (automated failover, confirmation 1 probe, grace period 0):")
        for name, seconds in report_steps:
            print(f"  {name:<16} {seconds:7.2f} s")
        print(
            f"  {'= healthy at':<16} {t1 - t0:7.2f} s after the alert (measured through the public endpoint)"
        )
        return t1 - t0, overhead(history)

    def report_steps(self, iid: str) -> list[tuple[str, float]]:
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(
            str(self.sandbox.endpoints["storage_connection_string"])
        )
        blob = service.get_blob_client("continuity-reports", f"runs/{iid}/report.json")
        report = json.loads(blob.download_blob().readall())
        return [
            (s["name"], stamp(s["ended_at"]) - stamp(s["started_at"]))
            for s in report["steps"]
            if s.get("ended_at")
        ]

    def history(self, iid: str) -> list[dict[str, Any]]:
        path = f"/runtime/webhooks/durabletask/instances/{iid}"
        resp = self.host.request("GET", path, key="master", params={"showHistory": "true"})
        return list(resp.json()["historyEvents"])

    # ---- 2. reset ---------------------------------------------------------------------------------------
    def reset(self) -> str:
        self.sandbox.fault("heal", region="uksouth")
        back = self.api("POST", "/api/failback", {"reason": "benchmark reset"})
        assert back.get("status") == "started", back
        run = self.wait_run(back["id"])
        assert run["output"]["status"] == "succeeded", run["output"]
        wait_for(lambda: healthy(self.public, "uksouth"), 120)
        summary = str(run["output"]["summary"])
        return summary.split(" is primary")[0].rsplit(": ", 1)[-1]

    # ---- 3. the runbook -----------------------------------------------------------------------------------
    def runbook(self) -> float:
        from shared.azure.clients import Clients
        from shared.azure.containers import ContainersAdapter
        from shared.azure.database import DatabaseAdapter
        from shared.azure.secrets import SecretsAdapter
        from shared.azure.traffic import traffic_for
        from shared.config import load_secrets, load_settings

        settings = load_settings(self.env)
        clients = Clients(settings, load_secrets(self.env))
        db, groups = DatabaseAdapter(clients), ContainersAdapter(clients)
        replica, west = settings.replica_server, settings.secondary_resource_group
        standby = settings.container_group_standby
        self.sandbox.fault("region-outage", region="uksouth")
        steps: list[tuple[str, Callable[[], Any]]] = [
            (
                "switch traffic",
                lambda: traffic_for(clients).switch_route(settings.frontdoor_origin_group_standby),
            ),
            ("promote", lambda: db.promote(replica, west, mode="forced", operation="standalone")),
            ("restart standby", lambda: groups.restart(standby, west)),
            (
                "set secret",
                lambda: SecretsAdapter(clients).point_database_url(str(db.get(replica, west)["fqdn"])),
            ),
        ]
        print("runbook (as written: sequential, health polled every 10 s):")
        t0 = time.monotonic()
        for name, step in steps:
            begun = time.monotonic()
            step()
            print(f"  {name:<16} {time.monotonic() - begun:7.2f} s")
        failed = 0
        while True:
            time.sleep(POLL_SECONDS)
            if healthy(self.public, "ukwest"):
                break
            failed += 1
            print(f"  health poll {failed}: unhealthy")
            if failed == RUNBOOK_PATIENCE:
                begun = time.monotonic()
                groups.restart(standby, west)
                took = time.monotonic() - begun
                print(f"  {'restart again':<16} {took:7.2f} s  (as written it never recovers:")
                print("                            the standby restarted before the secret changed)")
            if failed > 30:
                raise TimeoutError("the runbook never became healthy")
        elapsed = time.monotonic() - t0
        print(f"  {'= healthy at':<16} {elapsed:7.2f} s after the script started")
        return elapsed


def main() -> int:
    overrides = {
        "CONTINUITY_CONFIRM_PROBES": "1",
        "CONTINUITY_CONFIRM_INTERVAL_SECONDS": "0",
        "CONTINUITY_GRACE_PERIOD_SECONDS": "0",
        "CONTINUITY_PROBE_TIMEOUT_SECONDS": "3",
    }
    with estate("failover", overrides) as (sandbox, host, env):
        bench = Bench(sandbox, host, env)
        continuity, share = bench.continuity()
        new_primary = bench.reset()
        print(f"reset: failed back; {new_primary} is the UK South primary, the UK West server its replica")
        bench.env = {**env, "CONTINUITY_PRIMARY_SERVER": new_primary}
        runbook = bench.runbook()
    print(f"failover ratio: runbook/continuity={runbook / continuity:.1f} overhead={share:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
