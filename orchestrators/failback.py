"""The failback plan as a Durable orchestration: a planned, operator-started return to the home region.

observe -> create a replica of the current primary in the home region -> wait until it has caught up ->
planned switchover (the DR server becomes its replica) -> count rows on both (zero lost, verified) ->
point the secret -> restart the home slot -> verify it -> check its origin group -> switch traffic ->
verify the public endpoint -> report. Nothing is deleted; the old fenced primary stays stopped.

Input: {run_id, settings, trigger: {kind: operator, reason, by}, slot: blue|green}.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from orchestrators.failover import rows_missing
from orchestrators.flow import Flow, StepFailed, Stop
from shared import names, policy
from shared.models import Decision, ReplicaLag
from shared.reports import COMPLETED, REFUSED, STARTED, announce, seconds_between

bp = df.Blueprint()

Gen = Generator[Any, Any, Any]


@bp.function_name(names.FAILBACK_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def failback_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Return the protected app to its home region with zero data loss; returns the run's outcome."""
    return (yield from Failback(context).run())


class Failback(Flow):
    """One failback run."""

    operation = "failback"
    checkpoints = frozenset({"observe", "create_replica", "catch_up", "switchover", "switch_traffic"})

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        slot = str(self.input.get("slot") or "blue")
        self.slot_group = str(self.settings[f"container_group_{slot}"])
        self.slot_origins = str(self.settings[f"frontdoor_origin_group_{slot}"])
        self.home_rg = str(self.settings["primary_resource_group"])
        self.home = str(self.input.get("target_server") or "")

    def run(self) -> Gen:
        try:
            yield from announce(self.context, self.log, STARTED, self.trigger_text())
            yield from self.step("observe", self.observe())
            yield from self.step("create_replica", self.create_replica())
            yield from self.step("catch_up", self.catch_up())
            yield from self.step("switchover", self.switchover())
            yield from self.step("count_rows", self.count_rows())
            yield from self.step("point_secret", self.act(names.SECRETS_POINT_DATABASE_URL, self.at_home()))
            yield from self.step("restart_slot", self.restart_slot())
            yield from self.step("check_pool", self.check_pool())
            yield from self.step("switch_traffic", self.switch_traffic())
            yield from self.step("verify_public", self.verify_public())
            return (yield from self.complete())
        except Stop as stop:
            return (yield from self.stopped(stop))
        except StepFailed as failed:
            return (yield from self.failed(failed))

    def at_home(self) -> dict[str, Any]:
        return {"server": self.home, "resource_group": self.home_rg}

    def observe(self) -> Gen:
        route = yield from self.act(names.TRAFFIC_GET_ROUTE, {})
        self.log.resource("route", route)
        away = route.get("origin_group") == self.settings["frontdoor_origin_group_standby"]
        region = self.settings["secondary_region"] if away else self.settings["primary_region"]
        decision = self.decide_now(
            "observe",
            policy.failback_allowed(primary_region=region, home_region=self.settings["primary_region"]),
        )
        if decision.is_("refuse"):
            self.stop("refused", decision.reason, event=REFUSED)
        if not self.home:
            self.home = f"{self.settings['primary_server']}-fb{self.context.new_uuid()[:6]}"
        return decision.reason

    def create_replica(self) -> Gen:
        request = {
            "source": self.replica,
            "target": self.home,
            "run_id": self.run_id,
            "location": self.settings["primary_region"],
            "resource_group": self.home_rg,
            "source_resource_group": self.settings["secondary_resource_group"],
        }
        result = yield from self.act(names.DATABASE_CREATE_REPLICA, request)
        self.log.resource("home_server", {"name": self.home, "state": result.get("state")})
        return str(result.get("message") or f"replica {self.home} of {self.replica} created")

    def catch_up(self) -> Gen:
        decision = Decision("wait", "")
        for attempt in range(self.poll_attempts):
            if attempt:
                yield from self.wait_for_events(self.poll_interval, approvals=False)
            lag = yield from self.act(names.DATABASE_GET_REPLICATION_LAG, self.at_home())
            decision = policy.caught_up(ReplicaLag(lag.get("lag_seconds"), str(lag.get("source", ""))))
            if decision.is_("ready"):
                break
        self.decide_now("catch_up", decision)
        if not decision.is_("ready"):
            raise StepFailed("catch_up", decision.reason)
        return decision.reason

    def switchover(self) -> Gen:
        request = {**self.at_home(), "mode": "planned", "operation": "switchover"}
        result = yield from self.act(names.DATABASE_PROMOTE_REPLICA, request)
        self.promoted = True
        return str(result.get("message") or f"{self.home} is primary; {self.replica} is its replica")

    def count_rows(self) -> Gen:
        home, away = yield from self.gather_safely(
            [
                (names.DATABASE_RUN_CHECKS, self.at_home()),
                (names.DATABASE_RUN_CHECKS, {"server": self.replica}),
            ]
        )
        missing = rows_missing(away.get("counts"), home.get("counts"))
        self.log.measure(rows_missing=missing, rpo_seconds=0.0 if missing == 0 else None)
        if missing is None:
            return "rows not countable on both servers"
        return f"{missing} rows of {self.replica} missing on {self.home}"

    def restart_slot(self) -> Gen:
        yield from self.act(names.CONTAINERS_START_GROUP, {"group": self.slot_group})
        group = yield from self.act(names.CONTAINERS_RESTART_GROUP, {"group": self.slot_group})
        return (yield from self.verify_app(str(group.get("url") or ""), write=True))

    def check_pool(self) -> Gen:
        decision = Decision("refuse", "")
        for attempt in range(self.poll_attempts):
            if attempt:
                yield from self.wait_for_events(self.poll_interval, approvals=False)
            pool = yield from self.act(
                names.TRAFFIC_LIST_HEALTHY_ORIGINS, {"origin_group": self.slot_origins}
            )
            decision = policy.route_traffic(
                target=self.slot_origins,
                healthy_origins=int(pool.get("healthy_count", 0)),
                total_origins=len(pool.get("origins", [])),
            )
            if decision.is_("switch"):
                break
        self.decide_now("check_pool", decision)
        if decision.is_("refuse"):
            raise StepFailed("check_pool", decision.reason)
        return decision.reason

    def switch_traffic(self) -> Gen:
        result = yield from self.act(names.TRAFFIC_SWITCH_ROUTE, {"origin_group": self.slot_origins})
        self.traffic_moved = True
        return str(result.get("message") or f"route now serves {self.slot_origins}")

    def verify_public(self) -> Gen:
        detail = yield from self.verify_app(self.settings["public_url"], write=False)
        self.log.measure(duration_seconds=seconds_between(self.log.started_at, self.iso()))
        return detail

    def complete(self) -> Gen:
        missing = self.log.measurements.get("rows_missing")
        lost = "zero rows lost, verified" if missing == 0 else f"rows lost: {missing}"
        summary = (
            f"failed back to {self.settings['primary_region']}: {self.home} is primary, {self.replica} its "
            f"replica; {lost}. The next failover, the backup watch, restores and drills find {self.home} "
            "from the replica (no setting to change)."
        )
        status = "succeeded" if missing == 0 else "succeeded-with-warnings"
        return (yield from self.finish(status, summary, COMPLETED, page=missing != 0))
