"""Benchmark: an alert storm against a running devhost on a sandbox, at concurrency 50, in one run.

UK South goes down, and 1000 Azure Monitor webhook calls (common alert schema) arrive on POST /api/alerts:
three alert rules on the primary server (several alert ids of one incident), each flapping three times
inside the grace period (fired, resolved, fired again as a new alert instance, as Azure Monitor does),
every notification delivered many times over (an action group retries; duplicates), all interleaved.
UK South heals before the grace period ends. Expected: exactly one failover run, which absorbs the
flapping and stands down at the end of the grace period: zero promotions (the sandbox's count).

The baseline, measured in the same run at the same concurrency: GET /api/health (the host's own floor,
no durable client and no estate read). Prints latency percentiles of both and their ratio, then, last,
``alert storm: runs=<n> promotions=<n> p50_ms=<x> p99_ms=<y>``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import FINISHED, estate  # noqa: E402
from tests.fixtures.devhost import DevhostProcess  # noqa: E402

ALERTS = 1000
CONCURRENCY = 50
RULES = 3  # alert rules on the primary: several alert ids of one incident
FLAPS = 3  # instances per rule inside the grace period (each fired, then resolved)
GRACE_SECONDS = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def alert(target: str, alert_id: str, rule: str, condition: str) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    essentials = {
        "alertId": alert_id,
        "alertRule": rule,
        "severity": "Sev0",
        "signalType": "Metric",
        "monitorCondition": condition,
        "alertTargetIDs": [target],
        "firedDateTime": now,
        "resolvedDateTime": now,
    }
    return {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": essentials}}


def storm(target: str) -> list[dict[str, Any]]:
    """The notifications in the order they are sent: each instance's fired copies, then its resolved
    copies, instance after instance, with the rules interleaved; duplicates fill up to ALERTS."""
    distinct = [
        alert(target, f"{target}/alerts/rule-{r}-flap-{f}", f"primary availability {r}", condition)
        for f in range(FLAPS)
        for condition in ("Fired", "Resolved")
        for r in range(RULES)
    ]
    copies = ALERTS // len(distinct)
    out = [body for body in distinct for _ in range(copies)]
    return out + distinct[-1:] * (ALERTS - len(out))  # the last one (a resolved) tops it up


class Load:
    """Requests at a fixed concurrency from one asyncio client (keep-alive, CONCURRENCY connections),
    each timed from send to the whole answer read."""

    def __init__(self, host: DevhostProcess) -> None:
        self.host = host

    def run(self, method: str, path: str, bodies: list[Any]) -> list[tuple[float, dict[str, Any]]]:
        return asyncio.run(self._run(method, path, bodies))

    async def _run(self, method: str, path: str, bodies: list[Any]) -> list[tuple[float, dict[str, Any]]]:
        import aiohttp

        headers = {"x-functions-key": self.host.function_key}
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        gate = asyncio.Semaphore(CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def one(body: Any) -> tuple[float, dict[str, Any]]:
                async with gate:
                    begun = time.perf_counter()
                    async with session.request(method, self.host.url(path), json=body) as resp:
                        answer = await resp.json()
                        took = (time.perf_counter() - begun) * 1000
                        assert resp.status in (200, 202), (resp.status, answer)
                        return took, dict(answer)

            return list(await asyncio.gather(*(one(b) for b in bodies)))


def show(name: str, latencies: list[float]) -> None:
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    mean = statistics.fmean(latencies)
    print(f"  {name:<22} n={len(latencies)} p50={p50:7.1f} ms  p99={p99:7.1f} ms  mean={mean:7.1f} ms")


def main() -> int:
    overrides = {
        "CONTINUITY_CONFIRM_PROBES": "1",
        "CONTINUITY_CONFIRM_INTERVAL_SECONDS": "0",
        "CONTINUITY_GRACE_PERIOD_SECONDS": str(GRACE_SECONDS),
        "CONTINUITY_PROBE_TIMEOUT_SECONDS": "3",
    }
    with estate("alerts", overrides) as (sandbox, host, _):
        e = sandbox.endpoints
        target = (
            f"/subscriptions/{e['subscription_id']}/resourceGroups/{e['resource_groups']['primary']}"
            f"/providers/Microsoft.DBforPostgreSQL/flexibleServers/{e['servers']['primary']}"
        )
        load = Load(host)
        load.run("GET", "/api/health", [None] * 200)  # warm-up: connections, imports
        health = [t for t, _ in load.run("GET", "/api/health", [None] * ALERTS)]

        sandbox.fault("region-outage", region="uksouth")
        replies = load.run("POST", "/api/alerts", storm(target))
        sandbox.fault("heal", region="uksouth")
        latencies = [t for t, _ in replies]
        answers = [r["status"] for _, r in replies]
        started = sorted({r["run"] for _, r in replies if r["status"] == "started"})
        deadline = time.monotonic() + GRACE_SECONDS + 120
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = host.request("GET", "/api/runs?operation=failover", key="function").json()["runs"]
            if runs and all(r["runtime_status"] in FINISHED for r in runs):
                break
            time.sleep(0.5)
        promotions = sum(sandbox.status()["actions"]["counts"]["promotes"].values())

    print(f"alert storm: {ALERTS} webhook calls at concurrency {CONCURRENCY}")
    print(f"  {RULES} alert rules x {FLAPS} flaps inside a {GRACE_SECONDS} s grace period, each repeated")
    print("  answers: " + ", ".join(f"{a}={answers.count(a)}" for a in sorted(set(answers))))
    print(f"  started: {started}")
    for run in runs:
        output = run.get("output") or {}
        print(f"  run {run['id']}: {run['runtime_status']} {output.get('status')}: {output.get('summary')}")
    show("GET /api/health", health)
    show("POST /api/alerts", latencies)
    tenths = [
        round(statistics.median(latencies[i : i + ALERTS // 10])) for i in range(0, ALERTS, ALERTS // 10)
    ]
    print(f"  POST /api/alerts p50 by tenth of the storm, in the order sent (ms): {tenths}")
    ratio = percentile(latencies, 0.99) / percentile(health, 0.99)
    print(f"  alerts/health p99 ratio: {ratio:.1f}")
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"alert storm: runs={len(runs)} promotions={promotions} p50_ms={p50:.1f} p99_ms={p99:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
