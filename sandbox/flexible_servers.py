"""Microsoft.DBforPostgreSQL/flexibleServers over real PostgreSQL clusters: the component.

``flexible_model`` holds the server records and their ARM view, ``flexible_operations`` what the
servers do (create, replica, promote, restore, start, stop, delete, backups), ``flexible_api`` the ARM
routes, ``flexible_faults`` the fault callbacks and ``flexible_metrics`` the metric source; this module
wires them into the sandbox.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass

from sandbox.arm import ArmApi
from sandbox.context import SandboxContext
from sandbox.flexible_api import SERVER, FlexibleServersApi
from sandbox.flexible_faults import Faults
from sandbox.flexible_ltr import LongTermRetention
from sandbox.flexible_metrics import Metrics
from sandbox.flexible_model import RESOURCE_TYPE, Fleet
from sandbox.flexible_operations import Operations
from sandbox.postgres import Layout

log = logging.getLogger("sandbox.flexible_servers")


@dataclass
class FlexibleServers:
    """The running component: what ``status`` summarises and ``down`` closes."""

    fleet: Fleet
    ops: Operations
    faults: Faults

    def summary(self) -> dict[str, str]:
        return self.fleet.summary()

    async def close(self) -> None:
        self.faults.cancel_resume()
        await self.ops.close()


async def setup(ctx: SandboxContext, arm: ArmApi) -> FlexibleServers:
    """Create the estate's primary (with schema), its streaming replica and a first base backup."""
    estate = ctx.estate
    fleet = Fleet(ctx, await Layout.create(ctx.state_dir))
    ops, faults, metrics = Operations(fleet), Faults(fleet), Metrics(fleet)
    component = FlexibleServers(fleet, ops, faults)
    FlexibleServersApi(fleet, ops, arm).register()
    LongTermRetention(fleet, arm, SERVER).register()
    # three classes and more, as Azure requires of a password
    password, admin_password = secrets.token_hex(12) + "Q-", secrets.token_hex(12) + "Q-"
    started = time.monotonic()
    try:
        primary = await ops.create_primary(
            estate.primary_server, estate.primary_region, password, admin_password
        )
        log.info("primary %s ready in %.1fs", primary.name, time.monotonic() - started)
        await asyncio.gather(
            ops.create_replica(estate.replica_server, estate.secondary_region, primary, {}),
            ops.take_backup(primary),
        )
        log.info("replica and first base backup ready in %.1fs", time.monotonic() - started)
    except BaseException:
        await component.close()
        raise
    ctx.endpoints["database_url"] = (
        f"postgresql://{estate.database_user}:{password}@127.0.0.1:{primary.cluster.port}/{estate.database_name}"
    )
    ctx.endpoints["database_user"] = estate.database_user
    ctx.endpoints["database_admin_url"] = (
        f"postgresql://{estate.database_admin}:{admin_password}@127.0.0.1:{primary.cluster.port}/{estate.database_name}"
    )
    ctx.endpoints["server_ports"] = {s.name: s.cluster.port for s in fleet.servers.values()}
    ctx.register_metric_source(RESOURCE_TYPE, metrics.source)
    faults.register(ctx)
    ops.background(ops.backup_loop())
    ops.background(metrics.sample_loop())
    ops.background(metrics.heartbeat_loop())
    ctx.components["flexible_servers"] = component
    return component
