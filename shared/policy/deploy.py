"""Decisions of deployments: which slot is live, the image reference, the pre-flight gates (window, change
id, quarantine, automatic-rollback budget, alerts, lag, CPU, production health), what the idle slot's
update changes, the schedule, the previous release and the schema check of a rollback.

Releases are observed, not remembered: the live slot is the one the route serves. The history of releases
(deploys, rollbacks, recoveries, later migrations) is a list of plain events, oldest first, each
``{id, kind, image, slot, previous_image, previous_slot, from_image, schema_version, outcome, automatic,
run_id, at}``; quarantine (rule 10) and the automatic-rollback budget (rule 7) are decided from it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.models import Decision, parse_time

Event = Mapping[str, Any]
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# ACI cannot update these in place: a change deletes and re-creates the group.
FORCED_FIELDS = ("cpu", "memory_gb", "os_type", "restart_policy")  # as shared/azure/container_spec.py
COMPARED_FIELDS = ("image", "environment", "command", "port", *FORCED_FIELDS)


# ---- slots and images ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slots:
    """The live slot (the one the route serves) and the idle one, with their groups and origin groups."""

    live: str
    idle: str
    live_group: str
    idle_group: str
    live_origin_group: str
    idle_origin_group: str

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def slots(route_origin_group: str, origin_groups: Mapping[str, str], groups: Mapping[str, str]) -> Decision:
    """``slots`` (value: Slots) when the route serves blue or green, else ``refuse`` with the reason."""
    live = next((slot for slot in ("blue", "green") if origin_groups[slot] == route_origin_group), "")
    if not live:
        where = "the DR region" if route_origin_group == origin_groups.get("standby") else "no known slot"
        return Decision(
            "refuse",
            f"the route serves {route_origin_group or 'nothing'} ({where}): deploys go to the primary "
            "region's idle slot only; fail back first",
        )
    idle = "green" if live == "blue" else "blue"
    found = Slots(live, idle, groups[live], groups[idle], origin_groups[live], origin_groups[idle])
    return Decision(
        "slots", f"{live} is live (the route serves {route_origin_group}); {idle} is idle", "", found
    )


def image_reference(image: str, repository: str | None) -> Decision:
    """``valid`` (value: the full reference) when ``image`` is a tag or digest in ``repository`` (a bare
    tag or digest is taken as one), else ``invalid`` with the reason."""
    if not repository:
        return Decision("invalid", "no image repository is configured (CONTINUITY_IMAGE_REPOSITORY)")
    ref = image.strip()
    if ref.startswith((repository + ":", repository + "@")):
        version, full = ref[len(repository) + 1 :], ref
    elif "/" not in ref and ":" not in ref.replace("sha256:", "", 1):
        version = ref
        full = f"{repository}@{ref}" if DIGEST.fullmatch(ref) else f"{repository}:{ref}"
    else:
        return Decision("invalid", f"must be a tag or digest of {repository} ({repository}:<tag>)")
    if not (TAG.fullmatch(version) or DIGEST.fullmatch(version)):
        return Decision("invalid", "the tag must be 1-128 letters, digits, '.', '_' or '-' (or sha256:<hex>)")
    return Decision("valid", f"{full} is in {repository}", "", full)


def version_of(image: str) -> str:
    """The version an image runs, as the app reports it: its tag (or digest)."""
    last = str(image or "").rsplit("/", 1)[-1]
    if "@" in last:
        return last.split("@", 1)[1]
    return last.split(":", 1)[1] if ":" in last else "latest"


# ---- the pre-flight gates -----------------------------------------------------------------------------
def deploy_window(now: datetime, window: Sequence[int], *, force: bool) -> Decision:
    """``open`` inside the window (minutes of the UTC day, may wrap midnight), ``forced`` outside it with
    ``force_window``, else ``refuse``."""
    start, end = int(window[0]), int(window[1])
    minute = now.hour * 60 + now.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    span = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d} UTC"
    if inside:
        return Decision("open", f"{now:%H:%M} UTC is inside the deploy window {span}")
    if force:
        return Decision("forced", f"{now:%H:%M} UTC is outside the deploy window {span}: forced by request")
    return Decision(
        "refuse", f"{now:%H:%M} UTC is outside the deploy window {span}: pass force_window with a reason"
    )


def change_id_gate(change_id: str | None, *, required: bool) -> Decision:
    if change_id:
        return Decision("proceed", f"change {change_id}")
    if required:
        return Decision("refuse", "a change_id is required for deploys (CONTINUITY_DEPLOY_REQUIRE_CHANGE_ID)")
    return Decision("proceed", "no change_id (not required)")


def quarantine(history: Sequence[Event], image: str, *, retry: bool) -> Decision:
    """Rule 10: an image that was rolled back is quarantined; deploying it again needs ``retry``
    (``retry_quarantined`` with a reason). A later successful deploy of it lifts the quarantine."""
    for event in reversed(history):
        rolled_back = (event.get("kind") == "deploy" and event.get("outcome") == "rolled-back") or (
            event.get("kind") == "rollback" and event.get("outcome") == "succeeded"
        )
        subject = event.get("from_image") if event.get("kind") == "rollback" else event.get("image")
        if subject != image:
            continue
        if event.get("kind") == "deploy" and event.get("outcome") == "succeeded":
            return Decision("clear", f"{image} was deployed successfully by {event.get('run_id')}", "rule 10")
        if rolled_back:
            why = f"{image} was rolled back by {event.get('run_id')} at {event.get('at')}"
            if retry:
                return Decision("retry", f"{why}: deploying it again as an explicit retry", "rule 10")
            return Decision(
                "refuse", f"{why}: it is quarantined; pass retry_quarantined with a reason", "rule 10"
            )
    return Decision("clear", f"{image} was never rolled back", "rule 10")


def automatic_rollbacks(history: Sequence[Event], now: datetime, window_hours: float) -> list[Event]:
    since = now - timedelta(hours=window_hours)
    return [
        e
        for e in history
        if e.get("kind") == "rollback" and e.get("automatic") and parse_time(str(e["at"])) >= since
    ]


def rollback_budget(history: Sequence[Event], now: datetime, *, limit: int, window_hours: float) -> Decision:
    """Rule 7: ``limit`` automatic rollbacks within the window stop deploys (and page) until it passes."""
    recent = automatic_rollbacks(history, now, window_hours)
    if len(recent) >= limit:
        runs = ", ".join(str(e.get("run_id")) for e in recent)
        return Decision(
            "refuse",
            f"{len(recent)} automatic rollbacks in the last {window_hours:g} h ({runs}): deploys are stopped "
            f"(limit {limit}) until the window has passed",
            "rule 7",
        )
    return Decision(
        "proceed",
        f"{len(recent)} automatic rollbacks in the last {window_hours:g} h (limit {limit})",
        "rule 7",
    )


def firing_alerts(entries: Sequence[Event], now: datetime, hours: float) -> list[Event]:
    """The alerts whose latest state is fired, fired within ``hours``."""
    latest: dict[str, Event] = {}
    for entry in entries:
        latest[str(entry.get("alert_id") or entry.get("id"))] = entry
    since = now - timedelta(hours=hours)
    return [e for e in latest.values() if e.get("state") == "fired" and parse_time(str(e.get("at"))) >= since]


def alerts_gate(entries: Sequence[Event], now: datetime, *, hours: float) -> Decision:
    """Rule 12: no deploy while an alert for the app is firing."""
    firing = firing_alerts(entries, now, hours)
    if firing:
        first = firing[0]
        return Decision(
            "refuse",
            f"{len(firing)} alert(s) for the app firing, e.g. "
            f"{first.get('summary') or first.get('alert_id')} "
            f"on {str(first.get('target', '')).rsplit('/', 1)[-1]} since {first.get('at')}",
            "rule 12",
        )
    return Decision("proceed", "no alert for the app is firing", "rule 12")


def deploy_lag_gate(lag_seconds: float | None, *, rpo_seconds: float) -> Decision:
    """Rule 12: no deploy while the replica lags past the RPO (an unknown lag is not a pass: rule 11)."""
    if lag_seconds is None:
        return Decision(
            "refuse", "the replica's lag cannot be measured: the DR position is unknown", "rule 12"
        )
    if lag_seconds > rpo_seconds:
        return Decision(
            "refuse", f"replica lag {lag_seconds:.0f} s exceeds the RPO ({rpo_seconds:.0f} s)", "rule 12"
        )
    return Decision(
        "proceed", f"replica lag {lag_seconds:.1f} s within the RPO ({rpo_seconds:.0f} s)", "rule 12"
    )


def cpu_gate(millicores: float | None, cores: float, *, warn: float, refuse: float) -> Decision:
    """The live slot's CPU over the last minutes: ``proceed``, ``warn`` over ``warn`` %, ``refuse`` over
    ``refuse`` % or when there is no data (a gate without data is not a pass: rule 11)."""
    if millicores is None:
        return Decision("refuse", "no CPU data for the live slot: the CPU gate cannot pass", "rule 11")
    percent = 100.0 * millicores / (max(cores, 0.01) * 1000)
    said = f"live slot CPU {percent:.0f}% of {cores:g} cores"
    if percent > refuse:
        return Decision("refuse", f"{said} is over {refuse:g}%: refusing to add load", "", percent)
    if percent > warn:
        return Decision("warn", f"{said} is over {warn:g}%: deploying with a warning", "", percent)
    return Decision("proceed", f"{said} (warn over {warn:g}%, refuse over {refuse:g}%)", "", percent)


def production_health(results: Sequence[Mapping[str, Any]]) -> Decision:
    """Production answers through the public endpoint (every probe ok)."""
    failed = [
        f"{r.get('url')}: {r.get('status')} {r.get('error') or ''}".strip()
        for r in results
        if not r.get("ok")
    ]
    if failed or not results:
        return Decision(
            "refuse", "production is not healthy through the public endpoint: " + "; ".join(failed)
        )
    return Decision("proceed", f"production healthy through the public endpoint ({len(results)} probes)")


def schedule(now: datetime, not_before: datetime | None, *, notice_hours: float) -> Decision:
    """``now``, or ``wait`` until ``not_before`` (value: when the advance notice goes out)."""
    if not_before is None or not_before <= now:
        return Decision(
            "now", "no schedule: deploying now" if not_before is None else "the scheduled time has come"
        )
    notice = max(now, not_before - timedelta(hours=notice_hours))
    return Decision(
        "wait",
        f"scheduled for {not_before.isoformat()}: notice at {notice.isoformat()} ({notice_hours:g} h ahead)",
        "",
        notice.isoformat(),
    )


# ---- the idle slot --------------------------------------------------------------------------------------
def idle_update(current: Mapping[str, Any] | None, wanted: Mapping[str, Any], *, running: bool) -> Decision:
    """What ensuring the idle slot with ``wanted`` does: ``create``, ``recreate`` (a field ACI cannot
    update in place changed: delete and re-create), ``update`` (restarts in place), ``start`` or
    ``unchanged``. Value: the changed fields."""
    if current is None:
        return Decision("create", "the idle group does not exist: it is created", "", list(COMPARED_FIELDS))
    changed = [f for f in COMPARED_FIELDS if wanted.get(f) is not None and current.get(f) != wanted.get(f)]
    forced = [f for f in changed if f in FORCED_FIELDS]
    if forced:
        said = f"{', '.join(changed)} change; {', '.join(forced)} cannot change in place"
        return Decision("recreate", f"{said}: ACI deletes and re-creates the idle group", "", changed)
    if changed:
        return Decision(
            "update", f"{', '.join(changed)} change: the idle group is updated in place", "", changed
        )
    if not running:
        return Decision(
            "start", "the idle group already runs this spec but is stopped: it is started", "", []
        )
    return Decision("unchanged", "the idle group already runs this spec", "", [])


# ---- releases: the previous one, and the schema check of a rollback -------------------------------------
def previous_release(history: Sequence[Event], live_image: str) -> Decision:
    """``found`` (value: {image, slot}) — the release before the live one, as the history records it — or
    ``none``."""
    for event in reversed(history):
        if event.get("image") == live_image and event.get("outcome") == "succeeded":
            if event.get("previous_image"):
                found = {"image": event["previous_image"], "slot": event.get("previous_slot")}
                return Decision(
                    "found", f"{live_image} followed {found['image']} ({event.get('run_id')})", "", found
                )
            break
    return Decision("none", f"no release before {live_image} is recorded: pass to_image")


def schema_rollback(
    history: Sequence[Event], target_image: str, *, force: bool, reason: str = ""
) -> Decision:
    """Rule 9: a rollback to an image whose release ran on schema V is allowed when every migration since
    V is an expand; after a breaking one it is refused (the sentence names the image, V, the migration and
    the current version), unless an operator forces it with a reason. Migrations are history events of
    kind ``migration`` with their ``class`` and ``schema_version``."""
    ran = [e for e in history if e.get("image") == target_image and e.get("outcome") == "succeeded"]
    since = history[history.index(ran[-1]) + 1 :] if ran else list(history)
    breaking = [e for e in since if e.get("kind") == "migration" and e.get("class") == "breaking"]
    if not breaking:
        return Decision("allow", f"no breaking migration since {target_image} last ran", "rule 9")
    last = breaking[-1]
    version = ran[-1].get("schema_version") if ran else None
    known = [
        e.get("schema_version") for e in since if e.get("kind") == "migration" and e.get("schema_version")
    ]
    current = known[-1] if known else last.get("schema_version")
    why = (
        f"{target_image} ran on schema {version}; breaking migration {last.get('run_id')} moved it to "
        f"{last.get('schema_version')} ({last.get('image')}); the schema is now {current}"
    )
    if force and reason:
        return Decision("forced", f"{why}: forced by an operator: {reason}", "rule 9")
    return Decision("refuse", f"{why}: {target_image} never ran on it; pass force with a reason", "rule 9")
