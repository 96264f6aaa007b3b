"""The pre-deployment backup gate as a plan would run it: proceed, take a backup and wait, or refuse."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrators.gates import GATE_POLL_SECONDS, backup_gate
from orchestrators.toolkit import Gen, Run, RunRecord
from shared import names, policy
from tests.support.durable import NOW, FakeContext, drive, fails, returns, sequence
from tests.support.estate import WEST, estate
from tests.support.settings import backup_settings


def _gate(state: str = "home", **activities: Any) -> tuple[FakeContext, policy.Decision, RunRecord]:
    """The gate inside a tiny plan of a run (a deployment's), on the fake context."""
    ctx = FakeContext(
        {"run_id": "deploy-qlp", "settings": backup_settings()}, {**estate(state), **activities}
    )
    run = Run(ctx, "blue-green")

    def plan(context: Any) -> Gen:
        return (yield from backup_gate(run))

    decision = drive(plan, ctx)
    assert run.record.decisions[-1]["step"] == "backup-gate"
    assert (run.record.decisions[-1]["action"], run.record.decisions[-1]["reason"]) == (
        decision.action,
        decision.reason,
    )
    return ctx, decision, run.record


def _listing(age: timedelta) -> dict[str, Any]:
    return {"latest_completed_at": (NOW - age).isoformat()}


def test_a_recent_backup_lets_the_deployment_proceed_without_a_new_one() -> None:
    ctx, decision, _ = _gate(**{names.DATABASE_LIST_BACKUPS: returns(_listing(timedelta(hours=2)))})
    assert decision.action == policy.GATE_PROCEED
    assert names.DATABASE_CREATE_BACKUP not in ctx.names()


def test_an_old_backup_triggers_an_on_demand_backup_then_proceeds() -> None:
    listings = sequence(_listing(timedelta(hours=7)), _listing(timedelta(seconds=-5)))
    ctx, decision, rec = _gate(
        **{
            names.DATABASE_LIST_BACKUPS: listings,
            names.DATABASE_CREATE_BACKUP: returns({"name": "predeploy", "completed_at": NOW.isoformat()}),
        }
    )
    assert decision.action == policy.GATE_PROCEED
    listed, created = names.DATABASE_LIST_BACKUPS, names.DATABASE_CREATE_BACKUP
    observed = [names.DATABASE_GET_SERVER, names.DATABASE_GET_SERVER, names.SECRETS_GET_DATABASE_HOST]
    assert ctx.names() == [*observed, listed, created, listed]
    assert ctx.payloads(names.DATABASE_CREATE_BACKUP)[0]["server"] == "qlp-db-uksouth"
    actions = [d["action"] for d in rec.decisions]
    assert actions == ["primary", policy.GATE_TAKE_BACKUP, policy.GATE_PROCEED]


def test_a_backup_still_running_is_waited_for_with_durable_timers() -> None:
    old = _listing(timedelta(hours=7))
    listings = sequence(old, old, _listing(timedelta(seconds=0)))
    ctx, decision, _ = _gate(
        **{names.DATABASE_LIST_BACKUPS: listings, names.DATABASE_CREATE_BACKUP: returns({"created": True})}
    )
    assert decision.action == policy.GATE_PROCEED
    assert len(ctx.timers) == 1
    assert ctx.names().count(names.DATABASE_LIST_BACKUPS) == 3


def test_a_failed_on_demand_backup_refuses_the_deployment_with_the_reason() -> None:
    _, decision, _ = _gate(
        **{
            names.DATABASE_LIST_BACKUPS: returns(_listing(timedelta(hours=7))),
            names.DATABASE_CREATE_BACKUP: fails("permanent: create backup qlp-db-uksouth: quota"),
        }
    )
    assert decision.action == policy.GATE_REFUSE
    assert "on-demand backup failed" in decision.reason


def test_waiting_too_long_refuses() -> None:
    ctx, decision, _ = _gate(
        **{
            names.DATABASE_LIST_BACKUPS: returns(_listing(timedelta(hours=7))),
            names.DATABASE_CREATE_BACKUP: returns({"created": True}),
        }
    )
    assert decision.action == policy.GATE_REFUSE and "still running after" in decision.reason
    assert len(ctx.timers) >= 1800 / (GATE_POLL_SECONDS + 2)


def test_after_a_failover_the_gate_reads_and_backs_up_the_promoted_server() -> None:
    listings = sequence(_listing(timedelta(hours=7)), _listing(timedelta(seconds=0)))
    ctx, decision, _ = _gate(
        "failed-over",
        **{
            names.DATABASE_LIST_BACKUPS: listings,
            names.DATABASE_CREATE_BACKUP: returns({"name": "predeploy", "completed_at": NOW.isoformat()}),
        },
    )
    assert decision.action == policy.GATE_PROCEED
    on_west = {"server": WEST, "resource_group": "rg-ukwest"}
    assert ctx.payloads(names.DATABASE_LIST_BACKUPS) == [on_west, on_west]
    created = ctx.payloads(names.DATABASE_CREATE_BACKUP)[0]
    assert (created["server"], created["resource_group"]) == (WEST, "rg-ukwest")


def test_with_no_primary_the_gate_refuses_with_the_reason_and_backs_up_nothing() -> None:
    ctx, decision, _ = _gate("split")
    assert decision.action == policy.GATE_REFUSE
    assert decision.reason.startswith("refusing to choose a primary:")
    assert names.DATABASE_LIST_BACKUPS not in ctx.names() and names.DATABASE_CREATE_BACKUP not in ctx.names()
