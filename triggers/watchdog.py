"""The stuck-run watchdog: a timer that finds the app's active runs past their operation's deadline
(``CONTINUITY_RUN_DEADLINES_MINUTES``) or waiting for approval past the approval timeout, and pages
once for each, with the run and its step; ``GET /api/status`` lists the same runs (``stuck_runs``).

The decision is ``policy.run_overdue``; what was paged is kept in the timer's state
(``state/watchdog-<app>.json``, reduced to the runs still active), so each stuck run pages once however
many ticks see it. A page is sent at least once: a host that dies between the page and the state write
may page a run again at its next tick.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import instances, names, policy
from shared.config import Settings, current_secrets, current_settings
from triggers import runs

bp = df.Blueprint()
log = logging.getLogger(__name__)

_ACTIVE = [df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending]


def now() -> datetime:
    """The watchdog's clock (tests set it)."""
    return datetime.now(UTC)


def active_run(status: Any) -> policy.ActiveRun:
    """What the watchdog reads of a Durable status: the run's own custom status (step, wait) and times."""
    custom = getattr(status, "custom_status", None)
    custom = custom if isinstance(custom, dict) else {}
    iid = str(getattr(status, "instance_id", "") or "")
    waits = [w for w in custom.get("waits") or [] if isinstance(w, dict)]
    open_wait = waits[-1] if waits and not waits[-1].get("ended_at") else {}
    created = getattr(status, "created_time", None)
    return policy.ActiveRun(
        run_id=iid,
        operation=str(custom.get("operation") or iid.split("-")[0]),
        started_at=created.isoformat() if isinstance(created, datetime) else str(created or ""),
        step=str(custom.get("step") or ""),
        awaiting=str(custom.get("awaiting") or ""),
        waiting_since=str(open_wait.get("started_at") or "") if custom.get("awaiting") else "",
    )


async def active_runs(client: Any, app: str) -> list[policy.ActiveRun]:
    """The app's active runs (the lock and the backup watch are not runs)."""
    found = await client.get_status_by(runtime_status=_ACTIVE)
    mine = [
        s
        for s in found
        if instances.is_active(s)
        and getattr(s, "name", "") not in runs.NOT_RUNS
        and f"-{app}-" in str(getattr(s, "instance_id", ""))
    ]
    return [active_run(s) for s in mine]


def overdue(active: list[policy.ActiveRun], settings: Settings, at: datetime) -> list[dict[str, str]]:
    """The runs policy finds stuck, as the status and the pages show them."""
    deadlines = policy.run_deadlines(settings.run_deadlines_minutes)
    out = []
    for run in active:
        if not run.started_at:
            continue
        decision = policy.run_overdue(
            run,
            at,
            deadline_minutes=policy.deadline_for(run.operation, deadlines),
            approval_timeout_minutes=settings.approval_timeout_minutes,
        )
        if not decision.is_("on-time"):
            out.append(
                {
                    "run": run.run_id,
                    "operation": run.operation,
                    "step": run.step,
                    "kind": decision.action,
                    "reason": decision.reason,
                    "link": runs.api_links(run.run_id)["run"],
                }
            )
    return out


async def stuck_runs(client: Any, settings: Settings, at: datetime | None = None) -> list[dict[str, str]]:
    """The app's stuck runs now (for /api/status and the timer)."""
    return overdue(await active_runs(client, settings.app_name), settings, at or now())


def page_once(settings: Settings, stuck: list[dict[str, str]], active: set[str]) -> list[str]:
    """Page each stuck run not paged before; keep what was paged for the runs still active. The run ids
    paged now."""
    from shared import notify
    from shared.azure import runtime

    storage, name = runtime.storage(), f"watchdog-{settings.app_name}"
    paged: dict[str, str] = dict((storage.read_state(name).get("state") or {}).get("paged") or {})
    sent = []
    for found in stuck:
        key = f"{found['run']}:{found['kind']}"
        if key in paged:
            continue
        message = notify.Message(
            title=f"Stuck run: {found['run']}",
            text=found["reason"],
            severity="critical",
            event="run-stuck",
            run_id=found["run"],
            dedup_key=f"continuity-{settings.app_name}-stuck-{found['run']}",
            fields={
                "operation": found["operation"],
                "step": found["step"] or "unknown",
                "kind": found["kind"],
            },
            link=found["link"],
            page=True,
        )
        notify.send(message, settings, current_secrets())
        paged[key] = now().isoformat()
        sent.append(found["run"])
    kept = {k: v for k, v in paged.items() if k.rsplit(":", 1)[0] in active}
    storage.write_state(name, {"paged": kept})
    return sent


@bp.function_name(names.TIMER_STUCK_RUNS)
@bp.timer_trigger(arg_name="timer", schedule="%CONTINUITY_WATCHDOG_SCHEDULE%")
@bp.durable_client_input(client_name="client")
async def timer_stuck_runs(timer: func.TimerRequest, client: Any) -> None:
    """One watchdog tick: find the stuck runs, page the new ones."""
    settings = current_settings()
    active = await active_runs(client, settings.app_name)
    stuck = overdue(active, settings, now())
    sent = await asyncio.to_thread(page_once, settings, stuck, {r.run_id for r in active})
    if stuck:
        log.warning("watchdog: %d stuck run(s), paged %s", len(stuck), sent or "none new")
