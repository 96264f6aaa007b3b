"""A deploy's measurements (shared/policy/analysis.py): the smoke suite, every rollback trigger, no data is
never a pass (rule 11), propagation, Front Door evidence, container recovery's scope and escalation."""

from __future__ import annotations

from typing import Any

from shared import policy
from shared.config.smoke import DOCUMENT_SMOKE_SUITE

TRIGGERS = policy.Triggers(
    health_failure_percent=50,
    error_rate_points=5,
    latency_factor=2,
    latency_floor_ms=100,
    consecutive=2,
    inconclusive_limit=1,
)
OK = {"url": "https://app/health", "ok": True, "status": 200, "latency_ms": 4.0}
DOWN = {"url": "https://app/health", "ok": False, "status": 500, "error": "status 500, expected 200"}
BASELINE = {"error_rate": 0.0, "p95_ms": 12.0, "count": 60}


def burst(rate: float | None = 0.0, p95: float | None = 14.0) -> dict[str, Any]:
    return {"count": 20, "error_rate": rate, "p95_ms": p95, "average_ms": p95}


def check(*, health: dict[str, Any] = OK, b: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    ms = policy.measure_check(
        health=health,
        database=OK,
        burst=b or burst(),
        baseline=kw.pop("baseline", BASELINE),
        triggers=TRIGGERS,
        **kw,
    )
    return {"measurements": ms, "outcome": policy.check_outcome(ms)}


def decide(checks: list[dict[str, Any]], planned: int = 30) -> Any:
    return policy.analysis_decision(checks, planned=planned, triggers=TRIGGERS)


# ---- smoke -----------------------------------------------------------------------------------------------
def test_the_documents_suite_becomes_probes_and_a_burst_on_the_idle_slot() -> None:
    requests = policy.smoke_requests(DOCUMENT_SMOKE_SUITE, "http://10.0.0.5:8000", "deploy-qlp-1")
    kinds = [kind for kind, _ in requests]
    assert kinds == ["http", "http", "http", "http", "http", "load"]
    intent = requests[3][1]
    assert intent["url"] == "http://10.0.0.5:8000/api/v1/intents" and intent["expect_status"] == 0
    assert intent["json"] == {"user_input": "continuity smoke test deploy-qlp-1"}
    assert intent["expect_json"] == {"status": "success", "intent_id": "*"}
    assert requests[5][1] == {"url": "http://10.0.0.5:8000/health", "requests": 100, "concurrency": 10}


def test_the_load_check_passes_at_or_under_500_ms_and_fails_without_data() -> None:
    load = DOCUMENT_SMOKE_SUITE[-1]
    fast = policy.smoke_check(
        load, "load", {"count": 100, "average_ms": 310.0, "p95_ms": 330.0, "error_rate": 0.0}
    )
    assert fast["outcome"] == "pass" and "average 310.0 ms" in fast["measured"]
    slow = policy.smoke_check(load, "load", {"count": 100, "average_ms": 805.0, "error_rate": 0.0})
    assert slow["outcome"] == "fail" and slow["reason"] == "average 805.0 ms over 500 ms"
    flaky = policy.smoke_check(load, "load", {"count": 100, "average_ms": 5.0, "error_rate": 10.0})
    assert flaky["reason"] == "error rate 10.0% over 0%"
    silent = policy.smoke_check(load, "load", {"count": 100, "average_ms": None, "error_rate": 100.0})
    assert silent["outcome"] == "fail" and "no data is not a pass" in silent["reason"]


def test_the_smoke_verdict_lists_every_measured_value() -> None:
    health = policy.smoke_check(DOCUMENT_SMOKE_SUITE[0], "http", OK)
    search = policy.smoke_check(
        DOCUMENT_SMOKE_SUITE[4],
        "http",
        {"ok": False, "status": 200, "error": "unexpected results=0", "values": {"results": 0}},
    )
    verdict = policy.smoke_verdict([health, search])
    assert not verdict.passed
    assert verdict.reasons == ("smoke search failed: unexpected results=0 (200 in None ms results=0)",)
    assert policy.smoke_verdict([health]).reasons == ("smoke health: 200 in 4.0 ms",)


# ---- the analysis ------------------------------------------------------------------------------------------
def test_a_healthy_release_passes_after_every_planned_check() -> None:
    checks = [check() for _ in range(3)]
    assert decide(checks[:2], planned=3).is_("continue")
    done = decide(checks, planned=3)
    assert done.is_("pass") and done.reason == "3 of 3 checks passed, 0 inconclusive, no trigger fired"


def test_the_error_rate_trigger_needs_two_failed_checks_in_a_row() -> None:
    bad = check(b=burst(rate=100.0))
    assert bad["outcome"] == "fail"
    assert decide([check(), bad]).is_("continue")
    fired = decide([check(), bad, bad])
    assert fired.is_("rollback") and fired.reason.startswith(
        "error rate over its trigger in 2 checks in a row"
    )
    blip = check(b=burst(rate=5.0))  # exactly baseline + 5 points: not over
    assert blip["outcome"] == "pass"


def test_the_p95_trigger_is_twice_the_baseline_and_above_the_floor() -> None:
    slow = check(b=burst(p95=320.0))
    latency = slow["measurements"][3]
    assert (latency["name"], latency["outcome"], latency["threshold"]) == ("latency_p95", "fail", 112.0)
    assert decide([slow, slow]).reason.startswith(
        "p95 latency over its trigger in 2 checks in a row (320.0, 320.0"
    )
    noise = check(
        b=burst(p95=60.0)
    )  # 5x a 12 ms baseline, but within the 100 ms floor: noise, not a regression
    assert noise["outcome"] == "pass"


def test_the_health_trigger_is_more_than_half_of_the_checks_so_far() -> None:
    down = check(health=DOWN)
    assert decide([down]).is_("continue")  # one check is not yet a window
    assert decide([down, check()]).is_("continue")  # 50% is not more than 50%
    fired = decide([down, check(), down])
    assert fired.is_("rollback") and fired.reason == "health failed 2 of 3 checks (over 50%)"


def test_a_container_alert_on_the_new_slot_rolls_back_at_once() -> None:
    alerted = check(signals=["CPU alert on aci-green"])
    fired = decide([alerted])
    assert fired.is_("rollback") and fired.reason == "container alert fired: CPU alert on aci-green"


def test_no_data_is_never_a_pass_and_past_the_limit_the_analysis_acts() -> None:
    blind = check(b=burst(rate=None, p95=None))
    assert blind["outcome"] == "inconclusive"
    assert decide([blind], planned=1).is_("pass")  # one inconclusive check is within the limit of 1 ...
    assert "1 inconclusive" in decide([blind], planned=1).reason  # ... and is said, not counted as passed
    acted = decide([blind, blind])
    assert (acted.action, acted.rule) == ("inconclusive", "rule 11")
    no_baseline = check(baseline={"error_rate": None, "p95_ms": None})
    assert no_baseline["outcome"] == "inconclusive"


def test_the_analysis_verdict_counts_every_check() -> None:
    checks = [check(), check(b=burst(rate=50.0)), check(b=burst(rate=None, p95=None))]
    verdict = policy.analysis_verdict(policy.Decision("rollback", "error rate ..."), checks)
    assert not verdict.passed and verdict.reasons[1] == "3 checks: 1 passed, 1 failed, 1 inconclusive"


def test_front_door_metrics_are_evidence_and_inconclusive_when_absent() -> None:
    evidence = policy.frontdoor_evidence(
        {"error_5xx_percent": 40.0, "latency_ms": None, "request_count": 9},
        {"error_5xx_percent": 0.0, "latency_ms": 5.0},
    )
    assert [(e["name"], e["outcome"]) for e in evidence] == [
        ("Percentage5XX", "fail"),
        ("TotalLatency", "inconclusive"),
        ("RequestCount", "pass"),
    ]
    assert [e["outcome"] for e in policy.frontdoor_evidence(None, None)] == ["inconclusive"] * 3


# ---- propagation -----------------------------------------------------------------------------------------
def answer(version: str, ok: bool = True) -> dict[str, Any]:
    return {"ok": ok, "status": 200, "values": {"version": version}}


def test_the_switch_is_done_when_the_new_version_answers_k_times_in_a_row() -> None:
    answers = [answer("1.0.0"), answer("1.1.0"), answer("1.0.0"), answer("1.1.0"), answer("1.1.0")]
    assert policy.propagated(answers, "1.1.0", 3).is_("waiting")
    served = policy.propagated([*answers, answer("1.1.0")], "1.1.0", 3)
    assert served.reason == "the public endpoint served 1.1.0 3 times in a row"


# ---- container recovery -----------------------------------------------------------------------------------
def test_a_container_fault_in_a_healthy_region_is_recovered_never_failed_over() -> None:
    assert policy.recovery_scope(database_ok=True, region_ok=True, live=True, group="aci-blue").is_("recover")
    assert policy.recovery_scope(database_ok=False, region_ok=True, live=True, group="aci-blue").is_("refuse")
    assert policy.recovery_scope(database_ok=True, region_ok=False, live=True, group="aci-blue").is_("refuse")
    assert policy.recovery_scope(database_ok=True, region_ok=True, live=False, group="aci-green").is_("skip")


def test_recovery_escalates_restart_then_image_rollback_then_recreate_then_pages() -> None:
    def step(done: list[str], prev: str | None = "1.0.0") -> str:
        return policy.recovery_next(done, previous_image=prev, live_image="1.1.0").action

    assert step([]) == "restart"
    assert step(["restart"]) == "image-rollback"
    assert step(["restart"], prev=None) == "recreate"  # no previous image known: skip the rollback
    assert step(["restart"], prev="1.1.0") == "recreate"  # the previous image is the live one
    assert step(["restart", "image-rollback"]) == "recreate"
    assert step(["restart", "image-rollback", "recreate"]) == "page"
