"""A fake estate for the deployment plans: the route, three container groups whose image tag decides how
they answer, the release and alert logs, the database observations, backups, lag and metrics.

Tags (as in the sandbox, simplified): ``broken`` never answers healthy; ``slow`` answers bursts in 800 ms and
``slow-300`` in 300 ms (average and p95); ``flaky`` answers a burst with 10% errors;
``late`` fails everything once it has answered three public requests (a release bad only after the
switch);
``silent`` answers bursts without any answered request (no data). Every other tag is healthy. A group
marked ``crashed`` fails until it is restarted or started.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import names
from tests.support.durable import T0, FakeContext
from tests.support.estate import estate as database_estate
from tests.support.settings import backup_settings

REPO = "acr.io/qlp-app"
PUBLIC = "https://qlp.example"
OGS = {"blue": "og-blue", "green": "og-green", "standby": "og-standby"}
GROUPS = {"blue": "qlp-blue", "green": "qlp-green", "standby": "qlp-standby"}
URLS = {g: f"http://10.0.0.{i}:8000" for i, g in enumerate(GROUPS.values(), start=1)}
SPEC = {"container": "app", "cpu": 1.0, "memory_gb": 1.5, "port": 8000, "environment": {"MODE": "prod"}}


def deploy_settings(**overrides: str) -> dict[str, Any]:
    defaults = {
        "image_repository": REPO,
        "deploy_window": "00:00-24:00",
        "post_switch_checks": "3",
        "post_switch_interval_seconds": "10",
        "propagation_consecutive": "2",
        "propagation_interval_seconds": "1",
        "propagation_deadline_seconds": "10",
        "health_deadline_seconds": "20",
        "deploy_poll_interval_seconds": "5",
    }
    return backup_settings(**{**defaults, **overrides})


def image(tag: str) -> str:
    return f"{REPO}:{tag}"


class DeployEstate:
    """The estate's state, changed by the plan's activities; ``activities()`` for FakeContext."""

    def __init__(self, live: str = "blue", *, live_image: str = "1.0.0", idle_image: str = "0.9.0") -> None:
        idle = "green" if live == "blue" else "blue"
        self.route = OGS[live]
        self.groups: dict[str, dict[str, Any]] = {
            GROUPS[live]: {"image": image(live_image), "state": "Running"},
            GROUPS[idle]: {"image": image(idle_image), "state": "Stopped"},
            GROUPS["standby"]: {"image": image(live_image), "state": "Stopped"},
        }
        self.logs: dict[str, list[dict[str, Any]]] = {"releases-qlp": [], "alerts-qlp": []}
        self.cpu: float | None = 200.0
        self.lag: float | None = 1.0
        self.backup_age = timedelta(hours=1)
        self.public_down = False
        self.switches: list[str] = []
        self.served: dict[str, int] = {}  # public requests each group answered
        self.backups_taken = 0
        self.schema_version = 3  # what the primary's database reads as its schema version
        self.clock = lambda: T0  # the run's clock, once context() made the run's FakeContext

    # ---- what answers ---------------------------------------------------------------------------------
    def live_group(self) -> str:
        slot = next(s for s, og in OGS.items() if og == self.route)
        return GROUPS[slot]

    def healthy(self, group: str) -> bool:
        g = self.groups[group]
        tag = g["image"].rsplit(":", 1)[-1]
        if g["state"] != "Running" or "broken" in tag or g.get("crashed"):
            return False
        return not ("late" in tag and self.served.get(group, 0) >= 3)

    def group_of(self, url: str) -> str:
        if url.startswith(PUBLIC):
            return self.live_group()
        return next(g for g, base in URLS.items() if url.startswith(base))

    def probe(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self.group_of(p["url"])
        ok = self.healthy(group) and not (self.public_down and p["url"].startswith(PUBLIC))
        if p["url"].startswith(PUBLIC):
            self.served[group] = self.served.get(group, 0) + 1
        values = {}
        for key in [*(p.get("fields") or []), *(p.get("expect_json") or {})]:
            values[key] = {"version": self.groups[group]["image"].rsplit(":", 1)[-1]}.get(
                key, "success" if key == "status" else 1
            )
        return {
            "url": p["url"],
            "ok": ok,
            "status": 200 if ok else 500,
            "latency_ms": 5.0,
            "values": values,
            "error": None if ok else "status 500, expected 200",
        }

    def burst(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self.group_of(p["url"])
        tag = self.groups[group]["image"].rsplit(":", 1)[-1]
        n = int(p["requests"])
        if "silent" in tag:
            return {
                "count": n,
                "answered": 0,
                "errors": 0,
                "error_rate": None,
                "average_ms": None,
                "p95_ms": None,
            }
        rate = 0.0 if self.healthy(group) else 100.0
        rate = 10.0 if "flaky" in tag and rate == 0 else rate
        latency = 300.0 if "slow-300" in tag else 800.0 if "slow" in tag else 8.0
        return {
            "count": n,
            "answered": n,
            "errors": int(n * rate / 100),
            "error_rate": rate,
            "average_ms": latency,
            "p95_ms": latency,
        }

    # ---- the activities --------------------------------------------------------------------------------
    def get_group(self, p: dict[str, Any]) -> dict[str, Any]:
        g = self.groups[p["group"]]
        view = {
            "group": p["group"],
            "exists": True,
            "state": g["state"],
            "image": g["image"],
            "url": URLS[p["group"]],
        }
        return {**view, "spec": {**SPEC, "image": g["image"]}} if p.get("spec") else view

    def ensure(self, p: dict[str, Any]) -> dict[str, Any]:
        g = self.groups[p["group"]]
        changed = g["image"] != p["image"]
        g["image"] = p["image"]
        if changed:
            g["state"] = "Running"  # an update redeploys the group, as ACI's does
        return {"group": p["group"], "changed": changed, "state": g["state"], "url": URLS[p["group"]]}

    def set_state(self, state: str) -> Any:
        def act(p: dict[str, Any]) -> dict[str, Any]:
            self.groups[p["group"]]["state"] = state
            self.groups[p["group"]].pop("crashed", None)  # a (re)start clears a crash
            return {"group": p["group"], "state": state, "url": URLS[p["group"]]}

        return act

    def switch(self, p: dict[str, Any]) -> dict[str, Any]:
        previous, self.route = self.route, p["origin_group"]
        self.switches.append(p["origin_group"])
        return {
            "origin_group": self.route,
            "previous_origin_group": previous,
            "changed": previous != self.route,
        }

    def origins(self, p: dict[str, Any]) -> dict[str, Any]:
        group = GROUPS[next(s for s, og in OGS.items() if og == p["origin_group"])]
        healthy = self.healthy(group)
        return {
            "origin_group": p["origin_group"],
            "origins": [{"name": group}],
            "healthy_count": int(healthy),
        }

    def metrics(self, p: dict[str, Any]) -> dict[str, Any]:
        if p["target"] == "container_group":
            return {"target": "container_group", "window": {"cpu": self.cpu}}
        return {
            "target": "frontdoor",
            "window": {"error_5xx_percent": 0.0, "latency_ms": 20.0, "request_count": 40},
        }

    def append(self, p: dict[str, Any]) -> dict[str, Any]:
        entries = self.logs.setdefault(p["log"], [])
        if all(e.get("id") != p["entry"].get("id") for e in entries):
            entries.append(p["entry"])
        return {"log": p["log"], "appended": True}

    def backups(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"server": p["server"], "latest_completed_at": (self.clock() - self.backup_age).isoformat()}

    def take_backup(self, p: dict[str, Any]) -> dict[str, Any]:
        self.backups_taken += 1
        self.backup_age = timedelta(0)
        return {"server": p["server"], "name": p.get("name"), "completed_at": self.clock().isoformat()}

    def activities(self) -> dict[str, Any]:
        return {
            **database_estate("home"),
            names.TRAFFIC_GET_ROUTE: lambda p: {"origin_group": self.route, "route": "qlp-route"},
            names.TRAFFIC_SWITCH_ROUTE: self.switch,
            names.TRAFFIC_LIST_HEALTHY_ORIGINS: self.origins,
            names.CONTAINERS_GET_GROUP: self.get_group,
            names.CONTAINERS_ENSURE_GROUP: self.ensure,
            names.CONTAINERS_START_GROUP: self.set_state("Running"),
            names.CONTAINERS_STOP_GROUP: self.set_state("Stopped"),
            names.CONTAINERS_RESTART_GROUP: self.set_state("Running"),
            names.CONTAINERS_GET_LOGS: lambda p: {"group": p["group"], "logs": "workload serving"},
            names.PROBE_HTTP: self.probe,
            names.PROBE_BURST: self.burst,
            names.METRICS_GET_WINDOW: self.metrics,
            names.STORAGE_READ_LOG: lambda p: {"log": p["log"], "entries": list(self.logs.get(p["log"], []))},
            names.STORAGE_APPEND_LOG: self.append,
            names.DATABASE_GET_REPLICATION_LAG: lambda p: {"server": p["server"], "lag_seconds": self.lag},
            names.DATABASE_LIST_BACKUPS: self.backups,
            names.DATABASE_CREATE_BACKUP: self.take_backup,
            names.DATABASE_GET_SCHEMA_VERSION: lambda p: {
                "server": p["server"],
                "schema_version": self.schema_version,
            },
        }

    def history(self, *events: dict[str, Any]) -> None:
        """Release events already recorded (kind, image tag, outcome, extra fields)."""
        self.logs["releases-qlp"] += [dict(e) for e in events]

    def context(self, input_: dict[str, Any], **kwargs: Any) -> FakeContext:
        ctx = FakeContext(input_, self.activities(), **kwargs)
        self.clock = lambda: ctx.current_utc_datetime
        return ctx

    def releases(self) -> list[tuple[str, str, str]]:
        return [(e["kind"], e["image"].rsplit(":", 1)[-1], e["outcome"]) for e in self.logs["releases-qlp"]]


def deploy_input(tag: str = "1.1.0", **overrides: Any) -> dict[str, Any]:
    settings = overrides.pop("settings", None) or deploy_settings()
    return {
        "run_id": "deploy-qlp-20261129T120000-abcd",
        "settings": settings,
        "trigger": {"kind": "operator", "source": "api", "reason": "release 1.1", "by": "function key"},
        "image": image(tag),
        "dry_run": False,
        **overrides,
    }


def released(kind: str, tag: str, outcome: str = "succeeded", **extra: Any) -> dict[str, Any]:
    """A release event as the plans record them (images by tag in this repository)."""
    fields = {k: image(v) if k.endswith("image") and v else v for k, v in extra.items()}
    return {
        "id": f"{kind}-{tag}",
        "kind": kind,
        "image": image(tag),
        "outcome": outcome,
        "run_id": f"{kind}-{tag}",
        "at": T0.isoformat(),
        **fields,
    }


def rollback_input(**overrides: Any) -> dict[str, Any]:
    return {
        "run_id": "rollback-qlp-20261129T120000-abcd",
        "settings": overrides.pop("settings", None) or deploy_settings(),
        "trigger": {"kind": "operator", "source": "api", "reason": "errors after the release", "by": "ops"},
        **overrides,
    }


def recovery_input(group: str = GROUPS["blue"], **overrides: Any) -> dict[str, Any]:
    signal = {
        "state": "fired",
        "resource_ids": [f"/subscriptions/sub-1/x/containergroups/{group}"],
        "summary": "restarts",
    }
    return {
        "run_id": "container-recovery-qlp-20261129T120000-abcd",
        "settings": overrides.pop("settings", None) or deploy_settings(confirm_interval_seconds="1"),
        "trigger": {"kind": "alert", "source": "monitor-webhook", "reason": "restarts", "signal": signal},
        "group": group,
        **overrides,
    }
