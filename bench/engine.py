"""Benchmark: devhost's durable engine against durabletask's in-memory backend, in the same run.

Two workloads, each on both engines: a chain of 100 no-op activities and a fan-out/fan-in of 100.
devhost persists every step to SQLite (WAL) and is driven over its HTTP API, as the Durable extension
is; durabletask keeps everything in memory and is driven over gRPC by its own worker. Each figure is
the median of several runs after a warm-up. The last lines print the ratios (devhost / durabletask)
and the cold-start ratio of the app: the packaged app's import (``make package``, unpacked, with its
compiled bytecode) over azure.durable_functions' import with bytecode, each in fresh interpreters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC's shutdown notices are not figures
sys.path.insert(0, str(ROOT))

STEPS = 100
RUNS = 7


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- devhost -----------------------------------------------------------------------------------------
def _devhost_app() -> Any:
    import azure.durable_functions as df

    app = df.DFApp()

    @app.activity_trigger(input_name="value")
    def noop(value: Any) -> Any:
        return value

    @app.orchestration_trigger(context_name="context")
    def bench_chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        for step in range(context.get_input()):
            yield context.call_activity("noop", step)
        return "done"

    @app.orchestration_trigger(context_name="context")
    def bench_fan(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        tasks = [context.call_activity("noop", i) for i in range(context.get_input())]
        results = yield context.task_all(tasks)
        return len(results)

    return app


@contextlib.asynccontextmanager
async def _devhost(state_dir: Path) -> AsyncIterator[Callable[[str, int], Awaitable[float]]]:
    """devhost's engine behind its HTTP API; yields `run(orchestrator, count) -> seconds`."""
    import aiohttp
    from aiohttp import web

    from devhost.durable import DurableEngine

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    functions = _devhost_app().get_functions()
    engine = DurableEngine(functions, state_dir, base_url=base, hub_name="Bench", log=lambda _: None)
    await engine.start()
    application = web.Application()
    application.add_routes(engine.routes())
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    hooks = f"{base}/runtime/webhooks/durabletask/orchestrators"
    try:
        async with aiohttp.ClientSession() as http:

            async def run(name: str, count: int) -> float:
                started = time.perf_counter()
                url = f"{hooks}/{name}?timeout=120&pollingInterval=1"
                async with http.post(url, json=count) as response:
                    assert response.status == 200, await response.text()
                return time.perf_counter() - started

            yield run
    finally:
        await runner.cleanup()
        await engine.stop()


# ---- durabletask -------------------------------------------------------------------------------------
@contextlib.contextmanager
def _durabletask() -> Iterator[Callable[[str, int], float]]:
    """durabletask's in-memory backend and gRPC worker; yields `run(orchestrator, count) -> seconds`."""
    from durabletask import client, task, worker
    from durabletask.testing import create_test_backend

    port = _free_port()
    backend = create_test_backend(port=port)
    address = f"localhost:{port}"

    def noop(ctx: task.ActivityContext, value: Any) -> Any:
        return value

    def bench_chain(ctx: task.OrchestrationContext, count: int):  # type: ignore[no-untyped-def]
        for step in range(count):
            yield ctx.call_activity(noop, input=step)
        return "done"

    def bench_fan(ctx: task.OrchestrationContext, count: int):  # type: ignore[no-untyped-def]
        results = yield task.when_all([ctx.call_activity(noop, input=i) for i in range(count)])
        return len(results)

    hub_worker = worker.TaskHubGrpcWorker(host_address=address)
    hub_worker.add_activity(noop)
    orchestrators = {"bench_chain": bench_chain, "bench_fan": bench_fan}
    for orchestrator in orchestrators.values():
        hub_worker.add_orchestrator(orchestrator)
    hub_worker.start()  # type: ignore[no-untyped-call]
    hub_client = client.TaskHubGrpcClient(host_address=address)

    def run(name: str, count: int) -> float:
        started = time.perf_counter()
        instance_id = hub_client.schedule_new_orchestration(orchestrators[name], input=count)
        state = hub_client.wait_for_orchestration_completion(instance_id, timeout=120)
        assert state is not None and state.runtime_status == client.OrchestrationStatus.COMPLETED
        return time.perf_counter() - started

    try:
        yield run
    finally:
        hub_worker.stop()  # type: ignore[no-untyped-call]
        hub_client.close()
        backend.stop()


async def _measure(state_dir: Path) -> dict[str, dict[str, float]]:
    """Median seconds per engine and workload; runs alternate between the engines."""
    loop = asyncio.get_running_loop()
    times: dict[str, dict[str, list[float]]] = {
        e: {"chain": [], "fan": []} for e in ("devhost", "durabletask")
    }
    with _durabletask() as theirs:
        async with _devhost(state_dir) as mine:
            for name in ("bench_chain", "bench_fan"):  # warm-up
                await mine(name, 5)
                await loop.run_in_executor(None, theirs, name, 5)
            for _ in range(RUNS):
                for workload, name in (("chain", "bench_chain"), ("fan", "bench_fan")):
                    times["devhost"][workload].append(await mine(name, STEPS))
                    times["durabletask"][workload].append(
                        await loop.run_in_executor(None, theirs, name, STEPS)
                    )
    return {e: {w: statistics.median(v) for w, v in ws.items()} for e, ws in times.items()}


# ---- cold start ---------------------------------------------------------------------------------------
def _import_seconds(module: str, cwd: Path) -> float:
    """Seconds to import ``module`` in a fresh interpreter started in ``cwd``, bytecode allowed."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(done.stdout.strip().splitlines()[-1])


def _cold_start_ratio(runs: int = 11) -> tuple[float, float]:
    """The packaged app (``make package``: the zip unpacked, with its compiled bytecode) against the SDK,
    each imported with bytecode (one warm-up import each writes any bytecode the SDK still lacks)."""
    from tools.package import build

    with tempfile.TemporaryDirectory() as scratch:
        unpacked = Path(scratch) / "app"
        zipped = Path(scratch) / "continuity.zip"
        build(zipped)
        with zipfile.ZipFile(zipped) as package:
            package.extractall(unpacked)
        _import_seconds("function_app", unpacked)
        _import_seconds("azure.durable_functions", unpacked)
        app, sdk = [], []
        for _ in range(runs):  # alternate, so both see the same machine
            app.append(_import_seconds("function_app", unpacked))
            sdk.append(_import_seconds("azure.durable_functions", unpacked))
    return statistics.median(app), statistics.median(sdk)


def main() -> None:
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as state_dir:
        figures = asyncio.run(_measure(Path(state_dir)))
    mine, theirs = figures["devhost"], figures["durabletask"]
    for workload in ("chain", "fan"):
        label = "chain of" if workload == "chain" else "fan-out/fan-in of"
        print(f"devhost     {label} {STEPS} activities: {mine[workload] * 1000:8.1f} ms (SQLite, every step)")
        print(f"durabletask {label} {STEPS} activities: {theirs[workload] * 1000:8.1f} ms (in memory, gRPC)")
    app, sdk = _cold_start_ratio()
    print(
        f"import function_app (packaged, bytecode): {app * 1000:.1f} ms, "
        f"import azure.durable_functions (bytecode): {sdk * 1000:.1f} ms"
    )
    print(f"cold start ratio: {app / sdk:.2f} (goal <= 1.15)")
    print(f"engine ratio: chain={mine['chain'] / theirs['chain']:.2f} fan={mine['fan'] / theirs['fan']:.2f}")


if __name__ == "__main__":
    main()
