"""What every DR plan shares: steps with a report, decisions in custom status, waits, retries, endings.

A plan subclasses ``Flow`` and writes its steps as generators; ``step`` records each one (start, end,
outcome) in the run report, writes the report, and turns an activity failure into ``StepFailed``.
``Stop`` ends a run early with a status and a reason (stood down, refused, rejected). Nothing here does
I/O: every effect is an activity call yielded to the Durable runtime.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

from shared import names, policy
from shared.models import Decision, HealthSignal, ProbeSnapshot
from shared.reports import AWAITING_APPROVAL, COMPLETED, STEP_FAILED, RunLog, announce, save
from shared.runs import call

Gen = Generator[Any, Any, Any]


class Stop(Exception):
    """End the run now with ``status`` and ``reason`` (not a failure: a decision)."""

    def __init__(self, status: str, reason: str, event: str = COMPLETED, page: bool = False) -> None:
        super().__init__(reason)
        self.status, self.reason, self.event, self.page = status, reason, event, page


class StepFailed(Exception):
    """A step could not complete; ``error`` is the activity's (or policy's) message."""

    def __init__(self, step: str, error: str) -> None:
        super().__init__(f"{step}: {error}")
        self.step, self.error = step, error


class Flow:
    """Base of a plan: input, settings, the run log, and the shared step/wait/finish machinery."""

    operation = "run"
    # Steps after which the report is written (every state change writes it too): a run that dies
    # still has its timeline, without a storage round trip after every quick step.
    checkpoints: frozenset[str] = frozenset()

    def __init__(self, context: Any) -> None:
        self.context = context
        self.input: dict[str, Any] = dict(context.get_input() or {})
        self.settings: dict[str, Any] = dict(self.input.get("settings") or {})
        self.run_id = str(self.input.get("run_id") or context.instance_id)
        self.trigger: dict[str, Any] = dict(self.input.get("trigger") or {"kind": "operator"})
        self.log = RunLog(self.run_id, self.operation, self.trigger, context.current_utc_datetime)
        self.promoted = self.traffic_moved = self.resolved = self.waited = False
        self.live_group = ""
        self.current_primary = ""  # the server the replica follows, when observed
        self.warnings: list[str] = []
        self._approval: Any = None
        self._signal: Any = None

    # ---- settings and trigger views ------------------------------------------------------------------
    @property
    def trigger_kind(self) -> str:
        return str(self.trigger.get("kind") or "operator")

    @property
    def primary(self) -> str:
        return str(
            self.input.get("primary_server") or self.current_primary or self.settings["primary_server"]
        )

    @property
    def replica(self) -> str:
        return str(self.input.get("replica_server") or self.settings["replica_server"])

    @property
    def rpo_seconds(self) -> float:
        return float(self.settings["rpo_minutes"]) * 60

    @property
    def rto_goal(self) -> float:
        return float(self.settings["rto_tier1_minutes"]) * 60

    @property
    def probe_timeout(self) -> float:
        return float(self.settings.get("probe_timeout_seconds", 10))

    @property
    def poll_attempts(self) -> int:
        return int(self.input.get("poll_attempts") or 60)

    @property
    def poll_interval(self) -> float:
        return float(self.input.get("poll_interval_seconds") or 2)

    @property
    def first_signal_at(self) -> str:
        return str(self.trigger.get("first_signal_at") or self.log.started_at)

    def now(self) -> datetime:
        return self.context.current_utc_datetime  # type: ignore[no-any-return]

    def iso(self) -> str:
        return self.now().isoformat()

    def trigger_text(self) -> str:
        return f"{self.operation} started by {self.trigger_kind}: {self.trigger.get('reason') or '-'}"

    # ---- decisions and status ------------------------------------------------------------------------
    def set_status(self) -> None:
        self.context.set_custom_status(self.log.custom_status())

    def decide_now(self, step: str, decision: Decision) -> Decision:
        self.log.decide(step, decision, self.now())
        self.set_status()
        return decision

    def set_awaiting(self, what: str) -> None:
        """What the run waits for (an operator may answer): approval, grace, confirmation, or ''."""
        self.log.awaiting = what
        self.set_status()

    def stop(self, status: str, reason: str, *, event: str = COMPLETED, page: bool = False) -> None:
        raise Stop(status, reason, event, page)

    # ---- steps and activities ------------------------------------------------------------------------
    def step(self, name: str, body: Gen) -> Gen:
        """Run one step, recording it; activity failures become StepFailed(name)."""
        self.log.begin(name, self.now())
        self.set_status()
        try:
            result = yield from body
        except Stop:
            self.log.end(name, self.now(), "succeeded", "decided to stop")
            raise
        except StepFailed as failed:
            self.log.end(name, self.now(), "failed", failed.error)
            raise
        except Exception as exc:
            self.log.end(name, self.now(), "failed", str(exc))
            raise StepFailed(name, str(exc)) from exc
        self.log.end(name, self.now(), "succeeded", result if isinstance(result, str) else "")
        if name in self.checkpoints:
            yield from save(self.context, self.log)
        return result

    def act(self, name: str, payload: dict[str, Any]) -> Gen:
        """One activity with transient retries; its failure propagates."""
        return (yield from call(self.context, name, payload))

    def observe_safely(self, name: str, payload: dict[str, Any]) -> Gen:
        """An observation that may fail (the region is down): ``{"error": ...}`` instead of raising."""
        try:
            return (yield from call(self.context, name, payload, attempts=2))
        except Exception as exc:
            return {"error": str(exc)[:300]}

    def gather(self, tasks: list[Any], retry: list[tuple[str, dict[str, Any]]] | None = None) -> Gen:
        """Run tasks in parallel; if one fails and ``retry`` is given, redo each (idempotent) with retries."""
        try:
            results = yield self.context.task_all(tasks)
            return [dict(r or {}) for r in results]
        except Exception:
            if retry is None:
                raise
        out = []
        for name, payload in retry:
            out.append((yield from self.act(name, payload)))
        return out

    def gather_safely(self, calls: list[tuple[str, dict[str, Any]]]) -> Gen:
        """Observations in parallel; when one fails, each again on its own (a failed one is ``{"error"}``)."""
        try:
            results = yield self.context.task_all([self.context.call_activity(n, p) for n, p in calls])
            return [dict(r or {}) for r in results]
        except Exception:
            pass
        out = []
        for name, payload in calls:
            out.append((yield from self.observe_safely(name, payload)))
        return out

    def snapshot(self, result: dict[str, Any]) -> ProbeSnapshot:
        return ProbeSnapshot(
            target=str(result.get("url", "")),
            healthy=bool(result.get("ok")),
            status=int(result.get("status") or 0),
            latency_ms=float(result.get("latency_ms") or 0),
            at=self.iso(),
            detail=str(result.get("error") or ""),
        )

    def verify_app(self, base_url: str, *, write: bool) -> Gen:
        """Poll the app at ``base_url`` until health, database health (and a write) all pass."""
        if not base_url:
            raise StepFailed(self.log.step, "no address to verify")
        last = ""
        for attempt in range(self.poll_attempts):
            if attempt:
                yield from self.wait_for_events(self.poll_interval, approvals=False)
            results = yield self.context.task_all(
                [self.context.call_activity(names.PROBE_HTTP, p) for p in self.app_probes(base_url, write)]
            )
            failed = [
                f"{r.get('url')}: {r.get('status')} {r.get('error') or ''}".strip()
                for r in results
                if not r.get("ok")
            ]
            if not failed:
                return f"{base_url} healthy (health, database{', write' if write else ''})"
            last = "; ".join(failed)
        raise StepFailed(self.log.step, f"not healthy after {self.poll_attempts} checks: {last}")

    def app_probes(self, base_url: str, write: bool) -> list[dict[str, Any]]:
        t = self.probe_timeout
        probes = [
            {"url": base_url + self.settings["health_path"], "timeout_seconds": t},
            {"url": base_url + self.settings["database_health_path"], "timeout_seconds": t},
        ]
        if write:
            text = f"continuity verification write {self.run_id}"
            probes.append(
                {
                    "url": base_url + "/api/v1/intents",
                    "method": "POST",
                    "json": {"text": text},
                    "expect_status": 201,
                    "timeout_seconds": t,
                }
            )
        return probes

    # ---- waiting for operators and signals -----------------------------------------------------------
    def wait_for_events(self, seconds: float, *, approvals: bool = True) -> Gen:
        """Wait up to ``seconds``; return an operator's answer (a Decision), or None at the deadline or
        when a resolved signal arrives (``self.resolved`` is then True)."""
        deadline = self.now() + timedelta(seconds=seconds)
        while True:
            timer = self.context.create_timer(deadline)
            waits = [timer, self._signal_task()] + ([self._approval_task()] if approvals else [])
            winner = yield self.context.task_any(waits)
            if winner is timer:
                return None
            timer.cancel()
            if winner is self._signal:
                self._signal = None
                if HealthSignal.from_dict(dict(winner.result or {})).state == "resolved":
                    self.resolved = True
                    return None
                continue
            self._approval = None
            answer = dict(winner.result or {})
            return policy.approval_answer(
                str(answer.get("answer", "")), by=str(answer.get("by", "")), note=str(answer.get("note", ""))
            )

    def _signal_task(self) -> Any:
        if self._signal is None:
            self._signal = self.context.wait_for_external_event("signal")
        return self._signal

    def _approval_task(self) -> Any:
        if self._approval is None:
            self._approval = self.context.wait_for_external_event("approval")
        return self._approval

    def await_approval(self, gate: Decision) -> Gen:
        """Wait for an operator; on timeout stop, keep waiting, or page and keep waiting (settings)."""
        self.waited = True
        self.set_awaiting("approval")
        yield from announce(self.context, self.log, AWAITING_APPROVAL, gate.reason)
        timeout = float(self.settings.get("approval_timeout_minutes", 30)) * 60
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
            on_timeout = str(self.settings.get("approval_timeout_action", "escalate"))
            late = self.decide_now(
                "approval", policy.approval_timeout(on_timeout=on_timeout, waited_seconds=waited)
            )
            if late.is_("stop"):
                self.stop("stopped", late.reason, page=True)
            if late.is_("escalate"):
                yield from announce(self.context, self.log, AWAITING_APPROVAL, late.reason, page=True)
        self.set_awaiting("")
        self.decide_now("approval", answer)
        if answer.is_("stop"):
            self.stop("rejected" if answer.reason.startswith("rejected") else "cancelled", answer.reason)
        return answer.reason

    # ---- endings -------------------------------------------------------------------------------------
    def finish(self, status: str, summary: str, event: str, *, page: bool = False) -> Gen:
        self.log.finish(status, self.now(), summary)
        self.set_status()
        yield from announce(self.context, self.log, event, summary, page=page)
        self.set_status()
        return {
            "run_id": self.run_id,
            "operation": self.operation,
            "status": status,
            "summary": summary,
            "report": self.log.report_url,
            "measurements": self.log.measurements,
        }

    def stopped(self, stop: Stop) -> Gen:
        return (yield from self.finish(stop.status, stop.reason, stop.event, page=stop.page))

    def failed(self, failed: StepFailed) -> Gen:
        """A step failed: say what it means for traffic, record where every resource is, page."""
        decision = self.decide_now(
            failed.step,
            policy.on_step_failure(
                failed.step, promoted=self.promoted, traffic_moved=self.traffic_moved, error=failed.error
            ),
        )
        yield from self.observe_resources()
        ran = ", ".join(self.log.ran()) or "none"
        summary = f"{decision.reason}. Steps that ran: {ran}."
        return (yield from self.finish("failed", summary, STEP_FAILED, page=True))

    def observe_resources(self) -> Gen:
        """Re-observe the estate after a failure instead of trusting remembered state."""
        observations = {
            "route": (names.TRAFFIC_GET_ROUTE, {}),
            "primary_server": (names.DATABASE_GET_SERVER, {"server": self.primary}),
            "replica_server": (names.DATABASE_GET_SERVER, {"server": self.replica}),
            "standby_group": (
                names.CONTAINERS_GET_GROUP,
                {"group": self.settings["container_group_standby"]},
            ),
        }
        for key, (name, payload) in observations.items():
            found = yield from self.observe_safely(name, payload)
            self.log.resource(key, _brief(found))


def _brief(found: dict[str, Any]) -> dict[str, Any]:
    keys = ("error", "name", "group", "state", "role", "origin_group", "replication_state", "exists")
    return {k: found[k] for k in keys if k in found}
