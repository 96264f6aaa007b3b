"""What the chaos and kill end-to-end tests share: killing devhost at every step of a run, the sandbox's
record of what it was asked to change (``/sandbox/status`` ``actions``), and the checks that the estate
a run leaves is consistent and that no step was done again after its completion was recorded.

The actions the sandbox counts (promotes, route switches, secret writes, container group creates and
changes) are each done by one activity; ``ACTIVITY_OF`` names it. A step whose completion is in the
run's Durable history must not happen again: every action of a run falls inside the window of one of
its activity's calls (scheduled -> completion recorded), and ``repeated`` lists those that do not.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from shared import names
from tests.polling import until
from tests.support.e2e import Estate, View, finished, run_view

ACTIVITY_OF = {
    "promotes": names.DATABASE_PROMOTE_REPLICA,
    "route_switches": names.TRAFFIC_SWITCH_ROUTE,
    "secret_writes": names.SECRETS_POINT_DATABASE_URL,
    "group_creates": names.CONTAINERS_ENSURE_GROUP,
    "group_updates": names.CONTAINERS_ENSURE_GROUP,
}


def stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def actions(estate: Estate, since: float = 0.0) -> list[dict[str, Any]]:
    """The changes the sandbox accepted since ``since`` (epoch seconds), oldest first."""
    return [a for a in estate.sandbox.status()["actions"]["log"] if a["at"] >= since]


def counts(done: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """(kind, resource name) -> how many times."""
    out: dict[tuple[str, str], int] = {}
    for a in done:
        out[a["kind"], a["name"]] = out.get((a["kind"], a["name"]), 0) + 1
    return out


def windows(history: list[dict[str, Any]], activity: str) -> list[tuple[float, float]]:
    """Each completed call of ``activity`` in a history: (scheduled, completion recorded)."""
    return [
        (stamp(e["ScheduledTime"]), stamp(e["Timestamp"]))
        for e in history
        if e.get("FunctionName") == activity and e.get("EventType") == "TaskCompleted"
    ]


def repeated(done: list[dict[str, Any]], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The actions that no call of their activity was running for: done again after the call's
    completion was recorded (or by nothing of this run). A small tolerance covers the clock's grain."""
    slack = 0.05
    return [
        a
        for a in done
        if not any(lo - slack <= a["at"] <= hi + slack for lo, hi in windows(history, ACTIVITY_OF[a["kind"]]))
    ]


def kill_at_every_step(estate: Estate, run_id: str, timeout: float = 240.0) -> tuple[View, list[str]]:
    """SIGKILL devhost as each new step of the run starts, restart it on the same state, until the run
    ends: its final view and the steps it was killed in (in order)."""
    killed: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        view = run_view(estate.host, run_id)
        if finished(view):
            return view, killed
        assert time.monotonic() < deadline, f"run {run_id} did not end; killed in {killed}: {view}"
        step = str((view.get("custom_status") or {}).get("step") or "")
        if step and step not in killed:
            killed.append(step)
            estate.host.kill()
            estate.host.start()
        time.sleep(0.05)


def consistent_after_failover(estate: Estate) -> None:
    """The estate a forced failover must leave, observed: the route on the DR pool, the replica a
    primary with the secret on it, the old primary stopped (fenced, not deleted), UK West serving."""
    groups, servers = estate.endpoints["frontdoor_origin_groups"], estate.endpoints["servers"]
    route = estate.api("GET", "/api/status").json()["origin_group"]
    assert route == groups["ukwest-standby"], route
    new = server(estate, servers["replica"], "secondary")
    assert (new["replicationRole"], new["state"]) == ("None", "Ready"), new  # standalone, writable
    assert "sourceServerResourceId" not in new, new
    assert secret_host(estate) == new["fullyQualifiedDomainName"]
    old = server(estate, servers["primary"], "primary")
    assert old["state"] == "Stopped", old  # fenced, not deleted
    served = estate.public("GET", "/api/v1/health/database")
    assert served.status_code == 200, served.text
    assert estate.public("GET", "/api/v1/status").json()["region"] == "ukwest"


def secret_host(estate: Estate) -> str:
    """The host the database secret points at now (read from the vault as the app reads it)."""
    from shared.azure.clients import Clients
    from shared.azure.secrets import SecretsAdapter
    from shared.config import load_secrets, load_settings

    adapter = SecretsAdapter(Clients(load_settings(estate.env), load_secrets(estate.env)))
    return str(adapter.database_host()["host"])


def server(estate: Estate, name: str, region: str) -> dict[str, Any]:
    """A flexible server's properties, read from the sandbox's ARM API."""
    sub, rg = estate.endpoints["subscription_id"], estate.endpoints["resource_groups"][region]
    path = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers"
    return dict(estate.sandbox.request("GET", f"{path}/{name}?api-version=2026-10-01")["properties"])


def wait_route(estate: Estate, origin_group: str, timeout: float = 30.0) -> None:
    until(
        lambda: estate.api("GET", "/api/status").json().get("origin_group") == origin_group,
        f"the route serves {origin_group}",
        timeout,
        interval=0.25,
    )
