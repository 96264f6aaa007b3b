"""The single long-running sandbox process (``python -m sandbox serve``): ARM listener + components."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import signal
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from aiohttp import web

from sandbox import tls
from sandbox.arm import ArmApi
from sandbox.context import SandboxContext, Settings, process_start_time
from sandbox.estate import Estate

log = logging.getLogger("sandbox.server")

# Loaded in this order when present: databases, Key Vault, containers (read Key Vault), Front Door
# (probes containers), then the rest.
COMPONENTS = [
    "sandbox.flexible_servers",
    "sandbox.keyvault",
    "sandbox.containers",
    "sandbox.frontdoor",
    "sandbox.frontdoor_classic",
    "sandbox.monitor",
    "sandbox.frontdoor_metrics",
    "sandbox.eventgrid",
    "sandbox.storage",
    "sandbox.backup_storage",
]


class Component(Protocol):
    async def close(self) -> None: ...


def _import(name: str) -> ModuleType | None:
    """The component module, or None when it does not exist (yet)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def write_json_atomic(path: Path, data: Any, *, mode: int = 0o644) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.chmod(mode)
    os.replace(tmp, path)


def core_endpoints(ctx: SandboxContext, arm_url: str) -> dict[str, Any]:
    estate = ctx.estate
    return {
        "arm_endpoint": arm_url,
        "ca_bundle": str(ctx.ca_cert_path),
        "subscription_id": estate.subscription_id,
        "tenant_id": estate.tenant_id,
        "regions": {"primary": estate.primary_region, "secondary": estate.secondary_region},
        "resource_groups": estate.resource_groups,
        "servers": {"primary": estate.primary_server, "replica": estate.replica_server},
        "database_name": estate.database_name,
        "state_dir": str(ctx.state_dir),
        "serve_pid": os.getpid(),
    }


class Sandbox:
    """The running sandbox: context, ARM listener and the loaded components."""

    def __init__(self, ctx: SandboxContext, only: list[str] | None = None) -> None:
        self.ctx = ctx
        self.arm = ArmApi(ctx)
        self.only = only
        self.loaded: list[tuple[str, Component]] = []
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        port = self.ctx.free_port()
        cert, key = self.ctx.server_cert()
        self.runner = web.AppRunner(self.arm.application(), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port, ssl_context=tls.server_context(cert, key))
        await site.start()
        self.ctx.endpoints.update(core_endpoints(self.ctx, f"https://127.0.0.1:{port}"))
        for name in COMPONENTS:
            short = name.rsplit(".", 1)[1]
            if self.only is not None and short not in self.only:
                continue
            module = _import(name)
            if module is None:
                log.info("component %s not present; skipped", name)
                continue
            started = time.monotonic()
            component: Component = await module.setup(self.ctx, self.arm)
            self.loaded.append((short, component))
            self.ctx.components.setdefault(short, component)
            log.info("component %s ready in %.1fs", short, time.monotonic() - started)

    async def close(self) -> None:
        for short, component in reversed(self.loaded):
            try:
                await component.close()
            except Exception:
                log.error("closing %s failed:\n%s", short, traceback.format_exc())
        self.loaded.clear()
        if self.runner is not None:
            await self.runner.cleanup()
        await self.ctx.close()


async def _watch_owner(pid: int, stop: asyncio.Event) -> None:
    """Set ``stop`` once the owner process (e.g. a killed pytest) is gone, so nothing is left behind."""
    start = process_start_time(pid)
    while start is not None and process_start_time(pid) == start:
        await asyncio.sleep(1)
    log.warning("owner process %s is gone; stopping", pid)
    stop.set()


async def serve(
    state_dir: Path,
    estate: Estate,
    settings: Settings,
    only: list[str] | None = None,
    *,
    owner_pid: int | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or the owner process exits); writes ``endpoints.json`` when ready."""
    started = time.monotonic()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.ensure_future(_watch_owner(owner_pid, stop)) if owner_pid else None
    ctx = SandboxContext(state_dir, estate, settings)
    sandbox = Sandbox(ctx, only)
    try:
        await sandbox.start()
    except Exception:
        log.error("sandbox failed to start:\n%s", traceback.format_exc())
        await sandbox.close()
        return 1
    ctx.endpoints["components"] = [short for short, _ in sandbox.loaded]
    write_json_atomic(state_dir / "endpoints.json", ctx.endpoints, mode=0o600)
    log.info("sandbox ready in %.1fs at %s", time.monotonic() - started, ctx.endpoints["arm_endpoint"])
    await stop.wait()
    log.info("stopping")
    if watcher is not None:
        watcher.cancel()
    await sandbox.close()
    log.info("stopped")
    return 0
