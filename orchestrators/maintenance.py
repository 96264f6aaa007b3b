"""Maintenance mode: the app's running slots get MAINTENANCE_MODE through a whole-definition PUT (the full
spec round-tripped; secure values read again from Key Vault, since a read of a container group never
returns them), then the mode is verified from outside: on, a write through the public endpoint answers
503 while a read still works; off, a write succeeds. The steps the migration plan takes, and
``POST /api/maintenance``'s own plan (the operator's way out after a failed migration).

Input of the plan: {run_id, settings, trigger, enabled}.
"""

from __future__ import annotations

import math

import azure.durable_functions as df

from orchestrators.toolkit import End, Gen, Json, Run, StepFailed
from shared import names, policy

bp = df.Blueprint()


@bp.function_name(names.MAINTENANCE_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def maintenance_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Turn maintenance mode on or off on the running slots, verified from outside."""
    return (yield from Run(context, "maintenance").execute(maintenance_plan))


def maintenance_plan(run: Run) -> Gen:
    enabled = bool(run.input.get("enabled"))
    word = "on" if enabled else "off"
    groups = yield from run.step(f"maintenance-{word}", set_mode(run, enabled=enabled))
    seen = yield from run.step(f"verify-maintenance-{word}", verify(run, enabled=enabled))
    return End("succeeded", f"maintenance mode {word} on {', '.join(groups) or 'no slot'}: {seen['reason']}")


def running_slots(run: Run) -> Gen:
    """The primary region's slots that run now (live and idle kept warm), with their specs."""
    s = run.settings
    groups = [s.container_group_blue, s.container_group_green]
    found = yield from run.gather(
        [(names.CONTAINERS_GET_GROUP, {"group": g, "spec": True}) for g in groups], safely=True
    )
    for group, state in zip(groups, found, strict=True):
        if "error" in state:
            raise StepFailed(run.record.step, f"cannot read {group}: {state['error']}")
    return [f for f in found if f.get("exists", True) and str(f.get("state") or "").lower() == "running"]


def set_mode(run: Run, *, enabled: bool) -> Gen:
    """Every running slot gets the maintenance variable (true / false) by a PUT of its whole definition
    (same image, command and environment, the secure values read again); returns the groups changed."""
    s = run.settings
    slots = yield from running_slots(run)
    if not slots:
        raise StepFailed(run.record.step, "no slot of the primary region is running")
    changes = []
    for found in slots:
        spec = dict(found.get("spec") or {})
        environment = {**(spec.get("environment") or {}), s.maintenance_variable: str(enabled).lower()}
        payload: Json = {
            "group": found["group"],
            "image": spec.get("image") or found.get("image"),
            "environment": environment,
            "secure_environment": dict(s.slot_secure_environment),
            "run_id": run.run_id,
        }
        if spec.get("command"):
            payload["command"] = spec["command"]
        changes.append((names.CONTAINERS_ENSURE_GROUP, payload))
    made = yield from run.gather(changes)
    run.resource(maintenance={m["group"]: {"enabled": enabled, "changed": m.get("changed")} for m in made})
    return [str(m["group"]) for m in made]


def write_probe(run: Run) -> tuple[str, Json]:
    s = run.settings
    body = {"user_input": f"continuity maintenance probe {run.run_id}"}
    payload = {"url": s.public_url + s.maintenance_write_path, "method": "POST", "json": body}
    return names.PROBE_HTTP, {**payload, "expect_status": 0, "timeout_seconds": s.probe_timeout_seconds}


def read_probe(run: Run) -> tuple[str, Json]:
    s = run.settings
    url = s.public_url + s.database_health_path
    return names.PROBE_HTTP, {"url": url, "timeout_seconds": s.probe_timeout_seconds}


def verify(run: Run, *, enabled: bool) -> Gen:
    """Poll a write and a read through the public endpoint until the mode is seen (policy.maintenance_seen)
    within MAINTENANCE_VERIFY_SECONDS; returns {at, reason, polls}. Raises StepFailed past the deadline."""
    s = run.settings
    interval = max(s.deploy_poll_interval_seconds, 0.1)
    attempts = max(1, math.ceil(s.maintenance_verify_seconds / interval) + 1)

    def read() -> Gen:
        write, answer = yield from run.gather([write_probe(run), read_probe(run)], safely=True)
        return {"decision": policy.maintenance_seen(write, answer, enabled=enabled), "at": run.iso()}

    ok, last, polls = yield from run.poll(
        read, lambda r: r["decision"].is_("verified"), attempts=attempts, interval=interval
    )
    decision = run.decide("maintenance", last["decision"])
    word = "on" if enabled else "off"
    run.measure(**{f"maintenance_{word}_verified_at": last["at"] if ok else None})
    if not ok:
        raise StepFailed(
            run.record.step, f"{decision.reason} after {s.maintenance_verify_seconds:g} s ({polls} polls)"
        )
    return {"at": last["at"], "reason": decision.reason, "polls": polls}
