"""The DR test calendar: when each item runs next (its NCRONTAB schedule), its last run and result, and
whether it is overdue (no successful run within its cadence and a day of grace). Pure: plain values in.

Schedules are the host's six-field NCRONTAB (second minute hour day month weekday; ``*``, ``*/n``,
``a-b``, ``a-b/n`` and lists; weekday 0-6 from Sunday). When both day and weekday are restricted, either
matches (as cron does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.models import Verdict
from shared.policy.durations import describe_duration
from shared.policy.readiness import RunSeen

CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92}
GRACE = timedelta(days=1)
_LIMITS = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
SEARCH_DAYS = 800  # a schedule matching no day within this many days never runs


@dataclass(frozen=True)
class CalendarItem:
    """One item of the calendar: its name, cadence, the run operation that proves it, its schedule (None
    when it has no timer of its own), the months it runs in (quarterly items: their quarter) and whether
    it is switched on."""

    name: str
    cadence: str
    operation: str
    what: str
    schedule: str
    months: tuple[int, ...] = ()
    enabled: bool = True


def _field(text: str, low: int, high: int) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, b = span.split("-", 1)
            first, last = int(a), int(b)
        else:
            first = last = int(span)
            last = high if step_text else last
        if not (low <= first <= last <= high) or step < 1:
            raise ValueError(f"{part!r} is outside {low}-{high}")
        out.update(range(first, last + 1, step))
    return frozenset(out)


def parse_schedule(schedule: str) -> tuple[frozenset[int], ...]:
    """The six fields' allowed values; raises ValueError naming the bad part."""
    parts = schedule.split()
    if len(parts) != 6:
        raise ValueError("an NCRONTAB schedule has six fields")
    return tuple(_field(p, lo, hi) for p, (lo, hi) in zip(parts, _LIMITS, strict=True))


def _day_matches(fields: tuple[frozenset[int], ...], day: datetime, restricted: tuple[bool, bool]) -> bool:
    dom, month, dow = fields[3], fields[4], fields[5]
    if day.month not in month:
        return False
    by_dom, by_dow = day.day in dom, (day.isoweekday() % 7) in dow
    if all(restricted):
        return by_dom or by_dow
    return by_dom and by_dow


def next_occurrence(schedule: str, after: datetime, months: Sequence[int] = ()) -> datetime | None:
    """The first moment strictly after ``after`` the schedule fires (only in ``months`` when given)."""
    fields = parse_schedule(schedule)
    seconds, minutes, hours = (sorted(f) for f in fields[:3])
    restricted = (fields[3] != _field("*", 1, 31), fields[5] != _field("*", 0, 6))
    start = after.replace(microsecond=0) + timedelta(seconds=1)
    day = start.replace(hour=0, minute=0, second=0)
    for _ in range(SEARCH_DAYS):
        if _day_matches(fields, day, restricted) and (not months or day.month in months):
            for h in hours:
                for m in minutes:
                    for s in seconds:
                        moment = day.replace(hour=h, minute=m, second=s)
                        if moment >= start:
                            return moment
        day += timedelta(days=1)
    return None


def calendar_entry(item: CalendarItem, runs: Sequence[RunSeen], now: datetime) -> dict[str, object]:
    """What ``GET /api/calendar`` shows of one item: last run and result, next run, overdue and why."""
    mine = [(r, r.started_at) for r in runs if r.operation == item.operation and r.started_at is not None]
    last = max(mine, key=lambda pair: pair[1], default=None)
    good = [at for r, at in mine if r.status == "succeeded"]
    window = timedelta(days=CADENCE_DAYS[item.cadence]) + GRACE
    proven = max(good, default=None)
    overdue = item.enabled and (proven is None or now - proven > window)
    if not item.enabled:
        why = "switched off"
    elif proven is None:
        why = f"no successful {item.operation} run yet"
    else:
        age = describe_duration(now - proven)
        why = f"last succeeded {age} ago, {'over' if overdue else 'within'} its {item.cadence} cadence"
    following = next_occurrence(item.schedule, now, item.months) if item.enabled else None
    return {
        "name": item.name,
        "what": item.what,
        "cadence": item.cadence,
        "enabled": item.enabled,
        "schedule": item.schedule,
        "last_run": last[0].run_id if last else None,
        "last_run_at": last[1].isoformat() if last else None,
        "result": last[0].status if last else None,
        "next_run": following.isoformat() if following else None,
        "overdue": overdue,
        "reason": why,
    }


def alert_verification_verdict(answer: Mapping[str, Any]) -> Verdict:
    """The practice alert passes when the intake answered 202 as a practice alert, would have acted on the
    primary (it is protected), reached at least one notification target and none failed. Every failure
    is listed."""
    values = answer.get("values") or {}
    failures = []
    if answer.get("status") != 202:
        failures.append(f"the intake answered {answer.get('status')}: {answer.get('error') or 'no answer'}")
    elif values.get("status") != "practice":
        failures.append(
            f"the intake did not treat it as practice: {values.get('status')} {values.get('reason')}"
        )
    else:
        if not values.get("would_act"):
            failures.append("the intake would not have acted on the primary: it is not seen as protected")
        if not values.get("notified_targets"):
            failures.append("the practice alert reached no notification target")
        if values.get("notify_failures"):
            failures.append(f"{values.get('notify_failures')} notification targets failed")
    if failures:
        return Verdict(False, tuple(failures), "alert-verification")
    reached = values.get("notified_targets")
    return Verdict(
        True, (f"the practice alert reached {reached}; nothing was started",), "alert-verification"
    )
