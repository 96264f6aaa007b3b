"""The point-in-time restore plan (database corruption): validate, restore to a new server, check, switch.

The source is the primary found now (shared.estate.find_primary: observed, not the configured name; no
primary is a refusal with the policy's reason). Never restores over the source (safety rule 8). With
``switch``, the app moves to the restored server only when its integrity checks pass and, when the
setting asks for it, an operator approved; the old server is then stopped, never deleted. The report gives
the data-loss window (restore point to request).

Input: {run_id, settings, restore_point, reason, switch, requested_at, trigger, [target_server]}.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from orchestrators.steps import await_probe
from orchestrators.toolkit import (
    AWAITING_APPROVAL,
    COMPLETED,
    FAILED,
    POWER_DEADLINE_SECONDS,
    REFUSED,
    End,
    Gen,
    Json,
    Run,
)
from shared import names, policy
from shared.config import Settings
from shared.models import parse_time, seconds_between
from shared.naming import derived_server_name

bp = df.Blueprint()

VERIFY_ATTEMPTS, VERIFY_INTERVAL_SECONDS = 24, 5.0


def restored_server_name(source: str, requested_at: str) -> str:
    """The new server a restore creates: named after its source and the moment of the request."""
    return derived_server_name(source, "pitr", parse_time(requested_at))


@bp.function_name(names.RESTORE_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def restore_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Restore the primary to a point in time; returns the run's outcome."""
    return (yield from Run(context, "restore").execute(restore_plan, announce_start=False))


def restore_plan(run: Run) -> Gen:
    point, requested_at = str(run.input["restore_point"]), str(run.input["requested_at"])
    run.measure(restore_point=point, requested_at=requested_at)
    primary = yield from run.require_primary(page=False)
    target = str(run.input.get("target_server") or restored_server_name(primary.server, requested_at))
    run.resource(source_server=primary.server, replica_server=primary.replica or None, target_server=target)
    run.watched = [
        ("source_server", (names.DATABASE_GET_SERVER, primary.address())),
        ("target_server", (names.DATABASE_GET_SERVER, {**primary.address(), "server": target})),
    ]
    yield from run.announce(
        "started", f"restore of {primary.server} to {point}: {run.input.get('reason', '')}"
    )
    server = yield from run.step("observe-source", run.act(names.DATABASE_GET_SERVER, primary.address()))
    check = run.decide(
        "validate",
        policy.validate_restore_point(parse_time(point), restore_window(server, run.settings, run.now())),
    )
    if not check.is_(policy.POINT_VALID):
        run.stop("refused", check.reason, event=REFUSED)
    rg = primary.resource_group
    payload = {
        "source": primary.server,
        "source_resource_group": rg,
        "target": target,
        "resource_group": rg,
        "point_in_time": point,
        "run_id": run.run_id,
    }
    restore = run.act_long(names.DATABASE_RESTORE_SERVER, payload, deadline_seconds=run.create_deadline)
    restored = yield from run.step("restore", restore)
    run.resource(target_fqdn=restored.get("fqdn", ""))
    integrity = {"server": target, "resource_group": rg, "checks": integrity_checks(run.settings, point)}
    checks = yield from run.step("integrity-checks", run.act(names.DATABASE_RUN_CHECKS, integrity))
    run.record.checks = list(checks.get("checks", []))
    run.measure(row_counts=checks.get("counts", {}))
    decision = yield from decide_switch(run, checks)
    if decision.is_(policy.SWITCH_GO):
        yield from switch(run, primary, target)
    return ending(run, point, requested_at, decision)


def restore_window(server: Json, settings: Settings, now: datetime) -> policy.RestoreWindow:
    """What the source server (a DATABASE_GET_SERVER snapshot) can be restored to, seen at ``now``."""
    earliest = server.get("earliest_restore_point")
    return policy.RestoreWindow(
        now=now,
        earliest_restore_point=parse_time(str(earliest)) if earliest else None,
        retention_days=int(server.get("backup_retention_days") or settings.backup_retention_days),
    )


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


def decide_switch(run: Run, checks: Json) -> Gen:
    failed = tuple(c["name"] for c in checks.get("checks", []) if not c.get("passed"))

    def decide(approval: str | None) -> Any:
        return policy.decide_restore_switch(
            checks_passed=bool(checks.get("passed")) and not failed,
            failed_checks=failed,
            switch_requested=bool(run.input.get("switch")),
            approval_required=run.settings.restore_requires_approval,
            approval=approval,
        )

    decision = run.decide("switch", decide(None))
    if decision.is_(policy.SWITCH_AWAIT_APPROVAL):
        answer = yield from run.step("approval", await_answer(run, decision))
        decision = run.decide("approval", decide(answer))
    return decision


def await_answer(run: Run, gate: Any) -> Gen:
    """approved, rejected, or timed-out (nobody answered: nothing changes)."""
    timeout = run.settings.approval_timeout_minutes * 60
    run.set_awaiting("approval", timeout)
    yield from run.announce(AWAITING_APPROVAL, gate.reason)
    answer = yield from run.wait_for_events(timeout)
    run.set_awaiting("")
    if answer is None:
        return "timed-out"
    return "approved" if answer.is_("proceed") else "rejected"


def switch(run: Run, primary: policy.Primary, target: str) -> Gen:
    """Point the secret at the restored server, restart the running app groups, verify, stop the source."""
    restored = {"server": target, "resource_group": primary.resource_group}
    yield from run.step("point-secret", run.act(names.SECRETS_POINT_DATABASE_URL, restored))
    for slot, group in run.settings.container_groups.items():
        state = yield from run.step(f"observe-{slot}", run.act(names.CONTAINERS_GET_GROUP, {"group": group}))
        if str(state.get("state", "")).lower() == "running":
            yield from run.step(f"restart-{slot}", run.act(names.CONTAINERS_RESTART_GROUP, {"group": group}))
    run.traffic_moved = True  # the app now reads the restored server
    for name, path in (
        ("verify-health", run.settings.health_path),
        ("verify-database", run.settings.database_health_path),
    ):
        probe = {"url": run.settings.public_url + path, "expect_status": 200}
        failure = f"public endpoint {path} answered"
        checked = await_probe(
            run, probe, attempts=VERIFY_ATTEMPTS, interval=VERIFY_INTERVAL_SECONDS, failure=failure
        )
        yield from run.step(name, checked)
    stop = run.act_long(
        names.DATABASE_STOP_SERVER, primary.address(), deadline_seconds=POWER_DEADLINE_SECONDS
    )
    yield from run.step("stop-old-server", stop)
    run.resource(old_server_state="stopped (kept, not deleted)", serving_server=target)
    if primary.replica:
        note = f"{primary.replica} still follows {primary.server}: rebuild the replica from {target}"
        run.resource(replica_note=note)


def ending(run: Run, point: str, requested_at: str, decision: Any) -> End:
    window = seconds_between(point, requested_at) or 0.0
    run.measure(data_loss_window_seconds=window)
    went = decision.is_(policy.SWITCH_GO)
    succeeded = went or decision.is_(policy.SWITCH_KEEP)
    checked = ", ".join(c["name"] for c in run.record.checks) or "none"
    summary = (
        f"{'switched to' if went else 'restored into'} {run.record.resources['target_server']} at {point}; "
        f"data-loss window {policy.describe_duration(timedelta(seconds=window))}; checked: {checked}; "
        f"{decision.reason}"
    )
    return End("succeeded" if succeeded else "failed", summary, COMPLETED if succeeded else FAILED)
