"""The DR test calendar as the settings declare it: each item, the operation whose runs prove it, its
schedule and whether it is switched on. The quarterly drills share the drill timer (``DRILL_SCHEDULE``):
each quarter runs its own scenario (``CALENDAR_QUARTERS``: Q1 database, Q2 region, Q3 complete, Q4
security by default); the monthly and weekly checks (``CHECKS``) have a timer each."""

from __future__ import annotations

from shared import policy
from shared.config import Settings

QUARTER_MONTHS = ((1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 11, 12))
# The calendar's checks, in the document's order: each a timer of its own starting a run under its own id
# with no lock (none changes anything), whose operation is the item's name. name -> (cadence, what)
CHECKS = {
    "failover-validation": (
        "monthly",
        "failover validation: the failover plan as a dry run would proceed (primary, replica lag, "
        "standby, secret, Front Door); changes nothing",
    ),
    "performance-baseline": (
        "monthly",
        "performance baseline: p50/p95/p99 and error rate through the public endpoint, against the "
        "previous baseline",
    ),
    "health-check-validation": (
        "weekly",
        "health-check validation: each tier answers through the public endpoint; Front Door probes the "
        "health path; each origin answers it directly",
    ),
    "alert-verification": (
        "weekly",
        "alert verification: a practice alert through the intake reaches the targets, starts nothing",
    ),
    "backup-integrity": (
        "weekly",
        "backup integrity: the latest automatic backup's age, retention and geo-redundancy; the latest "
        "long-term backup's blobs as recorded",
    ),
}


def quarter_item(quarter: int) -> str:
    return f"q{quarter}-drill"


def quarter_scenario(settings: Settings, month: int) -> str | None:
    """The drill scenario of the quarter ``month`` is in; None when that quarter is off."""
    quarter = (month - 1) // 3 + 1
    scenario = settings.calendar_quarters[quarter - 1]
    if scenario == "off" or quarter_item(quarter) in settings.calendar_off:
        return None
    return scenario


def check_schedule(settings: Settings, item: str) -> str:
    """A check's schedule: the setting named after it (``failover-validation``: the timer's
    ``%CONTINUITY_FAILOVER_VALIDATION_SCHEDULE%``, ``Settings.failover_validation_schedule``)."""
    return str(getattr(settings, item.replace("-", "_") + "_schedule"))


def quarter_what(quarter: int, scenario: str) -> str:
    if scenario == "off":
        return f"Q{quarter} drill (off)"
    if scenario == "security":
        return (
            f"Q{quarter} security drill: the database credential rotated with no failed public request, the "
            "old one revoked, the tabletop checklist recorded"
        )
    return f"Q{quarter} {scenario} drill in practice mode"


def items(settings: Settings) -> tuple[policy.CalendarItem, ...]:
    """Every item of the calendar, in the document's order."""
    off = set(settings.calendar_off)
    quarters = tuple(
        policy.CalendarItem(
            name=quarter_item(q),
            cadence="quarterly",
            operation=f"drill-{scenario}",
            what=quarter_what(q, scenario),
            schedule=settings.drill_schedule,
            months=QUARTER_MONTHS[q - 1],
            enabled=scenario != "off" and quarter_item(q) not in off,
        )
        for q, scenario in enumerate(settings.calendar_quarters, start=1)
    )
    restore = policy.CalendarItem(
        name="restore-verification",
        cadence="monthly",
        operation="restore-test",
        what="restore verification: a restore to a scratch server with data checks (daily timer)",
        schedule=settings.restore_test_schedule,
        enabled="restore-verification" not in off,
    )
    checks = tuple(
        policy.CalendarItem(
            name=name,
            cadence=cadence,
            operation=name,
            what=what,
            schedule=check_schedule(settings, name),
            enabled=name not in off,
        )
        for name, (cadence, what) in CHECKS.items()
    )
    return (*quarters, restore, *checks)


def switched_off(settings: Settings, item: str) -> bool:
    return item in settings.calendar_off
