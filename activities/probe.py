"""Activity probing one URL (status, latency, body check, timeout). Contract in shared/names.py."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params
from activities.registry import activity
from shared import names
from shared.config import current_settings

bp = df.Blueprint()


@activity(bp, names.PROBE_HTTP)
def probe_http(params: dict[str, Any]) -> dict[str, Any]:
    """Probe ``url``; never raises for an unhealthy target (``ok: false`` with the reason). Read-only
    unless the caller asks for another ``method`` with a ``json`` body (e.g. a test write)."""
    from shared.azure.probe import probe  # the adapter module loads on first use, not at import

    p = Params(names.PROBE_HTTP, params)
    settings = current_settings()
    return probe(
        p.text("url"),
        method=p.opt_text("method") or "GET",
        json_body=p.data.get("json"),
        expect_status=int(p.number("expect_status", 200)),
        body_contains=p.opt_text("body_contains"),
        timeout=p.number("timeout_seconds", settings.probe_timeout_seconds),
        ca_bundle=settings.ca_bundle,
        expect_json=p.mapping("expect_json") or None,
        fields=[str(f) for f in p.opt_list("fields") or []],
    )


@activity(bp, names.PROBE_BURST)
def probe_burst(params: dict[str, Any]) -> dict[str, Any]:
    """``requests`` GETs of ``url`` at ``concurrency``: error rate and latency (average, p95) measured
    here, since Azure Monitor has no percentiles for Front Door or ACI. Read-only; never raises for an
    unhealthy target."""
    from shared.azure.probe import burst

    p = Params(names.PROBE_BURST, params)
    settings = current_settings()
    requests = int(p.number("requests", 20)) or 1
    return burst(
        p.text("url"),
        requests=min(requests, 1000),
        concurrency=int(p.number("concurrency", 5)) or 1,
        timeout=p.number("timeout_seconds", settings.probe_timeout_seconds),
        ca_bundle=settings.ca_bundle,
    )
