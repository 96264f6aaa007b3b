"""Microsoft.DBforPostgreSQL/flexibleServers over real PostgreSQL clusters (api 2026-10-01, as
azure-mgmt-postgresqlflexibleservers 3.0.0 sends it): servers, replicas, promotion, backups, restores.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.arm import ArmApi, ArmError, not_found
from sandbox.context import SandboxContext, metric_json
from sandbox.postgres import Cluster, Layout, PgError, restore_into, utc

log = logging.getLogger("sandbox.flexible_servers")

KIND = "Microsoft.DBforPostgreSQL/flexibleServers"
RESOURCE_TYPE = KIND.lower()
SERVERS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers"
SERVER = SERVERS + "/{name}"
SCHEMA = Path(__file__).with_name("schema.sql")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_BACKUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
CATCH_UP_TIMEOUT = 120.0
METRICS = ("physical_replication_delay_in_seconds", "is_db_alive")


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
    login: str = "qlp_app"
    delay_samples: list[tuple[float, float]] = field(default_factory=list)
    behind_since: float | None = None


def _parse_time(value: Any) -> datetime.datetime:
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ArmError(
            400, "InvalidParameterValue", f"pointInTimeUTC '{value}' is not an ISO 8601 time."
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


class FlexibleServers:
    """The flexible-server resource provider and the clusters behind it."""

    def __init__(self, ctx: SandboxContext, arm: ArmApi, layout: Layout) -> None:
        self.ctx, self.arm, self.layout = ctx, arm, layout
        self.servers: dict[str, Server] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._first_backups: dict[str, asyncio.Task[None]] = {}
        self._lag_resume: asyncio.Task[None] | None = None

    # ---- lookup and rendering -------------------------------------------------------------------
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
        return (
            f"/subscriptions/{self.ctx.estate.subscription_id}/resourceGroups/{server.resource_group}"
            f"/providers/{KIND}/{server.name}"
        )

    def replicas_of(self, server: Server) -> list[Server]:
        return [s for s in self.servers.values() if s.source == server.name.lower()]

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
        if server.busy:
            return "Updating"
        if not server.cluster.running:
            return "Broken"
        try:
            status = await server.cluster.scalar("SELECT status FROM pg_stat_wal_receiver", connect_timeout=2)
        except Exception:
            return "Broken"
        return "Active" if status == "streaming" else ("Catchup" if status else "Reconfiguring")

    def state(self, server: Server) -> str:
        if server.state == "Ready" and (server.outage or not server.cluster.running):
            return "Inaccessible"
        return server.state

    def earliest_restore(self, server: Server) -> str | None:
        earliest = min((b.completed for b in server.backups), default=None)
        return earliest.isoformat() if earliest else None

    async def render(self, server: Server) -> dict[str, Any]:
        role = self.role(server)
        replica: dict[str, Any] = {"role": role, "capacity": 5}
        repl_state = await self.replication_state(server)
        if repl_state:
            replica["replicationState"] = repl_state
        props: dict[str, Any] = {
            "administratorLogin": server.login,
            "version": "15",
            "minorVersion": "15",
            "state": self.state(server),
            "fullyQualifiedDomainName": f"127.0.0.1:{server.cluster.port}",
            "storage": {"storageSizeGB": 32, "autoGrow": "Disabled", "tier": "P4"},
            "backup": {
                "backupRetentionDays": server.retention_days,
                "geoRedundantBackup": server.geo_redundant,
                "earliestRestoreDate": self.earliest_restore(server),
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
            "sku": {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"},
            "systemData": {"createdAt": server.created.isoformat()},
            "properties": props,
        }

    # ---- background work ------------------------------------------------------------------------
    def background(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _claim(self, server: Server, what: str) -> None:
        if server.busy:
            raise ArmError(409, "ServerBusy", f"Server '{server.name}' is busy ({server.busy}); retry later.")
        server.busy = what

    def lro(
        self,
        request: web.Request,
        server: Server,
        what: str,
        work: Callable[[], Awaitable[dict[str, Any] | None]],
    ) -> web.Response:
        """Claim the server and run ``work`` as a long-running operation (the claim ends with it)."""
        self._claim(server, what)

        async def run() -> dict[str, Any] | None:
            try:
                return await work()
            except PgError as exc:
                raise ArmError(500, "InternalServerError", f"{what} of {server.name} failed: {exc}") from exc
            finally:
                server.busy = None

        return self.arm.begin_lro(request, run)

    # ---- creation -------------------------------------------------------------------------------
    def new_server(self, name: str, region: str, **kw: Any) -> Server:
        cluster = Cluster(self.ctx, self.layout, name, self.ctx.free_port())
        server = Server(
            name=name,
            region=region,
            resource_group=self.ctx.estate.resource_group(region),
            cluster=cluster,
            login=self.ctx.estate.database_user,
            **kw,
        )
        self.servers[name.lower()] = server
        return server

    def ready(self, server: Server) -> None:
        server.state, server.provisioning, server.busy = "Ready", "Succeeded", None

    async def create_primary(self, name: str, region: str, password: str) -> Server:
        server = self.new_server(name, region, busy="creating")
        c, db, user = server.cluster, self.ctx.estate.database_name, self.ctx.estate.database_user
        await c.initdb()
        log.info("initdb %s done", name)
        await c.start()
        await c.query(f"CREATE ROLE {user} LOGIN PASSWORD {_literal(password)}")
        await c.query(f"CREATE DATABASE {db} OWNER {user}")
        await c.query(f"SET ROLE {user}; " + SCHEMA.read_text(), dbname=db)
        self.ready(server)
        return server

    async def create_replica(self, name: str, region: str, source: Server, tags: dict[str, str]) -> Server:
        server = self.new_server(
            name,
            region,
            busy="creating",
            source=source.name.lower(),
            tags=tags,
            create_mode="Replica",
            geo_redundant="Disabled",
        )
        try:
            server.cluster.prepare_dirs()
            await source.cluster.base_backup(server.cluster.data_dir)
            server.cluster.write_config()
            server.cluster.set_standby_of(source.cluster)
            await server.cluster.start()
        except BaseException:
            await self._discard(server)
            raise
        self.ready(server)
        return server

    async def restore(
        self,
        name: str,
        region: str,
        source: Server,
        target: datetime.datetime | None,
        tags: dict[str, str],
        mode: str,
    ) -> Server:
        """A new server from the source's base backup + archived WAL up to ``target`` (None: latest)."""
        point = target or utc()
        backup = max(
            (b for b in source.backups if b.completed <= point), key=lambda b: b.completed, default=None
        )
        if backup is None:
            raise ArmError(
                400, "InvalidParameterValue", f"No backup of '{source.name}' completed before {point}."
            )
        extra = {"pointInTimeUTC": point.isoformat(), "sourceServerResourceId": self.resource_id(source)}
        server = self.new_server(
            name, region, busy="creating", tags=tags, create_mode=mode, restored_from=extra
        )
        try:
            if source.cluster.running and not source.source:
                await source.cluster.switch_and_archive()
            await restore_into(server.cluster, backup.path, source.cluster.archive_dir, target)
        except BaseException:
            await self._discard(server)
            raise
        self.ready(server)
        self.start_first_backup(server)
        return server

    async def _discard(self, server: Server) -> None:
        await server.cluster.stop("immediate")
        server.cluster.remove()
        self.servers.pop(server.name.lower(), None)

    # ---- backups --------------------------------------------------------------------------------
    async def take_backup(self, server: Server, name: str | None = None) -> Backup:
        stamp = utc().strftime("%Y%m%dT%H%M%S%f")
        name = name or f"backup_{stamp}"
        path = self.layout.backups / server.name / name
        await server.cluster.base_backup(path)
        backup = Backup(name=name, completed=utc(), path=path, on_demand=not name.startswith("backup_"))
        server.backups.append(backup)
        automatic = [b for b in server.backups if not b.on_demand]
        for old in automatic[: max(0, len(automatic) - self.ctx.settings.backup_keep)]:
            server.backups.remove(old)
            await asyncio.to_thread(_rmtree, old.path)
        return backup

    async def backup_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.settings.backup_interval)
            for server in list(self.servers.values()):
                if server.source or not server.cluster.running or server.busy:
                    continue
                try:
                    await self.take_backup(server)
                except PgError as exc:
                    log.warning("scheduled backup of %s failed: %s", server.name, exc)

    # ---- promotion ------------------------------------------------------------------------------
    async def wait_caught_up(self, replica: Server, lsn: str) -> None:
        deadline = time.monotonic() + CATCH_UP_TIMEOUT
        while not await replica.cluster.caught_up_to(lsn):
            if time.monotonic() > deadline:
                raise ArmError(
                    409,
                    "ReplicaNotCaughtUp",
                    f"'{replica.name}' did not replay up to {lsn} within {CATCH_UP_TIMEOUT:.0f}s.",
                )
            await asyncio.sleep(0.1)

    async def promote(self, replica: Server, mode: str, planned: bool) -> None:
        source = self.get(replica.source or "")
        if mode == "switchover":
            assert source is not None
            await self.switchover(replica, source)
        else:
            if planned and source is not None:
                await self.wait_caught_up(replica, await source.cluster.current_lsn())
            await replica.cluster.promote()
            replica.cluster.clear_standby()
            replica.source = None
        self.start_first_backup(replica)

    def start_first_backup(self, server: Server) -> None:
        """A new primary (promoted or restored) gets a base backup at once, in the background: as in
        Azure, the operation completes when the server is ready and its restore window starts with that
        first backup. Deleting the server stops its cluster first, which ends a first backup still running."""
        task = asyncio.ensure_future(self._first_backup(server))
        self._first_backups[server.name.lower()] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _first_backup(self, server: Server) -> None:
        try:
            await self.take_backup(server)
        except (PgError, OSError) as exc:
            log.warning("first backup of %s failed: %s", server.name, exc)
        finally:
            if self._first_backups.get(server.name.lower()) is asyncio.current_task():
                del self._first_backups[server.name.lower()]

    async def settle_first_backup(self, server: Server) -> None:
        """Wait for a first backup still running; with the cluster stopped it fails at once (logged).
        Not cancelled: pg_basebackup's WAL-streaming child would outlive its killed parent."""
        task = self._first_backups.pop(server.name.lower(), None)
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), CATCH_UP_TIMEOUT)

    async def switchover(self, replica: Server, primary: Server) -> None:
        """Planned switchover: the primary stops cleanly, the replica replays all of it and is promoted,
        then the old primary follows the new one as its replica."""
        await primary.cluster.stop("fast")
        await self.wait_caught_up(replica, await primary.cluster.checkpoint_lsn())
        await replica.cluster.promote()
        replica.cluster.clear_standby()
        replica.source = None
        for server in [primary, *self.replicas_of(primary)]:
            if server is replica:
                continue
            await server.cluster.stop("fast")
            server.cluster.set_standby_of(replica.cluster)
            server.source = replica.name.lower()
            await server.cluster.start()
            # A replica has no backups (its WAL is not archived while it follows): its restore window
            # starts again with the first backup after it is next promoted.
            for backup in server.backups:
                await asyncio.to_thread(_rmtree, backup.path)
            server.backups.clear()

    # ---- ARM handlers ---------------------------------------------------------------------------
    def routes(self) -> None:
        add = self.arm.add_route
        add("GET", SERVERS, self.h_list)
        add(
            "GET", "/subscriptions/{sub}/providers/Microsoft.DBforPostgreSQL/flexibleServers", self.h_list_all
        )
        add("GET", SERVER, self.h_get)
        add("PUT", SERVER, self.h_put)
        add("PATCH", SERVER, self.h_patch)
        add("DELETE", SERVER, self.h_delete)
        add("POST", SERVER + "/start", self.h_start)
        add("POST", SERVER + "/stop", self.h_stop)
        add("POST", SERVER + "/restart", self.h_restart)
        add("GET", SERVER + "/replicas", self.h_replicas)
        add("GET", SERVER + "/backups", self.h_backups)
        add("GET", SERVER + "/backups/{backup}", self.h_backup_get)
        add("PUT", SERVER + "/backups/{backup}", self.h_backup_put)
        add("DELETE", SERVER + "/backups/{backup}", self.h_backup_delete)

    async def h_list(self, request: web.Request, p: dict[str, str]) -> web.Response:
        servers = [s for s in self.servers.values() if s.resource_group.lower() == p["rg"].lower()]
        return self.arm.page([await self.render(s) for s in servers])

    async def h_list_all(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return self.arm.page([await self.render(s) for s in self.servers.values()])

    async def h_get(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return self.arm.json(await self.render(self.find(p["rg"], p["name"])))

    async def h_replicas(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.find(p["rg"], p["name"])
        return self.arm.page([await self.render(s) for s in self.replicas_of(server)])

    async def h_put(self, request: web.Request, p: dict[str, str]) -> web.Response:
        body = await self.arm.read_json(request)
        props = body.get("properties") or {}
        mode = str(props.get("createMode") or "Default")
        tags = {str(k): str(v) for k, v in (body.get("tags") or {}).items()}
        existing = self.get(p["name"])
        if existing is not None:
            return self._put_existing(request, p, existing, mode, tags)
        if not _NAME.match(p["name"]):
            raise ArmError(
                400,
                "InvalidServerName",
                f"'{p['name']}' is not a valid server name (3-63 lowercase letters, digits and hyphens).",
            )
        region = str(body.get("location") or "").replace(" ", "").lower()
        if region not in self.ctx.estate.regions:
            raise ArmError(
                400,
                "LocationNotAvailableForResourceType",
                f"Location '{body.get('location')}' is not served; use one of {self.ctx.estate.regions}.",
            )
        work = self._creation(p["name"], region, mode, props, tags)

        async def create() -> dict[str, Any]:
            return await self.render(await work())

        return self.arm.begin_lro(request, create)

    def _put_existing(
        self, request: web.Request, p: dict[str, str], server: Server, mode: str, tags: dict[str, str]
    ) -> web.Response:
        if server.resource_group.lower() != p["rg"].lower() or mode.lower() not in ("default", "update"):
            raise ArmError(409, "ServerAlreadyExists", f"A server named '{server.name}' already exists.")

        async def update() -> dict[str, Any]:
            server.tags = tags
            return await self.render(server)

        return self.lro(request, server, "updating", update)

    def _creation(
        self, name: str, region: str, mode: str, props: dict[str, Any], tags: dict[str, str]
    ) -> Callable[[], Awaitable[Server]]:
        """Validate a create request; returns the work that creates the server."""
        lowered = mode.lower()
        if lowered in ("replica", "pointintimerestore", "georestore"):
            source_id = props.get("sourceServerResourceId")
            if not source_id:
                raise ArmError(
                    400, "InvalidParameterValue", f"createMode {mode} needs sourceServerResourceId."
                )
            source = self.by_id(str(source_id))
        if lowered == "replica":
            if source.source or not source.cluster.running:
                raise ArmError(
                    400, "InvalidSourceServer", f"'{source.name}' must be a running primary to get a replica."
                )
            return lambda: self.create_replica(name, region, source, tags)
        if lowered == "pointintimerestore":
            if "pointInTimeUTC" not in props:
                raise ArmError(
                    400, "InvalidParameterValue", "createMode PointInTimeRestore needs pointInTimeUTC."
                )
            point = self._check_restore_point(source, _parse_time(props["pointInTimeUTC"]))
            return lambda: self.restore(name, region, source, point, tags, "PointInTimeRestore")
        if lowered == "georestore":
            if not source.backups:
                raise ArmError(400, "InvalidSourceServer", f"'{source.name}' has no backups to restore from.")
            return lambda: self.restore(name, region, source, None, tags, "GeoRestore")
        raise ArmError(
            400,
            "UnsupportedCreateMode",
            f"createMode '{mode}' is not supported by the sandbox for new servers "
            "(use Replica, PointInTimeRestore or GeoRestore).",
        )

    def _check_restore_point(self, source: Server, point: datetime.datetime) -> datetime.datetime:
        earliest = min((b.completed for b in source.backups), default=None)
        if earliest is None or point < earliest:
            raise ArmError(
                400,
                "InvalidParameterValue",
                f"pointInTimeUTC {point.isoformat()} is before the earliest restore point "
                f"{earliest.isoformat() if earliest else '(no backups)'} of '{source.name}'.",
            )
        if point > utc():
            raise ArmError(
                400, "InvalidParameterValue", f"pointInTimeUTC {point.isoformat()} is in the future."
            )
        return point

    async def h_patch(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.find(p["rg"], p["name"])
        body = await self.arm.read_json(request)
        props = body.get("properties") or {}
        replica = props.get("replica") or {}
        promote_mode = str(replica.get("promoteMode") or "").lower()
        if not promote_mode and str(props.get("replicationRole") or "").lower() == "none" and server.source:
            promote_mode = "standalone"
        option = str(replica.get("promoteOption") or "planned").lower()
        if promote_mode and promote_mode not in ("standalone", "switchover"):
            raise ArmError(
                400,
                "InvalidParameterValue",
                f"promoteMode '{replica.get('promoteMode')}' is not Standalone or Switchover.",
            )
        if option not in ("planned", "forced"):
            raise ArmError(
                400,
                "InvalidParameterValue",
                f"promoteOption '{replica.get('promoteOption')}' is not Planned or Forced.",
            )
        if promote_mode:
            self._check_promotable(server, promote_mode, option)
        tags = body.get("tags")
        retention = (props.get("backup") or {}).get("backupRetentionDays")

        async def update() -> dict[str, Any]:
            if promote_mode:
                await self.promote(server, promote_mode, option == "planned")
            if isinstance(tags, dict):
                server.tags = {str(k): str(v) for k, v in tags.items()}
            if retention is not None:
                server.retention_days = int(retention)
            return await self.render(server)

        return self.lro(request, server, "promoting" if promote_mode else "updating", update)

    def _check_promotable(self, server: Server, mode: str, option: str) -> None:
        if not server.source:
            raise ArmError(
                400, "ServerIsNotReplica", f"'{server.name}' is not a replica; nothing to promote."
            )
        if not server.cluster.running:
            raise ArmError(409, "ServerUnavailable", f"Replica '{server.name}' is not running.")
        source = self.get(server.source)
        source_up = source is not None and source.cluster.running
        if not source_up and (mode == "switchover" or option == "planned"):
            raise ArmError(
                409,
                "SourceServerUnavailable",
                f"The primary of '{server.name}' is unreachable: only a forced standalone promote "
                "is possible.",
            )

    async def h_delete(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.get(p["name"])
        if server is None or server.resource_group.lower() != p["rg"].lower():
            return web.Response(status=204)

        async def delete() -> None:
            server.state, server.provisioning = "Dropping", "Deleting"
            for replica in self.replicas_of(server):  # as Azure: replicas become standalone servers
                with contextlib.suppress(PgError):
                    await replica.cluster.promote()
                replica.cluster.clear_standby()
                replica.source = None
            await server.cluster.stop("immediate")
            await self.settle_first_backup(server)
            await asyncio.to_thread(server.cluster.remove)
            await asyncio.to_thread(_rmtree, self.layout.backups / server.name)
            self.servers.pop(server.name.lower(), None)
            return None

        return self.lro(request, server, "deleting", delete)

    async def h_start(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.find(p["rg"], p["name"])
        if server.outage:
            raise ArmError(409, "RegionUnavailable", f"Region {server.region} of '{server.name}' is down.")

        async def start() -> None:
            server.state = "Starting"
            await server.cluster.start()
            server.state, server.api_stopped = "Ready", False

        return self.lro(request, server, "starting", start)

    async def h_stop(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.find(p["rg"], p["name"])

        async def stop() -> None:
            server.state, server.api_stopped = "Stopping", True
            await server.cluster.stop("fast")
            server.state = "Stopped"

        return self.lro(request, server, "stopping", stop)

    async def h_restart(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.find(p["rg"], p["name"])
        if server.outage or server.state == "Stopped":
            raise ArmError(409, "ServerUnavailable", f"'{server.name}' is not running; start it instead.")

        async def restart() -> None:
            server.state = "Restarting"
            await server.cluster.stop("fast")
            await server.cluster.start()
            server.state = "Ready"

        return self.lro(request, server, "restarting", restart)

    async def h_backups(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.find(p["rg"], p["name"])
        sid = self.resource_id(server)
        return self.arm.page([b.to_json(sid) for b in sorted(server.backups, key=lambda b: b.completed)])

    def _backup(self, server: Server, name: str) -> Backup:
        for backup in server.backups:
            if backup.name == name:
                return backup
        raise ArmError(404, "ResourceNotFound", f"Backup '{name}' of server '{server.name}' was not found.")

    async def h_backup_get(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.find(p["rg"], p["name"])
        return self.arm.json(self._backup(server, p["backup"]).to_json(self.resource_id(server)))

    async def h_backup_put(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.find(p["rg"], p["name"])
        name = p["backup"]
        if not _BACKUP_NAME.match(name) or name.startswith("backup_"):
            raise ArmError(400, "InvalidBackupName", f"'{name}' is not a valid on-demand backup name.")
        if server.source or not server.cluster.running:
            raise ArmError(409, "BackupNotAllowed", f"'{server.name}' must be a running primary to back up.")
        if any(b.name == name for b in server.backups):
            raise ArmError(409, "BackupAlreadyExists", f"Backup '{name}' already exists.")

        async def backup() -> dict[str, Any]:
            return (await self.take_backup(server, name)).to_json(self.resource_id(server))

        return self.lro(request, server, "backing up", backup)

    async def h_backup_delete(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.find(p["rg"], p["name"])
        backup = self._backup(server, p["backup"])

        async def delete() -> None:
            server.backups.remove(backup)
            await asyncio.to_thread(_rmtree, backup.path)

        return self.lro(request, server, "deleting backup", delete)

    # ---- faults ---------------------------------------------------------------------------------
    async def region_outage(self, region: str = "", **_: Any) -> dict[str, Any]:
        stopped = []
        for server in self.servers.values():
            if server.region == region:
                server.outage = True
                if server.cluster.running:
                    await server.cluster.stop("immediate")
                    stopped.append(server.name)
        return {"stopped_servers": stopped}

    async def heal(self, region: str | None = None, **_: Any) -> dict[str, Any]:
        started = []
        for server in self.servers.values():
            if server.outage and region in (None, server.region):
                server.outage = False
                if not server.api_stopped and not server.cluster.running:
                    await server.cluster.start()
                    started.append(server.name)
        return {"started_servers": started}

    def current_primary(self, name: str | None) -> Server:
        candidates = (
            [self.get(name)] if name else [self.get(self.ctx.estate.primary_server), *self.servers.values()]
        )
        for server in candidates:
            if server is not None and not server.source and server.cluster.running:
                return server
        raise ValueError("no running primary server to corrupt")

    async def corrupt_db(self, server: str | None = None, **_: Any) -> dict[str, Any]:
        """Destructive SQL on the primary: deletes 90% of the intents; returns when it ran."""
        target = self.current_primary(server)
        db = self.ctx.estate.database_name
        rows = await target.cluster.query(
            "WITH gone AS (DELETE FROM intents WHERE id % 10 <> 0 RETURNING 1) "
            "SELECT now(), (SELECT count(*) FROM gone)",
            dbname=db,
        )
        ran_at, deleted = rows[0]
        log.warning("corrupt-db: deleted %s intents on %s at %s", deleted, target.name, ran_at.isoformat())
        return {"ran_at": ran_at.isoformat(), "server": target.name, "rows_deleted": deleted}

    def _running_replicas(self) -> list[Server]:
        return [s for s in self.servers.values() if s.source and s.cluster.running]

    async def replication_lag(self, seconds: float | str = 60, **_: Any) -> dict[str, Any]:
        duration = float(seconds)
        if duration <= 0:
            raise ValueError("replication-lag seconds must be positive")
        paused = []
        for server in self._running_replicas():
            await server.cluster.query("SELECT pg_wal_replay_pause()")
            paused.append(server.name)
        if self._lag_resume:
            self._lag_resume.cancel()
        self._lag_resume = asyncio.ensure_future(self._resume_after(duration))
        until = utc(time.time() + duration).isoformat()
        return {"paused_replicas": paused, "resumes_at": until}

    async def _resume_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.resume_replay()

    async def resume_replay(self) -> list[str]:
        resumed = []
        for server in self._running_replicas():
            with contextlib.suppress(Exception):
                await server.cluster.query("SELECT pg_wal_replay_resume()")
                resumed.append(server.name)
        return resumed

    async def clear(self, **_: Any) -> dict[str, Any]:
        if self._lag_resume:
            self._lag_resume.cancel()
            self._lag_resume = None
        healed = await self.heal(None)
        return {"resumed_replicas": await self.resume_replay(), **healed}

    # ---- metrics --------------------------------------------------------------------------------
    async def replication_delay(self, server: Server) -> float:
        """Seconds the replica has been behind: received WAL not yet replayed since first seen so
        (sampled every second), 0 when it has replayed everything it received."""
        if not server.source or not server.cluster.running:
            server.behind_since = None
            return 0.0
        behind = await server.cluster.scalar(
            "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()", connect_timeout=2
        )
        if not behind:
            server.behind_since = None
            return 0.0
        now = time.time()
        if server.behind_since is None:
            server.behind_since = now
        return round(now - server.behind_since, 3)

    async def metrics(
        self,
        resource_id: str,
        names: list[str],
        timespan: str | None,
        interval: str | None,
        aggregation: str | None,
    ) -> list[dict[str, Any]]:
        server = self.by_id(resource_id)
        unknown = [n for n in names if n.lower() not in METRICS]
        if unknown:
            raise ArmError(
                400,
                "BadRequest",
                f"Unknown metric(s) {', '.join(unknown)}; this sandbox serves "
                f"{', '.join(METRICS)} for flexible servers.",
            )
        out = []
        for name in names:
            if name.lower() == "physical_replication_delay_in_seconds":
                server.delay_samples.append((time.time(), await self.replication_delay(server)))
                del server.delay_samples[:-720]
                out.append(
                    metric_json(resource_id, name, "Seconds", server.delay_samples, timespan, interval)
                )
            elif name.lower() == "is_db_alive":
                out.append(
                    metric_json(
                        resource_id,
                        name,
                        "Count",
                        [(time.time(), 1.0 if server.cluster.running else 0.0)],
                        timespan,
                        interval,
                    )
                )
        return out

    async def sample_loop(self) -> None:
        while True:
            await asyncio.sleep(1)
            for server in self._running_replicas():
                with contextlib.suppress(Exception):
                    server.delay_samples.append((time.time(), await self.replication_delay(server)))
                    del server.delay_samples[:-720]

    def summary(self) -> dict[str, str]:
        """One line per server for ``python -m sandbox status``."""
        return {
            s.name: f"{self.state(s)} {self.role(s)} 127.0.0.1:{s.cluster.port} backups={len(s.backups)}"
            for s in self.servers.values()
        }

    # ---- lifecycle ------------------------------------------------------------------------------
    async def close(self) -> None:
        for task in list(self._tasks) + ([self._lag_resume] if self._lag_resume else []):
            task.cancel()
        await asyncio.gather(*(s.cluster.stop("fast") for s in self.servers.values()), return_exceptions=True)
        self.layout.close()


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


async def setup(ctx: SandboxContext, arm: ArmApi) -> FlexibleServers:
    """Create the estate's primary (with schema), its streaming replica and a first base backup."""
    estate = ctx.estate
    fleet = FlexibleServers(ctx, arm, await Layout.create(ctx.state_dir))
    fleet.routes()
    password = secrets.token_urlsafe(18)
    started = time.monotonic()
    try:
        primary = await fleet.create_primary(estate.primary_server, estate.primary_region, password)
        log.info("primary %s ready in %.1fs", primary.name, time.monotonic() - started)
        await asyncio.gather(
            fleet.create_replica(estate.replica_server, estate.secondary_region, primary, {}),
            fleet.take_backup(primary),
        )
        log.info("replica and first base backup ready in %.1fs", time.monotonic() - started)
    except BaseException:
        await fleet.close()
        raise
    ctx.endpoints["database_url"] = (
        f"postgresql://{estate.database_user}:{password}@127.0.0.1:{primary.cluster.port}/{estate.database_name}"
    )
    ctx.endpoints["database_user"] = estate.database_user
    ctx.endpoints["server_ports"] = {s.name: s.cluster.port for s in fleet.servers.values()}
    ctx.register_metric_source(RESOURCE_TYPE, fleet.metrics)
    ctx.on_fault("region-outage", fleet.region_outage)
    ctx.on_fault("heal", fleet.heal)
    ctx.on_fault("corrupt-db", fleet.corrupt_db)
    ctx.on_fault("replication-lag", fleet.replication_lag)
    ctx.on_fault("clear", fleet.clear)
    fleet.background(fleet.backup_loop())
    fleet.background(fleet.sample_loop())
    ctx.components["flexible_servers"] = fleet
    return fleet
