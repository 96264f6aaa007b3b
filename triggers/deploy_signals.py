"""What the alert intake does with signals while deployments exist (rules 12 and DESIGN.md 4.2.2).

- Every protected signal is remembered in the alerts log (``alerts-<app>``): a deploy never starts while
  one fires (policy.alerts_gate).
- A container signal (the alert targets one of the app's container groups) is not a regional outage:
  during a deploy it goes to the deploy's analysis (the ``signal`` event); outside one, a fired signal on
  a primary-region slot starts container recovery (which itself checks the region and the database).
- The health backstop's signal (public endpoint failing) is a container fault when the database and the
  live slot's region answer but the live slot itself does not (``container_fault``).
- A database or regional signal while a deploy, a rollback or a container recovery holds the lock queues
  the failover to preempt it (triggers.runs.preempt): the lock runs it next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from dataclasses import replace
from typing import Any

from activities.inprocess import read_now
from shared import estate, names, policy, releases
from shared.config import Settings
from shared.models import HealthSignal
from triggers import coalesce, runs

# a failover preempts these (rule 12): each stops at its next checkpoint (a drill after tearing down what it
# made), then the failover runs next under the lock
PREEMPTIBLE = ("deploy", "rollback", "container-recovery", "drill")
RECOVERY = "container-recovery"
_remembered: set[tuple[str, str, str]] = set()  # (log, alert, state) this worker already recorded


def container_group(target: str, settings: Settings) -> str:
    """The app's container group a target resource id names, or ''."""
    name = target.rstrip("/").rsplit("/", 1)[-1]
    if "/containergroups/" not in target.lower():
        return ""
    return next((g for g in settings.container_groups.values() if g.lower() == name.lower()), "")


def append_alert(log: str, entry: dict[str, Any]) -> None:
    """Append one entry to the alerts log, in-process through the storage activity's code."""

    def write() -> Any:
        yield [(names.STORAGE_APPEND_LOG, {"log": log, "entry": entry})]

    read_now(write())


async def remember(settings: Settings, signal: HealthSignal, target: str) -> None:
    """Record a protected signal's state in the alerts log (once per alert and state per worker)."""
    log = releases.alert_log(settings)
    alert = signal.alert_id or f"{target}@{signal.observed_at}"
    key = (log, alert, signal.state)
    if key in _remembered:
        return
    entry = {
        "id": f"{alert}:{signal.state}",
        "alert_id": alert,
        "state": signal.state,
        "target": target,
        "at": signal.observed_at,
        "summary": signal.summary,
        "source": signal.source,
    }
    await coalesce.shared(("alert-log", *key), lambda: asyncio.to_thread(append_alert, log, entry))
    _remembered.add(key)


async def on_container_signal(
    client: Any, settings: Settings, signal: HealthSignal, group: str, holder: runs.Holder | None
) -> dict[str, Any]:
    """A signal on one of the app's container groups: to the deploy's analysis, acknowledged while
    another operation runs, or container recovery."""
    if holder is not None:
        if holder.operation == "deploy":
            await client.raise_event(holder.run_id, "signal", signal.to_dict())
            return {
                "status": "delivered",
                "reason": f"container signal on {group} delivered to {holder.run_id}",
                "run": holder.run_id,
            }
        return {
            "status": "acknowledged",
            "reason": f"{holder.run_id} ({holder.operation}) runs: container signal on {group} noted",
            "run": holder.run_id,
        }
    if signal.state == "resolved":
        return {"status": "ignored", "reason": f"the container alert on {group} resolved"}
    if group == settings.container_group_standby:
        return {"status": "ignored", "reason": f"{group} is the DR standby: it serves no traffic"}
    recent = await runs.recent_runs(client, RECOVERY, settings.app_name, _window(settings))
    done = next((r for r in recent if _alert_of(r) == signal.alert_id and signal.alert_id), None)
    if done is not None:
        run_id = str(getattr(done, "instance_id", ""))
        return {
            "status": "acknowledged",
            "reason": f"{run_id} already handled alert {signal.alert_id}",
            "run": run_id,
        }
    trigger = {
        "kind": "alert",
        "source": signal.source,
        "reason": signal.summary or "container alert",
        "signal": signal.to_dict(),
    }
    result = await runs.start_run(
        client,
        app=settings.app_name,
        operation=RECOVERY,
        orchestrator=names.CONTAINER_RECOVERY_ORCHESTRATOR,
        payload={"settings": settings.to_dict(), "trigger": trigger, "group": group},
    )
    if not result.started:
        return {"status": "refused", "reason": result.decision.reason, "run": result.running}
    return {"status": "started", "reason": f"container recovery started for {group}", "run": result.run_id}


async def preempt_with_failover(
    client: Any, settings: Settings, signal: HealthSignal, holder: runs.Holder, payload: dict[str, Any]
) -> dict[str, Any]:
    """A database or regional outage during a deploy, rollback, recovery or drill: the failover preempts
    it (a practice drill runs to its end first)."""
    if holder.next_run:
        return {
            "status": "acknowledged",
            "reason": f"{holder.next_run} already preempts {holder.run_id}",
            "run": holder.next_run,
        }
    result = await runs.preempt(
        client,
        holder,
        app=settings.app_name,
        operation="failover",
        orchestrator=names.FAILOVER_ORCHESTRATOR,
        payload=payload,
        reason=signal.summary or "database or regional outage",
    )
    if not result.started:
        return {"status": "refused", "reason": result.decision.reason, "run": result.running}
    return {
        "status": "preempting",
        "reason": result.decision.reason,
        "run": result.run_id,
        "preempts": holder.run_id,
    }


def _window(settings: Settings) -> Any:
    from datetime import timedelta

    return timedelta(hours=settings.auto_failover_window_hours)


def _alert_of(status: Any) -> str:
    return str(((runs.input_of(status).get("trigger") or {}).get("signal") or {}).get("alert_id") or "")


def failing_live_slot(
    settings: Settings,
) -> Generator[list[tuple[str, dict[str, Any]]], list[dict[str, Any]], str]:
    """The live slot's group when it alone fails: the database has a primary, the group's region answers
    ARM, the group's own health does not ('' otherwise: not only a container fault)."""
    (route,) = yield [(names.TRAFFIC_GET_ROUTE, {})]
    found = policy.slots(
        str(route.get("origin_group") or ""), settings.origin_groups, settings.container_groups
    )
    if not isinstance(found.value, policy.Slots):
        return ""
    group_name = found.value.live_group
    (group,) = yield [(names.CONTAINERS_GET_GROUP, {"group": group_name})]
    primary = yield from estate.find_primary(settings)
    if "error" in group or primary.primary is None:
        return ""
    url = str(group.get("url") or "")
    if url:
        (health,) = yield [
            (
                names.PROBE_HTTP,
                {"url": url + settings.health_path, "timeout_seconds": settings.probe_timeout_seconds},
            )
        ]
        if health.get("ok"):
            return ""
    return group_name


def container_fault(settings: Settings, signal: HealthSignal) -> HealthSignal:
    """The backstop's signal, retargeted at the live slot's group when only that group fails."""
    group = read_now(failing_live_slot(settings))
    if not group:
        return signal
    rg = settings.group_resource_group(group)
    rid = (
        f"/subscriptions/{settings.subscription_id}/resourcegroups/{rg}/providers/"
        f"microsoft.containerinstance/containergroups/{group}"
    ).lower()
    summary = f"{signal.summary}: the live slot {group} fails while the database and its region answer"
    return replace(signal, resource_ids=(rid,), summary=summary[:200], alert_id=f"{signal.alert_id}:{group}")
