"""HTTP probe: status, latency and an optional body check of one URL, with a timeout (stdlib only).

A probe never raises for an unhealthy target: the result says ``ok: false`` and why. Bodies are read up
to 64 KiB. HTTPS uses the settings' CA bundle when one is set (the sandbox CA). ``burst`` sends N requests
at concurrency C and measures what Azure Monitor cannot give for Front Door or ACI: the error rate and
the p50, p95 and p99 latency.
"""

from __future__ import annotations

import json
import math
import ssl
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
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
    expect_json: dict[str, Any] | None = None,
    fields: list[str] | None = None,
) -> dict[str, Any]:
    """Probe ``url``; ok when the status is ``expect_status`` (0: any 2xx), the body holds
    ``body_contains`` and its JSON matches ``expect_json`` (``field: value``, or ``"*"``: present and not
    empty). ``values`` holds the JSON's ``fields`` and expected fields (a list or object as its length)."""
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
    wanted = [*(fields or []), *(expect_json or {})]
    values = _values(body, wanted) if wanted else {}
    mismatched = [k for k, v in (expect_json or {}).items() if not _matches(values.get(k), v)]
    status_ok = status is not None and (
        200 <= status < 300 if expect_status == 0 else status == expect_status
    )
    ok = error is None and status_ok and matched is not False and not mismatched
    if error is None and not ok:
        expected = "2xx" if expect_status == 0 else str(expect_status)
        error = (
            f"status {status}, expected {expected}"
            if not status_ok
            else "body check failed"
            if matched is False
            else "unexpected " + ", ".join(f"{k}={values.get(k)!r}" for k in mismatched)
        )
    result: dict[str, Any] = {
        "url": url,
        "ok": ok,
        "status": status,
        "latency_ms": latency_ms,
        "body_matched": matched,
        "error": error,
    }
    if wanted:
        result["values"] = values
    return result


def _values(body: bytes, wanted: list[str]) -> dict[str, Any]:
    """The top-level ``wanted`` fields of a JSON object body (lists and objects as their length)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    out: dict[str, Any] = {}
    for key in wanted:
        if key in parsed:
            value = parsed[key]
            out[key] = len(value) if isinstance(value, list | dict) else value
    return out


def _matches(found: Any, expected: Any) -> bool:
    if expected == "*":
        return found not in (None, "", 0, False)
    return bool(found == expected)


def burst(
    url: str,
    *,
    requests: int,
    concurrency: int,
    timeout: float = 10.0,
    ca_bundle: str | None = None,
) -> dict[str, Any]:
    """``requests`` GETs of ``url`` at ``concurrency``: count, errors (no answer or 5xx), error rate (%),
    average, p50, p95 and p99 latency (ms, of the answered requests; None when none answered)."""
    with ThreadPoolExecutor(max(1, min(concurrency, requests))) as pool:
        answers = list(pool.map(lambda _: probe(url, timeout=timeout, ca_bundle=ca_bundle), range(requests)))
    answered = sorted(a["latency_ms"] for a in answers if a["status"] is not None)
    errors = [a for a in answers if a["status"] is None or a["status"] >= 500]
    statuses: dict[str, int] = {}
    for a in answers:
        statuses[str(a["status"])] = statuses.get(str(a["status"]), 0) + 1
    return {
        "url": url,
        "count": len(answers),
        "answered": len(answered),
        "errors": len(errors),
        "error_rate": round(100.0 * len(errors) / len(answers), 2) if answers else None,
        "average_ms": round(sum(answered) / len(answered), 1) if answered else None,
        "p50_ms": _percentile(answered, 0.50),
        "p95_ms": _percentile(answered, 0.95),
        "p99_ms": _percentile(answered, 0.99),
        "max_ms": answered[-1] if answered else None,
        "statuses": statuses,
        "error_samples": sorted({str(e["error"]) for e in errors})[:3],
    }


def _percentile(ordered: list[float], share: float) -> float | None:
    """The nearest-rank percentile of ascending values (None when there are none)."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else None
