"""The DR test calendar in the settings: the drill scenario of each quarter and the items switched off."""

from __future__ import annotations

QUARTER_SCENARIOS = ("database", "region", "complete", "security", "off")
ITEMS = (
    "q1-drill",
    "q2-drill",
    "q3-drill",
    "q4-drill",
    "restore-verification",
    "failover-validation",
    "performance-baseline",
    "health-check-validation",
    "alert-verification",
    "backup-integrity",
)


def parse_quarters(raw: str) -> tuple[str, ...]:
    """Four comma-separated scenarios, Q1 to Q4, each database, region, complete, security or off."""
    found = tuple(part.strip() for part in raw.split(","))
    if len(found) != 4 or any(f not in QUARTER_SCENARIOS for f in found):
        raise ValueError("must be four of " + ", ".join(QUARTER_SCENARIOS) + " (Q1 to Q4)")
    return found


def parse_items_off(raw: str) -> tuple[str, ...]:
    """Comma-separated calendar items; ``none`` (or empty): none is off."""
    found = tuple(part.strip() for part in raw.split(",") if part.strip() not in ("", "none"))
    unknown = [f for f in found if f not in ITEMS]
    if unknown:
        raise ValueError(f"unknown items {', '.join(unknown)}; known: {', '.join(ITEMS)}")
    return found
