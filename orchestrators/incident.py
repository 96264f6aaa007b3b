"""The incident plan: one Durable instance per incident, from the run that opened it to its resolution.

While open it climbs the escalation matrix on durable timers (each level notified once its threshold has
passed unacknowledged; an acknowledgement, through the API or PagerDuty's webhook, stops the climb), sends
a status update every STATUS_UPDATE_MINUTES to the status targets (the status page, Slack, Teams) with
each linked run's step and where recovery stands against the RTO, and links the runs that join it
(raising its severity to theirs). It resolves itself once every linked run has ended, the last ended well,
and INCIDENT_AUTO_RESOLVE_MINUTES have passed since the later of the last link and that end (looked at on
its timers: at the end of the quiet period, every AUTO_RECHECK_MINUTES while a run has not ended); a run
that failed leaves it to people. At resolution: one last status update, the response SLA judged, a resolve to
every PagerDuty routing key it paged, the post-mortem draft written to the reports; then it ends, so
nothing is sent after. A duplicate, opened at the same moment as an earlier incident (activities/incidents.py
``join``), is merged into it: its pages resolved, no status update, no post-mortem. It takes no lock:
incidents run beside the runs they link.

Input: {settings, run_id: the incident id, incident: {severity, reason, run: {run_id, operation, reason}}}.
Event ``incident``: {action: acknowledge, by, through, note} | {action: link, run_id, operation, severity,
reason} | {action: resolve, by, note} | {action: merge, into: the earlier incident's id, by, note}.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from orchestrators.toolkit import Gen, Json, Run
from shared import incidents, names
from shared.models import Decision, parse_time
from shared.policy import incidents as rules

bp = df.Blueprint()
SETTLE_SECONDS = 15.0  # how long a new incident waits for its opener to say it is no duplicate


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
        self.last_update = self.last_link = self.opened
        self.auto_at = rules.auto_resolve_at(self.opened, s.incident_auto_resolve_minutes)  # the next look
        self.kept_open = ""  # the last keep-open reason recorded (each said once in the report)
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
        yield from self.settle()
        if self.record["status"] not in incidents.ENDED:
            yield from self.climb()
        while self.record["status"] not in incidents.ENDED:
            yield from self.wait_once()
        if self.record["status"] == "merged":
            return (yield from self.close_merged())
        return (yield from self.close())

    def settle(self) -> Gen:
        """Before the first page: wait for the run that opened it to say it is no duplicate (``kept``,
        after its post-check), or to merge it into an earlier incident opened at the same moment, so a
        duplicate never pages; events that come meanwhile are taken as usual. At most SETTLE_SECONDS (an
        opener that failed in between: it pages then). Only when opened through ``join`` (``settle``)."""
        if not self.run.input.get("settle"):
            return
        context = self.run.context
        deadline = self.run.now() + timedelta(seconds=SETTLE_SECONDS)
        kept = context.wait_for_external_event(incidents.KEPT)
        while self.record["status"] not in incidents.ENDED:
            timer = context.create_timer(deadline)
            if self._waiting is None:
                self._waiting = context.wait_for_external_event(incidents.EVENT)
            winner = yield context.task_any([timer, kept, self._waiting])
            if winner is not self._waiting:
                if winner is kept:
                    timer.cancel()
                return
            timer.cancel()
            event, self._waiting = dict(winner.result or {}), None
            yield from self.on_event(event)

    def wait_once(self) -> Gen:
        """Wait for the next escalation, status update or auto-resolve deadline, or an event, whichever
        comes first."""
        context, now = self.run.context, self.run.now()
        climb = rules.next_escalation(self.levels, self.opened, self.reached, acknowledged=self.acknowledged)
        update_at = rules.next_update(self.last_update, self.run.settings.status_update_minutes)
        auto_at = self.auto_at
        deadlines = [
            update_at,
            *([climb[1]] if climb else []),
            *([auto_at] if auto_at and auto_at > now else []),
        ]
        timer = context.create_timer(min(deadlines))
        if self._waiting is None:
            self._waiting = context.wait_for_external_event(incidents.EVENT)
        winner = yield context.task_any([timer, self._waiting])
        if winner is timer:
            yield from self.on_tick(update_at, auto_at)
            return
        timer.cancel()
        event, self._waiting = dict(winner.result or {}), None
        yield from self.on_event(event)

    def on_tick(self, update_at: datetime, auto_at: datetime | None) -> Gen:
        """A timer fired: past the auto-resolve deadline, resolve if the runs say so (close() then sends
        the last update); else climb, and send the status update when it is due."""
        states = None
        if auto_at is not None and self.run.now() >= auto_at:
            states = yield from self.read_runs()
            if self.auto_resolve(states):
                return
        yield from self.climb()
        if self.run.now() >= update_at:
            yield from self.status_update(states)

    def on_event(self, event: Json) -> Gen:
        action = str(event.get("action", ""))
        if action not in incidents.ACTIONS:
            self.run.record.warn(f"event ignored: unknown action {action!r}")
        elif action == "acknowledge":
            yield from self.acknowledge(event)
        elif action == "link":
            yield from self.link(event)
        elif action == "merge":
            self.merge(event)
        else:
            self.resolve(event)

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
        self.last_link = self.run.now()  # the quiet period before auto-resolution starts again
        self.auto_at = rules.auto_resolve_at(self.last_link, self.run.settings.incident_auto_resolve_minutes)
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

    def auto_resolve(self, states: list[Json]) -> bool:
        """Resolve by continuity when the rules say so (shared/policy/incidents.py ``auto_resolution``);
        a keep-open is recorded once per reason. True when resolved."""
        known = {s["run_id"]: s for s in states}
        linked = []
        for entry in self.record["runs"]:
            state = known.get(entry.get("run_id"), {})
            linked.append(
                rules.LinkedRun(
                    str(entry.get("run_id") or ""),
                    str(entry.get("operation") or ""),
                    str(state.get("status") or ""),
                    str(state.get("ended_at") or ""),
                )
            )
        minutes = self.run.settings.incident_auto_resolve_minutes
        decision = rules.auto_resolution(linked, self.last_link, self.run.now(), minutes)
        if decision.is_(rules.WAIT) and decision.value:  # the quiet period now ends later: look again then
            self.auto_at = parse_time(str(decision.value))
        if decision.is_(rules.KEEP_OPEN) and decision.reason != self.kept_open:
            self.kept_open = decision.reason
            self.run.decide("auto-resolve", decision)
        if not decision.is_(rules.AUTO_RESOLVE):
            return False
        self.run.decide("auto-resolve", decision)
        self.resolve({"by": "continuity", "note": decision.reason})
        return True

    def merge(self, event: Json) -> None:
        """End as a duplicate of the earlier incident ``into`` (opened at the same moment)."""
        into = str(event.get("into") or "")
        if not into.startswith("incident-") or into == self.record["id"]:
            self.run.record.warn(f"merge ignored: {into!r} is not another incident")
            return
        note = str(event.get("note") or f"a duplicate of {into}")
        self.run.decide("merge", Decision(rules.MERGE, note, value=into))
        self.record.update(
            status="merged",
            resolved_at=self.run.iso(),
            resolved_by=str(event.get("by") or "continuity"),
            resolution=f"merged into {into}",
            merged_into=into,
        )
        self.run.set_status()

    # ---- status updates ------------------------------------------------------------------------------
    def read_runs(self) -> Gen:
        """Each linked run's state from its report as written so far (shared/incidents.py run_states);
        a run whose report is not found is left out."""
        reads = [
            (names.STORAGE_READ_REPORT, {"run_id": r["run_id"]})
            for r in self.record["runs"]
            if r.get("run_id")
        ]
        found = yield from self.run.gather(reads, safely=True)
        reports = [
            dict(f.get("report") or {}) | {"run_id": f.get("run_id", "")} for f in found if f.get("found")
        ]
        return incidents.run_states(reports)

    def status_update(self, states: list[Json] | None = None) -> Gen:
        """Say where each linked run stands (``states`` as just read, else read now) and against the RTO;
        send to the status targets."""
        run = self.run
        if states is None:
            states = yield from self.read_runs()
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

    def close_merged(self) -> Gen:
        """A duplicate ends: each level it paged is told (PagerDuty resolves it) that it was merged; no
        status update, no post-mortem (the incident it was merged into has them)."""
        run, record = self.run, self.record
        into = record["merged_into"]
        record["summary"] = f"merged into {into}"
        text = f"merged into {into}, opened at the same moment: follow {into}"
        for level in self.paged:
            told = incidents.message(record, "merged", text, action="resolve")
            yield from self.send(told, f"level:{level}")
        run.record.finish("merged", run.now(), f"{record['severity']} incident {record['summary']}")
        run.set_status()
        yield from run.save()
        return {
            "incident_id": record["id"],
            "status": "merged",
            "merged_into": into,
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
