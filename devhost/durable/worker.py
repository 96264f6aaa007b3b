"""The activity worker pool: runs one activity function the way the Functions host does.

Input and output go through azure-functions' own ActivityTriggerConverter (the same decoding and
encoding as on Azure); sync functions run in a thread pool, async ones on the event loop. The result
is the history event the engine records: TaskCompleted with the JSON result, or TaskFailed with the
exception's type and message.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devhost.durable.history import EventType, error_details, event


class ActivityWorker:
    """Runs registered activity functions on `workers` threads."""

    def __init__(
        self,
        activities: dict[str, tuple[Callable[..., Any], str]],
        workers: int,
        *,
        clients: dict[str, str] | None = None,
        client_binding: Callable[[], str] | None = None,
    ) -> None:
        self.activities = activities
        self.clients = dict(clients or {})  # activity -> the parameter of its durable client binding
        self.client_binding = client_binding
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="devhost-activity")

    def close(self) -> None:
        """Stop taking work; a function already running in a thread finishes on its own."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, name: str, task_id: int, input_: str | None) -> dict[str, Any]:
        entry = self.activities.get(name)
        if entry is None:
            reason = f"The function '{name}' doesn't exist, is disabled, or is not an activity function."
            return event(EventType.TASK_FAILED, TaskScheduledId=task_id, Reason=reason, Details="")
        try:
            text = await self._call(entry, input_, self._client_of(name))
        except Exception as exc:
            message, details = error_details(exc, traceback.format_exc())
            reason = f"Activity function '{name}' failed: {message}"
            return event(EventType.TASK_FAILED, TaskScheduledId=task_id, Reason=reason, Details=details)
        return event(EventType.TASK_COMPLETED, TaskScheduledId=task_id, Result=text)

    def _client_of(self, name: str) -> dict[str, str]:
        """The durable client binding an activity takes, as the host passes it (none: {})."""
        param = self.clients.get(name)
        if not param:
            return {}
        if self.client_binding is None:
            raise RuntimeError(f"{name} takes a durable client but no client binding is served")
        return {param: self.client_binding()}

    async def _call(
        self, entry: tuple[Callable[..., Any], str], input_: str | None, extra: dict[str, str]
    ) -> str:
        from azure.functions import meta
        from azure.functions.durable_functions import ActivityTriggerConverter

        fn, param = entry
        value = ActivityTriggerConverter.decode(meta.Datum(input_ or "null", "json"), trigger_metadata=None)
        kwargs = {param: value, **extra}
        if inspect.iscoroutinefunction(fn):
            returned = await fn(**kwargs)
        else:
            loop = asyncio.get_running_loop()
            returned = await loop.run_in_executor(self._pool, functools.partial(fn, **kwargs))
        return str(ActivityTriggerConverter.encode(returned, expected_type=None).value)
