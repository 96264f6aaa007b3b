"""The in-process driver of estate observations (shared.estate): each read runs the activity's own code
through the adapters, in this process, for triggers that must answer now (``/api/status``, the restore
API's window check, the alert intake). A failed read is ``{"error": ...}``, as inside a plan."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

from activities import containers, database, probe, secrets, storage, traffic  # noqa: F401  (they register the reads)
from activities.registry import IN_PROCESS

Json = dict[str, Any]
T = TypeVar("T")


def read_now(observation: Generator[list[tuple[str, Json]], list[Json], T]) -> T:
    """Drive ``observation`` to its result, answering each batch of reads in order."""
    try:
        batch = next(observation)
        while True:
            batch = observation.send([_read(name, payload) for name, payload in batch])
    except StopIteration as done:
        result: T = done.value
        return result


def _read(name: str, payload: Json) -> Json:
    try:
        return dict(IN_PROCESS[name](dict(payload)) or {})
    except Exception as exc:
        return {"error": str(exc)[:300]}
