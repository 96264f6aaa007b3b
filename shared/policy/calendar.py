"""The DR test calendar: when each item runs next (its NCRONTAB schedule), its last run and result, and
whether it is overdue (no successful run within its cadence and a day of grace). Pure: plain values in.

Schedules are the host's six-field NCRONTAB, read by shared/ncrontab.py (the parser the local host fires
timers with, so the calendar's next run is when the timer fires).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import ncrontab
from shared.models import Decision, Verdict
from shared.policy.durations import describe_duration
from shared.policy.readiness import RunSeen

CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92}
GRACE = timedelta(days=1)


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


def next_occurrence(schedule: str, after: datetime, months: Sequence[int] = ()) -> datetime | None:
    """The first moment strictly after ``after`` the schedule fires (only in ``months`` when given); None
    when it never does. Raises ValueError (ncrontab.ScheduleError) for a schedule the host refuses."""
    parsed = ncrontab.parse_schedule(schedule)
    if not isinstance(parsed, ncrontab.CronSchedule):
        raise ncrontab.ScheduleError(f"schedule '{schedule}' is not a six-field NCRONTAB expression")
    if months:
        chosen = parsed.months & frozenset(months)
        if not chosen:
            return None
        parsed = dataclasses.replace(parsed, months=chosen)
    try:
        return parsed.next_after(after)
    except ncrontab.ScheduleError:  # no occurrence in the horizon
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


def checks_verdict(name: str, checks: Sequence[Verdict], passed: str) -> Verdict:
    """A calendar check's verdict over its checks: it passes when every one passed, and there is one at
    least (nothing checked is no pass, rule 11); a failure lists every failed check with its reason."""
    if not checks:
        return Verdict(False, ("nothing was checked",), name)
    failed = [f"{c.name}: {c.reason}" for c in checks if not c.passed]
    if failed:
        return Verdict(False, tuple(failed), name)
    return Verdict(True, (f"{passed} ({len(checks)} checks passed)",), name)


def failover_validation_verdict(
    decided: Sequence[Decision], checks: Sequence[Verdict], *, stopped: str = ""
) -> Verdict:
    """The failover plan's dry run passes when the failover would proceed: the dry run did not stop
    (``stopped``: refused, stood down), no decision refused, the replica's lag is inside the RPO (rule 3:
    over it, a forced promote would wait for an operator), and every precondition check passed. An
    approval that the failover mode asks for (manual mode waits for an operator by design) is no failure.
    Every failure is listed once."""
    failures = [f"the failover would not proceed: {stopped}"] if stopped else []
    for d in decided:
        if (d.is_("refuse") or d.is_("exceeded")) and d.reason != stopped:
            failures.append(d.reason)
    failures += [f"{c.name}: {c.reason}" for c in checks if not c.passed]
    if not decided and not failures:
        failures.append("the dry run decided nothing")
    if failures:
        return Verdict(False, tuple(failures), "failover-validation")
    said = "; ".join(d.reason for d in decided)
    return Verdict(True, (f"the failover would proceed: {said}",), "failover-validation")


# ---- the monthly performance baseline --------------------------------------------------------------------
@dataclass(frozen=True)
class LatencyLimits:
    """What fails a performance baseline: a p95 more than ``regression_percent`` over the previous
    baseline's (and ``floor_ms`` over it at least: noise at a few milliseconds is no regression), or an
    error rate above ``max_error_percent``."""

    regression_percent: float
    floor_ms: float
    max_error_percent: float


def previous_baseline(summaries: Sequence[Mapping[str, Any]], own_run_id: str) -> str | None:
    """The run id of the newest successful performance baseline other than this run (report summaries
    of that operation), or None when there is none."""
    done = [s for s in summaries if s.get("status") == "succeeded" and s.get("run_id") != own_run_id]
    newest = max(done, key=lambda s: str(s.get("started_at") or ""), default=None)
    return str(newest["run_id"]) if newest and newest.get("run_id") else None


def _ms(value: Any) -> str:
    return f"{float(value):.1f} ms" if isinstance(value, int | float) else "-"


def error_rate_check(path: str, figures: Mapping[str, Any], limits: LatencyLimits) -> Verdict:
    """Requests to ``path`` were answered, with an error rate (no answer or 5xx) within the limit."""
    name, rate = f"error rate {path}", figures.get("error_rate")
    count, errors = figures.get("count") or 0, figures.get("errors") or 0
    if not count or rate is None:
        return Verdict(False, (f"no request to {path} was measured",), name)
    if not figures.get("answered"):
        return Verdict(False, (f"none of {count} requests to {path} was answered",), name)
    ok = float(rate) <= limits.max_error_percent
    word = "within" if ok else "over"
    said = f"{errors} of {count} requests failed ({rate}%), {word} the {limits.max_error_percent}% limit"
    return Verdict(ok, (said,), name)


def latency_check(
    path: str, figures: Mapping[str, Any], before: Mapping[str, Any] | None, limits: LatencyLimits
) -> Verdict:
    """p50/p95/p99 of ``path`` measured; its p95 within the limit of the previous baseline's (``before``:
    that path's figures then; None: there is no previous baseline of it, this run sets the first)."""
    name, p95 = f"p95 {path}", figures.get("p95_ms")
    spread = "/".join(_ms(figures.get(k)).removesuffix(" ms") for k in ("p50_ms", "p95_ms", "p99_ms"))
    if not isinstance(p95, int | float):
        return Verdict(False, (f"no latency of {path} was measured: nothing answered",), name)
    measured = f"p50/p95/p99 {spread} ms"
    base = (before or {}).get("p95_ms")
    if not isinstance(base, int | float):
        return Verdict(True, (f"{measured}: the first baseline of {path}, nothing to compare with",), name)
    limit = max(base * (1 + limits.regression_percent / 100), base + limits.floor_ms)
    change = f"{(p95 - base) / base * 100:+.0f}%" if base else "from 0 ms"
    ok = p95 <= limit
    said = (
        f"{measured}; p95 {change} against the previous baseline's {_ms(base)} "
        f"({'within' if ok else 'over'} the limit {_ms(limit)}: +{limits.regression_percent:g}%, "
        f"{limits.floor_ms:g} ms at least)"
    )
    return Verdict(ok, (said,), name)


def performance_checks(
    figures: Mapping[str, Mapping[str, Any]],
    previous: Mapping[str, Mapping[str, Any]] | None,
    limits: LatencyLimits,
    *,
    previous_error: str = "",
) -> tuple[Verdict, ...]:
    """Each measured path's error rate and p95 against the previous baseline (``previous``: per path,
    None when there is none); a previous baseline that could not be read fails (no comparison is no
    pass)."""
    checks: list[Verdict] = []
    if previous_error:
        checks.append(Verdict(False, (previous_error,), "previous baseline"))
    for path, found in figures.items():
        checks.append(error_rate_check(path, found, limits))
        checks.append(latency_check(path, found, (previous or {}).get(path), limits))
    return tuple(checks)


# ---- the weekly health-check validation ------------------------------------------------------------------
PROBE_PROTOCOLS = ("Http", "Https")


def component_check(name: str, path: str, answer: Mapping[str, Any]) -> Verdict:
    """A tier component answers healthy at ``path`` through the public endpoint (a probe's answer)."""
    if answer.get("ok"):
        said = f"{path} answered {answer.get('status')} in {_ms(answer.get('latency_ms'))}"
        return Verdict(True, (said,), f"public {name}")
    why = answer.get("error") or f"status {answer.get('status')}"
    return Verdict(False, (f"{path} is not healthy through the public endpoint: {why}",), f"public {name}")


def probe_settings_check(origin_group: str, listed: Mapping[str, Any], health_path: str) -> Verdict:
    """Front Door's health probe of ``origin_group``, as Azure reports it, probes the configured health
    path over Http or Https."""
    name = f"probe settings {origin_group}"
    if "error" in listed:
        return Verdict(False, (f"the origin group could not be read: {listed['error']}",), name)
    path, protocol = listed.get("probe_path"), listed.get("probe_protocol")
    problems = []
    if not path:
        problems.append("no health probe path is set")
    elif path != health_path:
        problems.append(f"Front Door probes {path}, not the configured health path {health_path}")
    if str(protocol or "").lower() not in {p.lower() for p in PROBE_PROTOCOLS}:  # ARM ignores case
        problems.append(f"the probe protocol is {protocol or 'not set'}, not Http or Https")
    if problems:
        return Verdict(False, tuple(problems), name)
    return Verdict(True, (f"Front Door probes {path} over {protocol}, the configured health path",), name)


def origins_not_judged(group: str, snapshot: Mapping[str, Any]) -> str:
    """Why the origins of ``group``'s origin group are not expected to answer ('' when they are): a
    container group kept stopped (the idle slot, the DR standby) answers only once started. One that
    could not be read is judged all the same."""
    state = str(snapshot.get("state") or "")
    if "error" in snapshot or state.lower() == "running":
        return ""
    return f"{group} is {state or 'not running'}: its origins answer only once it is started"


def origin_checks(origin_group: str, listed: Mapping[str, Any]) -> tuple[Verdict, ...]:
    """Each enabled origin of ``origin_group`` answers the probe path directly (probed from here, as
    ``TRAFFIC_LIST_HEALTHY_ORIGINS`` lists them); a group with no enabled origin cannot route."""
    if "error" in listed:
        reason = f"the origins could not be listed: {listed['error']}"
        return (Verdict(False, (reason,), f"origins {origin_group}"),)
    enabled = [o for o in listed.get("origins") or [] if o.get("enabled", True)]
    if not enabled:
        return (Verdict(False, ("no enabled origin: it cannot route",), f"origins {origin_group}"),)
    out = []
    for origin in enabled:
        probe = origin.get("probe") or {}
        answer = f"{probe.get('url') or origin.get('host')} answered {probe.get('status')}"
        if origin.get("healthy"):
            said = f"{answer} in {_ms(probe.get('latency_ms'))}"
        else:
            said = f"{probe.get('url') or origin.get('host')} did not answer healthy: " + str(
                probe.get("error") or f"status {probe.get('status')}"
            )
        out.append(
            Verdict(bool(origin.get("healthy")), (said,), f"origin {origin_group}/{origin.get('name')}")
        )
    return tuple(out)
