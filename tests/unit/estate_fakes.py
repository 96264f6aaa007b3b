"""Fake observations of the database estate for the backup plans: which server is the primary now.

``estate(state)`` returns the two activities the plans observe it with (DATABASE_GET_SERVER for the
candidates, SECRETS_GET_DATABASE_HOST), in one of the states a DR estate goes through.
"""

from __future__ import annotations

from typing import Any

from shared import names

SOUTH, WEST = "qlp-db-uksouth", "qlp-db-ukwest"
RG = {SOUTH: "rg-uksouth", WEST: "rg-ukwest"}
HOSTS = {SOUTH: "127.0.0.1:5501", WEST: "127.0.0.1:5502"}

# state -> server -> (state, role, source), and where the database secret points
STATES: dict[str, tuple[dict[str, tuple[str, str, str]], str]] = {
    "home": ({SOUTH: ("Ready", "primary", ""), WEST: ("Ready", "replica", SOUTH)}, SOUTH),
    "failed-over": ({SOUTH: ("Stopped", "standalone", ""), WEST: ("Ready", "standalone", "")}, WEST),
    "switched-over": ({SOUTH: ("Ready", "replica", WEST), WEST: ("Ready", "primary", "")}, WEST),
    "split": ({SOUTH: ("Ready", "standalone", ""), WEST: ("Ready", "standalone", "")}, WEST),
    "down": ({SOUTH: ("Stopped", "standalone", ""), WEST: ("Stopped", "replica", SOUTH)}, SOUTH),
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
        return extra.get(p["server"]) or {"name": p["server"], "exists": False}

    host = HOSTS[STATES[state][1]]
    return {
        names.DATABASE_GET_SERVER: get_server,
        names.SECRETS_GET_DATABASE_HOST: lambda p: {"secret": "db-url", "host": host},
    }
