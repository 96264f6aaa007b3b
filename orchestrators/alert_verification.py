"""The weekly alert verification (the DR test calendar): a synthetic alert in practice mode through the
app's own alert intake, which must reach the notification targets and start nothing.

The alert targets the primary found now (so the intake's answer also says it would have acted on it). The
run holds no lock: a practice alert never delays a real failover. Its report is the evidence.

Input: {run_id, settings, trigger}.
"""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators.steps import verdict_end
from orchestrators.toolkit import Gen, Run
from shared import names, policy

bp = df.Blueprint()
SERVER_PROVIDER = "Microsoft.DBforPostgreSQL/flexibleServers"


@bp.function_name(names.ALERT_VERIFICATION_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def alert_verification_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """One practice alert through the intake; returns the run's outcome with its verdict."""
    return (yield from Run(context, "alert-verification").execute(alert_verification))


def alert_verification(run: Run) -> Gen:
    primary = yield from run.require_primary(page=False)
    s = run.settings
    target = (
        f"/subscriptions/{s.subscription_id}/resourceGroups/{primary.resource_group}"
        f"/providers/{SERVER_PROVIDER}/{primary.server}"
    )
    payload = {"run_id": run.run_id, "target": target}
    answer = yield from run.step("send_practice_alert", run.act(names.PROBE_SEND_SYNTHETIC_ALERT, payload))
    values = answer.get("values") or {}
    run.measure(
        practice_alert_id=answer.get("alert_id"),
        intake_status=answer.get("status"),
        intake_answer=values.get("reason"),
        notified_targets=values.get("notified_targets"),
    )
    return verdict_end(run.judge(policy.alert_verification_verdict(answer)))
