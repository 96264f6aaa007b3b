"""The failover plan: fail the protected app over to the DR region, deciding with shared.policy.

observe -> confirm (alert runs) -> prepare -> decide (promote mode, lag gate, approval or grace) ->
execute (promote || start standby, secret, restart standby, verify standby, check pool, switch traffic,
verify public) -> fence -> report. Every side effect, probes included, is an activity. A failure before
traffic moved leaves traffic where it was; after it moved, the run pages and never undoes a promotion.

A dry run (an operator's, the monthly failover validation's) does not confirm an outage: it observes,
checks the plan's preconditions (the readiness checks a failover depends on) and decides, changing nothing.

Input: {run_id, settings, trigger: {kind: alert|operator|timer, source, reason, signal, first_signal_at},
mode: auto|planned|forced, dry_run, recent_automatic_failovers: [ISO times]}.
External events: "approval" {answer: approve|reject|cancel, by, note}; "signal" (a HealthSignal dict).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from orchestrators import switchover, tiers
from orchestrators.steps import check_pool, failover_preconditions, rows_missing, verify_app
from orchestrators.toolkit import (
    COMPLETED,
    DRY_RUN,
    POWER_DEADLINE_SECONDS,
    REFUSED,
    End,
    Gen,
    Run,
    StepFailed,
)
from shared import names, policy
from shared.models import Decision, ProbeSnapshot, ReplicaLag, parse_time, seconds_between

bp = df.Blueprint()
PRIMARY_SETTLE_ATTEMPTS, PRIMARY_SETTLE_SECONDS = 20, 15.0  # a primary Updating is observed again


@bp.function_name(names.FAILOVER_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def failover_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Fail the protected app over to the DR region; returns the run's outcome."""
    run = Run(context, "failover")
    plan = Failover(run)
    return (yield from run.execute(plan.plan, announce_start=not plan.dry_run))


def lag_of(result: dict[str, Any]) -> ReplicaLag:
    return ReplicaLag(
        result.get("lag_seconds"), str(result.get("source", "")), str(result.get("measured_at", ""))
    )


class Failover:
    """One failover run's state, rebuilt on every replay; its steps are written on ``run``."""

    def __init__(self, run: Run, *, dry_run: bool = False) -> None:
        self.run, self.s = run, run.settings
        run.checkpoints = frozenset({"prepare", "promote", "switch_traffic"})
        self.mode = str(run.input.get("mode") or "auto")
        self.dry_run = dry_run or bool(run.input.get("dry_run"))
        self.primary = self.s.primary_server  # the server the replica follows, once observed
        self.replica = self.s.replica_server
        self.primary_url = ""
        self.primary_probes: list[ProbeSnapshot] = []
        self.primary_state = "unknown"
        self.lag = ReplicaLag(None, "unavailable")
        self.approved = False  # an operator approved this failover
        self.waited = False

    @property
    def first_signal_at(self) -> str:
        return str(self.run.trigger.get("first_signal_at") or self.run.record.started_at)

    def watched(self) -> list[tuple[str, tuple[str, dict[str, Any]]]]:
        return [
            ("route", (names.TRAFFIC_GET_ROUTE, {})),
            ("primary_server", (names.DATABASE_GET_SERVER, {"server": self.primary})),
            ("replica_server", (names.DATABASE_GET_SERVER, {"server": self.replica})),
            ("standby_group", (names.CONTAINERS_GET_GROUP, {"group": self.s.container_group_standby})),
        ]

    # ---- the plan -------------------------------------------------------------------------------------
    def plan(self, run: Run) -> Gen:
        run.watched = [] if self.dry_run else self.watched()
        yield from run.step("observe", self.observe())
        run.watched = [] if self.dry_run else self.watched()  # the primary the replica follows, now known
        if run.trigger_kind != "operator" and not self.dry_run:
            self.check_budget()
            yield from run.step("confirm", self.confirm())
        yield from run.step("prepare", self.prepare())
        if self.dry_run:
            yield from run.step("preconditions", failover_preconditions(run))
        promote = yield from self.decide()
        if self.dry_run:
            return self.dry_run_end(promote)
        yield from self.execute(promote)
        yield from run.step("fence", self.fence(promote))
        since, public = self.first_signal_at, self.s.public_url  # after fencing: a tier may take hours
        yield from run.step("tier_rto", tiers.measure_tiers(run, base_url=public, since=since))
        return self.complete()

    # ---- observe and confirm --------------------------------------------------------------------------
    def observe(self) -> Gen:
        """Where traffic goes, which server the replica follows, and the primary slots' addresses."""
        run, s = self.run, self.s
        slots = [s.container_group_blue, s.container_group_green]
        route, replica, *groups = yield from run.gather(
            [(names.TRAFFIC_GET_ROUTE, {}), (names.DATABASE_GET_SERVER, {"server": self.replica})]
            + [(names.CONTAINERS_GET_GROUP, {"group": g}) for g in slots],
            safely=True,
        )
        if "error" in route:
            raise StepFailed("observe", str(route["error"]))
        run.record.observed("before", "route", route)
        self.follow(replica)
        yield from self.check_followed(replica)
        live = str(route.get("origin_group", ""))
        if live == s.frontdoor_origin_group_standby:
            run.stop("stood-down", "traffic already serves from the DR region: nothing to fail over")
        live_group = (
            s.container_group_green if live == s.frontdoor_origin_group_green else s.container_group_blue
        )
        self.primary_url = str(groups[slots.index(live_group)].get("url") or "")
        return f"traffic on {live} ({live_group})"

    def follow(self, replica: dict[str, Any]) -> None:
        """The primary is the server the replica follows (after a failback it is not the configured one)."""
        source = str(replica.get("source_server") or "")
        if replica.get("role") == "replica" and source and source != self.primary:
            self.primary = source
            reason = f"the replica {self.replica} follows {source}: {source} is the primary"
            self.run.decide("observe", Decision("primary", reason))

    def check_followed(self, replica: dict[str, Any]) -> Gen:
        """Refuse (and page) when the replica follows a server that is no longer the primary.

        After a point-in-time restore with switch, the database secret points at the restored server
        while the replica still follows the old one: promoting it would undo the restore. When the
        primary found now (shared.estate.find_primary) names no primary (an outage, an unreadable
        server), the run goes on as before.
        """
        followed = str(replica.get("source_server") or "")
        if replica.get("role") != "replica" or not followed:
            return
        found = yield from self.run.find_primary()
        if found.primary is None or found.primary.server == followed:
            return
        current = found.primary.server
        reason = (
            f"refusing to fail over: the replica {self.replica} follows {followed}, but the current "
            f"primary is {current} ({found.decision.reason}); promoting {self.replica} would serve "
            f"data older than {current}. Rebuild the DR replica from {current}, then run again"
        )
        self.run.decide("observe", Decision("refuse", reason))
        self.run.stop("refused", reason, event=REFUSED, page=True)

    def check_budget(self) -> None:
        """Safety rule 7 for automatic runs: refuse (and page) past the allowed failovers per window."""
        recent = [parse_time(t) for t in self.run.input.get("recent_automatic_failovers", [])]
        decision = self.run.decide(
            "budget",
            policy.failover_budget(
                recent,
                now=self.run.now(),
                max_per_window=self.s.max_auto_failovers,
                window_seconds=self.s.auto_failover_window_hours * 3600,
            ),
        )
        if decision.is_("refuse"):
            self.run.stop("refused", decision.reason, event=REFUSED, page=True)

    def confirm(self) -> Gen:
        run, interval = self.run, self.s.confirm_interval_seconds
        run.set_awaiting("confirmation" if interval > 0 else "")
        decision = self.confirmation()
        while decision.is_("probe"):
            if self.primary_probes:
                yield from self.pause(interval)
            if not run.resolved:
                self.primary_probes.append((yield from self.probe_primary()))
            decision = self.confirmation()
        run.set_awaiting("")
        run.decide("confirm", decision)
        if decision.is_("recovered"):
            run.stop("stood-down", decision.reason, event=COMPLETED)
        return decision.reason

    def confirmation(self) -> Decision:
        threshold = self.s.confirm_probes
        return policy.confirm_outage(
            self.primary_probes, threshold=threshold, max_probes=3 * threshold, resolved=self.run.resolved
        )

    def probe_primary(self) -> Gen:
        if not self.primary_url:
            return ProbeSnapshot(
                "primary", False, detail="the primary slot has no address", at=self.run.iso()
            )
        url = self.primary_url + self.s.database_health_path
        result = yield from self.run.act(
            names.PROBE_HTTP, {"url": url, "timeout_seconds": self.s.probe_timeout_seconds}
        )
        return ProbeSnapshot(
            target=str(result.get("url", "")),
            healthy=bool(result.get("ok")),
            status=int(result.get("status") or 0),
            latency_ms=float(result.get("latency_ms") or 0),
            at=self.run.iso(),
            detail=str(result.get("error") or ""),
        )

    # ---- prepare and decide ---------------------------------------------------------------------------
    def prepare(self) -> Gen:
        reads = [
            (names.DATABASE_GET_REPLICATION_LAG, {"server": self.replica}),
            (names.DATABASE_GET_SERVER, {"server": self.primary}),
        ]
        if not self.dry_run:
            reads.append((names.CONTAINERS_START_GROUP, {"group": self.s.container_group_standby}))
        lag, server, *_ = yield from self.run.gather(reads)
        self.lag = lag_of(lag)
        self.primary_state = str(server.get("state", "unknown"))
        for _ in range(PRIMARY_SETTLE_ATTEMPTS):  # Updating (a replica create, a promote): observe again
            if self.primary_state.lower() not in policy.TRANSITIONAL_STATES:
                break
            yield from self.run.pause(PRIMARY_SETTLE_SECONDS)
            server = yield from self.run.observe(names.DATABASE_GET_SERVER, {"server": self.primary})
            self.primary_state = str(server.get("state", "unknown"))
        self.run.record.observed("before", "primary_server", server)
        if not self.primary_probes:
            self.primary_probes.append((yield from self.probe_primary()))
        return f"replica lag {self.lag.seconds} s; primary server {self.primary_state}"

    @property
    def primary_reachable(self) -> bool:
        last = self.primary_probes[-1] if self.primary_probes else None
        return self.primary_state.lower() == "ready" and last is not None and last.healthy

    def decide(self) -> Gen:
        run = self.run
        promote = run.decide(
            "decide", policy.promote_mode(requested=self.mode, primary_reachable=self.primary_reachable)
        )
        if promote.is_("refuse"):
            run.stop("refused", promote.reason, event=REFUSED, page=run.trigger_kind != "operator")
        lag = run.decide("decide", policy.lag_gate(self.lag, rpo_seconds=self.s.rpo_minutes * 60))
        gate = run.decide(
            "decide",
            policy.approval(
                trigger_kind=run.trigger_kind, failover_mode=self.s.failover_mode, promote=promote, lag=lag
            ),
        )
        if self.dry_run:
            return promote
        if gate.is_("approval"):
            self.waited = True
            yield from run.step("approval", run.await_approval(gate))
            self.approved = True
        else:
            yield from run.step("grace", self.grace())
        if self.waited and promote.is_("forced"):
            yield from run.step("recheck_lag", self.recheck_lag())
        return promote

    def recheck_lag(self) -> Gen:
        """After a wait, the lag gate again on a fresh reading (rule 3 holds at the moment of promotion)."""
        run = self.run
        self.lag = lag_of((yield from run.act(names.DATABASE_GET_REPLICATION_LAG, {"server": self.replica})))
        lag = run.decide("recheck_lag", policy.lag_gate(self.lag, rpo_seconds=self.s.rpo_minutes * 60))
        if lag.is_("exceeded") and not self.approved:
            gate = policy.approval(
                trigger_kind="alert", failover_mode="auto", promote=Decision("forced", ""), lag=lag
            )
            yield from run.await_approval(run.decide("recheck_lag", gate))
            self.approved = True
        return lag.reason

    def grace(self) -> Gen:
        """Wait the grace period out (alerts flapping inside it are absorbed; an operator's answer ends
        it), then decide on what holds at its end: every alert resolved, or the primary answering."""
        run, seconds = self.run, self.s.grace_period_seconds
        wait = run.decide(
            "grace",
            policy.grace(
                trigger_kind=run.trigger_kind,
                grace_seconds=seconds,
                rto_seconds=self.s.rto_tier1_minutes * 60,
            ),
        )
        if wait.is_("skip"):
            return wait.reason
        self.waited = True
        run.set_awaiting("grace", seconds)
        answer = yield from run.wait_for_events(seconds, whole=True)  # a flap inside it is absorbed
        run.set_awaiting("")
        approved = answer is not None and answer.is_("proceed")
        self.approved = approved
        if answer is not None and not approved:
            run.stop("stopped", answer.reason, event=COMPLETED)
        probe = (yield from self.probe_primary()) if not (approved or run.resolved) else None
        after = policy.after_grace(
            probe or ProbeSnapshot("primary", False), resolved=run.resolved, approved=approved
        )
        run.decide("grace", after)
        if after.is_("stand-down"):
            run.stop("stood-down", after.reason, event=COMPLETED)
        return after.reason

    def dry_run_end(self, promote: Decision) -> End:
        plan = [
            "promote replica (" + promote.action + ") || start standby",
            "point database secret",
            "restart standby",
            "verify standby",
            "check standby origin group",
            "switch traffic",
            "verify public endpoint",
            "fence old primary",
            "measure each tier's RTO through the public endpoint",
            "report",
        ]
        self.run.record.extra["plan"] = plan
        return End(DRY_RUN, "dry run: nothing was changed", event="")

    # ---- execute --------------------------------------------------------------------------------------
    def execute(self, promote: Decision) -> Gen:
        run, standby = self.run, self.s.container_group_standby
        planned, before = promote.is_("planned"), None
        if planned:  # a switchover: its virtual endpoint, and the secret on the writer that follows it
            before = yield from switchover.prepare(
                run, primary={"server": self.primary}, replica={"server": self.replica}
            )
        yield from run.step("promote", self.promote(promote))
        if planned:
            new = {"server": self.replica}
            yield from run.step("zero_loss", switchover.verify_zero_loss(run, new_primary=new, before=before))
        yield from run.step("count_rows", self.count_rows())
        secret = {"server": self.replica, **({"endpoint": "writer"} if planned else {})}
        yield from run.step("point_secret", run.act(names.SECRETS_POINT_DATABASE_URL, secret))
        group = yield from run.step(
            "restart_standby", run.act(names.CONTAINERS_RESTART_GROUP, {"group": standby})
        )
        yield from run.step("verify_standby", verify_app(run, str(group.get("url") or ""), write=True))
        yield from run.step("check_pool", check_pool(run, self.s.frontdoor_origin_group_standby))
        yield from run.step("switch_traffic", self.switch_traffic())
        yield from run.step("verify_public", self.verify_public())

    def promote(self, promote: Decision) -> Gen:
        run = self.run
        run.measure(replica_lag_at_promotion_seconds=self.lag.seconds, promote_mode=promote.action)
        operation = "switchover" if promote.is_("planned") else "standalone"
        request = {"server": self.replica, "mode": promote.action, "operation": operation}
        standby = {"group": self.s.container_group_standby}
        promoted, _ = yield from run.gather(
            [(names.DATABASE_PROMOTE_REPLICA, request), (names.CONTAINERS_START_GROUP, standby)]
        )
        run.promoted = True
        return str(promoted.get("message") or f"{self.replica} promoted ({promote.action})")

    def count_rows(self) -> Gen:
        """Rows on the old primary that the new one lacks, where both can be counted (a planned move)."""
        run = self.run
        if not self.primary_reachable:
            run.measure(rows_missing=None)
            return "rows not countable: the old primary does not answer"
        new, old = yield from run.gather(
            [
                (names.DATABASE_RUN_CHECKS, {"server": self.replica}),
                (names.DATABASE_RUN_CHECKS, {"server": self.primary}),
            ],
            safely=True,
        )
        missing = rows_missing(old.get("counts"), new.get("counts"))
        run.measure(rows_missing=missing)
        if missing is None:
            return "rows not countable: the old primary cannot be read"
        return f"{missing} rows of the old primary missing on the new one"

    def switch_traffic(self) -> Gen:
        target = self.s.frontdoor_origin_group_standby
        result = yield from self.run.act(names.TRAFFIC_SWITCH_ROUTE, {"origin_group": target})
        self.run.traffic_moved = True
        return str(result.get("message") or f"route now serves {target}")

    def verify_public(self) -> Gen:
        run = self.run
        detail = yield from verify_app(run, self.s.public_url, write=False)
        healthy_at = run.iso()
        rto = seconds_between(self.first_signal_at, healthy_at)
        run.measure(healthy_at=healthy_at, first_signal_at=self.first_signal_at, rto_seconds=rto)
        return detail

    # ---- fence and finish -----------------------------------------------------------------------------
    def fence(self, promote: Decision) -> Gen:
        run = self.run
        server = yield from run.observe(names.DATABASE_GET_SERVER, {"server": self.primary})
        decision = run.decide(  # re-observed: a switchover made it a replica, or not
            "fence",
            policy.fence(
                promote=promote.action,
                old_primary_role=str(server.get("role", "")),
                old_primary_state=str(server.get("state", "")),
            ),
        )
        if decision.is_("skip"):
            return decision.reason
        try:
            stop = {"server": self.primary}
            result = yield from run.act_long(
                names.DATABASE_STOP_SERVER, stop, deadline_seconds=POWER_DEADLINE_SECONDS
            )
        except Exception as exc:
            run.record.warn(f"fence failed: {self.primary} could not be stopped ({exc}); stop it by hand")
            return run.record.warnings[-1]
        return str(result.get("message") or f"{self.primary} stopped")

    def complete(self) -> End:
        run = self.run
        mode = run.record.measurements.get("promote_mode", "")
        rpo = 0.0 if mode == "planned" else self.lag.seconds  # planned: a switchover loses nothing
        run.measure(rpo_seconds=rpo)
        run.measure(
            rto_objective_seconds=self.s.rto_tier1_minutes * 60, rpo_objective_seconds=self.s.rpo_minutes * 60
        )
        verdict = policy.objectives_verdict(
            rto_seconds=run.record.measurements.get("rto_seconds"),
            rpo_seconds=rpo,
            rto_goal=self.s.rto_tier1_minutes * 60,
            rpo_goal=self.s.rpo_minutes * 60,
        )
        run.decide("report", verdict)
        warnings = run.record.warnings
        summary = f"failed over to {self.s.secondary_region}: {verdict.reason}" + "".join(
            f"; {w}" for w in warnings
        )
        return End(
            "succeeded-with-warnings" if warnings else "succeeded", summary, COMPLETED, page=bool(warnings)
        )

    # ---- helpers --------------------------------------------------------------------------------------
    def pause(self, seconds: float) -> Gen:
        """Wait between confirmation probes; a resolved alert ends the wait, a cancel ends the run."""
        if seconds > 0:
            answer = yield from self.run.wait_for_events(seconds)
            if answer is not None and answer.is_("stop"):
                self.run.stop("cancelled", answer.reason)
