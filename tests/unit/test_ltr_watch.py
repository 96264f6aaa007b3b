"""The backup watch's long-term checks: the last long-term backup (failed, or older than 8 days,
breaches once and resolves once) and the backup account's protection; policy from every state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared import names
from shared.policy import long_term as ltr_policy
from tests.support.durable import NOW, FakeContext, drive, orchestrator, returns
from tests.support.estate import estate
from tests.support.settings import backup_settings

PROTECTED = {
    "account": "qlpbackups",
    "replication": "Standard_RAGZRS",
    "versioning": True,
    "delete_retention_days": 365,
    "container": "long-term-backups",
    "immutability": True,
    "immutability_days": 2557,
    "immutability_state": "Locked",
}


def _entry(status: str = "succeeded", days_ago: float = 1.0) -> dict[str, Any]:
    ended = (NOW - timedelta(days=days_ago)).isoformat()
    return {
        "id": "ltr-qlp-x",
        "backup_name": "ltr-qlp-x",
        "status": status,
        "ended_at": ended,
        "reason": "boom",
    }


class Watch:
    """Ticks of the watch over a long-term log and an account that a test changes between ticks."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None
        self.entries: list[dict[str, Any]] = [_entry()]
        self.protection = dict(PROTECTED)

    def tick(self) -> tuple[FakeContext, dict[str, Any]]:
        activities = {
            **estate("home"),
            names.STORAGE_READ_STATE: lambda p: {"found": self.state is not None, "state": self.state},
            names.STORAGE_WRITE_STATE: lambda p: setattr(self, "state", p["state"]) or {"written": True},
            names.DATABASE_LIST_BACKUPS: returns(
                {
                    "latest_completed_at": (NOW - timedelta(hours=1)).isoformat(),
                    "earliest_restore_point": (NOW - timedelta(days=30)).isoformat(),
                    "backup_retention_days": 30,
                    "geo_redundant_backup": "Enabled",
                }
            ),
            names.DATABASE_LIST_REPLICAS: returns(
                {"replicas": [{"name": "qlp-db-ukwest", "replication_state": "Active"}]}
            ),
            names.DATABASE_GET_REPLICATION_LAG: returns({"lag_seconds": 1.0}),
            names.STORAGE_GET_GEO_SYNC: returns({"available": True, "last_sync_time": NOW.isoformat()}),
            names.DATABASE_WRITE_SENTINEL: lambda p: {"name": p["name"], "written_at": NOW.isoformat()},
            names.STORAGE_READ_LOG: lambda p: {"log": p["log"], "entries": list(self.entries)},
            names.STORAGE_GET_PROTECTION: lambda p: dict(self.protection),
        }
        settings = backup_settings(backup_storage_account="qlpbackups")
        ctx = FakeContext({"settings": settings}, activities, now=NOW)
        return ctx, drive(orchestrator(names.BACKUP_WATCH_ORCHESTRATOR), ctx)


def _checks(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in result["checks"]}


def test_a_recent_backup_and_a_protected_account_keep_the_watch_healthy() -> None:
    ctx, result = Watch().tick()
    assert result["healthy"] is True, result["checks"]
    assert ctx.payloads(names.STORAGE_READ_LOG) == [{"log": "ltr-qlp"}]
    assert "1 d 0 h old" in _checks(result)["long-term-backup"]["reason"]


def test_a_failed_long_term_backup_breaches_once_and_resolves_once() -> None:
    watch = Watch()
    watch.entries.append(_entry("failed"))
    first, result = watch.tick()
    assert result["healthy"] is False
    assert "ltr-qlp-x failed: boom" in _checks(result)["long-term-backup"]["reason"]
    assert [m["event"] for m in first.payloads(names.NOTIFY_SEND)] == ["backup-breached"]
    second, _ = watch.tick()
    assert names.NOTIFY_SEND not in second.names()  # notified once
    watch.entries.append(_entry())
    third, result = watch.tick()
    assert result["healthy"] is True
    assert [m["event"] for m in third.payloads(names.NOTIFY_SEND)] == ["backup-resolved"]


def test_a_last_backup_older_than_eight_days_breaches() -> None:
    watch = Watch()
    watch.entries = [_entry(days_ago=8.5)]
    ctx, result = watch.tick()
    check = _checks(result)["long-term-backup"]
    assert check["ok"] is False and "8 d 12 h old (limit 8 d 0 h)" in check["reason"]
    assert ctx.payloads(names.NOTIFY_SEND)[0]["fields"]["check"] == "long-term-backup"


def test_an_account_without_versioning_breaches_with_the_reason() -> None:
    watch = Watch()
    watch.protection["versioning"] = False
    _, result = watch.tick()
    check = _checks(result)["backup-storage-protection"]
    assert check["ok"] is False and check["reason"] == "blob versioning is off"


def test_the_long_term_check_from_every_state() -> None:
    check = ltr_policy.long_term_check
    assert check(None, NOW, max_age_days=8).reason == "no long-term backup has been taken"
    assert not check(_entry("timed-out"), NOW, max_age_days=8).passed
    assert not check({**_entry(), "ended_at": None}, NOW, max_age_days=8).passed
    assert check(_entry(days_ago=7.9), NOW, max_age_days=8).passed
    assert not check(_entry(days_ago=8.1), NOW, max_age_days=8).passed


def test_storage_protection_names_every_shortfall() -> None:
    judge = ltr_policy.storage_protection
    assert judge(PROTECTED, min_delete_retention_days=365, compliance_years=7).passed
    bad = {**PROTECTED, "replication": "Standard_ZRS", "delete_retention_days": 0, "immutability_days": 365}
    verdict = judge(bad, min_delete_retention_days=365, compliance_years=7)
    assert verdict.reasons == (
        "replication is Standard_ZRS, not geo-redundant (GRS, RA-GRS, GZRS or RA-GZRS)",
        "blob delete retention is off, less than 365 days",
        "the long-term container long-term-backups is immutable for 365 days, less than 2556 (7 years)",
    )
    gone = judge({**PROTECTED, "immutability": False}, min_delete_retention_days=365, compliance_years=7)
    assert gone.reasons == ("the long-term container long-term-backups has no immutability policy",)
    assert ltr_policy.required_immutability_days(7) == 2556
