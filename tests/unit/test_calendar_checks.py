"""The DR test calendar's monthly and weekly checks, each plan driven with fake activities: the failover
validation (the failover plan's dry run), the performance baseline (against the previous one), the
health-check validation and the backup integrity check; their timers (own run id, no lock, skipped while
the previous one runs, switched off) and how ``GET /api/calendar`` shows them."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime

import pytest

from shared import calendar, names
from shared.config import Settings
from shared.config.calendar import ITEMS
from tests.support.calendar_estate import World, figures
from tests.support.durable import FakeClient, call_http, functions, http
from tests.support.settings import backup_settings
from triggers import calendar_api

ACTING = {  # what a failover does; a validation must call none of it
    names.CONTAINERS_START_GROUP,
    names.CONTAINERS_RESTART_GROUP,
    names.DATABASE_PROMOTE_REPLICA,
    names.SECRETS_POINT_DATABASE_URL,
    names.TRAFFIC_SWITCH_ROUTE,
    names.DATABASE_STOP_SERVER,
    names.DATABASE_WRITE_SENTINEL,
}


def checks_of(report: dict[str, object]) -> dict[str, tuple[bool, str]]:
    return {c["name"]: (c["passed"], c["detail"]) for c in report["checks"]}  # type: ignore[attr-defined]


def paged(ctx: object) -> bool:
    return any(n.get("page") and n.get("event") == "failed" for n in ctx.notifications)  # type: ignore[attr-defined]


# ---- the monthly failover validation ---------------------------------------------------------------------
def test_the_failover_validation_passes_when_the_dry_run_would_proceed_and_changes_nothing() -> None:
    out, ctx = World().run(names.FAILOVER_VALIDATION_ORCHESTRATOR)
    report = ctx.last_report()
    assert out["status"] == "succeeded", out["summary"]
    assert report["operation"] == "failover-validation" and report["verdict"]["passed"] is True
    assert "the failover would proceed: the primary answers: planned switchover" in out["summary"]
    assert "replica lag 2 s is within the RPO of 15 min" in out["summary"]
    assert [s["name"] for s in report["steps"]] == ["observe", "prepare", "preconditions"]
    assert {n for n, (ok, _) in checks_of(report).items() if ok} == {
        "primary", "standby_image", "standby_origin_group", "database_secret",
    }  # fmt: skip
    assert report["plan"][0] == "promote replica (planned) || start standby"
    assert report["measurements"]["replica_lag_seconds"] == 2.0
    assert not ACTING & set(ctx.names())
    posture = {names.STORAGE_LIST_REPORTS, names.STORAGE_GET_TASK_HUB_REGION, names.STORAGE_GET_PROTECTION}
    assert not posture & set(ctx.names())  # the preconditions read nothing the posture alone needs
    assert [n["event"] for n in ctx.notifications] == ["completed"]


def test_a_lag_past_the_rpo_fails_the_validation_and_pages() -> None:
    world = World()
    world.lag = 1200.0
    out, ctx = world.run(names.FAILOVER_VALIDATION_ORCHESTRATOR)
    assert out["status"] == "failed" and "replica lag 20 min is over the RPO of 15 min" in out["summary"]
    assert paged(ctx) and not ACTING & set(ctx.names())


def test_a_standby_that_could_not_route_or_runs_another_release_fails_the_validation() -> None:
    world = World()
    world.enabled["og-standby"] = False
    world.images["qlp-standby"] = "qlp:1.3"
    out, ctx = world.run(names.FAILOVER_VALIDATION_ORCHESTRATOR)
    checks = checks_of(ctx.last_report())
    assert out["status"] == "failed"
    assert checks["standby_origin_group"][0] is False and "no enabled origin" in out["summary"]
    assert "the DR standby runs qlp:1.3, the live slot qlp:1.4" in out["summary"]


def test_traffic_already_in_the_dr_region_is_a_failover_that_would_not_proceed() -> None:
    world = World()
    world.route = "og-standby"
    out, ctx = world.run(names.FAILOVER_VALIDATION_ORCHESTRATOR)
    assert out["status"] == "failed"
    assert "would not proceed: traffic already serves from the DR region" in out["summary"]
    assert paged(ctx) and not ACTING & set(ctx.names())


def test_manual_mode_waits_for_an_operator_by_design_and_still_passes() -> None:
    out, _ = World().run(names.FAILOVER_VALIDATION_ORCHESTRATOR, failover_mode="manual")
    assert out["status"] == "succeeded" and "failover mode is manual" in out["summary"]


# ---- the monthly performance baseline --------------------------------------------------------------------
def test_the_first_baseline_records_each_paths_figures() -> None:
    out, ctx = World().run(names.PERFORMANCE_BASELINE_ORCHESTRATOR)
    report = ctx.last_report()
    assert out["status"] == "succeeded", out["summary"]
    health = report["measurements"]["baseline"]["/health"]
    assert (health["p50_ms"], health["p95_ms"], health["p99_ms"], health["error_rate"]) == (
        6.0,
        12.0,
        18.0,
        0,
    )
    assert report["measurements"]["previous_baseline_run"] is None
    assert "the first baseline of /api/v1/status" in checks_of(report)["p95 /api/v1/status"][1]
    bursts = ctx.payloads(names.PROBE_BURST)
    assert [b["url"] for b in bursts] == ["https://qlp.example/health", "https://qlp.example/api/v1/status"]
    assert {b["requests"] for b in bursts} == {100}


def test_a_p95_regression_past_the_limit_fails_against_the_previous_baseline_and_pages() -> None:
    world = World()
    first, _ = world.run(names.PERFORMANCE_BASELINE_ORCHESTRATOR)
    world.bursts["/api/v1/status"] = figures(60.0)  # +200% and 40 ms over
    out, ctx = world.run(names.PERFORMANCE_BASELINE_ORCHESTRATOR)
    report = ctx.last_report()
    assert out["status"] == "failed" and paged(ctx)
    assert report["measurements"]["previous_baseline_run"] == first["run_id"]
    passed, detail = checks_of(report)["p95 /api/v1/status"]
    assert not passed and "p95 +200% against the previous baseline's 20.0 ms" in detail
    assert checks_of(report)["p95 /health"][0] is True


def test_a_small_slowdown_within_the_floor_is_no_regression() -> None:
    world = World()
    world.run(names.PERFORMANCE_BASELINE_ORCHESTRATOR)
    world.bursts["/health"] = figures(30.0)  # +150% but only 18 ms over: under the 25 ms floor
    out, _ = world.run(names.PERFORMANCE_BASELINE_ORCHESTRATOR)
    assert out["status"] == "succeeded", out["summary"]


def test_the_comparison_is_with_the_last_baseline_that_passed() -> None:
    world = World()
    first, _ = world.run(names.PERFORMANCE_BASELINE_ORCHESTRATOR)
    world.bursts["/health"] = figures(200.0)
    assert world.run(names.PERFORMANCE_BASELINE_ORCHESTRATOR)[0]["status"] == "failed"
    _, ctx = world.run(names.PERFORMANCE_BASELINE_ORCHESTRATOR)  # still slow: still against the first
    assert ctx.last_report()["measurements"]["previous_baseline_run"] == first["run_id"]


def test_errors_above_the_limit_fail_the_baseline() -> None:
    world = World()
    world.bursts["/health"] = figures(12.0, errors=3)
    out, ctx = world.run(names.PERFORMANCE_BASELINE_ORCHESTRATOR)
    assert out["status"] == "failed"
    assert (
        "3 of 100 requests failed (3.0%), over the 1.0% limit"
        in checks_of(ctx.last_report())["error rate /health"][1]
    )


def test_a_previous_baseline_that_cannot_be_read_fails_the_comparison() -> None:
    world = World()
    world.summaries = [{"run_id": "gone-1", "operation": "performance-baseline", "status": "succeeded",
                        "started_at": "2026-10-01T01:00:00+00:00"}]  # fmt: skip
    out, _ = world.run(names.PERFORMANCE_BASELINE_ORCHESTRATOR)
    assert out["status"] == "failed" and "the previous baseline gone-1 could not be read" in out["summary"]


# ---- the weekly health-check validation ------------------------------------------------------------------
def test_the_health_checks_agree_and_the_stopped_slots_are_not_judged() -> None:
    out, ctx = World().run(names.HEALTH_CHECK_VALIDATION_ORCHESTRATOR)
    report = ctx.last_report()
    checks = checks_of(report)
    assert out["status"] == "succeeded", out["summary"]
    assert checks["public intent-api"] == (True, "/api/v1/status answered 200 in 7.5 ms")
    assert checks["probe settings og-standby"][0] is True
    assert checks["origin og-blue/qlp-blue"][0] is True
    assert "origin og-green/qlp-green" not in checks
    assert "qlp-standby is Stopped" in report["measurements"]["origins_not_judged"]["og-standby"]
    assert report["measurements"]["origin_groups"]["og-blue"]["probe_path"] == "/health"


def test_a_probe_path_that_differs_from_the_health_path_fails_naming_the_origin_group() -> None:
    world = World()
    world.probe_paths["og-blue"] = "/ready"
    out, ctx = world.run(names.HEALTH_CHECK_VALIDATION_ORCHESTRATOR)
    checks = checks_of(ctx.last_report())
    assert out["status"] == "failed" and paged(ctx)
    assert (
        "Front Door probes /ready, not the configured health path /health"
        in checks["probe settings og-blue"][1]
    )
    assert checks["origin og-blue/qlp-blue"][0] is False  # probed at /ready, it does not answer


def test_a_tier_that_does_not_answer_through_the_public_endpoint_fails() -> None:
    world = World()
    world.public_down = {"/api/v1/health/database"}
    out, _ = world.run(names.HEALTH_CHECK_VALIDATION_ORCHESTRATOR)
    assert (
        out["status"] == "failed"
        and "public database: /api/v1/health/database is not healthy" in out["summary"]
    )


def test_a_missing_probe_protocol_fails() -> None:
    world = World()
    world.protocols["og-green"] = "NotSet"
    out, _ = world.run(names.HEALTH_CHECK_VALIDATION_ORCHESTRATOR)
    assert out["status"] == "failed" and "the probe protocol is NotSet, not Http or Https" in out["summary"]


# ---- the weekly backup integrity check -------------------------------------------------------------------
def test_the_backup_integrity_check_judges_the_automatic_backups_as_the_watch_does() -> None:
    out, ctx = World().run(names.BACKUP_INTEGRITY_ORCHESTRATOR)
    report = ctx.last_report()
    assert out["status"] == "succeeded", out["summary"]
    assert set(checks_of(report)) == {
        "backup-age",
        "backup-retention",
        "earliest-restore-point",
        "geo-redundant-backup",
    }
    m = report["measurements"]
    assert (m["backups_listed"], m["backup_retention_days"], m["geo_redundant_backup"]) == (2, 30, True)
    assert 3600 <= m["latest_backup_age_seconds"] < 3700  # an hour old when listed (the fake clock ticks)
    assert not {names.DATABASE_WRITE_SENTINEL, names.LTR_VERIFY_BLOBS} & set(ctx.names())


def test_short_retention_fails_the_backup_integrity_check() -> None:
    world = World()
    world.backups["backup_retention_days"] = 7
    out, ctx = world.run(names.BACKUP_INTEGRITY_ORCHESTRATOR)
    assert out["status"] == "failed" and paged(ctx)
    assert "backup-retention: backup retention is 7 days (required 30)" in out["summary"]


def test_with_long_term_backups_the_latest_ones_blobs_are_read_back_as_recorded() -> None:
    out, ctx = World().run(names.BACKUP_INTEGRITY_ORCHESTRATOR, backup_storage_account="qlpbackups")
    checks = checks_of(ctx.last_report())
    assert out["status"] == "succeeded", out["summary"]
    assert checks[f"blob {'qlp-db-uksouth/ltr-qlp-1/qlp_db.dump'}"] == (
        True,
        "4096 bytes, MD5 bWQ1 as recorded",
    )
    assert (
        checks["azure record"][0] and checks["long-term-backup"][0] and checks["backup-storage-protection"][0]
    )
    assert ctx.payloads(names.LTR_VERIFY_BLOBS)[0]["blobs"][0]["size"] == 4096
    assert not {names.DATABASE_CREATE_EMPTY_SERVER, names.LTR_RESTORE_JOB} & set(ctx.names())  # no restore


def test_a_blob_that_no_longer_matches_its_md5_fails_the_backup_integrity_check() -> None:
    world = World()
    world.blob_md5 = "b3RoZXI="
    out, _ = world.run(names.BACKUP_INTEGRITY_ORCHESTRATOR, backup_storage_account="qlpbackups")
    assert out["status"] == "failed" and "MD5 b3RoZXI=, recorded bWQ1" in out["summary"]


def test_no_successful_long_term_backup_fails_the_backup_integrity_check() -> None:
    world = World()
    world.log = []
    out, _ = world.run(names.BACKUP_INTEGRITY_ORCHESTRATOR, backup_storage_account="qlpbackups")
    assert out["status"] == "failed" and "no successful long-term backup" in out["summary"]


# ---- the timers ------------------------------------------------------------------------------------------
SETTINGS = Settings.from_dict(backup_settings())
CHECKS = {
    "failover-validation": (names.TIMER_FAILOVER_VALIDATION, names.FAILOVER_VALIDATION_ORCHESTRATOR),
    "performance-baseline": (names.TIMER_PERFORMANCE_BASELINE, names.PERFORMANCE_BASELINE_ORCHESTRATOR),
    "health-check-validation": (
        names.TIMER_HEALTH_CHECK_VALIDATION,
        names.HEALTH_CHECK_VALIDATION_ORCHESTRATOR,
    ),
    "backup-integrity": (names.TIMER_BACKUP_INTEGRITY, names.BACKUP_INTEGRITY_ORCHESTRATOR),
}


@pytest.mark.parametrize("item", sorted(CHECKS))
def test_each_check_has_a_timer_reading_its_schedule_setting(item: str) -> None:
    timer, _ = CHECKS[item]
    (binding,) = [b for b in functions()[timer].get_bindings() if b.type == "timerTrigger"]
    assert binding.schedule == f"%CONTINUITY_{item.upper().replace('-', '_')}_SCHEDULE%"


@pytest.mark.parametrize("item", sorted(CHECKS))
def test_a_tick_starts_the_check_under_its_own_run_id_without_the_lock(item: str) -> None:
    client = FakeClient()
    outcome = asyncio.run(calendar_api.start_check(client, SETTINGS, item))
    ((orchestrator_name, run_id, payload),) = client.started
    assert orchestrator_name == CHECKS[item][1] and outcome == f"started {run_id}"
    assert re.fullmatch(rf"{item}-qlp-\d{{8}}T\d{{6}}-[0-9a-f]{{4}}", run_id) and payload["run_id"] == run_id
    assert payload["trigger"]["kind"] == "timer" and "(DR test calendar)" in payload["trigger"]["reason"]


def test_a_tick_is_skipped_while_the_previous_run_of_its_check_still_runs() -> None:
    client = FakeClient()
    running = f"performance-baseline-qlp-{datetime.now(UTC):%Y%m%dT%H%M%S}-0abc"
    client.put(running, "Running", created=datetime.now(UTC).isoformat())
    outcome = asyncio.run(calendar_api.start_check(client, SETTINGS, "performance-baseline"))
    assert outcome == f"skipped: {running} is still running" and client.started == []
    other = asyncio.run(calendar_api.start_check(client, SETTINGS, "backup-integrity"))
    assert other.startswith("started backup-integrity-qlp-")


@pytest.mark.parametrize("item", sorted({*CHECKS, "alert-verification"}))
def test_a_tick_is_skipped_while_a_dr_operation_holds_the_lock(item: str) -> None:
    client = FakeClient()
    held = {"run_id": "failover-qlp-1", "operation": "failover", "orchestrator": "x", "input": {}}
    client.put("lock-qlp", "Running", name=names.LOCK_ORCHESTRATOR, input_=held, custom=held)
    outcome = asyncio.run(calendar_api.start_check(client, SETTINGS, item))
    assert outcome == "skipped: failover failover-qlp-1 holds the lock; the next tick runs the check"
    assert client.started == []


def test_every_check_of_the_calendar_has_its_orchestrator_and_can_be_switched_off() -> None:
    assert set(calendar_api.ORCHESTRATORS) == set(calendar.CHECKS) == {*CHECKS, "alert-verification"}
    assert set(calendar.CHECKS) <= set(ITEMS)
    for orchestrator_name in calendar_api.ORCHESTRATORS.values():
        assert [b.type for b in functions()[orchestrator_name].get_bindings()] == ["orchestrationTrigger"]


def test_a_switched_off_check_starts_nothing() -> None:
    off = Settings.from_dict(backup_settings(calendar_off="health-check-validation,backup-integrity"))
    client = FakeClient()
    assert asyncio.run(calendar_api.start_check(client, off, "backup-integrity")).startswith("switched off")
    assert client.started == []
    found = {i.name: i for i in calendar.items(off)}
    assert not found["health-check-validation"].enabled and found["failover-validation"].enabled


# ---- GET /api/calendar -----------------------------------------------------------------------------------
def test_the_calendar_shows_each_checks_last_run_result_next_run_and_overdue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # a Thursday
    summaries = [
        {"run_id": "fv-1", "operation": "failover-validation", "status": "succeeded",
         "started_at": "2026-12-01T06:00:02Z"},
        {"run_id": "bi-1", "operation": "backup-integrity", "status": "failed",
         "started_at": "2026-12-02T06:00:01Z"},
        {"run_id": "hc-1", "operation": "health-check-validation", "status": "succeeded",
         "started_at": "2026-11-17T09:00:00Z"},
    ]  # fmt: skip
    monkeypatch.setattr(calendar_api.runs, "report_summaries", lambda: summaries)
    monkeypatch.setattr(calendar_api, "utc_now", lambda: now)
    monkeypatch.setattr(calendar_api, "current_settings", lambda: SETTINGS)
    resp = asyncio.run(call_http(names.HTTP_CALENDAR, http("GET", "/api/calendar")))
    by_name = {i["name"]: i for i in json.loads(resp.get_body())["items"]}
    fv, pb = by_name["failover-validation"], by_name["performance-baseline"]
    hc, bi = by_name["health-check-validation"], by_name["backup-integrity"]
    assert (fv["cadence"], fv["last_run"], fv["result"], fv["overdue"]) == (
        "monthly",
        "fv-1",
        "succeeded",
        False,
    )
    assert fv["next_run"] == "2027-01-01T06:00:00+00:00" and fv["schedule"] == "0 0 6 1 * *"
    assert pb["overdue"] is True and pb["reason"] == "no successful performance-baseline run yet"
    assert pb["next_run"] == "2027-01-01T01:00:00+00:00"
    assert hc["overdue"] is True and "over its weekly cadence" in hc["reason"]
    assert hc["next_run"] == "2026-12-08T09:00:00+00:00"  # the next Tuesday
    assert (bi["result"], bi["overdue"], bi["next_run"]) == ("failed", True, "2026-12-09T06:00:00+00:00")


def test_each_check_of_the_calendar_takes_the_schedule_its_timer_reads() -> None:
    s = Settings.from_dict(
        backup_settings(failover_validation_schedule="0 0 7 2 * *", backup_integrity_schedule="0 0 6 * * 4")
    )
    found = {i.name: i.schedule for i in calendar.items(s)}
    assert found["failover-validation"] == "0 0 7 2 * *" and found["backup-integrity"] == "0 0 6 * * 4"
    assert found["alert-verification"] == s.alert_verification_schedule
