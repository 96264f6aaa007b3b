"""Calling activities in tests exactly as the host does: the registered user function with a JSON dict,
in the process environment of a host configured with given app settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from shared.azure import runtime

Activity = Callable[..., dict[str, Any]]


def activity_functions() -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    """Activity name -> its user function, read from the blueprints (not from the app, whose
    get_functions() may run only once per process)."""
    from activities import (
        containers,
        database,
        events,
        long_term,
        metrics,
        notify,
        probe,
        secrets,
        storage,
        traffic,
    )

    found = {}
    modules = (containers, database, events, metrics, notify, probe, secrets, storage, traffic, long_term)
    for module in modules:
        for value in vars(module).values():
            function = getattr(value, "_function", None)
            if function is not None:
                found[function.get_function_name()] = function.get_user_function()
    return found


@contextmanager
def app_environment(values: dict[str, str]) -> Iterator[None]:
    """The process environment of a host configured with ``values`` (restored afterwards)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    runtime.reset()
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        runtime.reset()


def caller(values: dict[str, str]) -> Activity:
    """``call(names.X, **params)`` runs activity X with the app settings ``values``."""
    functions = activity_functions()

    def call(activity: str, /, **params: Any) -> dict[str, Any]:
        with app_environment(values):
            return functions[activity](params)

    return call


def run_report(
    run_id: str, operation: str = "failover", *, status: str = "", summary: str = ""
) -> dict[str, Any]:
    """A report as a run sends it to STORAGE_WRITE_REPORT (orchestrators.toolkit RunRecord.to_dict()):
    running, or ended with ``status`` and ``summary``."""
    from datetime import UTC, datetime

    from orchestrators.toolkit.record import RunRecord

    now = datetime.now(UTC)
    record = RunRecord(run_id, operation, {"kind": "operator", "reason": "integration test"}, now)
    record.end(record.begin("promote", now), now, "succeeded", "promoted")
    record.measure(rto_seconds=42.5)
    if status:
        record.finish(status, now, summary)
    return record.to_dict()
