"""The weekly long-term backup plan driven with fake activities: the backup followed to its end, the
blobs it wrote read back, the account's protection checked, the log the watch reads, the report kept."""

from __future__ import annotations

from typing import Any

from orchestrators.long_term_backup import ltr_log
from shared import names
from tests.support.durable import FakeContext, drive, orchestrator
from tests.support.estate import estate as observed
from tests.support.settings import backup_settings

PROTECTED = {
    "account": "qlpbackups",
    "replication": "Standard_GRS",
    "versioning": True,
    "delete_retention_days": 365,
    "container": "long-term-backups",
    "immutability": True,
    "immutability_days": 2557,
    "immutability_state": "Locked",
}
DUMP = {"name": "qlp-db-uksouth/ltr-qlp/qlp_db.dump", "size": 2048, "md5": "bWQ1", "created_at": "x"}


class FakeLtr:
    """Azure's long-term retention API and the container: the operation reports ``statuses`` in turn."""

    def __init__(self, *statuses: str, protection: dict[str, Any] | None = None) -> None:
        self.statuses = list(statuses or ("Running", "Succeeded"))
        self.protection = dict(protection or PROTECTED)
        self.blobs: list[dict[str, Any]] = [{"name": "old.dump", "size": 1, "md5": "b2xk"}]
        self.logged: list[dict[str, Any]] = []
        self.verify_result: bool | None = None

    def activities(self) -> dict[str, Any]:
        return {
            **observed("home"),
            names.STORAGE_GET_PROTECTION: lambda p: dict(self.protection),
            names.LTR_LIST_BLOBS: lambda p: {"container": "long-term-backups", "blobs": list(self.blobs)},
            names.LTR_PRE_BACKUP: lambda p: {"server": p["server"], "number_of_containers": 1},
            names.LTR_START_BACKUP: lambda p: {"server": p["server"], "message": "started"},
            names.LTR_GET_OPERATION: self.operation,
            names.LTR_VERIFY_BLOBS: self.verify,
            names.STORAGE_APPEND_LOG: lambda p: self.logged.append(p) or {"appended": True},
            names.DATABASE_RUN_CHECKS: lambda p: {"counts": {"intents": 7}, "checks": []},
            names.DATABASE_WRITE_SENTINEL: lambda p: {"name": p["name"], "created": True},
        }

    def operation(self, p: dict[str, Any]) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if status == "Succeeded" and DUMP not in self.blobs:
            self.blobs.append(DUMP)
        op: dict[str, Any] = {"found": True, "backup_name": p["backup_name"], "status": status}
        op.update(started_at="2026-11-29T02:00:00+00:00", datasource_size_bytes=4096)
        if status in ("Succeeded", "Failed"):
            op.update(ended_at="2026-11-29T02:00:42+00:00", data_transferred_bytes=2048)
        if status == "Failed":
            op.update(error_code="LongTermRetentionBackupFailed", error_message="pg_dump was interrupted")
        return op

    def verify(self, p: dict[str, Any]) -> dict[str, Any]:
        ok = self.verify_result if self.verify_result is not None else True
        checks = [{"name": f"blob {b['name']}", "passed": ok, "detail": "as recorded"} for b in p["blobs"]]
        return {"checks": checks, "passed": ok and bool(checks)}


def _run(fake: FakeLtr, **settings: str) -> tuple[FakeContext, dict[str, Any]]:
    env = {"backup_storage_account": "qlpbackups", "ltr_poll_seconds": "30", "ltr_deadline_minutes": "5"}
    inp = {
        "run_id": "ltr-backup-qlp-1",
        "settings": backup_settings(**{**env, **settings}),
        "trigger": {"kind": "timer"},
    }
    ctx = FakeContext(inp, fake.activities())
    out = drive(orchestrator(names.LTR_BACKUP_ORCHESTRATOR), ctx)
    assert out["status"] == ctx.last_report()["status"]
    return ctx, ctx.last_report()


def test_a_backup_that_completes_is_recorded_with_its_blobs_read_back() -> None:
    fake = FakeLtr("Running", "Running", "Succeeded")
    ctx, report = _run(fake)
    assert report["status"] == "succeeded", report["summary"]
    assert report["retention"] == "7 years (compliance record)"
    name = ctx.payloads(names.LTR_START_BACKUP)[0]["backup_name"]
    assert name.startswith("ltr-qlp-") and ctx.payloads(names.LTR_PRE_BACKUP)[0]["backup_name"] == name
    assert ctx.payloads(names.LTR_VERIFY_BLOBS) == [
        {"blobs": [{"name": DUMP["name"], "size": 2048, "md5": "bWQ1"}], "tables": ["intents"]}
    ]
    m = report["measurements"]
    assert (
        m["ltr_backup_seconds"] == 42.0
        and m["ltr_datasource_bytes"] == 4096
        and m["ltr_blobs"] == [DUMP["name"]]
    )
    assert len(ctx.payloads(names.LTR_GET_OPERATION)) == 3  # followed until it ended, 30 s apart
    (logged,) = fake.logged
    assert logged["log"] == ltr_log("qlp") and logged["entry"]["id"] == name
    assert logged["entry"]["status"] == "succeeded" and logged["entry"]["verified"] is True
    assert logged["entry"]["blobs"][0]["md5"] == "bWQ1" and logged["entry"]["size_bytes"] == 4096
    assert [c["passed"] for c in report["checks"]] == [True, True]
    assert "sig=" not in str(ctx.calls)  # no SAS ever crosses the orchestration
    # what the monthly proof checks its restore against, marked on the source before the backup starts
    assert logged["entry"]["row_counts"] == {"intents": 7}
    assert logged["entry"]["sentinel"] == f"{name}-sentinel"
    assert ctx.payloads(names.DATABASE_WRITE_SENTINEL)[0]["name"] == f"{name}-sentinel"
    order = ctx.names()
    assert order.index(names.DATABASE_WRITE_SENTINEL) < order.index(names.LTR_START_BACKUP)


def test_a_failed_backup_fails_pages_and_is_logged_failed() -> None:
    fake = FakeLtr("Running", "Failed")
    ctx, report = _run(fake)
    assert report["status"] == "failed" and "pg_dump was interrupted" in report["summary"]
    assert ctx.notifications[-1]["page"] is True
    assert fake.logged[0]["entry"]["status"] == "failed"
    assert not ctx.payloads(names.LTR_VERIFY_BLOBS)


def test_a_backup_still_running_at_the_deadline_is_a_failure_not_a_pass() -> None:
    fake = FakeLtr("Running")
    ctx, report = _run(fake)
    assert report["status"] == "failed"
    assert "still running after 5 min (deadline 5 min)" in report["summary"]
    assert len(ctx.payloads(names.LTR_GET_OPERATION)) == 11
    assert fake.logged[0]["entry"]["status"] == "timed-out"


def test_blobs_that_do_not_read_back_as_recorded_fail_the_backup() -> None:
    fake = FakeLtr()
    fake.verify_result = False
    _, report = _run(fake)
    assert report["status"] == "failed" and "not readable as recorded" in report["summary"]
    assert fake.logged[0]["entry"]["verified"] is False


def test_an_unprotected_account_fails_the_run_with_the_reason_but_the_backup_is_taken() -> None:
    fake = FakeLtr(protection={**PROTECTED, "versioning": False, "replication": "Standard_LRS"})
    ctx, report = _run(fake)
    assert report["status"] == "failed"
    assert "blob versioning is off" in report["summary"] and "Standard_LRS" in report["summary"]
    assert ctx.payloads(names.LTR_START_BACKUP) and fake.logged[0]["entry"]["verified"] is True


def test_without_a_backup_account_the_run_refuses_and_pages() -> None:
    ctx, report = _run(FakeLtr(), backup_storage_account="")
    assert report["status"] == "refused" and "BACKUP_STORAGE_ACCOUNT" in report["summary"]
    assert not ctx.payloads(names.LTR_START_BACKUP)
