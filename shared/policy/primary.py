"""Which server is the primary now: decided from observed candidates, never taken from the settings.

The candidates are observed by shared.estate (the configured primary and replica, a server Continuity
created that the replica follows after a failback, a tagged server the database secret points at after a
restore with switch). Ambiguity is a refusal with the reason, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.models import Decision

WRITABLE_ROLES = frozenset({"primary", "standalone"})
# Azure shows a primary as Updating while a replica of it is created or deleted and while it is promoted
# (concepts-read-replicas): it still serves reads and writes; management operations wait.
TRANSITIONAL_STATES = frozenset({"updating"})


@dataclass(frozen=True)
class ServerView:
    """One candidate server as observed (``error`` when it could not be read)."""

    name: str
    resource_group: str = ""
    exists: bool = True
    state: str = ""
    role: str = ""  # primary (has replicas) | replica | standalone
    source_server: str = ""  # the server a replica follows
    fqdn: str = ""
    error: str = ""
    aliases: tuple[str, ...] = ()  # other addresses that reach it: its virtual endpoint writer

    def answers_at(self, host: str) -> bool:
        """The database secret's host reaches this server (its own address or its writer endpoint)."""
        return same_host(self.fqdn, host) or any(same_host(a, host) for a in self.aliases)

    @property
    def transitional(self) -> bool:
        """A would-be primary in a transitional state (Updating): observe it again shortly."""
        readable = self.exists and not self.error
        return readable and self.state.lower() in TRANSITIONAL_STATES and self.role in WRITABLE_ROLES

    @property
    def writable(self) -> bool:
        """Ready and not following anyone: it accepts writes."""
        readable = self.exists and not self.error
        return readable and self.state.lower() == "ready" and self.role in WRITABLE_ROLES

    def describe(self) -> str:
        if self.error:
            return f"{self.name} could not be read ({self.error[:120]})"
        if not self.exists:
            return f"{self.name} does not exist"
        state = self.state.lower() or "in an unknown state"
        if self.role == "replica":
            return f"{self.name} is a replica of {self.source_server or 'an unknown server'}" + (
                "" if state == "ready" else f", {state}"
            )
        if state != "ready":
            return f"{self.name} is {state}"
        return f"{self.name} is a writable {self.role or 'server'}"


@dataclass(frozen=True)
class Primary:
    """The primary found: the server, its resource group, and its replica (if one follows it)."""

    server: str
    resource_group: str
    replica: str = ""
    replica_resource_group: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "server": self.server,
            "resource_group": self.resource_group,
            "replica": self.replica,
            "replica_resource_group": self.replica_resource_group,
        }

    def address(self, **payload: Any) -> dict[str, Any]:
        """An activity input that addresses the primary: ``server`` and its ``resource_group``."""
        return {"server": self.server, "resource_group": self.resource_group, **payload}


def same_host(a: str, b: str) -> bool:
    """Two database addresses are the same host (case aside; the default port implied or not)."""

    def norm(host: str) -> str:
        host = host.strip().lower()
        return host[: -len(":5432")] if host.endswith(":5432") else host

    return bool(a and b) and norm(a) == norm(b)


def _secret_note(servers: Sequence[ServerView], secret_host: str | None) -> str:
    if secret_host is None:
        return "the database secret was not read"
    named = next((s.name for s in servers if s.answers_at(secret_host)), "")
    return f"the database secret points at {named or secret_host}"


def current_primary(servers: Sequence[ServerView], *, secret_host: str | None = None) -> Decision[Primary]:
    """``primary`` (the Primary as the decision's value) when exactly one observed candidate is writable
    and the database secret points at it (its address or its writer endpoint; when read); its replica is
    the candidate that follows it. ``wait`` (with the would-be Primary) when none is writable but one is
    Updating: observe again, it is not "no primary". Two writable servers, none, or a secret pointing
    elsewhere: ``refuse`` with the reason.

    ``secret_host`` is where the database secret points (None: not read; then roles alone decide).
    """
    writable = [s for s in servers if s.writable]
    note = _secret_note(servers, secret_host)
    if len(writable) > 1:
        names_ = " and ".join(s.name for s in writable)
        return Decision(
            "refuse",
            f"refusing to choose a primary: {names_} are {'both' if len(writable) == 2 else 'all'} writable "
            f"({note}); fence the one the app must not use, then run again",
        )
    settling = [s for s in servers if s.transitional]
    if not writable and len(settling) == 1:
        busy = settling[0]
        return Decision(
            "wait",
            f"{busy.name} is {busy.state} (a replica being created or deleted, or a promotion): it still "
            f"serves the app; observing it again before deciding ({note})",
            value=_primary(busy, servers),
        )
    if not writable:
        seen = "; ".join(s.describe() for s in servers) or "no server observed"
        return Decision("refuse", f"no primary found: {seen} ({note})")
    primary = writable[0]
    if secret_host is not None and not primary.answers_at(secret_host):
        return Decision(
            "refuse",
            f"refusing to choose a primary: {primary.name} is the only writable server but {note}, not at "
            "it (a switch in progress, or a server outside the candidates)",
        )
    others = "; ".join([s.describe() for s in servers if s is not primary] + [note])
    return Decision("primary", f"{primary.name} is the primary ({others})", value=_primary(primary, servers))


def _primary(primary: ServerView, servers: Sequence[ServerView]) -> Primary:
    replica = next((s for s in servers if s.role == "replica" and s.source_server == primary.name), None)
    return Primary(
        server=primary.name,
        resource_group=primary.resource_group,
        replica=replica.name if replica else "",
        replica_resource_group=replica.resource_group if replica else "",
    )
