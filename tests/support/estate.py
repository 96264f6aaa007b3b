"""Fake observations of the database estate (the sandbox names): which server is the primary now.

``estate(state)`` returns the two activities the plans observe it with (DATABASE_GET_SERVER for the
candidates, SECRETS_GET_DATABASE_HOST), in one of the states a DR estate goes through.
"""

from __future__ import annotations

from typing import Any

from shared import names

SOUTH, WEST = "qlp-db-uksouth", "qlp-db-ukwest"
PITR = "qlp-db-uksouth-pitr-20261129t110000"  # a restore with switch created it (tagged) and serves from it
RG = {SOUTH: "rg-uksouth", WEST: "rg-ukwest"}
HOSTS = {SOUTH: "127.0.0.1:5501", WEST: "127.0.0.1:5502", PITR: "127.0.0.1:5600"}

# state -> server -> (state, role, source), and where the database secret points
STATES: dict[str, tuple[dict[str, tuple[str, str, str]], str]] = {
    "home": ({SOUTH: ("Ready", "primary", ""), WEST: ("Ready", "replica", SOUTH)}, SOUTH),
    "failed-over": ({SOUTH: ("Stopped", "standalone", ""), WEST: ("Ready", "standalone", "")}, WEST),
    "switched-over": ({SOUTH: ("Ready", "replica", WEST), WEST: ("Ready", "primary", "")}, WEST),
    "split": ({SOUTH: ("Ready", "standalone", ""), WEST: ("Ready", "standalone", "")}, WEST),
    "down": ({SOUTH: ("Stopped", "standalone", ""), WEST: ("Stopped", "replica", SOUTH)}, SOUTH),
    "restored": ({SOUTH: ("Stopped", "primary", ""), WEST: ("Ready", "replica", SOUTH)}, PITR),
}


def tagged(name: str, host: str, resource_group: str = "rg-uksouth") -> dict[str, Any]:
    """A server Continuity created: ready, standalone, tagged with its run."""
    return {
        "name": name,
        "resource_group": resource_group,
        "exists": True,
        "state": "Ready",
        "role": "standalone",
        "source_server": None,
        "fqdn": host,
        "created_by_continuity": True,
    }


def list_tagged(p: dict[str, Any]) -> dict[str, Any]:
    """DATABASE_LIST_SERVERS: the restored server, and a drill's scratch server at another address."""
    found = [tagged(PITR, HOSTS[PITR]), tagged(f"{SOUTH}-drill-20261129t100000", "127.0.0.1:5700")]
    return {
        "resource_group": p["resource_group"],
        "servers": [s for s in found if p["resource_group"] == s["resource_group"]],
    }


def snapshot(name: str, state: str) -> dict[str, Any]:
    servers, _ = STATES[state]
    power, role, source = servers[name]
    return {
        "name": name,
        "resource_group": RG[name],
        "exists": True,
        "state": power,
        "role": role,
        "source_server": source or None,
        "fqdn": HOSTS[name],
        "created_by_continuity": False,
    }


def estate(state: str, others: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Activities answering for the candidates in ``state``; ``others`` answers for any other server
    (absent ones: ``exists: false``), as the plans' scratch and teardown checks need."""
    extra = others if others is not None else {}

    def get_server(p: dict[str, Any]) -> dict[str, Any]:
        if p["server"] in RG:
            return snapshot(p["server"], state)
        if p["server"] == PITR and state == "restored":
            return tagged(PITR, HOSTS[PITR])
        return extra.get(p["server"]) or {"name": p["server"], "exists": False}

    host = HOSTS[STATES[state][1]]
    return {
        names.DATABASE_GET_SERVER: get_server,
        names.SECRETS_GET_DATABASE_HOST: lambda p: {"secret": "db-url", "host": host},
        names.DATABASE_LIST_SERVERS: list_tagged,
    }
