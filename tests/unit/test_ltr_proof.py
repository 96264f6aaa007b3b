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
    return {"id": name, "backup_name": name, "status": status, "server": "qlp-db-uksouth", "blobs": blobs}


def _run(
    entries: list[dict[str, Any]], *, azure: str = "Succeeded", readable: bool = True, **settings: str
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
    assert ctx.payloads(names.LTR_GET_OPERATION) == [{"server": "qlp-db-uksouth", "backup_name": "ltr-qlp-b"}]
    assert ctx.payloads(names.LTR_VERIFY_BLOBS) == [{"blobs": [BLOB], "tables": ["intents"]}]
    assert [c["name"] for c in report["checks"]][-1] == "azure record"


def test_a_blob_that_no_longer_matches_fails_and_pages() -> None:
    ctx, report = _run([_entry("ltr-qlp-b")], readable=False)
    assert report["status"] == "failed" and "MD5 differs" in report["summary"]
    assert ctx.notifications[-1]["page"] is True


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
