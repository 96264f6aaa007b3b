"""Failover and failback decisions: confirmation, the safety rules 1-5 and 7, grace, failures.

Each function returns a Decision; every decision a safety rule governs carries the rule's number, whether
it allows or refuses (DESIGN.md 4.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.models import Decision, ProbeSnapshot, ReplicaLag
from shared.policy.durations import duration


def _run_of(items: Sequence[ProbeSnapshot], healthy: bool) -> int:
    """How many of the latest probes in a row have the given health."""
    count = 0
    for probe in reversed(items):
        if probe.healthy != healthy:
            break
        count += 1
    return count


# ---- rule 1 -----------------------------------------------------------------------------------------
def may_start(operation: str, running: Sequence[str]) -> Decision:
    """``start`` when no DR operation runs for the app, else ``refuse`` naming the running one."""
    if running:
        names = ", ".join(running)
        return Decision("refuse", f"{operation} refused: {names} is already running for this app", "rule 1")
    return Decision("start", f"no other DR operation is running: {operation} may start", "rule 1")


# ---- confirmation -----------------------------------------------------------------------------------
def confirm_outage(
    probes: Sequence[ProbeSnapshot], *, threshold: int, max_probes: int, resolved: bool = False
) -> Decision:
    """Decide from the primary's probes so far: ``confirmed``, ``recovered`` or ``probe`` (again).

    Confirmed after ``threshold`` failures in a row; recovered when the alert resolved or the
    primary answered ``threshold`` times in a row; after ``max_probes`` without either, recovered
    (a flapping primary is not failed over automatically; an operator may start one).
    """
    if resolved:
        return Decision("recovered", "the alert resolved during confirmation: recovered, no failover")
    if threshold <= 0:
        return Decision(
            "confirmed", "confirmation is disabled (threshold 0): the signal is taken as an outage"
        )
    failed, answered = _run_of(probes, False), _run_of(probes, True)
    if failed >= threshold:
        return Decision("confirmed", f"the primary failed {failed} consecutive probes: outage confirmed")
    if answered >= threshold:
        return Decision(
            "recovered", f"the primary answered {answered} consecutive probes: recovered, no failover"
        )
    if len(probes) >= max_probes:
        bad = sum(1 for p in probes if not p.healthy)
        return Decision(
            "recovered",
            f"the primary failed {bad} of {len(probes)} probes without {threshold} failures in a row: "
            "not confirmed, no automatic failover",
        )
    return Decision("probe", f"{failed} consecutive failed probes of {threshold} needed: probing again")


# ---- rule 7 -----------------------------------------------------------------------------------------
def failover_budget(
    recent: Sequence[datetime], *, now: datetime, max_per_window: int, window_seconds: float
) -> Decision:
    """``allow`` an automatic failover unless ``max_per_window`` already ran in the window (``refuse``)."""
    since = now - timedelta(seconds=window_seconds)
    count = sum(1 for at in recent if at >= since)
    window = duration(window_seconds)
    if count >= max_per_window:
        return Decision(
            "refuse",
            f"automatic failover refused: {count} already ran in the last {window} "
            f"(limit {max_per_window}); an operator may start one",
            "rule 7",
        )
    text = f"{count} automatic failovers in the last {window}, limit {max_per_window}"
    return Decision("allow", text, "rule 7")


# ---- rule 3 -----------------------------------------------------------------------------------------
def lag_gate(lag: ReplicaLag, *, rpo_seconds: float) -> Decision:
    """``within`` when the replica's lag is inside the RPO, ``exceeded`` when over it or unknown."""
    rpo = duration(rpo_seconds)
    if lag.seconds is None:
        text = f"replica lag could not be measured: treated as over the RPO of {rpo}"
        return Decision("exceeded", text, "rule 3")
    if lag.seconds > rpo_seconds:
        return Decision("exceeded", f"replica lag {duration(lag.seconds)} is over the RPO of {rpo}", "rule 3")
    return Decision("within", f"replica lag {duration(lag.seconds)} is within the RPO of {rpo}", "rule 3")


# ---- rule 4 -----------------------------------------------------------------------------------------
def promote_mode(*, requested: str, primary_reachable: bool) -> Decision:
    """``planned`` or ``forced`` promote for ``requested`` auto|planned|forced, or ``refuse``.

    A planned switchover needs a reachable primary; forced is used only when it does not answer.
    """
    if primary_reachable:
        if requested == "forced":
            text = "forced was requested but the primary answers: planned switchover instead"
            return Decision("planned", text, "rule 4")
        return Decision("planned", "the primary answers: planned switchover, no data loss", "rule 4")
    if requested == "planned":
        return Decision(
            "refuse",
            "planned switchover refused: the primary does not answer; start a forced failover instead",
            "rule 4",
        )
    return Decision("forced", "the primary does not answer: forced promote of the replica", "rule 4")


def approval(*, trigger_kind: str, failover_mode: str, promote: Decision, lag: Decision) -> Decision:
    """``approval`` (wait for an operator) or ``proceed``.

    A forced promote over the RPO always waits (rule 3: the operator's approval is the override);
    an alert-started run in manual mode waits; everything else proceeds.
    """
    if promote.is_("forced") and lag.is_("exceeded"):
        return Decision(
            "approval", f"{lag.reason}: no automatic forced promote, waiting for operator approval", "rule 3"
        )
    if trigger_kind != "operator" and failover_mode == "manual":
        return Decision("approval", "failover mode is manual: waiting for operator approval")
    if trigger_kind == "operator":
        return Decision("proceed", "started by an operator: no further approval needed")
    return Decision("proceed", "failover mode is automatic and the lag gate passed: no approval needed")


def approval_timeout(*, on_timeout: str, waited_seconds: float) -> Decision:
    """After ``waited_seconds`` without an answer, per ``on_timeout``: ``stop``, ``wait`` or ``escalate``
    (page, then keep waiting)."""
    waited = duration(waited_seconds)
    if on_timeout == "stop":
        return Decision("stop", f"no approval after {waited}: stopped, nothing changed")
    if on_timeout == "wait":
        return Decision("wait", f"no approval after {waited}: still waiting")
    return Decision("escalate", f"no approval after {waited}: escalated by page, still waiting")


def approval_answer(answer: str, *, by: str = "", note: str = "") -> Decision:
    """An operator's answer to an approval request: ``proceed`` on approve, ``stop`` otherwise."""
    who = f" by {by}" if by else ""
    why = f": {note}" if note else ""
    if answer == "approve":
        return Decision("proceed", f"approved{who}{why}")
    if answer == "cancel":
        return Decision("stop", f"cancelled{who}{why}: stopped, nothing changed")
    return Decision("stop", f"rejected{who}{why}: stopped, nothing changed")


# ---- grace period -----------------------------------------------------------------------------------
def grace(*, trigger_kind: str, grace_seconds: float, rto_seconds: float) -> Decision:
    """``wait`` ``grace_seconds`` for the primary to recover before failing over, or ``skip``."""
    if trigger_kind == "operator":
        return Decision("skip", "started by an operator: no grace period")
    if grace_seconds <= 0:
        return Decision("skip", "grace period is 0: failing over at once")
    note = "inside" if grace_seconds < rto_seconds else "NOT inside"
    return Decision(
        "wait",
        f"standby prepared; waiting {duration(grace_seconds)} for the primary to recover "
        f"({note} the RTO of {duration(rto_seconds)}); approval ends the wait early",
    )


def after_grace(primary: ProbeSnapshot, *, resolved: bool, approved: bool = False) -> Decision:
    """At the end of the grace period: ``failover``, or ``stand-down`` when the primary came back."""
    if approved:
        return Decision("failover", "approved during the grace period: failing over now")
    if resolved:
        return Decision("stand-down", "the alert resolved during the grace period: recovered, no failover")
    if primary.healthy:
        return Decision(
            "stand-down", "the primary answers again after the grace period: recovered, no failover"
        )
    return Decision("failover", "the primary is still down after the grace period: failing over")


# ---- rule 2 -----------------------------------------------------------------------------------------
def route_traffic(*, target: str, healthy_origins: int, total_origins: int) -> Decision:
    """``switch`` traffic to ``target`` only when it has a healthy origin, else ``refuse``."""
    if healthy_origins <= 0:
        return Decision(
            "refuse",
            f"traffic switch refused: origin group {target} has no healthy origin (0 of {total_origins})",
            "rule 2",
        )
    text = f"origin group {target} has {healthy_origins} of {total_origins} origins healthy"
    return Decision("switch", text, "rule 2")


# ---- rule 5 -----------------------------------------------------------------------------------------
def fence(*, promote: str, old_primary_role: str, old_primary_state: str) -> Decision:
    """``fence`` (stop, never delete) the old primary, or ``skip`` when it cannot take writes.

    After a forced promote the old primary must be fenced; after a planned promote it is fenced too
    unless it became a replica of the new primary (a switchover) or is already stopped.
    """
    if old_primary_state.lower() == "stopped":
        return Decision("skip", "the old primary is already stopped: fenced", "rule 5")
    if promote == "forced":
        text = "forced promote: stopping the old primary so it cannot take writes"
        return Decision("fence", text, "rule 5")
    if old_primary_role == "replica":
        text = "switchover made the old primary a read-only replica: no fence needed"
        return Decision("skip", text, "rule 5")
    text = "the old primary is still writable after the promote: stopping it (never deleting)"
    return Decision("fence", text, "rule 5")


# ---- failures -----------------------------------------------------------------------------------------
def on_step_failure(step: str, *, promoted: bool, traffic_moved: bool, error: str) -> Decision:
    """What a failure at ``step`` means for traffic: ``leave`` it, or ``page`` and never undo a promote."""
    if traffic_moved:
        return Decision(
            "page",
            f"{step} failed after traffic moved ({error}): paging; the promotion is never undone",
        )
    if promoted:
        return Decision(
            "page",
            f"{step} failed after the promote but before traffic moved ({error}): traffic left where it "
            "was, paging; the promotion is not undone",
        )
    return Decision("leave", f"{step} failed before anything changed ({error}): traffic left where it was")


# ---- failback -----------------------------------------------------------------------------------------
def failback_allowed(*, primary_region: str, home_region: str) -> Decision:
    """``start`` a failback only when the primary is away from its home region, else ``refuse``."""
    if primary_region == home_region:
        return Decision(
            "refuse", f"failback refused: the primary is already in its home region {home_region}"
        )
    return Decision("start", f"the primary runs in {primary_region}: failing back to {home_region}")


# Azure's replica lag metric is the time since the replica last replayed a transaction (an idle primary
# shows a few seconds, rarely 0; concepts-read-replicas, "Monitoring metrics"). A reading inside this
# tolerance says the replica is streaming and current, not that nothing is missing: only LSNs say that.
METRIC_CATCH_UP_TOLERANCE_SECONDS = 15.0


def lsn_bytes(lsn: str) -> int:
    """A PostgreSQL LSN (``16/B374D848``) as a byte position; ValueError when malformed."""
    high, _, low = lsn.strip().partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def caught_up(
    lag: ReplicaLag,
    *,
    primary_lsn: str | None = None,
    replica_lsn: str | None = None,
    tolerance_seconds: float = METRIC_CATCH_UP_TOLERANCE_SECONDS,
) -> Decision:
    """``ready`` when the new replica has caught up, else ``wait``.

    Exact when both WAL positions were read: the replica's replayed LSN has reached the primary's
    position read before it (the decision's value: bytes behind). Otherwise the lag metric within
    ``tolerance_seconds``, as its meaning allows (time since the last replayed transaction).
    """
    if primary_lsn and replica_lsn:
        behind = max(0, lsn_bytes(primary_lsn) - lsn_bytes(replica_lsn))
        if behind == 0:
            return Decision(
                "ready",
                f"the new replica has replayed the primary's position {primary_lsn} (at {replica_lsn}): "
                "nothing missing, by WAL position",
                value=0,
            )
        return Decision(
            "wait",
            f"the new replica is {behind} bytes of WAL behind ({replica_lsn} of {primary_lsn}): waiting",
            value=behind,
        )
    if lag.seconds is None:
        return Decision("wait", "the new replica's lag is not measurable yet: waiting")
    if lag.seconds > tolerance_seconds:
        return Decision("wait", f"the new replica is {duration(lag.seconds)} behind: waiting to catch up")
    return Decision(
        "ready",
        f"the new replica has caught up (lag {duration(lag.seconds)}, within {duration(tolerance_seconds)} "
        "of the lag metric; the WAL positions could not be compared)",
    )


def zero_loss(*, before: str, after: str | None) -> Decision:
    """``verified`` when the new primary's WAL position (``after``) has reached the old primary's last
    one read before the switchover (``before``); ``missing`` when it has not; ``unknown`` unread."""
    if not after:
        return Decision("unknown", "zero loss not verified: the new primary's WAL position could not be read")
    behind = lsn_bytes(before) - lsn_bytes(after)
    if behind <= 0:
        return Decision(
            "verified",
            f"zero loss verified by WAL position: the new primary is at {after}, past "
            f"the old primary's {before}",
            value=0,
        )
    return Decision(
        "missing",
        f"the new primary is at {after}, {behind} bytes before the old primary's "
        f"{before}: data may be missing",
        value=behind,
    )
