"""The DR test calendar as the settings declare it: each item, the operation whose runs prove it, its
schedule and whether it is switched on. The quarterly drills share the drill timer (``DRILL_SCHEDULE``):
each quarter runs its own scenario (``CALENDAR_QUARTERS``: Q1 database, Q2 region, Q3 complete by
default)."""

from __future__ import annotations

from shared import policy
from shared.config import Settings

QUARTER_MONTHS = ((1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 11, 12))


def quarter_item(quarter: int) -> str:
    return f"q{quarter}-drill"


def quarter_scenario(settings: Settings, month: int) -> str | None:
    """The drill scenario of the quarter ``month`` is in; None when that quarter is off."""
    quarter = (month - 1) // 3 + 1
    scenario = settings.calendar_quarters[quarter - 1]
    if scenario == "off" or quarter_item(quarter) in settings.calendar_off:
        return None
    return scenario


def items(settings: Settings) -> tuple[policy.CalendarItem, ...]:
    """Every item of the calendar, in the document's order."""
    off = set(settings.calendar_off)
    quarters = tuple(
        policy.CalendarItem(
            name=quarter_item(q),
            cadence="quarterly",
            operation=f"drill-{scenario}",
            what=f"Q{q} {scenario} drill in practice mode" if scenario != "off" else f"Q{q} drill (off)",
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
    alert = policy.CalendarItem(
        name="alert-verification",
        cadence="weekly",
        operation="alert-verification",
        what="alert verification: a practice alert through the intake reaches the targets, starts nothing",
        schedule=settings.alert_verification_schedule,
        enabled="alert-verification" not in off,
    )
    return (*quarters, restore, alert)


def switched_off(settings: Settings, item: str) -> bool:
    return item in settings.calendar_off
