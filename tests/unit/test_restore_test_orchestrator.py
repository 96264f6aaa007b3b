"""The restore-test plan driven with fake activities: sentinels, checks, timing, teardown, verdict."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrators import restore_test
from orchestrators.toolkit.run import TEARDOWN_POLLS
from shared import names
from tests.support.durable import NOW, FakeContext, drive, fails, orchestrator, sequence
from tests.support.estate import RG, SOUTH, WEST, snapshot
from tests.support.estate import estate as observed
from tests.support.restore_estate import FakeEstate
from tests.support.settings import backup_settings


def _drive(ctx: FakeContext) -> dict[str, Any]:
    """Run the restore test; returns its last report (which agrees with the run's outcome)."""
    out = drive(orchestrator(names.RESTORE_TEST_ORCHESTRATOR), ctx)
    report = ctx.last_report()
    assert (out["status"], out["summary"], out["verdict"]) == (
        report["status"],
        report["summary"],
        report["verdict"],
    )
    return report


def _run(state: str = "home", **overrides: Any) -> tuple[FakeContext, FakeEstate, dict[str, Any]]:
    inp = {"run_id": "restore-test-qlp", "settings": backup_settings(), "trigger": {"kind": "timer"}}
    ctx = FakeContext(inp, {})
    estate = FakeEstate(lambda: ctx.current_utc_datetime, state)
    estate.delete_works = overrides.pop("delete_works", True)
    ctx.activities.update(estate.activities())
    ctx.activities.update(overrides)
    return ctx, estate, _drive(ctx)


def test_a_healthy_estate_passes_and_the_scratch_server_is_gone() -> None:
    ctx, estate, report = _run()
    assert report["status"] == "succeeded", report["summary"]
    assert report["verdict"]["passed"]
    assert estate.servers == set()
    restore_call = ctx.payloads(names.DATABASE_RESTORE_SERVER)[0]
    scratch = restore_call["target"]
    assert scratch.startswith("qlp-db-uksouth-rt-") and scratch != "qlp-db-uksouth"
    assert ctx.payloads(names.DATABASE_DELETE_SERVER) == [{"server": scratch, "resource_group": "rg-uksouth"}]
    assert report["primary"]["primary"] == SOUTH
    assert report["decisions"][0]["reason"] == (
        f"{SOUTH} is the primary ({WEST} is a replica of {SOUTH}; the database secret points at {SOUTH})"
    )
    notified = ctx.payloads(names.NOTIFY_SEND)
    assert [p["event"] for p in notified] == ["completed"]


def test_the_restore_point_lies_between_the_two_sentinels() -> None:
    ctx, estate, _ = _run()
    before, after = sorted(estate.sentinels.items(), key=lambda kv: kv[1])
    assert before[0].endswith("-before") and after[0].endswith("-after")
    point = ctx.payloads(names.DATABASE_RESTORE_SERVER)[0]["point_in_time"]
    assert before[1].isoformat() < point < after[1].isoformat()
    source, scratch = ctx.payloads(names.DATABASE_RUN_CHECKS)
    assert source["server"] == "qlp-db-uksouth" and scratch["server"].startswith("qlp-db-uksouth-rt-")
    checks = scratch["checks"]
    assert checks["sentinels_present"] == [before[0]] and checks["sentinels_absent"] == [after[0]]
    assert checks["critical_tables"] == ["intents"]
    assert checks["min_counts"] == {"intents": 4}


def test_time_to_restore_and_achieved_point_are_recorded() -> None:
    _, _, report = _run()
    m = report["measurements"]
    assert m["restore_seconds"] == 1.0
    assert m["achieved_restore_point"] == m["requested_restore_point"]
    assert m["row_counts"] == {"intents": 5}


def test_a_sentinel_after_the_point_that_survived_fails_and_pages() -> None:
    def overshoot(p: dict[str, Any]) -> dict[str, Any]:
        if p["server"] == "qlp-db-uksouth":
            return FakeEstate(lambda: NOW).run_checks(p)
        (after,) = p["checks"]["sentinels_absent"]
        return {
            "passed": False,
            "checks": [{"name": f"sentinel-absent:{after}", "passed": False, "detail": "present"}],
        }

    ctx, estate, report = _run(**{names.DATABASE_RUN_CHECKS: overshoot})
    assert report["status"] == "failed"
    assert any("overshot" in r for r in report["verdict"]["reasons"])
    assert estate.servers == set()
    paged = [p for p in ctx.payloads(names.NOTIFY_SEND) if p.get("page")]
    assert [p["event"] for p in paged] == ["failed"]


def test_a_failed_row_count_check_fails_the_test() -> None:
    def empty(p: dict[str, Any]) -> dict[str, Any]:
        result = FakeEstate(lambda: NOW).run_checks(p)
        if p["server"] != "qlp-db-uksouth":
            result["checks"][0] = {"name": "row-count:intents", "passed": False, "detail": "intents: 0 rows"}
        return result

    _, _, report = _run(**{names.DATABASE_RUN_CHECKS: empty})
    assert report["verdict"]["reasons"] == ["check row-count:intents failed: intents: 0 rows"]


def test_a_leftover_scratch_server_fails_the_test_after_polling() -> None:
    ctx, _, report = _run(delete_works=False)
    assert report["status"] == "failed"
    assert report["verdict"]["reasons"] == ["the scratch server still exists after deletion"]
    assert ctx.names().count(names.DATABASE_GET_SERVER) == TEARDOWN_POLLS + 2  # + the two candidates


def test_a_failed_restore_still_tears_down_and_fails() -> None:
    ctx, _, report = _run(**{names.DATABASE_RESTORE_SERVER: fails("permanent: restore qlp-db-uksouth: boom")})
    # the activity's own message, without the host's wording around it ("Activity function ... failed:")
    assert report["verdict"]["reasons"] == ["restore failed: permanent: restore qlp-db-uksouth: boom"]
    assert names.DATABASE_DELETE_SERVER in ctx.names()
    assert [p["server"] for p in ctx.payloads(names.DATABASE_RUN_CHECKS)] == ["qlp-db-uksouth"]


def test_a_failed_sentinel_write_fails_the_test_and_tears_down() -> None:
    ctx, _, report = _run(**{names.DATABASE_WRITE_SENTINEL: fails("permanent: write sentinel: denied")})
    assert report["status"] == "failed"
    assert "denied" in report["verdict"]["reasons"][0]
    assert names.DATABASE_RESTORE_SERVER not in ctx.names()
    assert names.DATABASE_GET_SERVER in ctx.names()


def test_a_slow_restore_fails_against_the_objective() -> None:
    def slow(p: dict[str, Any]) -> dict[str, Any]:
        return {"server": p["target"], "state": "Ready"}

    inp = {"run_id": "rt", "settings": backup_settings(rto_tier1_minutes="1"), "trigger": {}}
    ctx = FakeContext(inp, {}, activity_seconds=90.0)
    gone = sequence({"exists": False})
    ctx.activities.update(
        {
            names.DATABASE_WRITE_SENTINEL: lambda p: {"written_at": ctx.current_utc_datetime.isoformat()},
            names.DATABASE_RESTORE_SERVER: slow,
            names.DATABASE_RUN_CHECKS: lambda p: FakeEstate(lambda: NOW).run_checks(p),
            names.DATABASE_DELETE_SERVER: lambda p: {},
            names.DATABASE_GET_SERVER: lambda p: (
                snapshot(p["server"], "home") if p["server"] in RG else gone(p)
            ),
            names.SECRETS_GET_DATABASE_HOST: observed("home")[names.SECRETS_GET_DATABASE_HOST],
        }
    )
    report = _drive(ctx)
    assert report["verdict"]["reasons"] == ["restore took 1 min, over the 1 min objective"]


def test_the_sentinel_gap_is_a_durable_timer() -> None:
    ctx, estate_, _ = _run()
    before = min(estate_.sentinels.values())
    assert ctx.timers and ctx.timers[0] - before == timedelta(seconds=restore_test.SENTINEL_GAP_SECONDS)


def test_after_a_failover_the_promoted_server_is_restored_and_the_scratch_goes_beside_it() -> None:
    ctx, estate_, report = _run("failed-over")
    assert report["status"] == "succeeded", report["summary"]
    restore = ctx.payloads(names.DATABASE_RESTORE_SERVER)[0]
    assert (restore["source"], restore["source_resource_group"]) == (WEST, "rg-ukwest")
    assert restore["target"].startswith(f"{WEST}-rt-") and restore["resource_group"] == "rg-ukwest"
    sentinels = ctx.payloads(names.DATABASE_WRITE_SENTINEL)
    assert {(p["server"], p["resource_group"]) for p in sentinels} == {(WEST, "rg-ukwest")}
    source, scratch = ctx.payloads(names.DATABASE_RUN_CHECKS)
    assert source["server"] == WEST and scratch["resource_group"] == "rg-ukwest"
    assert ctx.payloads(names.DATABASE_DELETE_SERVER) == [
        {"server": restore["target"], "resource_group": "rg-ukwest"}
    ]
    assert report["resources"]["source_server"] == WEST
    assert report["primary"]["reason"].startswith(f"{WEST} is the primary ({SOUTH} is stopped")
    assert estate_.servers == set()


def test_with_no_primary_the_test_is_refused_and_pages_and_nothing_is_created() -> None:
    ctx, _, report = _run("down")
    assert report["status"] == "refused"
    assert report["summary"].startswith(f"no primary found: {SOUTH} is stopped")
    for activity in (names.DATABASE_WRITE_SENTINEL, names.DATABASE_RESTORE_SERVER):
        assert activity not in ctx.names()
    paged = [p for p in ctx.payloads(names.NOTIFY_SEND) if p.get("page")]
    assert [p["event"] for p in paged] == ["refused"]


# ---- a restore that takes longer than one activity call may wait (shared/waits.py) -------------------------
def test_a_restore_still_provisioning_is_looked_at_again_until_it_is_ready() -> None:
    calls = {"n": 0}

    def restore(p: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        view = {"server": p["target"], "created": calls["n"] == 1}
        if calls["n"] < 4:  # Azure still provisioning it: each call waited its budget
            return {**view, "state": "Provisioning", "pending": True}
        return {**view, "state": "Ready", "point_in_time": p["point_in_time"]}

    ctx, _, report = _run(**{names.DATABASE_RESTORE_SERVER: restore})
    assert report["status"] == "succeeded", report["summary"]
    assert calls["n"] == 4
    restores = ctx.payloads(names.DATABASE_RESTORE_SERVER)
    assert len({p["target"] for p in restores}) == 1  # the same server each time, never a second one
    assert report["measurements"]["restore_seconds"] >= 3 * 30  # the wait is in the time to restore


def test_a_restore_that_never_gets_ready_fails_at_the_deadline_and_still_tears_down() -> None:
    inp = {
        "run_id": "restore-test-qlp",
        "settings": backup_settings(server_create_deadline_minutes="5"),
        "trigger": {"kind": "timer"},
    }
    ctx = FakeContext(inp, {})
    estate = FakeEstate(lambda: ctx.current_utc_datetime, "home")

    def restore(p: dict[str, Any]) -> dict[str, Any]:
        estate.servers.add(p["target"])  # it exists, provisioning, and is never Ready
        return {"server": p["target"], "state": "Provisioning", "pending": True}

    ctx.activities.update(estate.activities())
    ctx.activities[names.DATABASE_RESTORE_SERVER] = restore
    report = _drive(ctx)
    assert report["status"] == "failed"
    step = next(s for s in report["steps"] if s["name"] == "restore")
    assert step["outcome"] == "failed" and "still Provisioning after 300 s" in step["detail"]
    assert estate.servers == set()  # the scratch server is deleted all the same
