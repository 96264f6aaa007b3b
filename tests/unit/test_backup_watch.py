"""The backup watch plan over ticks: notify once per breach, resolve once, keep the latest result."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import names, policy
from shared.config import Settings
from shared.estate import backup_watch_state
from tests.support.durable import NOW, FakeContext, drive, fails, orchestrator, returns
from tests.support.estate import PITR, SOUTH, WEST, estate
from tests.support.settings import backup_settings

STATE_NAME = "backup-watch-" + Settings.from_dict(backup_settings()).app_name


class Blob:
    """The watch's working state, carried from one tick to the next as blob storage would."""

    def __init__(self) -> None:
        self.report: dict[str, Any] | None = None
        self.writes = 0

    def read(self, p: dict[str, Any]) -> dict[str, Any]:
        assert p == {"name": STATE_NAME}
        return {"found": self.report is not None, "state": self.report}

    def write(self, p: dict[str, Any]) -> dict[str, Any]:
        assert p.keys() == {"name", "state"} and p["name"] == STATE_NAME
        self.report = p["state"]
        self.writes += 1
        return {"name": p["name"], "written": True}


def _backups(age_hours: float, now: Any = NOW) -> dict[str, Any]:
    return {
        "latest_completed_at": (now - timedelta(hours=age_hours)).isoformat(),
        "earliest_restore_point": (now - timedelta(days=30)).isoformat(),
        "backup_retention_days": 30,
        "geo_redundant_backup": "Enabled",
    }


def _tick(
    blob: Blob, *, age_hours: float = 1.0, now: Any = NOW, state: str = "home", **overrides: Any
) -> FakeContext:
    activities = {
        **estate(state),
        names.STORAGE_READ_STATE: blob.read,
        names.STORAGE_WRITE_STATE: blob.write,
        names.DATABASE_LIST_BACKUPS: returns(_backups(age_hours, now)),
        names.DATABASE_LIST_REPLICAS: returns(
            {"replicas": [{"name": "qlp-db-ukwest", "replication_state": "Active"}]}
        ),
        names.DATABASE_GET_REPLICATION_LAG: returns({"lag_seconds": 1.5, "source": "database"}),
        names.STORAGE_GET_GEO_SYNC: returns(
            {"available": True, "last_sync_time": (now - timedelta(minutes=1)).isoformat()}
        ),
        names.DATABASE_WRITE_SENTINEL: lambda p: {"name": p["name"], "written_at": now.isoformat()},
    }
    activities.update(overrides)
    ctx = FakeContext({"settings": backup_settings()}, activities, now=now)
    writes = blob.writes
    result = drive(orchestrator(names.BACKUP_WATCH_ORCHESTRATOR), ctx)
    assert blob.writes == writes + 1 and result == blob.report  # one state written a tick: the result
    assert ctx.reports == [] and names.STORAGE_WRITE_REPORT not in ctx.names()  # not a run: no report
    return ctx


def test_the_state_is_named_after_the_app() -> None:
    assert backup_watch_state(Settings.from_dict(backup_settings())) == STATE_NAME
    assert _tick(Blob()).payloads(names.STORAGE_READ_STATE) == [{"name": STATE_NAME}]


def test_a_healthy_estate_notifies_nothing_and_stores_a_healthy_result() -> None:
    blob = Blob()
    ctx = _tick(blob)
    assert names.NOTIFY_SEND not in ctx.names()
    assert blob.report is not None and blob.report["healthy"] is True
    assert blob.report["latest_backup_age_seconds"] == 3600.0
    assert blob.report["open_breaches"] == {}
    assert ctx.payloads(names.DATABASE_GET_REPLICATION_LAG) == [{"server": "qlp-db-ukwest"}]
    assert ctx.payloads(names.DATABASE_LIST_BACKUPS) == [{"server": SOUTH, "resource_group": "rg-uksouth"}]
    assert blob.report["primary"]["primary"] == SOUTH
    assert ctx.payloads(names.DATABASE_WRITE_SENTINEL)[0]["name"].startswith("watch-")


def test_an_old_backup_notifies_once_then_stays_quiet_then_resolves_once() -> None:
    blob = Blob()
    first = _tick(blob, age_hours=5)
    sent = first.payloads(names.NOTIFY_SEND)
    assert [(p["event"], p["action"]) for p in sent] == [("backup-breached", "trigger")]
    assert "5 h 0 min old" in sent[0]["text"]
    assert policy.CHECK_BACKUP_AGE in (blob.report or {})["open_breaches"]

    later = NOW + timedelta(minutes=15)
    second = _tick(blob, age_hours=5.25, now=later)
    assert names.NOTIFY_SEND not in second.names()

    cleared = NOW + timedelta(minutes=30)
    third = _tick(blob, age_hours=0.1, now=cleared)
    resolved = third.payloads(names.NOTIFY_SEND)
    assert [(p["event"], p["action"]) for p in resolved] == [("backup-resolved", "resolve")]
    assert resolved[0]["dedup_key"] == sent[0]["dedup_key"]
    assert (blob.report or {})["open_breaches"] == {}

    fourth = _tick(blob, age_hours=0.2, now=cleared + timedelta(minutes=15))
    assert names.NOTIFY_SEND not in fourth.names()


def test_a_lagging_replica_is_its_own_breach() -> None:
    blob = Blob()
    ctx = _tick(blob, **{names.DATABASE_GET_REPLICATION_LAG: returns({"lag_seconds": 1200.0})})
    sent = ctx.payloads(names.NOTIFY_SEND)
    assert [p["fields"]["check"] for p in sent] == [policy.CHECK_REPLICA]


def test_an_unreadable_backup_list_is_a_watch_breach_not_a_crash() -> None:
    blob = Blob()
    ctx = _tick(blob, **{names.DATABASE_LIST_BACKUPS: fails("permanent: list backups qlp-db-uksouth: 403")})
    sent = ctx.payloads(names.NOTIFY_SEND)
    assert [p["fields"]["check"] for p in sent] == [policy.CHECK_WATCH_PROBE]
    assert "403" in sent[0]["text"]
    assert blob.report is not None and blob.report["healthy"] is False


def test_storage_without_a_secondary_is_reported_not_available() -> None:
    blob = Blob()
    ctx = _tick(blob, **{names.STORAGE_GET_GEO_SYNC: returns({"available": False, "reason": "LRS"})})
    assert names.NOTIFY_SEND not in ctx.names()
    geo = next(c for c in (blob.report or {})["checks"] if c["name"] == policy.CHECK_STORAGE_GEO_SYNC)
    assert geo["available"] is False and "not available" in geo["reason"]


def test_a_failed_sentinel_write_is_reported_as_a_breach() -> None:
    blob = Blob()
    ctx = _tick(blob, **{names.DATABASE_WRITE_SENTINEL: fails("transient: write sentinel: timeout")})
    assert ctx.names().count(names.DATABASE_WRITE_SENTINEL) == 4
    assert (blob.report or {})["open_breaches"].keys() == {policy.CHECK_WATCH_PROBE}


def test_after_a_failover_the_watch_reads_and_writes_on_the_promoted_server() -> None:
    blob = Blob()
    ctx = _tick(blob, state="failed-over", **{names.DATABASE_LIST_REPLICAS: returns({"replicas": []})})
    on_west = {"server": WEST, "resource_group": "rg-ukwest"}
    assert ctx.payloads(names.DATABASE_LIST_BACKUPS) == [on_west]
    assert ctx.payloads(names.DATABASE_LIST_REPLICAS) == [on_west]
    sentinel = ctx.payloads(names.DATABASE_WRITE_SENTINEL)[0]
    assert (sentinel["server"], sentinel["resource_group"]) == (WEST, "rg-ukwest")
    assert names.DATABASE_GET_REPLICATION_LAG not in ctx.names()
    report = blob.report or {}
    assert report["primary"]["reason"] == (
        f"{WEST} is the primary ({SOUTH} is stopped; the database secret points at {WEST})"
    )
    failing = {c["name"]: c["reason"] for c in report["checks"] if not c["ok"]}
    assert failing == {policy.CHECK_REPLICA: "the primary server has no read replica"}


def test_after_a_switchover_the_old_primary_is_the_replica_watched() -> None:
    blob = Blob()
    listed = {"replicas": [{"name": SOUTH, "resource_group": "rg-uksouth", "replication_state": "Active"}]}
    ctx = _tick(blob, state="switched-over", **{names.DATABASE_LIST_REPLICAS: returns(listed)})
    assert ctx.payloads(names.DATABASE_GET_REPLICATION_LAG) == [
        {"server": SOUTH, "resource_group": "rg-uksouth"}
    ]
    assert (blob.report or {})["healthy"] is True


def test_two_writable_servers_are_a_breach_and_nothing_is_read_or_written() -> None:
    blob = Blob()
    ctx = _tick(blob, state="split")
    for activity in (names.DATABASE_LIST_BACKUPS, names.DATABASE_WRITE_SENTINEL):
        assert activity not in ctx.names()
    sent = ctx.payloads(names.NOTIFY_SEND)
    assert [p["fields"]["check"] for p in sent] == [policy.CHECK_WATCH_PROBE]
    assert f"refusing to choose a primary: {SOUTH} and {WEST} are both writable" in sent[0]["text"]
    assert (blob.report or {})["primary"]["action"] == "refuse"


def test_after_a_restore_with_switch_the_restored_server_the_secret_points_at_is_watched() -> None:
    blob = Blob()
    ctx = _tick(blob, state="restored", **{names.DATABASE_LIST_REPLICAS: returns({"replicas": []})})
    listed = ctx.payloads(names.DATABASE_LIST_SERVERS)
    assert {p["resource_group"] for p in listed} == {"rg-uksouth", "rg-ukwest"}
    assert all(p["created_by_continuity"] is True for p in listed)
    assert ctx.payloads(names.DATABASE_LIST_BACKUPS) == [{"server": PITR, "resource_group": "rg-uksouth"}]
    assert ctx.payloads(names.DATABASE_WRITE_SENTINEL)[0]["server"] == PITR
    assert (blob.report or {})["primary"]["reason"] == (
        f"{PITR} is the primary ({SOUTH} is stopped; {WEST} is a replica of {SOUTH}; "
        f"the database secret points at {PITR})"
    )


def test_servers_are_listed_only_when_the_secret_points_at_none_of_the_candidates() -> None:
    assert names.DATABASE_LIST_SERVERS not in _tick(Blob()).names()
    assert names.DATABASE_LIST_SERVERS not in _tick(Blob(), state="failed-over").names()
