"""Timer schedules as the Functions host reads them: NCRONTAB (6 fields, seconds first) and TimeSpan.

``parse_schedule(text)`` returns an object whose ``next_after(moment)`` gives the first occurrence
strictly after ``moment`` (UTC, whole seconds). Pure: no clock, no I/O.

NCRONTAB fields, in order: second (0-59), minute (0-59), hour (0-23), day of month (1-31),
month (1-12 or JAN-DEC), day of week (0-6 with 0 = Sunday, or SUN-SAT). Each field is a comma list of
``*``, ``n``, ``a-b``, ``*/step``, ``a-b/step`` or ``a/step`` (from ``a`` to the field's maximum).
As in NCrontab (the library the host uses), a day must match BOTH the day-of-month and the
day-of-week fields: ``0 0 8 1-7 * MON`` is the first Monday of each month.

TimeSpan schedules (``hh:mm:ss``, ``hh:mm`` or ``d.hh:mm:ss``) repeat at that interval.
Every problem raises ``ScheduleError`` with a sentence naming the field and the bad part.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "CronSchedule",
    "IntervalSchedule",
    "Schedule",
    "ScheduleError",
    "parse_schedule",
    "resolve_app_setting",
]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_HORIZON_YEARS = 50  # a schedule with no occurrence this far ahead never fires
_TIMESPAN = re.compile(r"^(?:(?P<d>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?$")
_SETTING = re.compile(r"^%(?P<name>[^%]+)%$")


class ScheduleError(ValueError):
    """A schedule the host would refuse; the message says which part is wrong and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # symbolic names, the first one meaning ``low``


_FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day of week", 0, 6, _DAYS),
)


@dataclass(frozen=True)
class CronSchedule:
    """An NCRONTAB schedule: the set of allowed values of each of the six fields."""

    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (a naive moment is taken as UTC)."""
        candidate = _as_utc(moment).replace(microsecond=0) + timedelta(seconds=1)
        limit = candidate.replace(year=candidate.year + _HORIZON_YEARS, month=1, day=1)
        while candidate < limit:
            advanced = self._advance(candidate)
            if advanced is None:
                return candidate
            candidate = advanced
        raise ScheduleError(f"schedule '{self.text}' has no occurrence in the next {_HORIZON_YEARS} years")

    def _advance(self, c: datetime) -> datetime | None:
        """The next moment worth checking after ``c``, or None when ``c`` itself matches."""
        if c.month not in self.months:
            return _start_of_next_month(c)
        if c.day not in self.days or _cron_weekday(c) not in self.weekdays:
            return c.replace(hour=0, minute=0, second=0) + timedelta(days=1)
        if c.hour not in self.hours:
            return c.replace(minute=0, second=0) + timedelta(hours=1)
        if c.minute not in self.minutes:
            return c.replace(second=0) + timedelta(minutes=1)
        if c.second not in self.seconds:
            return c + timedelta(seconds=1)
        return None


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule: one occurrence every ``interval``."""

    text: str
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        """``moment`` plus the interval (the host counts from the last run)."""
        return _as_utc(moment).replace(microsecond=0) + self.interval


Schedule = CronSchedule | IntervalSchedule


def parse_schedule(text: str) -> Schedule:
    """Parse a timer trigger's ``schedule``; raises ScheduleError when the host would refuse it."""
    if not isinstance(text, str) or not text.strip():
        raise ScheduleError("timer schedule is empty: expected 6 NCRONTAB fields or a TimeSpan hh:mm:ss")
    stripped = text.strip()
    if ":" in stripped and " " not in stripped:
        return _parse_timespan(stripped)
    return _parse_cron(stripped)


def resolve_app_setting(text: str, env: Mapping[str, str]) -> str:
    """Replace a ``%SettingName%`` schedule with that app setting, as the host does."""
    found = _SETTING.match(text.strip()) if isinstance(text, str) else None
    if found is None:
        return text
    name = found.group("name")
    if name not in env:
        raise ScheduleError(f"schedule refers to app setting '{name}', which is not set")
    return env[name]


def _parse_timespan(text: str) -> IntervalSchedule:
    found = _TIMESPAN.match(text)
    if found is None:
        raise ScheduleError(f"TimeSpan schedule '{text}' is not of the form hh:mm:ss, hh:mm or d.hh:mm:ss")
    days = int(found.group("d") or 0)
    hours, minutes, seconds = int(found.group("h")), int(found.group("m")), int(found.group("s") or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ScheduleError(f"TimeSpan schedule '{text}': hours must be 0-23, minutes and seconds 0-59")
    interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if interval <= timedelta(0):
        raise ScheduleError(f"TimeSpan schedule '{text}' is zero: the interval must be positive")
    return IntervalSchedule(text=text, interval=interval)


def _parse_cron(text: str) -> CronSchedule:
    parts = text.split()
    if len(parts) != len(_FIELDS):
        raise ScheduleError(
            f"NCRONTAB schedule '{text}' has {len(parts)} fields; expected 6: "
            "second minute hour day-of-month month day-of-week"
        )
    values = [_parse_field(part, spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    schedule = CronSchedule(text, *values)
    _check_day_exists(schedule)
    return schedule


def _parse_field(text: str, spec: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ScheduleError(f"NCRONTAB {spec.name} field '{text}' has an empty list item")
        values.update(_parse_item(item, spec, text))
    return frozenset(values)


def _parse_item(item: str, spec: _Field, field_text: str) -> range:
    base, slash, step_text = item.partition("/")
    step = _parse_step(step_text, spec, field_text) if slash else 1
    if base == "*":
        return range(spec.low, spec.high + 1, step)
    low_text, dash, high_text = base.partition("-")
    low = _parse_value(low_text, spec, field_text)
    high = _parse_value(high_text, spec, field_text) if dash else spec.high if slash else low
    if low > high:
        raise ScheduleError(f"NCRONTAB {spec.name} field '{field_text}': range {base} runs backwards")
    return range(low, high + 1, step)


def _parse_step(text: str, spec: _Field, field_text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise ScheduleError(
            f"NCRONTAB {spec.name} field '{field_text}': step '{text}' must be a positive whole number"
        )
    return int(text)


def _parse_value(text: str, spec: _Field, field_text: str) -> int:
    if spec.names and text.upper() in spec.names:
        return spec.low + spec.names.index(text.upper())
    if not text.isdigit():
        allowed = f" or a name {spec.names[0]}-{spec.names[-1]}" if spec.names else ""
        raise ScheduleError(f"NCRONTAB {spec.name} field '{field_text}': '{text}' is not a number{allowed}")
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise ScheduleError(
            f"NCRONTAB {spec.name} field '{field_text}': {value} is out of range {spec.low}-{spec.high}"
        )
    return value


def _check_day_exists(schedule: CronSchedule) -> None:
    longest = max(calendar.monthrange(2024, month)[1] for month in schedule.months)  # 2024: leap year
    if min(schedule.days) > longest:
        raise ScheduleError(
            f"NCRONTAB schedule '{schedule.text}' never fires: no chosen month has day {min(schedule.days)}"
        )


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _start_of_next_month(c: datetime) -> datetime:
    year, month = (c.year + 1, 1) if c.month == 12 else (c.year, c.month + 1)
    return c.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)


def _cron_weekday(c: datetime) -> int:
    return (c.weekday() + 1) % 7  # Python: Monday = 0; NCRONTAB: Sunday = 0
