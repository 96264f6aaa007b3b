"""Names of the resources Continuity creates, derived from the server they come from.

A derived name is ``<base>-<purpose>-<UTC stamp>[-<role>]`` within Azure's 63 characters for a flexible
server. The base is the source's name with every suffix Continuity added before removed, so names do
not grow with each failback, restore or drill: a restore of ``qlp-db-pitr-20261129t110000`` is
``qlp-db-pitr-<now>``, not ``qlp-db-pitr-20261129t110000-pitr-<now>``.
"""

from __future__ import annotations

import re
from datetime import datetime

MAX_SERVER_NAME = 63
_DERIVED = re.compile(r"(-(pitr|rt|drill)-\d{8}t\d{6}(-r)?|-fb[0-9a-f]{6})+$")


def stamp(moment: datetime) -> str:
    """A compact UTC timestamp for names of resources and sentinels a run creates: 20261129t120000."""
    return moment.strftime("%Y%m%dt%H%M%S")


def base_name(name: str) -> str:
    """``name`` without the suffixes Continuity adds when it derives a server from another."""
    return _DERIVED.sub("", name) or name


def derived_server_name(source: str, purpose: str, moment: datetime, *, role: str = "") -> str:
    """The name of a server a run creates from ``source`` (at most 63 characters, as Azure allows)."""
    suffix = f"-{purpose}-{stamp(moment)}" + (f"-{role}" if role else "")
    return base_name(source)[: MAX_SERVER_NAME - len(suffix)].rstrip("-") + suffix


def failback_server_name(primary_server: str, token: str) -> str:
    """The home-region server a failback creates: the configured primary's base name and a short token."""
    suffix = f"-fb{token[:6]}"
    return base_name(primary_server)[: MAX_SERVER_NAME - len(suffix)].rstrip("-") + suffix


def virtual_endpoint_name(primary_server: str) -> str:
    """The base name of the virtual endpoint pair Continuity creates on a primary (global, as the pair's
    host names ``<name>.writer.postgres.database.azure.com`` are): the server's base name and ``-ve``."""
    suffix = "-ve"
    return base_name(primary_server)[: MAX_SERVER_NAME - len(suffix)].rstrip("-") + suffix
