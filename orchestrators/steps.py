"""Steps more than one plan takes, written once on the run toolkit: verify an app through an address,
check that an origin group has a healthy origin before traffic moves (rule 2), count rows one server has
and another lacks, check a failover dry run's preconditions; a verdict as a row of the report's checks,
and how a calendar check ends on its verdict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrators.toolkit import COMPLETED, FAILED, End, Gen, Json, Run, StepFailed
from shared import names, policy, readiness
from shared.models import Decision, Verdict

DEFAULT_POLL_ATTEMPTS = 60
DEFAULT_POLL_INTERVAL_SECONDS = 2.0


def poll_attempts(run: Run) -> int:
    return int(run.input.get("poll_attempts") or DEFAULT_POLL_ATTEMPTS)


def poll_interval(run: Run) -> float:
    return float(run.input.get("poll_interval_seconds") or DEFAULT_POLL_INTERVAL_SECONDS)


def app_probes(run: Run, base_url: str, *, write: bool) -> list[tuple[str, Json]]:
    """The probes that say an app works: health, database health and, with ``write``, an intent."""
    s, timeout = run.settings, run.settings.probe_timeout_seconds
    probes: list[tuple[str, Json]] = [
        (names.PROBE_HTTP, {"url": base_url + s.health_path, "timeout_seconds": timeout}),
        (names.PROBE_HTTP, {"url": base_url + s.database_health_path, "timeout_seconds": timeout}),
    ]
    if write:
        text = f"continuity verification write {run.run_id}"
        probes.append(
            (
                names.PROBE_HTTP,
                {
                    "url": base_url + "/api/v1/intents",
                    "method": "POST",
                    "json": {"text": text},
                    "expect_status": 201,
                    "timeout_seconds": timeout,
                },
            )
        )
    return probes


def verify_app(run: Run, base_url: str, *, write: bool) -> Gen:
    """Poll the app at ``base_url`` until health, database health (and a write) all pass; raises
    StepFailed with the last failures when they never do."""
    if not base_url:
        raise StepFailed(run.record.step, "no address to verify")
    probes = app_probes(run, base_url, write=write)

    def read() -> Gen:
        return (yield from run.gather(probes, safely=True))

    ok, results, _ = yield from run.poll(
        read,
        lambda found: all(r.get("ok") for r in found),
        attempts=poll_attempts(run),
        interval=poll_interval(run),
    )
    if ok:
        return f"{base_url} healthy (health, database{', write' if write else ''})"
    failed = [
        f"{r.get('url')}: {r.get('status')} {r.get('error') or ''}".strip()
        for r in results
        if not r.get("ok")
    ]
    raise StepFailed(run.record.step, f"not healthy after {poll_attempts(run)} checks: {'; '.join(failed)}")


def check_pool(run: Run, origin_group: str) -> Gen:
    """Rule 2: wait until ``origin_group`` has a healthy origin; raises StepFailed with the refusal."""

    def read() -> Gen:
        pool = yield from run.act(names.TRAFFIC_LIST_HEALTHY_ORIGINS, {"origin_group": origin_group})
        return policy.route_traffic(
            target=origin_group,
            healthy_origins=int(pool.get("healthy_count", 0)),
            total_origins=len(pool.get("origins", [])),
        )

    _, decision, _ = yield from run.poll(
        read, lambda d: d.is_("switch"), attempts=poll_attempts(run), interval=poll_interval(run)
    )
    run.decide(run.record.step or "check_pool", decision)
    if not isinstance(decision, Decision) or decision.is_("refuse"):
        raise StepFailed(run.record.step or "check_pool", decision.reason)
    return decision.reason


def rows_missing(old: dict[str, Any] | None, new: dict[str, Any] | None) -> int | None:
    """Rows counted on the old server beyond those on the new one, summed over the critical tables."""
    if not old or not new:
        return None
    return sum(max(0, int(n) - int(new.get(table, 0))) for table, n in old.items())


def await_probe(
    run: Run,
    probe: Json,
    *,
    attempts: int,
    interval: float,
    failure: str,
    stopped: Callable[[], bool] = lambda: False,
) -> Gen:
    """Probe until the answer is ok (a durable timer between probes); returns it. When it never is,
    raises StepFailed: ``failure`` and the last answer. ``stopped()`` True (asked after each probe) ends
    the wait early: the last answer is returned with ``stopped`` (a preempted drill stops waiting)."""

    def read() -> Gen:
        return (yield from run.act(names.PROBE_HTTP, probe))

    ok, result, calls = yield from run.poll(
        read, lambda r: bool(r.get("ok")) or stopped(), attempts=attempts, interval=interval
    )
    if ok and not result.get("ok"):
        return {**result, "stopped": True, "message": f"stopped waiting after {calls} call(s)"}
    if not ok:
        raise StepFailed(
            run.record.step, f"{failure}: {result.get('status')} {result.get('error') or ''}".strip()
        )
    return {**result, "message": f"ok after {calls} call(s)"}


def failover_preconditions(run: Run) -> Gen:
    """A failover's dry run: the readiness checks a failover depends on (shared.readiness's observation,
    without the posture's reads: the primary found now, the standby's release, its origin group, the
    secret), kept as the report's checks; returns which failed."""
    seen = yield from run.drive(readiness.observe(run.settings, posture=False))
    checks = policy.failover_preconditions(readiness.observation_of(run.settings, run.now(), seen))
    run.record.checks = [check_of(c) for c in checks]
    failed = [c.name for c in checks if not c.passed]
    return f"failed: {', '.join(failed)}" if failed else f"all {len(checks)} hold"


def check_of(verdict: Verdict) -> Json:
    """A verdict as a row of the report's checks table: name, passed, detail."""
    return {"name": verdict.name, "passed": verdict.passed, "detail": verdict.reason}


def verdict_of(check: Json) -> Verdict:
    """A row of a report's checks table (name, passed, detail) as a verdict."""
    return Verdict(bool(check.get("passed")), (str(check.get("detail") or ""),), str(check.get("name") or ""))


def verdict_end(verdict: Verdict) -> End:
    """How a run that proves something (a restore test, a drill, a calendar check) ends on its verdict:
    succeeded, or failed and paged."""
    if verdict.passed:
        return End("succeeded", verdict.reason, COMPLETED)
    return End("failed", verdict.reason, FAILED, page=True)
