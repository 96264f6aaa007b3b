"""What the flexible servers do: create (primary, replica, restores), promote and switch over, start, stop,
restart, delete, back up; each long-running one claims its server until it ends."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sandbox.arm import ArmError, Result
from sandbox.flexible_default import plan_default
from sandbox.flexible_model import Backup, Fleet, Server
from sandbox.postgres import PgError, restore_into, utc

log = logging.getLogger("sandbox.flexible_servers")

SCHEMA = Path(__file__).with_name("schema.sql")
CATCH_UP_TIMEOUT = 120.0


class Operations:
    """The long-running work on the fleet's servers and the background tasks it leaves running."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet, self.ctx, self.layout = fleet, fleet.ctx, fleet.layout
        self._tasks: set[asyncio.Task[Any]] = set()
        self._first_backups: dict[str, asyncio.Task[None]] = {}

    # ---- claims and background work -------------------------------------------------------------
    def background(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def claimed(
        self, server: Server, what: str, work: Callable[[], Awaitable[Result]]
    ) -> Callable[[], Awaitable[Result]]:
        """Claim ``server`` now (409 ServerBusy when another operation holds it) for ``work``, which
        releases the claim when it ends; a PostgreSQL failure becomes a 500 naming the operation."""
        if server.busy or server.updating:
            doing = server.busy or "updating"
            raise ArmError(409, "ServerBusy", f"Server '{server.name}' is busy ({doing}); retry later.")
        server.busy = what

        async def run() -> Result:
            try:
                return await work()
            except PgError as exc:
                raise ArmError(500, "InternalServerError", f"{what} of {server.name} failed: {exc}") from exc
            finally:
                server.busy = None

        return run

    # ---- creation -------------------------------------------------------------------------------
    @staticmethod
    def ready(server: Server) -> None:
        server.state, server.provisioning, server.busy = "Ready", "Succeeded", None

    async def create_primary(self, name: str, region: str, password: str, admin_password: str = "") -> Server:
        server = self.fleet.add(name, region, busy="creating")
        c, db, user = server.cluster, self.ctx.estate.database_name, self.ctx.estate.database_user
        await c.initdb()
        log.info("initdb %s done", name)
        await c.start()
        await c.query(f"CREATE ROLE {user} LOGIN PASSWORD {_literal(password)}")
        admin = self.ctx.estate.database_admin  # Azure's administrator: a role of its own, not the app's
        secret = f" PASSWORD {_literal(admin_password)}" if admin_password else ""
        await c.query(f"CREATE ROLE {admin} LOGIN CREATEROLE CREATEDB{secret}")
        await c.query(f"CREATE DATABASE {db} OWNER {user}")
        await c.query(f"SET ROLE {user}; " + SCHEMA.read_text(), dbname=db)
        self.ready(server)
        return server

    @staticmethod
    async def set_password(server: Server, login: str, password: str) -> None:
        """The administrator's new password (a PATCH of administratorLoginPassword)."""
        await server.cluster.query(f'ALTER ROLE "{login}" PASSWORD {_literal(password)}')

    async def create_replica(
        self, name: str, region: str, source: Server, tags: dict[str, str], size: Size | None = None
    ) -> Server:
        """A streaming standby of ``source`` (which shows Updating meanwhile); its tier and storage are
        the source's unless ``size`` says otherwise (storage never below the source's)."""
        sku, storage = size or (dict(source.sku), source.storage_gb)
        server = self.fleet.add(
            name,
            region,
            busy="creating",
            source=source.name.lower(),
            tags=tags,
            create_mode="Replica",
            geo_redundant="Disabled",
            sku=sku,
            storage_gb=storage,
        )
        with self.fleet.updating(source):
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
        extra = {
            "pointInTimeUTC": point.isoformat(),
            "sourceServerResourceId": self.fleet.resource_id(source),
        }
        server = self.fleet.add(
            name,
            region,
            busy="creating",
            tags=tags,
            create_mode=mode,
            restored_from=extra,
            sku=dict(source.sku),
            storage_gb=source.storage_gb,
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
        self.fleet.remove(server)

    def plan_create(
        self,
        name: str,
        region: str,
        mode: str,
        props: dict[str, Any],
        tags: dict[str, str],
        body_sku: Any = None,
    ) -> Callable[[], Awaitable[Server]]:
        """Validate a create request (400 on what Azure refuses); returns the work that creates it."""
        lowered = mode.lower()
        if lowered in ("default", "create"):
            return plan_default(self.fleet, self.ready, name, region, props, tags)
        if lowered in ("replica", "pointintimerestore", "georestore"):
            source_id = props.get("sourceServerResourceId")
            if not source_id:
                raise ArmError(
                    400, "InvalidParameterValue", f"createMode {mode} needs sourceServerResourceId."
                )
            source = self.fleet.by_id(str(source_id))
        if lowered == "replica":
            if source.source or not source.cluster.running:
                raise ArmError(
                    400, "InvalidSourceServer", f"'{source.name}' must be a running primary to get a replica."
                )
            size = replica_size(source, body_sku, props)
            return lambda: self.create_replica(name, region, source, tags, size)
        if source.source:
            raise ArmError(
                400,
                "InvalidSourceServer",
                f"'{source.name}' is a read replica: restores are allowed only from a primary server.",
            )
        if lowered == "pointintimerestore":
            if "pointInTimeUTC" not in props:
                raise ArmError(
                    400, "InvalidParameterValue", "createMode PointInTimeRestore needs pointInTimeUTC."
                )
            point = _check_restore_point(source, _parse_time(props["pointInTimeUTC"]))
            return lambda: self.restore(name, region, source, point, tags, "PointInTimeRestore")
        if lowered == "georestore":
            check_geo_restore(source, region, self.ctx.estate.regions)
            return lambda: self.restore(name, region, source, None, tags, "GeoRestore")
        raise ArmError(
            400,
            "UnsupportedCreateMode",
            f"createMode '{mode}' is not supported by the sandbox for new servers "
            "(use Default, Replica, PointInTimeRestore or GeoRestore).",
        )

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
            await _remove_tree(old.path)
        return backup

    async def delete_backup(self, server: Server, backup: Backup) -> None:
        server.backups.remove(backup)
        await _remove_tree(backup.path)

    async def backup_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.settings.backup_interval)
            for server in list(self.fleet.servers.values()):
                if server.source or not server.cluster.running or server.busy:
                    continue
                try:
                    await self.take_backup(server)
                except PgError as exc:
                    log.warning("scheduled backup of %s failed: %s", server.name, exc)

    def start_first_backup(self, server: Server) -> None:
        """A new primary (promoted or restored) gets a base backup at once, in the background: as in
        Azure, the operation completes when the server is ready and its restore window starts with that
        first backup. Deleting the server stops its cluster first, which ends a first backup still running."""
        self._first_backups[server.name.lower()] = self.background(self._first_backup(server))

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

    # ---- promotion ------------------------------------------------------------------------------
    def check_promotable(self, server: Server, mode: str, option: str) -> None:
        if not server.source:
            raise ArmError(
                400, "ServerIsNotReplica", f"'{server.name}' is not a replica; nothing to promote."
            )
        if not server.cluster.running:
            raise ArmError(409, "ServerUnavailable", f"Replica '{server.name}' is not running.")
        source = self.fleet.get(server.source)
        source_up = source is not None and source.cluster.running
        if not source_up and (mode == "switchover" or option == "planned"):
            raise ArmError(
                409,
                "SourceServerUnavailable",
                f"The primary of '{server.name}' is unreachable: only a forced standalone promote "
                "is possible.",
            )
        if mode == "switchover" and source is not None:
            check_switchover(self.fleet, source, server)

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
        """Promote ``replica``; it and its primary show Updating until the promotion is done."""
        source = self.fleet.get(replica.source or "")
        with self.fleet.updating(source, replica):
            if mode == "switchover":
                assert source is not None
                await self.switchover(replica, source)
                self.fleet.endpoints.switched_over(replica, source)
            else:
                if planned and source is not None:
                    await self.wait_caught_up(replica, await source.cluster.current_lsn())
                await _make_standalone(replica)
                self.fleet.endpoints.promoted_standalone(replica)
        self.start_first_backup(replica)

    async def switchover(self, replica: Server, primary: Server) -> None:
        """Planned switchover: the primary stops cleanly, the replica replays all of it and is promoted,
        then the old primary follows the new one as its replica."""
        await primary.cluster.stop("fast")
        await self.wait_caught_up(replica, await primary.cluster.checkpoint_lsn())
        await _make_standalone(replica)
        for server in [primary, *self.fleet.replicas_of(primary)]:
            if server is replica:
                continue
            await server.cluster.stop("fast")
            server.cluster.set_standby_of(replica.cluster)
            server.source, server.replica_since = replica.name.lower(), time.time()
            await server.cluster.start()
            # A replica has no backups (its WAL is not archived while it follows): its restore window
            # starts again with the first backup after it is next promoted.
            for backup in server.backups:
                await _remove_tree(backup.path)
            server.backups.clear()

    # ---- lifecycle of a server ------------------------------------------------------------------
    async def start(self, server: Server) -> None:
        server.state = "Starting"
        await server.cluster.start()
        server.state, server.api_stopped = "Ready", False

    async def stop(self, server: Server) -> None:
        server.state, server.api_stopped = "Stopping", True
        await server.cluster.stop("fast")
        server.state = "Stopped"

    async def restart(self, server: Server) -> None:
        server.state = "Restarting"
        await server.cluster.stop("fast")
        await server.cluster.start()
        server.state = "Ready"

    async def delete(self, server: Server) -> None:
        """Delete ``server`` (its primary, when it is a replica, shows Updating meanwhile)."""
        with self.fleet.updating(self.fleet.get(server.source or "")):
            await self._delete(server)

    async def _delete(self, server: Server) -> None:
        server.state, server.provisioning = "Dropping", "Deleting"
        await self.fleet.endpoints.server_deleted(server)
        for replica in self.fleet.replicas_of(server):  # as Azure: replicas become standalone servers
            with contextlib.suppress(PgError):
                await replica.cluster.promote()
            replica.cluster.clear_standby()
            replica.source = None
        await server.cluster.stop("immediate")
        await self.settle_first_backup(server)
        await asyncio.to_thread(server.cluster.remove)
        await _remove_tree(self.layout.backups / server.name)
        self.fleet.remove(server)

    async def close(self) -> None:
        """Cancel the background work, stop every cluster and release the layout."""
        for task in list(self._tasks):
            task.cancel()
        await self.fleet.endpoints.close()
        servers = self.fleet.servers.values()
        await asyncio.gather(*(s.cluster.stop("fast") for s in servers), return_exceptions=True)
        self.layout.close()


Size = tuple[dict[str, str], int]  # (sku, storage size in GB)


def replica_size(source: Server, sku: Any, props: dict[str, Any]) -> Size:
    """A replica's tier and storage: the request's, else the source's. Azure: storage on the primary
    must be equal or smaller than on every replica (concepts-read-replicas, Scale)."""
    wanted_sku = dict(source.sku)
    if isinstance(sku, dict) and sku.get("name"):
        wanted_sku = {"name": str(sku["name"]), "tier": str(sku.get("tier") or source.sku["tier"])}
    storage = (props.get("storage") or {}).get("storageSizeGB") or source.storage_gb
    if not isinstance(storage, int) or storage < source.storage_gb:
        raise ArmError(
            400,
            "InvalidParameterValue",
            f"storageSizeGB {storage} of the replica is below the {source.storage_gb} GB of its source "
            f"'{source.name}': a replica's storage must be equal to or larger than the primary's.",
        )
    return wanted_sku, storage


def check_switchover(fleet: Fleet, primary: Server, replica: Server) -> None:
    """Promote to primary server needs a virtual endpoint pair writing to the primary and reading from
    this replica, and both servers on the same tier and storage size (concepts-read-replicas-promote)."""
    if not fleet.endpoints.covers(primary, replica):
        raise ArmError(
            400,
            "BadRequest",
            f"Promote to primary server needs a virtual endpoint: its writer on '{primary.name}' and its "
            f"reader on '{replica.name}'. Create or update the virtual endpoints of '{primary.name}' first.",
        )
    if primary.sku != replica.sku or primary.storage_gb != replica.storage_gb:
        raise ArmError(
            400,
            "BadRequest",
            f"Promote to primary server needs identical tiers and storage sizes: '{primary.name}' is "
            f"{primary.sku['name']} ({primary.sku['tier']}) with {primary.storage_gb} GB, '{replica.name}' "
            f"is {replica.sku['name']} ({replica.sku['tier']}) with {replica.storage_gb} GB. Promote it "
            "to an independent server instead.",
        )


def check_geo_restore(source: Server, region: str, regions: tuple[str, ...]) -> None:
    """GeoRestore restores into the paired region, from a server created with geo-redundant backups
    (a promoted replica has none: the setting is not carried over by a promotion)."""
    if source.geo_redundant != "Enabled":
        raise ArmError(
            400,
            "BadRequest",
            f"Geo-restore of '{source.name}' is not possible: the server does not have geo-redundant "
            "backup enabled (it can only be enabled when a server is created, and a promoted replica has "
            "none). Use a point-in-time restore in its own region instead.",
        )
    if region == source.region or region not in regions:
        raise ArmError(
            400,
            "BadRequest",
            f"Geo-restore of '{source.name}' restores into its paired region, not '{region}'.",
        )
    if not source.backups:
        raise ArmError(400, "InvalidSourceServer", f"'{source.name}' has no backups to restore from.")


async def _make_standalone(replica: Server) -> None:
    await replica.cluster.promote()
    replica.cluster.clear_standby()
    replica.source = None


def _check_restore_point(source: Server, point: datetime.datetime) -> datetime.datetime:
    earliest = source.earliest_backup()
    if earliest is None or point < earliest:
        raise ArmError(
            400,
            "InvalidParameterValue",
            f"pointInTimeUTC {point.isoformat()} is before the earliest restore point "
            f"{earliest.isoformat() if earliest else '(no backups)'} of '{source.name}'.",
        )
    if point > utc():
        raise ArmError(400, "InvalidParameterValue", f"pointInTimeUTC {point.isoformat()} is in the future.")
    return point


def _parse_time(value: Any) -> datetime.datetime:
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ArmError(
            400, "InvalidParameterValue", f"pointInTimeUTC '{value}' is not an ISO 8601 time."
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def _remove_tree(path: Path) -> None:
    await asyncio.to_thread(shutil.rmtree, path, ignore_errors=True)
