"""Recovery tiers in the settings: the components of each tier (name, health path through the public
endpoint, tier 1-3), parsed from ``CONTINUITY_TIER_COMPONENTS``."""

from __future__ import annotations

import json
from typing import Any

DOCUMENT_TIER_COMPONENTS = json.dumps(
    [
        {"name": "intent-api", "path": "/api/v1/status", "tier": 1},
        {"name": "database", "path": "/api/v1/health/database", "tier": 1},
    ]
)


def parse_tier_components(raw: str) -> tuple[dict[str, Any], ...]:
    """A JSON list of components, each {name, path, tier}; names unique, tiers 1, 2 or 3."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("must be a JSON list of {name, path, tier}") from None
    if not isinstance(value, list):
        raise ValueError("must be a JSON list of {name, path, tier}")
    for item in value:
        if not isinstance(item, dict) or set(item) != {"name", "path", "tier"}:
            raise ValueError("every component has exactly name, path and tier")
        if not isinstance(item["name"], str) or not item["name"]:
            raise ValueError("every component needs a name")
        if not str(item["path"]).startswith("/"):
            raise ValueError(f"component {item['name']}: path must start with /")
        if item["tier"] not in (1, 2, 3) or isinstance(item["tier"], bool):
            raise ValueError(f"component {item['name']}: tier must be 1, 2 or 3")
    if len({item["name"] for item in value}) != len(value):
        raise ValueError("component names must be unique")
    return tuple(value)
