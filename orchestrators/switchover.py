"""Steps around a switchover ("promote to primary server"), shared by the planned failover and failback.

Azure promotes a replica to primary only when a virtual endpoint pair writes to the primary and reads
from that replica (concepts-read-replicas-promote); the pair's writer then follows the new primary, so a
database secret on the writer needs no change through the switchover. Before it: ensure the pair, point
the secret at its writer (a no-op when it already points there), read the primary's WAL position. After
it: zero loss is verified exactly when the new primary's position has reached that one; when either
position cannot be read, the report says so (the row counts remain).
"""

from __future__ import annotations

from orchestrators.toolkit import Gen, Json, Run
from shared import names, policy
from shared.models import ReplicaLag


def prepare(run: Run, *, primary: Json, replica: Json) -> Gen:
    """Ensure the pair (writer: ``primary``, reader: ``replica``), point the database secret at its
    writer, and return the primary's WAL position now (None when it cannot be read)."""
    request = {**primary, "replica": replica["server"]}
    pair = yield from run.step("virtual_endpoint", run.act(names.DATABASE_ENSURE_VIRTUAL_ENDPOINT, request))
    run.resource(virtual_endpoint=pair.get("name"), writer_endpoint=pair.get("writer_host"))
    writer = {**primary, "endpoint": "writer"}
    yield from run.step("point_secret_writer", run.act(names.SECRETS_POINT_DATABASE_URL, writer))
    before = yield from run.observe(names.DATABASE_GET_WAL_POSITION, primary)
    run.measure(primary_lsn_before_switchover=before.get("lsn"))
    return before.get("lsn")


def catch_up(run: Run, *, primary: Json, replica: Json) -> Gen:
    """Whether ``replica`` has caught up with ``primary``: by WAL position when both can be read (the
    primary's first), else by the lag metric with its tolerance (policy.caught_up)."""
    at_primary = yield from run.observe(names.DATABASE_GET_WAL_POSITION, primary)
    at_replica, lag = yield from run.gather(
        [(names.DATABASE_GET_WAL_POSITION, replica), (names.DATABASE_GET_REPLICATION_LAG, replica)],
        safely=True,
    )
    return policy.caught_up(
        ReplicaLag(lag.get("lag_seconds"), str(lag.get("source", ""))),
        primary_lsn=_lsn(at_primary, in_recovery=False),
        replica_lsn=_lsn(at_replica, in_recovery=True),
    )


def verify_zero_loss(run: Run, *, new_primary: Json, before: str | None) -> Gen:
    """After the switchover: the new primary holds everything the old one had written before it."""
    if not before:
        run.measure(zero_loss_by_lsn=None)
        return "WAL positions not compared: the old primary's position could not be read before"
    after = yield from run.observe(names.DATABASE_GET_WAL_POSITION, new_primary)
    decision = run.decide("zero_loss", policy.zero_loss(before=before, after=_lsn(after, in_recovery=False)))
    run.measure(zero_loss_by_lsn=None if decision.is_("unknown") else decision.is_("verified"))
    return decision.reason


def _lsn(position: Json, *, in_recovery: bool) -> str | None:
    """The position's LSN when it was read and the server is in the expected role."""
    if "error" in position or bool(position.get("in_recovery")) != in_recovery:
        return None
    return str(position.get("lsn") or "") or None
