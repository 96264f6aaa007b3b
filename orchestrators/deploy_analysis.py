"""The deploy's measurements after the smoke suite: the baseline of the live slot, the post-switch
analysis against it, and the one automatic rollback (rule 7).

Error rate and p95 come from Continuity's own bursts against each slot's own address (Azure Monitor has no
percentiles for Front Door or ACI); health and database health from the public endpoint; Front Door's own
metrics are supplementary evidence. Every check and every measurement is kept in the report
(``analysis``); inconclusive is never a pass (rule 11).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from orchestrators import deploy_steps
from orchestrators.deploy_steps import Listener, Observed
from orchestrators.toolkit import AWAITING_APPROVAL, FAILED, End, Gen, Json, Run, StepFailed
from shared import names, policy, releases
from shared.models import Decision, seconds_between


class Deploy(Protocol):
    """What the analysis needs of the deploy run (orchestrators/blue_green.py ``Deploy``)."""

    image: str
    idle_url: str
    listener: Listener
    schema_version: int | None

    @property
    def observed(self) -> Observed: ...

    def release(self, outcome: str, reason: str, **extra: Any) -> Gen: ...

    def history(self) -> list[Any]: ...


def _burst(run: Run, url: str, requests: int) -> tuple[str, Json]:
    s = run.settings
    payload = {"url": url + s.analysis_path, "requests": requests, "concurrency": s.analysis_concurrency}
    return names.PROBE_BURST, {**payload, "timeout_seconds": s.probe_timeout_seconds}


def baseline(run: Run, observed: Observed) -> Gen:
    """The live slot's error rate and p95 on its own address just before the switch, and Front Door's
    metrics over the minutes before (supplementary)."""
    s = run.settings
    url = str(observed.live.get("url") or "")
    if not url:
        raise StepFailed("baseline", f"{observed.slots.live_group} has no address")
    burst, frontdoor = yield from run.gather(
        [
            _burst(run, url, s.baseline_requests),
            (names.METRICS_GET_WINDOW, {"target": "frontdoor", "minutes": 5}),
        ],
        safely=True,
    )
    base = {k: burst.get(k) for k in ("count", "answered", "errors", "error_rate", "average_ms", "p95_ms")}
    run.record.extra["analysis"] = {
        "baseline": base,
        "frontdoor_before": frontdoor.get("window"),
        "checks": [],
    }
    run.measure(baseline_error_rate=base["error_rate"], baseline_p95_ms=base["p95_ms"])
    return base


def analyse(run: Run, deploy: Deploy, base: Json) -> Gen:
    """``post_switch_checks`` checks, ``post_switch_interval`` apart: public health and database health,
    a burst on the new slot, container alerts on it. Returns ``rollback`` or ``pass`` (a Decision)."""
    s = run.settings
    triggers = policy.Triggers.of(s)
    new_group, url = deploy.observed.slots.idle_group, deploy.idle_url
    record = run.record.extra["analysis"]
    checks: list[Json] = record["checks"]
    decision = Decision("continue", "")
    started = run.now().timestamp()
    for number in range(1, s.post_switch_checks + 1):
        due = started + number * s.post_switch_interval_seconds
        signals = yield from _interval(run, deploy, new_group, due)
        health, database, burst = yield from run.gather(
            [
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
                _burst(run, url, s.analysis_requests),
            ],
            safely=True,
        )
        measured = policy.measure_check(
            health=health, database=database, burst=burst, baseline=base, triggers=triggers, signals=signals
        )
        checks.append(
            {
                "check": number,
                "at": run.iso(),
                "outcome": policy.check_outcome(measured),
                "measurements": measured,
            }
        )
        if checks[-1]["outcome"] == policy.FAIL and "first_failed_at" not in run.record.measurements:
            run.measure(first_failed_at=checks[-1]["at"])
        decision = policy.analysis_decision(checks, planned=s.post_switch_checks, triggers=triggers)
        run.set_status()
        if decision.is_("inconclusive"):
            decision = yield from _inconclusive(run, deploy, decision)
        if not decision.is_("continue"):
            break
    run.decide("analysis", decision)
    frontdoor = yield from run.observe(
        names.METRICS_GET_WINDOW,
        {
            "target": "frontdoor",
            "minutes": max(1, math.ceil(len(checks) * s.post_switch_interval_seconds / 60)),
        },
    )
    record["frontdoor"] = policy.frontdoor_evidence(frontdoor.get("window"), record.get("frontdoor_before"))
    run.judge(policy.analysis_verdict(decision, checks))
    return decision


def _interval(run: Run, deploy: Deploy, new_group: str, due: float) -> Gen:
    """Wait until ``due`` (epoch seconds: checks keep their cadence whatever each takes); return the
    summaries of container alerts fired on the new slot meanwhile."""
    fired: list[str] = []
    waited_until = due
    while run.now().timestamp() < waited_until:
        kind, signal = yield from deploy.listener.wait(waited_until - run.now().timestamp())
        if kind != "signal" or not signal:
            continue
        targets = [str(t) for t in signal.get("resource_ids") or []]
        if signal.get("state") == "fired" and any(
            t.rstrip("/").endswith("/" + new_group.lower()) for t in targets
        ):
            fired.append(f"{signal.get('summary') or 'alert'} on {new_group}")
        else:
            run.record.warn(
                f"container signal during the analysis, not on the new slot: {signal.get('summary')}"
            )
    return fired


def _inconclusive(run: Run, deploy: Deploy, decision: Decision) -> Gen:
    """Past the inconclusive limit: roll back, or wait for an operator (timeout means roll back)."""
    run.decide("analysis", decision)
    if run.settings.analysis_inconclusive_action == "rollback":
        return Decision("rollback", decision.reason, "rule 11")
    timeout = run.settings.approval_timeout_minutes * 60
    run.set_awaiting("approval", timeout)
    yield from run.announce(
        AWAITING_APPROVAL, f"{decision.reason}: approve to keep {deploy.image}, reject to roll back"
    )
    kind, answer = yield from deploy.listener.wait(timeout, approvals=True)
    run.set_awaiting("")
    if kind == "approval" and (answer or {}).get("answer") == "approve":
        return Decision(
            "pass", f"kept by {(answer or {}).get('by') or 'an operator'} after: {decision.reason}", "rule 11"
        )
    why = (
        "no answer before the approval timeout" if kind != "approval" else f"{(answer or {}).get('answer')}ed"
    )
    return Decision("rollback", f"{decision.reason}; {why}: rolling back", "rule 11")


def roll_back(run: Run, deploy: Deploy, trigger: Decision) -> Gen:
    """The one automatic rollback of this deploy (rule 7): traffic back to the old slot (untouched, still
    running), verified through the public endpoint; the image is quarantined (rule 10). Never a second
    automatic rollback: if this one fails, the run pages and stops."""
    s, slots = run.settings, deploy.observed.slots
    old_image = str(deploy.observed.live.get("image") or "")
    schema = run.decide("rollback", policy.schema_rollback(deploy.history(), old_image, force=False))
    if schema.is_("refuse"):  # rule 9: an automatic rollback is never forced
        yield from deploy.release("rollback-refused", schema.reason)
        return End(
            "failed",
            f"no automatic rollback of {deploy.image}: {schema.reason}; an operator decides "
            "(POST /api/rollback with force and a reason, or a fix forward)",
            FAILED,
            page=True,
        )
    run.decide(
        "rollback",
        Decision("rollback", f"the one automatic rollback of this deploy: {trigger.reason}", "rule 7"),
    )
    try:
        yield from run.step(
            "rollback", deploy_steps.switch(run, slots.live_origin_group, old_image, label="rollback_")
        )
    except StepFailed as failed:
        return End(
            "failed",
            f"the automatic rollback failed ({failed.error}); no second one is made (rule 7)",
            FAILED,
            page=True,
        )
    restored = run.iso()
    first = run.record.measurements.get("first_failed_at")
    run.measure(
        traffic_restored_at=restored,
        failure_to_restored_seconds=seconds_between(first, restored) if first else None,
    )
    yield from deploy.release("rolled-back", trigger.reason)
    event = releases.release_event(
        kind="rollback",
        run_id=run.run_id,
        at=run.iso(),
        image=old_image,
        slot=slots.live,
        outcome="succeeded",
        from_image=deploy.image,
        automatic=True,
        reason=trigger.reason,
        schema_version=deploy.schema_version,
        previous_image=_previous_of(deploy.history(), old_image),
    )
    yield from deploy_steps.record_release(run, event)
    logs = yield from run.observe(names.CONTAINERS_GET_LOGS, {"group": slots.idle_group, "tail": 50})
    run.record.extra["new_slot_logs"] = str(logs.get("logs") or logs.get("error") or "")[-4000:]
    yield from deploy_steps.stop_group(
        run, slots.idle_group, "the release was rolled back (kept for diagnosis)"
    )
    budget = run.decide(
        "rollback",
        policy.rollback_budget(
            [*deploy.history(), event],
            run.now(),
            limit=s.max_auto_rollbacks,
            window_hours=s.auto_rollback_window_hours,
        ),
    )
    summary = (
        f"rolled back {deploy.image} to {old_image} on {slots.live}: {trigger.reason}; "
        f"{deploy.image} is quarantined"
    )
    if budget.is_("refuse"):
        summary += f"; {budget.reason}"
    return End("rolled-back", summary, FAILED, page=budget.is_("refuse"))


def _previous_of(history: list[Any], image: str) -> str | None:
    found = policy.previous_release(history, image)
    value: dict[str, Any] = found.value if isinstance(found.value, dict) else {}
    return str(value["image"]) if found.is_("found") and value else None
