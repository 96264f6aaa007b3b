"""After a planned failover, the backup plans follow the estate as it is (devhost + sandbox).

POST /api/failover {mode: planned} makes the configured replica (UK West) the primary and the configured
primary its replica. Nothing is changed in the settings; then the backup watch (a manual timer run through
the admin endpoint) and a restore test both find and act on UK West, their reports say why UK West is
the primary, and GET /api/status names it. The watch passes every check but one it now rightly reports:
the promoted server, created as a replica, has no geo-redundant backup.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.backup_helpers import servers, watch_tick
from tests.e2e.conftest import EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

FAILOVER = "failover-qlp"


def test_after_a_planned_failover_the_watch_restore_test_and_status_follow_the_new_primary(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(BACKUP_RETENTION_DAYS="7")  # the sandbox's servers keep 7 days
    old, new = estate.endpoints["servers"]["primary"], estate.endpoints["servers"]["replica"]
    assert estate.env["CONTINUITY_PRIMARY_SERVER"] == old  # the setting stays as it was

    started = estate.api("POST", "/api/failover", {"reason": "planned move", "mode": "planned"})
    assert started.status_code == 202, started.text
    failover = estate.wait_done(FAILOVER)
    assert (failover.get("output") or {}).get("status") == "succeeded", failover

    status = estate.api("GET", "/api/status").json()
    assert status["primary_server"] == new, status
    assert status["servers"]["primary"]["name"] == new and status["servers"]["replica"]["name"] == old
    assert status["primary_reason"].startswith(f"{new} is the primary ({old} is a replica of {new}")

    watch = watch_tick(estate.host)
    assert watch["primary"]["primary"] == new, watch
    failing = {c["name"]: c["reason"] for c in watch["checks"] if not c["ok"]}
    # A server created as a replica has no geo-redundant backup (as in Azure): after the move that is
    # true of the primary, and the watch now says so, instead of reporting the old primary's setting.
    assert failing == {"geo-redundant-backup": "geo-redundant backup is disabled"}, watch["checks"]
    replica = next(c for c in watch["checks"] if c["name"] == "replica")
    assert replica["reason"].startswith("replica state is"), replica

    before = servers(estate.sandbox)
    drill = estate.api("POST", "/api/drills", {"scenario": "restore"})
    assert drill.status_code == 202, drill.text
    run = estate.wait_done(drill.json()["id"], timeout=150)
    report: dict[str, Any] = run.get("output") or {}
    assert report.get("status") == "succeeded", report.get("summary") or run
    assert report["resources"]["source_server"] == new
    assert report["resources"]["scratch_server"].startswith(f"{new}-rt-")
    assert report["decisions"][0]["step"] == "find-primary"
    assert report["decisions"][0]["reason"] == report["primary"]["reason"]
    assert report["primary"]["primary"] == new
    assert servers(estate.sandbox) == before  # the scratch server is gone
