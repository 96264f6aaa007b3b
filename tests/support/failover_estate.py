"""A fake estate for the failover and failback plans: a UK South outage, with flags to change the world.

``Estate().activities()`` answers every activity the plans call; ``run(estate, payload, events)`` drives
the failover orchestrator against it and returns (output, context).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import names
from tests.support.durable import T0, Event, FakeContext, drive, orchestrator
from tests.support.settings import FAILOVER_ENV as ENV
from tests.support.settings import failover_settings as settings

__all__ = [
    "ENV",
    "Estate",
    "alert_input",
    "approve",
    "last_report",
    "operator_input",
    "reasons",
    "run",
    "settings",
]


class Estate:
    """Fake activity results for a UK South outage; flip attributes to change the world."""

    def __init__(self) -> None:
        self.primary_up = False
        self.primary_state = "Ready"
        self.lag: float | None = 3.0
        self.promote_error = ""
        self.healthy_origins = 1
        self.standby_ok = True
        self.public_ok = True
        self.counts_old: dict[str, int] | None = None
        self.counts_new = {"intents": 10}
        self.route = "og-blue"
        self.switched = False
        self.secret_host = "pg-south-fb1.example:5432"  # where the database secret points
        self.tagged: list[dict[str, Any]] = []  # servers Continuity created, as listed
        self.reports: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.cloud_events: list[dict[str, Any]] = []

    def activities(self) -> dict[str, Any]:
        return {
            names.TRAFFIC_GET_ROUTE: lambda i: {"origin_group": self.route, "route": "route"},
            names.CONTAINERS_GET_GROUP: lambda i: {"group": i["group"], "url": f"http://{i['group']}"},
            names.PROBE_HTTP: self.probe,
            names.DATABASE_GET_REPLICATION_LAG: lambda i: {"lag_seconds": self.lag, "source": "metric"},
            names.DATABASE_GET_SERVER: self.get_server,
            names.CONTAINERS_START_GROUP: lambda i: {"group": i["group"], "state": "Running"},
            names.DATABASE_PROMOTE_REPLICA: self.promote,
            names.DATABASE_RUN_CHECKS: self.checks,
            names.SECRETS_POINT_DATABASE_URL: lambda i: {
                "changed": True,
                "message": "secret points at pg-west",
            },
            names.CONTAINERS_RESTART_GROUP: lambda i: {"group": i["group"], "url": "http://aci-standby"},
            names.TRAFFIC_LIST_HEALTHY_ORIGINS: lambda i: {
                "healthy_count": self.healthy_origins,
                "origins": [{}],
            },
            names.TRAFFIC_SWITCH_ROUTE: self.switch,
            names.DATABASE_STOP_SERVER: lambda i: {"state": "Stopped", "message": f"{i['server']} stopped"},
            names.STORAGE_WRITE_REPORT: self.write_report,
            names.NOTIFY_SEND: lambda i: self.notes.append(i) or {"sent": ["webhook"]},
            names.EVENTS_PUBLISH: lambda i: self.cloud_events.append(i) or {"published": True},
            names.SECRETS_GET_DATABASE_HOST: lambda i: {"host": self.secret_host},
            names.DATABASE_LIST_SERVERS: lambda i: {
                "servers": [s for s in self.tagged if s["resource_group"] == i["resource_group"]]
            },
            names.DATABASE_ENSURE_VIRTUAL_ENDPOINT: lambda i: {
                "name": "pg-south-ve",
                "writer_host": "pg-south-ve.writer.example",
                "changed": True,
            },
            names.DATABASE_GET_WAL_POSITION: self.wal_position,
            # what a dry run's preconditions read besides (shared.readiness.observe)
            names.STORAGE_READ_STATE: lambda i: {"name": i["name"], "found": False, "state": None},
            names.DATABASE_LIST_BACKUPS: lambda i: {"server": i["server"], "backups": []},
            names.STORAGE_LIST_REPORTS: lambda i: {"reports": []},
            names.STORAGE_GET_TASK_HUB_REGION: lambda i: {"region": "ukwest", "reported": True},
        }

    def wal_position(self, i: dict[str, Any]) -> dict[str, Any]:
        """The old primary at 0/3000060 until the switchover; the new one past it afterwards."""
        primary = "pg-west" if self.switched else "pg-south"
        lsn = "0/3000100" if self.switched else "0/3000060"
        return {"server": i["server"], "in_recovery": i["server"] != primary, "lsn": lsn}

    def probe(self, i: dict[str, Any]) -> dict[str, Any]:
        url = i["url"]
        ok = (
            self.primary_up
            if "aci-blue" in url
            else self.standby_ok
            if "aci-standby" in url
            else self.public_ok and self.route == "og-standby"
        )
        return {"url": url, "ok": ok, "status": 200 if ok else 503, "error": "" if ok else "unavailable"}

    def get_server(self, i: dict[str, Any]) -> dict[str, Any]:
        role = "replica" if self.switched and i["server"] == "pg-south" else "primary"
        return {"name": i["server"], "state": self.primary_state, "role": role}

    def promote(self, i: dict[str, Any]) -> dict[str, Any]:
        if self.promote_error:
            raise RuntimeError(self.promote_error)
        self.switched = i["operation"] == "switchover"
        return {"server": i["server"], "promoted": True, "role": "primary", "mode": i["mode"]}

    def checks(self, i: dict[str, Any]) -> dict[str, Any]:
        if i["server"] == "pg-south":
            if self.counts_old is None:
                raise RuntimeError("transient: run checks pg-south: connection refused")
            return {"counts": self.counts_old}
        return {"counts": self.counts_new}

    def switch(self, i: dict[str, Any]) -> dict[str, Any]:
        self.route = i["origin_group"]
        return {"changed": True, "origin_group": self.route, "message": f"route now serves {self.route}"}

    def write_report(self, i: dict[str, Any]) -> dict[str, Any]:
        self.reports.append(i)
        return {"url": f"http://blob/{i['run_id']}.json"}


def alert_input(**overrides: Any) -> dict[str, Any]:
    signal = {
        "source": "monitor-webhook",
        "state": "fired",
        "resource_ids": ["/x/pg-south"],
        "observed_at": T0.isoformat(),
    }
    data = {
        "settings": settings(),
        "trigger": {
            "kind": "alert",
            "reason": "primary down",
            "signal": signal,
            "first_signal_at": T0.isoformat(),
        },
        "mode": "auto",
        "poll_attempts": 5,
        "poll_interval_seconds": 1,
    }
    data.update(overrides)
    return data


def operator_input(mode: str = "forced", **overrides: Any) -> dict[str, Any]:
    return alert_input(trigger={"kind": "operator", "reason": "drill by ops"}, mode=mode, **overrides)


def run(
    estate: Estate, payload: dict[str, Any], events: list[Event] | None = None
) -> tuple[Any, FakeContext]:
    ctx = FakeContext(payload, estate.activities(), events=list(events or []), instance_id="failover-qlp")
    out = drive(orchestrator(names.FAILOVER_ORCHESTRATOR), ctx)
    return out, ctx


def last_report(estate: Estate) -> dict[str, Any]:
    return estate.reports[-1]["report"]


def reasons(estate: Estate) -> list[str]:
    return [d["reason"] for d in last_report(estate)["decisions"]]


def approve(at_minutes: float = 1, answer: str = "approve") -> Event:
    return Event("approval", {"answer": answer, "by": "ops"}, T0 + timedelta(minutes=at_minutes))
