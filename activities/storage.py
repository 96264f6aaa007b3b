"""Activities for the reports container and the storage account's geo-replication state.
Contracts (input -> output keys) are in shared/names.py.
"""

from __future__ import annotations

import os
from typing import Any

import azure.durable_functions as df

from activities._params import Params
from activities.registry import activity
from shared import names
from shared.azure import runtime

bp = df.Blueprint()


@activity(bp, names.STORAGE_WRITE_REPORT)
def storage_write_report(params: dict[str, Any]) -> dict[str, Any]:
    """Write the run's JSON report and its Markdown; converges when retried; refuses (precondition) to
    overwrite a report whose run has ended with a different one.

    ``retain_years`` records a retain-until date in the blobs' metadata (compliance evidence).
    """
    p = Params(names.STORAGE_WRITE_REPORT, params)
    retain = int(p.number("retain_years", 0)) or None
    return runtime.storage().write_report(p.text("run_id"), p.mapping("report"), retain)


@activity(bp, names.STORAGE_APPEND_EVENT)
def storage_append_event(params: dict[str, Any]) -> dict[str, Any]:
    """Append one event to the run's timeline; an event whose ``id`` is already there is skipped."""
    p = Params(names.STORAGE_APPEND_EVENT, params)
    return runtime.storage().append_event(p.text("run_id"), p.mapping("event"))


@activity(bp, names.STORAGE_READ_REPORT)
def storage_read_report(params: dict[str, Any]) -> dict[str, Any]:
    """The run's JSON report (``found: false`` when none) and its events."""
    p = Params(names.STORAGE_READ_REPORT, params)
    return runtime.storage().read_report(p.text("run_id"))


@activity(bp, names.STORAGE_WRITE_STATE)
def storage_write_state(params: dict[str, Any]) -> dict[str, Any]:
    """Replace a timer's working state (the backup watch's open breaches): not evidence."""
    p = Params(names.STORAGE_WRITE_STATE, params)
    return runtime.storage().write_state(p.text("name"), p.mapping("state"))


@activity(bp, names.STORAGE_READ_STATE)
def storage_read_state(params: dict[str, Any]) -> dict[str, Any]:
    """A timer's working state; ``found: false`` when none was written yet."""
    p = Params(names.STORAGE_READ_STATE, params)
    return runtime.storage().read_state(p.text("name"))


@activity(bp, names.STORAGE_APPEND_LOG)
def storage_append_log(params: dict[str, Any]) -> dict[str, Any]:
    """Append an entry to a durable log (the release history ``releases-<app>``); idempotent by the
    entry's ``id``: a retried call appends nothing more."""
    p = Params(names.STORAGE_APPEND_LOG, params)
    return runtime.storage().append_log(p.text("log"), p.mapping("entry"))


@activity(bp, names.STORAGE_READ_LOG)
def storage_read_log(params: dict[str, Any]) -> dict[str, Any]:
    """Every entry of a durable log, oldest first; a log never written has none."""
    p = Params(names.STORAGE_READ_LOG, params)
    return runtime.storage().read_log(p.text("log"))


@activity(bp, names.STORAGE_GET_GEO_SYNC)
def storage_get_geo_sync(params: dict[str, Any]) -> dict[str, Any]:
    """Geo-replication last sync time; ``available: false`` with the reason where there is no secondary."""
    Params(names.STORAGE_GET_GEO_SYNC, params or {})
    return runtime.storage().geo_sync()


@activity(bp, names.STORAGE_LIST_REPORTS)
def storage_list_reports(params: dict[str, Any]) -> dict[str, Any]:
    """Every run report's summary (blob metadata), optionally of one ``operation``; read-only."""
    p = Params(names.STORAGE_LIST_REPORTS, params or {})
    operation = p.opt_text("operation")
    found = runtime.storage().list_reports()
    return {"reports": [r for r in found if not operation or r.get("operation") == operation]}


@activity(bp, names.STORAGE_GET_TASK_HUB_REGION)
def storage_get_task_hub_region(params: dict[str, Any]) -> dict[str, Any]:
    """The region the Functions host (and the task hub deployed with it) runs in: ``REGION_NAME``, which
    Azure Functions sets (sometimes as the display name, 'UK West'; normalized to 'ukwest'); None when the
    host does not set it."""
    Params(names.STORAGE_GET_TASK_HUB_REGION, params or {})
    raw = os.environ.get("REGION_NAME", "").strip()
    return {"region": raw.replace(" ", "").lower() or None, "reported": bool(raw)}
