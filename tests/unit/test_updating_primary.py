"""A primary that is Updating (a replica being created or deleted, a promotion) is waited for and observed
again, not taken for "no primary"; a stopped replica, which Azure keeps reporting as replication Active,
is not a healthy replica to the backup watch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrators.backup_watch import observation_of
from orchestrators.toolkit import Run
from orchestrators.toolkit.run import PRIMARY_WAIT_SECONDS, PRIMARY_WAITS
from shared import names
from tests.support.durable import T0, FakeContext, drive
from tests.support.estate import SOUTH, WEST, estate, snapshot
from tests.support.settings import backup_settings


def find(ctx: Any) -> Any:
    run = Run(ctx, "probe")
    found = yield from run.find_primary()
    return found.decision.action, found.decision.reason


def context(states: list[str]) -> FakeContext:
    """The primary shows ``states`` one read after another (the last one from then on)."""
    acts = estate("home")
    plain = acts[names.DATABASE_GET_SERVER]

    def get_server(p: dict[str, Any]) -> dict[str, Any]:
        found = plain(p)
        if p["server"] == SOUTH:
            found["state"] = states.pop(0) if len(states) > 1 else states[0]
        return found

    return FakeContext(
        {"run_id": "r-1", "settings": backup_settings()}, {**acts, names.DATABASE_GET_SERVER: get_server}
    )


def test_the_primary_updating_is_observed_again_until_it_is_ready() -> None:
    ctx = context(["Updating", "Updating", "Ready"])
    action, reason = drive(find, ctx)
    assert action == "primary" and reason.startswith(f"{SOUTH} is the primary")
    assert len(ctx.timers) == 2  # one durable timer before each new observation
    assert ctx.timers[1] - ctx.timers[0] >= timedelta(seconds=PRIMARY_WAIT_SECONDS)


def test_a_primary_updating_for_too_long_is_a_wait_that_says_so() -> None:
    ctx = context(["Updating"])
    action, reason = drive(find, ctx)
    assert action == "wait" and f"{SOUTH} is Updating" in reason
    assert len(ctx.timers) == PRIMARY_WAITS


def test_a_stopped_replica_is_not_healthy_though_azure_says_replication_active() -> None:
    replica = {**snapshot(WEST, "home"), "state": "Stopped", "replication_state": "Active"}
    observed = observation_of(T0, {}, replica, None, None)
    assert observed.replica_state == "Stopped"
    streaming = observation_of(T0, {}, {**replica, "state": "Ready"}, None, None)
    assert streaming.replica_state == "Active"
