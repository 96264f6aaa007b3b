"""End to end on devhost + sandbox: the weekly long-term backup completes and its blobs match what it
recorded (read back independently, with the identity's token); the monthly proof finds it readable
(Azure's record, its blob, a pg_dump archive with the critical tables), restores it with pg_restore
into a new, empty server, checks the data there and tears it down (gone from ARM); a failed one fails
its run and breaches the backup watch once; an account without versioning breaches the watch's storage
protection check with the reason; what the first backup wrote is still in the container at the end."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.storage.blob import BlobServiceClient

from sandbox.client import SandboxClient, StaticTokenCredential
from tests.fixtures.devhost import DevhostProcess
from tests.fixtures.sandbox import start_sandbox, stop_sandbox
from tests.polling import until
from tests.support.e2e import (
    SANDBOX_CONFIG,
    app_env,
    listed,
    run_report,
    run_timer,
    start_devhost,
    wait_run,
    watch_tick,
)
from tests.support.receiver import Receiver, running_receiver

pytestmark = [pytest.mark.e2e, pytest.mark.sandbox, pytest.mark.slow]
Estate = tuple[SandboxClient, DevhostProcess, Receiver]


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    sb = start_sandbox(backup_interval=3600.0, config=SANDBOX_CONFIG)
    try:
        with running_receiver() as hook:
            ltr = {"backup_storage_account": sb.endpoints["backup_storage_account"]}
            host = start_devhost(app_env(sb, hook, ltr_poll_seconds="1", ltr_deadline_minutes="2", **ltr))
            try:
                yield sb, host, hook
            finally:
                host.stop()
    finally:
        stop_sandbox(sb.state_dir)


def _ltr_run(host: DevhostProcess, kind: str = "backup") -> dict[str, Any]:
    """Run the weekly (or monthly proof) timer now and wait for the run it started; returns its report."""
    operation = f"ltr-{kind}"
    before = {r["id"] for r in listed(host, operation=operation)}
    run_timer(host, f"timer_ltr_{kind}")
    new = until(
        lambda: [r for r in listed(host, operation=operation) if r["id"] not in before],
        "the timer started a long-term backup run",
        timeout=30,
        interval=0.3,
    )
    wait_run(host, new[0]["id"], timeout=120)
    return dict(run_report(host, new[0]["id"]))


def _container(sb: SandboxClient) -> Any:
    token = StaticTokenCredential(sb.endpoints["sandbox_token"])
    service = BlobServiceClient(sb.endpoints["backup_storage_url"], token, connection_verify=sb.ca_bundle)
    return service.get_container_client(sb.endpoints["ltr_container"])


def _write_intents(sb: SandboxClient, count: int) -> None:
    """Rows in the primary's intents table, written directly (what the restored copy must hold)."""
    import psycopg

    with psycopg.connect(str(sb.endpoints["database_url"]), connect_timeout=5) as conn:
        for i in range(count):
            conn.execute("INSERT INTO intents (text, embedding) VALUES (%s, %s)", (f"ltr {i}", [0.1, 0.2]))


def _server_names(sb: SandboxClient) -> set[str]:
    """The primary region's flexible servers, read from the sandbox's ARM API."""
    sub, rg = sb.endpoints["subscription_id"], sb.endpoints["resource_groups"]["primary"]
    path = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers"
    return {s["name"] for s in sb.request("GET", f"{path}?api-version=2026-10-01")["value"]}


def _breaches(hook: Receiver, check: str) -> list[dict[str, Any]]:
    return hook.messages(
        lambda m: m.get("event") == "backup-breached" and m.get("fields", {}).get("check") == check
    )


def test_long_term_backups_end_to_end(estate: Estate) -> None:
    sb, host, hook = estate
    _write_intents(sb, 3)
    # a weekly backup completes; its blobs are in the container with the size and MD5 it recorded
    report = _ltr_run(host)
    assert report["status"] == "succeeded", report["summary"]
    assert report["retention"] == "7 years (compliance record)"
    assert [c["passed"] for c in report["checks"]] == [True, True, True], report["checks"]
    written = report["measurements"]["ltr_blobs"]
    assert len(written) == 1 and written[0].endswith("/qlp_db.dump")
    container = _container(sb)
    data = container.download_blob(written[0]).readall()
    assert len(data) == report["measurements"]["ltr_blob_bytes"] and data.startswith(b"PGDMP")
    stored = container.get_blob_client(written[0]).get_blob_properties().content_settings.content_md5
    assert base64.b64encode(bytes(stored)) == base64.b64encode(hashlib.md5(data).digest())
    # the monthly proof restores it into a new server with pg_restore and checks the data there
    proof = _ltr_run(host, "proof")
    assert proof["status"] == "succeeded", proof["summary"]
    checks = {c["name"]: c for c in proof["checks"]}
    assert [c["name"].split()[0] for c in proof["checks"]][:3] == ["blob", "archive", "azure"]
    assert "exited with 0" in checks["restore into a new server"]["detail"]
    sentinel = [n for n in checks if n.startswith("sentinel ") and n.endswith("-sentinel present")]
    assert len(sentinel) == 1 and checks[sentinel[0]]["passed"]
    assert checks["count intents"]["passed"] and checks["teardown scratch server"]["passed"]
    assert checks["teardown restore job"]["passed"]
    m = proof["measurements"]
    assert m["restored_row_counts"]["intents"] >= 3 and m["restore_exit_code"] == 0
    assert m["restored_row_counts"]["intents"] >= report["measurements"]["source_row_counts"]["intents"]
    scratch = proof["resources"]["scratch_server"]
    assert scratch not in _server_names(sb) and sb.endpoints["servers"]["primary"] in _server_names(sb)
    # neither the archive's SAS nor the scratch administrator's password is in the report or the history
    path = f"/runtime/webhooks/durabletask/instances/{proof['run_id']}"
    history = host.request("GET", path, key="master", params={"showHistory": "true"}).text
    password = urlsplit(str(sb.endpoints["database_url"])).password or ""
    assert len(history) > 1000 and "ltr_restore_job" in history
    for text in (str(proof), history):
        assert "sig=" not in text and password not in text
    healthy = watch_tick(sb, host)
    assert {c["name"]: c["ok"] for c in healthy["checks"]}["long-term-backup"] is True

    # a failed one fails its run and breaches the watch once
    sb.fault("ltr-backup-fail", message="the dump stream was cut")
    failed = _ltr_run(host)
    assert failed["status"] == "failed" and "the dump stream was cut" in failed["summary"]
    first = watch_tick(sb, host)
    assert "long-term-backup" in first["open_breaches"]
    watch_tick(sb, host)
    (breach,) = _breaches(hook, "long-term-backup")
    assert "failed" in breach["text"] and "the dump stream was cut" in breach["text"]

    # an account without versioning fails the storage protection check with the reason
    sb.fault("storage-unprotected", versioning=False)
    unprotected = watch_tick(sb, host)
    check = {c["name"]: c for c in unprotected["checks"]}["backup-storage-protection"]
    assert check["ok"] is False and check["reason"] == "blob versioning is off"
    assert len(_breaches(hook, "backup-storage-protection")) == 1
    ready = host.request("GET", "/api/readiness", key="function").json()  # the same account, judged now
    assert {c["name"]: (c["result"], c["reason"]) for c in ready["checks"]}["backup_storage"] == (
        "fail",
        "blob versioning is off",
    )

    # nothing the app did removed what the first backup wrote
    assert written[0] in set(container.list_blob_names())
