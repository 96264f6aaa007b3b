"""Failover and failback end to end: devhost runs function_app against a fresh sandbox per scenario.

Scenarios (issue numbering): 1 outage via webhook -> automatic failover, then 9 failback; 4 fired then
resolved -> no failover, 11 hostile input -> 4xx and no run, 3 a storm of alerts -> one run; 5 lag over
the RPO -> approval -> proceeds, through Event Grid (2); 6 manual mode reject and approve; 7 promote
fails -> traffic untouched, page; 8 planned failover with the primary up under write load -> every
acknowledged write kept and the reported rows lost (12) equal to the rows actually lost, with 10 the host
killed mid-run and restarted -> completes, promote scheduled once.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.polling import until
from tests.support.e2e import Estate, EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

SOME_RUN = "failover-qlp-20260101T000000-0000"  # a well-formed run id that never ran


def custom(run: dict[str, Any]) -> dict[str, Any]:
    return dict(run.get("custom_status") or {})


def output(run: dict[str, Any]) -> dict[str, Any]:
    return dict(run.get("output") or {})


def live_origin_group(estate: Estate) -> str:
    return str(estate.api("GET", "/api/status").json()["origin_group"])


def serves_from(estate: Estate, region: str, timeout: float = 60) -> dict[str, Any]:
    last: list[Any] = [None]

    def serving() -> dict[str, Any] | None:
        try:
            resp = estate.public("GET", "/api/v1/status")
        except OSError as exc:
            last[0] = exc
            return None
        last[0] = resp.status_code, resp.text[:200]
        return dict(resp.json()) if resp.status_code == 200 and resp.json().get("region") == region else None

    return until(serving, lambda: f"the public endpoint serves from {region}: {last[0]}", timeout, 0.25)


def alert_run(resp: Any) -> str:
    """The run an alert started (202 {"status": "started", "run": <run id>})."""
    assert resp.status_code == 202 and resp.json()["status"] == "started", resp.text
    return str(resp.json()["run"])


def notified_without_error(report: dict[str, Any]) -> None:
    """Every notification and CloudEvent of the run was accepted."""
    assert report["notifications"] and all("error" not in n for n in report["notifications"]), report


def write_and_read(estate: Estate, text: str) -> None:
    created = estate.public("POST", "/api/v1/intents", json={"text": text})
    assert created.status_code == 201, created.text
    found = estate.public("POST", "/api/v1/search", json={"text": text, "limit": 5})
    assert found.status_code == 200, found.text
    assert text in found.text


def write_rows(estate: Estate, n: int, prefix: str) -> None:
    for i in range(n):
        assert estate.public("POST", "/api/v1/intents", json={"text": f"{prefix} {i}"}).status_code == 201


# ---- 1 + 9 -----------------------------------------------------------------------------------------------
def test_region_outage_alert_fails_over_automatically_then_fails_back(estate_factory: EstateFactory) -> None:
    estate = estate_factory()
    servers = estate.endpoints["servers"]
    write_rows(estate, 5, "before the outage")
    estate.sandbox.fault("region-outage", region="uksouth")

    first = alert_run(estate.alert())
    run = estate.wait_done(first)
    assert output(run)["status"] == "succeeded", run
    serves_from(estate, "ukwest")
    write_and_read(estate, "written after the failover")

    report = estate.report(first)
    assert report["run_id"] == first and report["status"] == "succeeded"
    m = report["measurements"]
    assert m["rto_seconds"] > 0 and m["rpo_seconds"] is not None
    assert report["decisions"][-1]["action"] == "met"
    assert [s["name"] for s in report["steps"]][:3] == ["observe", "confirm", "prepare"]
    assert "started" in estate.receiver.events() and "completed" in estate.receiver.events()
    notified_without_error(report)
    groups = estate.endpoints["frontdoor_origin_groups"]
    assert report["estate"]["before"]["route"]["origin_group"] == groups["uksouth-blue"]
    assert report["estate"]["after"]["route"]["origin_group"] == groups["ukwest-standby"]
    assert estate.count(servers["replica"]) >= 6

    estate.sandbox.fault("heal", region="uksouth")
    back = estate.start("/api/failback", {"reason": "uksouth is back"})
    done = estate.wait_done(back, timeout=180)
    assert output(done)["status"] == "succeeded", done
    assert "zero rows lost, verified" in output(done)["summary"]
    serves_from(estate, "uksouth")
    write_and_read(estate, "written after the failback")

    # the next failover finds the new UK South primary through the replica, and fences that one
    home = output(done)["summary"].split(" is primary")[0].rsplit(": ", 1)[-1]
    estate.sandbox.fault("region-outage", region="uksouth")
    again = estate.start("/api/failover", {"reason": "second outage", "mode": "forced"})
    assert again != first
    run = estate.wait_done(again)
    assert output(run)["status"].startswith("succeeded"), run
    reasons = [d["reason"] for d in custom(run)["decisions"]]
    assert f"the replica {servers['replica']} follows {home}: {home} is the primary" in reasons
    assert "forced promote: stopping the old primary so it cannot take writes" in reasons
    serves_from(estate, "ukwest")


# ---- 11, 3, 4 --------------------------------------------------------------------------------------------
HOSTILE: list[tuple[str, str, Any]] = [
    ("POST", "/api/failover", None),
    ("POST", "/api/failover", "not an object"),
    ("POST", "/api/failover", {"mode": "forced"}),
    ("POST", "/api/failover", {"reason": "x", "mode": "forced; DROP TABLE intents"}),
    ("POST", "/api/failover", {"reason": "x", "dry_run": "true"}),
    ("POST", "/api/failover", {"reason": "x" * 10_000}),
    ("POST", "/api/failback", {"reason": "x", "slot": "../../etc"}),
    ("POST", "/api/alerts", {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {}}}),
    ("POST", "/api/alerts", [{"eventType": "x"}]),
    ("GET", "/api/runs?status=<script>", None),
    ("GET", "/api/runs?limit=100000", None),
    ("POST", "/api/failover", {"reason": "x", "by": "someone else"}),  # who acts is the principal
    ("POST", f"/api/runs/{SOME_RUN}/detonate", {}),
    ("POST", f"/api/runs/{SOME_RUN}/approve", {"note": {"$gt": ""}}),
    ("POST", f"/api/runs/{SOME_RUN}/reject", {"by": "duty manager"}),
]


def test_healthy_primary_hostile_input_storm_and_resolved_blip(estate_factory: EstateFactory) -> None:
    estate = estate_factory(CONFIRM_PROBES="4", CONFIRM_INTERVAL_SECONDS="1")
    route = live_origin_group(estate)

    # 11: bad or hostile input is a 4xx and starts nothing
    for method, path, body in HOSTILE:
        resp = estate.api(method, path, body)
        assert 400 <= resp.status_code < 500, (method, path, resp.status_code, resp.text)
    assert estate.host.request("POST", "/api/failover", json={"reason": "no key"}).status_code == 401
    assert estate.api("GET", "/api/runs").json()["runs"] == []

    # a dry run observes and decides, changes nothing, and is not the app's failover run
    dry = estate.api("POST", "/api/failover", {"reason": "what if", "mode": "auto", "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["plan"][0] == "promote replica (planned) || start standby"
    assert dry.json()["run_id"].startswith("failover-dryrun-qlp-") and dry.json()["status"] == "dry-run"
    assert [r["id"] for r in estate.runs(operation="failover") if "dryrun" not in r["id"]] == []
    assert estate.api("GET", "/api/status").json()["running_operations"] == []
    assert live_origin_group(estate) == route

    # 3: a storm of identical alerts yields exactly one run (which finds the primary healthy)
    body = estate.common_alert()
    with ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(lambda _: estate.api("POST", "/api/alerts", body).json(), range(1000)))
    answers = [r["status"] for r in replies]
    assert answers.count("started") == 1
    assert set(answers) <= {"started", "acknowledged", "refused", "ignored"}
    assert answers.count("acknowledged") + answers.count("ignored") == 999
    (storm,) = [r["run"] for r in replies if r["status"] == "started"]
    assert {r["run"] for r in replies if r["status"] == "acknowledged"} <= {storm}
    run = estate.wait_done(storm)
    assert output(run)["status"] == "stood-down"
    assert output(run)["summary"] == "the primary answered 4 consecutive probes: recovered, no failover"
    listed = estate.runs(operation="failover")
    assert [r["id"] for r in listed if "dryrun" not in r["id"]] == [storm]

    # 4: fired, then resolved within the confirmation window: no failover
    estate.sandbox.fault("region-outage", region="uksouth")
    blip = "/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/blip"
    blipped = alert_run(estate.alert(alert_id=blip))
    assert blipped != storm
    estate.wait_run(blipped, lambda r: custom(r).get("step") == "confirm")
    resolved = estate.alert("Resolved", alert_id=blip).json()
    assert (resolved["status"], resolved["run"]) == ("delivered", blipped)
    run = estate.wait_done(blipped)
    assert output(run)["summary"] == "the alert resolved during confirmation: recovered, no failover"
    assert live_origin_group(estate) == route
    servers = estate.api("GET", "/api/status").json()["servers"]
    assert servers["replica"]["role"] == "replica"


# ---- 5 + 2 -----------------------------------------------------------------------------------------------
def resource_health_event(estate: Estate, state: str) -> list[dict[str, Any]]:
    target = estate.resource_id()
    return [
        {
            "id": f"rh-{state}-{time.monotonic_ns()}",
            "topic": f"/subscriptions/{estate.endpoints['subscription_id']}",
            "subject": target,
            "eventType": "Microsoft.ResourceNotifications.HealthResources.AvailabilityStatusChanged",
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "dataVersion": "1",
            "data": {
                "resourceInfo": {
                    "id": target + "/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
                    "properties": {
                        "targetResourceId": target,
                        "availabilityState": state,
                        "occurredTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "title": "Database unavailable",
                    },
                }
            },
        }
    ]


def test_lag_over_rpo_waits_for_approval_through_event_grid(estate_factory: EstateFactory) -> None:
    estate = estate_factory(RPO_MINUTES="0.01")  # 0.6 s, so a replica paused for seconds is over it
    estate.sandbox.fault("replication-lag", seconds=300)
    write_rows(estate, 20, "written while replay is paused")
    until(
        lambda: (estate.api("GET", "/api/status").json()["replica_lag_seconds"] or 0) >= 2,
        "the replica reports 2 s of lag",
        timeout=30,
        interval=0.5,
    )
    estate.sandbox.fault("region-outage", region="uksouth")

    resp = estate.host.request(
        "POST",
        "/runtime/webhooks/eventgrid",
        key="master",
        params={"functionName": "eventgrid_alerts"},
        headers={"aeg-event-type": "Notification"},
        json=resource_health_event(estate, "Unavailable"),
    )
    assert resp.status_code in (200, 202), resp.text
    (iid,) = until(
        lambda: [r["id"] for r in estate.runs(operation="failover")],
        "the Resource Health event has started a failover",
        timeout=30,
    )
    waiting = estate.wait_step(iid)
    assert "no automatic forced promote, waiting for operator approval" in custom(waiting)["reason"]
    until(lambda: "awaiting-approval" in estate.receiver.events(), "the approval request is notified", 30)

    assert estate.api("POST", f"/api/runs/{iid}/approve", {"note": "accept the lag"}).status_code == 202
    run = estate.wait_done(iid)
    assert output(run)["status"] == "succeeded", run
    serves_from(estate, "ukwest")
    decisions = [d["reason"] for d in custom(run)["decisions"]]
    assert "approved by function key: accept the lag" in decisions  # the principal, not a body field


# ---- 6 ---------------------------------------------------------------------------------------------------
def test_manual_mode_reject_changes_nothing_then_approve_fails_over(estate_factory: EstateFactory) -> None:
    estate = estate_factory(FAILOVER_MODE="manual")
    route = live_origin_group(estate)
    estate.sandbox.fault("region-outage", region="uksouth")

    first = alert_run(estate.alert())
    waiting = estate.wait_step(first)
    assert custom(waiting)["reason"] == "failover mode is manual: waiting for operator approval"
    refused = estate.api("POST", f"/api/runs/{first}/reject", {"by": "duty manager"})
    assert refused.status_code == 400, refused.text  # who answers is the principal, not a body field
    rejected = estate.api("POST", f"/api/runs/{first}/reject", {"note": "duty manager says no"})
    assert rejected.status_code == 202 and rejected.json()["by"] == "function key", rejected.text
    run = estate.wait_done(first)
    assert output(run)["status"] == "rejected"
    assert live_origin_group(estate) == route
    assert estate.api("GET", "/api/status").json()["servers"]["replica"]["role"] == "replica"

    second = alert_run(estate.alert())
    assert second != first
    estate.wait_step(second)
    assert estate.api("POST", f"/api/runs/{second}/approve").status_code == 202
    run = estate.wait_done(second)
    assert output(run)["status"] == "succeeded", run
    serves_from(estate, "ukwest")


# ---- 7 ---------------------------------------------------------------------------------------------------
def stop_server(estate: Estate, name: str, resource_group: str) -> None:
    from shared.azure.clients import Clients
    from shared.azure.database import DatabaseAdapter
    from shared.config import load_secrets, load_settings

    adapter = DatabaseAdapter(Clients(load_settings(estate.env), load_secrets(estate.env)))
    adapter.stop(name, resource_group)


def test_promote_failure_leaves_traffic_and_pages(estate_factory: EstateFactory) -> None:
    estate = estate_factory()
    route = live_origin_group(estate)
    stop_server(
        estate, estate.endpoints["servers"]["replica"], estate.endpoints["resource_groups"]["secondary"]
    )

    iid = estate.start("/api/failover", {"reason": "drill", "mode": "planned"})
    run = estate.wait_done(iid)
    assert output(run)["status"] == "failed"
    summary = output(run)["summary"]
    assert summary.startswith("promote failed before anything changed")
    assert "traffic left where it was" in summary and "Steps that ran: observe, prepare" in summary
    assert live_origin_group(estate) == route
    report = estate.report(iid)
    assert report["estate"]["before"]["route"]["origin_group"] == route
    assert report["estate"]["after"]["route"]["origin_group"] == route  # observed again at the end
    assert [s["outcome"] for s in report["steps"] if s["name"] == "promote"] == ["failed"]
    pages = estate.receiver.messages(lambda b: b.get("event") == "step-failed")
    assert pages and pages[0]["page"] is True
    write_and_read(estate, "still served by uksouth")


# ---- 8 + 10 + 12 ------------------------------------------------------------------------------------------
class WriteLoad:
    """Writes intents through the public endpoint until stopped; remembers every acknowledged id."""

    def __init__(self, estate: Estate) -> None:
        self.estate, self.acknowledged, self.refused = estate, [], 0
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self) -> None:
        i = 0
        while self.running:
            i += 1
            try:
                resp = self.estate.public("POST", "/api/v1/intents", json={"text": f"load {i}"}, timeout=5)
                if resp.status_code == 201:
                    self.acknowledged.append(int(resp.json()["id"]))
                else:
                    self.refused += 1
            except OSError:
                self.refused += 1
            time.sleep(0.02)

    def stop(self) -> None:
        self.running = False
        self.thread.join(10)


def missing_ids(estate: Estate, server: str, ids: list[int]) -> list[int]:
    import psycopg

    with psycopg.connect(estate.database_url(server), connect_timeout=5) as conn:
        found = {r[0] for r in conn.execute("SELECT id FROM intents WHERE id = ANY(%s)", (ids,)).fetchall()}
    return sorted(set(ids) - found)


def test_planned_failover_under_load_survives_a_host_kill_with_zero_rows_lost(
    estate_factory: EstateFactory,
) -> None:
    estate = estate_factory()
    servers = estate.endpoints["servers"]
    load = WriteLoad(estate)
    try:
        iid = estate.start("/api/failover", {"reason": "planned move", "mode": "planned"})
        estate.wait_run(iid, lambda r: custom(r).get("step") in ("promote", "count_rows", "point_secret"))
        estate.host.kill()  # 10: the host dies mid-failover and comes back on the same state
        estate.host.start()
        run = estate.wait_done(iid)
        assert output(run)["status"] == "succeeded", run
        serves_from(estate, "ukwest")
        acknowledged_after = len(load.acknowledged)
        until(  # the load goes on against UK West
            lambda: len(load.acknowledged) >= acknowledged_after + 5, "writes resume after the failover", 30
        )
    finally:
        load.stop()

    # 8 + 12: every acknowledged write is on the new primary, and the report says exactly that
    lost = missing_ids(estate, servers["replica"], load.acknowledged)
    m = output(run)["measurements"]
    assert (m["promote_mode"], m["rpo_seconds"]) == ("planned", 0.0)
    assert m["rows_missing"] == len(lost) == 0
    assert len(load.acknowledged) > 20
    # the extension's history folds each scheduling into its completion: one promote, completed once
    promotes = [e for e in estate.history(iid) if e.get("FunctionName") == "database_promote_replica"]
    assert [e["EventType"] for e in promotes] == ["TaskCompleted"]
