"""NCRONTAB and TimeSpan schedule parsing and next-occurrence computation (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.ncrontab import (
    CronSchedule,
    IntervalSchedule,
    ScheduleError,
    parse_schedule,
    resolve_app_setting,
)

T0 = datetime(2026, 3, 10, 14, 25, 30, tzinfo=UTC)  # a Tuesday


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def occurrences(text: str, start: datetime, count: int) -> list[datetime]:
    schedule = parse_schedule(text)
    found: list[datetime] = []
    moment = start
    for _ in range(count):
        moment = schedule.next_after(moment)
        found.append(moment)
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("* * * * * *", at(2026, 3, 10, 14, 25, 31)),
        ("*/15 * * * * *", at(2026, 3, 10, 14, 25, 45)),
        ("0 * * * * *", at(2026, 3, 10, 14, 26, 0)),
        ("0 */5 * * * *", at(2026, 3, 10, 14, 30, 0)),
        ("0 0 * * * *", at(2026, 3, 10, 15, 0, 0)),
        ("0 30 9 * * *", at(2026, 3, 11, 9, 30, 0)),
        ("0 0 0 1 * *", at(2026, 4, 1, 0, 0, 0)),
        ("0 0 0 1 1 *", at(2027, 1, 1, 0, 0, 0)),
        ("0 0 9 * * MON-FRI", at(2026, 3, 11, 9, 0, 0)),
        ("0 0 9 * * SAT,SUN", at(2026, 3, 14, 9, 0, 0)),
        ("0 0 9 * * 0", at(2026, 3, 15, 9, 0, 0)),
        ("0 0 12 * JUN *", at(2026, 6, 1, 12, 0, 0)),
        ("0 0 12 * jun-aug *", at(2026, 6, 1, 12, 0, 0)),
        ("5,10,40 * * * * *", at(2026, 3, 10, 14, 25, 40)),
        ("10-20/5 * * * * *", at(2026, 3, 10, 14, 26, 10)),
        ("45/5 * * * * *", at(2026, 3, 10, 14, 25, 45)),
        ("0 0 0 29 2 *", at(2028, 2, 29, 0, 0, 0)),
    ],
)
def test_next_occurrence(text: str, expected: datetime) -> None:
    assert parse_schedule(text).next_after(T0) == expected


def test_next_is_strictly_after_an_exact_match() -> None:
    assert parse_schedule("0 * * * * *").next_after(at(2026, 1, 1, 0, 0, 0)) == at(2026, 1, 1, 0, 1, 0)


def test_fractions_of_a_second_are_dropped() -> None:
    moment = at(2026, 1, 1, 0, 0, 0).replace(microsecond=900_000)
    assert parse_schedule("* * * * * *").next_after(moment) == at(2026, 1, 1, 0, 0, 1)


def test_naive_and_other_zones_are_read_as_their_utc_moment() -> None:
    schedule = parse_schedule("0 0 12 * * *")
    assert schedule.next_after(datetime(2026, 1, 1, 11, 0)) == at(2026, 1, 1, 12, 0, 0)
    plus_two = timezone(timedelta(hours=2))
    assert schedule.next_after(datetime(2026, 1, 1, 13, 30, tzinfo=plus_two)) == at(2026, 1, 1, 12, 0, 0)
    assert schedule.next_after(datetime(2026, 1, 1, 15, 30, tzinfo=plus_two)) == at(2026, 1, 2, 12, 0, 0)


def test_day_of_month_and_day_of_week_must_both_match_as_in_ncrontab() -> None:
    first_mondays = occurrences("0 0 8 1-7 * MON", at(2026, 1, 1), 3)
    assert first_mondays == [at(2026, 1, 5, 8, 0, 0), at(2026, 2, 2, 8, 0, 0), at(2026, 3, 2, 8, 0, 0)]


def test_month_end_and_year_rollover() -> None:
    assert occurrences("0 0 0 31 * *", at(2026, 1, 31, 1), 2) == [at(2026, 3, 31), at(2026, 5, 31)]
    assert parse_schedule("59 59 23 31 12 *").next_after(at(2026, 12, 31, 23, 59, 59)) == at(
        2027, 12, 31, 23, 59, 59
    )


def test_steps_over_a_range_and_lists_combine() -> None:
    schedule = parse_schedule("0 0,30 8-18/2 * * *")
    assert isinstance(schedule, CronSchedule)
    assert schedule.hours == frozenset({8, 10, 12, 14, 16, 18})
    assert schedule.minutes == frozenset({0, 30})


def test_per_second_schedule_fires_every_second() -> None:
    assert occurrences("* * * * * *", T0, 3) == [T0 + timedelta(seconds=n) for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("text", "interval"),
    [
        ("00:00:05", timedelta(seconds=5)),
        ("01:30:00", timedelta(hours=1, minutes=30)),
        ("00:10", timedelta(minutes=10)),
        ("1.00:00:00", timedelta(days=1)),
        (" 00:00:01 ", timedelta(seconds=1)),
    ],
)
def test_timespan_schedules(text: str, interval: timedelta) -> None:
    schedule = parse_schedule(text)
    assert isinstance(schedule, IntervalSchedule)
    assert schedule.interval == interval
    assert schedule.next_after(T0) == T0 + interval


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("* * * * *", "has 5 fields; expected 6"),
        ("* * * * * * *", "has 7 fields"),
        ("60 * * * * *", "second field '60': 60 is out of range 0-59"),
        ("* 60 * * * *", "minute field '60': 60 is out of range 0-59"),
        ("* * 24 * * *", "hour field '24': 24 is out of range 0-23"),
        ("* * * 0 * *", "day of month field '0': 0 is out of range 1-31"),
        ("* * * 32 * *", "out of range 1-31"),
        ("* * * * 13 *", "month field '13': 13 is out of range 1-12"),
        ("* * * * * 7", "day of week field '7': 7 is out of range 0-6"),
        ("* * * * FOO *", "'FOO' is not a number or a name JAN-DEC"),
        ("* * * * * MONDAY", "'MONDAY' is not a number or a name SUN-SAT"),
        ("x * * * * *", "'x' is not a number"),
        ("*/0 * * * * *", "step '0' must be a positive whole number"),
        ("*/x * * * * *", "step 'x'"),
        ("1,,2 * * * * *", "empty list item"),
        ("30-10 * * * * *", "range 30-10 runs backwards"),
        ("-5 * * * * *", "'' is not a number"),
        ("0 0 0 30 2 *", "never fires: no chosen month has day 30"),
        ("0 0 0 31 4,6,9,11 *", "never fires"),
        ("25:00:00", "hours must be 0-23"),
        ("00:61:00", "minutes and seconds 0-59"),
        ("00:00:00", "is zero"),
        ("1:2:3:4", "is not of the form"),
    ],
)
def test_invalid_schedules_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message.replace("(", r"\(").replace("*", r"\*")):
        parse_schedule(text)


def test_a_schedule_that_fires_rarely_still_has_a_next_occurrence() -> None:
    # 31 December on a Monday: years apart, but within the horizon.
    assert parse_schedule("0 0 0 31 12 MON").next_after(T0).date().isoformat() == "2029-12-31"


def test_leap_day_on_a_given_weekday_is_found_decades_ahead() -> None:
    assert parse_schedule("0 0 0 29 2 MON").next_after(T0) == at(2044, 2, 29)


def test_app_setting_schedules_are_resolved_from_the_environment() -> None:
    assert resolve_app_setting("%MY_SCHEDULE%", {"MY_SCHEDULE": "0 */5 * * * *"}) == "0 */5 * * * *"
    assert resolve_app_setting("0 0 * * * *", {}) == "0 0 * * * *"
    with pytest.raises(ScheduleError, match="app setting 'MISSING', which is not set"):
        resolve_app_setting("%MISSING%", {})
