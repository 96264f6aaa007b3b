"""Orchestration glue for the backup plans: activity calls with transient retries, and a run record.

Nothing here decides (decisions live in shared.policy) and nothing does I/O itself: the generators yield
Durable tasks and are driven with ``yield from`` inside restore, restore-test, drill and watch
orchestrators. The run record is plain JSON shaped like ``shared.models.RunReport.to_dict()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Mapping
from datetime import datetime, timedelta
from typing import Any

from shared import names, policy
from shared.config import Settings
from shared.errors import is_transient
from shared.models import parse_time
from shared.reports import redact, render_markdown

Json = dict[str, Any]
Gen = Generator[Any, Any, Any]

TRANSIENT_ATTEMPTS = 4
TRANSIENT_DELAY_SECONDS = 5.0
TEARDOWN_POLLS = 10
TEARDOWN_INTERVAL_SECONDS = 3.0

# kind -> (delete activity, get activity, input key)
_TEARDOWN = {
    "server": (names.DATABASE_DELETE_SERVER, names.DATABASE_GET_SERVER, "server"),
    "group": (names.CONTAINERS_DELETE_GROUP, names.CONTAINERS_GET_GROUP, "group"),
}


def stamp(moment: datetime) -> str:
    """A compact UTC timestamp for names of resources and sentinels a run creates: 20261129t120000."""
    return moment.strftime("%Y%m%dt%H%M%S")


def derived_server_name(source: str, purpose: str, moment: datetime) -> str:
    """The name of a server a run creates from ``source`` (at most 63 characters, as Azure allows)."""
    suffix = f"-{purpose}-{stamp(moment)}"
    return source[: 63 - len(suffix)] + suffix


def iso(moment: datetime) -> str:
    """A timestamp as it travels in reports and activity inputs."""
    return moment.isoformat()


def call(context: Any, name: str, payload: Mapping[str, Any], *, attempts: int = TRANSIENT_ATTEMPTS) -> Gen:
    """Call an activity; retry it (after a durable timer) only while its failure is transient."""
    for attempt in range(1, attempts + 1):
        try:
            return (yield context.call_activity(name, dict(payload)))
        except Exception as exc:
            if attempt == attempts or not is_transient(str(exc)):
                raise
            delay = timedelta(seconds=TRANSIENT_DELAY_SECONDS * attempt)
            yield context.create_timer(context.current_utc_datetime + delay)
    raise AssertionError("unreachable")  # pragma: no cover


class RunRecord:
    """The evidence of one run as it goes: steps, decisions, measurements; saved after each change."""

    def __init__(self, context: Any, *, run_id: str, operation: str, trigger: Mapping[str, Any]) -> None:
        self._context = context
        self.report: Json = {
            "run_id": run_id,
            "operation": operation,
            "trigger": dict(trigger),
            "started_at": iso(context.current_utc_datetime),
            "status": "running",
            "steps": [],
            "decisions": [],
            "measurements": {},
            "resources": {},
            "ended_at": "",
            "summary": "",
        }
        self.retain_years: int | None = None
        self.archive = False

    @property
    def run_id(self) -> str:
        return str(self.report["run_id"])

    def now(self) -> str:
        return iso(self._context.current_utc_datetime)

    def status(self, step: str, reason: str, *, awaiting: str = "") -> None:
        """Custom status: the current step, the reason for the last decision, what the run waits for."""
        self._context.set_custom_status(
            {
                "operation": self.report["operation"],
                "status": self.report["status"],
                "step": step,
                "reason": reason,
                "awaiting": awaiting,
                "run_id": self.run_id,
            }
        )

    def decide(self, step: str, action: str, reason: str) -> None:
        self.report["decisions"].append({"step": step, "action": action, "reason": reason, "at": self.now()})
        self.status(step, reason)

    def step(self, name: str, activity: str, payload: Mapping[str, Any], **kwargs: Any) -> Gen:
        """Run one activity as a named step; record start, end and outcome; save; re-raise failures."""
        record = {"name": name, "started_at": self.now(), "ended_at": "", "outcome": "running", "detail": ""}
        self.report["steps"].append(record)
        self.status(name, f"running {name}")
        try:
            result = yield from call(self._context, activity, payload, **kwargs)
        except Exception as exc:
            record.update(ended_at=self.now(), outcome="failed", detail=str(exc)[:500])
            yield from self.save()
            raise
        record.update(ended_at=self.now(), outcome="succeeded", detail=_summary(result))
        return result

    def poll(
        self, name: str, activity: str, payload: Mapping[str, Any], *, attempts: int, interval: float
    ) -> Gen:
        """Call an activity until its result says ``ok`` (durable timers between calls); one recorded step.

        Returns the last result; the step fails when no call said ok within ``attempts``.
        """
        record = {"name": name, "started_at": self.now(), "ended_at": "", "outcome": "running", "detail": ""}
        self.report["steps"].append(record)
        self.status(name, f"running {name}")
        result: Json = {}
        for attempt in range(1, attempts + 1):
            result = yield from call(self._context, activity, payload)
            if result.get("ok"):
                break
            if attempt < attempts:
                yield self._context.create_timer(
                    self._context.current_utc_datetime + timedelta(seconds=interval)
                )
        ok = bool(result.get("ok"))
        detail = f"ok after {attempt} call(s)" if ok else f"not ok after {attempts} calls: {_brief(result)}"
        record.update(ended_at=self.now(), outcome="succeeded" if ok else "failed", detail=detail)
        return result

    def skip(self, name: str, reason: str) -> None:
        now = self.now()
        self.report["steps"].append(
            {"name": name, "started_at": now, "ended_at": now, "outcome": "skipped", "detail": reason}
        )

    def measure(self, **values: Any) -> None:
        self.report["measurements"].update(values)

    def resource(self, **values: Any) -> None:
        self.report["resources"].update(values)

    def _write(self, run_id: str) -> Any:
        """The storage task that writes the report (JSON and Markdown, secrets redacted) as ``run_id``."""
        body = redact(self.report)
        payload: Json = {"run_id": run_id, "report": body, "markdown": render_markdown(body)}
        payload["kind"] = self.report["operation"]
        if self.retain_years is not None:
            payload["retain_years"] = self.retain_years
        return self._context.call_activity(names.STORAGE_WRITE_REPORT, payload)

    def save(self, *, also_as: str | None = None) -> Gen:
        """Write the report (and a copy named ``also_as``, in parallel); a failed save never fails the run."""
        writes = [self._write(self.run_id)] + ([self._write(also_as)] if also_as else [])
        try:
            yield self._context.task_all(writes)
        except Exception:  # the report is evidence, not a step: keep going
            self.report.setdefault("warnings", []).append("report could not be saved at " + self.now())

    def notify(self, event: str, text: str, *, severity: str = "info", page: bool = False) -> Gen:
        """Notify every configured target and publish a CloudEvent; a failure is recorded, never fatal."""
        operation, text = self.report["operation"], redact(text)
        message: Json = {"title": f"{operation} {self.run_id}: {event}", "text": text, "severity": severity}
        message.update(event=event, run_id=self.run_id, dedup_key=self.run_id, page=page)
        cloud_event = {
            "type": f"continuity.{operation}.{event.replace(' ', '-')}",
            "subject": self.run_id,
            "data": {"run_id": self.run_id, "operation": operation, "event": event, "text": text},
        }
        outcome: Json = {"event": event, "at": self.now()}
        try:
            yield self._context.task_all(
                [
                    self._context.call_activity(names.NOTIFY_SEND, message),
                    self._context.call_activity(names.EVENTS_PUBLISH, cloud_event),
                ]
            )
        except Exception as exc:
            outcome["error"] = str(exc)[:200]
        self.report.setdefault("notifications", []).append(outcome)

    def finish(self, status: str, summary: str) -> Gen:
        """Close the report and save it; with ``archive``, also keep a copy under a name of its own
        (``<run id>-<start>``), so the next run of the same singleton id does not overwrite the evidence."""
        self.report.update(status=status, summary=summary, ended_at=self.now())
        self.status("done", summary)
        if self.archive:
            started = datetime.fromisoformat(self.report["started_at"])
            self.report["archived_as"] = f"{self.run_id}-{stamp(started)}"
        yield from self.save(also_as=self.report.get("archived_as"))
        return self.report


def teardown(
    context: Any, rec: RunRecord, kind: str, name: str, *, step: str, where: Mapping[str, Any] | None = None
) -> Gen:
    """Delete a server or container group Continuity created, then poll until it is gone.

    ``where`` carries the resource group it was created in (else the settings' default for the name).
    Returns True when verified gone, False when it still exists after the polls. Never raises.
    """
    delete, get, key = _TEARDOWN[kind]
    target = {key: name, **(where or {})}
    with contextlib.suppress(Exception):  # whether it is gone is what the polls below establish
        yield from rec.step(f"delete-{step}", delete, target)
    for attempt in range(TEARDOWN_POLLS):
        try:
            state = yield from rec.step(f"verify-{step}-gone", get, target)
        except Exception:
            state = {"exists": True}
        if not state.get("exists", True):
            rec.decide("teardown", "verified", f"{name} is gone")
            return True
        if attempt < TEARDOWN_POLLS - 1:
            delay = timedelta(seconds=TEARDOWN_INTERVAL_SECONDS)
            yield context.create_timer(context.current_utc_datetime + delay)
    rec.decide("teardown", "leftover", f"{name} still exists after deletion")
    return False


def _summary(result: Any) -> str:
    if isinstance(result, Mapping):
        for key in ("message", "state", "server", "group"):
            if result.get(key):
                return str(result[key])[:300]
    return ""


def _brief(result: Mapping[str, Any]) -> str:
    keys = ("status", "error", "state", "message")
    return ", ".join(f"{k}={result[k]}" for k in keys if result.get(k) not in (None, ""))[:300]


def seconds_between(start: str, end: str) -> float:
    """Seconds from one report timestamp to another."""
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


GATE_POLL_SECONDS = 30.0


def backup_gate(
    context: Any, rec: RunRecord, settings: Settings, *, wait_limit_seconds: float = 1800.0
) -> Gen:
    """The pre-deployment backup gate, for any plan to ``yield from``: returns the final GateDecision.

    Latest backup younger than the gate (6 h by default): proceed. Otherwise take an on-demand backup and
    wait for it (re-listing backups every 30 s), or refuse with the reason (shared.policy.decide_backup_gate).
    The backups are those of the primary found now (find_primary); no primary refuses with its reason.
    """
    started_at: datetime | None = None
    status: str | None = None
    primary = yield from find_primary(context, settings)
    record_primary(rec, primary)
    if primary.action != "primary":
        return policy.GateDecision(policy.GATE_REFUSE, primary.reason)
    server = on_primary(primary)
    while True:
        listing = yield from rec.step("backup-gate-list", names.DATABASE_LIST_BACKUPS, server)
        latest = listing.get("latest_completed_at")
        state = policy.BackupGateState(
            now=context.current_utc_datetime,
            latest_backup_at=parse_time(latest) if latest else None,
            max_age_hours=settings.predeploy_backup_gate_hours,
            on_demand_started_at=started_at,
            on_demand_status=status,
            wait_limit_seconds=wait_limit_seconds,
        )
        decision = policy.decide_backup_gate(state)
        rec.decide("backup-gate", decision.action, decision.reason)
        if decision.action in (policy.GATE_PROCEED, policy.GATE_REFUSE):
            return decision
        if decision.action == policy.GATE_TAKE_BACKUP:
            started_at = context.current_utc_datetime
            status = yield from _on_demand_backup(context, rec, server)
        else:
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=GATE_POLL_SECONDS))


def _on_demand_backup(context: Any, rec: RunRecord, server: Json) -> Gen:
    name = f"predeploy-{stamp(context.current_utc_datetime)}"
    try:
        result = yield from rec.step(
            "backup-gate-on-demand", names.DATABASE_CREATE_BACKUP, {**server, "name": name}
        )
    except Exception:
        return "Failed"
    return "Succeeded" if result.get("completed_at") else "InProgress"


# ---- which server is the primary now (observe -> shared.policy.current_primary) ---------------------


def server_view(name: str, snapshot: Mapping[str, Any]) -> policy.ServerView:
    """A DATABASE_GET_SERVER result (or ``{"error": ...}``) as the policy's view of a candidate."""
    return policy.ServerView(
        name=name,
        resource_group=str(snapshot.get("resource_group") or ""),
        exists=bool(snapshot.get("exists", True)),
        state=str(snapshot.get("state") or ""),
        role=str(snapshot.get("role") or ""),
        source_server=str(snapshot.get("source_server") or ""),
        fqdn=str(snapshot.get("fqdn") or ""),
        error=str(snapshot.get("error") or ""),
    )


def _observe_all(context: Any, calls: list[tuple[str, Json]]) -> Gen:
    """Observations in parallel; when one fails, each again on its own (a failure is ``{"error"}``)."""
    try:
        results = yield context.task_all([context.call_activity(n, dict(p)) for n, p in calls])
        return [dict(r or {}) for r in results]
    except Exception:
        pass
    out: list[Json] = []
    for name, payload in calls:
        try:
            out.append(dict((yield from call(context, name, payload, attempts=2)) or {}))
        except Exception as exc:
            out.append({"error": str(exc)[:300]})
    return out


def find_primary(context: Any, settings: Settings) -> Gen:
    """Observe the candidates and the database secret; returns shared.policy.current_primary's decision.

    Candidates: the configured primary and replica; a server Continuity created that the replica follows
    (after a failback); a server Continuity created that the secret points at (after a restore with
    switch; listed only when the secret points at none of the others).
    """
    candidates = [
        (settings.primary_server, settings.primary_resource_group),
        (settings.replica_server, settings.secondary_resource_group),
    ]
    reads = [(names.DATABASE_GET_SERVER, {"server": n, "resource_group": rg}) for n, rg in candidates]
    *found, secret = yield from _observe_all(context, [*reads, (names.SECRETS_GET_DATABASE_HOST, {})])
    views = [server_view(name, snap) for (name, _), snap in zip(candidates, found, strict=True)]
    followed = views[1].source_server if views[1].role == "replica" else ""
    if followed and followed not in (settings.primary_server, settings.replica_server):
        (extra,) = yield from _observe_all(context, [(names.DATABASE_GET_SERVER, {"server": followed})])
        if extra.get("created_by_continuity"):  # only servers Continuity created and tagged
            views.append(server_view(followed, extra))
    host = None if "error" in secret else str(secret.get("host") or "") or None
    if host and not any(policy.same_host(v.fqdn, host) for v in views):
        views += yield from _tagged_at(context, settings, host)
    return policy.current_primary(views, secret_host=host)


def _tagged_at(context: Any, settings: Settings, host: str) -> Gen:
    """The servers Continuity created (tagged) whose address is ``host``, in either resource group."""
    groups = [settings.primary_resource_group, settings.secondary_resource_group]
    listings = yield from _observe_all(
        context,
        [(names.DATABASE_LIST_SERVERS, {"resource_group": g, "created_by_continuity": True}) for g in groups],
    )
    found = [s for listing in listings for s in listing.get("servers") or []]
    return [server_view(str(s["name"]), s) for s in found if policy.same_host(str(s.get("fqdn") or ""), host)]


def record_primary(rec: RunRecord, decision: policy.PrimaryDecision) -> None:
    """The decision in the run report: a decision with its reason, and the servers it names."""
    rec.decide("find-primary", decision.action, decision.reason)
    rec.report["primary"] = decision.to_dict()
    if decision.action == "primary":
        rec.resource(source_server=decision.primary, replica_server=decision.replica or None)


def on_primary(decision: policy.PrimaryDecision, **payload: Any) -> Json:
    """An activity input that addresses the primary: ``server`` and its ``resource_group``."""
    return {"server": decision.primary, "resource_group": decision.primary_resource_group, **payload}
