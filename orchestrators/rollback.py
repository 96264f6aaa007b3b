"""The emergency rollback: traffic back to the previous release, verified through the public endpoint.

observe -> target (the release the live one followed, or ``to_image``) -> schema check (rule 9; ``force``
with a reason overrides) -> fast path (the previous release's slot still has its image: start it if
stopped, healthy, switch) or guided path (the previous image into the idle slot with the live slot's spec,
healthy, smoke, switch) -> release recorded, the image rolled away from quarantined (rule 10) -> the slot
rolled away from stopped (never deleted) -> the DR standby follows.

It preempts a deploy in flight (the intake queues it on the lock; the deploy stops at its next checkpoint)
and is preempted by a failover (rule 12). Input: {run_id, settings, trigger, to_image, force}.
"""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators import deploy_steps
from orchestrators.deploy_steps import Listener, Observed
from orchestrators.toolkit import REFUSED, End, Gen, Json, Run
from shared import names, policy, releases
from shared.models import Decision

bp = df.Blueprint()


@bp.function_name(names.ROLLBACK_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def rollback_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Roll traffic back to the previous release; returns the run's outcome."""
    return (yield from Run(context, "rollback").execute(rollback_plan))


def rollback_plan(run: Run) -> Gen:
    listener = Listener(run)
    yield from listener.start()
    seen: Observed = yield from run.step("observe", deploy_steps.observe(run, step="observe"))
    slots, live_image = seen.slots, str(seen.live.get("image") or "")
    run.watched = [
        ("route", (names.TRAFFIC_GET_ROUTE, {})),
        ("live_group", (names.CONTAINERS_GET_GROUP, {"group": slots.live_group})),
        ("idle_group", (names.CONTAINERS_GET_GROUP, {"group": slots.idle_group})),
    ]
    target = run.decide("target", target_of(run, seen, live_image))
    if target.is_("none"):
        run.stop("refused", target.reason, event=REFUSED, page=True)
    image = str(target.value)
    if image == live_image:
        run.stop("stood-down", f"{slots.live} already serves {image}: nothing to roll back")
    reason = str(run.trigger.get("reason") or "")
    schema = run.decide(
        "schema",
        policy.schema_rollback(seen.history, image, force=bool(run.input.get("force")), reason=reason),
    )
    if schema.is_("refuse"):
        run.stop("refused", schema.reason, event=REFUSED, page=True)
    listener.checkpoint("observe")
    environment = (seen.idle.get("spec") or {}).get("environment") or {}
    kept = str(environment.get(run.settings.maintenance_variable) or "").lower() == "true"
    fast = (
        seen.idle.get("image") == image
        and "error" not in seen.idle
        and seen.idle.get("exists", True)
        and not kept  # a slot left in maintenance mode by a breaking migration gets the live slot's spec
    )
    guided = (
        f"{slots.idle_group} runs {seen.idle.get('image')}"
        + (" in maintenance mode" if kept else "")
        + f": {image} goes into it with the live slot's spec, then healthy, smoke, switch"
    )
    fast_path = f"{slots.idle_group} still has {image}: start it if stopped, verify, switch"
    path = Decision("fast" if fast else "guided", fast_path if fast else guided)
    run.decide("path", path)
    run.resource(from_image=live_image, to_image=image, path=path.action)
    if fast:
        if str(seen.idle.get("state") or "").lower() != "running":
            yield from run.step("start", run.act(names.CONTAINERS_START_GROUP, {"group": slots.idle_group}))
    else:
        yield from run.step(
            "idle-slot", deploy_steps.ensure_like(run, slots.idle_group, image, slots.live_group)
        )
    listener.checkpoint("idle slot")
    url = yield from run.step("healthy", deploy_steps.await_healthy(run, slots.idle_group))
    if not fast:
        verdict = yield from run.step("smoke", deploy_steps.smoke(run, url))
        if not verdict.passed:
            run.judge(verdict)
            run.stop("failed", f"{image} failed the smoke suite in {slots.idle}: {verdict.reason}", page=True)
    listener.checkpoint("healthy")
    yield from run.step("switch", deploy_steps.switch(run, slots.idle_origin_group, image))
    schema = yield from run.observe(
        names.DATABASE_GET_SCHEMA_VERSION, {"server": run.settings.primary_server}
    )
    event = releases.release_event(
        kind="rollback",
        run_id=run.run_id,
        at=run.iso(),
        image=image,
        slot=slots.idle,
        outcome="succeeded",
        from_image=live_image,
        previous_image=_previous(seen.history, image),
        reason=reason,
        schema_version=schema.get("schema_version"),
    )
    yield from deploy_steps.record_release(run, event)
    yield from deploy_steps.stop_group(run, slots.live_group, f"rolled away from {live_image}")
    yield from run.step("dr-standby", deploy_steps.follow_standby(run, image))
    summary = (
        f"rolled back from {live_image} ({slots.live}) to {image} ({slots.idle}) by the {path.action} path; "
        f"{live_image} is quarantined"
    )
    return End("succeeded", summary)


def target_of(run: Run, seen: Observed, live_image: str) -> Decision:
    """The image to roll back to: ``to_image`` when given, else the release the live one followed."""
    requested = run.input.get("to_image")
    if requested:
        return Decision("requested", f"rollback to {requested} as requested", "", str(requested))
    found = policy.previous_release(seen.history, live_image)
    if found.is_("found") and isinstance(found.value, dict):
        return Decision("previous", found.reason, "", str(found.value["image"]))
    return found


def _previous(history: list[Json], image: str) -> str | None:
    found = policy.previous_release(history, image)
    return str(found.value["image"]) if found.is_("found") and isinstance(found.value, dict) else None
