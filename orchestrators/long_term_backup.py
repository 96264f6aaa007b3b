"""The weekly long-term backup: Azure's long-term retention backup of the primary into the backup
account's immutable container, followed to its end, its blobs read back, the account's protection checked.

Steps: the primary found now (none is a refusal that pages); the storage account's protection (a
shortfall is a failed check of the run, and the backup is still taken); the blobs already in the
container; Azure's pre-backup check; the start (the activity signs a user delegation SAS with the managed
identity and hands it to Azure: the SAS never enters the run's history or report); the operation read
every ``LTR_POLL_SECONDS`` until it ends or ``LTR_DEADLINE_MINUTES`` pass (a timeout is a failure, never
a pass); the blobs that appeared, each read back in full (size and MD5 as recorded). The backup is
appended to the log ``ltr-<app>`` (name, status, size, duration, blobs), which the backup watch reads;
the report is kept ``COMPLIANCE_RETENTION_YEARS``. Nothing in the long-term container is ever deleted.

Input: {run_id, settings, trigger}.
"""

from __future__ import annotations

import math

import azure.durable_functions as df

from orchestrators.toolkit import COMPLETED, FAILED, REFUSED, End, Gen, Json, Run, iso
from shared import names, policy
from shared.models import Verdict, parse_time, seconds_between
from shared.policy import long_term as ltr_policy

bp = df.Blueprint()


def ltr_log(app: str) -> str:
    """The durable log of an app's long-term backups (shared.azure.storage ``logs/<name>.jsonl``)."""
    return f"ltr-{app}"


@bp.function_name(names.LTR_BACKUP_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def ltr_backup_orchestrator(context: df.DurableOrchestrationContext) -> Gen:
    """One long-term backup with its proof it is readable; returns the run's outcome."""
    return (yield from Run(context, "ltr-backup").execute(ltr_backup_plan, announce_start=False))


def ltr_backup_plan(run: Run) -> Gen:
    s = run.settings
    run.record.retain_years = s.compliance_retention_years
    if not s.backup_storage_account:
        why = "BACKUP_STORAGE_ACCOUNT is not set: there is no long-term container"
        run.stop("refused", why, event=REFUSED, page=True)
    primary = yield from run.require_primary(page=True)
    name = ltr_policy.backup_name(s.app_name, run.now())
    run.resource(server=primary.server, resource_group=primary.resource_group, backup_name=name)
    run.resource(container=s.ltr_container)
    protection = yield from protection_check(run)
    before = yield from run.step("blobs-before", run.act(names.LTR_LIST_BLOBS, {}))
    target = primary.address(backup_name=name)
    pre = yield from run.step("pre-backup", run.act(names.LTR_PRE_BACKUP, target))
    count = int(pre.get("number_of_containers") or 1)
    marks = yield from mark_source(run, primary, name)
    yield from run.step("start", run.act(names.LTR_START_BACKUP, {**target, "number_of_containers": count}))
    operation, outcome = yield from follow(run, target)
    entry = {**log_entry(run, name, operation, outcome.action, outcome.reason), **marks}
    if not outcome.is_("succeeded"):
        yield from record_backup(run, entry)
        return End("failed", outcome.reason, FAILED, page=True)
    blobs = new_blobs(before, (yield from run.step("blobs-after", run.act(names.LTR_LIST_BLOBS, {}))))
    entry["blobs"] = blobs
    run.measure(ltr_blobs=[b["name"] for b in blobs], ltr_blob_bytes=sum(int(b["size"]) for b in blobs))
    verified = yield from run.step("verify-blobs", run.act(names.LTR_VERIFY_BLOBS, verify_input(run, blobs)))
    checks = list(verified.get("checks") or [])
    if not blobs:
        checks.append({"name": "blobs written", "passed": False, "detail": "no new blob in the container"})
    run.record.checks = [*checks, protection]
    entry["verified"] = bool(blobs) and bool(verified.get("passed"))
    yield from record_backup(run, entry)
    return ending(run, name, entry, protection)


def mark_source(run: Run, primary: policy.Primary, name: str) -> Gen:
    """What the monthly proof checks a restore of this backup against: the critical tables' row counts
    and a sentinel row, both on the source just before the backup starts."""
    tables = {"critical_tables": list(run.settings.critical_tables), "sql": []}
    counted = yield from run.step(
        "source-counts", run.act(names.DATABASE_RUN_CHECKS, primary.address(checks=tables))
    )
    run.measure(source_row_counts=dict(counted.get("counts") or {}))
    sentinel = f"{name}-sentinel"
    yield from run.step("sentinel", run.act(names.DATABASE_WRITE_SENTINEL, primary.address(name=sentinel)))
    return {"row_counts": dict(counted.get("counts") or {}), "sentinel": sentinel}


def watch_checks(run: Run) -> Gen:
    """The backup watch's checks of long-term backups (when a backup account is configured): the last
    one succeeded within ``LTR_MAX_AGE_DAYS``, and the account protects them. A read that fails is a
    failed check naming what could not be read."""
    s = run.settings
    if not s.backup_storage_account:
        return []
    logged = yield from run.observe(names.STORAGE_READ_LOG, {"log": ltr_log(s.app_name)})
    if "error" in logged:
        reason = f"could not read the long-term backup log: {logged['error']}"
        last = Verdict(False, (reason,), name=ltr_policy.CHECK_LONG_TERM_BACKUP)
    else:
        entries = list(logged.get("entries") or [])
        last = ltr_policy.long_term_check(
            entries[-1] if entries else None, run.now(), max_age_days=s.ltr_max_age_days
        )
    found = yield from run.observe(names.STORAGE_GET_PROTECTION, {})
    return [last, protection_verdict(run, found)]


def protection_verdict(run: Run, found: Json) -> Verdict:
    if "error" in found:
        reason = f"could not read the backup account: {found['error']}"
        return Verdict(False, (reason,), name=ltr_policy.CHECK_STORAGE_PROTECTION)
    return ltr_policy.storage_protection(
        found,
        min_delete_retention_days=run.settings.backup_delete_retention_days,
        compliance_years=run.settings.compliance_retention_years,
    )


def protection_check(run: Run) -> Gen:
    """The backup account's protection as a check of the run (a failed read is a failed check)."""
    found = yield from run.step("storage-protection", run.observe(names.STORAGE_GET_PROTECTION, {}))
    verdict = protection_verdict(run, found)
    run.measure(backup_storage=found)
    return {"name": ltr_policy.CHECK_STORAGE_PROTECTION, "passed": verdict.passed, "detail": verdict.reason}


def follow(run: Run, target: Json) -> Gen:
    """Read the operation until it ends or the deadline passes; returns (operation, outcome Decision)."""
    s = run.settings
    deadline = s.ltr_deadline_minutes * 60.0
    interval = max(1.0, s.ltr_poll_seconds)
    attempts = max(1, math.ceil(deadline / interval)) + 1

    def read() -> Gen:
        return (yield from run.observe(names.LTR_GET_OPERATION, target))

    run.set_awaiting("long-term backup", deadline)
    step = run.record.begin("backup", run.now())
    _, operation, polls = yield from run.poll(
        read, ltr_policy.operation_ended, attempts=attempts, interval=interval
    )
    run.set_awaiting("")
    outcome = ltr_policy.operation_outcome(
        operation, waited_seconds=(polls - 1) * interval, deadline_seconds=deadline
    )
    run.record.end(step, run.now(), "succeeded" if outcome.is_("succeeded") else "failed", outcome.reason)
    run.decide("backup", outcome)
    took = seconds_between(str(operation.get("started_at") or ""), str(operation.get("ended_at") or ""))
    run.measure(
        ltr_backup_name=operation.get("backup_name"),
        ltr_status=operation.get("status"),
        ltr_datasource_bytes=operation.get("datasource_size_bytes"),
        ltr_transferred_bytes=operation.get("data_transferred_bytes"),
        ltr_backup_seconds=took,
    )
    return operation, outcome


def new_blobs(before: Json, after: Json) -> list[Json]:
    """The blobs in ``after`` that were not in ``before`` (what this backup wrote), name order."""
    seen = {b.get("name") for b in before.get("blobs") or []}
    found = [b for b in after.get("blobs") or [] if b.get("name") not in seen]
    return [{"name": b["name"], "size": int(b.get("size") or 0), "md5": b.get("md5")} for b in found]


def verify_input(run: Run, blobs: list[Json]) -> Json:
    """Read back ``blobs``; the dump must name every critical table."""
    return {"blobs": blobs, "tables": list(run.settings.critical_tables)}


def log_entry(run: Run, name: str, operation: Json, status: str, reason: str) -> Json:
    ended = operation.get("ended_at") or iso(run.now())
    return {
        "id": name,
        "backup_name": name,
        "run_id": run.run_id,
        "server": run.record.resources.get("server"),
        "resource_group": run.record.resources.get("resource_group"),
        "container": run.settings.ltr_container,
        "status": status,
        "reason": reason,
        "started_at": operation.get("started_at"),
        "ended_at": iso(parse_time(str(ended))),
        "size_bytes": operation.get("datasource_size_bytes"),
        "transferred_bytes": operation.get("data_transferred_bytes"),
        "seconds": run.record.measurements.get("ltr_backup_seconds"),
        "blobs": [],
    }


def record_backup(run: Run, entry: Json) -> Gen:
    """Append the backup to the app's long-term log (the watch's source); idempotent by backup name."""
    payload = {"log": ltr_log(run.settings.app_name), "entry": entry}
    yield from run.step("record", run.act(names.STORAGE_APPEND_LOG, payload))


def ending(run: Run, name: str, entry: Json, protection: Json) -> End:
    if not entry["verified"]:
        failed = [c["detail"] for c in run.record.checks if not c.get("passed") and c is not protection]
        return End(
            "failed",
            f"long-term backup {name} is not readable as recorded: {'; '.join(failed)}",
            FAILED,
            page=True,
        )
    if not protection["passed"]:
        return End(
            "failed",
            f"long-term backup {name} taken and verified, but {protection['detail']}",
            FAILED,
            page=True,
        )
    count = len(entry["blobs"])
    return End(
        "succeeded", f"long-term backup {name} taken: {count} blob(s) read back as recorded", COMPLETED
    )
