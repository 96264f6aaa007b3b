"""Verdicts of runs that prove something: restore tests, drills, and a run's RTO / RPO against objectives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shared.models import Decision, Verdict
from shared.policy.durations import describe_duration, duration


@dataclass(frozen=True)
class CheckOutcome:
    """One data check run against a restored server."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class RestoreTestEvidence:
    """What a restore test observed. None means the step did not run (and counts as not verified)."""

    restore_error: str | None
    checks: tuple[CheckOutcome, ...]
    sentinel_before_present: bool | None
    sentinel_after_absent: bool | None
    teardown_verified: bool | None
    restore_seconds: float | None = None
    restore_objective_seconds: float | None = None


def restore_test_verdict(evidence: RestoreTestEvidence) -> Verdict:
    """A restore test passes only when the restore ran, every check and both sentinels hold, and the
    scratch server is verified gone. Every failure is listed."""
    failures: list[str] = []
    if evidence.restore_error is not None:
        failures.append(f"restore failed: {evidence.restore_error}")
    failures.extend(f"check {c.name} failed: {c.detail}" for c in evidence.checks if not c.passed)
    failures.extend(_sentinel_failures(evidence))
    failures.extend(_time_failures(evidence.restore_seconds, evidence.restore_objective_seconds))
    failures.extend(
        _teardown_failures(
            evidence.teardown_verified,
            "teardown was not verified",
            "the scratch server still exists after deletion",
        )
    )
    if failures:
        return Verdict(False, tuple(failures))
    summary = (
        f"restore succeeded, {len(evidence.checks)} checks passed, sentinel before the point present, "
        "sentinel after it absent, scratch server verified gone"
    )
    return Verdict(True, (summary,))


def _sentinel_failures(evidence: RestoreTestEvidence) -> list[str]:
    if evidence.restore_error is not None:
        return []
    out: list[str] = []
    if evidence.sentinel_before_present is None:
        out.append("the sentinel written before the restore point was not checked")
    elif not evidence.sentinel_before_present:
        out.append("the sentinel written before the restore point is missing: data was lost")
    if evidence.sentinel_after_absent is None:
        out.append("the sentinel written after the restore point was not checked")
    elif not evidence.sentinel_after_absent:
        out.append("the sentinel written after the restore point is present: the restore overshot its point")
    return out


def _time_failures(seconds: float | None, objective: float | None) -> list[str]:
    if seconds is None or objective is None or seconds <= objective:
        return []
    return [f"restore took {duration(seconds)}, over the {duration(objective)} objective"]


def _teardown_failures(verified: bool | None, unverified: str, left: str) -> list[str]:
    if verified is None:
        return [unverified]
    return [] if verified else [left]


@dataclass(frozen=True)
class DrillEvidence:
    """What a drill measured: failed steps, RTO and RPO against objectives, and the teardown."""

    failed_steps: tuple[str, ...]
    rto_seconds: float | None
    rto_objective_seconds: float
    rpo_seconds: float | None
    rpo_objective_seconds: float
    teardown_verified: bool | None


def drill_verdict(evidence: DrillEvidence) -> Verdict:
    """A drill passes when every step ran, RTO and RPO were measured inside objectives and nothing is left."""
    failures = [f"step {step} failed" for step in evidence.failed_steps]
    failures.extend(_objective_failures("RTO", evidence.rto_seconds, evidence.rto_objective_seconds))
    failures.extend(_objective_failures("RPO", evidence.rpo_seconds, evidence.rpo_objective_seconds))
    failures.extend(
        _teardown_failures(
            evidence.teardown_verified, "drill teardown was not verified", "drill resources are left behind"
        )
    )
    if failures:
        return Verdict(False, tuple(failures))
    rto = describe_duration(timedelta(seconds=evidence.rto_seconds or 0))
    rpo = describe_duration(timedelta(seconds=evidence.rpo_seconds or 0))
    return Verdict(True, (f"all steps passed; RTO {rto} and RPO {rpo} inside objectives; teardown verified",))


def _objective_failures(label: str, measured: float | None, objective: float) -> list[str]:
    if measured is None:
        return [f"{label} was not measured"]
    if measured > objective:
        return [f"{label} {duration(measured)} is over the {duration(objective)} objective"]
    return []


def objectives_verdict(
    *, rto_seconds: float | None, rpo_seconds: float | None, rto_goal: float, rpo_goal: float
) -> Decision:
    """``met`` or ``missed`` the objectives, or ``unmeasured`` when a figure is missing."""
    if rto_seconds is None or rpo_seconds is None:
        return Decision("unmeasured", "RTO or RPO could not be measured: objectives not verified")
    rto = f"RTO {duration(rto_seconds)} vs {duration(rto_goal)}"
    rpo = f"RPO {duration(rpo_seconds)} vs {duration(rpo_goal)}"
    if rto_seconds <= rto_goal and rpo_seconds <= rpo_goal:
        return Decision("met", f"objectives met: {rto}, {rpo}")
    return Decision("missed", f"objectives missed: {rto}, {rpo}")
