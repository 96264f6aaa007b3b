"""Decisions of a deploy's measurements: the smoke suite's verdict, each post-switch check's measurements
against the baseline, the rollback triggers, the switch's propagation, and container recovery.

Every measurement is ``pass``, ``fail`` or ``inconclusive`` (no data): inconclusive is never a pass
(rule 11). Error rates and latencies come from Continuity's own request bursts (Azure Monitor has no
percentiles for Front Door or ACI); Front Door's own metrics are supplementary evidence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.models import Decision, Verdict

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
Json = dict[str, Any]


# ---- smoke tests on the idle slot's own address -------------------------------------------------------
def smoke_requests(suite: Sequence[Mapping[str, Any]], base_url: str, run_id: str) -> list[tuple[str, Json]]:
    """Each check as (kind, activity input): ``load`` -> a burst, ``http`` -> one probe. ``{run_id}`` in
    the check's JSON strings becomes the run's id."""
    out: list[tuple[str, Json]] = []
    for check in suite:
        url = base_url + str(check["path"])
        if "requests" in check:
            burst = {"url": url, "requests": check["requests"], "concurrency": check.get("concurrency", 1)}
            out.append(("load", burst))
            continue
        probe: Json = {"url": url, "method": check.get("method", "GET")}
        probe["expect_status"] = int(check.get("expect_status", 0))
        if "json" in check:
            probe["json"] = json.loads(json.dumps(check["json"]).replace("{run_id}", run_id))
        if check.get("expect"):
            probe["expect_json"] = dict(check["expect"])
        out.append(("http", probe))
    return out


def smoke_check(check: Mapping[str, Any], kind: str, result: Mapping[str, Any]) -> Json:
    """One check's outcome and its measured value."""
    name = str(check["name"])
    if kind == "load":
        average, rate = result.get("average_ms"), result.get("error_rate")
        limit_ms, limit_rate = check.get("max_average_ms"), check.get("max_error_percent")
        problems = []
        if average is None:
            problems.append("no request answered (no data is not a pass)")
        elif limit_ms is not None and average > limit_ms:
            problems.append(f"average {average} ms over {limit_ms} ms")
        if rate is not None and limit_rate is not None and rate > limit_rate:
            problems.append(f"error rate {rate}% over {limit_rate}%")
        measured = (
            f"{result.get('count')} requests at concurrency {check.get('concurrency', 1)}: average "
            f"{average} ms, p95 {result.get('p95_ms')} ms, errors {rate}%"
        )
        return _outcome(name, not problems, measured, problems, result)
    measured = f"{result.get('status')} in {result.get('latency_ms')} ms"
    if result.get("values"):
        measured += " " + ", ".join(f"{k}={v!r}" for k, v in result["values"].items())
    problems = [] if result.get("ok") else [str(result.get("error") or "failed")]
    return _outcome(name, bool(result.get("ok")), measured, problems, result)


def _outcome(name: str, passed: bool, measured: str, problems: list[str], result: Mapping[str, Any]) -> Json:
    keep = ("status", "latency_ms", "values", "count", "errors", "error_rate", "average_ms", "p95_ms")
    return {
        "name": name,
        "outcome": PASS if passed else FAIL,
        "measured": measured,
        "reason": "; ".join(problems) or "passed",
        "value": {k: result[k] for k in keep if k in result},
    }


def smoke_verdict(checks: Sequence[Mapping[str, Any]]) -> Verdict:
    """Passed only when every check passed; each check's measured value is a reason."""
    failed = [c for c in checks if c["outcome"] != PASS]
    if failed:
        return Verdict(
            False, tuple(f"smoke {c['name']} failed: {c['reason']} ({c['measured']})" for c in failed)
        )
    return Verdict(True, tuple(f"smoke {c['name']}: {c['measured']}" for c in checks))


# ---- the analysis after the switch ----------------------------------------------------------------------
@dataclass(frozen=True)
class Triggers:
    """The rollback triggers (settings) and how the analysis counts."""

    health_failure_percent: float
    error_rate_points: float
    latency_factor: float
    latency_floor_ms: float
    consecutive: int
    inconclusive_limit: int

    @classmethod
    def of(cls, settings: Any) -> Triggers:
        return cls(
            settings.rollback_health_failure_percent,
            settings.rollback_error_rate_points,
            settings.rollback_latency_factor,
            settings.rollback_latency_floor_ms,
            settings.rollback_consecutive_checks,
            settings.analysis_inconclusive_limit,
        )


def _m(name: str, outcome: str, value: Any, reason: str, threshold: Any = None) -> Json:
    return {"name": name, "outcome": outcome, "value": value, "threshold": threshold, "reason": reason}


def measure_check(
    *,
    health: Mapping[str, Any],
    database: Mapping[str, Any],
    burst: Mapping[str, Any],
    baseline: Mapping[str, Any],
    triggers: Triggers,
    signals: Sequence[str] = (),
) -> list[Json]:
    """One post-switch check's measurements: public health and database health, the new slot's error rate
    and p95 against the baseline, and container alerts on the new slot since the last check."""
    out = [
        _m("health", PASS if health.get("ok") else FAIL, health.get("status"), _said(health)),
        _m("database", PASS if database.get("ok") else FAIL, database.get("status"), _said(database)),
    ]
    rate, base_rate = burst.get("error_rate"), baseline.get("error_rate")
    if rate is None or base_rate is None:
        out.append(_m("error_rate", INCONCLUSIVE, rate, "no error rate measured (new slot or baseline)"))
    else:
        limit = float(base_rate) + triggers.error_rate_points
        ok = float(rate) <= limit
        out.append(_m("error_rate", PASS if ok else FAIL, rate, f"{rate}% vs baseline {base_rate}%", limit))
    p95, base_p95 = burst.get("p95_ms"), baseline.get("p95_ms")
    if p95 is None or base_p95 is None:
        out.append(_m("latency_p95", INCONCLUSIVE, p95, "no latency measured (nothing answered)"))
    else:
        limit = max(triggers.latency_factor * float(base_p95), float(base_p95) + triggers.latency_floor_ms)
        ok = float(p95) <= limit
        said = f"p95 {p95} ms vs baseline {base_p95} ms (limit {limit:.0f} ms)"
        out.append(_m("latency_p95", PASS if ok else FAIL, p95, said, round(limit, 1)))
    if signals:
        out.append(_m("container_alert", FAIL, len(signals), "container alert fired: " + "; ".join(signals)))
    return out


def _said(result: Mapping[str, Any]) -> str:
    if result.get("ok"):
        return f"{result.get('status')} in {result.get('latency_ms')} ms"
    return f"{result.get('url')}: {result.get('status')} {result.get('error') or ''}".strip()


def check_outcome(measurements: Sequence[Mapping[str, Any]]) -> str:
    outcomes = {m["outcome"] for m in measurements}
    return FAIL if FAIL in outcomes else INCONCLUSIVE if INCONCLUSIVE in outcomes else PASS


def analysis_decision(checks: Sequence[Mapping[str, Any]], *, planned: int, triggers: Triggers) -> Decision:
    """After each check: ``rollback`` (a trigger fired: the reason names it and its measured values),
    ``inconclusive`` (past the limit of checks without data: rule 11), ``continue``, or ``pass`` once
    every planned check ran. Health and database: more than the percentage of the checks so far failed
    (once ``consecutive`` checks ran); error rate and latency: ``consecutive`` failures in a row; a
    container alert on the new slot: at once."""
    done = len(checks)
    for name, label in (("health", "health"), ("database", "database health")):
        failed = sum(1 for c in checks if _outcome_of(c, name) == FAIL)
        if done >= triggers.consecutive and 100.0 * failed / done > triggers.health_failure_percent:
            return Decision(
                "rollback",
                f"{label} failed {failed} of {done} checks (over {triggers.health_failure_percent:g}%)",
            )
    for name, label in (("error_rate", "error rate"), ("latency_p95", "p95 latency")):
        tail = [_measurement(c, name) for c in checks[-triggers.consecutive :]]
        if len(tail) == triggers.consecutive and all(m and m["outcome"] == FAIL for m in tail):
            values = ", ".join(f"{m['value']}" for m in tail if m)
            return Decision(
                "rollback",
                f"{label} over its trigger in {triggers.consecutive} checks in a row ({values}; "
                f"{tail[-1]['reason'] if tail[-1] else ''})",
            )
    alert = _measurement(checks[-1], "container_alert") if checks else None
    if alert is not None and alert["outcome"] == FAIL:
        return Decision("rollback", str(alert["reason"]))
    inconclusive = sum(1 for c in checks if c["outcome"] == INCONCLUSIVE)
    if inconclusive > triggers.inconclusive_limit:
        return Decision(
            "inconclusive",
            f"{inconclusive} checks could not measure (limit {triggers.inconclusive_limit}): "
            "no data is not a pass",
            "rule 11",
        )
    if done >= planned:
        passed = sum(1 for c in checks if c["outcome"] == PASS)
        return Decision(
            "pass", f"{passed} of {done} checks passed, {inconclusive} inconclusive, no trigger fired"
        )
    return Decision("continue", f"check {done} of {planned}: {checks[-1]['outcome'] if checks else '-'}")


def _measurement(check: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    return next((m for m in check.get("measurements", []) if m["name"] == name), None)


def _outcome_of(check: Mapping[str, Any], name: str) -> str:
    found = _measurement(check, name)
    return str(found["outcome"]) if found else ""


def frontdoor_evidence(window: Mapping[str, Any] | None, baseline: Mapping[str, Any] | None) -> list[Json]:
    """Front Door's own metrics (supplementary): each pass / fail / inconclusive (absent), never deciding."""
    window, baseline = window or {}, baseline or {}
    out = []
    for key, label in (("error_5xx_percent", "Percentage5XX"), ("latency_ms", "TotalLatency")):
        now, before = window.get(key), baseline.get(key)
        if now is None or before is None:
            out.append(_m(label, INCONCLUSIVE, now, "no Front Door data for this window"))
            continue
        worse = now > before * 2 + 1 if key == "latency_ms" else now > before + 5
        out.append(_m(label, FAIL if worse else PASS, now, f"{now} (before the switch: {before})"))
    count = window.get("request_count")
    out.append(_m("RequestCount", INCONCLUSIVE if not count else PASS, count, "requests through Front Door"))
    return out


def analysis_verdict(decision: Decision, checks: Sequence[Mapping[str, Any]]) -> Verdict:
    counts = {o: sum(1 for c in checks if c["outcome"] == o) for o in (PASS, FAIL, INCONCLUSIVE)}
    summary = (
        f"{len(checks)} checks: {counts[PASS]} passed, {counts[FAIL]} failed, "
        f"{counts[INCONCLUSIVE]} inconclusive"
    )
    return Verdict(decision.is_("pass"), (decision.reason, summary), "analysis")


# ---- propagation through Front Door ---------------------------------------------------------------------
def propagated(answers: Sequence[Mapping[str, Any]], version: str, consecutive: int) -> Decision:
    """``served`` once the last ``consecutive`` public answers all report ``version``, else ``waiting``."""
    tail = answers[-consecutive:]
    seen = [str((a.get("values") or {}).get("version", a.get("status"))) for a in tail]
    if len(tail) == consecutive and all(
        a.get("ok") and s == version for a, s in zip(tail, seen, strict=True)
    ):
        return Decision("served", f"the public endpoint served {version} {consecutive} times in a row")
    return Decision(
        "waiting", f"public endpoint answered {', '.join(seen) or 'nothing'}; waiting for {version}"
    )


# ---- container recovery (the DR document's scenario 3) ---------------------------------------------------
RECOVERY_STEPS = ("restart", "image-rollback", "recreate")


def recovery_scope(*, database_ok: bool, region_ok: bool, live: bool, group: str) -> Decision:
    """Recover ``group`` only when it is the live slot and its region and the database are healthy; a
    container fault in a healthy region is never a failover, and a region or database fault is not a
    container fault."""
    if not database_ok:
        return Decision(
            "refuse",
            f"the database is not healthy: not a container fault of {group}; the failover intake handles it",
        )
    if not region_ok:
        return Decision(
            "refuse",
            f"the region of {group} does not answer: not a container fault; the failover intake handles it",
        )
    if not live:
        return Decision("skip", f"{group} is not serving traffic: nothing to recover now")
    return Decision(
        "recover", f"{group} serves traffic in a healthy region with a healthy database: container recovery"
    )


def recovery_next(done: Sequence[str], *, previous_image: str | None, live_image: str) -> Decision:
    """The next escalation after the steps ``done`` failed to make the group healthy: restart, then image
    rollback (when a previous image other than the live one is known), then recreate, then page."""
    for step in RECOVERY_STEPS:
        if step in done:
            continue
        if step == "image-rollback" and (not previous_image or previous_image == live_image):
            continue
        reasons = {
            "restart": "restart the group and verify",
            "image-rollback": f"still failing: roll the group back to {previous_image}",
            "recreate": "still failing: re-create the group from its definition (stop, then start)",
        }
        return Decision(step, reasons[step])
    return Decision("page", f"still failing after {', '.join(done)}: an operator must act")
