"""Steps the deployment plans share (blue-green, emergency rollback, container recovery), on the run
toolkit: the events a deployment listens to (preemption at checkpoints, container signals, approvals),
the observation of releases, the idle slot ensured with the live slot's spec, the healthy wait, the smoke
suite, the switch with its measured propagation, and the release history.

Preemption (rule 12): ``Listener.start`` waits once on the ``preempt`` event (with a timer due at once), so
the SDK keeps the task open and completes it when the event arrives, whatever the run is doing; every
checkpoint then reads ``is_completed``, deterministically on replay (the event's place in the history
decides). The lock runs the preempting run next (orchestrators/lock.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from orchestrators.lock import PREEMPT
from orchestrators.steps import check_pool
from orchestrators.toolkit import APPROVAL, REFUSED, SIGNAL, Gen, Json, Run, StepFailed
from shared import names, policy, releases
from shared.models import Decision, Verdict, seconds_between

PREEMPTED = "preempted"


# ---- the events a deployment takes ----------------------------------------------------------------------
class Listener:
    """``preempt`` (a failover or emergency rollback takes the lock next), ``signal`` (a container alert
    for the app's slots) and ``approval`` (an operator's answer)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.tasks: dict[str, Any] = {}
        self.signals: list[Json] = []  # container signals received, in order

    def _task(self, name: str) -> Any:
        if name not in self.tasks:
            self.tasks[name] = self.run.context.wait_for_external_event(name)
        return self.tasks[name]

    def start(self) -> Gen:
        """Wait once on ``preempt`` (a timer due now wins unless it was already raised): from here on the
        runtime completes the task whenever the event arrives."""
        ctx = self.run.context
        yield ctx.task_any([self._task(PREEMPT), ctx.create_timer(self.run.now())])

    def preemption(self) -> Json | None:
        task = self.tasks.get(PREEMPT)
        if task is None or not task.is_completed:
            return None
        return dict(task.result or {})

    def checkpoint(self, where: str) -> None:
        """Stop the run here, saying why, when a preempting run is queued (rule 12)."""
        by = self.preemption()
        if by is not None:
            self.stop(by, where)

    def stop(self, by: Json, where: str, *, then: str = "", page: bool = False) -> None:
        """End the run ``preempted`` by ``by`` at ``where``; ``then``: what it did after stopping there."""
        run = self.run
        reason = (
            f"preempted by {by.get('operation')} {by.get('run_id')} "
            f"({by.get('reason') or 'no reason given'}) "
            f"at the checkpoint after {where}: stopped here{then}; "
            f"{by.get('operation')} runs next under the lock"
        )
        run.decide(where, Decision(PREEMPTED, reason, "rule 12"))
        run.measure(preempted_by=by.get("run_id"), preempted_at=run.iso())
        run.stop(PREEMPTED, reason, page=page)

    def wait(self, seconds: float, *, approvals: bool = False) -> Gen:
        """Wait up to ``seconds``: ``("timer", None)``, ``("signal", signal)``, ``("approval", answer)``;
        a preemption stops the run."""
        ctx = self.run.context
        deadline = self.run.now() + timedelta(seconds=max(seconds, 0))
        while True:
            self.checkpoint("waiting")
            timer = ctx.create_timer(deadline)
            waits = [timer, self._task(PREEMPT), self._task(SIGNAL)]
            waits += [self._task(APPROVAL)] if approvals else []
            winner: Any = yield ctx.task_any(waits)
            if winner is timer:
                return "timer", None
            timer.cancel()
            if winner is self.tasks[PREEMPT]:
                self.checkpoint("waiting")
            for name in (SIGNAL, APPROVAL):
                if name in self.tasks and winner is self.tasks[name]:
                    payload = dict(self.tasks.pop(name).result or {})
                    if name == SIGNAL:
                        self.signals.append(payload)
                    return name, payload


# ---- releases as observed now ---------------------------------------------------------------------------
@dataclass
class Observed:
    """The slots, what each group runs (with its spec), the DR standby, and the release history."""

    slots: policy.Slots
    groups: dict[str, Json]
    standby: Json
    history: list[Json] = field(default_factory=list)

    @property
    def live(self) -> Json:
        return self.groups[self.slots.live]

    @property
    def idle(self) -> Json:
        return self.groups[self.slots.idle]


def observe(run: Run, *, step: str) -> Gen:
    """Observe the route, the three groups (with their specs) and the release history; refuse (stop) when
    the route serves no primary-region slot."""
    s = run.settings
    groups = s.container_groups
    route, blue, green, standby, log = yield from run.gather(
        [(names.TRAFFIC_GET_ROUTE, {})]
        + [
            (names.CONTAINERS_GET_GROUP, {"group": groups[k], "spec": True})
            for k in ("blue", "green", "standby")
        ]
        + [(names.STORAGE_READ_LOG, {"log": releases.release_log(s)})],
        safely=True,
    )
    for name, found in (("route", route), ("release history", log)):
        if "error" in found:
            raise StepFailed(step, f"cannot read the {name}: {found['error']}")
    decision = run.decide(step, policy.slots(str(route.get("origin_group") or ""), s.origin_groups, groups))
    if decision.value is None:
        run.stop("refused", decision.reason, event=REFUSED)
    slots = decision.value
    assert isinstance(slots, policy.Slots)
    run.record.observed("before", "route", route)
    for slot, group in (("blue", blue), ("green", green), ("standby", standby)):
        run.record.observed("before", f"{slot}_group", group)
    history = list(log.get("entries") or [])
    return Observed(slots, {"blue": blue, "green": green}, standby, history)


# ---- the idle slot ---------------------------------------------------------------------------------------
def ensure_like(
    run: Run, group: str, image: str, like: str, *, environment: dict[str, str] | None = None
) -> Gen:
    """``group`` runs ``image`` with the spec of ``like`` (only read; ``environment`` overrides some of
    its variables), and is started."""
    payload: Json = {"group": group, "image": image, "like": like, "run_id": run.run_id}
    if environment:
        payload["environment"] = environment
    made = yield from run.act(names.CONTAINERS_ENSURE_GROUP, payload)
    if str(made.get("state") or "").lower() != "running":
        made = {**made, **(yield from run.act(names.CONTAINERS_START_GROUP, {"group": group}))}
    run.resource(
        **{f"group_{group}": {"image": image, "changed": made.get("changed"), "url": made.get("url")}}
    )
    return made


def await_healthy(run: Run, group: str) -> Gen:
    """Until ``group`` runs and answers its health path on its own address, within the health deadline;
    returns its base URL. Raises StepFailed with the last answer when the deadline passes."""
    s = run.settings
    interval = max(s.deploy_poll_interval_seconds, 0.1)
    attempts = max(1, math.ceil(s.health_deadline_seconds / interval) + 1)

    def read() -> Gen:
        found = yield from run.observe(names.CONTAINERS_GET_GROUP, {"group": group})
        url = str(found.get("url") or "")
        if str(found.get("state") or "").lower() != "running" or not url:
            return {
                "ok": False,
                "url": url,
                "error": f"{group} is {found.get('state') or found.get('error')}",
            }
        probe = yield from run.act(
            names.PROBE_HTTP, {"url": url + s.health_path, "timeout_seconds": s.probe_timeout_seconds}
        )
        return {**probe, "base": url}

    started = run.iso()
    ok, last, _ = yield from run.poll(read, lambda r: bool(r.get("ok")), attempts=attempts, interval=interval)
    run.measure(**{f"healthy_seconds_{group}": seconds_between(started, run.iso())})
    if not ok:
        raise StepFailed(
            run.record.step,
            f"{group} not healthy within {s.health_deadline_seconds:g} s: {last.get('status')} "
            f"{last.get('error') or ''}".strip(),
        )
    return str(last["base"])


def smoke(run: Run, base_url: str) -> Gen:
    """The smoke suite against ``base_url`` (the idle slot's own address, before any traffic), check by
    check in the suite's order: each recorded with its measured value; returns the Verdict."""
    suite = run.settings.smoke_suite
    requests = policy.smoke_requests(suite, base_url, run.run_id)
    results = []
    for kind, payload in requests:  # in order: the search looks for what the intent wrote
        activity = names.PROBE_BURST if kind == "load" else names.PROBE_HTTP
        results.append((yield from run.observe(activity, payload)))
    checks = [
        policy.smoke_check(check, kind, result)
        for check, (kind, _), result in zip(suite, requests, results, strict=True)
    ]
    run.record.checks.extend(  # passed / detail: as every report's checks table reads them
        {"kind": "smoke", "passed": c["outcome"] == "pass", "detail": f"{c['measured']}: {c['reason']}", **c}
        for c in checks
    )
    verdict: Verdict = policy.smoke_verdict(checks)
    run.decide("smoke", Decision("pass" if verdict.passed else "fail", verdict.reason))
    return verdict


# ---- the switch ------------------------------------------------------------------------------------------
def switch(run: Run, origin_group: str, image: str, *, label: str = "") -> Gen:
    """Rule 2, then point the route at ``origin_group``, then wait until the public endpoint serves
    ``image``'s version K times in a row (Front Door takes minutes in Azure: polled with a deadline).
    Records ``<label>switched_at`` (when the switch was asked), ``propagated_at`` and
    ``propagation_seconds``; raises StepFailed past the deadline."""
    yield from check_pool(run, origin_group)
    asked = run.iso()
    result = yield from run.act(names.TRAFFIC_SWITCH_ROUTE, {"origin_group": origin_group})
    run.traffic_moved = True
    served = yield from propagate(run, image, since=asked, label=label)
    return f"{result.get('message') or 'switched'}; {served}"


def propagate(run: Run, image: str, *, since: str, label: str = "") -> Gen:
    s = run.settings
    version = policy.version_of(image)
    interval = max(s.propagation_interval_seconds, 0.1)
    attempts = max(s.propagation_consecutive, math.ceil(s.propagation_deadline_seconds / interval) + 1)
    probe = {
        "url": s.public_url + s.version_path,
        "fields": [s.version_field],
        "timeout_seconds": s.probe_timeout_seconds,
    }
    answers: list[Json] = []

    def read() -> Gen:
        answer = yield from run.act(names.PROBE_HTTP, probe)
        seen = (answer.get("values") or {}).get(s.version_field)
        answers.append({**answer, "values": {"version": seen}, "at": run.iso()})
        return policy.propagated(answers, version, s.propagation_consecutive)

    ok, decision, _ = yield from run.poll(
        read, lambda d: d.is_("served"), attempts=attempts, interval=interval
    )
    first = answers[-s.propagation_consecutive]["at"] if ok else None
    measured = {
        "switched_at": since,
        "propagated_at": first,
        "propagation_seconds": seconds_between(since, first) if first else None,
        "propagation_polls": len(answers),
    }
    run.measure(**{label + k: v for k, v in measured.items()})
    if not ok:
        raise StepFailed(run.record.step, f"{decision.reason} after {s.propagation_deadline_seconds:g} s")
    return decision.reason


# ---- the release history ---------------------------------------------------------------------------------
def record_release(run: Run, event: Json) -> Gen:
    """Append a release event to the history (never fatal: a failed append is a warning that pages)."""
    try:
        yield from run.act(
            names.STORAGE_APPEND_LOG, {"log": releases.release_log(run.settings), "entry": event}
        )
    except Exception as exc:
        run.record.warn(f"release event {event['id']} could not be recorded: {str(exc)[:200]}")
    run.record.extra.setdefault("releases", []).append(event)


def stop_group(run: Run, group: str, why: str) -> Gen:
    """Stop (never delete) a group; a failure is a warning."""
    try:
        yield from run.act(names.CONTAINERS_STOP_GROUP, {"group": group})
        run.decide("stop", Decision("stopped", f"{group} stopped, not deleted: {why}", "rule 6"))
    except Exception as exc:
        run.record.warn(f"{group} could not be stopped ({str(exc)[:200]}): stop it by hand")


def follow_standby(run: Run, image: str) -> Gen:
    """The DR standby gets ``image`` with its own spec and is left stopped, so a failover runs what the
    primary region serves."""
    group = run.settings.container_group_standby
    yield from run.act(
        names.CONTAINERS_ENSURE_GROUP, {"group": group, "image": image, "like": group, "run_id": run.run_id}
    )
    yield from run.act(names.CONTAINERS_STOP_GROUP, {"group": group})
    return f"{group} runs {image} when started (stopped now)"
