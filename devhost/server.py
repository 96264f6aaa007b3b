"""The composition root of devhost: load the app, wire triggers, keys, timers and the durable engine.

``DevHost.start()`` applies local.settings.json, imports the app module from the app directory,
calls ``app.get_functions()`` once, binds 127.0.0.1:<port> (0 picks a free port), mounts the durable
engine's routes (when ``devhost.durable`` is present), the admin API, the Event Grid webhook and the
HTTP triggers, then starts the engine, the server and the timers, and prints where everything is.
``stop()`` undoes it in reverse: timers, server, engine, then the client sessions functions opened.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from devhost.admin import AdminApi
from devhost.eventgrid import EventGridWebhook
from devhost.functions import FunctionInfo, Invoker, catalog, close_client_sessions
from devhost.http_triggers import HttpTriggers, http_routes
from devhost.keys import HostKeys, load_keys
from devhost.timers import STATUS_FILE, TimerService, TimerStatusStore, timer_specs

__all__ = ["DevHost", "HostError", "HostOptions", "apply_local_settings"]

LOCAL_SETTINGS = "local.settings.json"
DEFAULT_HUB = "TestHubName"


class HostError(RuntimeError):
    """The host cannot start; the message says what to fix."""


@dataclass(frozen=True)
class HostOptions:
    app: str = "function_app"
    port: int = 7071
    state_dir: Path = Path(".devhost")
    app_dir: Path = Path(".")
    address: str = "127.0.0.1"
    local_settings: bool = True  # apply local.settings.json Values, as `func start` does
    settings_file: Path | None = None  # default: local.settings.json in the app directory


def apply_local_settings(path: Path, env: MutableMapping[str, str]) -> list[str]:
    """Put the ``Values`` of a local.settings.json file into ``env`` (what is already set wins); the
    names applied."""
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text())
    except ValueError as exc:
        raise HostError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("IsEncrypted") is True:
        raise HostError(f"{path} must be a JSON object with unencrypted Values")
    values = document.get("Values") or {}
    if not isinstance(values, dict):
        raise HostError(f"{path}: Values must be an object of app settings")
    applied = [name for name in values if name not in env]
    for name in applied:
        value = values[name]
        env[name] = value if isinstance(value, str) else json.dumps(value)
    return applied


def read_host_json(app_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((app_dir / "host.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def import_app(module_name: str, app_dir: Path) -> Any:
    """The ``app`` attribute of the module, imported from the app directory."""
    root = str(app_dir.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name.split(".")[0]:
            raise
        raise HostError(
            f"no module '{module_name}' in {root} (use --app and run from the app directory)"
        ) from exc
    app = getattr(module, "app", None)
    if app is None or not hasattr(app, "get_functions"):
        raise HostError(f"module '{module_name}' has no function app named 'app'")
    return app


def load_engine_class() -> Any:
    """``devhost.durable.DurableEngine``, or None while that package does not exist."""
    try:
        module = importlib.import_module("devhost.durable")
    except ModuleNotFoundError as exc:
        if exc.name in ("devhost.durable",):
            return None
        raise
    return getattr(module, "DurableEngine", None)


def bind_socket(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        raise HostError(f"cannot listen on {address}:{port}: {exc.strerror}") from exc
    sock.setblocking(False)
    return sock


class DevHost:
    """One running host."""

    def __init__(self, options: HostOptions) -> None:
        self.options = options
        self.base_url = ""
        self.keys: HostKeys | None = None
        self._runner: web.AppRunner | None = None
        self._engine: Any = None
        self._timers: TimerService | None = None
        self._admin: AdminApi | None = None
        self._invoker: Invoker | None = None
        self._host_json: dict[str, Any] = {}

    async def start(self) -> None:
        options = self.options
        options.state_dir.mkdir(parents=True, exist_ok=True)
        if options.local_settings:
            apply_local_settings(options.settings_file or options.app_dir / LOCAL_SETTINGS, os.environ)
        self._host_json = read_host_json(options.app_dir)
        raw_functions = list(import_app(options.app, options.app_dir).get_functions())  # once
        functions = catalog(raw_functions)
        self.keys = load_keys(options.state_dir, os.environ)
        sock = bind_socket(options.address, options.port)
        self.base_url = f"http://{options.address}:{sock.getsockname()[1]}"
        self._engine = self._make_engine(raw_functions, functions)
        app = self._build(functions, self.keys)
        if self._engine is not None:
            await self._engine.start()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        assert self._timers is not None
        await self._timers.start()
        self._print_banner(functions)

    async def stop(self) -> None:
        if self._timers is not None:
            await self._timers.stop()
        if self._admin is not None:
            await self._admin.drain()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._engine is not None:
            await self._engine.stop()
        if self._invoker is not None:
            self._invoker.close()
        await close_client_sessions()  # after the last function that could use the durable client

    def busy(self) -> bool:
        return self._invoker is not None and self._invoker.busy()

    def _make_engine(self, raw_functions: list[Any], functions: dict[str, FunctionInfo]) -> Any:
        engine_class = load_engine_class()
        durable = [f.name for f in functions.values() if f.trigger_type in _DURABLE_TRIGGERS]
        if engine_class is None:
            if durable:
                print(
                    f"[devhost] durable engine not available: {', '.join(durable)} will not run", flush=True
                )
            return None
        durable_settings = self._host_json.get("extensions", {}).get("durableTask", {})
        return engine_class(
            raw_functions,
            self.options.state_dir,
            base_url=self.base_url,
            hub_name=str(durable_settings.get("hubName") or DEFAULT_HUB),
            overridable_states=str(durable_settings.get("overridableExistingInstanceStates") or "AnyState"),
            keys=(self.keys.system_key, self.keys.master_key) if self.keys else (),
        )

    def _build(self, functions: dict[str, FunctionInfo], keys: HostKeys) -> web.Application:
        client_binding = self._engine.client_binding if self._engine is not None else None
        self._invoker = Invoker(
            client_binding=client_binding, app_directory=str(self.options.app_dir.resolve())
        )
        store = TimerStatusStore(self.options.state_dir / STATUS_FILE)
        self._timers = TimerService(timer_specs(functions, os.environ), self._invoker, store)
        self._admin = AdminApi(functions, self._invoker, self._timers, keys)
        http = HttpTriggers(http_routes(functions), self._invoker, keys, self._route_prefix())
        app = web.Application(client_max_size=100 * 1024 * 1024)
        if self._engine is not None:
            app.add_routes(self._engine.routes())
        app.add_routes(self._admin.routes())
        app.add_routes(EventGridWebhook(functions, self._invoker, keys).routes())
        app.router.add_route("*", http.aiohttp_path(), http.handle)
        return app

    def _print_banner(self, functions: dict[str, FunctionInfo]) -> None:
        assert self.keys is not None
        by_kind: dict[str, list[str]] = {}
        for fn in functions.values():
            by_kind.setdefault(fn.trigger_type, []).append(fn.name)
        counts = ", ".join(f"{len(names)} {kind}" for kind, names in by_kind.items())
        print(f"[devhost] app '{self.options.app}': {len(functions)} functions ({counts})", flush=True)
        for fn in functions.values():
            if fn.trigger_type in ("httpTrigger", "timerTrigger", "eventGridTrigger"):
                print(f"[devhost]   {fn.name}: {self._describe(fn)}", flush=True)
        for kind in ("orchestrationTrigger", "entityTrigger"):
            if by_kind.get(kind):
                print(f"[devhost]   {kind}: {', '.join(by_kind[kind])}", flush=True)
        for kind, names in by_kind.items():
            if kind not in _SUPPORTED_TRIGGERS:
                print(f"[devhost]   not run here ({kind}): {', '.join(names)}", flush=True)
        stored = self.options.state_dir / "keys.json"
        where = "environment" if os.environ.get("DEVHOST_FUNCTION_KEY") else stored
        print(f"[devhost] function key: {self.keys.function_key}  (from {where})", flush=True)
        held = "environment (DEVHOST_MASTER_KEY)" if os.environ.get("DEVHOST_MASTER_KEY") else stored
        print(f"[devhost] master key: in {held}; not printed (it administers the host)", flush=True)
        print(f"[devhost] listening on {self.base_url}", flush=True)

    def _describe(self, fn: FunctionInfo) -> str:
        kind = fn.trigger_type
        if kind == "httpTrigger":
            methods = ",".join(fn.trigger.get("methods") or ["*"])
            route = fn.trigger.get("route") or fn.name
            prefix = self._route_prefix()
            return f"[{methods}] {self.base_url}/{prefix + '/' if prefix else ''}{route}"
        if kind == "timerTrigger":
            running = self._timers is not None and fn.name in self._timers.names()
            return f"timer '{fn.trigger.get('schedule')}'" + ("" if running else " (disabled)")
        if kind == "eventGridTrigger":
            return f"Event Grid {self.base_url}/runtime/webhooks/eventgrid?functionName={fn.name}"
        return kind

    def _route_prefix(self) -> str:
        """host.json ``extensions.http.routePrefix``: "api" unless set (an empty prefix is allowed)."""
        prefix = self._host_json.get("extensions", {}).get("http", {}).get("routePrefix")
        return "api" if prefix is None else str(prefix).strip("/")


_DURABLE_TRIGGERS = ("orchestrationTrigger", "activityTrigger", "entityTrigger")
_SUPPORTED_TRIGGERS = ("httpTrigger", "timerTrigger", "eventGridTrigger", *_DURABLE_TRIGGERS)
