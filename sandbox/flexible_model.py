"""The flexible servers' records: each server, its backups, its role and state, and its ARM view."""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.arm import ArmError, not_found
from sandbox.context import SandboxContext
from sandbox.flexible_endpoints import VirtualEndpoints
from sandbox.postgres import Cluster, Layout, utc

KIND = "Microsoft.DBforPostgreSQL/flexibleServers"
RESOURCE_TYPE = KIND.lower()
DEFAULT_SKU = {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"}
DEFAULT_STORAGE_GB = 32
STORAGE_TIERS = {32: "P4", 64: "P6", 128: "P10", 256: "P15", 512: "P20", 1024: "P30"}


@dataclass
class Backup:
    name: str
    completed: datetime.datetime
    path: Path
    on_demand: bool = False

    def to_json(self, server_id: str) -> dict[str, Any]:
        return {
            "id": f"{server_id}/backups/{self.name}",
            "name": self.name,
            "type": f"{KIND}/backups",
            "properties": {
                "backupType": "Customer On-Demand" if self.on_demand else "Full",
                "completedTime": self.completed.isoformat(),
                "source": "On-Demand" if self.on_demand else "Automatic",
            },
        }


@dataclass
class Server:
    name: str
    region: str
    resource_group: str
    cluster: Cluster
    tags: dict[str, str] = field(default_factory=dict)
    created: datetime.datetime = field(default_factory=utc)
    source: str | None = None  # the server this one streams from (a replica)
    state: str = "Provisioning"
    provisioning: str = "Creating"
    create_mode: str = "Create"
    restored_from: dict[str, Any] = field(default_factory=dict)
    api_stopped: bool = False  # stopped through the API: stays stopped when its region heals
    outage: bool = False
    busy: str | None = None
    backups: list[Backup] = field(default_factory=list)
    retention_days: int = 7
    geo_redundant: str = "Enabled"
    login: str = "qlpadmin"
    delay_samples: list[tuple[float, float]] = field(default_factory=list)
    replica_since: float = field(default_factory=time.time)  # when it last became a replica
    updating: int = 0  # operations that keep it Updating (a replica create/delete, a promote)
    sku: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SKU))
    storage_gb: int = DEFAULT_STORAGE_GB

    def backup(self, name: str) -> Backup:
        for backup in self.backups:
            if backup.name == name:
                return backup
        raise ArmError(404, "ResourceNotFound", f"Backup '{name}' of server '{self.name}' was not found.")

    def earliest_backup(self) -> datetime.datetime | None:
        return min((b.completed for b in self.backups), default=None)


class Fleet:
    """The estate's flexible servers (by lower-case name): lookup, roles, states and the ARM view."""

    def __init__(self, ctx: SandboxContext, layout: Layout) -> None:
        self.ctx, self.layout = ctx, layout
        self.servers: dict[str, Server] = {}
        self.endpoints = VirtualEndpoints(self)

    # ---- lookup ---------------------------------------------------------------------------------
    def get(self, name: str) -> Server | None:
        return self.servers.get(name.lower())

    def find(self, rg: str, name: str) -> Server:
        server = self.get(name)
        if server is None or server.resource_group.lower() != rg.lower():
            raise not_found(KIND, name, rg)
        return server

    def by_id(self, resource_id: str) -> Server:
        parts = resource_id.strip("/").split("/")
        lowered = [p.lower() for p in parts]
        try:
            rg = parts[lowered.index("resourcegroups") + 1]
            name = parts[lowered.index("flexibleservers") + 1]
        except (ValueError, IndexError) as exc:
            raise ArmError(
                400, "InvalidParameterValue", f"'{resource_id}' is not a flexible server id."
            ) from exc
        return self.find(rg, name)

    def resource_id(self, server: Server) -> str:
        return self.ctx.estate.resource_id(server.resource_group, KIND, server.name)

    def replicas_of(self, server: Server) -> list[Server]:
        return [s for s in self.servers.values() if s.source == server.name.lower()]

    def running_replicas(self) -> list[Server]:
        return [s for s in self.servers.values() if s.source and s.cluster.running]

    # ---- membership -----------------------------------------------------------------------------
    def add(self, name: str, region: str, **kw: Any) -> Server:
        """A new server record with its (not yet created) cluster on a free port."""
        cluster = Cluster(self.ctx, self.layout, name, self.ctx.free_port())
        server = Server(
            name=name,
            region=region,
            resource_group=self.ctx.estate.resource_group(region),
            cluster=cluster,
            login=self.ctx.estate.database_admin,
            **kw,
        )
        self.servers[name.lower()] = server
        return server

    def remove(self, server: Server) -> None:
        self.servers.pop(server.name.lower(), None)

    # ---- roles and states -----------------------------------------------------------------------
    def role(self, server: Server) -> str:
        if server.source:
            source = self.get(server.source)
            return "GeoAsyncReplica" if source is None or source.region != server.region else "AsyncReplica"
        return "Primary" if self.replicas_of(server) else "None"

    async def replication_state(self, server: Server) -> str | None:
        if not server.source:
            return None
        if server.busy in ("creating",):
            return "Provisioning"
        if server.busy or server.updating:
            return "Updating"
        if not server.cluster.running:
            # Azure: a replica that was connected and is then stopped keeps reporting Active
            return "Active" if server.api_stopped and not server.outage else "Broken"
        try:
            status = await server.cluster.scalar("SELECT status FROM pg_stat_wal_receiver", connect_timeout=2)
        except Exception:
            return "Broken"
        return "Active" if status == "streaming" else ("Catchup" if status else "Reconfiguring")

    def state(self, server: Server) -> str:
        if server.state == "Ready" and (server.outage or not server.cluster.running):
            return "Inaccessible"
        if server.state == "Ready" and server.updating:
            return "Updating"  # a replica create/delete or a promote involves it (Azure's "updating state")
        return server.state

    @contextlib.contextmanager
    def updating(self, *servers: Server | None) -> Iterator[None]:
        """Show ``servers`` as Updating while the block runs (Azure: the primary is Updating during a
        replica create, delete and promote; management operations on it are refused meanwhile)."""
        involved = [s for s in servers if s is not None]
        for server in involved:
            server.updating += 1
        try:
            yield
        finally:
            for server in involved:
                server.updating -= 1

    # ---- views ----------------------------------------------------------------------------------
    async def render(self, server: Server) -> dict[str, Any]:
        role = self.role(server)
        replica: dict[str, Any] = {"role": role, "capacity": 5}
        repl_state = await self.replication_state(server)
        if repl_state:
            replica["replicationState"] = repl_state
        earliest = server.earliest_backup()
        props: dict[str, Any] = {
            "administratorLogin": server.login,
            "version": "15",
            "minorVersion": "15",
            "state": self.state(server),
            "fullyQualifiedDomainName": f"127.0.0.1:{server.cluster.port}",
            "storage": {
                "storageSizeGB": server.storage_gb,
                "autoGrow": "Disabled",
                "tier": STORAGE_TIERS.get(server.storage_gb, "P4"),
            },
            "backup": {
                "backupRetentionDays": server.retention_days,
                "geoRedundantBackup": server.geo_redundant,
                "earliestRestoreDate": earliest.isoformat() if earliest else None,
            },
            "network": {"publicNetworkAccess": "Enabled"},
            "highAvailability": {"mode": "Disabled", "state": "NotEnabled"},
            "replicationRole": role,
            "replicaCapacity": 5,
            "replica": replica,
            "availabilityZone": "1",
            "createMode": server.create_mode,
            "provisioningState": server.provisioning,
        }
        if server.source and (source := self.get(server.source)):
            props["sourceServerResourceId"] = self.resource_id(source)
        props.update(server.restored_from)
        return {
            "id": self.resource_id(server),
            "name": server.name,
            "type": KIND,
            "location": server.region,
            "tags": server.tags,
            "sku": dict(server.sku),
            "systemData": {"createdAt": server.created.isoformat()},
            "properties": props,
        }

    def backups_json(self, server: Server) -> list[dict[str, Any]]:
        sid = self.resource_id(server)
        return [b.to_json(sid) for b in sorted(server.backups, key=lambda b: b.completed)]

    def summary(self) -> dict[str, str]:
        """One line per server for ``python -m sandbox status``."""
        return {
            s.name: f"{self.state(s)} {self.role(s)} 127.0.0.1:{s.cluster.port} backups={len(s.backups)}"
            for s in self.servers.values()
        }
