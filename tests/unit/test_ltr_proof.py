"""The monthly proof plan driven with fake activities: the latest successful long-term backup, Azure's
record of it, its blobs and archive read back; every failure named, paged, and the report kept."""

from __future__ import annotations

import asyncio
from typing import Any

from orchestrators.long_term_proof import latest_succeeded
from shared import names
from shared.config import Settings
from tests.support.durable import FakeClient, FakeContext, drive, functions, orchestrator
from tests.support.settings import backup_settings
from triggers import long_term

BLOB = {"name": "qlp-db-uksouth/ltr-qlp-b/qlp_db.dump", "size": 2048, "md5": "bWQ1"}


def _entry(name: str, status: str = "succeeded") -> dict[str, Any]:
    blobs = [BLOB] if status == "succeeded" else []
    entry = {"id": name, "backup_name": name, "status": status, "server": "qlp-db-uksouth", "blobs": blobs}
    return {**entry, "resource_group": "rg-uksouth", "row_counts": {"intents": 5}, "sentinel": f"{name}-s"}


class FakeScratch:
    """The scratch server and the pg_restore job: the job exits ``exit_code``; the restored data holds
    ``rows`` intents; a deleted server is gone unless ``leftover``."""

    def __init__(self, *, exit_code: int = 0, rows: int = 5, leftover: bool = False) -> None:
        self.exit_code, self.rows, self.leftover = exit_code, rows, leftover

    def checks(self, p: dict[str, Any]) -> dict[str, Any]:
        minimum = p["checks"]["min_counts"]["intents"]
        results = [{"name": "count intents", "passed": self.rows >= minimum, "detail": f"{self.rows} rows"}]
        results += [
            {"name": f"sentinel {n} present", "passed": True, "detail": ""}
            for n in p["checks"]["sentinels_present"]
        ]
        return {"counts": {"intents": self.rows}, "checks": results}

    def activities(self) -> dict[str, Any]:
        job = {"exit_code": self.exit_code, "succeeded": self.exit_code == 0, "logs": "pg_restore: error: x"}
        return {
            names.DATABASE_CREATE_EMPTY_SERVER: lambda p: {"server": p["target"], "created": True},
            names.LTR_RESTORE_JOB: lambda p: {"group": p["group"], "state": "Succeeded", **job},
            names.DATABASE_RUN_CHECKS: self.checks,
            names.DATABASE_DELETE_SERVER: lambda p: {"deleted": True},
            names.DATABASE_GET_SERVER: lambda p: {"exists": self.leftover},
            names.CONTAINERS_DELETE_GROUP: lambda p: {"deleted": True},
            names.CONTAINERS_GET_GROUP: lambda p: {"exists": False},
        }


def _run(
    entries: list[dict[str, Any]],
    *,
    azure: str = "Succeeded",
    readable: bool = True,
    scratch: FakeScratch | None = None,
    **settings: str,
) -> tuple[FakeContext, dict[str, Any]]:
    def verify(p: dict[str, Any]) -> dict[str, Any]:
        checks = [
            {"name": f"blob {b['name']}", "passed": readable, "detail": "MD5 differs"} for b in p["blobs"]
        ]
        checks.append({"name": "archive", "passed": True, "detail": "pg_dump archive with table(s) intents"})
        return {"checks": checks, "passed": readable}

    activities = {
        names.STORAGE_READ_LOG: lambda p: {"log": p["log"], "entries": entries},
        names.LTR_GET_OPERATION: lambda p: {"found": bool(azure), "status": azure or None},
        names.LTR_VERIFY_BLOBS: verify,
        **(scratch or FakeScratch()).activities(),
    }
    inp = {
        "run_id": "ltr-proof-qlp-1",
        "settings": backup_settings(**{"backup_storage_account": "qlpbackups", **settings}),
        "trigger": {"kind": "timer"},
    }
    ctx = FakeContext(inp, activities)
    out = drive(orchestrator(names.LTR_PROOF_ORCHESTRATOR), ctx)
    assert out["status"] == ctx.last_report()["status"]
    return ctx, ctx.last_report()


def test_the_latest_successful_backup_is_proven_readable() -> None:
    ctx, report = _run([_entry("ltr-qlp-a"), _entry("ltr-qlp-b"), _entry("ltr-qlp-c", "failed")])
    assert report["status"] == "succeeded", report["summary"]
    assert "ltr-qlp-b proven readable" in report["summary"]
    assert report["retention"] == "7 years (compliance record)"
    assert ctx.payloads(names.LTR_GET_OPERATION) == [
        {"server": "qlp-db-uksouth", "backup_name": "ltr-qlp-b", "resource_group": "rg-uksouth"}
    ]
    assert ctx.payloads(names.LTR_VERIFY_BLOBS) == [{"blobs": [BLOB], "tables": ["intents"]}]
    assert "restored into a new server with its data checks passed" in report["summary"]
    scratch, job = report["resources"]["scratch_server"], report["resources"]["restore_job"]
    assert scratch.startswith("qlp-db-uksouth-ltr-") and job == f"{scratch}-job"
    created = ctx.payloads(names.DATABASE_CREATE_EMPTY_SERVER)
    assert created == [{"target": scratch, "run_id": "ltr-proof-qlp-1", "resource_group": "rg-uksouth"}]
    (restore,) = ctx.payloads(names.LTR_RESTORE_JOB)
    assert (restore["blob"], restore["server"], restore["group"]) == (BLOB["name"], scratch, job)
    assert restore["timeout_seconds"] == 3600.0  # LTR_RESTORE_DEADLINE_MINUTES: the job's deadline
    (checked,) = ctx.payloads(names.DATABASE_RUN_CHECKS)
    assert checked["server"] == scratch and checked["checks"]["min_counts"] == {"intents": 5}
    assert checked["checks"]["sentinels_present"] == ["ltr-qlp-b-s"]
    order = ctx.names()
    assert order.index(names.LTR_RESTORE_JOB) < order.index(names.DATABASE_RUN_CHECKS)
    assert order.index(names.DATABASE_RUN_CHECKS) < order.index(names.DATABASE_DELETE_SERVER)
    assert ctx.payloads(names.CONTAINERS_DELETE_GROUP) == [{"group": job, "resource_group": "rg-uksouth"}]
    assert ctx.payloads(names.DATABASE_DELETE_SERVER) == [{"server": scratch, "resource_group": "rg-uksouth"}]
    named = [c["name"] for c in report["checks"]]
    assert named[:3] == [f"blob {BLOB['name']}", "archive", "azure record"]
    assert named[3:] == [
        "restore into a new server",
        "count intents",
        "sentinel ltr-qlp-b-s present",
        "teardown scratch server",
        "teardown restore job",
    ]
    assert all(c["passed"] for c in report["checks"])
    m = report["measurements"]
    assert m["restore_exit_code"] == 0 and m["restored_row_counts"] == {"intents": 5}
    assert m["scratch_teardown_verified"] is True and m["restore_job_teardown_verified"] is True


def test_a_pg_restore_that_fails_fails_the_proof_and_still_tears_down() -> None:
    ctx, report = _run([_entry("ltr-qlp-b")], scratch=FakeScratch(exit_code=1))
    assert report["status"] == "failed" and "exited with 1: pg_restore: error: x" in report["summary"]
    assert not ctx.payloads(names.DATABASE_RUN_CHECKS) and ctx.notifications[-1]["page"] is True
    assert ctx.payloads(names.DATABASE_DELETE_SERVER) and ctx.payloads(names.CONTAINERS_DELETE_GROUP)


def test_restored_data_short_of_the_source_rows_fails() -> None:
    _, report = _run([_entry("ltr-qlp-b")], scratch=FakeScratch(rows=4))
    assert report["status"] == "failed" and "count intents: 4 rows" in report["summary"]


def test_a_scratch_server_left_over_fails_the_proof() -> None:
    _, report = _run([_entry("ltr-qlp-b")], scratch=FakeScratch(leftover=True))
    assert report["status"] == "failed" and "still exists after deletion" in report["summary"]
    assert report["measurements"]["scratch_teardown_verified"] is False


def test_a_scratch_server_that_cannot_be_created_is_a_failed_check_not_a_crash() -> None:
    scratch = FakeScratch()
    acts = scratch.activities()

    def refuse(p: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("permanent: create server: InvalidParameterValue")

    scratch.activities = lambda: {**acts, names.DATABASE_CREATE_EMPTY_SERVER: refuse}  # type: ignore[method-assign]
    ctx, report = _run([_entry("ltr-qlp-b")], scratch=scratch)
    assert report["status"] == "failed" and "scratch-create" in report["summary"]
    assert not ctx.payloads(names.LTR_RESTORE_JOB) and ctx.payloads(names.DATABASE_DELETE_SERVER)


def test_a_blob_that_no_longer_matches_fails_and_pages() -> None:
    ctx, report = _run([_entry("ltr-qlp-b")], readable=False)
    assert report["status"] == "failed" and "MD5 differs" in report["summary"]
    assert ctx.notifications[-1]["page"] is True
    assert not ctx.payloads(names.DATABASE_CREATE_EMPTY_SERVER)  # nothing restored from what does not match


def test_a_backup_azure_no_longer_knows_fails() -> None:
    _, report = _run([_entry("ltr-qlp-b")], azure="")
    assert report["status"] == "failed" and "Azure has no record of it" in report["summary"]


def test_nothing_to_prove_fails_and_pages() -> None:
    ctx, report = _run([_entry("ltr-qlp-x", "failed")])
    assert report["status"] == "failed" and "no successful long-term backup" in report["summary"]
    assert not ctx.payloads(names.LTR_VERIFY_BLOBS) and ctx.notifications[-1]["page"] is True
    assert latest_succeeded([]) is None


def test_without_a_backup_account_the_proof_refuses() -> None:
    ctx, report = _run([], backup_storage_account="")
    assert report["status"] == "refused" and not ctx.payloads(names.STORAGE_READ_LOG)


def test_the_long_term_timers_read_their_schedules_and_start_under_the_lock() -> None:
    def schedule(name: str) -> str:
        trigger = next(b for b in functions()[name].get_bindings() if b.type == "timerTrigger")
        return str(trigger.schedule)

    assert schedule(names.TIMER_LTR_BACKUP) == "%CONTINUITY_LTR_BACKUP_SCHEDULE%"
    assert schedule(names.TIMER_LTR_PROOF) == "%CONTINUITY_LTR_PROOF_SCHEDULE%"
    settings = Settings.from_dict(backup_settings())
    assert (settings.ltr_backup_schedule, settings.ltr_proof_schedule) == ("0 0 2 * * 0", "0 0 5 1 * *")
    client = FakeClient()
    outcome = asyncio.run(
        long_term.start_scheduled(client, settings, "ltr-backup", names.LTR_BACKUP_ORCHESTRATOR, {})
    )
    assert outcome.startswith("started ltr-backup-qlp-")
    ((orchestrator_name, run_id, payload),) = client.runs()
    assert orchestrator_name == names.LTR_BACKUP_ORCHESTRATOR and run_id.startswith("ltr-backup-qlp-")
    assert [name for name, _, _ in client.started] == [names.LOCK_ORCHESTRATOR]  # under the app's lock
    assert payload["trigger"]["kind"] == "timer"
