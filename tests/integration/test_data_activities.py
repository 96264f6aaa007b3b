"""Key Vault, blob reports, Event Grid, Monitor metrics and the HTTP probe against the sandbox."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from azure.storage.blob import BlobServiceClient

from sandbox.client import SandboxClient
from shared import names
from shared.reports import render_markdown
from tests.support.activities import Activity, run_report
from tests.support.receiver import running_receiver

pytestmark = pytest.mark.sandbox


def test_secret_host_is_shown_without_the_password(act: Activity, sandbox: SandboxClient) -> None:
    ep = sandbox.endpoints
    result = act(names.SECRETS_GET_DATABASE_HOST)
    primary_port = ep["server_ports"][ep["servers"]["primary"]]
    assert (result["host"], result["database"]) == (f"127.0.0.1:{primary_port}", ep["database_name"])
    assert str(ep["database_url"]).split(":")[2].split("@")[0] not in json.dumps(result)


def test_pointing_the_secret_where_it_points_writes_nothing(act: Activity, sandbox: SandboxClient) -> None:
    primary = sandbox.endpoints["servers"]["primary"]
    before = act(names.SECRETS_GET_DATABASE_HOST)["version"]
    result = act(names.SECRETS_POINT_DATABASE_URL, server=primary)
    assert (result["changed"], result["version"]) == (False, before)
    with pytest.raises(Exception, match=r"^precondition: point database secret at qlp-db-nowhere: "):
        act(names.SECRETS_POINT_DATABASE_URL, server="qlp-db-nowhere")


def test_after_the_secret_is_pointed_elsewhere_its_old_versions_are_disabled(
    act: Activity, sandbox: SandboxClient
) -> None:
    from azure.core.exceptions import HttpResponseError

    from tests.support.vault import secret_client

    ep = sandbox.endpoints
    name, primary, replica = ep["database_secret_name"], ep["servers"]["primary"], ep["servers"]["replica"]
    with secret_client(sandbox) as client:
        try:
            moved = act(names.SECRETS_POINT_DATABASE_URL, server=replica)
            assert moved["changed"] is True and moved["retired_versions"] >= 1
            versions = {v.version: v.enabled for v in client.list_properties_of_secret_versions(name)}
            assert [v for v, on in versions.items() if on] == [moved["version"]]
            old = next(v for v, on in versions.items() if not on)
            with pytest.raises(HttpResponseError, match="disabled secret"):  # the old URL and password
                client.get_secret(name, old)
        finally:
            back = act(names.SECRETS_POINT_DATABASE_URL, server=primary)
        versions = {v.version: v.enabled for v in client.list_properties_of_secret_versions(name)}
        assert [v for v, on in versions.items() if on] == [back["version"]]
        assert act(names.SECRETS_POINT_DATABASE_URL, server=primary)["retired_versions"] == 0
        drill = f"drill-{uuid.uuid4().hex[:6]}"
        act(names.SECRETS_POINT_DATABASE_URL, server=replica, secret_name=drill)
        cleared = act(names.SECRETS_CLEAR, secret_name=drill)
        assert cleared["retired_versions"] == 1  # the drill URL with its password is not readable
        assert [v.enabled for v in client.list_properties_of_secret_versions(drill)].count(True) == 1
        assert client.get_secret(drill).value == ""


def test_reports_and_events_land_in_the_reports_container(act: Activity, sandbox: SandboxClient) -> None:
    run_id = f"failover-it-{uuid.uuid4().hex[:6]}"
    report = run_report(run_id)
    written = [act(names.STORAGE_WRITE_REPORT, run_id=run_id, report=report) for _ in range(2)]
    assert written[0]["json_blob"] == f"runs/{run_id}/report.json" and written[0] == written[1]
    events = [{"id": f"{run_id}-{n}", "step": n} for n in range(3)]
    appended = [
        act(names.STORAGE_APPEND_EVENT, run_id=run_id, event=e)["appended"] for e in events + events[:1]
    ]
    assert appended == [True, True, True, False]
    read = act(names.STORAGE_READ_REPORT, run_id=run_id)
    assert (read["found"], read["report"], read["events"]) == (True, report, events)
    blobs = BlobServiceClient.from_connection_string(sandbox.endpoints["storage_connection_string"])
    container = blobs.get_container_client("continuity-reports")
    markdown = container.download_blob(f"runs/{run_id}/report.md").readall().decode()
    assert markdown == render_markdown(report) and markdown.startswith(f"# failover run {run_id}\n")
    assert act(names.STORAGE_READ_REPORT, run_id="never-ran")["found"] is False
    drill = f"{run_id}-drill"
    evidence = act(
        names.STORAGE_WRITE_REPORT, run_id=drill, report=run_report(drill, "drill"), retain_years=7
    )
    assert evidence["retain_until"] > time.strftime("%Y-%m-%d")
    with pytest.raises(Exception, match=r"^permanent: write report \.\./x: run_id must be"):
        act(names.STORAGE_WRITE_REPORT, run_id="../x", report=run_report("x"))


def test_a_report_whose_run_has_ended_is_never_overwritten(act: Activity) -> None:
    run_id = f"failover-it-{uuid.uuid4().hex[:6]}"
    for _ in range(2):  # a running report is rewritten as the run goes
        act(names.STORAGE_WRITE_REPORT, run_id=run_id, report=run_report(run_id))
    final = run_report(run_id, status="succeeded", summary="failed over")
    once, again = (act(names.STORAGE_WRITE_REPORT, run_id=run_id, report=final) for _ in range(2))
    assert once == again  # the same final report again (a retried activity) converges
    other = run_report(run_id, status="failed", summary="a different ending")
    ended = r"^precondition: write report runs/.*/report.json: the run has ended"
    with pytest.raises(Exception, match=ended):
        act(names.STORAGE_WRITE_REPORT, run_id=run_id, report=other)
    assert act(names.STORAGE_READ_REPORT, run_id=run_id)["report"] == final


def test_geo_sync_is_reported_as_not_available_without_a_secondary(act: Activity) -> None:
    result = act(names.STORAGE_GET_GEO_SYNC)
    assert (result["available"], result["last_sync_time"]) == (False, None)
    assert result["reason"].startswith("not available")


def test_cloud_events_reach_a_subscriber(act: Activity, sandbox: SandboxClient) -> None:
    with running_receiver() as receiver:
        name = f"it-{uuid.uuid4().hex[:6]}"
        body = {"url": f"{receiver.url}/events", "schema": "EventGridSchema", "name": name}
        sandbox.request("POST", "/sandbox/eventgrid/subscriptions", body)
        try:
            event_id = f"run-{uuid.uuid4().hex[:6]}-started"
            result = act(
                names.EVENTS_PUBLISH,
                type="RunStarted",
                subject="runs/x",
                data={"state": "started"},
                id=event_id,
            )
            assert (result["published"], result["id"], result["type"]) == (
                True,
                event_id,
                "Continuity.RunStarted",
            )

            def delivered(received: list[tuple[str, object]]) -> bool:
                return any(event_id in json.dumps(body) for _, body in received)

            receiver.wait_for(delivered)
        finally:
            sandbox.request("DELETE", f"/sandbox/eventgrid/subscriptions/{name}")
    got = next(b for _, b in receiver.snapshot() if event_id in json.dumps(b))
    event = got[0] if isinstance(got, list) else got
    assert event.get("eventType", event.get("type")) == "Continuity.RunStarted"
    assert event["data"] == {"state": "started"}


def test_metric_windows_come_from_real_counters(act: Activity, sandbox: SandboxClient) -> None:
    public = sandbox.endpoints["frontdoor_url"]
    for _ in range(5):
        assert act(names.PROBE_HTTP, url=f"{public}/health")["ok"]
    fd = act(names.METRICS_GET_WINDOW, target="frontdoor", minutes=5, baseline_minutes=5)
    assert fd["window"]["request_count"] >= 5 and fd["baseline"] is not None
    blue = sandbox.endpoints["container_groups"]["uksouth-blue"]
    group = act(names.METRICS_GET_WINDOW, target="container_group", name=blue)
    assert group["resource_id"].endswith(f"/containerGroups/{blue}") and group["baseline"] is None
    assert group["window"]["memory_bytes"] and group["window"]["memory_bytes"] > 0
    with pytest.raises(Exception, match=r"^permanent: validate input of metrics_get_window: target"):
        act(names.METRICS_GET_WINDOW, target="moon")


def test_probe_reports_status_latency_body_and_timeouts(act: Activity, sandbox: SandboxClient) -> None:
    public = sandbox.endpoints["frontdoor_url"]
    ok = act(names.PROBE_HTTP, url=f"{public}/api/v1/status", body_contains='"status": "ok"')
    assert ok["ok"] and ok["status"] == 200 and ok["body_matched"] and ok["latency_ms"] > 0
    missing = act(names.PROBE_HTTP, url=f"{public}/nowhere")
    assert (missing["ok"], missing["status"]) == (False, 404) and "expected 200" in missing["error"]
    body = act(names.PROBE_HTTP, url=f"{public}/health", body_contains="no such text")
    assert (body["ok"], body["body_matched"], body["error"]) == (False, False, "body check failed")
    bad_write = act(
        names.PROBE_HTTP, url=f"{public}/api/v1/intents", method="POST", json={"text": ""}, expect_status=400
    )
    assert bad_write["ok"] is True
