"""HTTP probe: status, latency and an optional body check of one URL, with a timeout (stdlib only).

A probe never raises for an unhealthy target: the result says ``ok: false`` and why. Bodies are read up
to 64 KiB. HTTPS uses the settings' CA bundle when one is set (the sandbox CA).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from typing import Any

MAX_BODY = 64 * 1024


def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()


def probe(
    url: str,
    *,
    method: str = "GET",
    json_body: Any = None,
    expect_status: int = 200,
    body_contains: str | None = None,
    timeout: float = 10.0,
    ca_bundle: str | None = None,
) -> dict[str, Any]:
    """Probe ``url``; ok when the status is ``expect_status`` and the body holds ``body_contains``."""
    data = json.dumps(json_body).encode() if json_body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, method=method.upper(), headers=headers)
    started = time.monotonic()
    status: int | None = None
    body = b""
    error: str | None = None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=_ssl_context(ca_bundle)) as response:
            status = response.status
            body = response.read(MAX_BODY)
    except urllib.error.HTTPError as exc:
        status = exc.code
        body = exc.read(MAX_BODY) if exc.fp is not None else b""
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        error = f"{type(reason).__name__}: {reason}"[:200]
    latency_ms = round((time.monotonic() - started) * 1000, 1)
    matched = None if body_contains is None else body_contains in body.decode("utf-8", "replace")
    ok = error is None and status == expect_status and matched is not False
    if error is None and not ok:
        error = (
            f"status {status}, expected {expect_status}" if status != expect_status else "body check failed"
        )
    return {
        "url": url,
        "ok": ok,
        "status": status,
        "latency_ms": latency_ms,
        "body_matched": matched,
        "error": error,
    }
