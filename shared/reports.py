"""Run reports for people and for safety: ``redact`` (no secret value in anything a report, a custom status
or a notification holds) and ``render_markdown`` (the report as Markdown, written for a person). The
record itself is the run toolkit's (orchestrators/toolkit/record.py); the storage activity writes both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from shared.models import parse_time, seconds_between
from shared.policy.durations import duration

# Patterns, compiled by ``re`` on first use (and cached there), not at import.
# A key whose last word names a secret *value* (``password``, ``client_secret``, ``sas_token``); a key
# naming a secret (``secret_name``, ``drill_secret_name``) holds a name and is not masked.
_SECRET_KEY = (
    r"(?i)(^|[_-])(password|passwd|pwd|secret|token|routing_key|api_key|apikey|access_key|account_key"
    r"|function_key|master_key|connection_string|sig|signature|credential|credentials)$"
)
_URL_PASSWORD = r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"
_KV_SECRET = r"(?i)\b(password|pwd|sig|code|key|accountkey|sharedaccesskey|token)=([^&\s;]+)"
_BEARER = r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/-]{8,}=*"
_JWT = r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
REDACTED = "***"


def redact(value: Any) -> Any:
    """A copy of a JSON value with secret values masked: under secret-valued keys, and credentials inside
    text (URL passwords, ``key=value`` credentials, bearer tokens, JWTs). Names of secrets are kept."""
    if isinstance(value, dict):
        return {k: REDACTED if re.search(_SECRET_KEY, str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        text = re.sub(_URL_PASSWORD, rf"\1{REDACTED}@", value)
        text = re.sub(_KV_SECRET, rf"\1={REDACTED}", text)
        text = re.sub(_BEARER, rf"\1 {REDACTED}", text)
        return re.sub(_JWT, REDACTED, text)
    return value


# ---- plain values ---------------------------------------------------------------------------------------
_ENVELOPE_MESSAGE = r'"Message"\s*:\s*"((?:[^"\\]|\\.)*)"'
_HOST_PREFIX = r"^Activity function '[^']*' failed:\s*"


def readable_error(text: str) -> str:
    """A failure as a person reads it: our own message, without the host's wrapping ("Activity function
    'x' failed: ", or a serialised .NET exception envelope ``{"$type": "System.Exception", ...}``)."""
    envelope = (
        re.search(_ENVELOPE_MESSAGE, text) if '"$type"' in text or text.lstrip().startswith("{") else None
    )
    if envelope:
        text = envelope.group(1).encode().decode("unicode_escape", "replace")
    return re.sub(_HOST_PREFIX, "", text).strip()


def when(value: Any) -> str:
    """An ISO timestamp as ``2026-12-02 15:17:59 UTC`` (whatever zone it was written in); '-' if none."""
    if not value:
        return "-"
    try:
        moment = parse_time(str(value)).astimezone(UTC)
    except ValueError:
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def took(seconds: float | None) -> str:
    """A duration for people: '0.35 s', '4.2 s', '12 min', '1 h 5 min'; '-' when unknown."""
    if seconds is None:
        return "-"
    if abs(seconds) < 10:
        return f"{seconds:.2f} s" if abs(seconds) < 1 else f"{seconds:.1f} s"
    return duration(seconds)


def plain(value: Any, key: str = "") -> str:
    """A JSON value as a person reads it: yes / no, '-' for nothing, lists and mappings as text, seconds
    as durations, timestamps in UTC."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if key.endswith("_seconds"):
            return took(float(value))
        return f"{value:.3g}" if isinstance(value, float) and not value.is_integer() else str(int(value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {plain(v, str(k))}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value) or "-"
    text = readable_error(str(value))
    if key.endswith(("_at", "_point", "_time")) or re.fullmatch(
        r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", text
    ):
        return when(text)
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip() or "-"


def _label(key: str) -> str:
    return key.replace("_", " ")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


# ---- the verdict of the whole run -------------------------------------------------------------------------
PASSING = frozenset({"succeeded", "succeeded-with-warnings", "dry-run", "stood-down"})


def run_verdict(report: dict[str, Any]) -> tuple[str, list[str]]:
    """The verdict of the whole run: ``pass`` only when the run ended well, its own verdict (if any)
    passed and no check failed; ``fail`` otherwise; ``running`` while it goes. With the reasons."""
    status = str(report.get("status") or "")
    if status == "running":
        return "running", ["the run is still going: this is its report so far"]
    verdict = report.get("verdict") or {}
    reasons = [str(r) for r in verdict.get("reasons", [])]
    summary = str(report.get("summary") or "")
    failed_checks = [f"check failed: {row[0]} ({row[2]})" for row in _check_rows(report) if row[1] == "fail"]
    if status in PASSING and verdict.get("passed", True) is not False and not failed_checks:
        return "pass", reasons or [summary or f"the run {status}"]
    why = [f"the run ended {status}" + (f": {summary}" if summary else "")]
    if status not in PASSING and verdict.get("passed"):
        why.append(f"a part of it passed on its own ({'; '.join(reasons)}); that does not make the run pass")
    elif reasons and reasons != [summary]:
        why += reasons
    return "fail", why + failed_checks


# ---- the report -----------------------------------------------------------------------------------------
def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown for a person: what ran and the verdict of the whole run first, then checks,
    measurements, steps with durations and waits, decisions with reasons and rules, resources, and the
    estate before and after side by side. Values are plain text; times are UTC."""
    sections = (
        _head(report),
        _verdict(report),
        _checks(report),
        _measurements(report),
        _steps(report),
        _decisions(report),
        _resources(report),
        _estate(report),
        _notes(report),
    )
    return "\n".join(line for section in sections if section for line in [*section, ""]).rstrip() + "\n"


def _head(report: dict[str, Any]) -> list[str]:
    verdict, _ = run_verdict(report)
    started, ended = report.get("started_at", ""), report.get("ended_at", "")
    total = seconds_between(str(started or ""), str(ended or ""))
    lines = [
        f"# {report.get('operation', 'run')} run {report.get('run_id', '')}",
        "",
        f"- verdict: **{verdict}**",
        f"- status: {report.get('status', '-')}",
        f"- started: {when(started)}",
        f"- ended: {when(ended) + f' (took {took(total)})' if ended else 'not yet (running)'}",
        f"- trigger: {_trigger_text(report.get('trigger') or {})}",
    ]
    if report.get("retention"):
        lines.append(f"- kept: {report['retention']}")
    if report.get("summary"):
        lines += ["", plain(report["summary"])]
    return lines


def _trigger_text(trigger: dict[str, Any]) -> str:
    kind = str(trigger.get("kind") or "-")
    reason = trigger.get("reason") or (trigger.get("signal") or {}).get("summary", "")
    by = f" by {trigger['by']}" if trigger.get("by") else ""
    return f"{kind}{by}: {plain(reason)}" if reason else f"{kind}{by}"


def _verdict(report: dict[str, Any]) -> list[str]:
    verdict, reasons = run_verdict(report)
    return ["## Verdict", "", f"**{verdict}**", "", *[f"- {plain(r)}" for r in reasons]]


def _check_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """The run's data checks, then its RTO and RPO against the objectives it recorded."""
    rows: list[tuple[str, ...]] = [
        (str(c.get("name", "")), "pass" if c.get("passed") else "fail", plain(c.get("detail")))
        for c in report.get("checks") or []
    ]
    measured = report.get("measurements") or {}
    return rows + _objective_rows(measured) + _tier_rows(measured)


def _checks(report: dict[str, Any]) -> list[str]:
    rows = _check_rows(report)
    if not rows:
        return ["## Checks", "", "No data checks or objectives were measured in this run."]
    return ["## Checks", "", *_table(("check", "result", "detail"), rows)]


_OBJECTIVES = (
    ("RTO", ("drill_rto_seconds", "rto_seconds"), "rto_objective_seconds"),
    ("RPO", ("drill_rpo_seconds", "rpo_seconds"), "rpo_objective_seconds"),
)


def _objective_rows(m: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for name, keys, objective_key in _OBJECTIVES:
        value = next((m[k] for k in keys if k in m), None)
        objective = m.get(objective_key)
        if objective is None:
            continue
        if value is None:
            rows.append((f"{name} within objective", "fail", f"not measured (objective {took(objective)})"))
            continue
        result = "pass" if value <= objective else "fail"
        rows.append((f"{name} within objective", result, f"{took(value)} against {took(objective)}"))
    return rows


def _tier_rows(m: dict[str, Any]) -> list[tuple[str, ...]]:
    """Each tier's RTO against its objective (orchestrators/tiers.py ``tier_rto``)."""
    tiers = m.get("tier_rto")
    if not isinstance(tiers, list):
        return []
    return [(f"tier {t.get('tier')} RTO", str(t.get("result")), plain(t.get("reason"))) for t in tiers]


def _measurements(report: dict[str, Any]) -> list[str]:
    m = report.get("measurements") or {}
    if not m:
        return ["## Measurements", "", "Nothing measured."]
    rows = [(_label(k), plain(v, k)) for k, v in sorted(m.items())]
    return ["## Measurements", "", *_table(("measurement", "value"), rows)]


def _steps(report: dict[str, Any]) -> list[str]:
    steps = report.get("steps") or []
    waits = report.get("waits") or []
    if not steps and not waits:
        return ["## Steps", "", "No step ran."]
    rows = [
        (
            str(s.get("name", "")),
            when(s.get("started_at")),
            took(seconds_between(str(s.get("started_at") or ""), str(s.get("ended_at") or "")))
            if s.get("ended_at")
            else "running",
            str(s.get("outcome", "")),
            plain(s.get("detail")),
        )
        for s in steps
    ]
    lines = ["## Steps", "", *_table(("step", "started", "took", "outcome", "detail"), rows)]
    if waits:
        lines += ["", "Waits (time spent waiting for an operator, a grace period or a confirmation):", ""]
        lines += _table(
            ("waiting for", "from", "until (deadline)", "waited"),
            [
                (
                    str(w.get("what", "")),
                    when(w.get("started_at")),
                    when(w.get("until")),
                    took(seconds_between(str(w.get("started_at") or ""), str(w.get("ended_at") or "")))
                    if w.get("ended_at")
                    else "still waiting",
                )
                for w in waits
            ],
        )
    return lines


def _decisions(report: dict[str, Any]) -> list[str]:
    decisions = report.get("decisions") or []
    if not decisions:
        return ["## Decisions", "", "No decision was recorded."]
    rows = [
        (
            when(d.get("at")),
            str(d.get("step", "")),
            str(d.get("action", "")),
            plain(d.get("reason")),
            str(d.get("rule") or "-"),
        )
        for d in decisions
    ]
    return ["## Decisions", "", *_table(("at", "step", "decision", "reason", "rule"), rows)]


def _resources(report: dict[str, Any]) -> list[str]:
    resources = report.get("resources") or {}
    if not resources:
        return []
    rows = [(_label(k), plain(v, k)) for k, v in sorted(resources.items())]
    return ["## Resources", "", *_table(("resource", "name"), rows)]


# What the estate table shows of a resource (a snapshot "before" may hold more: the JSON keeps it all).
_ESTATE_KEYS = (
    "name",
    "group",
    "route",
    "state",
    "role",
    "location",
    "replication_state",
    "origin_group",
    "image",
    "exists",
    "error",
)


def _estate(report: dict[str, Any]) -> list[str]:
    """The resources observed before the run acted and after it ended, one row per property."""
    estate = report.get("estate") or {}
    before, after = estate.get("before") or {}, estate.get("after") or {}
    if not before and not after:
        return []
    rows: list[tuple[str, ...]] = []
    for name in [*before, *(k for k in after if k not in before)]:
        was, now = before.get(name) or {}, after.get(name) or {}
        if not isinstance(was, dict) or not isinstance(now, dict):
            rows.append((_label(name), "", plain(was), plain(now)))
            continue
        keys = [k for k in _ESTATE_KEYS if k in was or k in now]
        for key in keys:
            changed = key in was and key in now and was[key] != now[key]
            marker = " (changed)" if changed else ""
            rows.append(
                (_label(name), key + marker, _side(was, key, name in before), _side(now, key, name in after))
            )
    header = ("resource", "property", "before", "after")
    return ["## Estate before and after", "", *_table(header, rows)]


def _side(found: dict[str, Any], key: str, observed: bool) -> str:
    if not observed:
        return "not observed"
    return plain(found[key], key) if key in found else "-"


def _notes(report: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    notifications = report.get("notifications") or []
    if notifications:
        lines += ["## Notifications", ""]
        lines += [
            f"- {when(n.get('at'))} {n.get('event', '')}"
            + (" (paged)" if n.get("page") else "")
            + (f": not sent, {plain(n['error'])}" if n.get("error") else "")
            for n in notifications
        ]
    if report.get("warnings"):
        lines += ["", "## Warnings", "", *[f"- {plain(w)}" for w in report["warnings"]]]
    return lines
