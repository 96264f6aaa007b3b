"""Observations of the estate, written once as generators of reads and driven two ways.

An observation yields a batch of reads (``(activity name, input)``, answered in order, a failed read
answered ``{"error": ...}``) and returns what it found. Inside a plan it is driven by
``orchestrators.toolkit.Run.drive`` (each read an activity); in a trigger (``/api/status``, the restore
API's window check, the alert intake) by ``activities.inprocess.read_now`` (each read the same activity's
code, run in-process through the adapters). The decision itself is policy's (``policy.current_primary``).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from shared import names, policy
from shared.config import Settings
from shared.models import Decision

Json = dict[str, Any]
Read = tuple[str, Json]
Observation = Generator[list[Read], list[Json], Any]


@dataclass(frozen=True)
class PrimaryFound:
    """The decision on which server is the primary, and every candidate as it was read."""

    decision: Decision[policy.Primary]
    seen: dict[str, Json] = field(default_factory=dict)

    @property
    def primary(self) -> policy.Primary | None:
        return self.decision.value if self.decision.is_("primary") else None

    def view(self) -> Json:
        """The decision as reports and the status show it."""
        found = self.primary
        return {
            "action": self.decision.action,
            "reason": self.decision.reason,
            "primary": found.server if found else "",
            "primary_resource_group": found.resource_group if found else "",
            "replica": found.replica if found else "",
            "replica_resource_group": found.replica_resource_group if found else "",
        }


def server_view(name: str, snapshot: Json) -> policy.ServerView:
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
        aliases=tuple(str(a) for a in [snapshot.get("writer_endpoint")] if a),
    )


def find_primary(settings: Settings) -> Generator[list[Read], list[Json], PrimaryFound]:
    """Which server is the primary now: observe the candidates and the database secret, then decide.

    Candidates: the configured primary and replica; a server Continuity created that the replica follows
    (after a failback); a server Continuity created that the secret points at (after a restore with
    switch; listed only when the secret points at none of the others).
    """
    candidates = [
        (settings.primary_server, settings.primary_resource_group),
        (settings.replica_server, settings.secondary_resource_group),
    ]
    reads = [(names.DATABASE_GET_SERVER, {"server": n, "resource_group": rg}) for n, rg in candidates]
    *found, secret = yield [*reads, (names.SECRETS_GET_DATABASE_HOST, {})]
    seen = {name: snap for (name, _), snap in zip(candidates, found, strict=True)}
    replica = seen[settings.replica_server]
    followed = str(replica.get("source_server") or "") if replica.get("role") == "replica" else ""
    if followed and followed not in seen:
        (extra,) = yield [(names.DATABASE_GET_SERVER, {"server": followed})]
        if extra.get("created_by_continuity"):  # only servers Continuity created and tagged
            seen[followed] = extra
    host = None if "error" in secret else str(secret.get("host") or "") or None
    views = [server_view(name, snap) for name, snap in seen.items()]
    if host and not any(v.answers_at(host) for v in views):
        groups = (settings.primary_resource_group, settings.secondary_resource_group)
        listings = yield [
            (names.DATABASE_LIST_SERVERS, {"resource_group": g, "created_by_continuity": True})
            for g in groups
        ]
        for server in (s for listing in listings for s in listing.get("servers") or []):
            if policy.same_host(str(server.get("fqdn") or ""), host):
                seen[str(server["name"])] = server
                views.append(server_view(str(server["name"]), server))
    return PrimaryFound(policy.current_primary(views, secret_host=host), seen)


def status(settings: Settings) -> Generator[list[Read], list[Json], Json]:
    """What ``GET /api/status`` shows of the estate: the route, the latest backup-watch and readiness
    states, each slot's container group (state and image), the primary found now with its replica, the
    replica's lag and the primary's backups. Each read may fail alone."""
    groups = settings.container_groups
    route, watch, ready, *slots = yield [
        (names.TRAFFIC_GET_ROUTE, {}),
        (names.STORAGE_READ_STATE, {"name": backup_watch_state(settings)}),
        (names.STORAGE_READ_STATE, {"name": readiness_state(settings)}),
        *[(names.CONTAINERS_GET_GROUP, {"group": group}) for group in groups.values()],
    ]
    found = yield from find_primary(settings)
    out: Json = {"route": route, "backup_watch": watch.get("state"), "primary": found.view()}
    out["readiness"] = ready.get("state")
    out["slots"] = dict(zip(groups, slots, strict=True))
    primary = found.primary
    if primary is None:  # no guess: primary_server is null, the candidates as observed
        out["primary_server"] = found.seen[settings.primary_server]
        out["replica_server"] = found.seen[settings.replica_server]
        return out
    out["primary_server"] = found.seen.get(primary.server)
    out["replica_server"] = found.seen.get(primary.replica)
    reads: list[Read] = [(names.DATABASE_LIST_BACKUPS, primary.address())]
    if primary.replica:
        where = {"server": primary.replica, "resource_group": primary.replica_resource_group}
        reads.append((names.DATABASE_GET_REPLICATION_LAG, where))
    backups, *lag = yield reads
    out["latest_backup"] = backups
    out["replica_lag_seconds"] = lag[0].get("lag_seconds") if lag and "error" not in lag[0] else None
    if lag and "error" in lag[0]:
        out["replica_lag"] = lag[0]
    return out


def backup_watch_state(settings: Settings) -> str:
    """The name under which the backup watch keeps its state (open breaches, the last result)."""
    return f"backup-watch-{settings.app_name}"


def readiness_state(settings: Settings) -> str:
    """The name under which the readiness timer keeps its last result (the score it notified)."""
    return f"readiness-{settings.app_name}"
