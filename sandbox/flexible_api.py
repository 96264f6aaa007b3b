"""The ARM routes of Microsoft.DBforPostgreSQL/flexibleServers (api 2026-10-01, as
azure-mgmt-postgresqlflexibleservers 3.0.0 sends it): servers, replicas, backups and virtual endpoints."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from aiohttp import web

from sandbox.arm import ArmApi, ArmError
from sandbox.flexible_default import check_password
from sandbox.flexible_endpoints import VirtualEndpointsApi
from sandbox.flexible_model import Fleet, Server
from sandbox.flexible_operations import Operations

SERVERS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers"
SERVER = SERVERS + "/{name}"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_BACKUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


class FlexibleServersApi:
    """The ARM routes over the fleet and its operations."""

    def __init__(self, fleet: Fleet, ops: Operations, arm: ArmApi) -> None:
        self.fleet, self.ops, self.arm = fleet, ops, arm

    def register(self) -> None:
        add = self.arm.add_route
        add("GET", SERVERS, self.list_by_rg)
        add("GET", "/subscriptions/{sub}/providers/Microsoft.DBforPostgreSQL/flexibleServers", self.list_all)
        add("GET", SERVER, self.get)
        add("PUT", SERVER, self.put)
        add("PATCH", SERVER, self.patch)
        add("DELETE", SERVER, self.delete)
        add("POST", SERVER + "/start", self.start)
        add("POST", SERVER + "/stop", self.stop)
        add("POST", SERVER + "/restart", self.restart)
        add("GET", SERVER + "/replicas", self.list_replicas)
        add("GET", SERVER + "/backups", self.list_backups)
        add("GET", SERVER + "/backups/{backup}", self.get_backup)
        add("PUT", SERVER + "/backups/{backup}", self.put_backup)
        add("DELETE", SERVER + "/backups/{backup}", self.delete_backup)
        VirtualEndpointsApi(self.fleet.endpoints, self.arm, SERVER).register()

    async def _page(self, servers: list[Server]) -> web.Response:
        return self.arm.page([await self.fleet.render(s) for s in servers])

    # ---- servers --------------------------------------------------------------------------------
    async def list_by_rg(self, request: web.Request, p: dict[str, str]) -> web.Response:
        rg = p["rg"].lower()
        return await self._page([s for s in self.fleet.servers.values() if s.resource_group.lower() == rg])

    async def list_all(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return await self._page(list(self.fleet.servers.values()))

    async def get(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return self.arm.json(await self.fleet.render(self.fleet.find(p["rg"], p["name"])))

    async def list_replicas(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return await self._page(self.fleet.replicas_of(self.fleet.find(p["rg"], p["name"])))

    async def put(self, request: web.Request, p: dict[str, str]) -> web.Response:
        body = await self.arm.read_json(request)
        props = body.get("properties") or {}
        mode = str(props.get("createMode") or "Default")
        tags = {str(k): str(v) for k, v in (body.get("tags") or {}).items()}
        existing = self.fleet.get(p["name"])
        if existing is not None:
            return self._put_existing(request, p, existing, mode, tags)
        if not _NAME.match(p["name"]):
            raise ArmError(
                400,
                "InvalidServerName",
                f"'{p['name']}' is not a valid server name (3-63 lowercase letters, digits and hyphens).",
            )
        regions = self.fleet.ctx.estate.regions
        region = str(body.get("location") or "").replace(" ", "").lower()
        if region not in regions:
            raise ArmError(
                400,
                "LocationNotAvailableForResourceType",
                f"Location '{body.get('location')}' is not served; use one of {regions}.",
            )
        work = self.ops.plan_create(p["name"], region, mode, props, tags, body.get("sku"))

        async def create() -> dict[str, Any]:
            return await self.fleet.render(await work())

        return self.arm.begin_lro(request, create)

    def _put_existing(
        self, request: web.Request, p: dict[str, str], server: Server, mode: str, tags: dict[str, str]
    ) -> web.Response:
        if server.resource_group.lower() != p["rg"].lower() or mode.lower() not in ("default", "update"):
            raise ArmError(409, "ServerAlreadyExists", f"A server named '{server.name}' already exists.")

        async def update() -> dict[str, Any]:
            server.tags = tags
            return await self.fleet.render(server)

        return self.arm.begin_lro(request, self.ops.claimed(server, "updating", update))

    async def patch(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
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
            self.ops.check_promotable(server, promote_mode, option)
            self.arm.ctx.actions.record("promotes", server.name)
        tags = body.get("tags")
        retention = (props.get("backup") or {}).get("backupRetentionDays")
        password = props.get("administratorLoginPassword")
        if password is not None:  # "as long as password authentication is enabled, ... changed at any time"
            if server.source:
                raise ArmError(
                    400,
                    "InvalidParameterValue",
                    f"'{server.name}' is a read replica: its administrator is the primary's.",
                )
            check_password(server.login, str(password))

        async def update() -> dict[str, Any]:
            if promote_mode:
                await self.ops.promote(server, promote_mode, option == "planned")
            if password is not None:
                await self.ops.set_password(server, server.login, str(password))
            if isinstance(tags, dict):
                server.tags = {str(k): str(v) for k, v in tags.items()}
            if retention is not None:
                server.retention_days = int(retention)
            return await self.fleet.render(server)

        what = "promoting" if promote_mode else "updating"
        return self.arm.begin_lro(request, self.ops.claimed(server, what, update))

    async def delete(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.get(p["name"])
        if server is None or server.resource_group.lower() != p["rg"].lower():
            return web.Response(status=204)
        work = self.ops.claimed(server, "deleting", partial(self.ops.delete, server))
        return self.arm.begin_lro(request, work)

    async def start(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
        if server.outage:
            raise ArmError(409, "RegionUnavailable", f"Region {server.region} of '{server.name}' is down.")
        work = self.ops.claimed(server, "starting", partial(self.ops.start, server))
        return self.arm.begin_lro(request, work)

    async def stop(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
        work = self.ops.claimed(server, "stopping", partial(self.ops.stop, server))
        return self.arm.begin_lro(request, work)

    async def restart(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
        if server.outage or server.state == "Stopped":
            raise ArmError(409, "ServerUnavailable", f"'{server.name}' is not running; start it instead.")
        work = self.ops.claimed(server, "restarting", partial(self.ops.restart, server))
        return self.arm.begin_lro(request, work)

    # ---- backups --------------------------------------------------------------------------------
    async def list_backups(self, request: web.Request, p: dict[str, str]) -> web.Response:
        return self.arm.page(self.fleet.backups_json(self.fleet.find(p["rg"], p["name"])))

    async def get_backup(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
        return self.arm.json(server.backup(p["backup"]).to_json(self.fleet.resource_id(server)))

    async def put_backup(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
        name = p["backup"]
        if not _BACKUP_NAME.match(name) or name.startswith("backup_"):
            raise ArmError(400, "InvalidBackupName", f"'{name}' is not a valid on-demand backup name.")
        if server.source or not server.cluster.running:
            raise ArmError(409, "BackupNotAllowed", f"'{server.name}' must be a running primary to back up.")
        if any(b.name == name for b in server.backups):
            raise ArmError(409, "BackupAlreadyExists", f"Backup '{name}' already exists.")

        async def backup() -> dict[str, Any]:
            return (await self.ops.take_backup(server, name)).to_json(self.fleet.resource_id(server))

        return self.arm.begin_lro(request, self.ops.claimed(server, "backing up", backup))

    async def delete_backup(self, request: web.Request, p: dict[str, str]) -> web.Response:
        server = self.fleet.find(p["rg"], p["name"])
        backup = server.backup(p["backup"])
        work = self.ops.claimed(server, "deleting backup", partial(self.ops.delete_backup, server, backup))
        return self.arm.begin_lro(request, work)
