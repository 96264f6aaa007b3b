"""The monthly proof's restore of a long-term backup, on the path Azure documents for one: its pg_dump
archive restored "as a new PostgreSQL flexible server with DB native tools".

A new, empty scratch server (createMode Default) is created in the source's resource group; a job
container (restart policy Never) runs pg_restore of the backup's archive into it, reading the blob through
a read-only SAS made inside its activity, with the scratch administrator's password from Key Vault; its
exit code is awaited with a deadline (LTR_RESTORE_DEADLINE_MINUTES). The restore test's data checks then
run against the scratch server: every critical table holds at least the rows counted on the source just
before the backup, the backup's sentinel row is present, and the configured SQL assertions hold. The
scratch server and the job group are always torn down, and each teardown is verified.
"""

from __future__ import annotations

from orchestrators.toolkit import Gen, Json, Run, StepFailed
from shared import names
from shared.models import seconds_between
from shared.naming import derived_server_name


def archive_blob(entry: Json) -> str | None:
    """The backup's pg_dump archive: its ``.dump`` blob (else its only blob)."""
    blobs = [str(b.get("name") or "") for b in entry.get("blobs") or []]
    dumps = [b for b in blobs if b.endswith(".dump")]
    return dumps[0] if dumps else (blobs[0] if len(blobs) == 1 else None)


def restore_checks(run: Run, entry: Json) -> Json:
    """What DATABASE_RUN_CHECKS checks on the scratch server: the restore test's data checks against what
    the backup recorded of its source."""
    s = run.settings
    checks: Json = {
        "critical_tables": list(s.critical_tables),
        "min_counts": dict(entry.get("row_counts") or {}),
        "sql": list(s.verify_sql),
    }
    if entry.get("sentinel"):
        checks["sentinels_present"] = [str(entry["sentinel"])]
    return checks


def prove_by_restore(run: Run, entry: Json) -> Gen:
    """Restore ``entry`` (a logged long-term backup) into a scratch server, check its data, tear down;
    returns the checks for the report. Never raises for a failed step: it is a failed check."""
    source = str(entry.get("server") or run.settings.primary_server)
    rg = str(entry.get("resource_group") or run.settings.server_resource_group(source))
    scratch = str(run.input.get("scratch_server") or derived_server_name(source, "ltr", run.now()))
    group = f"{scratch}-job"
    run.resource(scratch_server=scratch, restore_job=group)
    checks: list[Json] = []
    try:
        checks = yield from restore_and_check(run, entry, scratch, group, rg)
    except StepFailed as failed:
        detail = f"{failed.step}: {failed.error[:300]}"
        checks = [{"name": "restore into a new server", "passed": False, "detail": detail}]
    where = {"resource_group": rg}
    job_gone = yield from run.teardown("group", group, step="restore-job", where=where)
    server_gone = yield from run.teardown("server", scratch, step="scratch", where=where)
    run.measure(scratch_teardown_verified=server_gone, restore_job_teardown_verified=job_gone)
    for kind, name, gone in (("scratch server", scratch, server_gone), ("restore job", group, job_gone)):
        detail = f"{name} deleted and verified gone" if gone else f"{name} still exists after deletion"
        checks.append({"name": f"teardown {kind}", "passed": gone, "detail": detail})
    return checks


def restore_and_check(run: Run, entry: Json, scratch: str, group: str, rg: str) -> Gen:
    blob = archive_blob(entry)
    if blob is None:
        raise StepFailed("restore", "the backup has no pg_dump archive blob to restore")
    create = {"target": scratch, "run_id": run.run_id, "resource_group": rg}
    made = run.act_long(names.DATABASE_CREATE_EMPTY_SERVER, create, deadline_seconds=run.create_deadline)
    yield from run.step("scratch-create", made)
    timeout = run.settings.ltr_restore_deadline_minutes * 60.0
    job = {"blob": blob, "server": scratch, "group": group, "run_id": run.run_id, "resource_group": rg}
    restore = run.act_long(
        names.LTR_RESTORE_JOB, {**job, "timeout_seconds": timeout}, deadline_seconds=timeout
    )
    ran = yield from run.step("restore", restore)
    step = run.record.step_named("restore") or {}
    run.measure(
        restore_seconds=seconds_between(step.get("started_at", ""), step.get("ended_at", "")),
        restore_exit_code=ran.get("exit_code"),
    )
    detail = f"pg_restore of {blob} into {scratch} exited with {ran.get('exit_code')}"
    if not ran.get("succeeded"):
        tail = str(ran.get("logs") or "").strip().splitlines()[-3:]
        detail = f"{detail}: {' / '.join(tail)}"[:400]
    restored = {"name": "restore into a new server", "passed": bool(ran.get("succeeded")), "detail": detail}
    if not restored["passed"]:
        return [restored]
    yield from run.save()  # the timeline so far, while the checks and the teardown run
    target = {"server": scratch, "resource_group": rg, "checks": restore_checks(run, entry)}
    result = yield from run.step("data-checks", run.act(names.DATABASE_RUN_CHECKS, target))
    run.measure(restored_row_counts=result.get("counts", {}))
    return [restored, *list(result.get("checks", []))]
