"""The run record: the evidence of one run as it goes, and its two views (custom status and report).

One record per run, kept by :class:`orchestrators.toolkit.Run`: steps with start and end, decisions with
their reason and safety rule, measured values, the resources the run names, the estate observed before
and after, data checks, the verdict, evidence links, notifications and warnings. It is rebuilt identically
on every replay because it is fed only from the orchestration's inputs, activity results and
``context.current_utc_datetime``. Everything that goes in is redacted (shared.reports.redact).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.models import Decision, Verdict
from shared.reports import redact

Json = dict[str, Any]

RUNNING = "running"
FINAL_STEP_OUTCOMES = ("succeeded", "failed", "skipped")
STATUS_STEPS, STATUS_DECISIONS, STATUS_WAITS = 30, 30, 5  # what the custom status carries (the report: all)


def iso(moment: datetime) -> str:
    """A timestamp as it travels in records and activity inputs."""
    return moment.isoformat()


class RunRecord:
    """The growing record of one run; ``custom_status()`` and ``to_dict()`` are its views."""

    def __init__(self, run_id: str, operation: str, trigger: Json, started_at: datetime) -> None:
        self.run_id, self.operation = run_id, operation
        self.trigger: Json = redact(dict(trigger))
        self.started_at = iso(started_at)
        self.status, self.summary, self.ended_at = RUNNING, "", ""
        self.steps: list[Json] = []
        self.waits: list[Json] = []  # time spent waiting for an operator, a grace period, a confirmation
        self.decisions: list[Json] = []
        self.measurements: Json = {}
        self.resources: Json = {}
        self.estate: Json = {"before": {}, "after": {}}
        self.checks: list[Json] = []
        self.verdict: Json | None = None
        self.evidence: Json = {}
        self.notifications: list[Json] = []
        self.warnings: list[str] = []
        self.extra: Json = {}  # plan-specific sections of the report (the primary found, the plan)
        self.retain_years: int | None = None
        self.step, self.awaiting, self.waiting_until = "", "", ""
        self._open: list[str] = []  # the steps running now, innermost last

    # ---- recording -------------------------------------------------------------------------------------
    def begin(self, step: str, at: datetime) -> Json:
        self._open.append(step)
        self.step = step
        entry: Json = {"name": step, "started_at": iso(at), "ended_at": "", "outcome": RUNNING, "detail": ""}
        self.steps.append(entry)
        return entry

    def end(self, entry: Json, at: datetime, outcome: str, detail: Any = "") -> None:
        entry.update(ended_at=iso(at), outcome=outcome, detail=str(redact(detail))[:500])
        if entry["name"] in self._open:
            self._open.reverse()
            self._open.remove(entry["name"])
            self._open.reverse()
        self.step = self._open[-1] if self._open else ""

    def skip(self, step: str, at: datetime, reason: str) -> None:
        self.end(self.begin(step, at), at, "skipped", reason)

    def wait(self, what: str, at: datetime, until: str = "") -> None:
        """The run waits for ``what`` (approval, grace, confirmation) from ``at``, until ``until`` at most."""
        self.resume(at)
        self.awaiting, self.waiting_until = what, until
        self.waits.append(
            {"what": what, "step": self.step, "started_at": iso(at), "until": until, "ended_at": ""}
        )

    def resume(self, at: datetime) -> None:
        """The wait, if any, is over."""
        if self.waits and not self.waits[-1]["ended_at"]:
            self.waits[-1]["ended_at"] = iso(at)
        self.awaiting, self.waiting_until = "", ""

    def decide(self, step: str, decision: Decision, at: datetime) -> Decision:
        self.decisions.append({**redact(decision.to_dict()), "step": step, "at": iso(at)})
        return decision

    def judge(self, verdict: Verdict) -> Verdict:
        self.verdict = {"passed": verdict.passed, "reasons": list(redact(list(verdict.reasons)))}
        return verdict

    def measure(self, **values: Any) -> None:
        self.measurements.update(redact(values))

    def resource(self, **values: Any) -> None:
        self.resources.update(redact(values))

    def observed(self, phase: str, name: str, state: Any) -> None:
        """The estate as observed ``before`` the run acted or ``after`` it ended."""
        self.estate[phase][name] = redact(state)

    def warn(self, text: str) -> None:
        self.warnings.append(str(redact(text)))

    def finish(self, status: str, at: datetime, summary: str) -> None:
        self.resume(at)
        self.status, self.ended_at, self.summary = status, iso(at), str(redact(summary))
        self.step = ""
        self._open.clear()

    # ---- reading back ----------------------------------------------------------------------------------
    def ran(self) -> list[str]:
        """Names of the steps that ran to success, in order."""
        return [s["name"] for s in self.steps if s["outcome"] == "succeeded"]

    def step_named(self, name: str) -> Json | None:
        """The last step of that name, or None."""
        return next((s for s in reversed(self.steps) if s["name"] == name), None)

    # ---- views -----------------------------------------------------------------------------------------
    def custom_status(self) -> Json:
        """What operators see while the run goes: the step, what it waits for and until when, the reason
        for the last decision, recent steps and decisions."""
        last = self.decisions[-1] if self.decisions else {}
        return {
            "run_id": self.run_id,
            "operation": self.operation,
            "status": self.status,
            "step": self.step,
            "awaiting": self.awaiting,
            "waiting_until": self.waiting_until,
            "last_decision": last.get("action", ""),
            "reason": last.get("reason", ""),
            "report": self.evidence.get("report", ""),
            "steps": [{k: s[k] for k in ("name", "outcome", "started_at", "ended_at")} for s in self.steps][
                -STATUS_STEPS:
            ],
            "waits": [dict(w) for w in self.waits][-STATUS_WAITS:],
            "decisions": [
                {k: d.get(k, "") for k in ("step", "action", "reason", "rule")} for d in self.decisions
            ][-STATUS_DECISIONS:],
        }

    def to_dict(self) -> Json:
        """The report: plain JSON, every value redacted on the way in."""
        report: Json = {
            "run_id": self.run_id,
            "operation": self.operation,
            "trigger": self.trigger,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.status,
            "summary": self.summary,
            "steps": [dict(s) for s in self.steps],
            "waits": [dict(w) for w in self.waits],
            "decisions": [dict(d) for d in self.decisions],
            "measurements": dict(self.measurements),
            "resources": dict(self.resources),
            "estate": {phase: dict(found) for phase, found in self.estate.items()},
            "checks": list(self.checks),
            "verdict": self.verdict,
            "evidence": dict(self.evidence),
            "notifications": list(self.notifications),
            "warnings": list(self.warnings),
            **self.extra,
        }
        if self.retain_years is not None:
            report["retention"] = f"{self.retain_years} years (compliance record)"
        return report
