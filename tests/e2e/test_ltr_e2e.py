"""End to end on devhost + sandbox: the weekly long-term backup completes and its blobs match what it
recorded (read back independently, with the identity's token); the monthly proof finds it readable
(Azure's record, its blob, a pg_dump archive with the critical tables); a failed one fails its run and
breaches the backup watch once; an account without versioning breaches the watch's storage protection
check with the reason; what the first backup wrote is still in the container at the end."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

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


def _breaches(hook: Receiver, check: str) -> list[dict[str, Any]]:
    return hook.messages(
        lambda m: m.get("event") == "backup-breached" and m.get("fields", {}).get("check") == check
    )


def test_long_term_backups_end_to_end(estate: Estate) -> None:
    sb, host, hook = estate
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
    proof = _ltr_run(host, "proof")
    assert proof["status"] == "succeeded", proof["summary"]
    assert [c["name"].split()[0] for c in proof["checks"]] == ["blob", "archive", "azure"]
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

    # nothing the app did removed what the first backup wrote
    assert written[0] in set(container.list_blob_names())
