"""The monthly performance baseline (the DR test calendar): latency and errors through the public endpoint,
recorded as the baseline and compared with the previous one.

``PERFORMANCE_BASELINE_REQUESTS`` requests to the health path, then to the status path (``VERSION_PATH``)
when it is another path, through the public endpoint: one burst per path, one after the other, with the
prober the deploy's baseline uses (``PROBE_BURST``, at ``ANALYSIS_CONCURRENCY``). Each path's p50, p95,
p99 and error rate (no answer or 5xx) are this run's baseline (``measurements.baseline``). The previous
baseline is the newest successful run of this plan, read through its report (``STORAGE_LIST_REPORTS``,
``STORAGE_READ_REPORT``). A p95 more than ``PERFORMANCE_REGRESSION_PERCENT`` over the previous one (and
``PERFORMANCE_REGRESSION_FLOOR_MS`` at least), an error rate above ``PERFORMANCE_MAX_ERROR_PERCENT``, or
a previous baseline that cannot be read fails the verdict, and a failed baseline pages. No lock: it
changes nothing.

Input: {run_id, settings, trigger}.
"""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators.steps import check_of, verdict_end
from orchestrators.toolkit import Gen, Json, Run
from shared import names, policy
from shared.config import Settings

bp = df.Blueprint()
OPERATION = "performance-baseline"
FIGURES = ("count", "answered", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms", "average_ms", "max_ms")


@bp.function_name(names.PERFORMANCE_BASELINE_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def performance_baseline_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Measure the baseline and compare it with the previous one; returns the run's outcome."""
    run = Run(context, OPERATION)
    return (yield from run.execute(performance_baseline, announce_start=False))


def paths(settings: Settings) -> tuple[str, ...]:
    """The health path, then the status path when it is another one."""
    return tuple(dict.fromkeys((settings.health_path, settings.version_path)))


def limits(settings: Settings) -> policy.LatencyLimits:
    return policy.LatencyLimits(
        regression_percent=settings.performance_regression_percent,
        floor_ms=settings.performance_regression_floor_ms,
        max_error_percent=settings.performance_max_error_percent,
    )


def performance_baseline(run: Run) -> Gen:
    s = run.settings
    previous = yield from run.step("previous-baseline", previous_baseline(run))
    figures: dict[str, Json] = {}
    for path in paths(s):
        burst = {
            "url": s.public_url + path,
            "requests": s.performance_baseline_requests,
            "concurrency": s.analysis_concurrency,
            "timeout_seconds": s.probe_timeout_seconds,
        }
        measured = yield from run.step(f"measure {path}", run.act(names.PROBE_BURST, burst))
        figures[path] = {k: measured.get(k) for k in FIGURES}
    run.measure(
        baseline=figures,
        previous_baseline_run=previous.get("run_id"),
        previous_baseline=previous.get("figures"),
    )
    checks = policy.performance_checks(
        figures, previous.get("figures"), limits(s), previous_error=str(previous.get("error") or "")
    )
    run.record.checks = [check_of(c) for c in checks]
    verdict = policy.checks_verdict(OPERATION, checks, f"the baseline of {', '.join(figures)} is recorded")
    return verdict_end(run.judge(verdict))


def previous_baseline(run: Run) -> Gen:
    """The newest successful baseline before this one, read through its report: {run_id, figures,
    message}; {message} when there is none yet; {error, message} when it cannot be read."""
    listed = yield from run.observe(names.STORAGE_LIST_REPORTS, {"operation": OPERATION})
    if "error" in listed:
        why = f"the previous baselines could not be listed: {listed['error']}"
        return {"error": why, "message": why}
    run_id = policy.previous_baseline(list(listed.get("reports") or []), run.run_id)
    if run_id is None:
        return {"message": "no previous baseline: this run records the first"}
    found = yield from run.observe(names.STORAGE_READ_REPORT, {"run_id": run_id})
    figures = ((found.get("report") or {}).get("measurements") or {}).get("baseline")
    if not isinstance(figures, dict):
        why = f"the previous baseline {run_id} could not be read: {found.get('error') or 'no figures'}"
        return {"error": why, "message": why}
    return {"run_id": run_id, "figures": figures, "message": f"the previous baseline is {run_id}"}
