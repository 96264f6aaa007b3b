"""A fake estate for the DR test calendar's checks (the backup settings' names): every read the failover
validation, the performance baseline, the health-check validation and the backup integrity check make,
answered from attributes a test changes.

``World().run(orchestrator)`` drives one check's orchestrator against it and returns (output, context).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from shared import names
from tests.support.durable import NOW, FakeContext, drive, orchestrator
from tests.support.estate import estate
from tests.support.settings import backup_settings

PUBLIC = "https://qlp.example"
GROUPS = {"og-blue": "qlp-blue", "og-green": "qlp-green", "og-standby": "qlp-standby"}
BLOB = {"name": "qlp-db-uksouth/ltr-qlp-1/qlp_db.dump", "size": 4096, "md5": "bWQ1"}
PROTECTED = {
    "account": "qlpbackups",
    "replication": "Standard_RAGRS",
    "versioning": True,
    "delete_retention_days": 365,
    "container": "long-term-backups",
    "immutability": True,
    "immutability_days": 2557,
    "immutability_state": "Locked",
}


def figures(p95: float, *, errors: int = 0, count: int = 100) -> dict[str, Any]:
    """A burst's answer (PROBE_BURST) with its p95; p50 and p99 around it."""
    answered = count - errors
    return {
        "count": count,
        "answered": answered,
        "errors": errors,
        "error_rate": round(100.0 * errors / count, 2),
        "average_ms": p95 * 0.6,
        "p50_ms": p95 * 0.5,
        "p95_ms": p95,
        "p99_ms": p95 * 1.5,
        "max_ms": p95 * 2,
        "statuses": {"200": answered},
        "error_samples": [],
    }


class World:
    """The estate at home, healthy: blue live and running, green and the standby stopped."""

    def __init__(self) -> None:
        self.now: datetime = NOW
        self.route = "og-blue"
        self.lag: float | None = 2.0
        self.running = {"qlp-blue"}
        self.images = {"qlp-blue": "qlp:1.4", "qlp-green": "qlp:1.4", "qlp-standby": "qlp:1.4"}
        self.probe_paths = dict.fromkeys(GROUPS, "/health")
        self.protocols = dict.fromkeys(GROUPS, "Http")
        self.enabled = dict.fromkeys(GROUPS, True)
        self.public_down: set[str] = set()  # paths that do not answer through the public endpoint
        self.bursts = {"/health": figures(12.0), "/api/v1/status": figures(20.0)}
        self.summaries: list[dict[str, Any]] = []  # report summaries (STORAGE_LIST_REPORTS)
        self.stored: dict[str, dict[str, Any]] = {}  # run id -> report
        self.backups = {
            "backups": [{"name": "b1"}, {"name": "b2"}],
            "latest_completed_at": (NOW - timedelta(hours=1)).isoformat(),
            "earliest_restore_point": (NOW - timedelta(days=7)).isoformat(),
            "backup_retention_days": 30,
            "geo_redundant_backup": "Enabled",
        }
        self.log = [
            {
                "backup_name": "ltr-qlp-1",
                "status": "succeeded",
                "server": "qlp-db-uksouth",
                "resource_group": "rg-uksouth",
                "ended_at": (NOW - timedelta(days=2)).isoformat(),
                "blobs": [BLOB],
            }
        ]
        self.blob_md5 = BLOB["md5"]

    # ---- the reads -----------------------------------------------------------------------------------
    def group(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["group"]
        state = "Running" if name in self.running else "Stopped"
        return {
            "group": name,
            "exists": True,
            "state": state,
            "image": self.images[name],
            "url": f"http://{name}.local",
        }

    def probe(self, p: dict[str, Any]) -> dict[str, Any]:
        url = str(p["url"])
        if url.startswith(PUBLIC):
            ok = url.removeprefix(PUBLIC) not in self.public_down
        else:  # a slot's own address: it answers while its group runs
            ok = any(url.startswith(f"http://{g}.local") for g in self.running)
        status = 200 if ok else 503
        return {"url": url, "ok": ok, "status": status, "latency_ms": 7.5, "error": None if ok else "503"}

    def origins(self, p: dict[str, Any]) -> dict[str, Any]:
        group = p["origin_group"]
        container = GROUPS[group]
        healthy = self.enabled[group] and container in self.running and self.probe_paths[group] == "/health"
        url = f"http://127.0.0.1:8001{self.probe_paths[group]}"
        answer = {
            "url": url,
            "status": 200 if healthy else None,
            "latency_ms": 3.0,
            "error": None if healthy else "ConnectionRefusedError: refused",
        }
        origin = {
            "name": container,
            "host": "127.0.0.1",
            "port": 8001,
            "enabled": self.enabled[group],
            "healthy": healthy,
            **({"probe": answer} if self.enabled[group] else {}),
        }
        return {
            "origin_group": group,
            "probe_path": self.probe_paths[group],
            "probe_protocol": self.protocols[group],
            "origins": [origin],
            "healthy": [],
            "healthy_count": int(healthy),
        }

    def burst(self, p: dict[str, Any]) -> dict[str, Any]:
        path = str(p["url"]).removeprefix(PUBLIC)
        return {"url": p["url"], **copy.deepcopy(self.bursts[path])}

    def list_reports(self, p: dict[str, Any]) -> dict[str, Any]:
        wanted = p.get("operation")
        return {"reports": [r for r in self.summaries if not wanted or r["operation"] == wanted]}

    def read_report(self, p: dict[str, Any]) -> dict[str, Any]:
        report = self.stored.get(p["run_id"])
        return {"run_id": p["run_id"], "found": report is not None, "report": report, "events": []}

    def verify(self, p: dict[str, Any]) -> dict[str, Any]:
        checks = []
        for blob in p["blobs"]:
            ok = blob["md5"] == self.blob_md5
            detail = (
                f"{blob['size']} bytes, MD5 {self.blob_md5} as recorded"
                if ok
                else (f"MD5 {self.blob_md5}, recorded {blob['md5']}")
            )
            checks.append({"name": f"blob {blob['name']}", "passed": ok, "detail": detail})
        return {
            "container": "long-term-backups",
            "checks": checks,
            "passed": all(c["passed"] for c in checks),
        }

    def activities(self) -> dict[str, Any]:
        return {
            **estate("home"),
            names.TRAFFIC_GET_ROUTE: lambda p: {"origin_group": self.route, "route": "qlp-route"},
            names.CONTAINERS_GET_GROUP: self.group,
            names.PROBE_HTTP: self.probe,
            names.PROBE_BURST: self.burst,
            names.DATABASE_GET_REPLICATION_LAG: lambda p: {"lag_seconds": self.lag, "source": "metric"},
            names.TRAFFIC_LIST_HEALTHY_ORIGINS: self.origins,
            names.STORAGE_READ_STATE: lambda p: {"name": p["name"], "found": False, "state": None},
            names.DATABASE_LIST_BACKUPS: lambda p: copy.deepcopy(self.backups),
            names.STORAGE_LIST_REPORTS: self.list_reports,
            names.STORAGE_READ_REPORT: self.read_report,
            names.STORAGE_GET_TASK_HUB_REGION: lambda p: {"region": "ukwest", "reported": True},
            names.STORAGE_READ_LOG: lambda p: {"log": p["log"], "entries": copy.deepcopy(self.log)},
            names.STORAGE_GET_PROTECTION: lambda p: dict(PROTECTED),
            names.LTR_GET_OPERATION: lambda p: {"found": True, "status": "Succeeded"},
            names.LTR_VERIFY_BLOBS: self.verify,
        }

    def run(self, name: str, **settings: str) -> tuple[dict[str, Any], FakeContext]:
        """Drive the check's orchestrator once; a report it wrote is kept as a later run would list it."""
        run_id = f"check-qlp-{len(self.stored) + 1}"
        payload = {
            "settings": backup_settings(**settings),
            "run_id": run_id,
            "trigger": {"kind": "timer", "reason": "test"},
        }
        ctx = FakeContext(payload, self.activities(), now=self.now)
        out = drive(orchestrator(name), ctx)
        report = ctx.last_report()
        self.stored[run_id] = report
        self.summaries.append({k: report[k] for k in ("run_id", "operation", "status", "started_at")})
        self.now += timedelta(days=31)  # the next run is next month's
        return out, ctx
