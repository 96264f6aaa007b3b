"""The app's lock (safety rules 1 and 12): one DR operation or deploy per protected app at a time.

The lock is an orchestration instance with a fixed id per app (``lock_id``); starting it while it runs
is refused by the host (host.json ``overridableExistingInstanceStates: NonRunningStates``), so of two
concurrent starts exactly one wins. While it holds the lock it runs the plan as a sub-orchestration under
the run's own id (``<operation>-<app>-<UTC stamp>-<token>``): every run keeps its own Durable record and
its own report, however often the lock's id is reused.

A run may be preempted (rule 12: a regional failover preempts a deploy; an emergency rollback preempts a
deploy in flight): the intake raises the ``preempt`` event on the lock, naming the run to hold it next,
and on the running plan, which stops at its next checkpoint. The lock runs the queued run as its next
sub-orchestration once the plan has ended, so the lock is never released in between.

Input: {run_id, operation, orchestrator, input}. Event ``preempt``: the same shape, for the next run.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from orchestrators.toolkit import Gen
from shared import names

bp = df.Blueprint()
PREEMPT = "preempt"  # the event naming the run that preempts the one holding the lock


def lock_id(app: str) -> str:
    """The fixed instance id of the app's lock."""
    return f"lock-{app}"


@bp.function_name(names.LOCK_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def lock_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Hold the lock while the run named in the input runs, then any run queued to preempt it; returns
    which run held it and its outcome (``then``: the runs that followed it under the same lock)."""
    held = dict(context.get_input() or {})
    outcomes: list[dict[str, Any]] = []
    while True:
        who = {"run_id": held["run_id"], "operation": held["operation"]}
        context.set_custom_status(who)
        plan = context.call_sub_orchestrator(held["orchestrator"], held["input"], held["run_id"])
        queued = context.wait_for_external_event(PREEMPT)
        first = yield context.task_any([plan, queued])
        if first is queued:
            following = dict(queued.result or {})
            context.set_custom_status({**who, "next": {k: following.get(k) for k in ("run_id", "operation")}})
        try:
            output = yield plan
        except Exception as exc:  # the run ended without an outcome: the lock is released all the same
            output = {"run_id": held["run_id"], "status": "failed", "summary": str(exc)[:500]}
        outcomes.append({**who, "output": output})
        if not (queued.is_completed and _runnable(queued.result)):
            break
        held = dict(queued.result)
    first_run, *then = outcomes
    return {**first_run, "then": then} if then else first_run


def _runnable(held: Any) -> bool:
    """A preemption names the run to hold the lock next: its id, operation, orchestrator and input."""
    return isinstance(held, dict) and all(
        held.get(k) for k in ("run_id", "operation", "orchestrator", "input")
    )
