"""The failover plan as a Durable orchestration: a deterministic generator that decides with shared.policy.

observe -> confirm (alert runs) -> prepare -> decide (promote mode, lag gate, approval or grace) ->
execute (promote || start standby, secret, restart standby, verify standby, check pool, switch traffic,
verify public) -> fence -> report. Every side effect, probes included, is an activity. A failure before
traffic moved leaves traffic where it was; after it moved, the run pages and never undoes a promotion.

Input: {run_id, settings: Settings.to_dict(), trigger: {kind: alert|operator, source, reason, signal,
first_signal_at}, mode: auto|planned|forced, dry_run, recent_automatic_failovers: [ISO times]}.
External events: "approval" {answer: approve|reject|cancel, by, note}; "signal" (a HealthSignal dict).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from orchestrators.flow import Flow, StepFailed, Stop
from shared import names, policy
from shared.backups import find_primary
from shared.config import Settings
from shared.models import Decision, ProbeSnapshot, ReplicaLag, parse_time
from shared.reports import COMPLETED, REFUSED, STARTED, announce, seconds_between

bp = df.Blueprint()

Gen = Generator[Any, Any, Any]


@bp.function_name(names.FAILOVER_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def failover_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Fail the protected app over to the DR region; returns the run's outcome."""
    return (yield from Failover(context).run())


class Failover(Flow):
    """One failover run. State lives only in this object and is rebuilt on every replay."""

    operation = "failover"
    checkpoints = frozenset({"prepare", "promote", "switch_traffic"})

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.mode = str(self.input.get("mode") or "auto")
        self.dry_run = bool(self.input.get("dry_run"))
        self.primary_url = ""
        self.primary_probes: list[ProbeSnapshot] = []
        self.primary_state = "unknown"
        self.lag = ReplicaLag(None, "unavailable")
        self.approved = False  # an operator approved this failover

    # ---- the plan -------------------------------------------------------------------------------------
    def run(self) -> Gen:
        try:
            if not self.dry_run:
                yield from announce(self.context, self.log, STARTED, self.trigger_text())
            yield from self.step("observe", self.observe())
            if self.trigger_kind != "operator":
                self.check_budget()
                yield from self.step("confirm", self.confirm())
            yield from self.step("prepare", self.prepare())
            promote = yield from self.decide()
            if self.dry_run:
                return self.finish_dry_run(promote)
            yield from self.execute(promote)
            yield from self.step("fence", self.fence(promote))
            return (yield from self.complete())
        except Stop as stop:
            return (yield from self.stopped(stop))
        except StepFailed as failed:
            return (yield from self.failed(failed))

    # ---- observe and confirm --------------------------------------------------------------------------
    def observe(self) -> Gen:
        """Where traffic goes, which server the replica follows, and the primary slots' addresses."""
        slots = [self.settings["container_group_blue"], self.settings["container_group_green"]]
        route, replica, *groups = yield from self.gather_safely(
            [(names.TRAFFIC_GET_ROUTE, {}), (names.DATABASE_GET_SERVER, {"server": self.replica})]
            + [(names.CONTAINERS_GET_GROUP, {"group": g}) for g in slots]
        )
        if "error" in route:
            raise StepFailed("observe", str(route["error"]))
        self.follow(replica)
        yield from self.check_followed(replica)
        live = str(route.get("origin_group", ""))
        self.log.resource("route", route)
        if live == self.settings["frontdoor_origin_group_standby"]:
            self.stop("stood-down", "traffic already serves from the DR region: nothing to fail over")
        self.live_group = self.slot_group(live)
        group = groups[slots.index(self.live_group)]
        self.primary_url = str(group.get("url") or "")
        return f"traffic on {live} ({self.live_group})"

    def follow(self, replica: dict[str, Any]) -> None:
        """The primary is the server the replica follows (after a failback it is not the configured one)."""
        source = str(replica.get("source_server") or "")
        if replica.get("role") == "replica" and source and source != self.primary:
            self.current_primary = source
            reason = f"the replica {self.replica} follows {source}: {source} is the primary"
            self.decide_now("observe", Decision("primary", reason))

    def check_followed(self, replica: dict[str, Any]) -> Gen:
        """Refuse (and page) when the replica follows a server that is no longer the primary.

        After a point-in-time restore with switch, the database secret points at the restored server
        while the replica still follows the old one: promoting it would undo the restore. The current
        primary is found as the backup plans find it (shared.backups.find_primary); when that decision
        names no primary (an outage, an unreadable server) the run goes on as before.
        """
        followed = str(replica.get("source_server") or "")
        if replica.get("role") != "replica" or not followed:
            return
        decision = yield from find_primary(self.context, Settings.from_dict(self.settings))
        if decision.action != "primary" or decision.primary == followed:
            return
        reason = (
            f"refusing to fail over: the replica {self.replica} follows {followed}, but the current "
            f"primary is {decision.primary} ({decision.reason}); promoting {self.replica} would serve "
            f"data older than {decision.primary}. Rebuild the DR replica from {decision.primary}, "
            "then run again"
        )
        self.decide_now("observe", Decision("refuse", reason))
        self.stop("refused", reason, event=REFUSED, page=True)

    def check_budget(self) -> None:
        """Safety rule 7 for automatic runs: refuse (and page) past the allowed failovers per window."""
        recent = [parse_time(t) for t in self.input.get("recent_automatic_failovers", [])]
        decision = policy.failover_budget(
            recent,
            now=self.now(),
            max_per_window=int(self.settings["max_auto_failovers"]),
            window_seconds=float(self.settings["auto_failover_window_hours"]) * 3600,
        )
        self.decide_now("budget", decision)
        if decision.is_("refuse"):
            self.stop("refused", decision.reason, event=REFUSED, page=True)

    def confirm(self) -> Gen:
        interval = float(self.settings["confirm_interval_seconds"])
        self.set_awaiting("confirmation" if interval > 0 else "")
        decision = self.confirmation()
        while decision.is_("probe"):
            if self.primary_probes:
                yield from self.pause(interval)
            if not self.resolved:
                self.primary_probes.append((yield from self.probe_primary()))
            decision = self.confirmation()
        self.set_awaiting("")
        self.decide_now("confirm", decision)
        if decision.is_("recovered"):
            self.stop("stood-down", decision.reason, event=COMPLETED)
        return decision.reason

    def confirmation(self) -> Decision:
        threshold = int(self.settings["confirm_probes"])
        return policy.confirm_outage(
            self.primary_probes, threshold=threshold, max_probes=3 * threshold, resolved=self.resolved
        )

    def probe_primary(self) -> Gen:
        url = self.primary_url + self.settings["database_health_path"] if self.primary_url else ""
        if not url:
            return ProbeSnapshot("primary", False, detail="the primary slot has no address", at=self.iso())
        result = yield from self.act(names.PROBE_HTTP, {"url": url, "timeout_seconds": self.probe_timeout})
        return self.snapshot(result)

    # ---- prepare and decide ---------------------------------------------------------------------------
    def prepare(self) -> Gen:
        standby = self.settings["container_group_standby"]
        reads = [
            self.context.call_activity(names.DATABASE_GET_REPLICATION_LAG, {"server": self.replica}),
            self.context.call_activity(names.DATABASE_GET_SERVER, {"server": self.primary}),
        ]
        if not self.dry_run:
            reads.append(self.context.call_activity(names.CONTAINERS_START_GROUP, {"group": standby}))
        results = yield from self.gather(reads)
        lag, server = results[0], results[1]
        self.lag = ReplicaLag(
            lag.get("lag_seconds"), str(lag.get("source", "")), str(lag.get("measured_at", ""))
        )
        self.primary_state = str(server.get("state", "unknown"))
        self.log.resource("primary_server", server)
        if not self.primary_probes:
            self.primary_probes.append((yield from self.probe_primary()))
        return f"replica lag {self.lag.seconds} s; primary server {self.primary_state}"

    @property
    def primary_reachable(self) -> bool:
        last = self.primary_probes[-1] if self.primary_probes else None
        return self.primary_state.lower() == "ready" and last is not None and last.healthy

    def decide(self) -> Gen:
        promote = self.decide_now(
            "decide", policy.promote_mode(requested=self.mode, primary_reachable=self.primary_reachable)
        )
        if promote.is_("refuse"):
            self.stop("refused", promote.reason, event=REFUSED, page=self.trigger_kind != "operator")
        lag = self.decide_now("decide", policy.lag_gate(self.lag, rpo_seconds=self.rpo_seconds))
        gate = self.decide_now(
            "decide",
            policy.approval(
                trigger_kind=self.trigger_kind,
                failover_mode=str(self.settings["failover_mode"]),
                promote=promote,
                lag=lag,
            ),
        )
        if self.dry_run:
            return promote
        if gate.is_("approval"):
            yield from self.step("approval", self.await_approval(gate))
            self.approved = True
        else:
            yield from self.step("grace", self.grace())
        if self.waited and promote.is_("forced"):
            yield from self.step("recheck_lag", self.recheck_lag())
        return promote

    def read_lag(self) -> Gen:
        lag = yield from self.act(names.DATABASE_GET_REPLICATION_LAG, {"server": self.replica})
        return ReplicaLag(lag.get("lag_seconds"), str(lag.get("source", "")), str(lag.get("measured_at", "")))

    def recheck_lag(self) -> Gen:
        """After a wait, the lag gate again on a fresh reading (rule 3 holds at the moment of promotion)."""
        self.lag = yield from self.read_lag()
        lag = self.decide_now("recheck_lag", policy.lag_gate(self.lag, rpo_seconds=self.rpo_seconds))
        if lag.is_("exceeded") and not self.approved:
            gate = policy.approval(
                trigger_kind="alert", failover_mode="auto", promote=Decision("forced", ""), lag=lag
            )
            yield from self.await_approval(self.decide_now("recheck_lag", gate))
            self.approved = True
        return lag.reason

    def grace(self) -> Gen:
        wait = self.decide_now(
            "grace",
            policy.grace(
                trigger_kind=self.trigger_kind,
                grace_seconds=float(self.settings["grace_period_seconds"]),
                rto_seconds=self.rto_goal,
            ),
        )
        if wait.is_("skip"):
            return wait.reason
        self.waited = True
        self.set_awaiting("grace")
        answer = yield from self.wait_for_events(float(self.settings["grace_period_seconds"]))
        self.set_awaiting("")
        approved = answer is not None and answer.is_("proceed")
        self.approved = approved
        if answer is not None and not approved:
            self.stop("stopped", answer.reason, event=COMPLETED)
        probe = (yield from self.probe_primary()) if not (approved or self.resolved) else None
        after = policy.after_grace(
            probe or ProbeSnapshot("primary", False), resolved=self.resolved, approved=approved
        )
        self.decide_now("grace", after)
        if after.is_("stand-down"):
            self.stop("stood-down", after.reason, event=COMPLETED)
        return after.reason

    def finish_dry_run(self, promote: Decision) -> dict[str, Any]:
        plan = [
            "promote replica (" + promote.action + ") || start standby",
            "point database secret",
            "restart standby",
            "verify standby",
            "check standby origin group",
            "switch traffic",
            "verify public endpoint",
            "fence old primary",
            "report",
        ]
        self.log.finish("dry-run", self.now(), "dry run: nothing was changed")
        self.set_status()
        return {"run_id": self.run_id, "dry_run": True, "plan": plan, "decisions": self.log.decisions}

    # ---- execute --------------------------------------------------------------------------------------
    def execute(self, promote: Decision) -> Gen:
        yield from self.step("promote", self.promote(promote))
        yield from self.step("count_rows", self.count_rows())
        yield from self.step(
            "point_secret", self.act(names.SECRETS_POINT_DATABASE_URL, {"server": self.replica})
        )
        standby = self.settings["container_group_standby"]
        group = yield from self.step(
            "restart_standby", self.act(names.CONTAINERS_RESTART_GROUP, {"group": standby})
        )
        yield from self.step(
            "verify_standby", self.verify_app(str((group or {}).get("url") or ""), write=True)
        )
        yield from self.step("check_pool", self.check_pool())
        yield from self.step("switch_traffic", self.switch_traffic())
        yield from self.step("verify_public", self.verify_public())

    def promote(self, promote: Decision) -> Gen:
        self.log.measure(replica_lag_at_promotion_seconds=self.lag.seconds, promote_mode=promote.action)
        operation = "switchover" if promote.is_("planned") else "standalone"
        request = {"server": self.replica, "mode": promote.action, "operation": operation}
        standby = {"group": self.settings["container_group_standby"]}
        results = yield from self.gather(
            [
                self.context.call_activity(names.DATABASE_PROMOTE_REPLICA, request),
                self.context.call_activity(names.CONTAINERS_START_GROUP, standby),
            ],
            retry=[(names.DATABASE_PROMOTE_REPLICA, request), (names.CONTAINERS_START_GROUP, standby)],
        )
        self.promoted = True
        return str(results[0].get("message") or f"{self.replica} promoted ({promote.action})")

    def count_rows(self) -> Gen:
        """Rows on the old primary that the new one lacks, where both can be counted (a planned move)."""
        if not self.primary_reachable:
            self.log.measure(rows_missing=None)
            return "rows not countable: the old primary does not answer"
        new, old = yield from self.gather_safely(
            [
                (names.DATABASE_RUN_CHECKS, {"server": self.replica}),
                (names.DATABASE_RUN_CHECKS, {"server": self.primary}),
            ]
        )
        missing = rows_missing(old.get("counts"), new.get("counts"))
        self.log.measure(rows_missing=missing)
        if missing is None:
            return "rows not countable: the old primary cannot be read"
        return f"{missing} rows of the old primary missing on the new one"

    def check_pool(self) -> Gen:
        target = self.settings["frontdoor_origin_group_standby"]
        decision = Decision("refuse", "")
        for _ in range(self.poll_attempts):
            pool = yield from self.act(names.TRAFFIC_LIST_HEALTHY_ORIGINS, {"origin_group": target})
            decision = policy.route_traffic(
                target=target,
                healthy_origins=int(pool.get("healthy_count", 0)),
                total_origins=len(pool.get("origins", [])),
            )
            if decision.is_("switch"):
                break
            yield from self.pause(self.poll_interval)
        self.decide_now("check_pool", decision)
        if decision.is_("refuse"):
            raise StepFailed("check_pool", decision.reason)
        return decision.reason

    def switch_traffic(self) -> Gen:
        target = self.settings["frontdoor_origin_group_standby"]
        result = yield from self.act(names.TRAFFIC_SWITCH_ROUTE, {"origin_group": target})
        self.traffic_moved = True
        return str(result.get("message") or f"route now serves {target}")

    def verify_public(self) -> Gen:
        detail = yield from self.verify_app(self.settings["public_url"], write=False)
        healthy_at = self.iso()
        rto = seconds_between(self.first_signal_at, healthy_at)
        self.log.measure(healthy_at=healthy_at, first_signal_at=self.first_signal_at, rto_seconds=rto)
        return detail

    # ---- fence and finish -----------------------------------------------------------------------------
    def fence(self, promote: Decision) -> Gen:
        server = yield from self.observe_safely(names.DATABASE_GET_SERVER, {"server": self.primary})
        role = str(server.get("role", ""))  # re-observed: a switchover made it a replica, or not
        decision = self.decide_now(
            "fence",
            policy.fence(
                promote=promote.action, old_primary_role=role, old_primary_state=str(server.get("state", ""))
            ),
        )
        if decision.is_("skip"):
            return decision.reason
        try:
            result = yield from self.act(names.DATABASE_STOP_SERVER, {"server": self.primary})
        except Exception as exc:
            self.warnings.append(
                f"fence failed: {self.primary} could not be stopped ({exc}); stop it by hand"
            )
            return self.warnings[-1]
        return str(result.get("message") or f"{self.primary} stopped")

    def complete(self) -> Gen:
        rpo = rpo_seconds(self.lag.seconds, self.log.measurements.get("promote_mode", ""))
        self.log.measure(rpo_seconds=rpo)
        verdict = policy.objectives_verdict(
            rto_seconds=self.log.measurements.get("rto_seconds"),
            rpo_seconds=rpo,
            rto_goal=self.rto_goal,
            rpo_goal=self.rpo_seconds,
        )
        self.decide_now("report", verdict)
        status = "succeeded" if not self.warnings else "succeeded-with-warnings"
        summary = f"failed over to {self.settings['secondary_region']}: {verdict.reason}"
        summary += "".join(f"; {w}" for w in self.warnings)
        return (yield from self.finish(status, summary, COMPLETED, page=bool(self.warnings)))

    # ---- helpers --------------------------------------------------------------------------------------
    def slot_group(self, origin_group: str) -> str:
        """The container group behind a live origin group (blue or green slot)."""
        if origin_group == self.settings["frontdoor_origin_group_green"]:
            return str(self.settings["container_group_green"])
        return str(self.settings["container_group_blue"])

    def pause(self, seconds_: float) -> Gen:
        """Wait between confirmation probes; a resolved alert ends the wait, a cancel ends the run."""
        if seconds_ > 0:
            answer = yield from self.wait_for_events(seconds_)
            if answer is not None and answer.is_("stop"):
                self.stop("cancelled", answer.reason)


def rows_missing(old: dict[str, int] | None, new: dict[str, int] | None) -> int | None:
    """Rows counted on the old primary beyond those on the new one, summed over the critical tables."""
    if not old or not new:
        return None
    return sum(max(0, int(n) - int(new.get(table, 0))) for table, n in old.items())


def rpo_seconds(lag: float | None, promote_mode: str) -> float | None:
    """The RPO achieved: zero for a planned switchover, else the replica's lag at promotion."""
    if promote_mode == "planned":
        return 0.0
    return lag
