"""The restore test as a Durable orchestration: restore to a scratch server, check the data, tear down.

The source is the primary found now (shared.backups.find_primary: observed, not the configured name;
no primary is a refusal with the policy's reason). Two sentinel rows bracket the restore point: the one
written before it must be in the restored data, the one written after it must not. The critical tables
must hold at least the rows counted on the source just before the first sentinel, and the configured SQL
assertions must hold. Time-to-restore and the
achieved point are recorded; the scratch server is deleted and verified gone. A failed check or a
leftover server fails the test and notifies.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from shared import names, policy
from shared.backups import (
    Gen,
    Json,
    RunRecord,
    derived_server_name,
    find_primary,
    iso,
    on_primary,
    record_primary,
    seconds_between,
    stamp,
    teardown,
)
from shared.config import Settings
from shared.models import parse_time

bp = df.Blueprint()

SENTINEL_GAP_SECONDS = 2.0


@bp.function_name(names.RESTORE_TEST_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def restore_test_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """The registered orchestrator: runs :func:`restore_test_plan`."""
    return (yield from restore_test_plan(context))


def restore_test_plan(context: Any) -> Gen:
    """Input: {run_id, settings, trigger, [scratch_server]}. Returns the report with its verdict."""
    inp: Json = context.get_input() or {}
    settings = Settings.from_dict(inp["settings"])
    rec = RunRecord(context, run_id=inp["run_id"], operation="restore-test", trigger=inp.get("trigger", {}))
    rec.archive = True  # one report per day is kept, not only the latest
    primary = yield from find_primary(context, settings)
    record_primary(rec, primary)
    if primary.action != "primary":
        yield from rec.notify(
            "refused", f"restore test not run: {primary.reason}", severity="error", page=True
        )
        return (yield from rec.finish("refused", primary.reason))
    scratch = inp.get("scratch_server") or derived_server_name(
        primary.primary, "rt", context.current_utc_datetime
    )
    verdict = yield from run_restore_test(context, rec, settings, scratch, primary)
    return (yield from finish_restore_test(rec, verdict))


def finish_restore_test(rec: RunRecord, verdict: policy.Verdict) -> Gen:
    """Record the verdict; notify (and page) on failure."""
    rec.report["verdict"] = {"passed": verdict.passed, "reasons": list(verdict.reasons)}
    summary = "; ".join(verdict.reasons)
    if not verdict.passed:
        yield from rec.notify("failed", f"restore test failed: {summary}", severity="error", page=True)
        return (yield from rec.finish("failed", summary))
    yield from rec.notify("completed", f"restore test passed: {summary}")
    return (yield from rec.finish("succeeded", summary))


def run_restore_test(
    context: Any, rec: RunRecord, settings: Settings, scratch: str, primary: policy.PrimaryDecision
) -> Gen:
    """Every step of a restore test of ``primary`` (the server found now), recorded on ``rec``; returns the
    policy verdict. The scratch server goes in the primary's resource group. Always tears down."""
    rec.resource(source_server=primary.primary, scratch_server=scratch)
    evidence: Json = {
        "restore_error": None,
        "checks": [],
        "before": None,
        "after_absent": None,
        "teardown": None,
    }
    try:
        yield from _restore_and_check(context, rec, settings, (primary, scratch), evidence)
    except Exception as exc:
        evidence["restore_error"] = evidence["restore_error"] or str(exc)[:300]
    where = {"resource_group": primary.primary_resource_group}
    evidence["teardown"] = yield from teardown(context, rec, "server", scratch, step="scratch", where=where)
    rec.measure(scratch_teardown_verified=evidence["teardown"])
    verdict = policy.restore_test_verdict(_evidence(evidence, rec, settings))
    rec.decide("verdict", "pass" if verdict.passed else "fail", "; ".join(verdict.reasons))
    return verdict


def _restore_and_check(
    context: Any,
    rec: RunRecord,
    settings: Settings,
    servers: tuple[policy.PrimaryDecision, str],
    evidence: Json,
) -> Gen:
    (primary, scratch), rg = servers, servers[0].primary_resource_group
    run, tag = rec.run_id, stamp(context.current_utc_datetime)
    before_name, after_name = f"restore-test-{tag}-before", f"restore-test-{tag}-after"
    tables = {"critical_tables": list(settings.critical_tables), "sql": []}
    counted = yield from rec.step(
        "source-counts", names.DATABASE_RUN_CHECKS, on_primary(primary, checks=tables)
    )
    rec.measure(source_row_counts=counted.get("counts", {}))
    write = names.DATABASE_WRITE_SENTINEL
    before = yield from rec.step("sentinel-before", write, on_primary(primary, name=before_name))
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=SENTINEL_GAP_SECONDS))
    after = yield from rec.step("sentinel-after", write, on_primary(primary, name=after_name))
    point = policy.restore_test_point(parse_time(before["written_at"]), parse_time(after["written_at"]))
    rec.decide("restore-point", "restore", f"restoring to {iso(point)}, between the two sentinels")
    payload = {
        "source": primary.primary,
        "source_resource_group": rg,
        "target": scratch,
        "resource_group": rg,
        "point_in_time": iso(point),
        "run_id": run,
    }
    try:
        restored = yield from rec.step("restore", names.DATABASE_RESTORE_SERVER, payload)
    except Exception as exc:
        evidence["restore_error"] = str(exc)[:300]
        return
    step = rec.report["steps"][-1]
    rec.measure(
        restore_seconds=seconds_between(step["started_at"], step["ended_at"]),
        requested_restore_point=iso(point),
        achieved_restore_point=restored.get("point_in_time") or iso(point),
    )
    yield from rec.save()  # the timeline so far, while the checks and the teardown run
    checks = {
        "critical_tables": list(settings.critical_tables),
        # every row counted on the source before the first sentinel was committed before the point
        "min_counts": dict(counted.get("counts", {})),
        "sentinels_present": [before_name],
        "sentinels_absent": [after_name],
        "sql": list(settings.verify_sql),
    }
    result = yield from rec.step(
        "data-checks", names.DATABASE_RUN_CHECKS, {"server": scratch, "resource_group": rg, "checks": checks}
    )
    evidence["checks"] = result.get("checks", [])
    evidence["before"] = _sentinel_result(evidence["checks"], before_name)
    evidence["after_absent"] = _sentinel_result(evidence["checks"], after_name)
    rec.report["checks"] = evidence["checks"]
    rec.measure(row_counts=result.get("counts", {}))


def _sentinel_result(checks: list[Json], sentinel: str) -> bool | None:
    """The outcome of the check that names this sentinel, or None when no check did."""
    found = [c for c in checks if sentinel in str(c.get("name", "")) or sentinel in str(c.get("detail", ""))]
    return all(bool(c.get("passed")) for c in found) if found else None


def _evidence(raw: Json, rec: RunRecord, settings: Settings) -> policy.RestoreTestEvidence:
    outcomes = tuple(
        policy.CheckOutcome(str(c.get("name", "")), bool(c.get("passed")), str(c.get("detail", "")))
        for c in raw["checks"]
    )
    return policy.RestoreTestEvidence(
        restore_error=raw["restore_error"],
        checks=outcomes,
        sentinel_before_present=raw["before"],
        sentinel_after_absent=raw["after_absent"],
        teardown_verified=raw["teardown"],
        restore_seconds=rec.report["measurements"].get("restore_seconds"),
        restore_objective_seconds=settings.rto_tier1_minutes * 60.0,
    )
