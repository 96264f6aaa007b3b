"""A fake estate for the migration plans: the deployment estate (tests/support/deploy_estate.py) with a
schema version, the application role's sessions, migration job groups whose tag decides their exit, the
slots' maintenance variable (writes through the public endpoint answer 503 while it is on) and the
restore tests' report summaries.

Job tags: ``migrate-<n>`` sets the version to n and exits 0; ``fail`` exits 1 with no change; ``hang``
never exits; ``wrong`` exits 0 and leaves the version unchanged.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from shared import names
from tests.support.deploy_estate import PUBLIC, URLS, DeployEstate, deploy_settings, image
from tests.support.durable import T0


class MigrationEstate(DeployEstate):
    def __init__(self, *, version: int = 3, sessions: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version = version
        self.sessions = sessions  # the app role's sessions, ending by themselves one per count
        self.lingering = False  # sessions that never end by themselves
        self.terminated = 0
        self.jobs: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.restore_tests = [
            {
                "run_id": "restore-test-1",
                "operation": "restore-test",
                "status": "succeeded",
                "ended_at": (T0 - timedelta(days=1)).isoformat(),
            }
        ]
        self.maintenance: dict[str, str] = {}

    def ensure(self, p: dict[str, Any]) -> dict[str, Any]:
        if p["group"] in self.groups:
            env = dict(p.get("environment") or {})
            self.maintenance[p["group"]] = env.get("MAINTENANCE_MODE", "false")
            return {**super().ensure(p), "changed": True}
        tag = p["image"].rsplit(":", 1)[-1]
        self.jobs[p["group"]] = {"tag": tag, "polls": 0, "spec": p}
        return {"group": p["group"], "changed": True, "state": "Running"}

    def get_group(self, p: dict[str, Any]) -> dict[str, Any]:
        job = self.jobs.get(p["group"])
        if job is None:
            view = super().get_group(p)
            if p.get("spec"):
                view["spec"]["environment"] = {
                    **view["spec"]["environment"],
                    "MAINTENANCE_MODE": self.maintenance.get(p["group"], "false"),
                }
            return view
        if p["group"] in self.deleted:
            return {"group": p["group"], "exists": False}
        job["polls"] += 1
        tag = job["tag"]
        if "hang" in tag or job["polls"] < 2:
            state, code = "Running", None
        else:
            state, code = "Terminated", 1 if "fail" in tag else 0
            if code == 0 and not job.get("done") and "wrong" not in tag:
                found = re.search(r"migrate-(\d+)", tag)
                self.version = int(found.group(1)) if found else self.version + 1
            job["done"] = True
        if job.get("stopped"):
            state, code = "Terminated", 137
        return {
            "group": p["group"],
            "exists": True,
            "state": state,
            "containers": [{"name": "job", "state": state, "exit_code": code}],
        }

    def stop_job(self, p: dict[str, Any]) -> dict[str, Any]:
        if p["group"] in self.jobs:
            self.jobs[p["group"]]["stopped"] = True
            return {"group": p["group"], "state": "Stopped"}
        return self.set_state("Stopped")(p)

    def probe(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("method") == "POST" and p["url"].startswith(PUBLIC):
            live = self.live_group()
            if self.maintenance.get(live) == "true":
                return {"url": p["url"], "ok": False, "status": 503, "error": "status 503, expected 2xx"}
            return {"url": p["url"], "ok": True, "status": 201, "error": None}
        return super().probe(p)

    def drain(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("terminate"):
            self.terminated, self.sessions = self.sessions, 0
            return {
                "role": "qlp_app",
                "sessions": self.terminated,
                "others": 1,
                "terminated": self.terminated,
                "after": 0,
            }
        found = self.sessions
        if not self.lingering and self.sessions:
            self.sessions -= 1
        return {"role": "qlp_app", "sessions": found, "others": 1, "terminated": 0, "after": found}

    def activities(self) -> dict[str, Any]:
        return {
            **super().activities(),
            names.CONTAINERS_STOP_GROUP: self.stop_job,
            names.CONTAINERS_DELETE_GROUP: lambda p: self.deleted.append(p["group"]) or {"deleted": True},
            names.CONTAINERS_GET_LOGS: lambda p: {
                "group": p["group"],
                "logs": f"migration {p['group']}: done",
            },
            names.DATABASE_GET_SCHEMA_VERSION: lambda p: {
                "server": p["server"],
                "schema_version": self.version,
            },
            names.DATABASE_DRAIN_SESSIONS: self.drain,
            names.STORAGE_LIST_REPORTS: lambda p: {"reports": list(self.restore_tests)},
        }


def migration_settings(**overrides: str) -> dict[str, Any]:
    defaults = {
        "migration_drain_seconds": "4",
        "migration_drain_interval_seconds": "1",
        "migration_job_deadline_seconds": "30",
        "maintenance_verify_seconds": "10",
    }
    return deploy_settings(**{**defaults, **overrides})


def migration_input(
    tag: str = "migrate-4", klass: str = "breaking", target: int = 4, **overrides: Any
) -> dict[str, Any]:
    return {
        "run_id": "migration-qlp-20261129T120000-abcd",
        "settings": overrides.pop("settings", None) or migration_settings(),
        "trigger": {"kind": "operator", "source": "api", "reason": "schema 4", "by": "ops"},
        "image": image(tag),
        "target_version": target,
        "class": klass,
        "dry_run": False,
        **overrides,
    }


__all__ = ["URLS", "MigrationEstate", "migration_input", "migration_settings"]
