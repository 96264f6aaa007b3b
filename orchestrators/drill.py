"""Drills in practice mode as a Durable orchestration: database, region and complete, with evidence.

Every drill acts on the primary found now (shared.backups.find_primary: observed, not the configured
name; no primary is a refusal with the policy's reason), and "the DR region" is the region it is not in.
Practice mode never moves production traffic: the database drill is a restore test; the region drill
creates a drill-only replica, promotes it, points a drill-only Key Vault secret at it, brings up a
drill-only container group that reads that secret, verifies it with a real write read back from the
replica, and tears all three down (the drill secret is overwritten with an empty value); the complete
drill runs both and checks Front Door (route and DR origin group) without switching, and, while the
drill group is up, sends a request through Front Door to it: a drill-only origin group (the drill group
as its one origin) and a drill-only route on ``/drill/*`` (prefix rewritten to ``/``) are created, then
``<public url>/drill<health path>`` must answer 200 (it must not before the drill route exists: the
production route does not serve that path), and both are deleted and read back as gone. Classic Front
Door has no separate routes to add: there this step is skipped with that reason. The evidence
report (what ran, RTO and RPO against objectives, teardown verified) is kept under the compliance
retention (7 years by default).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from orchestrators.restore_test import run_restore_test
from shared import names, policy
from shared.backups import (
    Gen,
    Json,
    RunRecord,
    derived_server_name,
    find_primary,
    record_primary,
    seconds_between,
    stamp,
    teardown,
)
from shared.config import Settings

bp = df.Blueprint()

SCENARIOS = ("restore", "database", "region", "complete")
VERIFY_ATTEMPTS = 24
WRITE_ATTEMPTS = 6
WORKLOAD_TABLE = "intents"  # where POST /api/v1/intents writes
DRILL_PATTERN = "/drill/*"  # the drill route's pattern; production's route keeps /*


def drill_secret_name(settings: Settings) -> str:
    """The drill-only database secret: never the production one."""
    return f"{settings.database_secret_name}-drill"


@bp.function_name(names.DRILL_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def drill_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """The registered orchestrator: runs :func:`drill_plan`."""
    return (yield from drill_plan(context))


def drill_plan(context: Any) -> Gen:
    """Input: {run_id, settings, scenario, trigger}. Returns the evidence report."""
    inp: Json = context.get_input() or {}
    settings = Settings.from_dict(inp["settings"])
    scenario = inp["scenario"]
    rec = RunRecord(
        context, run_id=inp["run_id"], operation=f"drill-{scenario}", trigger=inp.get("trigger", {})
    )
    rec.retain_years, rec.archive = settings.compliance_retention_years, True
    rec.report["retention"] = f"{settings.compliance_retention_years} years (compliance record)"
    yield from rec.save()
    yield from rec.notify("started", f"{scenario} drill in practice mode; production traffic is not moved")
    primary = yield from find_primary(context, settings)
    record_primary(rec, primary)
    if primary.action != "primary":
        yield from rec.notify("refused", f"drill not run: {primary.reason}", severity="error", page=True)
        return (yield from rec.finish("refused", primary.reason))
    evidence: Json = {"rto": [], "rpo": [], "teardown": [], "failed": []}
    if scenario in ("restore", "database", "complete"):
        yield from _database_drill(context, rec, settings, evidence, primary)
    if scenario in ("region", "complete"):
        yield from _region_drill(context, rec, settings, evidence, primary, scenario == "complete")
    if scenario == "complete":
        yield from _frontdoor_check(rec, settings, evidence)
    return (yield from _finish(rec, settings, evidence))


def _database_drill(
    context: Any, rec: RunRecord, settings: Settings, evidence: Json, primary: policy.PrimaryDecision
) -> Gen:
    scratch = derived_server_name(primary.primary, "drill", context.current_utc_datetime)
    verdict = yield from run_restore_test(context, rec, settings, scratch, primary)
    if not verdict.passed:
        evidence["failed"].append("database: " + "; ".join(verdict.reasons))
    m = rec.report["measurements"]
    restore_step = next((s for s in rec.report["steps"] if s["name"] == "restore"), None)
    if "restore_seconds" in m and restore_step is not None:
        evidence["rto"].append(m["restore_seconds"])
        # data between the restore point and the moment the restore began would be lost
        lost = seconds_between(m["requested_restore_point"], restore_step["started_at"])
        evidence["rpo"].append(max(0.0, lost) if verdict.passed else None)
    evidence["teardown"].append(bool(m.get("scratch_teardown_verified")))


def dr_side(settings: Settings, primary: policy.PrimaryDecision) -> tuple[str, str]:
    """(resource group, region) of the DR side: the one the primary is not in now."""
    if primary.primary_resource_group == settings.secondary_resource_group:
        return settings.primary_resource_group, settings.primary_region
    return settings.secondary_resource_group, settings.secondary_region


def _region_drill(
    context: Any,
    rec: RunRecord,
    settings: Settings,
    evidence: Json,
    primary: policy.PrimaryDecision,
    frontdoor: bool = False,
) -> Gen:
    """Drill-only replica in the DR region, promoted; a drill-only container group on it (with
    `frontdoor`, reached through a drill-only Front Door path); all removed."""
    tag = stamp(context.current_utc_datetime)
    replica = derived_server_name(primary.primary, "drill", context.current_utc_datetime) + "-r"
    group = f"{settings.container_group_standby[:40]}-drill-{tag}"
    rg, region = dr_side(settings, primary)
    where = {"resource_group": rg}
    secret = drill_secret_name(settings)
    rec.resource(drill_replica=replica, drill_group=group, drill_region=region, drill_secret=secret)
    base = ""
    try:
        base = yield from _bring_up_region(
            rec, settings, (primary, region), (replica, group), where, evidence
        )
    except Exception as exc:
        evidence["failed"].append(f"region: {str(exc)[:300]}")
    if frontdoor:
        yield from _frontdoor_drill_path(rec, settings, evidence, tag, base)
    gone_group = yield from teardown(context, rec, "group", group, step="drill-group", where=where)
    cleared = yield from _clear_drill_secret(rec, secret)
    gone_server = yield from teardown(context, rec, "server", replica, step="drill-replica", where=where)
    evidence["teardown"].append(gone_group and gone_server and cleared)


def _clear_drill_secret(rec: RunRecord, secret: str) -> Gen:
    """Overwrite the drill secret with an empty value; False when that failed."""
    try:
        result = yield from rec.step("clear-drill-secret", names.SECRETS_CLEAR, {"secret_name": secret})
    except Exception:
        return False
    return bool(result.get("cleared"))


def _bring_up_region(
    rec: RunRecord,
    settings: Settings,
    source: tuple[policy.PrimaryDecision, str],
    made: tuple[str, str],
    where: Json,
    evidence: Json,
) -> Gen:
    (primary, region), (replica, group) = source, made
    create = {"source": primary.primary, "source_resource_group": primary.primary_resource_group}
    create.update(target=replica, run_id=rec.run_id, location=region, **where)
    yield from rec.step("create-drill-replica", names.DATABASE_CREATE_REPLICA, create)
    lag = yield from rec.step(
        "drill-replica-lag", names.DATABASE_GET_REPLICATION_LAG, {"server": replica, **where}
    )
    started = rec.now()
    promote = {"server": replica, "mode": "planned", "operation": "standalone", **where}
    yield from rec.step("promote-drill-replica", names.DATABASE_PROMOTE_REPLICA, promote)
    secret = drill_secret_name(settings)
    point = {"server": replica, "secret_name": secret, **where}
    yield from rec.step("point-drill-secret", names.SECRETS_POINT_DATABASE_URL, point)
    standby = yield from rec.step(
        "observe-standby", names.CONTAINERS_GET_GROUP, {"group": settings.container_group_standby}
    )
    ensure = {"group": group, "image": standby.get("image", ""), "run_id": rec.run_id, **where}
    ensure.update(location=region, port=settings.container_port)
    ensure["environment"] = {"DATABASE_SECRET_NAME": secret}
    up = yield from rec.step("drill-group", names.CONTAINERS_ENSURE_GROUP, ensure)
    base = str(up.get("url") or "").rstrip("/")
    probe = yield from rec.poll(
        "verify-drill-group",
        names.PROBE_HTTP,
        {"url": base + settings.health_path},
        attempts=VERIFY_ATTEMPTS,
        interval=5.0,
    )
    if not probe.get("ok"):
        raise RuntimeError(f"drill group {group} did not answer {settings.health_path}: {probe.get('error')}")
    yield from _verify_write(rec, base, (replica, where), f"continuity drill {rec.run_id}")
    evidence["rto"].append(seconds_between(started, rec.now()))
    evidence["rpo"].append(lag.get("lag_seconds"))
    return base


def _verify_write(rec: RunRecord, base: str, on: tuple[str, Json], marker: str) -> Gen:
    """A write through the drill group's own API, then read back from the drill replica itself."""
    replica, where = on
    write: Json = {"url": base + "/api/v1/intents", "method": "POST", "json": {"text": marker}}
    write["expect_status"] = 201
    wrote = yield from rec.poll("drill-write", names.PROBE_HTTP, write, attempts=WRITE_ATTEMPTS, interval=5.0)
    if not wrote.get("ok"):
        why = f"{wrote.get('status')} {wrote.get('error')}"
        raise RuntimeError(f"write through the drill group failed: {why}")
    literal = "'" + marker.replace("'", "''") + "'"
    sql = f"SELECT EXISTS (SELECT 1 FROM {WORKLOAD_TABLE} WHERE text = {literal})"
    checks = {"critical_tables": [], "sql": [{"name": "drill-write-on-replica", "sql": sql}]}
    read = yield from rec.step(
        "drill-read-back", names.DATABASE_RUN_CHECKS, {"server": replica, "checks": checks, **where}
    )
    if not read.get("passed"):
        raise RuntimeError(f"the drill write is not on the drill replica {replica}")
    rec.measure(drill_write_verified_on=replica)


def _frontdoor_drill_path(rec: RunRecord, settings: Settings, evidence: Json, tag: str, base: str) -> Gen:
    """Through Front Door to the drill group on a drill-only route and origin group, then remove both
    (always: a half-made path is deleted too; its names come from the drill's tag)."""
    if not base:
        evidence["failed"].append("frontdoor drill path: not checked, the drill group did not come up")
        return
    try:
        yield from _through_drill_path(rec, settings, tag, base)
    except Exception as exc:
        evidence["failed"].append(f"frontdoor drill path: {str(exc)[:300]}")
    evidence["teardown"].append((yield from _delete_drill_path(rec, tag)))


def _through_drill_path(rec: RunRecord, settings: Settings, tag: str, base: str) -> Gen:
    url = settings.public_url.rstrip("/") + DRILL_PATTERN[:-2] + settings.health_path
    before = yield from rec.step("frontdoor-drill-before", names.PROBE_HTTP, {"url": url})
    if before.get("ok"):
        raise RuntimeError(f"{url} answers 200 before the drill route exists: the check cannot tell")
    path = {"tag": tag, "url": base, "pattern": DRILL_PATTERN}
    made = yield from rec.step("frontdoor-drill-path", names.TRAFFIC_CREATE_DRILL_PATH, path)
    rec.resource(drill_route=made.get("route"), drill_origin_group=made.get("origin_group"))
    if not made.get("supported", True):
        rec.measure(frontdoor_drill_path=f"skipped: {made.get('reason')}")
        return
    served = yield from rec.poll(
        "frontdoor-drill-probe", names.PROBE_HTTP, {"url": url}, attempts=VERIFY_ATTEMPTS, interval=5.0
    )
    if not served.get("ok"):
        raise RuntimeError(f"{url} through the drill route answered {served.get('status')}")
    rec.measure(frontdoor_drill_path="served", frontdoor_drill_served_by=made.get("origin_group"))


def _delete_drill_path(rec: RunRecord, tag: str) -> Gen:
    """Delete the drill route and origin group of `tag`; True only when they are read back as gone."""
    try:
        result = yield from rec.step(
            "frontdoor-drill-teardown", names.TRAFFIC_DELETE_DRILL_PATH, {"tag": tag}
        )
    except Exception:
        return False
    rec.measure(frontdoor_drill_teardown_verified=bool(result.get("gone")))
    return bool(result.get("gone"))


def _frontdoor_check(rec: RunRecord, settings: Settings, evidence: Json) -> Gen:
    """Front Door answers and the DR origin group is known, without switching any traffic."""
    try:
        route = yield from rec.step("frontdoor-route", names.TRAFFIC_GET_ROUTE, {})
        dr = settings.frontdoor_origin_group_standby
        origins = yield from rec.step(
            "frontdoor-dr-origins", names.TRAFFIC_LIST_HEALTHY_ORIGINS, {"origin_group": dr}
        )
        probe = yield from rec.step(
            "frontdoor-public", names.PROBE_HTTP, {"url": settings.public_url + settings.health_path}
        )
        rec.measure(
            frontdoor_route_origin_group=route.get("origin_group"),
            dr_healthy_origins=origins.get("healthy_count"),
        )
        if not probe.get("ok"):
            evidence["failed"].append(f"frontdoor: public endpoint answered {probe.get('status')}")
    except Exception as exc:
        evidence["failed"].append(f"frontdoor: {str(exc)[:300]}")


def _finish(rec: RunRecord, settings: Settings, evidence: Json) -> Gen:
    rto = max((x for x in evidence["rto"] if x is not None), default=None)
    rpos = evidence["rpo"]
    rpo = None if not rpos or any(x is None for x in rpos) else max(rpos)
    teardown_ok = all(evidence["teardown"]) if evidence["teardown"] else None
    verdict = policy.drill_verdict(
        policy.DrillEvidence(
            failed_steps=tuple(evidence["failed"]),
            rto_seconds=rto,
            rto_objective_seconds=settings.rto_tier1_minutes * 60.0,
            rpo_seconds=rpo,
            rpo_objective_seconds=settings.rpo_minutes * 60.0,
            teardown_verified=teardown_ok,
        )
    )
    rec.measure(drill_rto_seconds=rto, drill_rpo_seconds=rpo, teardown_verified=teardown_ok)
    rec.measure(
        rto_objective_seconds=settings.rto_tier1_minutes * 60.0,
        rpo_objective_seconds=settings.rpo_minutes * 60.0,
    )
    rec.report["verdict"] = {"passed": verdict.passed, "reasons": list(verdict.reasons)}
    summary = "; ".join(verdict.reasons)
    if verdict.passed:
        yield from rec.notify("completed", f"drill passed: {summary}")
        return (yield from rec.finish("succeeded", summary))
    yield from rec.notify("failed", f"drill failed: {summary}", severity="error", page=True)
    return (yield from rec.finish("failed", summary))
