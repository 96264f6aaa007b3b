"""The failback plan: a planned, operator-started return to the home region with zero data loss.

observe -> create a replica of the current primary in the home region -> wait until it has caught up ->
planned switchover (the DR server becomes its replica) -> count rows on both (zero lost, verified) ->
point the secret -> restart the home slot -> verify it -> check its origin group -> switch traffic ->
verify the public endpoint -> report. Nothing is deleted; the old fenced primary stays stopped.

Input: {run_id, settings, trigger: {kind: operator, reason, by}, slot: blue|green, [target_server]}.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from orchestrators import switchover
from orchestrators.steps import check_pool, poll_attempts, poll_interval, rows_missing, verify_app
from orchestrators.toolkit import COMPLETED, REFUSED, End, Gen, Run, StepFailed
from shared import names, policy
from shared.models import seconds_between
from shared.naming import failback_server_name

bp = df.Blueprint()


@bp.function_name(names.FAILBACK_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def failback_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Return the protected app to its home region with zero data loss; returns the run's outcome."""
    run = Run(context, "failback")
    return (yield from run.execute(Failback(run).plan))


class Failback:
    """One failback run's state; its steps are written on ``run``."""

    def __init__(self, run: Run) -> None:
        self.run, self.s = run, run.settings
        run.checkpoints = frozenset({"observe", "create_replica", "catch_up", "switchover", "switch_traffic"})
        slot = str(run.input.get("slot") or "blue")
        self.slot_group = self.s.container_groups[slot]
        self.slot_origins = self.s.origin_groups[slot]
        self.replica = self.s.replica_server
        self.home = str(run.input.get("target_server") or "")
        run.watched = [
            ("route", (names.TRAFFIC_GET_ROUTE, {})),
            ("dr_server", (names.DATABASE_GET_SERVER, {"server": self.replica})),
            ("home_slot", (names.CONTAINERS_GET_GROUP, {"group": self.slot_group})),
        ]

    def at_home(self) -> dict[str, Any]:
        return {"server": self.home, "resource_group": self.s.primary_resource_group}

    def plan(self, run: Run) -> Gen:
        yield from run.step("observe", self.observe())
        run.watched.append(("home_server", (names.DATABASE_GET_SERVER, self.at_home())))
        yield from run.step("create_replica", self.create_replica())
        yield from run.step("catch_up", self.catch_up())
        away = {"server": self.replica, "resource_group": self.s.secondary_resource_group}
        before = yield from switchover.prepare(run, primary=away, replica=self.at_home())
        yield from run.step("switchover", self.switchover())
        yield from run.step(
            "zero_loss", switchover.verify_zero_loss(run, new_primary=self.at_home(), before=before)
        )
        yield from run.step("count_rows", self.count_rows())
        writer = {**self.at_home(), "endpoint": "writer"}  # the writer followed: no change expected
        yield from run.step("point_secret", run.act(names.SECRETS_POINT_DATABASE_URL, writer))
        yield from run.step("restart_slot", self.restart_slot())
        yield from run.step("check_pool", check_pool(run, self.slot_origins))
        yield from run.step("switch_traffic", self.switch_traffic())
        yield from run.step("verify_public", self.verify_public())
        return self.complete()

    def observe(self) -> Gen:
        run, s = self.run, self.s
        route = yield from run.act(names.TRAFFIC_GET_ROUTE, {})
        run.record.observed("before", "route", route)
        away = route.get("origin_group") == s.frontdoor_origin_group_standby
        region = s.secondary_region if away else s.primary_region
        decision = run.decide(
            "observe", policy.failback_allowed(primary_region=region, home_region=s.primary_region)
        )
        if decision.is_("refuse"):
            run.stop("refused", decision.reason, event=REFUSED)
        if not self.home:
            self.home = failback_server_name(s.primary_server, run.context.new_uuid())
        return decision.reason

    def create_replica(self) -> Gen:
        s = self.s
        request = {
            "source": self.replica,
            "target": self.home,
            "run_id": self.run.run_id,
            "location": s.primary_region,
            "resource_group": s.primary_resource_group,
            "source_resource_group": s.secondary_resource_group,
        }
        replicate = self.run.act_long(
            names.DATABASE_CREATE_REPLICA, request, deadline_seconds=self.run.create_deadline
        )
        result = yield from replicate
        self.run.resource(home_server={"name": self.home, "state": result.get("state")})
        return str(result.get("message") or f"replica {self.home} of {self.replica} created")

    def catch_up(self) -> Gen:
        run = self.run

        def read() -> Gen:
            away = {"server": self.replica, "resource_group": self.s.secondary_resource_group}
            return (yield from switchover.catch_up(run, primary=away, replica=self.at_home()))

        _, decision, _ = yield from run.poll(
            read, lambda d: d.is_("ready"), attempts=poll_attempts(run), interval=poll_interval(run)
        )
        run.decide("catch_up", decision)
        if not decision.is_("ready"):
            raise StepFailed("catch_up", decision.reason)
        return decision.reason

    def switchover(self) -> Gen:
        request = {**self.at_home(), "mode": "planned", "operation": "switchover"}
        result = yield from self.run.act(names.DATABASE_PROMOTE_REPLICA, request)
        self.run.promoted = True
        return str(result.get("message") or f"{self.home} is primary; {self.replica} is its replica")

    def count_rows(self) -> Gen:
        home, away = yield from self.run.gather(
            [
                (names.DATABASE_RUN_CHECKS, self.at_home()),
                (names.DATABASE_RUN_CHECKS, {"server": self.replica}),
            ],
            safely=True,
        )
        missing = rows_missing(away.get("counts"), home.get("counts"))
        self.run.measure(rows_missing=missing, rpo_seconds=0.0 if missing == 0 else None)
        if missing is None:
            return "rows not countable on both servers"
        return f"{missing} rows of {self.replica} missing on {self.home}"

    def restart_slot(self) -> Gen:
        yield from self.run.act(names.CONTAINERS_START_GROUP, {"group": self.slot_group})
        group = yield from self.run.act(names.CONTAINERS_RESTART_GROUP, {"group": self.slot_group})
        return (yield from verify_app(self.run, str(group.get("url") or ""), write=True))

    def switch_traffic(self) -> Gen:
        result = yield from self.run.act(names.TRAFFIC_SWITCH_ROUTE, {"origin_group": self.slot_origins})
        self.run.traffic_moved = True
        return str(result.get("message") or f"route now serves {self.slot_origins}")

    def verify_public(self) -> Gen:
        detail = yield from verify_app(self.run, self.s.public_url, write=False)
        self.run.measure(duration_seconds=seconds_between(self.run.record.started_at, self.run.iso()))
        return detail

    def complete(self) -> End:
        missing = self.run.record.measurements.get("rows_missing")
        lost = "zero rows lost, verified" if missing == 0 else f"rows lost: {missing}"
        summary = (
            f"failed back to {self.s.primary_region}: {self.home} is primary, {self.replica} its "
            f"replica; {lost}. The next failover, the backup watch, restores and drills find {self.home} "
            "from the replica (no setting to change)."
        )
        status = "succeeded" if missing == 0 else "succeeded-with-warnings"
        return End(status, summary, COMPLETED, page=missing != 0)
