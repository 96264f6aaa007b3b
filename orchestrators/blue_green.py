"""The blue-green deploy: the new image goes to the idle slot only, is proven on its own address, then
takes the traffic and is measured against the old slot, which stays warm and untouched until it is
stopped (never deleted). One automatic rollback at most (rule 7); preempted by a failover (rule 12).

plan -> [schedule] -> pre-flight gates -> idle slot (live slot's spec, new image) -> healthy -> smoke ->
baseline -> switch (rule 2, propagation K in a row) -> analysis (orchestrators/deploy_analysis.py) ->
rolled back, or: DR standby follows -> release recorded -> old slot warm for the delay -> stopped.

Input: {run_id, settings, trigger, image (full reference), dry_run, not_before, change_id, force_window,
retry_quarantined}. Events: "preempt" (the run queued to take the lock), "signal" (a container alert),
"approval" (approve / reject / cancel).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrators import deploy_analysis, deploy_steps
from orchestrators.deploy_steps import Listener, Observed
from orchestrators.gates import backup_gate
from orchestrators.migration import Migration
from orchestrators.toolkit import COMPLETED, DRY_RUN, FAILED, REFUSED, End, Gen, Run, StepFailed, Stop
from shared import names, policy, releases
from shared.models import Decision, parse_time, seconds_between

bp = df.Blueprint()


@bp.function_name(names.BLUE_GREEN_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def blue_green_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Deploy an image to the idle slot and move traffic to it; returns the run's outcome."""
    run = Run(context, "deploy")
    deploy = Deploy(run)
    return (yield from run.execute(deploy.plan, announce_start=not deploy.dry_run))


class Deploy:
    """One deploy run's state, rebuilt on every replay."""

    def __init__(self, run: Run) -> None:
        self.run, self.s = run, run.settings
        self.image = str(run.input["image"])
        self.dry_run = bool(run.input.get("dry_run"))
        self.listener = Listener(run)
        self.seen: Observed | None = None
        self.idle_url = ""
        self.refusals: list[str] = []  # what a dry run's gates would refuse
        self.schema_version: int | None = None  # read in the pre-flight
        self.migration: Migration | None = None  # the migration the deploy carries, once it ran
        run.checkpoints = frozenset({"idle-slot", "smoke", "switch", "analysis"})

    @property
    def observed(self) -> Observed:
        assert self.seen is not None
        return self.seen

    # ---- the plan ---------------------------------------------------------------------------------------
    def plan(self, run: Run) -> Gen:
        yield from self.listener.start()
        yield from run.step("plan", self.plan_step())
        slots = self.observed.slots
        run.watched = [
            ("route", (names.TRAFFIC_GET_ROUTE, {})),
            ("live_group", (names.CONTAINERS_GET_GROUP, {"group": slots.live_group})),
            ("idle_group", (names.CONTAINERS_GET_GROUP, {"group": slots.idle_group})),
            ("standby_group", (names.CONTAINERS_GET_GROUP, {"group": self.s.container_group_standby})),
        ]
        if self.dry_run:
            yield from run.step("pre-flight", self.gates(act=False))
            refusals = "; ".join(self.refusals)
            verdict = f"the deploy would be refused: {refusals}" if refusals else "every gate would pass"
            return End(DRY_RUN, f"dry run: nothing was changed; {verdict}", event="")
        yield from self.scheduled()
        yield from run.step("pre-flight", self.gates(act=True))
        self.listener.checkpoint("pre-flight")
        breaking = (run.input.get("migration") or {}).get("class") == "breaking"
        if breaking:  # the baseline of the live slot before maintenance mode changes what it answers
            baseline = yield from self.take_baseline()
        yield from self.migrate_first()
        try:
            yield from self.prove_idle()
            if not breaking:
                baseline = yield from self.take_baseline()
            yield from run.step("switch", deploy_steps.switch(run, slots.idle_origin_group, self.image))
        except StepFailed as failed:
            if not run.traffic_moved:
                return self.stranded(failed)
            run.measure(first_failed_at=run.iso())
            stuck = Decision("rollback", f"the switch did not complete: {failed.error}")
            return (yield from deploy_analysis.roll_back(run, self, stuck))
        except Stop as stop:
            return self.stranded(StepFailed(run.record.step, stop.end.summary), stop)
        if breaking and self.migration is not None:  # the new slot serves: writes answer again
            yield from self.migration.ended_by("verify-writes")
        outcome = yield from run.step("analysis", deploy_analysis.analyse(run, self, baseline))
        if outcome.is_("rollback"):
            return (yield from deploy_analysis.roll_back(run, self, outcome))
        return (yield from self.succeed(outcome))

    def plan_step(self) -> Gen:
        run = self.run
        self.seen = yield from deploy_steps.observe(run, step="plan")
        slots, live, idle = self.observed.slots, self.observed.live, self.observed.idle
        wanted = {**(live.get("spec") or {}), "image": self.image}
        update = run.decide(
            "plan",
            policy.idle_update(
                idle.get("spec") if idle.get("exists", True) and "error" not in idle else None,
                wanted,
                running=str(idle.get("state") or "").lower() == "running",
            ),
        )
        plan: dict[str, Any] = {
            "image": self.image,
            "live": {"slot": slots.live, "group": slots.live_group, "image": live.get("image")},
            "idle": {"slot": slots.idle, "group": slots.idle_group, "image": idle.get("image")},
            "idle_update": {"action": update.action, "changes": update.value, "reason": update.reason},
            "gates": GATES,
            "steps": STEPS,
            "migration": run.input.get("migration"),
        }
        run.record.extra["plan"] = plan
        run.resource(live_slot=slots.live, idle_slot=slots.idle, previous_image=live.get("image"))
        return f"{self.image} to {slots.idle} ({slots.idle_group}); {slots.live} live on {live.get('image')}"

    # ---- the schedule and the gates ---------------------------------------------------------------------
    def scheduled(self) -> Gen:
        run = self.run
        raw = run.input.get("not_before")
        when = run.decide(
            "schedule",
            policy.schedule(
                run.now(), parse_time(raw) if raw else None, notice_hours=self.s.deploy_notice_hours
            ),
        )
        if not when.is_("wait"):
            return
        yield from run.step("schedule", self.wait_until(parse_time(str(when.value)), "notice"))
        yield from run.announce(COMPLETED, f"scheduled deploy of {self.image}: {when.reason}")
        yield from run.step("schedule", self.wait_until(parse_time(str(raw)), "schedule"))

    def wait_until(self, moment: Any, what: str) -> Gen:
        run = self.run
        while run.now() < moment:
            run.set_awaiting("schedule", (moment - run.now()).total_seconds())
            kind, answer = yield from self.listener.wait((moment - run.now()).total_seconds(), approvals=True)
            if kind == "approval" and (answer or {}).get("answer") == "cancel":
                run.set_awaiting("")
                run.stop("cancelled", f"scheduled deploy cancelled by {answer.get('by') or 'an operator'}")
        run.set_awaiting("")
        return f"{what} time {moment.isoformat()} reached"

    def gates(self, *, act: bool) -> Gen:
        """Every pre-flight gate, each a decision with its reason (and rule); a refusal stops the run."""
        run, s, history = self.run, self.s, self.observed.history
        now, inp = run.now(), run.input
        decisions = [
            policy.change_id_gate(inp.get("change_id"), required=s.deploy_require_change_id),
            policy.deploy_window(now, s.deploy_window, force=bool(inp.get("force_window"))),
            policy.quarantine(history, self.image, retry=bool(inp.get("retry_quarantined"))),
            policy.rollback_budget(
                history, now, limit=s.max_auto_rollbacks, window_hours=s.auto_rollback_window_hours
            ),
        ]
        for decision in decisions:
            self.gate(decision, page=decision.rule == "rule 7")
        alerts, public, database = yield from run.gather(
            [
                (names.STORAGE_READ_LOG, {"log": releases.alert_log(s)}),
                (
                    names.PROBE_HTTP,
                    {"url": s.public_url + s.health_path, "timeout_seconds": s.probe_timeout_seconds},
                ),
                (
                    names.PROBE_HTTP,
                    {
                        "url": s.public_url + s.database_health_path,
                        "timeout_seconds": s.probe_timeout_seconds,
                    },
                ),
            ],
            safely=True,
        )
        if "error" in alerts:
            self.gate(Decision("refuse", f"the alerts seen cannot be read: {alerts['error']}", "rule 12"))
        self.gate(policy.alerts_gate(alerts.get("entries") or [], now, hours=s.alert_firing_hours))
        self.gate(policy.production_health([public, database]))
        yield from self.lag_and_cpu()
        yield from self.backup(act=act)
        return "every gate passed"

    def gate(self, decision: Decision, *, page: bool = False) -> Decision:
        """Record a gate's decision; a refusal stops the run (a dry run notes it and goes on)."""
        self.run.decide("pre-flight", decision)
        if decision.is_("refuse") and self.dry_run:
            self.refusals.append(decision.reason)
        elif decision.is_("refuse"):
            self.run.stop(
                "refused", f"deploy of {self.image} refused: {decision.reason}", event=REFUSED, page=page
            )
        if decision.is_("warn"):
            self.run.record.warn(decision.reason)
        return decision

    def lag_and_cpu(self) -> Gen:
        run, s, live = self.run, self.s, self.observed.live
        found = yield from run.find_primary()
        primary = found.primary
        if primary is None:
            self.gate(Decision("refuse", found.decision.reason, "rule 12"))
            return
        where = {"server": primary.replica, "resource_group": primary.replica_resource_group}
        schema, lag, cpu = yield from run.gather(
            [
                (names.DATABASE_GET_SCHEMA_VERSION, primary.address()),
                (names.DATABASE_GET_REPLICATION_LAG, where),
                (
                    names.METRICS_GET_WINDOW,
                    {"target": "container_group", "name": self.observed.slots.live_group, "minutes": 5},
                ),
            ],
            safely=True,
        )
        self.gate(
            policy.deploy_lag_gate(
                lag.get("lag_seconds") if primary.replica else None, rpo_seconds=s.rpo_minutes * 60
            )
        )
        cores = float((live.get("spec") or {}).get("cpu") or 1)
        millicores = (cpu.get("window") or {}).get("cpu")
        decision = self.gate(
            policy.cpu_gate(
                millicores, cores, warn=s.deploy_cpu_warn_percent, refuse=s.deploy_cpu_refuse_percent
            )
        )
        self.schema_version = schema.get("schema_version")  # what this release runs on (rule 9)
        run.measure(
            replica_lag_seconds=lag.get("lag_seconds"),
            live_cpu_percent=decision.value,
            schema_version=self.schema_version,
        )

    def backup(self, *, act: bool) -> Gen:
        run = self.run
        if act:
            decision = yield from backup_gate(run)
        else:  # a dry run says what the gate would do, and takes no backup
            primary = yield from run.require_primary(page=False)
            listing = yield from run.act(names.DATABASE_LIST_BACKUPS, primary.address())
            latest = listing.get("latest_completed_at")
            state = policy.BackupGateState(
                now=run.now(),
                latest_backup_at=parse_time(latest) if latest else None,
                max_age_hours=self.s.predeploy_backup_gate_hours,
                on_demand_started_at=None,
                on_demand_status=None,
            )
            decision = run.decide("backup-gate", policy.decide_backup_gate(state))
        if decision.is_(policy.GATE_REFUSE):
            self.gate(Decision("refuse", decision.reason))

    # ---- a migration carried by the deploy --------------------------------------------------------------
    def migrate_first(self) -> Gen:
        """A migration the deploy carries runs before the idle slot is created: an expand online (old and
        new releases both work on the expanded schema); a breaking one in maintenance mode, which stays on
        the old slot (it never runs on the new schema) until the new slot takes the traffic. Its failure
        ends the deploy with the migration's page."""
        spec = self.run.input.get("migration")
        if not spec:
            return
        self.migration = migration = Migration(self.run, dict(spec))
        yield from migration.anchored(backup=True)
        try:
            yield from migration.change(hand_over=migration.klass == "breaking")
        except StepFailed as failed:
            raise Stop((yield from migration.failed(failed))) from failed
        self.schema_version = migration.version_after
        self.listener.checkpoint("migration")

    def stranded(self, failed: StepFailed, stop: Stop | None = None) -> End:
        """The new release failed before taking the traffic. After a breaking migration the old slot stays
        in maintenance mode (it does not run on the new schema): the run pages with the anchor and the
        restore body. Otherwise the failure ends the run as it is."""
        if self.migration is None or not self.migration.maintenance_on:
            if stop is not None:
                raise stop
            raise failed
        return self.migration.paged(failed)

    def history(self) -> list[Any]:
        """The release history observed at the start and what this run has recorded since (a migration it
        carried, oldest first), which rule 9 reads."""
        return [*self.observed.history, *self.run.record.extra.get("releases", [])]

    def take_baseline(self) -> Gen:
        baseline = yield from self.run.step("baseline", deploy_analysis.baseline(self.run, self.observed))
        self.listener.checkpoint("baseline")
        return baseline

    # ---- the idle slot, proven before any traffic -------------------------------------------------------
    def prove_idle(self) -> Gen:
        run, slots = self.run, self.observed.slots
        environment = {self.s.maintenance_variable: "false"} if self.migration is not None else None
        yield from run.step(
            "idle-slot",
            deploy_steps.ensure_like(
                run, slots.idle_group, self.image, slots.live_group, environment=environment
            ),
        )
        self.listener.checkpoint("idle-slot")
        try:
            url = yield from run.step("healthy", deploy_steps.await_healthy(run, slots.idle_group))
            self.idle_url = url
            self.listener.checkpoint("healthy")
            verdict = yield from run.step("smoke", deploy_steps.smoke(run, url))
        except StepFailed as failed:
            verdict = policy.Verdict(False, (f"{failed.step}: {failed.error}",))
        if not verdict.passed:
            run.judge(verdict)
            yield from self.release(
                "smoke-failed" if run.record.step_named("smoke") else "unhealthy", verdict.reason
            )
            yield from deploy_steps.stop_group(
                run, slots.idle_group, "the new release failed before any traffic"
            )
            run.stop("failed", f"{self.image} never received traffic: {verdict.reason}", event=FAILED)
        self.listener.checkpoint("smoke")

    # ---- success ----------------------------------------------------------------------------------------
    def succeed(self, outcome: Decision) -> Gen:
        run, s, slots = self.run, self.s, self.observed.slots
        yield from run.step("dr-standby", deploy_steps.follow_standby(run, self.image))
        yield from self.release("succeeded", outcome.reason)
        until = run.now() + timedelta(minutes=s.scale_down_delay_minutes)
        run.measure(
            time_to_deploy_seconds=seconds_between(run.record.started_at, run.iso()),
            warm_until=until.isoformat(),
        )
        yield from run.announce(
            COMPLETED,
            f"{self.image} serves from {slots.idle}; {slots.live} stays warm until {until.isoformat()}",
        )
        yield from run.step("warm", self.keep_warm(until))
        yield from run.step(
            "scale-down", deploy_steps.stop_group(run, slots.live_group, "the scale-down delay passed")
        )
        return End(
            "succeeded", f"deployed {self.image} to {slots.idle}: {outcome.reason}; {slots.live} stopped"
        )

    def keep_warm(self, until: Any) -> Gen:
        run = self.run
        while run.now() < until:
            run.set_awaiting("warm", (until - run.now()).total_seconds())
            kind, signal = yield from self.listener.wait((until - run.now()).total_seconds())
            if kind == "signal" and signal:
                what = signal.get("summary") or signal.get("resource_ids")
                run.record.warn(
                    f"container alert during the warm period: {what} (POST /api/rollback switches back to "
                    "the warm slot)"
                )
        run.set_awaiting("")
        return "warm period over"

    def release(self, outcome: str, reason: str, **extra: Any) -> Gen:
        slots, live = self.observed.slots, self.observed.live
        event = releases.release_event(
            kind="deploy",
            run_id=self.run.run_id,
            at=self.run.iso(),
            image=self.image,
            slot=slots.idle,
            outcome=outcome,
            previous_image=live.get("image"),
            previous_slot=slots.live,
            reason=reason,
            schema_version=self.schema_version,
            **extra,
        )
        yield from deploy_steps.record_release(self.run, event)


GATES = [
    "change id (when required)",
    "deploy window (or force_window)",
    "not quarantined (rule 10)",
    "automatic-rollback budget (rule 7)",
    "no alert firing (rule 12)",
    "production healthy through the public endpoint",
    "replica lag within the RPO (rule 12)",
    "live slot CPU",
    "backup within the pre-deployment gate (on-demand backup when stale)",
]
STEPS = [
    "a migration the deploy carries: an expand online; a breaking one after the live slot's baseline, in "
    "maintenance mode (drain, job, version verified) until the new slot takes the traffic",
    "ensure the idle slot with the live slot's spec and the new image (the live slot is never touched)",
    "wait until it runs and answers its health path on its own address",
    "smoke suite on its own address",
    "baseline of the live slot",
    "switch the route (rule 2), then the public endpoint serves the new version K times in a row",
    "analysis: post-switch checks against the baseline and the rollback triggers",
    "one automatic rollback when a trigger fires (rule 7)",
    "DR standby follows the release (stopped); old slot warm for the scale-down delay, then stopped",
]
