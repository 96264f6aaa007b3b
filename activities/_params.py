"""Reading activity input: typed getters that reject bad input with a PermanentError naming the key.

Activities are invoked by orchestrators with plain JSON dicts; a wrong key is a programming error that
retrying cannot fix, hence permanent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shared import waits
from shared.errors import PermanentError

log = logging.getLogger("continuity.activities")


class Params:
    """The input of one activity invocation."""

    def __init__(self, activity: str, data: Any) -> None:
        if not isinstance(data, Mapping):
            raise PermanentError("validate input of", activity, "input must be a JSON object")
        self.activity = activity
        self.data: Mapping[str, Any] = data

    def _bad(self, key: str, problem: str) -> PermanentError:
        return PermanentError("validate input of", self.activity, f"{key}: {problem}")

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self._bad(key, "required non-empty string")
        return value

    def opt_text(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if not isinstance(value, str):
            raise self._bad(key, "must be a string")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value not in options:
            raise self._bad(key, "must be one of " + ", ".join(options))
        return str(value)

    def wait(self) -> float:
        """How long this call may wait for the Azure operation it started or found (``wait_seconds``; the
        adapter bounds it by shared.waits ACTIVITY_WAIT_SECONDS); still going then, ``pending``."""
        return self.number("wait_seconds", waits.ACTIVITY_WAIT_SECONDS)

    def number(self, key: str, default: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self._bad(key, "must be a non-negative number")
        return float(value)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, "must be true or false")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key) or {}
        if not isinstance(value, Mapping):
            raise self._bad(key, "must be an object")
        return dict(value)

    def opt_list(self, key: str) -> list[Any] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._bad(key, "must be a list")
        return value


def done(activity: str, result: dict[str, Any]) -> dict[str, Any]:
    """Log the outcome (its message, never a secret) and return it."""
    log.info("%s: %s", activity, result.get("message") or "ok")
    return result
