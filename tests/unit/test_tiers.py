"""Per-tier RTO: each tier's components probed through the public endpoint until healthy (durable timers
driven, no sleep), each tier judged against its own objective; the settings that declare them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from orchestrators import tiers
from orchestrators.toolkit import Run
from shared import policy
from shared.config import SettingsError, load_settings
from shared.reports import render_markdown
from tests.support.durable import NOW, FakeContext, drive
from tests.support.settings import BACKUP_ENV, backup_settings

COMPONENTS = [
    {"name": "intent-api", "path": "/api/v1/status", "tier": 1},
    {"name": "websocket", "path": "/ws/health", "tier": 2},
    {"name": "analytics", "path": "/analytics/health", "tier": 3},
]
GOALS = {1: 1800.0, 2: 7200.0, 3: 600.0}


def component(name: str, tier: int) -> policy.TierComponent:
    return policy.TierComponent(name, f"/{name}", tier)


def test_a_tier_is_as_slow_as_its_slowest_component_and_judged_against_its_own_objective() -> None:
    found = (component("api", 1), component("db", 1), component("ws", 2))
    verdicts = policy.tier_verdicts(found, {"api": 30.0, "db": 95.0, "ws": 7300.0}, GOALS)
    assert [(v.name, v.passed) for v in verdicts] == [("tier1", True), ("tier2", False)]
    assert verdicts[0].reason == "tier 1 RTO 1 min inside its 30 min objective (api 30 s, db 1 min)"
    assert verdicts[1].reason == "tier 2 RTO 2 h 1 min over its 2 h 0 min objective (ws 2 h 1 min)"
    assert policy.tiers_decision(verdicts).action == "missed"


def test_a_component_that_never_answered_fails_its_tier_and_is_not_probed_past_its_objective() -> None:
    found = (component("api", 1), component("archive", 3))
    assert policy.tiers_pending(found, {"api": 10.0}, 500.0, GOALS) == (found[1],)
    assert policy.tiers_pending(found, {"api": 10.0}, 601.0, GOALS) == ()
    (_, archive) = policy.tier_verdicts(found, {"api": 10.0}, GOALS)
    assert not archive.passed and archive.reason == "tier 3: archive not healthy within the 10 min objective"
    assert policy.tiers_decision(()).action == "unmeasured"


def measure(healthy_after: dict[str, float], **overrides: str) -> tuple[str, FakeContext, Run]:
    """measure_tiers in a run whose first signal was 2 minutes ago; each path turns healthy after its time."""
    settings = backup_settings(tier_components=json.dumps(COMPONENTS), **overrides)
    since = NOW - timedelta(minutes=2)
    made: list[Run] = []

    def probe(p: dict[str, Any]) -> dict[str, Any]:
        path = p["url"].removeprefix("https://qlp.example")
        after = healthy_after.get(path)
        ok = after is not None and (ctx.current_utc_datetime - since).total_seconds() >= after
        return {"url": p["url"], "ok": ok, "status": 200 if ok else 503}

    def plan(context: Any) -> Any:
        run = Run(context, "failover")
        made.append(run)
        return (yield from tiers.measure_tiers(run, base_url="https://qlp.example", since=since.isoformat()))

    ctx = FakeContext({"settings": settings, "run_id": "failover-qlp-1"}, {"probe_http": probe}, now=NOW)
    return drive(plan, ctx), ctx, made[0]


def test_a_tier_2_component_that_recovers_later_gets_its_own_rto_inside_its_objective() -> None:
    healthy = {"/api/v1/status": 0.0, "/ws/health": 600.0, "/analytics/health": 900.0}
    reason, ctx, run = measure(healthy, tier_poll_interval_seconds="60")
    rows = {t["tier"]: t for t in run.record.measurements["tier_rto"]}
    assert (
        rows[1]["rto_seconds"] == 123.0
    )  # 2 min since the signal + the first round (3 fake probes, 1 s each)
    assert 600 <= rows[2]["rto_seconds"] <= 661 and rows[2]["result"] == "pass"
    assert rows[3]["result"] == "pass" and rows[3]["components"]["analytics"] >= 900
    gaps = {b - a for a, b in zip(ctx.timers, ctx.timers[1:], strict=False)}
    assert ctx.timers and all(timedelta(seconds=60) <= gap <= timedelta(seconds=63) for gap in gaps)
    assert reason.startswith("tier 1 RTO 2 min inside its 30 min objective")
    assert run.record.decisions[-1]["action"] == "met"


def test_a_tier_that_never_recovers_is_probed_until_its_objective_then_missed() -> None:
    reason, ctx, run = measure({"/api/v1/status": 0.0}, rto_tier2_minutes="10", rto_tier3_minutes="10")
    rows = {t["tier"]: t for t in run.record.measurements["tier_rto"]}
    assert rows[2]["rto_seconds"] is None and rows[2]["result"] == "fail"
    assert "tier 2: websocket not healthy within the 10 min objective" in reason
    assert run.record.decisions[-1]["action"] == "missed"
    last_probe = max(ctx.timers)
    assert last_probe - (NOW - timedelta(minutes=2)) <= timedelta(minutes=10, seconds=10)
    report = render_markdown(run.record.to_dict())
    assert "tier 2 RTO" in report


def test_tier_components_are_validated_naming_the_setting() -> None:
    bad = {**BACKUP_ENV, "CONTINUITY_TIER_COMPONENTS": json.dumps([{"name": "ws", "path": "/ws", "tier": 4}])}
    with pytest.raises(SettingsError) as raised:
        load_settings(bad)
    assert "CONTINUITY_TIER_COMPONENTS" in str(raised.value) and "tier must be 1, 2 or 3" in str(raised.value)
    default = load_settings(BACKUP_ENV).tier_components
    assert [c["name"] for c in default] == ["intent-api", "database"]
