"""Decisions that follow Azure's semantics: catching up by WAL position (exact) or by the lag metric
within the tolerance its meaning allows; zero loss after a switchover; a primary that is Updating is
waited for, not "no primary"; the database secret on a writer endpoint reaches its server; derived
server names stay within Azure's 63 characters however many failbacks and restores happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared import policy
from shared.models import ReplicaLag
from shared.naming import MAX_SERVER_NAME, derived_server_name, failback_server_name, virtual_endpoint_name

T = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def view(name: str, **kw: object) -> policy.ServerView:
    defaults: dict[str, object] = {"state": "Ready", "role": "standalone", "fqdn": f"{name}.pg:5432"}
    return policy.ServerView(name=name, **{**defaults, **kw})  # type: ignore[arg-type]


def test_by_wal_position_catch_up_is_exact_and_the_metric_alone_has_a_tolerance() -> None:
    lag = ReplicaLag(seconds=600.0, source="metric")  # positions win over the metric
    ready = policy.caught_up(lag, primary_lsn="16/B374D848", replica_lsn="16/B374D848")
    assert ready.is_("ready") and ready.value == 0 and "by WAL position" in ready.reason
    behind = policy.caught_up(ReplicaLag(0.0), primary_lsn="16/B374D848", replica_lsn="16/B3740000")
    assert behind.is_("wait") and behind.value == 0xD848
    assert policy.caught_up(ReplicaLag(5.0)).is_("ready")  # idle primary: Azure shows ~5 s
    edge = policy.METRIC_CATCH_UP_TOLERANCE_SECONDS
    assert policy.caught_up(ReplicaLag(edge)).is_("ready")
    assert policy.caught_up(ReplicaLag(edge + 1)).is_("wait")
    assert policy.caught_up(ReplicaLag(None), primary_lsn="0/1", replica_lsn=None).is_("wait")


def test_zero_loss_after_a_switchover() -> None:
    assert policy.zero_loss(before="0/3000060", after="0/3000100").is_("verified")
    assert policy.zero_loss(before="0/3000060", after="0/3000060").is_("verified")
    missing = policy.zero_loss(before="0/3000060", after="0/3000000")
    assert missing.is_("missing") and missing.value == 0x60
    assert policy.zero_loss(before="0/3000060", after=None).is_("unknown")


def test_a_primary_that_is_updating_is_waited_for_not_no_primary() -> None:
    updating = view("pg-south", state="Updating", role="primary")
    replica = view("pg-west", role="replica", source_server="pg-south")
    decision = policy.current_primary([updating, replica], secret_host="pg-south.pg:5432")
    assert decision.is_("wait") and "pg-south is Updating" in decision.reason
    assert decision.value is not None and decision.value.replica == "pg-west"
    ready = policy.current_primary([view("pg-south", role="primary"), replica], secret_host="pg-south.pg")
    assert ready.is_("primary")


def test_a_secret_on_the_writer_endpoint_reaches_the_writer() -> None:
    writer = "qlp-db-ve.writer.postgres.database.azure.com"
    new = view("pg-west", role="primary", aliases=(writer,))
    old = view("pg-south", role="replica", source_server="pg-west")
    decision = policy.current_primary([old, new], secret_host=writer)
    assert decision.is_("primary") and decision.value is not None and decision.value.server == "pg-west"
    elsewhere = policy.current_primary([old, view("pg-west", role="primary")], secret_host=writer)
    assert elsewhere.is_("refuse")


def test_derived_names_stay_within_63_characters_and_do_not_grow() -> None:
    name = "q" * 60 + "-db"
    for i in range(20):  # failbacks, restores and drills, each named from the last
        at = T + timedelta(hours=i)
        name = failback_server_name(name, f"{i:06x}")
        name = derived_server_name(name, "pitr", at)
        drill = derived_server_name(name, "drill", at, role="r")
        assert len(name) <= MAX_SERVER_NAME and len(drill) <= MAX_SERVER_NAME
        assert not drill.startswith("-") and not drill.endswith("-") and drill == drill.lower()
    assert name == derived_server_name("q" * 60 + "-db", "pitr", T + timedelta(hours=19))
    assert virtual_endpoint_name("qlp-db-uksouth-fbab12cd") == "qlp-db-uksouth-ve"
    assert len(virtual_endpoint_name("x" * 63)) <= MAX_SERVER_NAME
