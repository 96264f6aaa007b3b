"""The function catalogue and the invoker: what the app declares, and calling it as the worker does.

``catalog(functions)`` turns the (once-called) ``app.get_functions()`` result into ``FunctionInfo``
records keyed by function name. ``Invoker.invoke`` calls one function with its trigger value and
bindings as keyword arguments (async functions on the event loop, sync ones in a thread pool) and
prints the one log line per invocation: ``[devhost] <function> id=<invocation id> <outcome> <ms>ms``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

__all__ = ["FunctionInfo", "Invocation", "Invoker", "catalog", "log_line"]

_log = logging.getLogger("devhost")


@dataclass(frozen=True)
class FunctionInfo:
    """One function of the app: its name, trigger and bindings (function.json form) and callable."""

    name: str
    trigger: dict[str, Any]
    bindings: tuple[dict[str, Any], ...]
    callable: Callable[..., Any]
    parameters: frozenset[str] = field(default_factory=frozenset)

    @property
    def trigger_type(self) -> str:
        return str(self.trigger.get("type", ""))

    def bindings_of(self, binding_type: str, direction: str = "IN") -> list[dict[str, Any]]:
        return [b for b in self.bindings if b.get("type") == binding_type and b.get("direction") == direction]

    @property
    def durable_client_param(self) -> str | None:
        found = self.bindings_of("durableClient")
        return str(found[0]["name"]) if found else None


def catalog(functions: Iterable[func.Function]) -> dict[str, FunctionInfo]:
    """Index the app's functions by name (the host's view of function.json)."""
    result: dict[str, FunctionInfo] = {}
    for function in functions:
        spec = json.loads(function.get_function_json())
        bindings = tuple(spec.get("bindings", []))
        triggers = [b for b in bindings if str(b.get("type", "")).endswith("Trigger")]
        trigger: dict[str, Any] = triggers[0] if triggers else {}
        user = function.get_user_function()
        name = function.get_function_name() or user.__name__
        result[name] = FunctionInfo(name, trigger, bindings, user, _parameter_names(user))
    return result


def _parameter_names(user: Callable[..., Any]) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(user).parameters)
    except (TypeError, ValueError):
        return frozenset()


@dataclass
class Invocation:
    """What one invocation produced: the return value or the error, and named output bindings."""

    id: str
    value: Any = None
    error: BaseException | None = None
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.error is None


class _Out(func.Out[Any]):
    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


class _Context(func.Context):
    def __init__(self, invocation_id: str, function_name: str, directory: str) -> None:
        self._id, self._name, self._directory = invocation_id, function_name, directory
        self._local = threading.local()
        self._local.invocation_id = invocation_id

    @property
    def invocation_id(self) -> str:
        return self._id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._name

    @property
    def function_directory(self) -> str:
        return self._directory

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


def log_line(name: str, invocation_id: str, outcome: str, started: float) -> None:
    """Print the host's one line per invocation."""
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    print(f"[devhost] {name} id={invocation_id} {outcome} {elapsed_ms}ms", flush=True)


class Invoker:
    """Calls user functions the way the Python worker does."""

    def __init__(
        self,
        *,
        client_binding: Callable[[], str] | None,
        app_directory: str,
        max_threads: int = 16,
    ) -> None:
        self._client_binding = client_binding
        self._directory = app_directory
        self._executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="devhost-fn")

    async def invoke(self, fn: FunctionInfo, trigger_value: Any) -> Invocation:
        """Run ``fn`` once with ``trigger_value`` bound to its trigger parameter; never raises."""
        invocation = Invocation(id=str(uuid.uuid4()))
        started = time.perf_counter()
        try:
            kwargs = self._arguments(fn, trigger_value, invocation)
            invocation.value = await self._call(fn.callable, kwargs)
            invocation.outputs = {k: v.get() for k, v in kwargs.items() if isinstance(v, _Out)}
        except Exception as exc:
            invocation.error = exc
        log_line(fn.name, invocation.id, "Succeeded" if invocation.succeeded else "Failed", started)
        if invocation.error is not None:
            _report(fn.name, invocation.error)
        return invocation

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def busy(self, grace: float = 2.0) -> bool:
        """Whether a sync function still runs in a worker thread after ``grace`` seconds (after close)."""
        deadline = time.monotonic() + grace
        for thread in list(getattr(self._executor, "_threads", ())):
            thread.join(max(0.0, deadline - time.monotonic()))
        return any(t.is_alive() for t in getattr(self._executor, "_threads", ()))

    def _arguments(self, fn: FunctionInfo, trigger_value: Any, invocation: Invocation) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for binding in fn.bindings:
            name = str(binding.get("name", ""))
            if binding is fn.trigger:
                kwargs[name] = trigger_value
            elif binding.get("type") == "durableClient":
                kwargs[name] = self._durable_client()
            elif binding.get("direction") == "OUT" and name != "$return":
                kwargs[name] = _Out()
        if "context" in fn.parameters and "context" not in kwargs:
            kwargs["context"] = _Context(invocation.id, fn.name, self._directory)
        return kwargs

    def _durable_client(self) -> str:
        if self._client_binding is None:
            raise RuntimeError(
                "this function has a durableClient binding but the durable engine is not loaded"
            )
        return self._client_binding()

    async def _call(self, target: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        if inspect.iscoroutinefunction(target):
            return await target(**kwargs)
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, target, **kwargs)
        result = await loop.run_in_executor(self._executor, call)
        if inspect.isawaitable(result):
            return await result
        return result


_DURABLE_HTTP = "azure.durable_functions.models.utils.http_utils"


async def close_client_sessions() -> None:
    """Close the HTTP session the Durable SDK keeps for the client binding's calls, as a worker that
    stops cleanly must: the SDK opens one per process and has no shutdown hook (it leaves it to process
    exit, which asyncio reports as "Unclosed client session"). Nothing to do when the SDK is not loaded."""
    close = getattr(sys.modules.get(_DURABLE_HTTP), "_close_session", None)
    if close is not None:
        await close()


def _report(name: str, error: BaseException) -> None:
    lines = traceback.format_exception(error)
    print(f"[devhost] {name} error: {error}", file=sys.stderr, flush=True)
    print("".join(lines).rstrip(), file=sys.stderr, flush=True)
