"""The monthly proof that the latest long-term backup is readable, with what Azure offers for it.

Azure has no API that restores a long-term backup of a Flexible Server: its long-term retention API
pre-checks, starts, shows and lists backups, and a backup is a pg_dump archive in the customer's own
container, to be restored with PostgreSQL's own tools into a new server (docs/operations.md,
"Long-term backups", with the sources). So the proof is: the latest successful backup in the log
``ltr-<app>`` is still reported Succeeded by Azure (``ltrBackupOperations``), each of its blobs is in the
container with its recorded size and MD5 (read back in full), and its dump is a pg_dump archive whose
table of contents names every critical table. When those hold, the dump is restored into a new, empty
scratch server with pg_restore from a job container, the restore test's data checks run on it, and both
are torn down and verified gone (orchestrators/long_term_restore.py). A failure pages; the report is kept
for the compliance retention.

Input: {run_id, settings, trigger}.
"""

from __future__ import annotations

import azure.durable_functions as df

from orchestrators.long_term_backup import ltr_log, verify_input
from orchestrators.long_term_restore import prove_by_restore
from orchestrators.toolkit import COMPLETED, FAILED, REFUSED, End, Gen, Json, Run, Stop
from shared import names

bp = df.Blueprint()
NO_BACKUP = "no successful long-term backup to prove readable"


@bp.function_name(names.LTR_PROOF_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def ltr_proof_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """Prove the latest long-term backup readable; returns the run's outcome."""
    return (yield from Run(context, "ltr-proof").execute(ltr_proof_plan, announce_start=False))


def latest_succeeded(entries: list[Json]) -> Json | None:
    """The newest logged long-term backup that succeeded and was read back when it was taken."""
    done = [e for e in entries if e.get("status") == "succeeded" and e.get("blobs")]
    return done[-1] if done else None


def ltr_proof_plan(run: Run) -> Gen:
    s = run.settings
    run.record.retain_years = s.compliance_retention_years
    if not s.backup_storage_account:
        why = "BACKUP_STORAGE_ACCOUNT is not set: there is no long-term container"
        run.stop("refused", why, event=REFUSED, page=True)
    entry, checks = yield from latest_backup_checks(run)
    if entry is None:
        raise Stop(End("failed", NO_BACKUP, FAILED, page=True))
    name = str(entry["backup_name"])
    run.record.checks = checks
    if all(c.get("passed") for c in run.record.checks):
        yield from run.save()
        restored = yield from prove_by_restore(run, entry)
        run.record.checks = [*run.record.checks, *restored]
    failed = [f"{c['name']}: {c['detail']}" for c in run.record.checks if not c.get("passed")]
    if failed:
        return End(
            "failed",
            f"long-term backup {name} is not proven readable: {'; '.join(failed)}",
            FAILED,
            page=True,
        )
    return End(
        "succeeded",
        f"long-term backup {name} proven readable: every blob as recorded, restored into a new server "
        "with its data checks passed, and torn down",
        COMPLETED,
    )


def latest_backup_checks(run: Run) -> Gen:
    """The latest successful long-term backup of the log, as the proof checks it before any restore (the
    weekly backup integrity item checks the same): Azure still reports it Succeeded, and each of its
    blobs is in the container with its recorded size and MD5 (read back in full; a dump must name the
    critical tables). Returns (the log entry, the checks); (None, [a failed check]) when the log has no
    successful backup."""
    log = {"log": ltr_log(run.settings.app_name)}
    logged = yield from run.step("read-log", run.act(names.STORAGE_READ_LOG, log))
    entry = latest_succeeded(list(logged.get("entries") or []))
    if entry is None:
        return None, [{"name": "long-term backup", "passed": False, "detail": NO_BACKUP}]
    name = str(entry["backup_name"])
    run.resource(backup_name=name, server=entry.get("server"), taken_at=entry.get("ended_at"))
    where = {"server": entry.get("server"), "backup_name": name}
    if entry.get("resource_group"):
        where["resource_group"] = entry["resource_group"]
    azure = yield from run.step("azure-record", run.observe(names.LTR_GET_OPERATION, where))
    read = yield from run.step(
        "read-back", run.act(names.LTR_VERIFY_BLOBS, verify_input(run, entry["blobs"]))
    )
    run.measure(ltr_backup_name=name, ltr_blob_bytes=sum(int(b.get("size") or 0) for b in entry["blobs"]))
    return entry, [*read.get("checks", []), azure_check(azure)]


def azure_check(found: Json) -> Json:
    """Azure still reports the backup Succeeded (its ltrBackupOperations record)."""
    status = found.get("status") if found.get("found") else None
    if "error" in found:
        detail = f"could not read Azure's record: {found['error']}"
    else:
        detail = f"Azure reports it {status}" if status else "Azure has no record of it"
    return {"name": "azure record", "passed": status == "Succeeded", "detail": detail}
