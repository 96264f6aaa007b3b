"""The DR test calendar's monthly and weekly checks end to end (devhost + sandbox, one estate), each started
as its timer starts it (the host's admin endpoint), each judged from its report's verdict and figures:
the failover validation (the failover plan's dry run would proceed, and nothing moved), the performance
baseline twice (the second against the first, read through its report), the health-check validation
(failing while Front Door's standby origin group probes another path, then passing), the backup
integrity check (the automatic backups and a long-term backup taken first, its blob read back with its
recorded size and MD5); then ``GET /api/calendar`` shows each one's last run and result."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.backup_storage import ACCOUNT
from tests.polling import until
from tests.support.e2e import Estate, EstateFactory, run_timer

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

CDN_API = "api-version=2023-05-01"
REQUESTS = 40
CHECK_DEADLINE = 240.0  # a loaded machine: generous


def run_check(estate: Estate, item: str, timer: str = "") -> dict[str, Any]:
    """Fire the item's timer as the host does, wait for the run it started, return its report."""
    before = {r["id"] for r in estate.runs(operation=item)}
    run_timer(estate.host, timer or f"timer_{item.replace('-', '_')}")
    new = until(
        lambda: [r for r in estate.runs(operation=item) if r["id"] not in before],
        f"the {item} timer started a run",
        timeout=60,
        interval=0.3,
    )
    iid = str(new[0]["id"])
    estate.wait_done(iid, timeout=CHECK_DEADLINE)
    return dict(estate.report(iid))


def checks(report: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    return {c["name"]: (bool(c["passed"]), str(c["detail"])) for c in report["checks"]}


def set_probe_path(estate: Estate, origin_group: str, path: str) -> None:
    """Change an origin group's health probe path through ARM, as an operator in the portal would."""
    ep = estate.endpoints
    group = (
        f"/subscriptions/{ep['subscription_id']}/resourceGroups/{ep['frontdoor_resource_group']}"
        f"/providers/Microsoft.Cdn/profiles/{ep['frontdoor_profile']}/originGroups/{origin_group}?{CDN_API}"
    )
    probe = dict(estate.sandbox.request("GET", group)["properties"]["healthProbeSettings"])
    estate.sandbox.request(
        "PATCH", group, {"properties": {"healthProbeSettings": {**probe, "probePath": path}}}
    )
    until(
        lambda: (
            estate.sandbox.request("GET", group)["properties"]["healthProbeSettings"]["probePath"] == path
        ),
        f"{origin_group} probes {path}",
        timeout=30,
    )


def test_the_calendar_checks_measure_the_estate_and_the_calendar_shows_them(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory(
        BACKUP_STORAGE_ACCOUNT=ACCOUNT,
        BACKUP_RETENTION_DAYS="7",  # what the sandbox's servers keep
        LTR_POLL_SECONDS="1",
        LTR_DEADLINE_MINUTES="2",
        PERFORMANCE_BASELINE_REQUESTS=str(REQUESTS),
        PERFORMANCE_REGRESSION_FLOOR_MS="1000",  # a loaded test machine's noise is no regression
    )
    ep = estate.endpoints
    blue, standby = (
        ep["frontdoor_origin_groups"]["uksouth-blue"],
        ep["frontdoor_origin_groups"]["ukwest-standby"],
    )

    # ---- monthly: the failover validation, a dry run of the failover plan --------------------------------
    validation = run_check(estate, "failover-validation")
    assert validation["status"] == "succeeded", validation["summary"]
    assert validation["verdict"]["passed"] is True
    assert "the failover would proceed: the primary answers: planned switchover" in validation["summary"]
    found = checks(validation)
    assert all(ok for ok, _ in found.values()) and set(found) == {
        "primary", "standby_image", "standby_origin_group", "database_secret",
    }, found  # fmt: skip
    assert "standby kept stopped until a failover" in found["standby_origin_group"][1]
    m = validation["measurements"]
    assert m["promote_mode"] == "planned" and 0 <= m["replica_lag_seconds"] <= 15 * 60, m
    assert estate.runs(operation="failover") == []  # no failover ran
    status = estate.api("GET", "/api/status").json()
    assert status["origin_group"] == blue and status["slots"]["standby"]["state"] == "Stopped", status

    # ---- monthly: the performance baseline, then again against it ---------------------------------------
    first = run_check(estate, "performance-baseline")
    assert first["status"] == "succeeded", first["summary"]
    baseline = first["measurements"]["baseline"]
    assert set(baseline) == {"/health", "/api/v1/status"}
    for path, figures in baseline.items():
        assert (figures["count"], figures["answered"], figures["errors"]) == (REQUESTS, REQUESTS, 0), path
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"], figures
    assert first["measurements"]["previous_baseline_run"] is None
    second = run_check(estate, "performance-baseline")
    assert second["status"] == "succeeded", second["summary"]
    assert second["measurements"]["previous_baseline_run"] == first["run_id"]
    assert second["measurements"]["previous_baseline"] == baseline  # read back through the first report
    before = baseline["/health"]["p95_ms"]
    assert f"against the previous baseline's {before:.1f} ms" in checks(second)["p95 /health"][1]

    # ---- weekly: the health-check validation, failing while the standby group probes another path -------
    set_probe_path(estate, standby, "/ready")
    failing = run_check(estate, "health-check-validation")
    assert failing["status"] == "failed", failing["summary"]
    passed, detail = checks(failing)[f"probe settings {standby}"]
    assert not passed and "Front Door probes /ready, not the configured health path /health" in detail
    paged = until(
        lambda: estate.receiver.messages(
            lambda m: m.get("run_id") == failing["run_id"] and m.get("event") == "failed"
        ),
        "the failed validation notifies",
    )
    assert paged[0]["page"] is True
    set_probe_path(estate, standby, "/health")
    healthy = run_check(estate, "health-check-validation")
    assert healthy["status"] == "succeeded", healthy["summary"]
    found = checks(healthy)
    assert found["public intent-api"][0] and found["public database"][0], found
    blue_origin = f"origin {blue}/{ep['frontdoor_origins']['uksouth-blue']}"
    assert found[blue_origin][0] and " answered 200 in " in found[blue_origin][1], found
    assert all(found[f"probe settings {g}"][0] for g in ep["frontdoor_origin_groups"].values())
    judged = healthy["measurements"]["origins_not_judged"]
    assert set(judged) == {ep["frontdoor_origin_groups"]["uksouth-green"], standby}
    assert healthy["measurements"]["origin_groups"][blue]["probe_protocol"] == "Http"

    # ---- weekly: the backup integrity check, with a long-term backup taken first -------------------------
    ltr = run_check(estate, "ltr-backup", "timer_ltr_backup")
    assert ltr["status"] == "succeeded", ltr["summary"]
    integrity = run_check(estate, "backup-integrity")
    assert integrity["status"] == "succeeded", integrity["summary"]
    found = checks(integrity)
    for name in ("backup-age", "backup-retention", "earliest-restore-point", "geo-redundant-backup",
                 "long-term-backup", "backup-storage-protection", "azure record"):  # fmt: skip
        assert found[name][0], (name, found[name])
    assert found["backup-retention"][1] == "backup retention is 7 days (required 7)"
    (blob,) = ltr["measurements"]["ltr_blobs"]
    size = ltr["measurements"]["ltr_blob_bytes"]
    read_back, said = found[f"blob {blob}"]  # read back in full again
    assert read_back and said.startswith(f"{size} bytes, MD5 ") and said.endswith(" as recorded"), said
    m = integrity["measurements"]
    assert m["ltr_backup_name"] == ltr["resources"]["backup_name"] and m["ltr_blob_bytes"] == size
    assert m["backups_listed"] >= 1 and 0 <= m["latest_backup_age_seconds"] < 4 * 3600
    assert (m["backup_retention_days"], m["geo_redundant_backup"]) == (7, True)

    # ---- GET /api/calendar: each check's last run and result ---------------------------------------------
    shown = {i["name"]: i for i in estate.api("GET", "/api/calendar").json()["items"]}
    for item, run in (
        ("failover-validation", validation),
        ("performance-baseline", second),
        ("health-check-validation", healthy),
        ("backup-integrity", integrity),
    ):
        entry = shown[item]
        assert (entry["last_run"], entry["result"], entry["overdue"]) == (
            run["run_id"],
            "succeeded",
            False,
        ), entry
        assert entry["enabled"] is True and entry["next_run"], entry
    assert (
        shown["failover-validation"]["cadence"] == "monthly"
        and shown["backup-integrity"]["cadence"] == "weekly"
    )
