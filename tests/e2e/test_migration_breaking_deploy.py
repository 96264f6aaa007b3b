"""A breaking migration inside a deploy end to end, one estate: the live slot goes into maintenance mode
(verified from outside: writes answer 503 while reads work), the application role is drained, the job runs
and its version is verified, then the new release takes the traffic and writes answer again; reads through
the public endpoint fail only while the live slot restarts into maintenance mode (ACI restarts a group's
containers when its definition changes). Then the rollback rule 9 refuses, and the same rollback forced really
fails in the sandbox, as it would in production: the old release (``-schema-max-1``) refuses to start on
schema 2, and the traffic stays where it was. Last, a slow migration (``migrate-<n>-slow-<s>`` holds its
table lock) is stopped at the job deadline and changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.support.deploy_e2e import (
    MIGRATION,
    REPO,
    Writer,
    deploy,
    finish,
    polling,
    releases,
    schema_version,
)
from tests.support.e2e import RESTORE_DEADLINE, EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

OLD = "1.0.1-schema-max-1"  # a release that knows schema 1 and no newer


def test_a_breaking_migration_in_a_deploy_then_the_unsafe_rollback_fails_for_real(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(
        **{**MIGRATION, "POST_SWITCH_CHECKS": "6", "MIGRATION_JOB_DEADLINE_SECONDS": "12"}
    )
    tested = estate.start("/api/drills", {"scenario": "restore", "reason": "anchor"})
    assert estate.wait_done(tested, RESTORE_DEADLINE)["output"]["status"] == "succeeded"
    first = finish(estate, deploy(estate, OLD, "a release on schema 1"))
    assert first["status"] == "succeeded", first["summary"]

    breaking = {"image": "migrate-2", "target_version": 2, "class": "breaking"}
    writer = Writer(estate)
    try:
        with polling(estate) as poller:
            out = finish(
                estate, deploy(estate, "1.1.0", "a release with a breaking migration", migration=breaking)
            )
    finally:
        writer.stop()
    assert out["status"] == "succeeded", out["summary"]
    m: dict[str, Any] = out["measurements"]
    assert (m["schema_version_before"], m["schema_version_after"], m["job_exit_code"]) == (1, 2, 0)
    assert m["drain_sessions_after"] == 0 and m["drain_role"] == "qlp_app"
    assert m["maintenance_on_verified_at"] and m["write_unavailable_seconds"] > 0
    on = datetime.fromisoformat(m["maintenance_on_verified_at"]).timestamp()
    late = [a for a in poller.failed() if a[0] > on]
    assert late == [], late[:5]  # reads fail only while the live slot restarts into maintenance mode
    assert poller.versions()[-1] == "1.1.0"
    unavailable = [a for a in writer.answers if a[1] == 503 and a[0] > on]
    assert unavailable and all(a[2] == 200 for a in unavailable)  # writes refused while reads worked
    assert writer.answers[-1][1] == 201  # the new release takes writes
    steps = [s["name"] for s in estate.report(out["run_id"])["steps"]]
    assert steps.index("verify-version") < steps.index("idle-slot") < steps.index("verify-writes")
    seen = releases(estate)
    kinds = [(e["kind"], e.get("class"), e["schema_version"]) for e in seen["history"]]
    assert kinds[-2:] == [("migration", "breaking", 2), ("deploy", None, 2)], kinds

    refused = finish(estate, estate.start("/api/rollback", {"reason": "back to the old release"}))
    assert refused["status"] == "refused" and "breaking migration" in refused["summary"]
    forced = finish(estate, estate.start("/api/rollback", {"reason": "try it anyway", "force": True}))
    assert forced["status"] == "failed", forced["summary"]
    assert "not healthy" in forced["summary"], forced["summary"]
    assert releases(estate)["live"]["image"] == f"{REPO}:1.1.0"  # the traffic never moved
    assert estate.public("POST", "/api/v1/intents", json={"user_input": "x"}).status_code == 201

    slow = {"image": "migrate-3-slow-60", "reason": "holds its lock", "target_version": 3, "class": "expand"}
    stopped = finish(estate, estate.start("/api/migrations", slow))
    assert stopped["status"] == "failed" and "did not exit within 12 s" in stopped["summary"], stopped[
        "summary"
    ]
    assert schema_version(estate) == 2  # the job's transaction never committed; its lock is gone
