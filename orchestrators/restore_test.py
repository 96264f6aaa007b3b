"""The restore test: restore the primary to a scratch server at a known point, check the data, tear down.

The source is the primary found now (shared.estate.find_primary; no primary is a refusal that pages). Two
sentinel rows bracket the restore point: the one written before it must be in the restored data, the
one written after it must not. The critical tables must hold at least the rows counted on the source
just before the first sentinel, and the configured SQL assertions must hold. Time-to-restore and the
achieved point are recorded; the scratch server is deleted and verified gone. A failed check or a
leftover server fails the test and pages.

Input: {run_id, settings, trigger, [scratch_server]}.
"""

from __future__ import annotations

from collections.abc import Callable

import azure.durable_functions as df

from orchestrators.steps import verdict_end
from orchestrators.toolkit import Gen, Json, Run, StepFailed
from shared import names, policy
from shared.models import parse_time, seconds_between
from shared.naming import derived_server_name, stamp

bp = df.Blueprint()

SENTINEL_GAP_SECONDS = 2.0


@bp.function_name(names.RESTORE_TEST_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def restore_test_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Prove the backups restore, with data checks; returns the run's outcome with its verdict."""
    return (yield from Run(context, "restore-test").execute(restore_test_plan, announce_start=False))


def restore_test_plan(run: Run) -> Gen:
    primary = yield from run.require_primary(page=True)
    scratch = str(run.input.get("scratch_server") or derived_server_name(primary.server, "rt", run.now()))
    return verdict_end(run.judge((yield from run_restore_test(run, scratch, primary))))


def run_restore_test(
    run: Run, scratch: str, primary: policy.Primary, *, proceed: Callable[[str], bool] = lambda _: True
) -> Gen:
    """Every step of a restore test of ``primary`` (the server found now) into ``scratch`` (in the
    primary's resource group), recorded on ``run``; returns the policy's Verdict. Always tears down.
    ``proceed(where)`` is asked before the restore and before the checks: False skips the rest (a drill
    preempted by a failover), and the teardown still runs."""
    run.resource(source_server=primary.server, scratch_server=scratch)
    evidence: Json = {"restore_error": None, "checks": [], "before": None, "after_absent": None}
    try:
        yield from restore_and_check(run, primary, scratch, evidence, proceed)
    except StepFailed as failed:
        evidence["restore_error"] = evidence["restore_error"] or failed.error[:300]
    where = {"resource_group": primary.resource_group}
    teardown = yield from run.teardown("server", scratch, step="scratch", where=where)
    run.measure(scratch_teardown_verified=teardown)
    checks = tuple(
        policy.CheckOutcome(str(c.get("name", "")), bool(c.get("passed")), str(c.get("detail", "")))
        for c in evidence["checks"]
    )
    return policy.restore_test_verdict(
        policy.RestoreTestEvidence(
            restore_error=evidence["restore_error"],
            checks=checks,
            sentinel_before_present=evidence["before"],
            sentinel_after_absent=evidence["after_absent"],
            teardown_verified=teardown,
            restore_seconds=run.record.measurements.get("restore_seconds"),
            restore_objective_seconds=run.settings.rto_tier1_minutes * 60.0,
        )
    )


def restore_and_check(
    run: Run, primary: policy.Primary, scratch: str, evidence: Json, proceed: Callable[[str], bool]
) -> Gen:
    settings, rg, tag = run.settings, primary.resource_group, stamp(run.now())
    before_name, after_name = f"restore-test-{tag}-before", f"restore-test-{tag}-after"
    tables = {"critical_tables": list(settings.critical_tables), "sql": []}
    counted = yield from run.step(
        "source-counts", run.act(names.DATABASE_RUN_CHECKS, primary.address(checks=tables))
    )
    run.measure(source_row_counts=counted.get("counts", {}))
    write = names.DATABASE_WRITE_SENTINEL
    before = yield from run.step("sentinel-before", run.act(write, primary.address(name=before_name)))
    yield from run.pause(SENTINEL_GAP_SECONDS)
    after = yield from run.step("sentinel-after", run.act(write, primary.address(name=after_name)))
    if not proceed("sentinel-after"):
        return
    point = policy.restore_test_point(parse_time(before["written_at"]), parse_time(after["written_at"]))
    run.decide(
        "restore-point",
        policy.Decision("restore", f"restoring to {point.isoformat()}, between the two sentinels"),
    )
    payload = {
        "source": primary.server,
        "source_resource_group": rg,
        "target": scratch,
        "resource_group": rg,
        "point_in_time": point.isoformat(),
        "run_id": run.run_id,
    }
    try:
        restore = run.act_long(names.DATABASE_RESTORE_SERVER, payload, deadline_seconds=run.create_deadline)
        restored = yield from run.step("restore", restore)
    except StepFailed as failed:
        evidence["restore_error"] = failed.error[:300]
        return
    step = run.record.step_named("restore") or {}
    run.measure(
        restore_seconds=seconds_between(step.get("started_at", ""), step.get("ended_at", "")),
        requested_restore_point=point.isoformat(),
        achieved_restore_point=restored.get("point_in_time") or point.isoformat(),
    )
    yield from run.save()  # the timeline so far, while the checks and the teardown run
    if not proceed("restore"):
        return
    checks = {
        "critical_tables": list(settings.critical_tables),
        # every row counted on the source before the first sentinel was committed before the point
        "min_counts": dict(counted.get("counts", {})),
        "sentinels_present": [before_name],
        "sentinels_absent": [after_name],
        "sql": list(settings.verify_sql),
    }
    target = {"server": scratch, "resource_group": rg, "checks": checks}
    result = yield from run.step("data-checks", run.act(names.DATABASE_RUN_CHECKS, target))
    evidence["checks"] = list(result.get("checks", []))
    evidence["before"] = sentinel_result(evidence["checks"], before_name)
    evidence["after_absent"] = sentinel_result(evidence["checks"], after_name)
    run.record.checks = list(evidence["checks"])
    run.measure(row_counts=result.get("counts", {}))


def sentinel_result(checks: list[Json], sentinel: str) -> bool | None:
    """The outcome of the check that names this sentinel, or None when no check did."""
    found = [c for c in checks if sentinel in str(c.get("name", "")) or sentinel in str(c.get("detail", ""))]
    return all(bool(c.get("passed")) for c in found) if found else None
