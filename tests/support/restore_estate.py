"""A fake estate for the restore test and the drills: sentinels written at the fake clock, a scratch
server that exists between its restore and its delete.

``FakeEstate(now, state)`` answers the activities those plans call (``activities()``); the candidates for
the primary are answered as in ``tests.support.estate`` in ``state``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared import names
from tests.support.estate import RG, snapshot
from tests.support.estate import estate as observed


class FakeEstate:
    """Sentinels written at the fake clock; the scratch server exists between restore and delete."""

    def __init__(self, now: Callable[[], datetime], state: str = "home") -> None:
        self.now = now
        self.state = state
        self.sentinels: dict[str, Any] = {}
        self.servers: set[str] = set()
        self.delete_works = True
        self.checked: list[dict[str, Any]] = []

    def activities(self) -> dict[str, Any]:
        """What the restore test calls: the candidates in ``state``, and this estate's servers."""
        return {
            **observed(self.state),
            names.DATABASE_WRITE_SENTINEL: self.write_sentinel,
            names.DATABASE_RESTORE_SERVER: self.restore,
            names.DATABASE_RUN_CHECKS: self.run_checks,
            names.DATABASE_DELETE_SERVER: self.delete,
            names.DATABASE_GET_SERVER: self.get,
        }

    def write_sentinel(self, p: dict[str, Any]) -> dict[str, Any]:
        at = self.now()
        self.sentinels[p["name"]] = at
        return {"server": "qlp-db-uksouth", "name": p["name"], "written_at": at.isoformat(), "created": True}

    def restore(self, p: dict[str, Any]) -> dict[str, Any]:
        self.servers.add(p["target"])
        return {"server": p["target"], "created": True, "state": "Ready", "point_in_time": p["point_in_time"]}

    def run_checks(self, p: dict[str, Any]) -> dict[str, Any]:
        self.checked.append(p)
        if p["server"] in RG:  # counting the source
            return {"server": p["server"], "passed": True, "counts": {"intents": 4}, "checks": []}
        present, absent = p["checks"]["sentinels_present"], p["checks"]["sentinels_absent"]
        checks = [{"name": "row-count:intents", "passed": True, "detail": "intents: 5 rows"}]
        checks += [{"name": f"sentinel-present:{n}", "passed": True, "detail": "present"} for n in present]
        checks += [{"name": f"sentinel-absent:{n}", "passed": True, "detail": "absent"} for n in absent]
        return {"server": p["server"], "passed": True, "counts": {"intents": 5}, "checks": checks}

    def delete(self, p: dict[str, Any]) -> dict[str, Any]:
        if self.delete_works:
            self.servers.discard(p["server"])
        return {"server": p["server"], "deleted": True}

    def get(self, p: dict[str, Any]) -> dict[str, Any]:
        if p["server"] in RG:
            return snapshot(p["server"], self.state)
        return {"name": p["server"], "exists": p["server"] in self.servers}
