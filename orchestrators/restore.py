"""The point-in-time restore plan (database corruption): validate, restore to a new server, check, switch.

The source is the primary found now (shared.backups.find_primary: observed, not the configured name; no
primary is a refusal with the policy's reason). Never restores over the source (safety rule 8). With
``switch``, the app moves to the restored server only when its integrity checks pass and, when the
setting asks for it, an operator approved; the old server is then stopped, never deleted. The report gives
the data-loss window (restore point to request).
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
    on_primary,
    record_primary,
    seconds_between,
)
from shared.config import Settings
from shared.models import parse_time

bp = df.Blueprint()


def restored_server_name(source: str, requested_at: str) -> str:
    """The new server a restore creates: named after its source and the moment of the request."""
    return derived_server_name(source, "pitr", parse_time(requested_at))


APPROVAL_EVENT = "approval"
VERIFY_ATTEMPTS = 24


@bp.function_name(names.RESTORE_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def restore_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """The registered orchestrator: runs :func:`restore_plan`."""
    return (yield from restore_plan(context))


def restore_plan(context: Any) -> Gen:
    """Input: {run_id, settings, restore_point, reason, switch, requested_at, trigger, [target_server]}."""
    inp: Json = context.get_input() or {}
    settings = Settings.from_dict(inp["settings"])
    rec = RunRecord(context, run_id=inp["run_id"], operation="restore", trigger=inp.get("trigger", {}))
    rec.measure(restore_point=inp["restore_point"], requested_at=inp["requested_at"])
    primary = yield from find_primary(context, settings)
    record_primary(rec, primary)
    if primary.action != "primary":
        yield from rec.notify("refused", f"restore not started: {primary.reason}", severity="warning")
        return (yield from rec.finish("refused", primary.reason))
    source = primary.primary
    target = inp.get("target_server") or restored_server_name(source, inp["requested_at"])
    rec.resource(target_server=target)
    yield from rec.save()
    yield from rec.notify(
        "started", f"restore of {source} to {inp['restore_point']}: {inp.get('reason', '')}"
    )
    try:
        return (yield from _restore(context, rec, settings, inp, (primary, target)))
    except Exception as exc:
        yield from rec.notify("step failed", f"restore failed: {exc}", severity="error", page=True)
        return (yield from rec.finish("failed", f"restore failed: {str(exc)[:300]}"))


def _restore(
    context: Any, rec: RunRecord, settings: Settings, inp: Json, servers: tuple[policy.PrimaryDecision, str]
) -> Gen:
    (primary, target), rg = servers, servers[0].primary_resource_group
    server = yield from rec.step("observe-source", names.DATABASE_GET_SERVER, on_primary(primary))
    check = _validate(context, settings, server, inp["restore_point"])
    rec.decide("validate", "valid" if check.valid else f"refuse:{check.rule}", check.reason)
    if not check.valid:
        yield from rec.notify("refused", check.reason, severity="warning")
        return (yield from rec.finish("refused", check.reason))
    payload = {
        "source": primary.primary,
        "source_resource_group": rg,
        "target": target,
        "resource_group": rg,
        "point_in_time": inp["restore_point"],
        "run_id": rec.run_id,
    }
    restored = yield from rec.step("restore", names.DATABASE_RESTORE_SERVER, payload)
    rec.resource(target_fqdn=restored.get("fqdn", ""))
    integrity = {
        "server": target,
        "resource_group": rg,
        "checks": integrity_checks(settings, inp["restore_point"]),
    }
    checks = yield from rec.step("integrity-checks", names.DATABASE_RUN_CHECKS, integrity)
    rec.report["checks"] = checks.get("checks", [])
    rec.measure(row_counts=checks.get("counts", {}))
    decision = yield from _decide_switch(context, rec, settings, inp, checks)
    if decision.action == policy.SWITCH_GO:
        yield from _switch(rec, settings, primary, target)
    return (yield from _finish(rec, inp, decision))


def integrity_checks(settings: Settings, point: str) -> Json:
    """Row counts of the critical tables, the configured SQL assertions, and two sentinel assertions:
    a sentinel (the backup watch writes one every tick) from before the point is there, none after it."""
    at = parse_time(point).isoformat()  # re-rendered from a parsed time: safe inside the SQL literal
    table = settings.sentinel_table  # validated as a table name by the settings
    sentinels = [
        {
            "name": "sentinel before the restore point present",
            "sql": f"select exists (select 1 from {table} where written_at <= timestamptz '{at}')",
        },
        {
            "name": "no sentinel after the restore point",
            "sql": f"select not exists (select 1 from {table} where written_at > timestamptz '{at}')",
        },
    ]
    return {"critical_tables": list(settings.critical_tables), "sql": [*settings.verify_sql, *sentinels]}


def _validate(context: Any, settings: Settings, server: Json, point: str) -> policy.RestorePointCheck:
    earliest = server.get("earliest_restore_point")
    window = policy.RestoreWindow(
        now=context.current_utc_datetime,
        earliest_restore_point=parse_time(earliest) if earliest else None,
        retention_days=int(server.get("backup_retention_days") or settings.backup_retention_days),
    )
    return policy.validate_restore_point(parse_time(point), window)


def _decide_switch(context: Any, rec: RunRecord, settings: Settings, inp: Json, checks: Json) -> Gen:
    failed = tuple(c["name"] for c in checks.get("checks", []) if not c.get("passed"))

    def decide(approval: str | None) -> policy.SwitchDecision:
        return policy.decide_restore_switch(
            checks_passed=bool(checks.get("passed")) and not failed,
            failed_checks=failed,
            switch_requested=bool(inp.get("switch")),
            approval_required=settings.restore_requires_approval,
            approval=approval,
        )

    decision = decide(None)
    rec.decide("switch", decision.action, decision.reason)
    if decision.action == policy.SWITCH_AWAIT_APPROVAL:
        yield from rec.save()
        yield from rec.notify("awaiting approval", decision.reason, severity="warning")
        rec.status("approval", decision.reason, awaiting="approval")
        answer = yield from _wait_for_approval(context, settings)
        decision = decide(answer)
        rec.decide("approval", decision.action, decision.reason)
    if decision.action == policy.SWITCH_REFUSE:
        yield from rec.notify("refused", decision.reason, severity="error")
    return decision


def _wait_for_approval(context: Any, settings: Settings) -> Gen:
    """'approved' or 'rejected'; no answer before the timeout counts as rejected (nothing changes)."""
    deadline = context.current_utc_datetime + timedelta(minutes=settings.approval_timeout_minutes)
    timer = context.create_timer(deadline)
    event = context.wait_for_external_event(APPROVAL_EVENT)
    winner = yield context.task_any([event, timer])
    if winner is not event:
        return "rejected"
    timer.cancel()
    body = event.result if isinstance(event.result, dict) else {"answer": event.result}
    return "approved" if str(body.get("answer", "")).lower() in ("approve", "approved") else "rejected"


def _switch(rec: RunRecord, settings: Settings, primary: policy.PrimaryDecision, target: str) -> Gen:
    """Point the secret at the restored server, restart the running app groups, verify, stop the source."""
    restored = {"server": target, "resource_group": primary.primary_resource_group}
    yield from rec.step("point-secret", names.SECRETS_POINT_DATABASE_URL, restored)
    for slot, group in settings.container_groups.items():
        state = yield from rec.step(f"observe-{slot}", names.CONTAINERS_GET_GROUP, {"group": group})
        if str(state.get("state", "")).lower() == "running":
            yield from rec.step(f"restart-{slot}", names.CONTAINERS_RESTART_GROUP, {"group": group})
    yield from _verify_public(rec, settings)
    yield from rec.step("stop-old-server", names.DATABASE_STOP_SERVER, on_primary(primary))
    source, replica = primary.primary, primary.replica
    rec.resource(old_server_state="stopped (kept, not deleted)", serving_server=target)
    if replica:
        rec.resource(replica_note=f"{replica} still follows {source}: rebuild the replica from {target}")


def _verify_public(rec: RunRecord, settings: Settings) -> Gen:
    """The app answers through the public endpoint, and so does its database check."""
    for name, path in (
        ("verify-health", settings.health_path),
        ("verify-database", settings.database_health_path),
    ):
        payload = {"url": settings.public_url + path, "expect_status": 200}
        probe = yield from rec.poll(name, names.PROBE_HTTP, payload, attempts=VERIFY_ATTEMPTS, interval=5.0)
        if not probe.get("ok"):
            raise RuntimeError(
                f"{name}: public endpoint {path} answered {probe.get('status')}: {probe.get('error')}"
            )


def _finish(rec: RunRecord, inp: Json, decision: policy.SwitchDecision) -> Gen:
    window = seconds_between(inp["restore_point"], inp["requested_at"])
    rec.measure(data_loss_window_seconds=window)
    status = {policy.SWITCH_GO: "succeeded", policy.SWITCH_KEEP: "succeeded"}.get(decision.action, "failed")
    what = "switched to" if decision.action == policy.SWITCH_GO else "restored into"
    checked = ", ".join(c["name"] for c in rec.report.get("checks", [])) or "none"
    summary = (
        f"{what} {rec.report['resources']['target_server']} at {inp['restore_point']}; "
        f"data-loss window {policy.describe_duration(timedelta(seconds=window))}; checked: {checked}; "
        f"{decision.reason}"
    )
    yield from rec.notify("completed" if status == "succeeded" else "failed", summary)
    return (yield from rec.finish(status, summary))
