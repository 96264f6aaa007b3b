"""The settings of the DR test calendar's monthly and weekly checks: their schedules and the performance
baseline's limits (merged into ``shared.config.FIELDS`` after the others)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from shared.config.fields import Field, _cron, _float, _positive_int

N = TypeVar("N", int, float)

MAX_BURST_REQUESTS = 1000  # what one PROBE_BURST sends at most (activities/probe.py)


def _at_most(parse: Callable[[str], N], limit: float, what: str) -> Callable[[str], N]:
    def bounded(raw: str) -> N:
        value = parse(raw)
        if value > limit:
            raise ValueError(f"must be at most {limit:g} {what}")
        return value

    return bounded


CALENDAR_FIELDS: dict[str, Field] = {
    "FAILOVER_VALIDATION_SCHEDULE": Field(
        _cron, "0 0 6 1 * *", "Monthly failover validation: the failover plan as a dry run (1st, 06:00)."
    ),
    "PERFORMANCE_BASELINE_SCHEDULE": Field(
        _cron, "0 0 1 1 * *", "Monthly performance baseline through the public endpoint (1st, 01:00)."
    ),
    "PERFORMANCE_BASELINE_REQUESTS": Field(
        _at_most(_positive_int, MAX_BURST_REQUESTS, "requests"),
        "100",
        "Requests of the baseline to each path (the health path, the status path VERSION_PATH).",
    ),
    "PERFORMANCE_REGRESSION_PERCENT": Field(
        _float, "50", "A p95 more than this % over the previous baseline's fails the baseline."
    ),
    "PERFORMANCE_REGRESSION_FLOOR_MS": Field(
        _float, "25", "...and at least this many ms over it (noise at a few ms is no regression)."
    ),
    "PERFORMANCE_MAX_ERROR_PERCENT": Field(
        _at_most(_float, 100, "%"), "1", "An error rate (no answer or 5xx) above this % fails the baseline."
    ),
    "HEALTH_CHECK_VALIDATION_SCHEDULE": Field(
        _cron, "0 0 9 * * 2", "Weekly health-check validation: tiers, Front Door probes, origins (Tue 09:00)."
    ),
    "BACKUP_INTEGRITY_SCHEDULE": Field(
        _cron, "0 0 6 * * 3", "Weekly backup integrity: automatic and long-term backups (Wed 06:00)."
    ),
}
