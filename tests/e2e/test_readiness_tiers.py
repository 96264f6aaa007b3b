"""Readiness and per-tier RTO end to end (devhost + sandbox, one estate): the readiness timer scores the
estate, the score falls when the replica lags past the RPO and rises when it catches up (each change
notifies the receiver; /api/readiness, /api/status agree); then a regional failover measures each tier's
RTO through the public endpoint, with a tier-2 component that turns healthy later than tier 1. Between
the two, the weekly alert verification sends a practice alert through the real intake: it reaches the
receiver and starts no failover."""

from __future__ import annotations

import json
import secrets
import socket
from typing import Any

import pytest

from shared.models import seconds_between
from tests.polling import until
from tests.support.e2e import Estate, EstateFactory, durable_status, run_timer

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

WARMUP = 12.0  # seconds the websocket component takes to turn healthy after its container starts
COMPONENTS = [
    {"name": "intent-api", "path": "/api/v1/status", "tier": 1},
    {"name": "database", "path": "/api/v1/health/database", "tier": 1},
    {"name": "websocket", "path": "/api/v1/health/components/websocket", "tier": 2},
]
RPO_SECONDS = 6.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tick(estate: Estate) -> dict[str, Any]:
    """One readiness tick through its timer, waited for; its result."""
    before = (durable_status(estate.host, "readiness-qlp").get("output") or {}).get("observed_at")

    def done() -> dict[str, Any] | None:
        status = durable_status(estate.host, "readiness-qlp")
        output = status.get("output") if status.get("runtimeStatus") == "Completed" else None
        return output if output and output.get("observed_at") != before else None

    run_timer(estate.host, "timer_readiness")
    return until(done, lambda: f"a readiness tick completed\n{estate.host.log[-3000:]}", 60, 0.3)


def results(found: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["result"] for c in found["checks"]}


def lag(estate: Estate) -> float:
    return float(estate.api("GET", "/api/status").json()["replica_lag_seconds"] or 0.0)


def changes(estate: Estate) -> list[dict[str, Any]]:
    return estate.receiver.messages(lambda m: m.get("event") == "readiness-changed")


def test_readiness_follows_the_replica_then_a_failover_measures_each_tier(
    estate_factory: EstateFactory,
) -> None:
    port, key = free_port(), secrets.token_urlsafe(24)
    estate = estate_factory(
        sandbox_config={"workload_warmup": {"websocket": WARMUP}},
        host_env={"DEVHOST_FUNCTION_KEY": key},
        port=port,
        RPO_MINUTES=str(RPO_SECONDS / 60),
        TIER_COMPONENTS=json.dumps(COMPONENTS),
        TIER_POLL_INTERVAL_SECONDS="0.5",
        ALERT_INTAKE_URL=f"http://127.0.0.1:{port}/api/alerts?code={key}",
    )
    first = tick(estate)
    checks = results(first)
    for name in ("replica_lag", "backup_age", "database_secret", "permissions", "task_hub_region"):
        assert checks[name] == "pass", first["checks"]
    assert checks["restore_test"] == "fail"  # none has run on this fresh estate
    until(lambda: len(changes(estate)) == 1, "the first score notifies")

    estate.sandbox.fault("replication-lag", seconds=300)
    for i in range(5):
        assert estate.public("POST", "/api/v1/intents", json={"text": f"while paused {i}"}).status_code == 201
    until(lambda: lag(estate) > RPO_SECONDS + 1, "the replica lags past the RPO", 30, 0.5)
    lagging = tick(estate)
    assert results(lagging)["replica_lag"] == "fail" and lagging["score"] < first["score"]
    fell = until(lambda: changes(estate)[1:], "the fall notifies")[0]
    assert f"readiness score fell from {first['score']} to {lagging['score']}" in fell["text"]
    now = estate.api("GET", "/api/readiness").json()
    assert results(now)["replica_lag"] == "fail" and now["last_tick"]["score"] == lagging["score"]

    estate.sandbox.fault("clear")

    def caught_up() -> bool:  # a fresh write: the lag is measured up to the last transaction replayed
        assert estate.public("POST", "/api/v1/intents", json={"text": "after the resume"}).status_code == 201
        return lag(estate) < RPO_SECONDS / 2

    until(caught_up, "the replica catches up", 120, 1.0)  # replay resumes on a loaded machine too
    fixed = tick(estate)
    assert results(fixed)["replica_lag"] == "pass" and fixed["score"] == first["score"]
    rose = until(lambda: changes(estate)[2:], "the rise notifies")[0]
    assert f"rose from {lagging['score']} to {fixed['score']}" in rose["text"]
    assert estate.api("GET", "/api/status").json()["readiness"]["score"] == fixed["score"]

    # the weekly alert verification: a practice alert through the real intake reaches the receiver
    run_timer(estate.host, "timer_alert_verification")
    (verification,) = until(lambda: estate.runs(operation="alert-verification"), "the verification runs")
    done = estate.wait_done(str(verification["id"]))
    assert (done.get("output") or {}).get("status") == "succeeded", done
    (practice,) = estate.receiver.messages(lambda m: m.get("event") == "practice-alert")
    assert "would start a failover" in practice["text"]
    assert estate.runs(operation="failover") == []  # it started nothing
    assert key not in json.dumps(estate.report(str(verification["id"])))  # the intake's key stays secret

    estate.sandbox.fault("region-outage", region="uksouth")
    resp = estate.alert()
    assert resp.status_code == 202, resp.text
    iid = str(resp.json()["run"])
    estate.wait_done(iid)
    report = estate.report(iid)
    assert report["status"] == "succeeded", report["summary"]
    tiers = {t["tier"]: t for t in report["measurements"]["tier_rto"]}
    assert tiers[1]["result"] == "pass" and tiers[2]["result"] == "pass", tiers
    restarted = next(s for s in report["steps"] if s["name"] == "restart_standby")["started_at"]
    first_signal = report["measurements"]["first_signal_at"]
    # the websocket cannot answer before it has warmed up in the restarted standby
    floor = float(seconds_between(first_signal, restarted) or 0) + WARMUP
    assert tiers[2]["rto_seconds"] >= floor > tiers[1]["rto_seconds"], (tiers, floor)
    decision = next(d for d in report["decisions"] if d["step"] == "tier_rto")
    assert decision["action"] == "met" and "tier 2 RTO" in decision["reason"]
    markdown = estate.report(iid, format="markdown")
    assert "tier 1 RTO" in markdown and "tier 2 RTO" in markdown
