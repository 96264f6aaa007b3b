"""Activities of the long-term proof's restore: a new, empty scratch server, and the pg_restore job that
restores the long-term backup's archive into it. Contracts are in shared/names.py. Secrets (the scratch
administrator's password, the archive's SAS) are made or read inside these calls and never returned.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params, done
from activities.registry import activity
from shared import names
from shared.azure import runtime
from shared.config import current_settings
from shared.reports import redact

bp = df.Blueprint()

LOG_TAIL_CHARS = 2000


def _resource_group(p: Params, server: str) -> str:
    return p.opt_text("resource_group") or current_settings().server_resource_group(server)


@activity(bp, names.DATABASE_CREATE_EMPTY_SERVER)
def database_create_empty_server(params: dict[str, Any]) -> dict[str, Any]:
    """Create the empty server ``target`` (createMode Default); one Continuity already created is
    success (``created: false``); a server of that name it did not create is refused (precondition).
    ``pending`` until it is Ready (shared.waits)."""
    p = Params(names.DATABASE_CREATE_EMPTY_SERVER, params)
    target = p.text("target")
    rg = _resource_group(p, target)
    location = p.opt_text("location") or current_settings().region_of_resource_group(rg)
    made = runtime.database().create_empty(
        target, rg, location=location, run_id=p.text("run_id"), wait=p.wait()
    )
    return done(p.activity, made)


@activity(bp, names.LTR_RESTORE_JOB)
def ltr_restore_job(params: dict[str, Any]) -> dict[str, Any]:
    """Run the pg_restore job of ``blob`` into ``server`` to its exit (restart policy Never); a job
    already started for this run is not started again: it is waited for, or its outcome returned.
    ``pending`` while it runs after this call's wait (shared.waits); the blob's SAS lasts the
    plan's whole deadline (``timeout_seconds``)."""
    p = Params(names.LTR_RESTORE_JOB, params)
    settings = current_settings()
    server, group = p.text("server"), p.text("group")
    rg = _resource_group(p, server)
    timeout = p.number("timeout_seconds", settings.ltr_restore_deadline_minutes * 60.0)
    fqdn = runtime.database().get(server, rg)["fqdn"]
    sas = runtime.long_term().blob_read_sas(p.text("blob"), valid_seconds=timeout + 900.0)
    spec = {
        "image": settings.ltr_restore_image,
        "environment": {"TARGET_HOST": fqdn},
        "cpu": 1,
        "memory_gb": 1.5,
    }
    result = runtime.containers().run_job(
        group,
        rg,
        spec,
        location=settings.region_of_resource_group(rg),
        run_id=p.text("run_id"),
        wait=p.wait(),
        secure_values={"ARCHIVE_URL": sas},
    )
    if result.get("pending"):
        return done(p.activity, result)
    logs = str(redact(str(result.get("logs") or "")))[-LOG_TAIL_CHARS:]
    message = f"pg_restore job {group} exited with {result['exit_code']}"
    return done(p.activity, {**result, "logs": logs, "message": message})
