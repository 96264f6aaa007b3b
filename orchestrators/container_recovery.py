"""Container recovery (the DR document's scenario 3): a container fault in a healthy region is not a
regional outage. Restart the group and verify; if it still fails, roll it back to the previous image; if
that fails, re-create it from its definition (stop, then start: a fresh allocation); page at each
escalation. Never a failover.

observe (the group, whether it is live, the database, the region) -> scope (policy.recovery_scope) ->
confirm (the group's own health, probed N times) -> escalate until healthy (policy.recovery_next).

Input: {run_id, settings, trigger: {kind: alert, signal, reason}, group}. Event "preempt" (a failover).
"""

from __future__ import annotations

import math

import azure.durable_functions as df

from orchestrators import deploy_steps
from orchestrators.deploy_steps import Listener
from orchestrators.toolkit import COMPLETED, REFUSED, STEP_FAILED, End, Gen, Json, Run
from shared import names, policy, releases
from shared.models import Decision, ProbeSnapshot

bp = df.Blueprint()


@bp.function_name(names.CONTAINER_RECOVERY_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def container_recovery_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Recover the app's live container group in place; returns the run's outcome."""
    return (yield from Run(context, "container-recovery").execute(Recovery(context).plan))


class Recovery:
    def __init__(self, context: df.DurableOrchestrationContext) -> None:
        self.group = str(dict(context.get_input() or {}).get("group") or "")

    def plan(self, run: Run) -> Gen:
        listener = Listener(run)
        yield from listener.start()
        seen = yield from run.step("observe", deploy_steps.observe(run, step="observe"))
        run.watched = [("group", (names.CONTAINERS_GET_GROUP, {"group": self.group}))]
        live = seen.slots.live_group == self.group
        group = seen.live if live else seen.groups.get(seen.slots.idle, {})
        found = yield from run.find_primary()
        scope = run.decide(
            "observe",
            policy.recovery_scope(
                database_ok=found.primary is not None,
                region_ok="error" not in group,
                live=live,
                group=self.group,
            ),
        )
        if scope.is_("refuse"):
            run.stop("refused", scope.reason, event=REFUSED, page=True)
        if scope.is_("skip"):
            run.stop("stood-down", scope.reason)
        url = str(group.get("url") or "")
        confirmed = yield from run.step("confirm", self.confirm(run, url))
        if confirmed.is_("recovered"):
            run.stop("stood-down", confirmed.reason, event=COMPLETED)
        live_image = str(group.get("image") or "")
        previous = policy.previous_release(seen.history, live_image)
        fallback = seen.idle.get("image") if seen.idle.get("image") != live_image else None
        previous_image = (
            str(previous.value["image"])
            if previous.is_("found") and isinstance(previous.value, dict)
            else fallback
        )
        done: list[str] = []
        while True:
            listener.checkpoint(done[-1] if done else "confirm")
            step = run.decide(
                "escalate", policy.recovery_next(done, previous_image=previous_image, live_image=live_image)
            )
            if step.is_("page"):
                return End(
                    "failed", f"{self.group} is still unhealthy: {step.reason}", STEP_FAILED, page=True
                )
            if done:
                yield from run.announce(STEP_FAILED, f"{self.group}: {step.reason}", page=True)
            done.append(step.action)
            healthy = yield from run.step(step.action, self.act(run, step.action, previous_image))
            if healthy:
                break
        if done[-1] == "image-rollback" and previous_image:
            event = releases.release_event(
                kind="rollback",
                run_id=run.run_id,
                at=run.iso(),
                image=previous_image,
                slot=seen.slots.live,
                outcome="succeeded",
                from_image=live_image,
                automatic=True,
                reason="container recovery",
                previous_image=None,
            )
            yield from deploy_steps.record_release(run, event)
            yield from run.step("dr-standby", deploy_steps.follow_standby(run, previous_image))
        return End("succeeded", f"{self.group} recovered by {done[-1]} (after {', '.join(done)})")

    def confirm(self, run: Run, url: str) -> Gen:
        """Probe the group's own health until policy.confirm_outage decides (a healthy group stands down)."""
        s, probes = run.settings, list[ProbeSnapshot]()
        decision = Decision("probe", "")
        while True:
            decision = policy.confirm_outage(
                probes, threshold=s.confirm_probes, max_probes=3 * s.confirm_probes
            )
            if not decision.is_("probe"):
                break
            if probes:
                yield from run.pause(s.confirm_interval_seconds)
            probes.append((yield from self.probe(run, url)))
        run.decide("confirm", decision)
        return decision

    def probe(self, run: Run, url: str) -> Gen:
        s = run.settings
        if not url:
            return ProbeSnapshot(self.group, False, at=run.iso(), detail="the group has no address")
        result = yield from run.act(
            names.PROBE_HTTP, {"url": url + s.health_path, "timeout_seconds": s.probe_timeout_seconds}
        )
        return ProbeSnapshot(
            self.group,
            bool(result.get("ok")),
            int(result.get("status") or 0),
            float(result.get("latency_ms") or 0),
            run.iso(),
            str(result.get("error") or ""),
        )

    def act(self, run: Run, step: str, previous_image: str | None) -> Gen:
        """One escalation, then verify: ``recovery_verify_checks`` healthy answers in a row within the
        health deadline. Returns whether the group is healthy."""
        where = {"group": self.group}
        if step == "restart":
            after: Json = yield from run.act(names.CONTAINERS_RESTART_GROUP, where)
        elif step == "image-rollback":
            ensure = {**where, "image": previous_image, "like": self.group, "run_id": run.run_id}
            after = yield from run.act(names.CONTAINERS_ENSURE_GROUP, ensure)
        else:  # recreate: stop and start, a fresh allocation from the group's definition
            yield from run.act(names.CONTAINERS_STOP_GROUP, where)
            after = yield from run.act(names.CONTAINERS_START_GROUP, where)
        return (yield from self.verify(run, str(after.get("url") or "")))

    def verify(self, run: Run, url: str) -> Gen:
        s = run.settings
        interval = max(s.confirm_interval_seconds, 0.1)
        attempts = max(s.recovery_verify_checks, math.ceil(s.health_deadline_seconds / interval) + 1)
        streak: list[bool] = []

        def read() -> Gen:
            snapshot = yield from self.probe(run, url)
            streak.append(snapshot.healthy)
            return streak

        ok, _, calls = yield from run.poll(
            read,
            lambda s_: len(s_) >= s.recovery_verify_checks and all(s_[-s.recovery_verify_checks :]),
            attempts=attempts,
            interval=interval,
        )
        said = (
            f"{s.recovery_verify_checks} healthy answers in a row"
            if ok
            else f"not healthy after {calls} checks"
        )
        run.decide("verify", Decision("healthy" if ok else "unhealthy", f"{self.group}: {said}"))
        return ok
