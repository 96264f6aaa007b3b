"""How decisions say durations and moments: '45 s', '12 min', '4 h 5 min', '3 d 2 h'; ISO 8601 times."""

from __future__ import annotations

from datetime import datetime, timedelta


def describe_duration(delta: timedelta) -> str:
    """A duration as an operator reads it: '45 s', '12 min', '4 h 5 min', '3 d 2 h'."""
    seconds = int(delta.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes} min"
    if minutes:
        return f"{sign}{minutes} min"
    return f"{sign}{secs} s"


def duration(seconds: float) -> str:
    """Seconds as an operator reads them (see describe_duration)."""
    return describe_duration(timedelta(seconds=seconds))


def iso(moment: datetime) -> str:
    return moment.isoformat()
