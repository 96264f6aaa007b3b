"""The smoke suite in the settings: ``CONTINUITY_SMOKE_SUITE`` is ``document`` (the DR document's
post-deployment checks) or a JSON list of checks (docs/configuration.md)."""

from __future__ import annotations

import json
from typing import Any

# The DR document's post-deployment suite: health, status, database health, an intent that answers
# success with an intent_id, a search with results, and 100 requests at concurrency 10 averaging <= 500 ms.
DOCUMENT_SMOKE_SUITE: tuple[dict[str, Any], ...] = (
    {"name": "health", "path": "/health"},
    {"name": "status", "path": "/api/v1/status"},
    {"name": "database", "path": "/api/v1/health/database"},
    {
        "name": "intent",
        "method": "POST",
        "path": "/api/v1/intents",
        "json": {"user_input": "continuity smoke test {run_id}"},
        "expect": {"status": "success", "intent_id": "*"},
    },
    {
        "name": "search",
        "method": "POST",
        "path": "/api/v1/search",
        "json": {"query": "continuity smoke test {run_id}"},
        "expect": {"results": "*"},
    },
    {
        "name": "load",
        "path": "/health",
        "requests": 100,
        "concurrency": 10,
        "max_average_ms": 500,
        "max_error_percent": 0,
    },
)
_SMOKE_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "path": str,
    "method": str,
    "json": dict,
    "expect": dict,
    "expect_status": int,
    "requests": int,
    "concurrency": int,
    "max_average_ms": (int, float),
    "max_error_percent": (int, float),
}


def parse_smoke_suite(raw: str) -> tuple[dict[str, Any], ...]:
    """``document`` (the DR document's suite) or a JSON list of checks (see docs/configuration.md)."""
    if raw.strip() == "document":
        return DOCUMENT_SMOKE_SUITE
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("must be 'document' or a JSON list of checks") from None
    if not isinstance(value, list) or not value:
        raise ValueError("must be 'document' or a non-empty JSON list of checks")
    for check in value:
        if not isinstance(check, dict) or not isinstance(check.get("name"), str) or not check["name"]:
            raise ValueError("every check needs a name")
        if not str(check.get("path", "")).startswith("/"):
            raise ValueError(f"check {check['name']}: path must start with /")
        for key, item in check.items():
            kind = _SMOKE_KEYS.get(key)
            if kind is None or not isinstance(item, kind) or isinstance(item, bool):
                raise ValueError(f"check {check['name']}: {key} is unknown or of the wrong kind")
        if check.get("method", "GET") not in ("GET", "POST"):
            raise ValueError(f"check {check['name']}: method must be GET or POST")
    return tuple(value)
