"""The emergency rollback and container recovery, driven with fakes from the states they start in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import names
from tests.support.deploy_estate import (
    GROUPS,
    OGS,
    DeployEstate,
    image,
    recovery_input,
    released,
    rollback_input,
)
from tests.support.durable import T0, Event, drive, orchestrator
from tests.support.migration_estate import MigrationEstate

ROLLBACK = orchestrator(names.ROLLBACK_ORCHESTRATOR)
RECOVERY = orchestrator(names.CONTAINER_RECOVERY_ORCHESTRATOR)


def after_a_deploy(*, blue_image: str = "1.0.0", blue_state: str = "Stopped") -> DeployEstate:
    """1.1.0 was deployed to green over 1.0.0 on blue."""
    estate = DeployEstate(live="green", live_image="1.1.0", idle_image=blue_image)
    estate.groups[GROUPS["blue"]]["state"] = blue_state
    estate.history(released("deploy", "1.1.0", slot="green", previous_image="1.0.0", previous_slot="blue"))
    return estate


def roll_back(estate: DeployEstate, **overrides: Any) -> tuple[dict[str, Any], Any]:
    events = overrides.pop("events", ())
    ctx = estate.context(rollback_input(**overrides), events=events)
    return drive(ROLLBACK, ctx), ctx


# ---- emergency rollback --------------------------------------------------------------------------------
def test_the_fast_path_starts_the_previous_slot_and_switches_back() -> None:
    estate = after_a_deploy()
    out, ctx = roll_back(estate)
    assert out["status"] == "succeeded", out["summary"]
    assert out["summary"].startswith(
        f"rolled back from {image('1.1.0')} (green) to {image('1.0.0')} (blue) by the fast path"
    )
    assert estate.route == OGS["blue"] and ctx.payloads(names.CONTAINERS_START_GROUP) == [
        {"group": GROUPS["blue"]}
    ]
    assert [p["group"] for p in ctx.payloads(names.CONTAINERS_ENSURE_GROUP)] == [GROUPS["standby"]]
    assert estate.groups[GROUPS["green"]]["state"] == "Stopped"  # rolled away from: stopped, not deleted
    assert estate.groups[GROUPS["standby"]]["image"] == image("1.0.0")
    rollback = estate.logs["releases-qlp"][-1]
    assert (rollback["kind"], rollback["from_image"], rollback["automatic"]) == (
        "rollback",
        image("1.1.0"),
        False,
    )
    assert not any(c.get("kind") == "smoke" for c in ctx.last_report()["checks"])


def test_the_guided_path_puts_the_previous_image_into_the_idle_slot_and_smokes_it() -> None:
    estate = after_a_deploy(blue_image="0.9.0")
    out, ctx = roll_back(estate)
    assert out["status"] == "succeeded" and "by the guided path" in out["summary"]
    ensured = ctx.payloads(names.CONTAINERS_ENSURE_GROUP)[0]
    assert (ensured["group"], ensured["image"], ensured["like"]) == (
        GROUPS["blue"],
        image("1.0.0"),
        GROUPS["green"],
    )
    assert [c["name"] for c in ctx.last_report()["checks"]][:1] == ["health"]
    assert estate.route == OGS["blue"]


def test_a_previous_slot_left_in_maintenance_by_a_breaking_migration_takes_the_guided_path() -> None:
    estate = MigrationEstate(live="green", live_image="1.1.0", idle_image="1.0.0")
    estate.groups[GROUPS["blue"]]["state"] = "Stopped"
    estate.history(released("deploy", "1.1.0", slot="green", previous_image="1.0.0", previous_slot="blue"))
    estate.maintenance[GROUPS["blue"]] = "true"
    out, ctx = roll_back(estate)
    assert out["status"] == "succeeded" and "by the guided path" in out["summary"], out["summary"]
    assert any("in maintenance mode" in d["reason"] for d in ctx.last_report()["decisions"])
    assert (
        estate.maintenance[GROUPS["blue"]] == "false"
    )  # the live slot's spec, not the one kept in maintenance
    assert estate.route == OGS["blue"]


def test_an_operator_names_the_image_or_is_refused_without_a_recorded_previous_release() -> None:
    estate = DeployEstate(live="green", live_image="1.1.0")
    out, ctx = roll_back(estate)
    assert out["status"] == "refused" and "no release before" in out["summary"]
    assert ctx.notifications[-1]["page"] is True and estate.switches == []
    out, _ = roll_back(estate, to_image=image("0.8.0"))
    assert out["status"] == "succeeded" and estate.route == OGS["blue"]


def test_no_rollback_onto_a_schema_its_image_never_ran_on_unless_forced() -> None:
    estate = after_a_deploy()
    estate.history(
        {"kind": "migration", "class": "breaking", "schema_version": 8, "run_id": "m-8", "at": T0.isoformat()}
    )
    out, _ = roll_back(estate)
    assert out["status"] == "refused" and "breaking migration m-8" in out["summary"] and estate.switches == []
    out, ctx = roll_back(estate, force=True)
    assert out["status"] == "succeeded"
    assert any(
        d["rule"] == "rule 9" and "forced by an operator" in d["reason"]
        for d in ctx.last_report()["decisions"]
    )


def test_a_failover_preempts_the_rollback() -> None:
    estate = after_a_deploy()
    failover = {"run_id": "failover-qlp-1", "operation": "failover", "reason": "region outage"}
    out, _ = roll_back(estate, events=[Event("preempt", failover)])
    assert out["status"] == "preempted" and estate.switches == []


def test_nothing_to_roll_back_when_the_target_already_serves() -> None:
    estate = after_a_deploy()
    out, _ = roll_back(estate, to_image=image("1.1.0"))
    assert out["status"] == "stood-down"


# ---- container recovery --------------------------------------------------------------------------------
def recover(estate: DeployEstate, **overrides: Any) -> tuple[dict[str, Any], Any]:
    ctx = estate.context(recovery_input(**overrides))
    return drive(RECOVERY, ctx), ctx


def test_a_crashed_live_group_is_restarted_and_verified() -> None:
    estate = DeployEstate()
    estate.groups[GROUPS["blue"]]["crashed"] = True
    out, ctx = recover(estate)
    assert (
        out["status"] == "succeeded"
        and out["summary"] == f"{GROUPS['blue']} recovered by restart (after restart)"
    )
    assert ctx.payloads(names.CONTAINERS_RESTART_GROUP) == [{"group": GROUPS["blue"]}]
    assert names.TRAFFIC_SWITCH_ROUTE not in ctx.names() and names.DATABASE_PROMOTE_REPLICA not in ctx.names()
    assert estate.logs["releases-qlp"] == []


def test_a_broken_image_is_rolled_back_to_the_previous_one_after_the_restart_fails() -> None:
    estate = DeployEstate(live_image="1.1.0-broken", idle_image="1.0.0")
    estate.history(
        released("deploy", "1.1.0-broken", slot="blue", previous_image="1.0.0", previous_slot="green")
    )
    out, ctx = recover(estate)
    assert (
        out["status"] == "succeeded"
        and "recovered by image-rollback (after restart, image-rollback)" in out["summary"]
    )
    assert estate.groups[GROUPS["blue"]]["image"] == image("1.0.0")
    pages = [n for n in ctx.notifications if n["page"]]
    assert len(pages) == 1 and "roll the group back to" in pages[0]["text"]
    rollback = estate.logs["releases-qlp"][-1]
    assert (rollback["kind"], rollback["automatic"], rollback["from_image"]) == (
        "rollback",
        True,
        image("1.1.0-broken"),
    )
    assert estate.groups[GROUPS["standby"]]["image"] == image("1.0.0")


def test_without_a_previous_image_recovery_recreates_then_pages() -> None:
    estate = DeployEstate(live_image="1.1.0-broken", idle_image="1.1.0-broken")
    out, ctx = recover(estate)
    assert out["status"] == "failed" and "after restart, recreate" in out["summary"]
    assert ctx.notifications[-1]["page"] is True
    assert ctx.payloads(names.CONTAINERS_STOP_GROUP) == [{"group": GROUPS["blue"]}]


def test_a_database_fault_is_not_a_container_fault() -> None:
    estate = DeployEstate()
    estate.groups[GROUPS["blue"]]["crashed"] = True
    activities = estate.activities()
    activities[names.DATABASE_GET_SERVER] = lambda p: {"name": p["server"], "error": "unreachable"}
    ctx = estate.context(recovery_input())
    ctx.activities.update(activities)
    out = drive(RECOVERY, ctx)
    assert out["status"] == "refused" and "the database is not healthy" in out["summary"]
    assert names.CONTAINERS_RESTART_GROUP not in ctx.names()


def test_an_idle_or_healthy_group_is_left_alone() -> None:
    out, ctx = recover(DeployEstate(), group=GROUPS["green"])
    assert out["status"] == "stood-down" and "not serving traffic" in out["summary"]
    out, ctx = recover(DeployEstate())
    assert out["status"] == "stood-down" and "recovered" in out["summary"]
    assert names.CONTAINERS_RESTART_GROUP not in ctx.names()
    assert len(ctx.payloads(names.PROBE_HTTP)) == 3 and ctx.timers[-1] <= T0 + timedelta(minutes=1)
