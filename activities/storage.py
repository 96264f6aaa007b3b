"""Activities for the reports container and the storage account's geo-replication state.
Contracts (input -> output keys) are in shared/names.py.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params
from shared import names
from shared.azure import runtime

bp = df.Blueprint()


@bp.function_name(names.STORAGE_WRITE_REPORT)
@bp.activity_trigger(input_name="params")
def storage_write_report(params: dict[str, Any]) -> dict[str, Any]:
    """Write (overwrite) the run's JSON report and Markdown; converges when retried.

    ``retain_years`` records a retain-until date in the blobs' metadata (compliance evidence).
    """
    p = Params(names.STORAGE_WRITE_REPORT, params)
    retain = int(p.number("retain_years", 0)) or None
    return runtime.storage().write_report(
        p.text("run_id"), p.mapping("report"), p.opt_text("markdown"), retain
    )


@bp.function_name(names.STORAGE_APPEND_EVENT)
@bp.activity_trigger(input_name="params")
def storage_append_event(params: dict[str, Any]) -> dict[str, Any]:
    """Append one event to the run's timeline; an event whose ``id`` is already there is skipped."""
    p = Params(names.STORAGE_APPEND_EVENT, params)
    return runtime.storage().append_event(p.text("run_id"), p.mapping("event"))


@bp.function_name(names.STORAGE_READ_REPORT)
@bp.activity_trigger(input_name="params")
def storage_read_report(params: dict[str, Any]) -> dict[str, Any]:
    """The run's JSON report (``found: false`` when none) and its events."""
    p = Params(names.STORAGE_READ_REPORT, params)
    return runtime.storage().read_report(p.text("run_id"))


@bp.function_name(names.STORAGE_GET_GEO_SYNC)
@bp.activity_trigger(input_name="params")
def storage_get_geo_sync(params: dict[str, Any]) -> dict[str, Any]:
    """Geo-replication last sync time; ``available: false`` with the reason where there is no secondary."""
    Params(names.STORAGE_GET_GEO_SYNC, params or {})
    return runtime.storage().geo_sync()
