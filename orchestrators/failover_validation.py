"""The monthly failover validation (the DR test calendar): the failover plan as a dry run, which changes
nothing, judged on whether the failover would proceed.

It is the failover plan itself (orchestrators/failover.py ``Failover``, always a dry run here): it observes
the route, the replica and the slots (which server the replica follows; refusing when that is not the
primary found now), reads the replica's lag and the primary's state, checks the preconditions (the
primary found now, the DR standby on the live release, its origin group able to route, the database
secret at the primary) and decides the promote mode, the lag gate (rule 3) and the approval gate as an
automatic failover would, started by its timer. The validation passes when the failover would proceed
(shared.policy ``failover_validation_verdict``); a failed one pages. It holds no lock: it changes
nothing and never delays a real failover. Its report is the evidence.

Input: {run_id, settings, trigger}.
"""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators.failover import Failover
from orchestrators.steps import verdict_end, verdict_of
from orchestrators.toolkit import Gen, Run, Stop
from shared import names, policy
from shared.models import Decision

bp = df.Blueprint()


@bp.function_name(names.FAILOVER_VALIDATION_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def failover_validation_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """The failover plan as a dry run; returns the run's outcome with its verdict."""
    run = Run(context, "failover-validation")
    return (yield from run.execute(failover_validation, announce_start=False))


def failover_validation(run: Run) -> Gen:
    dry = Failover(run, dry_run=True)
    stopped = ""
    try:
        yield from dry.plan(run)
    except Stop as stop:  # refused or stood down: the failover would not proceed
        stopped = stop.end.summary
    decided = [Decision.from_dict(d) for d in run.record.decisions if d.get("step") == "decide"]
    run.measure(
        replica_lag_seconds=dry.lag.seconds,
        replica_lag_source=dry.lag.source,
        primary_state=dry.primary_state,
        promote_mode=decided[0].action if decided else None,
    )
    checks = [verdict_of(c) for c in run.record.checks]  # the preconditions the dry run checked
    verdict = policy.failover_validation_verdict(decided, checks, stopped=stopped)
    return verdict_end(run.judge(verdict))
