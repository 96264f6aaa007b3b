"""Schemathesis against ``/api/openapi.json`` on a running devhost over a sandbox: every operation, with
and without the function key.

First only invalid requests (``--mode negative``) on the fresh estate: every one is a 4xx, no start
answered 2xx but for the few generated "invalid" cases that were valid as sent (an extra query parameter
with no value is not sent at all), and no run exists but the ones those started. Then with the key: examples,
coverage (the document's boundaries and every kind of invalid value) and fuzzing, checking that no answer
is a 5xx, every status, content type and body matches the document, and every invalid request is refused
with a 4xx (``negative_data_rejection``). Without a key: every operation but the anonymous ones answers
401 and none a 5xx. The budget is bounded by ``--max-examples`` and ``--max-time``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.e2e import Estate, EstateFactory

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]

ANONYMOUS = {"/api/health", "/api/dashboard", "/api/dashboard/{asset}"}
KEYED_CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
    "negative_data_rejection"
)


def schemathesis(estate: Estate, tmp: Path, *args: str, max_time: int) -> tuple[int, str, list[Any]]:
    """Run the schemathesis CLI against the host (the document read with the key, so that a run
    without one still knows every operation); its exit code, output and ndjson events."""
    report, document = tmp / "report", tmp / "openapi.json"
    tmp.mkdir(parents=True, exist_ok=True)
    document.write_text(estate.host.request("GET", "/api/openapi.json", key="function").text)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(document),
        "--url",
        estate.host.base_url,
        "--workers",
        "1",
        "--max-time",
        str(max_time),
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--seed",
        "14",
        "--report",
        "ndjson",
        "--report-dir",
        str(report),
        "--no-color",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=max_time + 60, check=False)
    events = [json.loads(line) for f in report.glob("*.ndjson") for line in f.read_text().splitlines()]
    (tmp / "schemathesis.txt").write_text(done.stdout + done.stderr)  # the whole account, when it fails
    return done.returncode, done.stdout + done.stderr, events


def failed(output: str, estate: Estate) -> str:
    start = output.find("FAILURES")
    return output[start if start >= 0 else -8000 :][:12000] + "\n" + estate.host.log[-2000:]


def accepted(events: list[Any]) -> list[dict[str, Any]]:
    """The generated cases the API answered with a 2xx."""
    out = []
    for event in events:
        recorder = (event.get("ScenarioFinished") or {}).get("recorder") or {}
        for case_id, interaction in (recorder.get("interactions") or {}).items():
            status = (interaction.get("response") or {}).get("status_code", 0)
            if 200 <= status < 300:
                out.append(recorder["cases"][case_id])
    return out


def valid_as_sent(case: dict[str, Any]) -> bool:
    """A "negative" case whose only invalid part never reached the API: an extra query parameter whose
    value is an empty list, which the HTTP client does not send at all."""
    value = case["value"]
    negative = {k for k, v in value["meta"]["components"].items() if v.get("mode") == "negative"}
    if negative != {"query"}:
        return False
    return all(v == [] for k, v in (value.get("query") or {}).items() if k != "code")


def test_every_operation_with_and_without_the_key(estate_factory: EstateFactory, tmp_path: Path) -> None:
    estate = estate_factory()
    # Only invalid requests first, on the fresh estate: afterwards not one run exists but those started by
    # the few "invalid" cases that were valid as sent (see accepted).
    code, output, events = schemathesis(
        estate,
        tmp_path / "invalid",
        "--header",
        f"x-functions-key: {estate.host.function_key}",
        "--mode",
        "negative",
        "--phases",
        "coverage,fuzzing",
        "--max-examples",
        "6",
        "--checks",
        "not_a_server_error,negative_data_rejection",
        max_time=10,
    )
    assert code == 0, failed(output, estate)
    starts = [c for c in accepted(events) if c["value"]["method"] == "POST"]  # what could start a run
    assert all(valid_as_sent(case) for case in starts), [c["value"] for c in starts]
    assert len(estate.runs()) <= len(starts), (estate.runs(), starts)

    keyed = tmp_path / "keyed"
    code, output, _ = schemathesis(
        estate,
        keyed,
        "--header",
        f"x-functions-key: {estate.host.function_key}",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "8",
        "--checks",
        KEYED_CHECKS,
        max_time=20,
    )
    assert code == 0, failed(output, estate)
    operations = sum(len(ops) for ops in json.loads((keyed / "openapi.json").read_text())["paths"].values())
    assert re.search(rf"Tested: {operations}\b", output), output[-3000:]  # every operation

    # Without a key: the host's 401 has no body (as on Azure), so only status codes are checked here.
    code, output, _ = schemathesis(
        estate,
        tmp_path / "unkeyed",
        "--phases",
        "coverage,fuzzing",
        "--max-examples",
        "4",
        "--checks",
        "not_a_server_error,status_code_conformance",
        max_time=8,
    )
    assert code == 0, failed(output, estate)
    document = estate.host.request("GET", "/api/openapi.json", key="function").json()
    for path, operations in document["paths"].items():
        for method in operations:
            concrete = (
                path.replace("{id}", "x").replace("{action}", "approve").replace("{asset}", "dashboard.js")
            )
            answer = estate.host.request(method.upper(), concrete, json={})
            assert (answer.status_code == 401) == (path not in ANONYMOUS), (method, path, answer.status_code)
