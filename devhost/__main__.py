"""Command line: ``python -m devhost --app function_app --port 7071 --state-dir .devhost``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from devhost.server import DevHost, HostError, HostOptions


def parse_args(argv: list[str]) -> HostOptions:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--app", default="function_app", help="module (in the current directory) with `app`")
    parser.add_argument("--port", type=int, default=7071, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--state-dir", default=".devhost", help="keys, timer status, durable store")
    parser.add_argument(
        "--no-local-settings", action="store_true", help="ignore local.settings.json (hermetic test runs)"
    )
    parser.add_argument(
        "--local-settings",
        default=None,
        help="the settings file (default: local.settings.json in the app directory)",
    )
    args = parser.parse_args(argv)
    return HostOptions(
        app=args.app,
        port=args.port,
        state_dir=Path(args.state_dir),
        app_dir=Path.cwd(),
        local_settings=not args.no_local_settings,
        settings_file=Path(args.local_settings) if args.local_settings else None,
    )


async def serve(options: HostOptions) -> tuple[int, DevHost]:
    """Run until SIGINT or SIGTERM; 0 after a clean stop, 1 when the host could not start."""
    host = DevHost(options)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await host.start()
    except HostError as exc:
        print(f"[devhost] cannot start: {exc}", file=sys.stderr, flush=True)
        await host.stop()
        return 1, host
    await stopping.wait()
    print("[devhost] stopping", flush=True)
    await host.stop()
    print("[devhost] stopped", flush=True)
    return 0, host


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("azure", "urllib3", "aiohttp.access", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    code, host = asyncio.run(serve(parse_args(sys.argv[1:] if argv is None else argv)))
    if host.busy():  # a sync function still running in a thread must not hold the process
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
