"""Run reports for people and for safety: ``redact`` (no secret in anything a report, a custom status or a
notification holds) and ``render_markdown`` (the report as Markdown). The record itself is the run
toolkit's (orchestrators/toolkit/record.py); the storage activity writes both renderings.
"""

from __future__ import annotations

import re
from typing import Any

# Patterns, compiled by ``re`` on first use (and cached there), not at import.
_SECRET_KEY = r"(?i)(password|passwd|secret|token|routing_key|api_key|connection_string|sig)$"
_URL_PASSWORD = r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"
_KV_SECRET = r"(?i)\b(password|pwd|sig|code|key)=([^&\s;]+)"
REDACTED = "***"


def redact(value: Any) -> Any:
    """A copy of a JSON value with secret-looking keys and URL or query-string credentials masked."""
    if isinstance(value, dict):
        return {k: REDACTED if re.search(_SECRET_KEY, str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return re.sub(_KV_SECRET, rf"\1={REDACTED}", re.sub(_URL_PASSWORD, rf"\1{REDACTED}@", value))
    return value


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown for people: summary, verdict, measurements, checks, steps, decisions,
    resources and the estate before and after."""
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
    verdict = report.get("verdict")
    if verdict:
        lines += ["", "## Verdict", "", f"**{'pass' if verdict.get('passed') else 'fail'}**", ""]
        lines += [f"- {reason}" for reason in verdict.get("reasons", [])]
    lines += ["", "## Measurements", ""]
    lines += [f"- {k}: {v}" for k, v in report.get("measurements", {}).items()] or ["- none yet"]
    if report.get("checks"):
        lines += ["", "## Checks", "", "| check | passed | detail |", "|---|---|---|"]
        lines += [
            f"| {_cell(str(c.get('name', '')))} | {'yes' if c.get('passed') else 'no'} | "
            f"{_cell(str(c.get('detail', '')))} |"
            for c in report["checks"]
        ]
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
    for phase, found in (report.get("estate") or {}).items():
        if found:
            lines += ["", f"## Estate {phase}", ""]
            lines += [f"- {k}: {_cell(str(v))}" for k, v in found.items()]
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
