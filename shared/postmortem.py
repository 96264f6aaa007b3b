"""The post-mortem draft of an incident, written at its resolution: Markdown from the incident's record
and its runs' reports, nothing invented. Sections: what happened (severity and why, times), timeline (the
incident's own events and every step and decision of its runs, in time order), decisions and their
reasons, RTO / RPO (and per-tier RTO where the runs measured it) against the objectives, what waited for
people and for how long, the slowest steps, and open questions the evidence raises.
"""

from __future__ import annotations

from typing import Any

from shared.models import seconds_between
from shared.reports import plain, took, when

Json = dict[str, Any]
SLOWEST = 5


def render(incident: Json, reports: list[Json]) -> str:
    """The draft (Markdown) for ``incident`` whose runs wrote ``reports``."""
    sections = (
        _head(incident),
        _timeline(incident, reports),
        _decisions(reports),
        _objectives(reports),
        _waits(incident, reports),
        _slowest(reports),
        _questions(incident, reports),
    )
    return "\n".join(line for section in sections for line in [*section, ""]).rstrip() + "\n"


def _head(incident: Json) -> list[str]:
    opened, resolved = str(incident.get("opened_at") or ""), str(incident.get("resolved_at") or "")
    acked = str(incident.get("acknowledged_at") or "")
    response = incident.get("response") or {}
    lines = [
        f"# Post-mortem (draft): {incident.get('severity')} incident {incident.get('id')}",
        "",
        f"- app: {incident.get('app')}",
        f"- severity: **{incident.get('severity')}** ({'; '.join(incident.get('severity_reasons') or [])})",
        f"- opened: {when(opened)} by {_run_ref(incident.get('opened_by') or {})}",
        f"- acknowledged: {_ack(incident, opened, acked)}",
        f"- resolved: {when(resolved)} by {incident.get('resolved_by') or '-'} "
        f"(open for {took(seconds_between(opened, resolved))})",
        f"- response SLA: {response.get('reason') or '-'}",
        f"- post-mortem due: {when((incident.get('postmortem') or {}).get('due_at', ''))}",
        f"- runs: {', '.join(str(r.get('run_id')) for r in incident.get('runs') or []) or '-'}",
    ]
    if incident.get("resolution"):
        lines += ["", f"Resolution: {plain(incident['resolution'])}"]
    return lines


def _run_ref(run: Json) -> str:
    return f"{run.get('operation', 'run')} {run.get('run_id', '-')}"


def _ack(incident: Json, opened: str, acked: str) -> str:
    if not acked:
        return "never"
    through = incident.get("acknowledged_through") or "-"
    return (
        f"{when(acked)} by {incident.get('acknowledged_by') or '-'} through {through} "
        f"(after {took(seconds_between(opened, acked))})"
    )


def _timeline(incident: Json, reports: list[Json]) -> list[str]:
    events: list[tuple[str, str, str]] = [(str(incident.get("opened_at")), "incident", "opened")]
    events += [
        (e["at"], "incident", f"escalated to {e['level']}: {e['reason']}") for e in incident["escalations"]
    ]
    if incident.get("acknowledged_at"):
        events.append(
            (incident["acknowledged_at"], "incident", f"acknowledged by {incident['acknowledged_by']}")
        )
    events += [(r["linked_at"], "incident", f"linked {_run_ref(r)}") for r in incident.get("runs") or []]
    events += [(u["at"], "incident", f"status update ({u['status']})") for u in incident.get("updates") or []]
    for report in reports:
        rid = str(report.get("run_id", ""))
        for step in report.get("steps") or []:
            outcome = step.get("outcome", "")
            events.append((str(step.get("started_at")), rid, f"step {step.get('name')} started"))
            if step.get("ended_at"):
                events.append((str(step["ended_at"]), rid, f"step {step.get('name')} {outcome}"))
        for decision in report.get("decisions") or []:
            events.append(
                (str(decision.get("at")), rid, f"decided {decision.get('action')} ({decision.get('step')})")
            )
        if report.get("ended_at"):
            events.append((str(report["ended_at"]), rid, f"ended {report.get('status')}"))
    if incident.get("resolved_at"):
        events.append((incident["resolved_at"], "incident", "resolved"))
    rows = sorted((e for e in events if e[0] and e[0] != "None"), key=lambda e: e[0])
    return ["## Timeline (UTC)", "", "| time | who | what |", "|---|---|---|"] + [
        f"| {when(at)} | {who} | {plain(what)} |" for at, who, what in rows
    ]


def _decisions(reports: list[Json]) -> list[str]:
    lines = ["## Decisions and their reasons", ""]
    for report in reports:
        for d in report.get("decisions") or []:
            rule = f" [{d['rule']}]" if d.get("rule") else ""
            head = f"- {report.get('run_id')} {d.get('step')}: **{d.get('action')}**{rule}"
            lines.append(f"{head}: {plain(d.get('reason'))}")
    return lines if len(lines) > 2 else [*lines, "- none recorded"]


def _objectives(reports: list[Json]) -> list[str]:
    lines = ["## RTO / RPO against objectives", ""]
    for report in reports:
        m = report.get("measurements") or {}
        rto, rpo = (
            m.get("rto_seconds", m.get("drill_rto_seconds")),
            m.get("rpo_seconds", m.get("drill_rpo_seconds")),
        )
        if rto is None and rpo is None:
            continue
        lines.append(
            f"- {report.get('run_id')}: RTO {_against(rto, m.get('rto_objective_seconds'))}, "
            f"RPO {_against(rpo, m.get('rpo_objective_seconds'))}"
        )
        tiers = {k: v for k, v in m.items() if "tier" in k and k.endswith("seconds")}
        lines += [
            f"  - {k}: {exact(v) if isinstance(v, int | float) else v}" for k, v in sorted(tiers.items())
        ]
        if not tiers:
            lines.append("  - per-tier RTO: not measured by this run")
    return lines if len(lines) > 2 else [*lines, "- no run of this incident measured an RTO or RPO"]


def exact(seconds: float | None) -> str:
    """A measured duration to the second: '8 min 32 s', '2 s', '1 h 4 min 5 s'."""
    if seconds is None:
        return "-"
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes) + [f"{secs} s"] * bool(secs)
    return " ".join(parts) or "0 s"


def _against(value: Any, objective: Any) -> str:
    if not isinstance(value, int | float):
        return "not measured"
    if not isinstance(objective, int | float):
        return exact(value)
    return f"{exact(value)} (objective {exact(objective)}: {'met' if value <= objective else 'missed'})"


def _waits(incident: Json, reports: list[Json]) -> list[str]:
    lines = ["## What waited for people", ""]
    opened, acked = str(incident.get("opened_at") or ""), str(incident.get("acknowledged_at") or "")
    if acked:
        lines.append(f"- acknowledgement: {exact(seconds_between(opened, acked))}")
    else:
        lines.append("- acknowledgement: never acknowledged")
    for report in reports:
        for wait in report.get("waits") or []:
            length = seconds_between(str(wait.get("started_at") or ""), str(wait.get("ended_at") or ""))
            lines.append(f"- {report.get('run_id')} waited for {wait.get('what')}: {exact(length)}")
    return lines


def _slowest(reports: list[Json]) -> list[str]:
    steps = []
    for report in reports:
        for s in report.get("steps") or []:
            length = seconds_between(str(s.get("started_at") or ""), str(s.get("ended_at") or ""))
            if length is not None:
                steps.append((length, str(report.get("run_id")), str(s.get("name"))))
    ranked = sorted(steps, reverse=True)[:SLOWEST]
    return (
        ["## Slowest steps", "", *[f"- {exact(t)}: {rid} {name}" for t, rid, name in ranked]]
        if ranked
        else ["## Slowest steps", "", "- no step recorded"]
    )


def _questions(incident: Json, reports: list[Json]) -> list[str]:
    asks = ["What was the root cause, and what would have detected it sooner?"]
    response = incident.get("response") or {}
    if response.get("verdict") is False:
        asks.append(f"Why was the response SLA missed? ({response.get('reason')})")
    for report in reports:
        rid = report.get("run_id")
        if report.get("status") not in ("succeeded", "resolved"):
            asks.append(
                f"{rid} ended {report.get('status') or 'without a status'}: what must change so it succeeds?"
            )
        asks += [
            f"{rid} warned: {plain(w)}: what follow-up does it need?" for w in report.get("warnings") or []
        ]
        asks += [
            f"{rid} notification {n.get('event')} failed ({n['error']}): who was not told?"
            for n in report.get("notifications") or []
            if n.get("error")
        ]
    return ["## Open questions", "", *[f"- {q}" for q in asks]]
