"""The weekly health-check validation (the DR test calendar): do the health checks a failover and a deploy
rely on still say what they should?

One round of reads, all read-only: each tier component (``TIER_COMPONENTS``) probed through the public
endpoint; each Front Door origin group (blue, green, standby) read back from Azure with its health probe
settings, each of its enabled origins probed directly at the probe path from here
(``TRAFFIC_LIST_HEALTHY_ORIGINS``); and each slot's container group (its state). The checks
(shared.policy): each component answers healthy; each origin group probes the configured health path
(``HEALTH_PATH``) over Http or Https; each enabled origin of a slot that runs answers the probe path
directly (a slot kept stopped, the idle one or the DR standby, answers only once started: its origins
are listed as not judged, with why). It passes when every check does; a failure pages. No lock: it
changes nothing.

Input: {run_id, settings, trigger}.
"""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators import tiers
from orchestrators.steps import check_of, verdict_end
from orchestrators.toolkit import Gen, Json, Read, Run
from shared import names, policy

bp = df.Blueprint()
OPERATION = "health-check-validation"


@bp.function_name(names.HEALTH_CHECK_VALIDATION_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def health_check_validation_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Validate the health checks; returns the run's outcome with its verdict."""
    run = Run(context, OPERATION)
    return (yield from run.execute(health_check_validation, announce_start=False))


def health_check_validation(run: Run) -> Gen:
    s = run.settings
    components, slots = tiers.components(s), tuple(s.origin_groups)
    reads: list[Read] = [(names.PROBE_HTTP, tiers.probe(run, s.public_url + c.path)) for c in components]
    reads += [(names.TRAFFIC_LIST_HEALTHY_ORIGINS, {"origin_group": s.origin_groups[x]}) for x in slots]
    reads += [(names.CONTAINERS_GET_GROUP, {"group": s.container_groups[x]}) for x in slots]
    found = yield from run.step("observe", run.gather(reads, safely=True))
    first, second = len(components), len(components) + len(slots)
    answers, pools, groups = found[:first], found[first:second], found[second:]
    checks = [policy.component_check(c.name, c.path, a) for c, a in zip(components, answers, strict=True)]
    not_judged: dict[str, str] = {}
    by_group = {s.origin_groups[x]: pool for x, pool in zip(slots, pools, strict=True)}
    for slot, group in zip(slots, groups, strict=True):
        origin_group = s.origin_groups[slot]
        checks.append(policy.probe_settings_check(origin_group, by_group[origin_group], s.health_path))
        why = policy.origins_not_judged(s.container_groups[slot], group)
        if why:
            not_judged[origin_group] = why
        else:
            checks += policy.origin_checks(origin_group, by_group[origin_group])
    measure(run, components, answers, by_group)
    run.measure(origins_not_judged=not_judged)
    run.record.checks = [check_of(c) for c in checks]
    agreed = "every tier answers through the public endpoint; Front Door's probes and origins agree"
    return verdict_end(run.judge(policy.checks_verdict(OPERATION, checks, agreed)))


def measure(run: Run, components: tuple[policy.TierComponent, ...], answers: list[Json], pools: Json) -> None:
    """What was seen: each component's answer, each origin group's probe settings and origins' answers."""
    run.measure(
        components={
            c.name: {k: a.get(k) for k in ("url", "status", "latency_ms", "error")}
            for c, a in zip(components, answers, strict=True)
        },
        origin_groups={
            name: {
                "probe_path": pool.get("probe_path"),
                "probe_protocol": pool.get("probe_protocol"),
                "error": pool.get("error"),
                "origins": [
                    {
                        "name": o.get("name"),
                        "enabled": o.get("enabled"),
                        "healthy": o.get("healthy"),
                        **(o.get("probe") or {}),
                    }
                    for o in pool.get("origins") or []
                ],
            }
            for name, pool in pools.items()
        },
    )
