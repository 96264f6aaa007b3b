"""After a planned failover, the backup plans follow the estate as it is (devhost + sandbox).

POST /api/failover {mode: planned} makes the configured replica (UK West) the primary and the configured
primary its replica. Nothing is changed in the settings; then the backup watch (a manual timer run through
the admin endpoint) and a restore test both find and act on UK West, their reports say why UK West is
the primary, and GET /api/status names it. The watch passes every check but one it now rightly reports:
the promoted server, created as a replica, has no geo-redundant backup. Then a restore with switch moves
the app to a restored server, and the watch and the status find that one (the secret points at it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.e2e import EstateFactory, servers

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]


def test_after_a_planned_failover_the_watch_restore_test_and_status_follow_the_new_primary(
    estate_factory: EstateFactory,
) -> None:
    # the sandbox's servers keep 7 days; the restore with switch below goes without an approval step
    estate = estate_factory(BACKUP_RETENTION_DAYS="7", RESTORE_REQUIRES_APPROVAL="false")
    old, new = estate.endpoints["servers"]["primary"], estate.endpoints["servers"]["replica"]
    assert estate.env["CONTINUITY_PRIMARY_SERVER"] == old  # the setting stays as it was

    failover = estate.wait_done(estate.start("/api/failover", {"reason": "planned move", "mode": "planned"}))
    assert (failover.get("output") or {}).get("status") == "succeeded", failover

    status = estate.api("GET", "/api/status").json()
    assert status["primary_server"] == new, status
    assert status["servers"]["primary"]["name"] == new and status["servers"]["replica"]["name"] == old
    assert status["primary_reason"].startswith(f"{new} is the primary ({old} is a replica of {new}")

    watch = estate.watch_tick()
    assert watch["primary"]["primary"] == new, watch
    failing = {c["name"]: c["reason"] for c in watch["checks"] if not c["ok"]}
    # A server created as a replica has no geo-redundant backup (as in Azure): after the move that is
    # true of the primary, and the watch now says so, instead of reporting the old primary's setting.
    assert failing == {"geo-redundant-backup": "geo-redundant backup is disabled"}, watch["checks"]
    replica = next(c for c in watch["checks"] if c["name"] == "replica")
    assert replica["reason"].startswith("replica state is"), replica

    before = servers(estate.sandbox)
    drill = estate.start("/api/drills", {"scenario": "restore"})
    run = estate.wait_done(drill, timeout=150)
    assert (run.get("output") or {}).get("status") == "succeeded", run
    report: dict[str, Any] = estate.report(drill)
    assert report["status"] == "succeeded", report["summary"]
    assert report["resources"]["source_server"] == new
    assert report["resources"]["scratch_server"].startswith(f"{new}-rt-")
    assert report["decisions"][0]["step"] == "find-primary"
    assert report["decisions"][0]["reason"] == report["primary"]["reason"]
    assert report["primary"]["primary"] == new
    assert servers(estate.sandbox) == before  # the scratch server is gone

    # then a restore with switch: the restored server serves, and everything follows it in turn
    point = datetime.now(UTC).isoformat()
    dry = estate.api("POST", "/api/restore", {"restore_point": point, "reason": "e2e", "dry_run": True})
    assert dry.status_code == 200 and dry.json()["plan"]["source_server"] == new, dry.text
    body = {"restore_point": point, "reason": "after the failover", "switch": True}
    restore = estate.start("/api/restore", body)
    done = estate.wait_done(restore, timeout=150)
    assert (done.get("output") or {}).get("status") == "succeeded", done
    restored: dict[str, Any] = estate.report(restore)
    assert restored["status"] == "succeeded", restored["summary"]
    target = restored["resources"]["target_server"]
    assert restored["resources"]["source_server"] == new and target.startswith(f"{new}-pitr-")

    watch = estate.watch_tick()
    assert watch["primary"]["primary"] == target, watch["primary"]
    assert f"the database secret points at {target}" in watch["primary"]["reason"]
    assert f"{new} is stopped" in watch["primary"]["reason"]
    status = estate.api("GET", "/api/status").json()
    assert status["primary_server"] == target, status
