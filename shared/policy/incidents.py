"""Incidents, decided: which run opens one and how severe it is, which of two opened at the same moment
is the incident, the escalation matrix, the response SLA per severity, the status-update cadence, when an
incident resolves itself. Plain values in, a Decision or a Verdict with its sentence out.

Severity by rule (P0 most severe): a regional outage (a failover) of tier 1 is P0, of tier 2 P1, of
tier 3 P2; a container fault in a healthy region (container recovery started by an alert) P1; a failed
deploy, rollback or migration P1 when traffic had moved to it, else P2; a failed restore test P2 (the
backups are not proven restorable); a failed drill P3 (production untouched, the plan not proven); any
other failed run P2. An incident takes the highest severity of the runs it links.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.models import Decision, Verdict, parse_time
from shared.policy.durations import describe_duration

SEVERITIES = ("P0", "P1", "P2", "P3")
OPEN, NONE = "open", "none"
NEXT_BUSINESS_DAY = "next-business-day"
BUSINESS_DAY_END_HOUR = 17  # UTC: "next business day" means by 17:00 UTC of the next weekday
DEPLOYS = ("deploy", "rollback", "migration")
LINKED = ("failover", "failback", "restore", "rollback", "container-recovery")  # join an open incident
OPEN_ON_FAILURE = (*DEPLOYS, *LINKED, "restore-test", "drill")  # a failure of these opens one


@dataclass(frozen=True)
class RunFacts:
    """What a run tells the incident rules: its operation, the phase (``started`` or ``ended``), its
    status once ended, how it was triggered, and whether it moved production traffic."""

    operation: str
    phase: str
    status: str = ""
    trigger_kind: str = "operator"
    traffic_moved: bool = False
    tier: int = 1


def _failed(status: str) -> bool:
    return status in ("failed", "rolled-back")


def severity_of(facts: RunFacts) -> Decision:
    """The severity a run gives its incident (``action`` P0-P3) with the rule as its reason."""
    op, tier = facts.operation, max(1, min(3, facts.tier))
    if op == "failover":
        return Decision(SEVERITIES[tier - 1], f"a regional outage of tier {tier} is {SEVERITIES[tier - 1]}")
    if op == "container-recovery":
        return Decision("P1", "a container fault of the app in a healthy region is P1")
    if op in DEPLOYS:
        if facts.traffic_moved:
            return Decision("P1", f"a failed {op} that had taken production traffic is P1")
        return Decision("P2", f"a failed {op} that never took production traffic is P2")
    if op == "restore-test":
        return Decision("P2", "a failed restore test is P2: the backups are not proven restorable")
    if op == "drill":
        return Decision("P3", "a failed drill is P3: production is untouched, the DR plan is not proven")
    return Decision("P2", f"a failed {op} is P2")


def incident_opening(facts: RunFacts) -> Decision:
    """Whether this moment of a run opens (or joins) an incident: ``open`` with the severity as ``value``,
    or ``none``. A failover opens one when it starts (whoever started it), container recovery when an alert
    started it; a run of OPEN_ON_FAILURE that failed opens one when it ends; LINKED ones join an open one."""
    if facts.phase == "started":
        if facts.operation == "failover" or (
            facts.operation == "container-recovery" and facts.trigger_kind == "alert"
        ):
            severity = severity_of(facts)
            return Decision(OPEN, f"{facts.operation} started: {severity.reason}", value=severity.action)
        if facts.operation in LINKED:
            return Decision("link", f"{facts.operation} started: it joins the open incident, if any")
        return Decision(NONE, f"{facts.operation} does not open an incident when it starts")
    if facts.phase == "ended" and _failed(facts.status) and facts.operation in OPEN_ON_FAILURE:
        severity = severity_of(facts)
        return Decision(OPEN, f"{facts.operation} {facts.status}: {severity.reason}", value=severity.action)
    return Decision(NONE, f"{facts.operation} {facts.status or facts.phase}: no incident")


def highest(*severities: str) -> str:
    """The most severe of the given severities (P0 before P3); unknown ones are ignored."""
    known = [s for s in severities if s in SEVERITIES]
    return min(known, key=SEVERITIES.index) if known else "P3"


# ---- opened at the same moment ---------------------------------------------------------------------------
KEEP, MERGE = "keep", "merge"
LATEST = datetime.max.replace(tzinfo=UTC)


def opened_order(incident: tuple[datetime | None, str]) -> tuple[datetime, str]:
    """The order of open incidents (created time, id): earliest first, ties by id, unknown time last."""
    return incident[0] or LATEST, incident[1]


def first_opened(own: str, open_incidents: Sequence[tuple[datetime | None, str]]) -> Decision:
    """After opening ``own``, which of the app's open incidents (created time, id) is the incident: the
    earliest opened, ties by the lower id (an unknown time counts as latest), so every run that lost the
    race agrees. ``keep`` when it is ``own`` (or none is listed), else ``merge`` (``value``: the winner)."""
    ranked = sorted(open_incidents, key=opened_order)
    if not ranked or ranked[0][1] == own:
        return Decision(KEEP, f"{own} is the app's only open incident, or the earliest")
    winner = ranked[0][1]
    return Decision(
        MERGE,
        f"{winner} was opened first and {own} at the same moment: {own} is merged into it",
        value=winner,
    )


# ---- escalation ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Level:
    """One level of the escalation matrix: who (``name``) is notified once ``after_minutes`` have passed
    since the incident opened without an acknowledgement."""

    name: str
    after_minutes: float


DEFAULT_LEVELS = (Level("on-call", 0), Level("senior", 15), Level("lead", 30), Level("manager", 60))


def parse_levels(text: str) -> tuple[Level, ...]:
    """``on-call:0,senior:15,lead:30,manager:60`` as levels; raises ValueError with the reason. The first
    level starts at 0 and the thresholds rise."""
    levels: list[Level] = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        name, sep, minutes = item.partition(":")
        if not sep or not name.strip() or not name.strip().replace("-", "").isalnum():
            raise ValueError(f"{item!r} is not name:minutes")
        try:
            after = float(minutes)
        except ValueError:
            raise ValueError(f"{item!r}: minutes must be a number") from None
        levels.append(Level(name.strip(), after))
    if not levels:
        raise ValueError("at least one level is required")
    if levels[0].after_minutes != 0:
        raise ValueError("the first level must start at 0 minutes")
    if any(b.after_minutes <= a.after_minutes for a, b in itertools.pairwise(levels)):
        raise ValueError("each level's minutes must be above the previous level's")
    if len({lv.name for lv in levels}) != len(levels):
        raise ValueError("level names must differ")
    return tuple(levels)


def next_escalation(
    levels: tuple[Level, ...], opened_at: datetime, reached: int, *, acknowledged: bool
) -> tuple[Level, datetime] | None:
    """The next level to notify and when (``reached`` levels were notified already); None once the
    incident is acknowledged or the last level was reached: an acknowledgement stops the climb."""
    if acknowledged or reached >= len(levels):
        return None
    level = levels[reached]
    return level, opened_at + timedelta(minutes=level.after_minutes)


def escalation(level: Level, index: int, opened_at: datetime, now: datetime) -> Decision:
    """The decision to notify ``level`` now, with the time unacknowledged as its reason."""
    waited = describe_duration(now - opened_at)
    if index == 0:
        return Decision("escalate", f"notify {level.name} (level 1) at once", value=level.name)
    return Decision(
        "escalate",
        f"unacknowledged for {waited}: escalate to {level.name} (level {index + 1}, "
        f"after {level.after_minutes:g} min)",
        value=level.name,
    )


# ---- response SLA ----------------------------------------------------------------------------------------
DEFAULT_SLA = {"P0": "15", "P1": "30", "P2": "120", "P3": NEXT_BUSINESS_DAY}


def parse_sla(text: str) -> dict[str, str]:
    """``P0:15,P1:30,P2:120,P3:next-business-day`` (minutes or next-business-day) for every severity;
    raises ValueError."""
    found: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",") if part.strip()):
        sev, _, value = item.partition(":")
        if sev not in SEVERITIES:
            raise ValueError(f"{item!r}: severity must be one of {', '.join(SEVERITIES)}")
        if value != NEXT_BUSINESS_DAY:
            try:
                if float(value) <= 0:
                    raise ValueError
            except ValueError:
                raise ValueError(f"{item!r}: minutes (above 0) or {NEXT_BUSINESS_DAY}") from None
        found[sev] = value
    missing = [s for s in SEVERITIES if s not in found]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    return found


def response_due(severity: str, opened_at: datetime, sla: dict[str, str]) -> datetime:
    """When the incident must be acknowledged: minutes after it opened, or by the end of the next business
    day (17:00 UTC of the next weekday after the day it opened)."""
    value = sla.get(severity, NEXT_BUSINESS_DAY)
    if value != NEXT_BUSINESS_DAY:
        return opened_at + timedelta(minutes=float(value))
    day = opened_at + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=BUSINESS_DAY_END_HOUR, minute=0, second=0, microsecond=0)


def response_verdict(
    severity: str, opened_at: datetime, due: datetime, acknowledged_at: datetime | None, now: datetime
) -> Verdict:
    """The response SLA: met when acknowledged by ``due``; missed when acknowledged late or not at all by
    then; not yet judged (``available`` False) while unacknowledged before it is due."""
    if acknowledged_at is not None:
        took = describe_duration(acknowledged_at - opened_at)
        if acknowledged_at <= due:
            return Verdict(True, (f"{severity} response SLA met: acknowledged after {took}",), "response-sla")
        late = describe_duration(acknowledged_at - due)
        return Verdict(False, (f"{severity} response SLA missed: acknowledged after {took}, {late} late",))
    if now > due:
        late = describe_duration(now - due)
        return Verdict(False, (f"{severity} response SLA missed: not acknowledged, {late} past due",))
    left = describe_duration(due - now)
    return Verdict(False, (f"{severity} response due in {left}: not acknowledged yet",), available=False)


# ---- status updates ---------------------------------------------------------------------------------------
def next_update(last_update_at: datetime, cadence_minutes: float) -> datetime:
    """When the next status update is due while the incident is open."""
    return last_update_at + timedelta(minutes=cadence_minutes)


def eta_text(opened_at: datetime, rto_minutes: float, now: datetime, *, measured_rto: float | None) -> str:
    """Where recovery stands against the RTO: measured once a run says so, else the time left or over."""
    objective = f"RTO {rto_minutes:g} min"
    if measured_rto is not None:
        met = "met" if measured_rto <= rto_minutes * 60 else "missed"
        return f"recovered: RTO {describe_duration(timedelta(seconds=measured_rto))} ({objective}: {met})"
    due = opened_at + timedelta(minutes=rto_minutes)
    if now <= due:
        return f"{objective}: {describe_duration(due - now)} left (due {due:%H:%M} UTC)"
    return f"{objective}: passed {describe_duration(now - due)} ago (was due {due:%H:%M} UTC)"


# ---- auto-resolution --------------------------------------------------------------------------------------
# a run that ended so leaves nothing for people to do (stood down: the outage was not confirmed, or traffic
# already served from where it should)
ENDED_WELL = ("succeeded", "rolled-back", "stood-down")
AUTO_RESOLVE, KEEP_OPEN, WAIT, OFF = "auto-resolve", "keep-open", "wait", "off"


@dataclass(frozen=True)
class LinkedRun:
    """A run the incident links, as its report says so far: ``status`` '' when no report was found,
    ``running`` while it runs; ``ended_at`` ISO 8601 once it ended ('' when unknown)."""

    run_id: str
    operation: str = ""
    status: str = ""
    ended_at: str = ""

    @property
    def ended(self) -> bool:
        return self.status not in ("", "running")


AUTO_RECHECK_MINUTES = 5.0  # while a linked run has not ended, auto-resolution looks again this often


def auto_resolve_at(last_link_at: datetime, minutes: float) -> datetime | None:
    """When the quiet period after the last run linked ends; None when auto-resolution is off (0)."""
    return last_link_at + timedelta(minutes=minutes) if minutes > 0 else None


def auto_resolution(
    runs: Sequence[LinkedRun], last_link_at: datetime, now: datetime, minutes: float
) -> Decision:
    """Whether the incident resolves itself now: ``auto-resolve`` (``value``: the run whose end resolved it)
    when every linked run has ended, the last to end ended well (ENDED_WELL), and for ``minutes`` since
    the later of the last link and that end nothing has linked; ``keep-open`` when the last ended otherwise
    (people resolve it); ``wait`` while the quiet period runs or a run has not ended (``value``: when to
    look again, ISO 8601); ``off`` when ``minutes`` is 0."""
    if minutes <= 0:
        return Decision(OFF, "auto-resolution is off (INCIDENT_AUTO_RESOLVE_MINUTES is 0)")
    quiet = timedelta(minutes=minutes)
    if now < last_link_at + quiet:
        since = describe_duration(now - last_link_at)
        reason = f"quiet for {since} of {minutes:g} min since the last run linked"
        return Decision(WAIT, reason, value=(last_link_at + quiet).isoformat())
    going = [r.run_id for r in runs if not r.ended]
    if going or not runs:
        again = now + timedelta(minutes=min(AUTO_RECHECK_MINUTES, minutes))
        reason = f"{', '.join(going) or 'no run'} not ended yet: the incident stays open"
        return Decision(WAIT, reason, value=again.isoformat())
    order = {r.run_id: i for i, r in enumerate(runs)}
    last = max(runs, key=lambda r: (_moment(r.ended_at), order[r.run_id]))
    what = f"{last.operation or 'run'} {last.run_id} {last.status}"
    ended_at = _moment(last.ended_at)
    if now < ended_at + quiet:
        reason = f"quiet for {describe_duration(now - ended_at)} of {minutes:g} min since {last.run_id} ended"
        return Decision(WAIT, reason, value=(ended_at + quiet).isoformat())
    quiet_for = describe_duration(now - max(last_link_at, ended_at))
    if last.status in ENDED_WELL:
        reason = f"{what}, every linked run has ended and none linked for {quiet_for}: resolved by continuity"
        return Decision(AUTO_RESOLVE, reason, value=last.run_id)
    return Decision(KEEP_OPEN, f"{what}: the incident stays open for people to resolve", value=last.run_id)


def _moment(text: str) -> datetime:
    """An ISO 8601 time (the earliest possible when missing or unreadable)."""
    try:
        return parse_time(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


# ---- the settings' parsers (shared/config/fields.py): the text kept, validated here ------------------------
TARGET_KINDS = ("pagerduty", "slack", "teams", "webhook")


def levels_setting(raw: str) -> str:
    parse_levels(raw)
    return raw.replace(" ", "")


def sla_setting(raw: str) -> str:
    parse_sla(raw)
    return raw.replace(" ", "")


def escalation_targets_setting(raw: str) -> str:
    """JSON {level: {pagerduty: routing key, slack|teams|webhook: http(s) URL}}; kept as text (a secret)."""
    problem = "must be a JSON object {level: {pagerduty|slack|teams|webhook: value}}"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(problem) from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ValueError(problem)
    for level, targets in value.items():
        for kind, target in targets.items():
            if kind not in TARGET_KINDS or not isinstance(target, str) or not target:
                raise ValueError(f"level {level}: {problem}")
            if kind != "pagerduty" and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", target):
                raise ValueError(f"level {level}: {kind} must be an http(s) URL")
    return raw
