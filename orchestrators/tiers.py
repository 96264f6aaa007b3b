"""Per-tier RTO: after traffic reaches the recovered app, probe each tier's components through the public
endpoint until each answers (or its tier's objective has passed), then judge every tier.

``measure_tiers`` is a step plans take once their public endpoint is verified (failover; the complete
drill through its drill-only path). Components and objectives are settings (``TIER_COMPONENTS``,
``RTO_TIER<n>_MINUTES``); the time a component turned healthy is counted from the run's first signal.
"""

from __future__ import annotations

from orchestrators.toolkit import Gen, Run
from shared import names, policy
from shared.config import Settings
from shared.models import parse_time


def components(settings: Settings) -> tuple[policy.TierComponent, ...]:
    return tuple(policy.TierComponent.of(c) for c in settings.tier_components)


def objectives(settings: Settings) -> dict[int, float]:
    """Tier -> its RTO objective in seconds."""
    minutes = (settings.rto_tier1_minutes, settings.rto_tier2_minutes, settings.rto_tier3_minutes)
    return {tier: m * 60.0 for tier, m in enumerate(minutes, start=1)}


def measure_tiers(run: Run, *, base_url: str, since: str) -> Gen:
    """Probe the pending components until none is (a durable timer between rounds), record each tier's
    RTO (``tier_rto``: per tier its objective, RTO, result and reason) and the decision (met / missed /
    unmeasured). Returns the decision's reason."""
    found, goals = components(run.settings), objectives(run.settings)
    start, healthy = parse_time(since), dict[str, float]()
    pending = found  # each is probed at least once, even when its objective has already passed
    while pending:
        probes = [(names.PROBE_HTTP, probe(run, base_url + c.path)) for c in pending]
        answers = yield from run.gather(probes, safely=True)
        elapsed = (run.now() - start).total_seconds()
        healthy.update({c.name: elapsed for c, a in zip(pending, answers, strict=True) if a.get("ok")})
        pending = policy.tiers_pending(found, healthy, elapsed, goals)
        if pending:
            yield from run.pause(run.settings.tier_poll_interval_seconds)
    run.measure(tier_rto=policy.tier_rto(found, healthy, goals))
    decision = run.decide("tier_rto", policy.tiers_decision(policy.tier_verdicts(found, healthy, goals)))
    return decision.reason


def probe(run: Run, url: str) -> dict[str, object]:
    return {"url": url, "timeout_seconds": run.settings.probe_timeout_seconds}
