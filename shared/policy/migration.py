"""Decisions of migrations: the anchor (a restore test that passed recently), the application role a drain
may terminate, the drain itself, maintenance mode as seen from outside, the schema version after the job,
the restore body that returns to the anchor, contract's refusals and the schema check of a rollback
(rule 9).

Classes (DESIGN.md 4.2.2): ``expand`` (backward compatible: old and new releases both work on it),
``contract`` (removes what old releases use: only when no slot runs one and after a bake time),
``breaking`` (needs maintenance mode: writes answer 503 while it runs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from shared.models import Decision, parse_time

MIGRATION_CLASSES = ("expand", "contract", "breaking")
AZURE_ROLES = ("azuresu", "azure_pg_admin", "replication")  # Azure's own roles: never terminated
Event = Mapping[str, Any]


def anchor_restore_test(reports: Sequence[Event], now: datetime, *, days: float) -> Decision:
    """``anchor`` (value: the run id) when a restore test passed within ``days``, else ``refuse``: a
    backup nobody restored is not an anchor."""
    since = now - timedelta(days=days)
    passed = [
        r
        for r in reports
        if r.get("operation") == "restore-test"
        and r.get("status") == "succeeded"
        and r.get("ended_at")
        and parse_time(str(r["ended_at"])) >= since
    ]
    if not passed:
        return Decision(
            "refuse",
            f"no restore test passed in the last {days:g} days: a backup nobody restored is not an anchor "
            "(run POST /api/restore-test first)",
        )
    newest = max(passed, key=lambda r: str(r["ended_at"]))
    return Decision(
        "anchor",
        f"restore test {newest.get('run_id')} passed at {newest['ended_at']} (within {days:g} days)",
        "",
        str(newest.get("run_id")),
    )


def app_role(role: str | None, *, admin: str | None) -> Decision:
    """``role`` (value: the role) when the drain may terminate its sessions: never Azure's own roles,
    never the server's administrator."""
    if not role:
        return Decision("refuse", "no application role is known (CONTINUITY_MIGRATION_APP_ROLE)")
    if role.lower() in AZURE_ROLES:
        return Decision("refuse", f"{role} is Azure's own role: its sessions are never terminated")
    if admin and role.lower() == admin.lower():
        return Decision(
            "refuse",
            f"{role} is the server's administrator: the drain terminates only the application role's "
            "sessions (set CONTINUITY_MIGRATION_APP_ROLE to the app's own role)",
        )
    return Decision("role", f"the drain counts and may terminate only {role}'s sessions", "", role)


def drain_next(sessions: int, *, waited_seconds: float, deadline_seconds: float) -> Decision:
    """``drained`` when the application role has no session left, ``wait`` before the deadline, else
    ``terminate`` (only that role's sessions)."""
    if sessions == 0:
        return Decision("drained", f"no session of the application role left after {waited_seconds:.0f} s")
    if waited_seconds < deadline_seconds:
        return Decision(
            "wait", f"{sessions} session(s) of the application role; waiting up to {deadline_seconds:g} s"
        )
    return Decision(
        "terminate",
        f"{sessions} session(s) of the application role still open at the {deadline_seconds:g} s deadline: "
        "terminating them (and no other role's)",
    )


def maintenance_seen(write: Event, read: Event, *, enabled: bool) -> Decision:
    """Maintenance mode as seen through the public endpoint: on means a write answers 503 while a read
    still works; off means a write succeeds. ``verified`` or ``not-yet``."""
    said = (
        f"write {write.get('status') or write.get('error')}, read {read.get('status') or read.get('error')}"
    )
    if enabled:
        ok = write.get("status") == 503 and bool(read.get("ok"))
        return Decision("verified" if ok else "not-yet", f"maintenance on from outside: {said}")
    ok = bool(write.get("ok"))
    return Decision("verified" if ok else "not-yet", f"maintenance off from outside: {said}")


def schema_verified(found: Any, target: int) -> Decision:
    """``verified`` when the schema version read after the job equals ``target``, else ``mismatch``."""
    if found is None:
        return Decision("mismatch", f"the schema version could not be read (expected {target})")
    if int(found) != int(target):
        return Decision("mismatch", f"the schema version is {found}, not the target {target}")
    return Decision("verified", f"the schema version is {found}, the target")


def restore_body(anchor_at: str, run_id: str) -> dict[str, Any]:
    """The exact ``POST /api/restore`` body that returns the database to the migration's anchor."""
    return {
        "restore_point": anchor_at,
        "reason": f"return to the anchor of migration {run_id}",
        "switch": True,
    }


def write_unavailable_seconds(last_ok_before: str | None, first_ok_after: str | None) -> float | None:
    """The write-unavailability window measured from outside: from the last write that succeeded before
    maintenance to the first that succeeded after it (None when either is unknown)."""
    if not last_ok_before or not first_ok_after:
        return None
    return max(0.0, (parse_time(first_ok_after) - parse_time(last_ok_before)).total_seconds())


# ---- contract and rollbacks over the release history ------------------------------------------------------
def migration_events(history: Sequence[Event]) -> list[Event]:
    return [e for e in history if e.get("kind") == "migration" and e.get("outcome") == "succeeded"]


def ran_since(history: Sequence[Event], image: str, index: int) -> bool:
    """Whether ``image`` ran successfully (deploy, rollback, recovery) after event number ``index``."""
    return any(
        e.get("kind") != "migration" and e.get("outcome") == "succeeded" and e.get("image") == image
        for e in history[index + 1 :]
    )


def contract_gate(
    history: Sequence[Event], images: Mapping[str, str | None], now: datetime, *, bake_hours: float
) -> Decision:
    """A contract completes the last expand: refused while any slot (live, idle kept warm, DR standby:
    ``images``) runs a release older than that expand (not released since it, in the history's order),
    and within ``bake_hours`` after the deploy that introduced it."""
    expands = [
        i
        for i, e in enumerate(history)
        if e.get("kind") == "migration" and e.get("outcome") == "succeeded" and e.get("class") == "expand"
    ]
    if not expands:
        return Decision("refuse", "no expand migration is recorded: a contract completes an expand")
    index = expands[-1]
    expand = history[index]
    older = [
        f"{slot} runs {image}, a release older than expand {expand.get('run_id')}"
        for slot, image in images.items()
        if image and not ran_since(history, image, index)
    ]
    if older:
        return Decision("refuse", "contract refused: " + "; ".join(older))
    introduced = next(
        (e for e in history[index + 1 :] if e.get("kind") != "migration" and e.get("outcome") == "succeeded"),
        None,
    )
    if introduced is None:
        return Decision("refuse", f"no release since expand {expand.get('run_id')}: nothing runs on it yet")
    since = parse_time(str(introduced["at"]))
    if now - since < timedelta(hours=bake_hours):
        return Decision(
            "refuse",
            f"contract refused: {introduced.get('image')} was released at {since.isoformat()}, within the "
            f"{bake_hours:g} h bake time after expand {expand.get('run_id')}",
        )
    return Decision(
        "proceed",
        f"every slot runs a release made after expand {expand.get('run_id')}; baked {bake_hours:g} h",
    )
