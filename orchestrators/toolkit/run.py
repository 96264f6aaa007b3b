"""One run of a plan: steps, decisions, waits, the report, notifications, endings (activity calls: Calls).

A plan is a generator function ``plan(run) -> End``; :meth:`Run.execute` runs it, writes the report
and notifies at every state change, and turns what the plan raises into the run's ending: ``Stop`` (a
decision to end: refused, stood down, rejected), ``StepFailed`` (a step could not complete: the one failure
path). Nothing here does I/O: every effect is an activity yielded to the Durable runtime, every wait a
durable timer, every moment ``context.current_utc_datetime``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from orchestrators.toolkit.calls import Calls, Gen, Json, Read, RetryPolicy, error_text
from orchestrators.toolkit.record import RunRecord, iso
from shared import estate, names, policy
from shared.alert_instances import AlertInstances
from shared.config import Settings
from shared.models import Decision, Verdict
from shared.policy import incidents as incident_rules
from shared.reports import redact

# Events that notify (DESIGN.md: notifications at every state change) and their severities.
STARTED, AWAITING_APPROVAL, STEP_FAILED, REFUSED, COMPLETED, FAILED = (
    "started",
    "awaiting-approval",
    "step-failed",
    "refused",
    "completed",
    "failed",
)
_SEVERITY = {AWAITING_APPROVAL: "warning", STEP_FAILED: "error", REFUSED: "warning", FAILED: "error"}
TEARDOWN_POLLS, TEARDOWN_INTERVAL_SECONDS = 10, 3.0
PRIMARY_WAITS, PRIMARY_WAIT_SECONDS = 20, 15.0  # a replica create or promote: minutes on Azure
# kind -> (delete activity, get activity, input key)
_TEARDOWN = {
    "server": (names.DATABASE_DELETE_SERVER, names.DATABASE_GET_SERVER, "server"),
    "group": (names.CONTAINERS_DELETE_GROUP, names.CONTAINERS_GET_GROUP, "group"),
}


@dataclass(frozen=True)
class End:
    """How a run ends: its status, the summary sentence, the event notified ('' notifies nobody: a dry
    run), and whether it pages."""

    status: str
    summary: str
    event: str = COMPLETED
    page: bool = False


class Stop(Exception):
    """End the run now (a decision, not a failure): refused, stood down, rejected, cancelled."""

    def __init__(self, end: End) -> None:
        super().__init__(end.summary)
        self.end = end


class StepFailed(Exception):
    """A step could not complete; ``error`` is the activity's (or the check's) message."""

    def __init__(self, step: str, error: str) -> None:
        super().__init__(f"{step}: {error}")
        self.step, self.error = step, error


class Run(Calls):
    """One run: its input, typed settings, record, and the machinery every plan shares."""

    def __init__(self, context: Any, operation: str) -> None:
        self.input: Json = dict(context.get_input() or {})
        self.settings = Settings.from_dict(self.input["settings"])
        super().__init__(context, RetryPolicy.of(self.settings))
        self.run_id = str(self.input.get("run_id") or context.instance_id)
        self.trigger: Json = dict(self.input.get("trigger") or {"kind": "operator"})
        self.record = RunRecord(self.run_id, operation, self.trigger, context.current_utc_datetime)
        self.checkpoints: frozenset[str] = frozenset()  # steps after which the report is written
        self.promoted = self.traffic_moved = False
        self.alerts = AlertInstances(self.trigger.get("signal"))  # the alerts heard: it stands down on them
        self.watched: list[tuple[str, Read]] = []  # observed again when the run ends
        self._events: dict[str, Any] = {}
        self.incident: Json = {}  # the incident this run opened or joined: {id, severity}

    # ---- views of the input ----------------------------------------------------------------------------
    @property
    def operation(self) -> str:
        return self.record.operation

    @property
    def create_deadline(self) -> float:
        """Seconds a server this run creates may take to be Ready (``act_long``'s deadline)."""
        return self.settings.server_create_deadline_minutes * 60.0

    @property
    def trigger_kind(self) -> str:
        return str(self.trigger.get("kind") or "operator")

    @property
    def resolved(self) -> bool:
        """Every alert of the incident heard so far has resolved (never for operator runs)."""
        return self.alerts.resolved

    # ---- steps -----------------------------------------------------------------------------------------
    def step(self, name: str, body: Gen) -> Gen:
        """Run one step, recording start, end and outcome; a failure inside becomes StepFailed(name)."""
        entry = self.record.begin(name, self.now())
        self.set_status()
        try:
            result = yield from body
        except Stop:
            self.record.end(entry, self.now(), "succeeded", "decided to stop")
            raise
        except StepFailed as failed:
            self.record.end(entry, self.now(), "failed", failed.error)
            raise
        except Exception as exc:
            self.record.end(entry, self.now(), "failed", error_text(exc))
            raise StepFailed(name, error_text(exc)) from exc
        self.record.end(entry, self.now(), "succeeded", _summary(result))
        if name in self.checkpoints:
            yield from self.save()
        return result

    def skip(self, name: str, reason: str) -> None:
        self.record.skip(name, self.now(), reason)

    # ---- decisions, measurements and status ------------------------------------------------------------
    def decide(self, step: str, decision: Decision) -> Decision:
        """Record a decision (with its reason and rule) and show it in the custom status."""
        self.record.decide(step, decision, self.now())
        self.set_status()
        return decision

    def judge(self, verdict: Verdict) -> Verdict:
        self.record.judge(verdict)
        self.decide("verdict", Decision("pass" if verdict.passed else "fail", verdict.reason))
        return verdict

    def measure(self, **values: Any) -> None:
        self.record.measure(**values)

    def resource(self, **values: Any) -> None:
        self.record.resource(**values)

    def observe_estate(self, phase: str, reads: Sequence[tuple[str, Read]]) -> Gen:
        """Observe named resources (``before`` the run acts, ``after`` it ends) into the record."""
        found = yield from self.gather([read for _, read in reads], safely=True)
        for (key, _), state in zip(reads, found, strict=True):
            self.record.observed(phase, key, _brief(state))
        return dict(zip([k for k, _ in reads], found, strict=True))

    def set_status(self) -> None:
        self.context.set_custom_status(self.record.custom_status())

    def set_awaiting(self, what: str, seconds: float = 0) -> None:
        """What the run waits for (an operator may answer): approval, grace, confirmation, or ''."""
        if what:
            until = iso(self.now() + timedelta(seconds=seconds)) if seconds else ""
            self.record.wait(what, self.now(), until)
        else:
            self.record.resume(self.now())
        self.set_status()

    def stop(self, status: str, reason: str, *, event: str = COMPLETED, page: bool = False) -> None:
        raise Stop(End(status, reason, event, page))

    # ---- the report and notifications ------------------------------------------------------------------
    def save(self) -> Gen:
        """Write the report through the storage activity; a failed write never fails the run."""
        try:
            result = yield self._write_report()
            self._wrote(result)
        except Exception as exc:  # the report is evidence, not a step: keep the run going, say so
            self.record.warn(f"report could not be saved at {self.iso()}: {str(exc)[:200]}")

    def announce(self, event: str, text: str, *, page: bool = False, final: bool = False) -> Gen:
        """Notify the configured targets, publish a CloudEvent and write the report, in one round trip;
        a failure is recorded in the report, never fatal. ``final``: the run has ended, so the report
        (written once, never overwritten) is written after the notifications, their outcome in it."""
        text = str(redact(text))
        severity = "critical" if page else _SEVERITY.get(event, "info")
        record = self.record
        message = {
            "title": f"{record.operation} {event}: {self.run_id}",
            "text": text,
            "severity": severity,
            "event": event,
            "run_id": self.run_id,
            "dedup_key": self.run_id,
            "fields": {"step": record.step or "-", "status": record.status, **self.incident},
            "link": record.evidence.get("report", ""),
            "page": page,
        }
        cloud_event = {
            "type": f"continuity.{record.operation}.{event}",
            "subject": self.run_id,
            "data": {"run_id": self.run_id, "operation": record.operation, "event": event, "text": text},
        }
        outcome: Json = {"event": event, "at": self.iso(), "page": page}
        record.notifications.append(outcome)
        sends = [
            self.context.call_activity(names.NOTIFY_SEND, message),
            self.context.call_activity(names.EVENTS_PUBLISH, cloud_event),
        ]
        try:
            results = yield self.context.task_all(sends if final else [*sends, self._write_report()])
            if not final:
                self._wrote(results[2])
                return
        except Exception as exc:
            outcome["error"] = str(exc)[:200]
        yield from self.save()

    def notify(self, message: Json) -> Gen:
        """Send one message (shared/names.py NOTIFY_SEND) that is not a state change of this run (a
        backup-watch breach); a failure is recorded, never fatal. Returns whether it was sent."""
        outcome: Json = {
            "event": message.get("event", ""),
            "at": self.iso(),
            "page": bool(message.get("page")),
        }
        self.record.notifications.append(outcome)
        try:
            yield from self.act(names.NOTIFY_SEND, {**message, "text": str(redact(message.get("text", "")))})
        except Exception as exc:
            outcome["error"] = str(exc)[:200]
            return False
        return True

    def _write_report(self) -> Any:
        payload: Json = {"run_id": self.run_id, "report": self.record.to_dict(), "kind": self.operation}
        if self.record.retain_years is not None:
            payload["retain_years"] = self.record.retain_years
        return self.context.call_activity(names.STORAGE_WRITE_REPORT, payload)

    def _wrote(self, result: Any) -> None:
        url = str((result or {}).get("url") or "")
        if url:
            self.record.evidence["report"] = url

    # ---- waiting for operators and signals -------------------------------------------------------------
    def _event(self, name: str) -> Any:
        if name not in self._events:
            self._events[name] = self.context.wait_for_external_event(name)
        return self._events[name]

    def wait_for_events(self, seconds: float, *, approvals: bool = True, whole: bool = False) -> Gen:
        """Wait up to ``seconds``; return an operator's answer (a Decision), or None at the deadline or
        once every alert heard has resolved (``self.resolved``). Signals update the alerts heard; ``whole``
        waits out the deadline whatever they say (alerts flapping inside a grace period are absorbed:
        what holds at the deadline decides)."""
        deadline = self.now() + timedelta(seconds=seconds)
        while True:
            timer = self.context.create_timer(deadline)
            waits = [timer, self._event(SIGNAL)] + ([self._event(APPROVAL)] if approvals else [])
            winner: Any = yield self.context.task_any(waits)
            if winner is timer:
                return None
            timer.cancel()
            if winner is self._events.get(SIGNAL, timer):
                self.alerts.hear(dict(self._events.pop(SIGNAL).result or {}))
                if self.resolved and not whole:
                    return None
                continue
            del self._events[APPROVAL]
            answer = dict(winner.result or {})
            return policy.approval_answer(
                str(answer.get("answer", "")), by=str(answer.get("by", "")), note=str(answer.get("note", ""))
            )

    def await_approval(self, gate: Decision) -> Gen:
        """Wait for an operator; on timeout stop, keep waiting, or page and keep waiting (settings).
        Returns the answer's reason; a rejection or cancel stops the run."""
        timeout = self.settings.approval_timeout_minutes * 60
        self.set_awaiting("approval", timeout)
        yield from self.announce(AWAITING_APPROVAL, gate.reason)
        waited = 0.0
        while True:
            answer = yield from self.wait_for_events(timeout)
            if answer is not None:
                break
            if self.resolved:
                self.stop(
                    "stood-down", "the alert resolved while waiting for approval: recovered, no failover"
                )
            waited += timeout
            on_timeout = self.settings.approval_timeout_action
            late = self.decide(
                "approval", policy.approval_timeout(on_timeout=on_timeout, waited_seconds=waited)
            )
            if late.is_("stop"):
                self.stop("stopped", late.reason, page=True)
            if late.is_("escalate"):
                yield from self.announce(AWAITING_APPROVAL, late.reason, page=True)
            self.set_awaiting("approval", timeout)
        self.set_awaiting("")
        self.decide("approval", answer)
        if answer.is_("stop"):
            self.stop("rejected" if answer.reason.startswith("rejected") else "cancelled", answer.reason)
        return answer.reason

    # ---- the estate ------------------------------------------------------------------------------------
    def find_primary(self) -> Gen:
        """Which server is the primary now (shared.estate.find_primary, one activity per read); the
        decision goes in the record. A primary that is Updating (``wait``) is observed again, up to
        PRIMARY_WAITS times PRIMARY_WAIT_SECONDS apart. Returns the PrimaryFound."""
        found = yield from self.drive(estate.find_primary(self.settings))
        for _ in range(PRIMARY_WAITS):
            if not found.decision.is_("wait"):
                break
            self.decide("find-primary", found.decision)
            yield from self.pause(PRIMARY_WAIT_SECONDS)
            found = yield from self.drive(estate.find_primary(self.settings))
        self.decide("find-primary", found.decision)
        self.record.extra["primary"] = found.view()
        return found

    def require_primary(self, *, page: bool) -> Gen:
        """The primary found now, or the run stops ``refused`` with the policy's reason (paging if asked)."""
        found = yield from self.find_primary()
        if found.primary is None:
            self.stop("refused", found.decision.reason, event=REFUSED, page=page)
        return found.primary

    # ---- resources a run created -----------------------------------------------------------------------
    def teardown(self, kind: str, name: str, *, step: str, where: Json | None = None) -> Gen:
        """Delete a server or container group Continuity created (rule 6 is the delete activity's), then
        poll until it is gone. True when verified gone, False when it still exists. Never raises."""
        delete, get, key = _TEARDOWN[kind]
        target = {key: name, **(where or {})}
        with contextlib.suppress(StepFailed):  # whether it is gone is what the polls establish
            yield from self.step(f"delete-{step}", self.act(delete, target))

        def read() -> Gen:
            return (yield from self.step(f"verify-{step}-gone", self.observe(get, target)))

        gone, _, _ = yield from self.poll(
            read,
            lambda state: "error" not in state and not state.get("exists", True),
            attempts=TEARDOWN_POLLS,
            interval=TEARDOWN_INTERVAL_SECONDS,
        )
        verdict = (
            Decision("verified", f"{name} is gone")
            if gone
            else Decision("leftover", f"{name} still exists after deletion")
        )
        self.decide("teardown", verdict)
        return bool(gone)

    # ---- endings ---------------------------------------------------------------------------------------
    def execute(self, plan: Callable[[Run], Gen], *, announce_start: bool = True) -> Gen:
        """Run ``plan(self)`` to its ``End``; a Stop or a failed step ends it through one path each."""
        try:
            yield from self.join_incident("started")
            if announce_start:
                text = f"{self.operation} started by {self.trigger_kind}: {self.trigger.get('reason') or '-'}"
                yield from self.announce(STARTED, text)
            end = yield from plan(self)
        except Stop as stop:
            end = stop.end
        except StepFailed as failed:
            end = self.failed(failed)
        except Exception as exc:  # a fault outside any step still ends the run with its report
            end = self.failed(StepFailed(self.record.step or "plan", error_text(exc)[:300]))
        return (yield from self.finish(end))

    def join_incident(self, phase: str, status: str = "") -> Gen:
        """Open or join the app's incident when the incident rules say so (shared/policy/incidents.py);
        its id and severity then travel in every notification of this run. Never fatal."""
        facts = incident_rules.RunFacts(
            self.operation, phase, status, self.trigger_kind, self.traffic_moved, tier=1
        )
        opening = incident_rules.incident_opening(facts)
        if opening.is_(incident_rules.NONE) or self.input.get("dry_run"):
            return
        ask = {"run_id": self.run_id, "operation": self.operation, "reason": opening.reason}
        try:
            found = yield from self.act(names.INCIDENTS_OPEN, {**ask, "severity": opening.value or ""})
        except Exception as exc:
            self.record.extra["incident"] = {"error": error_text(exc)[:300]}
            return
        if found.get("incident_id"):
            self.incident = {"incident": str(found["incident_id"]), "severity": str(found.get("severity"))}
            self.record.extra["incident"] = dict(self.incident)

    def failed(self, failed: StepFailed) -> End:
        """A step failed: say what it means for traffic and page (the watched resources are observed as
        the run finishes)."""
        decision = self.decide(
            failed.step,
            policy.on_step_failure(
                failed.step, promoted=self.promoted, traffic_moved=self.traffic_moved, error=failed.error
            ),
        )
        ran = ", ".join(self.record.ran()) or "none"
        return End("failed", f"{decision.reason}. Steps that ran: {ran}.", STEP_FAILED, page=True)

    def finish(self, end: End) -> Gen:
        """Observe the watched resources once more, close the record, notify, return the run's outcome."""
        if self.watched:
            yield from self.observe_estate("after", self.watched)
        self.record.finish(end.status, self.now(), end.summary)
        self.set_status()
        if end.event:
            yield from self.join_incident("ended", end.status)
            yield from self.announce(end.event, end.summary, page=end.page, final=True)
        else:  # a dry run: its report is kept, nobody is notified
            yield from self.save()
        self.set_status()
        out: Json = {
            "run_id": self.run_id,
            "operation": self.operation,
            "status": end.status,
            "summary": self.record.summary,
            "report": self.record.evidence.get("report", ""),
            "measurements": self.record.measurements,
            "verdict": self.record.verdict,
        }
        if end.status == DRY_RUN:
            out.update(dry_run=True, plan=self.record.extra.get("plan"), decisions=self.record.decisions)
        return out


SIGNAL, APPROVAL = "signal", "approval"  # external events a run takes
DRY_RUN = "dry-run"  # the status of a run that decided and changed nothing


def _summary(result: Any) -> str:
    if isinstance(result, str):
        return result
    if isinstance(result, dict):
        for key in ("message", "state", "server", "group"):
            if result.get(key):
                return str(result[key])[:300]
    return ""


def _brief(found: Json) -> Json:
    keys = ("error", "name", "group", "state", "role", "origin_group", "replication_state", "exists", "image")
    return {k: found[k] for k in keys if k in found}
