"""Activity probing one URL (status, latency, body check, timeout). Contract in shared/names.py."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._params import Params
from activities.registry import activity
from shared import names
from shared.config import current_secrets, current_settings
from shared.config.calendar_fields import MAX_BURST_REQUESTS
from shared.errors import PermanentError

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
    """``requests`` GETs of ``url`` at ``concurrency``: error rate and latency (average, p50, p95, p99)
    measured here, since Azure Monitor has no percentiles for Front Door or ACI. Read-only; never raises
    for an unhealthy target."""
    from shared.azure.probe import burst

    p = Params(names.PROBE_BURST, params)
    settings = current_settings()
    requests = int(p.number("requests", 20)) or 1
    return burst(
        p.text("url"),
        requests=min(requests, MAX_BURST_REQUESTS),
        concurrency=int(p.number("concurrency", 5)) or 1,
        timeout=p.number("timeout_seconds", settings.probe_timeout_seconds),
        ca_bundle=settings.ca_bundle,
    )


@activity(bp, names.PROBE_SEND_SYNTHETIC_ALERT)
def probe_send_synthetic_alert(params: dict[str, Any]) -> dict[str, Any]:
    """POST a common-alert-schema alert in practice mode (custom property ``continuity-practice``) to the
    app's own alert intake (secret ``ALERT_INTAKE_URL``, the action group's webhook with its key) and
    return the intake's answer. The URL's query (the key) never leaves the activity. Raises permanent:
    when the intake URL is not set; never raises for an intake that answers badly (``ok: false``)."""
    from datetime import UTC, datetime

    from shared.azure.probe import probe

    p = Params(names.PROBE_SEND_SYNTHETIC_ALERT, params)
    url = current_secrets().alert_intake_url
    if not url:
        raise PermanentError(
            "send synthetic alert to", "the alert intake", "CONTINUITY_ALERT_INTAKE_URL is not set"
        )
    alert_id = f"synthetic-{p.text('run_id')}"
    essentials = {
        "alertId": alert_id,
        "alertRule": "continuity weekly alert verification",
        "severity": "Sev4",
        "monitorCondition": "Fired",
        "firedDateTime": datetime.now(UTC).isoformat(),
        "alertTargetIDs": [p.text("target")],
        "description": "synthetic alert in practice mode: must notify and start nothing",
    }
    body = {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": essentials,
            "alertContext": {},
            "customProperties": {"continuity-practice": "true", "continuity-run": p.text("run_id")},
        },
    }
    fields = ["status", "reason", "would_act", "notified_targets", "notify_failures"]
    settings = current_settings()
    found = probe(
        url, method="POST", json_body=body, expect_status=202, fields=fields, ca_bundle=settings.ca_bundle
    )
    return {**found, "url": url.split("?", 1)[0], "alert_id": alert_id}
