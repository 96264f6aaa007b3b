"""The incident plan: one Durable instance per incident, from the run that opened it to its resolution.

While open it climbs the escalation matrix on durable timers (each level notified once its threshold has
passed unacknowledged; an acknowledgement, through the API or PagerDuty's webhook, stops the climb), sends
a status update every STATUS_UPDATE_MINUTES to the status targets (the status page, Slack, Teams) with
each linked run's step and where recovery stands against the RTO, and links the runs that join it
(raising its severity to theirs). At resolution: one last status update, the response SLA judged, a
resolve to every PagerDuty routing key it paged, the post-mortem draft written to the reports; then it
ends, so nothing is sent after. It takes no lock: incidents run beside the runs they link.

Input: {settings, run_id: the incident id, incident: {severity, reason, run: {run_id, operation, reason}}}.
Event ``incident``: {action: acknowledge, by, through, note} | {action: link, run_id, operation, severity,
reason} | {action: resolve, by, note}.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import azure.durable_functions as df

from orchestrators.toolkit import Gen, Json, Run
from shared import incidents, names
from shared.models import Decision, parse_time
from shared.policy import incidents as rules

bp = df.Blueprint()


@bp.function_name(names.INCIDENT_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def incident_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    return (yield from Incident(IncidentRun(context, incidents.OPERATION)).handle())


class IncidentRun(Run):
    """A Run whose custom status is the incident's view (what GET /api/incidents shows)."""

    def set_status(self) -> None:
        record = self.record.extra.get("incident")
        self.context.set_custom_status(incidents.view(record) if record else self.record.custom_status())


class Incident:
    """One incident's life: open, escalate, update, link, acknowledge, resolve."""

    def __init__(self, run: Run) -> None:
        self.run, s = run, run.settings
        self.levels = rules.parse_levels(s.escalation_levels)
        self.sla = rules.parse_sla(s.response_sla)
        spec: Json = dict(run.input.get("incident") or {})
        self.opened = run.now()
        severity = str(spec.get("severity") or "P2")
        opener = dict(spec.get("run") or {})
        self.record = incidents.new_record(
            run.run_id, s.app_name, severity, str(spec.get("reason") or ""), run.iso(), opener
        )
        run.record.extra["incident"] = self.record
        self.reached = 0
        self.last_update = self.opened
        self.paged: list[str] = []
        self._waiting: Any = None
        self.due = rules.response_due(severity, self.opened, self.sla)
        self.record["response"] = {"due_at": self.due.isoformat(), "sla": self.sla.get(severity)}

    @property
    def acknowledged(self) -> bool:
        return bool(self.record["acknowledged_at"])

    # ---- the loop ------------------------------------------------------------------------------------
    def handle(self) -> Gen:
        self.run.set_status()
        yield from self.climb()
        while self.record["status"] != "resolved":
            yield from self.wait_once()
        return (yield from self.close())

    def wait_once(self) -> Gen:
        """Wait for the next escalation, the next status update or an event, whichever comes first."""
        context = self.run.context
        climb = rules.next_escalation(self.levels, self.opened, self.reached, acknowledged=self.acknowledged)
        update_at = rules.next_update(self.last_update, self.run.settings.status_update_minutes)
        deadline = min(update_at, climb[1]) if climb else update_at
        timer = context.create_timer(deadline)
        if self._waiting is None:
            self._waiting = context.wait_for_external_event(incidents.EVENT)
        winner = yield context.task_any([timer, self._waiting])
        if winner is timer:
            yield from self.climb()
            if self.run.now() >= update_at:
                yield from self.status_update()
            return
        timer.cancel()
        event, self._waiting = dict(winner.result or {}), None
        yield from self.on_event(event)

    def on_event(self, event: Json) -> Gen:
        action = str(event.get("action", ""))
        if action == "acknowledge":
            yield from self.acknowledge(event)
        elif action == "link":
            yield from self.link(event)
        elif action == "resolve":
            self.resolve(event)
        else:
            self.run.record.warn(f"event ignored: unknown action {action!r}")

    # ---- escalation ----------------------------------------------------------------------------------
    def climb(self) -> Gen:
        """Notify every level whose threshold has passed (each once), while unacknowledged."""
        while True:
            due = rules.next_escalation(
                self.levels, self.opened, self.reached, acknowledged=self.acknowledged
            )
            if due is None or self.run.now() < due[1]:
                return
            level, _ = due
            decision = self.run.decide(
                "escalation", rules.escalation(level, self.reached, self.opened, self.run.now())
            )
            self.reached += 1
            self.record["level"] = level.name
            self.record["escalations"].append(
                {"level": level.name, "at": self.run.iso(), "reason": decision.reason}
            )
            self.paged.append(level.name)
            self.run.set_status()
            why, ack = self.record["severity_reasons"][-1], f"POST /api/incidents/{self.record['id']}/ack"
            text = f"{decision.reason}. {why}. Acknowledge: {ack}"
            event = "opened" if self.reached == 1 else "escalated"
            yield from self.send(
                incidents.message(self.record, event, text, page=True), f"level:{level.name}"
            )

    def acknowledge(self, event: Json) -> Gen:
        if self.acknowledged:
            return
        at = self.run.now()
        by, through = str(event.get("by") or "unknown"), str(event.get("through") or "api")
        self.record.update(acknowledged_at=at.isoformat(), acknowledged_by=by, acknowledged_through=through)
        self.record["status"] = "acknowledged"
        verdict = rules.response_verdict(self.record["severity"], self.opened, self.due, at, at)
        self.record["response"].update(verdict=verdict.passed, reason=verdict.reason)
        self.run.decide(
            "acknowledge",
            Decision("stop-escalation", f"acknowledged by {by} through {through}: {verdict.reason}"),
        )
        text = f"acknowledged by {by} through {through}: the escalation stops. {verdict.reason}."
        yield from self.send(incidents.message(self.record, "acknowledged", text), "default")
        if through != "pagerduty":  # PagerDuty is told too, for every routing key it was paged on
            for level in self.paged:
                told = incidents.message(self.record, "acknowledged", text, action="acknowledge")
                yield from self.send(told, f"level:{level}", pagerduty_only=True)

    def link(self, event: Json) -> Gen:
        run_id = str(event.get("run_id") or "")
        if not run_id or any(r.get("run_id") == run_id for r in self.record["runs"]):
            return
        entry = {k: str(event.get(k) or "") for k in ("run_id", "operation", "reason")}
        self.record["runs"].append({**entry, "linked_at": self.run.iso()})
        severity = str(event.get("severity") or "")
        raised = rules.highest(self.record["severity"], severity) if severity else self.record["severity"]
        text = f"{entry['operation']} {run_id} joins the incident"
        if raised != self.record["severity"]:
            self.run.decide(
                "severity",
                Decision(raised, f"{self.record['severity']} raised to {raised}: {entry['reason']}"),
            )
            self.record["severity"] = raised
            self.record["severity_reasons"].append(entry["reason"])
            text += f"; severity raised to {raised} ({entry['reason']})"
        self.run.set_status()
        yield from self.send(incidents.message(self.record, "linked", text), "default")

    def resolve(self, event: Json) -> None:
        self.record.update(
            status="resolved",
            resolved_at=self.run.iso(),
            resolved_by=str(event.get("by") or "unknown"),
            resolution=str(event.get("note") or ""),
        )
        self.run.set_status()

    # ---- status updates ------------------------------------------------------------------------------
    def status_update(self) -> Gen:
        """Read each linked run's report, say where it stands and against the RTO, send to the status
        targets."""
        run = self.run
        reads = [
            (names.STORAGE_READ_REPORT, {"run_id": r["run_id"]})
            for r in self.record["runs"]
            if r.get("run_id")
        ]
        found = yield from run.gather(reads, safely=True)
        reports = [
            dict(f.get("report") or {}) | {"run_id": f.get("run_id", "")} for f in found if f.get("found")
        ]
        states = incidents.run_states(reports)
        rtos = [s["rto_seconds"] for s in states if isinstance(s.get("rto_seconds"), int | float)]
        eta = rules.eta_text(
            self.opened, run.settings.rto_tier1_minutes, run.now(), measured_rto=rtos[-1] if rtos else None
        )
        text = incidents.status_text(self.record, states, eta)
        at = run.iso()
        body = incidents.status_page_body(self.record, text, states, eta, at)
        self.record["updates"].append({"at": at, "message": text, "status": body["status"]})
        self.last_update = run.now()
        run.set_status()
        final = self.record["status"] == "resolved"
        event = "resolved" if final else "status-update"
        yield from self.send(incidents.message(self.record, event, text), "status", status_update=body)

    # ---- the end -------------------------------------------------------------------------------------
    def close(self) -> Gen:
        run, record = self.run, self.record
        resolved_at = parse_time(str(record["resolved_at"]))
        if not self.acknowledged:
            verdict = rules.response_verdict(record["severity"], self.opened, self.due, None, resolved_at)
            record["response"].update(
                verdict=verdict.passed if verdict.available else None, reason=verdict.reason
            )
        note = f": {record['resolution']}" if record["resolution"] else ""
        record["summary"] = f"resolved by {record['resolved_by']}{note}"
        yield from self.status_update()
        for level in self.paged:
            resolve = incidents.message(record, "resolved", record["summary"], action="resolve")
            yield from self.send(resolve, f"level:{level}", pagerduty_only=True)
        yield from self.postmortem(resolved_at)
        run.record.finish("resolved", run.now(), f"{record['severity']} incident {record['summary']}")
        run.set_status()
        yield from run.save()
        return {
            "incident_id": record["id"],
            "status": "resolved",
            "severity": record["severity"],
            "report": run.record.evidence.get("report", ""),
            "postmortem": record["postmortem"],
        }

    def postmortem(self, resolved_at: datetime) -> Gen:
        from datetime import timedelta

        due = resolved_at + timedelta(hours=self.run.settings.postmortem_due_hours)
        self.record["postmortem"] = {"due_at": due.isoformat()}
        try:
            written = yield from self.run.act(names.INCIDENTS_WRITE_POSTMORTEM, {"incident": self.record})
        except Exception as exc:
            self.run.record.warn(f"post-mortem draft not written: {str(exc)[:200]}")
            return
        self.record["postmortem"].update(blob=written.get("blob"), url=written.get("url"))
        self.run.record.evidence["postmortem"] = str(written.get("url") or "")

    def send(self, message: Json, audience: str, **extra: Any) -> Gen:
        """Send through the incident notifier; the outcome in the record, a failure never fatal."""
        outcome: Json = {
            "event": message["event"],
            "at": self.run.iso(),
            "page": message["page"],
            "audience": audience,
        }
        self.run.record.notifications.append(outcome)
        try:
            result = yield from self.run.act(
                names.INCIDENTS_NOTIFY, {"message": message, "audience": audience, **extra}
            )
            outcome["sent"] = list(result.get("sent") or [])
            if result.get("failed"):
                outcome["error"] = ", ".join(f"{f['target']}: {f['error']}" for f in result["failed"])
        except Exception as exc:
            outcome["error"] = str(exc)[:200]
