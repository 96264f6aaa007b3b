"""Releases, observed and recorded: which slot is live and what runs where (read now, never remembered),
and the durable history of release events (deploys, rollbacks, recoveries, later migrations).

The history is the append-only log ``releases-<app>`` in the reports container (STORAGE_APPEND_LOG /
STORAGE_READ_LOG); each event names the image, the slot, the schema version it ran on (None when it
could not be read; a migration also its class), the outcome, the run and the time. The alerts the intake
saw are the log ``alerts-<app>`` (rule 12: no deploy while one fires).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from shared import names, policy
from shared.config import Settings

Json = dict[str, Any]
Read = tuple[str, Json]

KINDS = ("deploy", "rollback", "recovery", "migration")


def release_log(settings: Settings) -> str:
    return f"releases-{settings.app_name}"


def alert_log(settings: Settings) -> str:
    return f"alerts-{settings.app_name}"


def release_event(
    *,
    kind: str,
    run_id: str,
    at: str,
    image: str,
    slot: str,
    outcome: str,
    previous_image: str | None = None,
    previous_slot: str | None = None,
    from_image: str | None = None,
    automatic: bool = False,
    reason: str = "",
    schema_version: int | None = None,
    migration_class: str | None = None,
    from_schema_version: int | None = None,
) -> Json:
    """One release event (its id makes a retried append a no-op); a migration's also names its class and
    the schema version it started from."""
    if kind not in KINDS:
        raise ValueError(f"release kind {kind!r} is not one of {', '.join(KINDS)}")
    event: Json = {
        "id": f"{run_id}:{kind}:{outcome}",
        "kind": kind,
        "image": image,
        "version": policy.version_of(image),
        "slot": slot,
        "previous_image": previous_image,
        "previous_slot": previous_slot,
        "from_image": from_image,
        "schema_version": schema_version,
        "outcome": outcome,
        "automatic": automatic,
        "reason": reason[:300],
        "run_id": run_id,
        "at": at,
    }
    if kind == "migration":
        event.update({"class": migration_class, "from_schema_version": from_schema_version})
    return event


def _brief(group: Json) -> Json:
    keys = ("group", "exists", "state", "image", "url", "error")
    return {k: group[k] for k in keys if k in group}


def observe(settings: Settings, *, history: bool = True) -> Generator[list[Read], list[Json], Json]:
    """What runs where now: the route's slot, the live and idle groups and the DR standby (images and
    states), whether the standby follows the live release, and (``history``) every release event."""
    groups = settings.container_groups
    reads: list[Read] = [(names.TRAFFIC_GET_ROUTE, {})]
    reads += [(names.CONTAINERS_GET_GROUP, {"group": groups[s]}) for s in ("blue", "green", "standby")]
    if history:
        reads.append((names.STORAGE_READ_LOG, {"log": release_log(settings)}))
    route, blue, green, standby, *log = yield reads
    found = policy.slots(str(route.get("origin_group") or ""), settings.origin_groups, groups)
    slots = found.value if isinstance(found.value, policy.Slots) else None
    by_slot = {"blue": blue, "green": green}
    view: Json = {
        "route": {k: route.get(k) for k in ("origin_group", "deployment_status", "error") if k in route},
        "live_slot": slots.live if slots else None,
        "reason": found.reason,
        "live": _brief(by_slot[slots.live]) if slots else None,
        "idle": _brief(by_slot[slots.idle]) if slots else None,
        "standby": _brief(standby),
    }
    live_image = (view["live"] or {}).get("image")
    view["standby_matches"] = bool(live_image) and standby.get("image") == live_image
    if not view["standby_matches"] and live_image:
        view["mismatch"] = f"the DR standby runs {standby.get('image')}, the live slot {live_image}"
    if history:
        view["history"] = list((log[0] if log else {}).get("entries") or [])
    return view
