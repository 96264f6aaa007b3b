"""Blob storage: Azurite (installed by the Makefile into sandbox/node_modules) on a free port.

Its data lives under `<state_dir>/azurite`; `storage_connection_string` in endpoints.json uses Azurite's
well-known development account, so azure-storage-blob's BlobServiceClient.from_connection_string works
unchanged. When Azurite is not installed the component logs why and publishes no storage endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from sandbox.arm import ArmApi
from sandbox.context import SandboxContext

log = logging.getLogger("sandbox.storage")

AZURITE = Path(__file__).resolve().parent / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same in every installation; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
READY_TIMEOUT_S = 30.0


def connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


async def wait_listening(port: int, proc: Any, timeout: float) -> bool:
    """True once 127.0.0.1:port accepts connections; False if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return True
        await asyncio.sleep(0.1)
    return False


class Storage:
    def __init__(self, ctx: SandboxContext, proc: Any, port: int) -> None:
        self.ctx, self.proc, self.port = ctx, proc, port

    async def close(self) -> None:
        if self.proc is not None:
            await self.ctx.stop_process(self.proc, timeout=10)


async def setup(ctx: SandboxContext, arm: ArmApi) -> Storage:
    if not AZURITE.exists():
        log.warning("Azurite is not installed (%s missing; run `make deps`): no blob storage", AZURITE)
        return Storage(ctx, None, 0)
    port = ctx.free_port()
    location = ctx.state_dir / "azurite"
    location.mkdir(parents=True, exist_ok=True)
    argv = [
        str(AZURITE),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(location),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
    ]
    proc = ctx.spawn("azurite", argv)
    if not await wait_listening(port, proc, READY_TIMEOUT_S):
        await ctx.stop_process(proc, timeout=5)
        raise RuntimeError(f"Azurite did not start listening on port {port} (see logs/azurite.log)")
    ctx.endpoints["storage_connection_string"] = connection_string(port)
    ctx.endpoints["storage_blob_endpoint"] = f"http://127.0.0.1:{port}/{ACCOUNT}"
    ctx.endpoints["storage_account"] = ACCOUNT
    storage = Storage(ctx, proc, port)
    ctx.components["storage"] = storage
    return storage
