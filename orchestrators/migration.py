"""The migration: anchor -> [maintenance on, verified from outside -> drain] -> job -> verify the version ->
[maintenance off, verified from outside] -> release event. Maintenance and the drain are for ``breaking``
migrations; ``expand`` runs online; ``contract`` is refused while a slot runs a release older than the
expand it completes, and within the bake time (policy.contract_gate).

The anchor: the lock (the run holds it), a restore test that passed recently (its run id), an on-demand
backup taken now (name and time), and the schema version before. On a failure after maintenance went on,
maintenance stays on, the run pages, and the report gives the job's logs, the anchor and the exact
``POST /api/restore`` body that returns to it.

Input: {run_id, settings, trigger, image (full reference), target_version, class, dry_run}.
"""

from __future__ import annotations

import json
import math

import azure.durable_functions as df

from orchestrators import deploy_steps, maintenance
from orchestrators.toolkit import DRY_RUN, REFUSED, STEP_FAILED, End, Gen, Json, Run, StepFailed
from shared import names, policy, releases
from shared.models import Decision, seconds_between
from shared.naming import stamp

bp = df.Blueprint()
TERMINAL = ("succeeded", "failed", "stopped", "terminated")
LOG_TAIL = 4000


@bp.function_name(names.MIGRATION_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def migration_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Run a schema migration tied to the release history; returns the run's outcome."""
    run = Run(context, "migration")
    return (yield from run.execute(migration_plan, announce_start=not run.input.get("dry_run")))


def migration_plan(run: Run) -> Gen:
    m = Migration(run)
    return (yield from m.plan())


class Migration:
    """One migration run's state, rebuilt on every replay."""

    def __init__(self, run: Run, spec: Json | None = None) -> None:
        """``spec``: {image, target_version, class}, the run's input by default (a deploy passes its
        ``migration``)."""
        self.run, self.s = run, run.settings
        spec = run.input if spec is None else spec
        self.image = str(spec["image"])
        self.target = int(spec["target_version"])
        self.klass = str(spec["class"])
        self.maintenance_on = False
        self.last_write_ok: str | None = None  # the last write seen through the public endpoint before
        self.version_after: int | None = None
        self.anchor: Json = {}
        self.job = f"ci-{self.s.app_name}-migrate-{stamp(run.now())}"
        run.checkpoints = run.checkpoints | {"anchor", "maintenance-on", "job"}

    def plan(self) -> Gen:
        run = self.run
        yield from self.anchored(backup=not run.input.get("dry_run"))
        if self.klass == "contract":
            yield from self.contract_gate()
        if run.input.get("dry_run"):
            run.record.extra["plan"] = {
                "class": self.klass,
                "image": self.image,
                "target_version": self.target,
                "anchor": self.anchor,
                "steps": self.describe(),
            }
            return End(DRY_RUN, f"dry run: nothing was changed; {self.describe()}", event="")
        try:
            return (yield from self.change())
        except StepFailed as failed:
            return (yield from self.failed(failed))

    def anchored(self, *, backup: bool) -> Gen:
        """The primary found now and the anchor (a Stop when it is refused)."""
        primary = yield from self.run.require_primary(page=False)
        self.server, self.address = primary.server, primary.address()
        yield from self.run.step("anchor", self.anchor_step(primary, backup=backup))

    def describe(self) -> str:
        steps = (
            "maintenance on, drain, job, verify, maintenance off"
            if self.klass == "breaking"
            else "job, verify"
        )
        return f"{self.klass} migration {self.image} to schema {self.target}: {steps}"

    # ---- the anchor -------------------------------------------------------------------------------------
    def anchor_step(self, primary: policy.Primary, *, backup: bool) -> Gen:
        run, s = self.run, self.s
        listed = yield from run.act(names.STORAGE_LIST_REPORTS, {"operation": "restore-test"})
        tested = run.decide(
            "anchor",
            policy.anchor_restore_test(
                listed.get("reports") or [], run.now(), days=s.migration_restore_test_days
            ),
        )
        if tested.is_("refuse"):
            run.stop("refused", f"migration refused: {tested.reason}", event=REFUSED)
        before = yield from run.act(names.DATABASE_GET_SCHEMA_VERSION, primary.address())
        self.anchor = {
            "restore_test_run_id": tested.value,
            "server": primary.server,
            "schema_version_before": before.get("schema_version"),
        }
        if backup:
            made = yield from run.act(
                names.DATABASE_CREATE_BACKUP, primary.address(name=f"premigration-{stamp(run.now())}")
            )
            self.anchor.update(backup=made.get("name"), backup_at=made.get("completed_at") or run.iso())
            run.record.extra["restore"] = policy.restore_body(str(self.anchor["backup_at"]), run.run_id)
        run.record.extra["anchor"] = self.anchor
        run.measure(schema_version_before=before.get("schema_version"), target_version=self.target)
        if before.get("schema_version") == self.target:
            run.stop("stood-down", f"the schema is already at version {self.target}: nothing to migrate")
        version = before.get("schema_version")
        return f"anchor: restore test {tested.value}, backup {self.anchor.get('backup')}, schema {version}"

    def contract_gate(self) -> Gen:
        run = self.run
        seen = yield from deploy_steps.observe(run, step="contract")
        images = {
            "live": seen.live.get("image"),
            "idle": seen.idle.get("image")
            if str(seen.idle.get("state") or "").lower() == "running"
            else None,
            "standby": seen.standby.get("image"),
        }
        gate = run.decide(
            "contract",
            policy.contract_gate(
                seen.history, images, run.now(), bake_hours=self.s.migration_contract_bake_hours
            ),
        )
        if gate.is_("refuse"):
            run.stop("refused", gate.reason, event=REFUSED)

    # ---- the change -------------------------------------------------------------------------------------
    def change(self, *, hand_over: bool = False) -> Gen:
        """Maintenance and drain (breaking), the job, the version verified, maintenance off. ``hand_over``
        (a breaking migration inside a deploy): maintenance stays on the old slots, for the deploy's new
        slot to end it by taking the traffic (``ended_by``)."""
        run = self.run
        breaking = self.klass == "breaking"
        if breaking:
            first = yield from run.observe(*maintenance.write_probe(run))
            self.last_write_ok = run.iso() if first.get("ok") else None
            self.maintenance_on = True  # from here, a failure leaves it on
            yield from run.step("maintenance-on", maintenance.set_mode(run, enabled=True))
            yield from run.step("verify-maintenance-on", maintenance.verify(run, enabled=True))
            yield from run.step("drain", self.drain())
        yield from run.step("job", self.run_job())
        after = yield from run.step("verify-version", self.verify_version())
        if breaking and not hand_over:
            yield from run.step("maintenance-off", maintenance.set_mode(run, enabled=False))
            yield from self.ended_by("verify-maintenance-off")
        yield from self.release("succeeded", after)
        yield from run.teardown("group", self.job, step="job")
        self.version_after = after
        return End(
            "succeeded",
            f"{self.klass} migration {self.image}: schema {self.anchor['schema_version_before']} -> {after}",
        )

    def ended_by(self, step: str) -> Gen:
        """Writes verified through the public endpoint again (maintenance off, or a new slot that serves);
        the write-unavailability window measured from outside."""
        run = self.run
        off = yield from run.step(step, maintenance.verify(run, enabled=False))
        self.maintenance_on = False
        window = policy.write_unavailable_seconds(self.last_write_ok, off["at"])
        run.measure(
            write_unavailable_seconds=window,
            last_write_ok_before=self.last_write_ok,
            first_write_ok_after=off["at"],
        )

    def drain(self) -> Gen:
        run, s = self.run, self.s
        where = dict(self.address)
        if s.migration_app_role:
            where["role"] = s.migration_app_role
        interval = max(s.migration_drain_interval_seconds, 0.1)
        attempts = max(1, math.ceil(s.migration_drain_seconds / interval) + 1)
        started = run.iso()
        counts: list[int] = []

        def read() -> Gen:
            found = yield from run.act(names.DATABASE_DRAIN_SESSIONS, where)
            counts.append(int(found.get("sessions") or 0))
            waited = seconds_between(started, run.iso()) or 0.0
            return {
                **found,
                "decision": policy.drain_next(
                    counts[-1], waited_seconds=waited, deadline_seconds=s.migration_drain_seconds
                ),
            }

        _, last, _ = yield from run.poll(
            read, lambda r: not r["decision"].is_("wait"), attempts=attempts, interval=interval
        )
        decision = run.decide("drain", last["decision"])
        terminated = {"terminated": 0, "after": counts[-1]}
        if not decision.is_("drained"):
            terminated = yield from run.act(names.DATABASE_DRAIN_SESSIONS, {**where, "terminate": True})
        run.measure(
            drain_role=last.get("role"),
            drain_sessions_before=counts[0],
            drain_sessions_at_deadline=counts[-1],
            drain_terminated=terminated.get("terminated"),
            drain_sessions_after=terminated.get("after"),
            drain_other_roles_sessions=last.get("others"),
            drain_seconds=seconds_between(started, run.iso()),
        )
        if terminated.get("after"):
            raise StepFailed("drain", f"{terminated['after']} session(s) of {last.get('role')} remain")
        return decision.reason

    def run_job(self) -> Gen:
        """The job container (restart policy Never, PGOPTIONS lock_timeout), waited for with a deadline;
        its logs (redacted when the report is written) are kept whatever the outcome."""
        run, s = self.run, self.s
        environment = {"PGOPTIONS": f"-c lock_timeout={s.migration_lock_timeout_ms}"}
        spec = {"group": self.job, "image": self.image, "restart_policy": "Never", "run_id": run.run_id}
        yield from run.act(names.CONTAINERS_ENSURE_GROUP, {**spec, "environment": environment})
        run.resource(job_group=self.job)
        interval = max(s.deploy_poll_interval_seconds, 0.1)
        attempts = max(1, math.ceil(s.migration_job_deadline_seconds / interval) + 1)

        def read() -> Gen:
            return (yield from run.observe(names.CONTAINERS_GET_GROUP, {"group": self.job}))

        def ended(found: Json) -> bool:
            states = [str(c.get("state") or "").lower() for c in found.get("containers") or []]
            return bool(states) and all(x in TERMINAL for x in states)

        done, found, _ = yield from run.poll(read, ended, attempts=attempts, interval=interval)
        if not done:
            yield from deploy_steps.stop_group(run, self.job, "the job passed its deadline")
        logs = yield from run.observe(names.CONTAINERS_GET_LOGS, {"group": self.job})
        code = ((found.get("containers") or [{}])[0]).get("exit_code")
        text = str(logs.get("logs") or logs.get("error") or "")[-LOG_TAIL:]
        run.record.extra["job"] = {"group": self.job, "image": self.image, "exit_code": code, "logs": text}
        run.measure(job_exit_code=code)
        if not done:
            raise StepFailed("job", f"{self.job} did not exit within {s.migration_job_deadline_seconds:g} s")
        if code != 0:
            last = text.strip().splitlines()[-1] if text.strip() else "no output"
            raise StepFailed("job", f"{self.job} exited with {code}: {last[:200]}")
        return f"{self.job} exited with 0"

    def verify_version(self) -> Gen:
        run = self.run
        found = yield from run.act(names.DATABASE_GET_SCHEMA_VERSION, self.address)
        version = found.get("schema_version")
        decision = run.decide("verify-version", policy.schema_verified(version, self.target))
        run.measure(schema_version_after=version)
        if not decision.is_("verified"):
            raise StepFailed("verify-version", decision.reason)
        return version

    # ---- endings ----------------------------------------------------------------------------------------
    def release(self, outcome: str, version: object) -> Gen:
        event = releases.release_event(
            kind="migration",
            run_id=self.run.run_id,
            at=self.run.iso(),
            image=self.image,
            slot="database",
            outcome=outcome,
            reason=str(self.run.trigger.get("reason") or ""),
            schema_version=version if isinstance(version, int) else None,
            migration_class=self.klass,
            from_schema_version=self.anchor.get("schema_version_before"),
        )
        yield from deploy_steps.record_release(self.run, event)

    def failed(self, failed: StepFailed) -> Gen:
        """Maintenance stays on when it went on; the run pages with the job's logs, the anchor and the
        restore body (in the report)."""
        yield from self.release("failed", None)
        return self.paged(failed)

    def paged(self, failed: StepFailed) -> End:
        """The page of a failure after the anchor: what failed, whether maintenance stays on, the anchor,
        the steps that ran and the exact restore body."""
        run = self.run
        restore = run.record.extra.get("restore")
        kept = (
            "maintenance mode stays on (POST /api/maintenance {enabled: false} ends it)"
            if self.maintenance_on
            else "maintenance mode was not turned on"
        )
        anchor = f"the anchor is backup {self.anchor.get('backup')} at {self.anchor.get('backup_at')}"
        reason = f"{failed.step} failed: {failed.error}; {kept}; {anchor}"
        run.decide(failed.step, Decision("page", reason))
        ran = ", ".join(run.record.ran()) or "none"
        back = f"To return to the anchor: POST /api/restore {json.dumps(restore)}"
        summary = f"{reason}. Steps that ran: {ran}. {back}"
        return End("failed", summary, STEP_FAILED, page=True)
