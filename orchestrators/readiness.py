"""The readiness tick: observe the DR posture, score it, notify when the score changes, keep the result.

Every tick (timer, every 15 minutes by default) reads the estate as shared.readiness observes it, lets
policy judge each check (pass / fail / unknown with a reason) and score it, and compares the score with
the last tick's (``STORAGE_READ_STATE`` under ``shared.readiness.readiness_state``): a change notifies
once, with the checks that do not pass. A tick is not a DR operation: it takes no lock and writes no run
report; its result is the state ``GET /api/readiness`` shows as the last tick.

Input: {run_id, settings}.
"""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators.toolkit import Gen, Json, Run
from shared import names, policy, readiness

bp = df.Blueprint()


@bp.function_name(names.READINESS_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def readiness_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """One readiness tick; returns the stored result: score, checks, the change decision."""
    return (yield from readiness_plan(Run(context, "readiness")))


def readiness_plan(run: Run) -> Gen:
    state_name = readiness.readiness_state(run.settings)
    stored = yield from run.observe(names.STORAGE_READ_STATE, {"name": state_name})
    previous = dict(stored.get("state") or {}) if stored.get("found") else {}
    seen = yield from run.drive(readiness.observe(run.settings))
    result = readiness.assess(run.settings, run.now(), seen)
    before = previous.get("score")
    change = policy.score_change(before if isinstance(before, int) else None, result["score"])
    result["change"] = {"action": change.action, "reason": change.reason, "previous_score": before}
    if change.is_("notify"):
        result["change"]["notified"] = yield from run.notify(change_message(run, result, before))
    # a lost state would notify the same score again next tick: the tick fails instead
    yield from run.act(names.STORAGE_WRITE_STATE, {"name": state_name, "state": result})
    return result


def change_message(run: Run, result: Json, before: object) -> Json:
    """The notification of a new score: what changed and every check that does not pass."""
    app, score = run.settings.app_name, result["score"]
    failing = [c for c in result["checks"] if c["result"] != policy.PASS]
    fell = isinstance(before, int) and score < before
    lines = [result["change"]["reason"]] + [f"{c['name']} {c['result']}: {c['reason']}" for c in failing]
    return {
        "title": f"readiness {score}/100 ({app})",
        "text": "\n".join(lines),
        "severity": "warning" if fell else "info",
        "event": "readiness-changed",
        "dedup_key": f"readiness-{app}",
        "fields": {"score": score, "previous_score": before, "failing": len(failing)},
    }
