"""Recovery tiers: which components are still worth probing, and each tier's RTO against its objective.

A tier's RTO is the time from the run's first signal until the last of its components answered its health
path through the public endpoint. A component that never answered within its tier's objective fails its
tier (not measured is never a pass, rule 11).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.models import Decision, Verdict
from shared.policy.durations import duration


@dataclass(frozen=True)
class TierComponent:
    """One component of the app: its name, health path (through the public endpoint) and tier (1-3)."""

    name: str
    path: str
    tier: int

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> TierComponent:
        return cls(str(raw["name"]), str(raw["path"]), int(raw["tier"]))


def tiers_pending(
    components: Sequence[TierComponent],
    healthy_after: Mapping[str, float],
    elapsed: float,
    objectives: Mapping[int, float],
) -> tuple[TierComponent, ...]:
    """The components not yet healthy whose tier's objective has not passed ``elapsed`` seconds after the
    first signal: the ones to probe again."""
    return tuple(
        c for c in components if c.name not in healthy_after and elapsed <= objectives.get(c.tier, 0.0)
    )


def tier_verdicts(
    components: Sequence[TierComponent], healthy_after: Mapping[str, float], objectives: Mapping[int, float]
) -> tuple[Verdict, ...]:
    """One verdict per tier that has components (named ``tier<n>``), in tier order."""
    out = []
    for tier in sorted({c.tier for c in components}):
        mine = [c for c in components if c.tier == tier]
        goal = objectives.get(tier, 0.0)
        missing = [c.name for c in mine if c.name not in healthy_after]
        if missing:
            reason = f"tier {tier}: {', '.join(missing)} not healthy within the {duration(goal)} objective"
            out.append(Verdict(False, (reason,), f"tier{tier}"))
            continue
        rto = max(healthy_after[c.name] for c in mine)
        each = ", ".join(f"{c.name} {duration(healthy_after[c.name])}" for c in mine)
        word = "inside" if rto <= goal else "over"
        reason = f"tier {tier} RTO {duration(rto)} {word} its {duration(goal)} objective ({each})"
        out.append(Verdict(rto <= goal, (reason,), f"tier{tier}"))
    return tuple(out)


def tiers_decision(verdicts: Sequence[Verdict]) -> Decision:
    """``met`` when every tier met its objective, else ``missed``; ``unmeasured`` with no component."""
    if not verdicts:
        return Decision("unmeasured", "no tier components are configured: per-tier RTO not measured")
    reason = "; ".join(v.reason for v in verdicts)
    return Decision("met" if all(v.passed for v in verdicts) else "missed", reason)


def tier_rto(
    components: Sequence[TierComponent], healthy_after: Mapping[str, float], objectives: Mapping[int, float]
) -> list[dict[str, Any]]:
    """Per tier, as the report keeps it: objective, RTO (None when a component never answered), result
    and each component's time to healthy."""
    rows = []
    for verdict in tier_verdicts(components, healthy_after, objectives):
        tier = int(verdict.name.removeprefix("tier"))
        mine = [c for c in components if c.tier == tier]
        times = {c.name: healthy_after.get(c.name) for c in mine}
        rto = None if None in times.values() else max(t or 0.0 for t in times.values())
        rows.append(
            {
                "tier": tier,
                "objective_seconds": objectives.get(tier),
                "rto_seconds": rto,
                "result": "pass" if verdict.passed else "fail",
                "reason": verdict.reason,
                "components": times,
            }
        )
    return rows
