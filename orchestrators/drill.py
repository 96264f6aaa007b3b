"""Drills in practice mode: database, region and complete, with evidence kept as a compliance record.

Every drill acts on the primary found now (shared.estate.find_primary; no primary is a refusal that
pages), and "the DR region" is the region it is not in. Practice mode never moves production traffic:
the database drill is a restore test; the region drill creates a drill-only replica, promotes it, points
a drill-only Key Vault secret at it, brings up a drill-only container group that reads that secret,
verifies it with a real write read back from the replica, and tears all three down (the drill secret is
overwritten with an empty value); the complete drill runs both and checks Front Door (route and DR
origin group) without switching, and, while the drill group is up, sends a request through Front Door to
it: a drill-only origin group (the drill group its one origin) and a drill-only route on ``/drill/*``
(prefix rewritten to ``/``) are created, then ``<public url>/drill<health path>`` must answer 200 (it must
not before the drill route exists: the production route does not serve that path), and both are deleted
and read back as gone. Classic Front Door has no separate routes to add: there this step is skipped with
that reason. The evidence report (what ran, RTO and RPO against objectives, teardown verified) is kept
under the compliance retention (7 years by default).

A failover queued behind a drill (an outage alert while it holds the lock, rule 12) stops it at its
next checkpoint, between steps: it builds nothing more, tears down what it made (drill resources are
never left behind for the failover to step around), and ends ``preempted``, paging only when a drill
resource could not be verified gone.

The security drill is the exception: it rotates the production database credential (alternating login
roles, the app moved to the idle slot with the new credential, the old one revoked; see
orchestrators/credential_rotation.py) and records the tabletop checklist beside what it proved.

Input: {run_id, settings, scenario: restore|database|region|complete|security, trigger}.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import azure.durable_functions as df

from orchestrators import deploy_steps, tiers
from orchestrators.credential_rotation import rotate_credential
from orchestrators.restore_test import run_restore_test
from orchestrators.steps import await_probe, verdict_end
from orchestrators.toolkit import End, Gen, Json, Run, StepFailed
from shared import names, policy
from shared.config import Settings
from shared.models import seconds_between
from shared.naming import derived_server_name, stamp

bp = df.Blueprint()

SCENARIOS = ("restore", "database", "region", "complete", "security")
VERIFY_ATTEMPTS, WRITE_ATTEMPTS, PROBE_INTERVAL_SECONDS = 24, 6, 5.0
WORKLOAD_TABLE = "intents"  # where POST /api/v1/intents writes
DRILL_PATTERN = "/drill/*"  # the drill route's pattern; production's route keeps /*


def drill_secret_name(settings: Settings) -> str:
    """The drill-only database secret: never the production one."""
    return f"{settings.database_secret_name}-drill"


@bp.function_name(names.DRILL_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def drill_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Run a drill in practice mode; returns the run's outcome with its verdict."""
    scenario = str((context.get_input() or {}).get("scenario"))
    run = Run(context, f"drill-{scenario}")
    run.record.retain_years = run.settings.compliance_retention_years
    return (yield from run.execute(lambda r: drill_plan(r, scenario), announce_start=False))


@dataclass
class Evidence:
    """What the parts of a drill measured: RTOs, RPOs, teardowns and failures, each part adding its own;
    and where a preempting failover was first seen (the drill's checkpoints ask ``proceed``)."""

    listener: deploy_steps.Listener
    rto: list[float | None] = field(default_factory=list)
    rpo: list[float | None] = field(default_factory=list)
    teardown: list[bool] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    started: str = ""  # when the region part began (the drill's "first signal", for per-tier RTO)
    preempted: tuple[Json, str] | None = None  # (the preempting run, the checkpoint it was seen at)

    def proceed(self, where: str) -> bool:
        """A checkpoint after ``where``: False from the first one a failover is queued at (rule 12), so
        the drill builds nothing more and only tears down."""
        by = self.listener.preemption()
        if self.preempted is None and by is not None:
            self.preempted = (by, where)
        return self.preempted is None

    def probe(self, run: Run, probe: Json, *, attempts: int, failure: str, during: str) -> Gen:
        """await_probe at the drill's interval; a failover queued meanwhile ends the wait (the checkpoint
        after ``during``), and the answer says ``stopped``."""

        def stopped() -> bool:
            return not self.proceed(during)

        return await_probe(
            run, probe, attempts=attempts, interval=PROBE_INTERVAL_SECONDS, failure=failure, stopped=stopped
        )


def drill_plan(run: Run, scenario: str) -> Gen:
    if scenario == "security":
        return (yield from security_drill(run))
    yield from run.announce("started", f"{scenario} drill in practice mode; production traffic is not moved")
    evidence = Evidence(deploy_steps.Listener(run))
    yield from evidence.listener.start()
    primary = yield from run.require_primary(page=True)
    if scenario in ("restore", "database", "complete") and evidence.proceed("observe"):
        yield from database_drill(run, evidence, primary)
    if scenario in ("region", "complete") and evidence.proceed("the database part"):
        yield from region_drill(run, evidence, primary, frontdoor=scenario == "complete")
    if scenario == "complete" and evidence.proceed("the region part"):
        yield from frontdoor_check(run, evidence)
    return ending(run, evidence)


def security_drill(run: Run) -> Gen:
    """The Q4 security incident drill: the real database credential rotated with no failed public request
    (orchestrators/credential_rotation.py), and the tabletop checklist recorded beside what it proved."""
    yield from run.announce(
        "started", "security drill: the database credential is rotated in production, the app kept serving"
    )
    primary = yield from run.require_primary(page=True)
    rotation = yield from rotate_credential(run, primary)
    run.record.extra["tabletop"] = {
        "proved": rotation.proved,
        "checklist": policy.tabletop(run.settings.security_tabletop_checklist),
    }
    verdict = policy.security_verdict(
        failed_steps=rotation.failed,
        revoked=rotation.revoked,
        secret_user=rotation.secret_user,
        expected_user=rotation.to_role,
    )
    return verdict_end(run.judge(verdict))


def database_drill(run: Run, evidence: Evidence, primary: policy.Primary) -> Gen:
    scratch = derived_server_name(primary.server, "drill", run.now())
    verdict = yield from run_restore_test(run, scratch, primary, proceed=evidence.proceed)
    if evidence.preempted is not None:
        evidence.teardown.append(bool(run.record.measurements.get("scratch_teardown_verified")))
        return
    if not verdict.passed:
        evidence.failed.append("database: " + verdict.reason)
    m = run.record.measurements
    restore_step = run.record.step_named("restore")
    if "restore_seconds" in m and restore_step is not None:
        evidence.rto.append(m["restore_seconds"])
        # data between the restore point and the moment the restore began would be lost
        lost = seconds_between(m["requested_restore_point"], restore_step["started_at"]) or 0.0
        evidence.rpo.append(max(0.0, lost) if verdict.passed else None)
    evidence.teardown.append(bool(m.get("scratch_teardown_verified")))


def dr_side(settings: Settings, primary: policy.Primary) -> tuple[str, str]:
    """(resource group, region) of the DR side: the one the primary is not in now."""
    if primary.resource_group == settings.secondary_resource_group:
        return settings.primary_resource_group, settings.primary_region
    return settings.secondary_resource_group, settings.secondary_region


@dataclass(frozen=True)
class DrillSite:
    """What a region drill creates, and where."""

    replica: str
    group: str
    secret: str
    resource_group: str
    region: str
    tag: str

    @property
    def where(self) -> Json:
        return {"resource_group": self.resource_group}


def region_drill(run: Run, evidence: Evidence, primary: policy.Primary, *, frontdoor: bool) -> Gen:
    """Drill-only replica in the DR region, promoted; a drill-only container group on it (with
    ``frontdoor``, reached through a drill-only Front Door path); all removed."""
    s, tag = run.settings, stamp(run.now())
    rg, region = dr_side(s, primary)
    site = DrillSite(
        replica=derived_server_name(primary.server, "drill", run.now(), role="r"),
        group=f"{s.container_group_standby[:40]}-drill-{tag}",
        secret=drill_secret_name(s),
        resource_group=rg,
        region=region,
        tag=tag,
    )
    run.resource(
        drill_replica=site.replica, drill_group=site.group, drill_region=region, drill_secret_name=site.secret
    )
    base = ""
    try:
        base = yield from bring_up_region(run, primary, site, evidence)
    except StepFailed as failed:
        evidence.failed.append(f"region: {failed.error[:300]}")
    if frontdoor and evidence.proceed("drill-read-back"):
        yield from frontdoor_drill_path(run, evidence, site.tag, base)
    gone_group = yield from run.teardown("group", site.group, step="drill-group", where=site.where)
    cleared = yield from clear_drill_secret(run, site.secret)
    gone_server = yield from run.teardown("server", site.replica, step="drill-replica", where=site.where)
    evidence.teardown.append(gone_group and gone_server and cleared)


def clear_drill_secret(run: Run, secret: str) -> Gen:
    """Overwrite the drill secret with an empty value; False when that failed."""
    try:
        result = yield from run.step(
            "clear-drill-secret", run.act(names.SECRETS_CLEAR, {"secret_name": secret})
        )
    except StepFailed:
        return False
    return bool(result.get("cleared"))


def bring_up_region(run: Run, primary: policy.Primary, site: DrillSite, evidence: Evidence) -> Gen:
    s, where = run.settings, site.where
    create = {"source": primary.server, "source_resource_group": primary.resource_group}
    create.update(target=site.replica, run_id=run.run_id, location=site.region, **where)
    replicate = run.act_long(names.DATABASE_CREATE_REPLICA, create, deadline_seconds=run.create_deadline)
    yield from run.step("create-drill-replica", replicate)
    if not evidence.proceed("create-drill-replica"):
        return ""
    replica = {"server": site.replica, **where}
    lag = yield from run.step("drill-replica-lag", run.act(names.DATABASE_GET_REPLICATION_LAG, replica))
    started = evidence.started = run.iso()
    promote = {**replica, "mode": "planned", "operation": "standalone"}
    yield from run.step("promote-drill-replica", run.act(names.DATABASE_PROMOTE_REPLICA, promote))
    if not evidence.proceed("promote-drill-replica"):
        return ""
    point = {**replica, "secret_name": site.secret}
    yield from run.step("point-drill-secret", run.act(names.SECRETS_POINT_DATABASE_URL, point))
    standby = yield from run.step(
        "observe-standby", run.act(names.CONTAINERS_GET_GROUP, {"group": s.container_group_standby})
    )
    ensure = {"group": site.group, "image": standby.get("image", ""), "run_id": run.run_id, **where}
    ensure.update(
        location=site.region, port=s.container_port, environment={"DATABASE_SECRET_NAME": site.secret}
    )
    up = yield from run.step("drill-group", run.act(names.CONTAINERS_ENSURE_GROUP, ensure))
    if not evidence.proceed("drill-group"):
        return ""
    base = str(up.get("url") or "").rstrip("/")
    failure = f"drill group {site.group} did not answer {s.health_path}"
    probe = {"url": base + s.health_path}
    yield from run.step(
        "verify-drill-group",
        evidence.probe(
            run, probe, attempts=VERIFY_ATTEMPTS, failure=failure, during="a probe of the drill group"
        ),
    )
    if not evidence.proceed("verify-drill-group"):
        return ""
    yield from verify_write(run, base, replica, f"continuity drill {run.run_id}", evidence)
    if not evidence.proceed("drill-write"):
        return ""
    evidence.rto.append(seconds_between(started, run.iso()))
    evidence.rpo.append(lag.get("lag_seconds"))
    return base


def verify_write(run: Run, base: str, replica: Json, marker: str, evidence: Evidence) -> Gen:
    """A write through the drill group's own API, then read back from the drill replica itself (not when
    a failover was queued meanwhile)."""
    write: Json = {
        "url": base + "/api/v1/intents",
        "method": "POST",
        "json": {"text": marker},
        "expect_status": 201,
    }
    failure = "write through the drill group failed"
    written = yield from run.step(
        "drill-write",
        evidence.probe(
            run, write, attempts=WRITE_ATTEMPTS, failure=failure, during="a write through the drill group"
        ),
    )
    if written.get("stopped"):
        return
    literal = "'" + marker.replace("'", "''") + "'"
    sql = f"SELECT EXISTS (SELECT 1 FROM {WORKLOAD_TABLE} WHERE text = {literal})"
    checks = {"critical_tables": [], "sql": [{"name": "drill-write-on-replica", "sql": sql}]}
    read = yield from run.step(
        "drill-read-back", run.act(names.DATABASE_RUN_CHECKS, {**replica, "checks": checks})
    )
    if not read.get("passed"):
        raise StepFailed(
            "drill-read-back", f"the drill write is not on the drill replica {replica['server']}"
        )
    run.measure(drill_write_verified_on=replica["server"])


def frontdoor_drill_path(run: Run, evidence: Evidence, tag: str, base: str) -> Gen:
    """Through Front Door to the drill group on a drill-only route and origin group, then remove both
    (always: a half-made path is deleted too; its names come from the drill's tag)."""
    if not base:
        evidence.failed.append("frontdoor drill path: not checked, the drill group did not come up")
        return
    try:
        yield from through_drill_path(run, tag, base, evidence)
    except StepFailed as failed:
        evidence.failed.append(f"frontdoor drill path: {failed.error[:300]}")
    evidence.teardown.append((yield from delete_drill_path(run, tag)))


def through_drill_path(run: Run, tag: str, base: str, evidence: Evidence) -> Gen:
    s = run.settings
    url = s.public_url.rstrip("/") + DRILL_PATTERN[:-2] + s.health_path
    before = yield from run.step("frontdoor-drill-before", run.act(names.PROBE_HTTP, {"url": url}))
    if before.get("ok"):
        raise StepFailed(
            "frontdoor-drill-before",
            f"{url} answers 200 before the drill route exists: the check cannot tell",
        )
    path = {"tag": tag, "url": base, "pattern": DRILL_PATTERN}
    made = yield from run.step("frontdoor-drill-path", run.act(names.TRAFFIC_CREATE_DRILL_PATH, path))
    run.resource(drill_route=made.get("route"), drill_origin_group=made.get("origin_group"))
    if not made.get("supported", True):
        run.measure(frontdoor_drill_path=f"skipped: {made.get('reason')}")
        return
    failure = f"{url} through the drill route answered"
    during = "a probe through the drill route"
    yield from run.step(
        "frontdoor-drill-probe",
        evidence.probe(run, {"url": url}, attempts=VERIFY_ATTEMPTS, failure=failure, during=during),
    )
    if not evidence.proceed("frontdoor-drill-probe"):
        return
    run.measure(frontdoor_drill_path="served", frontdoor_drill_served_by=made.get("origin_group"))
    drill_url = s.public_url.rstrip("/") + DRILL_PATTERN[:-2]
    measured = tiers.measure_tiers(run, base_url=drill_url, since=evidence.started)
    yield from run.step("tier_rto", measured)
    tiers_seen = run.record.measurements.get("tier_rto") or []
    evidence.failed += [f"per-tier RTO: {t['reason']}" for t in tiers_seen if t["result"] != "pass"]


def delete_drill_path(run: Run, tag: str) -> Gen:
    """Delete the drill route and origin group of ``tag``; True only when they are read back as gone."""
    try:
        result = yield from run.step(
            "frontdoor-drill-teardown", run.act(names.TRAFFIC_DELETE_DRILL_PATH, {"tag": tag})
        )
    except StepFailed:
        return False
    run.measure(frontdoor_drill_teardown_verified=bool(result.get("gone")))
    return bool(result.get("gone"))


def frontdoor_check(run: Run, evidence: Evidence) -> Gen:
    """Front Door answers and the DR origin group is known, without switching any traffic."""
    s = run.settings
    try:
        route = yield from run.step("frontdoor-route", run.act(names.TRAFFIC_GET_ROUTE, {}))
        dr = {"origin_group": s.frontdoor_origin_group_standby}
        origins = yield from run.step("frontdoor-dr-origins", run.act(names.TRAFFIC_LIST_HEALTHY_ORIGINS, dr))
        public = {"url": s.public_url + s.health_path}
        probe = yield from run.step("frontdoor-public", run.act(names.PROBE_HTTP, public))
        run.measure(
            frontdoor_route_origin_group=route.get("origin_group"),
            dr_healthy_origins=origins.get("healthy_count"),
        )
        if not probe.get("ok"):
            evidence.failed.append(f"frontdoor: public endpoint answered {probe.get('status')}")
    except StepFailed as failed:
        evidence.failed.append(f"frontdoor: {failed.error[:300]}")


def ending(run: Run, evidence: Evidence) -> End:
    s = run.settings
    teardown_ok = all(evidence.teardown) if evidence.teardown else None
    if evidence.preempted is not None:
        run.measure(teardown_verified=teardown_ok)
        by, where = evidence.preempted
        then = {
            None: ", before it made anything",
            True: ", tore down what it made (verified gone)",
            False: ", tore down what it made, but a drill resource is still there (the teardown decisions)",
        }[teardown_ok]
        evidence.listener.stop(by, where, then=then, page=teardown_ok is False)
    rto = max((x for x in evidence.rto if x is not None), default=None)
    rpo = (
        None
        if not evidence.rpo or any(x is None for x in evidence.rpo)
        else max(x or 0.0 for x in evidence.rpo)
    )
    verdict = policy.drill_verdict(
        policy.DrillEvidence(
            failed_steps=tuple(evidence.failed),
            rto_seconds=rto,
            rto_objective_seconds=s.rto_tier1_minutes * 60.0,
            rpo_seconds=rpo,
            rpo_objective_seconds=s.rpo_minutes * 60.0,
            teardown_verified=teardown_ok,
        )
    )
    run.measure(drill_rto_seconds=rto, drill_rpo_seconds=rpo, teardown_verified=teardown_ok)
    run.measure(rto_objective_seconds=s.rto_tier1_minutes * 60.0, rpo_objective_seconds=s.rpo_minutes * 60.0)
    return verdict_end(run.judge(verdict))
