"""The activities the deployment plans add, against the sandbox with the real SDKs: a group with another
group's spec and a new image, request bursts, JSON checks of a probe, durable logs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from sandbox.client import SandboxClient
from shared import names
from tests.support.activities import Activity

pytestmark = pytest.mark.sandbox

IMAGE = "qlpregistry.azurecr.io/qlp-app:1.0.0"


@pytest.fixture
def scratch_group(act: Activity) -> Iterator[str]:
    name = f"ci-qlp-like-{uuid.uuid4().hex[:6]}"
    yield name
    act(names.CONTAINERS_DELETE_GROUP, group=name)


def test_a_group_takes_another_groups_spec_with_a_new_image(
    act: Activity, sandbox: SandboxClient, scratch_group: str
) -> None:
    blue = sandbox.endpoints["container_groups"]["uksouth-blue"]
    live = act(names.CONTAINERS_GET_GROUP, group=blue, spec=True)["spec"]
    assert live["image"] == IMAGE and live["cpu"] and live["memory_gb"] and live["environment"]
    made = act(
        names.CONTAINERS_ENSURE_GROUP, group=scratch_group, image=IMAGE + "-next", like=blue, run_id="it"
    )
    assert made["created"] and made["spec"]["environment"] == live["environment"]
    copy = act(names.CONTAINERS_GET_GROUP, group=scratch_group, spec=True)
    assert copy["image"] == IMAGE + "-next" and copy["state"] == "Running"
    assert {k: copy["spec"][k] for k in ("cpu", "memory_gb", "environment")} == {
        k: live[k] for k in ("cpu", "memory_gb", "environment")
    }
    again = act(
        names.CONTAINERS_ENSURE_GROUP, group=scratch_group, image=IMAGE + "-next", like=blue, run_id="it"
    )
    assert again["changed"] is False
    status = act(names.PROBE_HTTP, url=copy["url"] + "/api/v1/status", fields=["version"])
    assert status["ok"] and status["values"] == {"version": "1.0.0-next"}
    assert act(names.CONTAINERS_GET_GROUP, group=blue)["image"] == IMAGE  # the source is only read


def test_a_burst_measures_error_rate_and_p95_and_says_when_nothing_answered(
    act: Activity, sandbox: SandboxClient
) -> None:
    url = str(sandbox.endpoints["frontdoor_url"]) + "/health"
    burst = act(names.PROBE_BURST, url=url, requests=20, concurrency=5)
    assert (burst["count"], burst["answered"], burst["errors"], burst["error_rate"]) == (20, 20, 0, 0.0)
    assert 0 < burst["p95_ms"] <= burst["max_ms"] and burst["statuses"] == {"200": 20}
    dead = act(
        names.PROBE_BURST, url="http://127.0.0.1:9/health", requests=4, concurrency=2, timeout_seconds=1
    )
    assert (dead["error_rate"], dead["answered"], dead["p95_ms"], dead["average_ms"]) == (
        100.0,
        0,
        None,
        None,
    )


def test_a_probe_checks_the_dr_documents_json_answers(act: Activity, sandbox: SandboxClient) -> None:
    base = str(sandbox.endpoints["frontdoor_url"])
    intent = act(
        names.PROBE_HTTP,
        url=base + "/api/v1/intents",
        method="POST",
        json={"user_input": "integration smoke"},
        expect_status=0,
        expect_json={"status": "success", "intent_id": "*"},
    )
    assert intent["ok"] and intent["status"] == 201 and intent["values"]["status"] == "success"
    search = act(
        names.PROBE_HTTP,
        url=base + "/api/v1/search",
        method="POST",
        json={"query": "integration smoke"},
        expect_json={"results": "*"},
    )
    assert search["ok"] and search["values"]["results"] >= 1
    wrong = act(names.PROBE_HTTP, url=base + "/api/v1/status", expect_json={"version": "9.9.9"})
    assert not wrong["ok"] and wrong["error"] == "unexpected version='1.0.0'"


def test_durable_logs_append_once_per_id_and_read_back_in_order(act: Activity) -> None:
    log = f"releases-it-{uuid.uuid4().hex[:6]}"
    assert act(names.STORAGE_READ_LOG, log=log)["entries"] == []
    first = {"id": "r1:deploy:succeeded", "image": "a"}
    assert act(names.STORAGE_APPEND_LOG, log=log, entry=first)["appended"] is True
    assert act(names.STORAGE_APPEND_LOG, log=log, entry=first)["appended"] is False  # a retried call
    act(names.STORAGE_APPEND_LOG, log=log, entry={"id": "r2:rollback:succeeded", "image": "b"})
    assert [e["id"] for e in act(names.STORAGE_READ_LOG, log=log)["entries"]] == [
        "r1:deploy:succeeded",
        "r2:rollback:succeeded",
    ]
