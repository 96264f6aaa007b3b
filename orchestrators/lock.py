"""The app's lock (safety rules 1 and 12): one DR operation or deploy per protected app at a time.

The lock is an orchestration instance with a fixed id per app (``lock_id``); starting it while it runs
is refused by the host (host.json ``overridableExistingInstanceStates: NonRunningStates``), so of two
concurrent starts exactly one wins. While it holds the lock it runs the plan as a sub-orchestration under
the run's own id (``<operation>-<app>-<UTC stamp>-<token>``): every run keeps its own Durable record and
its own report, however often the lock's id is reused.

Input: {run_id, operation, orchestrator, input}.
"""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators.toolkit import Gen
from shared import names

bp = df.Blueprint()


def lock_id(app: str) -> str:
    """The fixed instance id of the app's lock."""
    return f"lock-{app}"


@bp.function_name(names.LOCK_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def lock_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Hold the lock while the run named in the input runs; returns which run held it and its outcome."""
    held = dict(context.get_input() or {})
    who = {"run_id": held["run_id"], "operation": held["operation"]}
    context.set_custom_status(who)
    try:
        output = yield context.call_sub_orchestrator(held["orchestrator"], held["input"], held["run_id"])
    except Exception as exc:  # the run ended without an outcome: the lock is released all the same
        output = {"run_id": held["run_id"], "status": "failed", "summary": str(exc)[:500]}
    return {**who, "output": output}
