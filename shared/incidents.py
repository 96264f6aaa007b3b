"""Incidents as data: the record an incident keeps, what it says in notifications and status updates, and
the status page's JSON. Pure functions over plain dicts (the orchestrator keeps the record; policy in
shared/policy/incidents.py decides).

The record (``new_record``): id, app, severity and why, status (open, acknowledged, resolved, or merged:
a duplicate opened at the same moment as an earlier one, ``merged_into`` it), when it opened, was
acknowledged (by whom, through what) and resolved, the escalation level reached and every escalation, the
runs it links, the status updates sent, the response SLA and its verdict, the post-mortem.

The status page webhook receives one JSON object per update (``status_page_body``)::

    {"schema": "continuity.incident-status/1", "incident_id": "incident-qlp-20261203T101500-ab12",
     "app": "qlp", "severity": "P0", "status": "investigating" | "identified" | "resolved",
     "title": "...", "message": "...", "step": "...", "eta": "...", "runs": ["failover-qlp-..."],
     "opened_at": "...", "updated_at": "...", "resolved_at": "..." | null}
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]
EVENT = "incident"  # the external event an incident takes: {action: acknowledge|link|resolve|merge, ...}
KEPT = "kept"  # raised by the run that opened it, once it is known not to be a duplicate: it may page
ACTIONS = ("acknowledge", "link", "resolve", "merge")
ENDED = ("resolved", "merged")  # an incident with this status is no longer open (its instance is closing)
STATUS_SCHEMA = "continuity.incident-status/1"
OPERATION = "incident"


def new_record(incident_id: str, app: str, severity: str, reason: str, opened_at: str, run: Json) -> Json:
    """The record of an incident just opened by ``run`` ({run_id, operation, reason})."""
    return {
        "id": incident_id,
        "app": app,
        "severity": severity,
        "severity_reasons": [reason],
        "status": "open",
        "opened_at": opened_at,
        "opened_by": dict(run),
        "acknowledged_at": None,
        "acknowledged_by": "",
        "acknowledged_through": "",
        "resolved_at": None,
        "resolved_by": "",
        "resolution": "",
        "merged_into": "",
        "level": "",
        "escalations": [],
        "runs": [{**run, "linked_at": opened_at}],
        "updates": [],
        "response": {},
        "postmortem": {},
    }


def view(record: Json) -> Json:
    """What the API and the custom status show of an incident (no history beyond the last update)."""
    keys = ("id", "app", "severity", "status", "opened_at", "acknowledged_at", "acknowledged_by")
    out: Json = {k: record.get(k) for k in keys}
    out.update(
        operation=OPERATION,
        resolved_at=record.get("resolved_at"),
        merged_into=record.get("merged_into") or "",
        level=record.get("level", ""),
        escalations=len(record.get("escalations") or []),
        runs=[r.get("run_id") for r in record.get("runs") or []],
        updates=len(record.get("updates") or []),
        last_update=(record.get("updates") or [{}])[-1].get("message", ""),
        response=dict(record.get("response") or {}),
        postmortem=dict(record.get("postmortem") or {}),
    )
    return out


def message(record: Json, event: str, text: str, *, page: bool = False, action: str = "trigger") -> Json:
    """A notification (shared/notify.py Message) that carries the incident's id and severity."""
    sev, iid = record["severity"], record["id"]
    severity = "critical" if sev in ("P0", "P1") and page else ("error" if page else "warning")
    if event in ("acknowledged", "resolved", "merged", "status-update"):
        severity = "info"
    fields = {
        "incident": iid,
        "severity": sev,
        "status": str(record.get("status", "")),
        "level": str(record.get("level") or "-"),
        "runs": ", ".join(str(r.get("run_id")) for r in record.get("runs") or []) or "-",
    }
    return {
        "title": f"[{sev}] incident {iid} {event}",
        "text": text,
        "severity": severity,
        "event": f"incident-{event}",
        "run_id": iid,
        "dedup_key": iid,
        "action": action,
        "fields": fields,
        "page": page,
    }


def phase(record: Json, runs: list[Json]) -> str:
    """investigating (nothing recovered yet), identified (a run is acting or succeeded), resolved."""
    if record.get("status") == "resolved":
        return "resolved"
    return "identified" if any(r.get("status") for r in runs) else "investigating"


def run_states(reports: list[Json]) -> list[Json]:
    """From each linked run's report (as written so far): id, operation, status, current or last step,
    when it ended ('' while it runs) and its measured RTO, if any."""
    out = []
    for report in reports:
        steps = report.get("steps") or []
        running = [s for s in steps if s.get("outcome") == "running"]
        step = (running or steps or [{}])[-1]
        out.append(
            {
                "run_id": report.get("run_id", ""),
                "operation": report.get("operation", ""),
                "status": report.get("status", ""),
                "step": f"{step.get('name', '-')} ({step.get('outcome', '-')})" if step else "-",
                "ended_at": str(report.get("ended_at") or ""),
                "rto_seconds": (report.get("measurements") or {}).get("rto_seconds"),
            }
        )
    return out


def status_text(record: Json, states: list[Json], eta: str) -> str:
    """One status update as a sentence per run, then where recovery stands against the RTO."""
    parts = [f"{s['operation']} {s['run_id']}: {s['status'] or 'unknown'}, step {s['step']}" for s in states]
    known = "; ".join(parts) or "no run linked yet"
    acked = record.get("acknowledged_by")
    who = f"acknowledged by {acked}" if acked else "not acknowledged yet"
    return f"{known}. {eta}. {who}."


def status_page_body(record: Json, text: str, states: list[Json], eta: str, at: str) -> Json:
    """The status page webhook's JSON (documented in the module docstring)."""
    step = "; ".join(f"{s['run_id']}: {s['step']}" for s in states) or "-"
    return {
        "schema": STATUS_SCHEMA,
        "incident_id": record["id"],
        "app": record.get("app", ""),
        "severity": record["severity"],
        "status": phase(record, states),
        "title": f"[{record['severity']}] {record.get('app', '')} incident {record['id']}",
        "message": text,
        "step": step,
        "eta": eta,
        "runs": [r.get("run_id") for r in record.get("runs") or []],
        "opened_at": record.get("opened_at"),
        "updated_at": at,
        "resolved_at": record.get("resolved_at"),
    }
