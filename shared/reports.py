"""Run reports: the timeline of one run (steps, decisions, measurements), its Markdown, and how it is kept.

``RunLog`` is the in-orchestration record; it is rebuilt identically on every replay because it is fed
only from the orchestration's deterministic inputs and ``context.current_utc_datetime``. ``save`` and
``announce`` are orchestration helpers (generators used with ``yield from``): they write the report
through the storage activity and notify through the notify and events activities. Reports never hold a
secret: ``redact`` scrubs passwords, keys and tokens from anything that goes in.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from datetime import datetime
from typing import Any

from shared import names
from shared.models import Decision, RunReport, StepRecord, parse_time

# Patterns, compiled by ``re`` on first use (and cached there), not at import.
_SECRET_KEY = r"(?i)(password|passwd|secret|token|routing_key|api_key|connection_string|sig)$"
_URL_PASSWORD = r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"
_KV_SECRET = r"(?i)\b(password|pwd|sig|code|key)=([^&\s;]+)"
REDACTED = "***"

# Events that notify (DESIGN.md: notifications at every state change).
STARTED, AWAITING_APPROVAL, STEP_FAILED, REFUSED, COMPLETED = (
    "started",
    "awaiting-approval",
    "step-failed",
    "refused",
    "completed",
)
_SEVERITY = {STARTED: "info", AWAITING_APPROVAL: "warning", STEP_FAILED: "error", REFUSED: "warning"}


def redact(value: Any) -> Any:
    """A copy of a JSON value with secret-looking keys and URL or query-string credentials masked."""
    if isinstance(value, dict):
        return {k: REDACTED if re.search(_SECRET_KEY, str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return re.sub(_KV_SECRET, rf"\1={REDACTED}", re.sub(_URL_PASSWORD, rf"\1{REDACTED}@", value))
    return value


def seconds_between(start: str, end: str) -> float | None:
    """Seconds from one ISO timestamp to another, or None when either is missing."""
    if not start or not end:
        return None
    return (parse_time(end) - parse_time(start)).total_seconds()


def _iso(at: datetime) -> str:
    return at.isoformat()


class RunLog:
    """The growing record of one run; ``custom_status()`` and ``report()`` are its two views."""

    def __init__(self, run_id: str, operation: str, trigger: dict[str, Any], started_at: datetime) -> None:
        self.run_id, self.operation = run_id, operation
        self.trigger = redact(trigger)
        self.started_at = _iso(started_at)
        self.steps: list[StepRecord] = []
        self.decisions: list[dict[str, Any]] = []
        self.measurements: dict[str, Any] = {}
        self.resources: dict[str, Any] = {}
        self.status, self.summary, self.ended_at = "running", "", ""
        self.step, self.awaiting = "", ""
        self.report_url = ""

    # ---- recording ----------------------------------------------------------------------------------
    def begin(self, step: str, at: datetime) -> None:
        self.step = step
        self.steps.append(StepRecord(step, _iso(at)))

    def end(self, step: str, at: datetime, outcome: str = "succeeded", detail: str = "") -> None:
        for i in range(len(self.steps) - 1, -1, -1):
            if self.steps[i].name == step and self.steps[i].outcome == "running":
                self.steps[i] = self.steps[i].finished(_iso(at), outcome, redact(detail))
                return
        self.steps.append(StepRecord(step, _iso(at), _iso(at), outcome, redact(detail)))

    def decide(self, step: str, decision: Decision, at: datetime) -> Decision:
        self.decisions.append({**decision.to_dict(), "step": step, "at": _iso(at)})
        return decision

    def measure(self, **values: Any) -> None:
        self.measurements.update(redact(values))

    def resource(self, name: str, state: Any) -> None:
        self.resources[name] = redact(state)

    def finish(self, status: str, at: datetime, summary: str) -> None:
        self.status, self.ended_at, self.summary = status, _iso(at), summary
        self.step, self.awaiting = "", ""

    def ran(self) -> list[str]:
        """Names of the steps that ran to success, in order."""
        return [s.name for s in self.steps if s.outcome == "succeeded"]

    # ---- views --------------------------------------------------------------------------------------
    def last_decision(self) -> dict[str, Any]:
        return self.decisions[-1] if self.decisions else {}

    def custom_status(self) -> dict[str, Any]:
        """What operators see while the run goes: current step and the reason for the last decision."""
        last = self.last_decision()
        return {
            "operation": self.operation,
            "status": self.status,
            "step": self.step,
            "awaiting": self.awaiting,
            "last_decision": last.get("action", ""),
            "reason": last.get("reason", ""),
            "report": self.report_url,
            "steps": [{"name": s.name, "outcome": s.outcome} for s in self.steps][-30:],
            "decisions": [
                {k: d.get(k, "") for k in ("step", "action", "reason", "rule")} for d in self.decisions
            ][-30:],
        }

    def report(self) -> RunReport:
        return RunReport(
            run_id=self.run_id,
            operation=self.operation,
            trigger=self.trigger,
            started_at=self.started_at,
            status=self.status,
            steps=tuple(self.steps),
            decisions=tuple(self.decisions),
            measurements=dict(self.measurements),
            resources=dict(self.resources),
            ended_at=self.ended_at,
            summary=self.summary,
        )


# ---- rendering ----------------------------------------------------------------------------------------
def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown for people: summary, measurements, steps, decisions, resources."""
    lines = [
        f"# {report['operation']} run {report['run_id']}",
        "",
        f"- status: **{report['status']}**",
        f"- started: {report['started_at']}",
        f"- ended: {report.get('ended_at') or '(running)'}",
        f"- trigger: {_trigger_text(report.get('trigger', {}))}",
    ]
    if report.get("summary"):
        lines += ["", report["summary"]]
    lines += ["", "## Measurements", ""]
    lines += [f"- {k}: {v}" for k, v in report.get("measurements", {}).items()] or ["- none yet"]
    lines += ["", "## Steps", "", "| step | started | ended | outcome | detail |", "|---|---|---|---|---|"]
    lines += [_step_row(s) for s in report.get("steps", [])]
    lines += ["", "## Decisions", ""]
    lines += [
        f"- {d.get('at', '')} {d.get('step', '')}: **{d['action']}** - {d['reason']}"
        + (f" ({d['rule']})" if d.get("rule") else "")
        for d in report.get("decisions", [])
    ] or ["- none"]
    if report.get("resources"):
        lines += ["", "## Resources", ""]
        lines += [f"- {k}: {_cell(str(v))}" for k, v in report["resources"].items()]
    return "\n".join(lines) + "\n"


def _step_row(s: dict[str, Any]) -> str:
    cells = (s["name"], s["started_at"], s.get("ended_at", ""), s["outcome"], _cell(s.get("detail", "")))
    return "| " + " | ".join(cells) + " |"


def _trigger_text(trigger: dict[str, Any]) -> str:
    kind = trigger.get("kind", "?")
    reason = trigger.get("reason") or trigger.get("signal", {}).get("summary", "")
    return f"{kind}: {reason}" if reason else str(kind)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---- orchestration helpers (use with ``yield from``) --------------------------------------------------
Task = Any  # a Durable task object; the SDK's classes are untyped


def save(context: Any, log: RunLog) -> Generator[Task, Any, None]:
    """Write the report (JSON + Markdown) through the storage activity; a failed write never fails a run."""
    body = redact(log.report().to_dict())
    payload = {"run_id": log.run_id, "report": body, "markdown": render_markdown(body), "kind": log.operation}
    try:
        result = yield context.call_activity(names.STORAGE_WRITE_REPORT, payload)
        log.report_url = str((result or {}).get("url", "")) or log.report_url
    except Exception as exc:  # the report is evidence, not a step: keep the run going, say so
        log.measure(report_write_error=str(exc)[:300])


def announce(
    context: Any, log: RunLog, event: str, text: str, *, page: bool = False
) -> Generator[Task, Any, None]:
    """Notify the configured targets and publish a CloudEvent for one state change; never raises."""
    severity = "critical" if page else _SEVERITY.get(event, "info")
    title = f"{log.operation} {event}: {log.run_id}"
    fields = {"step": log.step or "-", "status": log.status}
    message = {
        "title": title,
        "text": redact(text),
        "severity": severity,
        "event": event,
        "run_id": log.run_id,
        "dedup_key": log.run_id,
        "fields": fields,
        "link": log.report_url,
        "page": page,
    }
    cloud_event = {
        "type": f"continuity.{log.operation}.{event}",
        "subject": log.run_id,
        "data": {"run_id": log.run_id, "operation": log.operation, "event": event, "text": redact(text)},
    }
    body = redact(log.report().to_dict())
    report = {"run_id": log.run_id, "report": body, "markdown": render_markdown(body), "kind": log.operation}
    try:  # one round trip: notify, publish and write the report together
        results = yield context.task_all(
            [
                context.call_activity(names.NOTIFY_SEND, message),
                context.call_activity(names.EVENTS_PUBLISH, cloud_event),
                context.call_activity(names.STORAGE_WRITE_REPORT, report),
            ]
        )
        log.report_url = str((results[2] or {}).get("url", "")) or log.report_url
    except Exception as exc:
        log.measure(notify_error=str(exc)[:300])
        yield from save(context, log)
