"""Activities for long-term backups: Azure's long-term retention API on the primary, the long-term
container's blobs, and the backup storage account's protection. Contracts are in shared/names.py.
None of them deletes anything: the long-term container is immutable evidence.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params, done
from activities.registry import activity
from shared import names
from shared.azure import runtime
from shared.config import current_settings

bp = df.Blueprint()


def _server(p: Params) -> tuple[str, str]:
    server = p.text("server")
    return server, p.opt_text("resource_group") or current_settings().server_resource_group(server)


@activity(bp, names.LTR_PRE_BACKUP)
def ltr_pre_backup(params: dict[str, Any]) -> dict[str, Any]:
    """Azure's pre-backup checks on the server (read only); raises what Azure refuses (permanent)."""
    p = Params(names.LTR_PRE_BACKUP, params)
    server, rg = _server(p)
    return done(names.LTR_PRE_BACKUP, runtime.long_term().pre_backup(server, rg, p.text("backup_name")))


@activity(bp, names.LTR_START_BACKUP)
def ltr_start_backup(params: dict[str, Any]) -> dict[str, Any]:
    """Start the long-term backup through user delegation SAS URLs made here (never returned).
    Idempotent: a backup of that name already running or done counts as started."""
    p = Params(names.LTR_START_BACKUP, params)
    server, rg = _server(p)
    containers = int(p.number("number_of_containers", 1)) or 1
    result = runtime.long_term().start(server, rg, p.text("backup_name"), containers)
    return done(names.LTR_START_BACKUP, result)


@activity(bp, names.LTR_GET_OPERATION)
def ltr_get_operation(params: dict[str, Any]) -> dict[str, Any]:
    """The backup's operation as Azure reports it (``found: false`` when there is none). Read only."""
    p = Params(names.LTR_GET_OPERATION, params)
    server, rg = _server(p)
    return runtime.long_term().operation(server, rg, p.text("backup_name"))


@activity(bp, names.LTR_LIST_BLOBS)
def ltr_list_blobs(params: dict[str, Any]) -> dict[str, Any]:
    """The long-term container's blobs (under ``prefix``) with size and stored MD5. Read only."""
    p = Params(names.LTR_LIST_BLOBS, params or {})
    return runtime.long_term().list_blobs(p.opt_text("prefix") or "")


@activity(bp, names.LTR_VERIFY_BLOBS)
def ltr_verify_blobs(params: dict[str, Any]) -> dict[str, Any]:
    """Read each recorded blob back in full: exists, recorded size, recorded MD5 (and, with ``tables``,
    a pg_dump archive naming them). Read only."""
    p = Params(names.LTR_VERIFY_BLOBS, params)
    blobs = [dict(b) for b in (p.opt_list("blobs") or []) if isinstance(b, dict)]
    tables = [str(t) for t in (p.opt_list("tables") or [])]
    return runtime.long_term().verify_blobs(blobs, tables)


@activity(bp, names.STORAGE_GET_PROTECTION)
def storage_get_protection(params: dict[str, Any]) -> dict[str, Any]:
    """The backup account's replication, versioning, delete retention and the long-term container's
    immutability, from the storage management API. Read only."""
    Params(names.STORAGE_GET_PROTECTION, params or {})
    return runtime.long_term().protection()
