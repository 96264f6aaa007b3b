"""Long-term backups against the sandbox through the real SDKs: Azure's long-term retention API on the
primary (a real pg_dump written through a user delegation SAS), the blobs read back, the backup account's
protection as the storage management API reports it, and what is refused (a bad request, a failed
backup, a delete through the SAS, deleting the locked immutability policy)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError

from sandbox.client import SandboxClient
from shared import names
from shared.azure.clients import Clients
from shared.azure.long_term import LongTermAdapter
from shared.config import load_secrets, load_settings
from shared.policy import long_term as ltr_policy
from tests.polling import until
from tests.support.activities import Activity, app_environment

pytestmark = pytest.mark.sandbox


@pytest.fixture
def clients(sandbox_values: dict[str, str]) -> Iterator[Clients]:
    with app_environment(sandbox_values):
        built = Clients(load_settings(sandbox_values), load_secrets(sandbox_values))
        yield built
        built.close()


def _primary(sandbox: SandboxClient) -> dict[str, str]:
    e = sandbox.endpoints
    return {"server": e["servers"]["primary"], "resource_group": e["resource_groups"]["primary"]}


def _finished(act: Activity, target: dict[str, str]) -> dict[str, object]:
    def ended() -> dict[str, object] | None:
        found = act(names.LTR_GET_OPERATION, **target)
        return found if ltr_policy.operation_ended(found) else None

    return until(ended, f"long-term backup {target['backup_name']} ended", timeout=60, interval=0.5)


def test_a_long_term_backup_is_written_through_the_sas_and_reads_back_as_listed(
    sandbox: SandboxClient, act: Activity
) -> None:
    target = {**_primary(sandbox), "backup_name": f"ltr-it-{uuid.uuid4().hex[:8]}"}
    assert act(names.LTR_PRE_BACKUP, **target)["number_of_containers"] == 1
    before = {b["name"] for b in act(names.LTR_LIST_BLOBS)["blobs"]}
    started = act(names.LTR_START_BACKUP, **target)
    assert "sig=" not in str(started)  # the SAS never leaves the activity
    assert act(names.LTR_START_BACKUP, **target)["message"] == "started"  # a retried start converges
    done = _finished(act, target)
    assert done["status"] == "Succeeded", done["error_message"]
    assert done["percent_complete"] == 100.0
    assert int(str(done["datasource_size_bytes"])) > 0 and done["ended_at"]
    new = [b for b in act(names.LTR_LIST_BLOBS)["blobs"] if b["name"] not in before]
    assert [b["name"] for b in new] == [f"{target['server']}/{target['backup_name']}/qlp_db.dump"]
    assert new[0]["size"] == done["data_transferred_bytes"] and new[0]["md5"]
    verified = act(names.LTR_VERIFY_BLOBS, blobs=new, tables=["intents"])
    assert verified["passed"] is True and [c["name"].split()[0] for c in verified["checks"]] == [
        "blob",
        "archive",
    ]
    absent = act(names.LTR_VERIFY_BLOBS, blobs=new, tables=["intents", "no_such_table"])["checks"][1]
    assert absent["passed"] is False and "without table(s) no_such_table" in absent["detail"]
    tampered = [{**new[0], "size": new[0]["size"] + 1}, {"name": "gone.dump", "size": 1, "md5": "x"}]
    checks = act(names.LTR_VERIFY_BLOBS, blobs=tampered)["checks"]
    assert [c["passed"] for c in checks] == [False, False]
    assert "recorded" in checks[0]["detail"] and "missing" in checks[1]["detail"]


def test_a_failed_backup_is_reported_failed_with_its_reason(sandbox: SandboxClient, act: Activity) -> None:
    target = {**_primary(sandbox), "backup_name": f"ltr-fail-{uuid.uuid4().hex[:8]}"}
    sandbox.fault("ltr-backup-fail", message="disk full while streaming the dump")
    try:
        act(names.LTR_START_BACKUP, **target)
        done = _finished(act, target)
    finally:
        sandbox.fault("clear")
    assert done["status"] == "Failed" and "disk full" in str(done["error_message"])
    decision = ltr_policy.operation_outcome(done, waited_seconds=1, deadline_seconds=60)
    assert decision.action == "failed" and "disk full" in decision.reason


def test_a_start_without_a_sas_is_refused_naming_the_field(sandbox: SandboxClient, clients: Clients) -> None:
    p = _primary(sandbox)
    body = {"backupSettings": {"backupName": "ltr-nosas"}, "targetDetails": {"sasUriList": []}}
    with pytest.raises(HttpResponseError) as refused:
        clients.postgres().backups_long_term_retention.begin_start(p["resource_group"], p["server"], body)
    assert refused.value.status_code == 400 and "sasUriList" in str(refused.value)


def test_nothing_in_the_long_term_container_can_be_deleted_through_the_app(
    sandbox: SandboxClient, clients: Clients
) -> None:
    from azure.storage.blob import ContainerClient

    adapter = LongTermAdapter(clients)
    sas = adapter._container_sas()  # what the app hands to Azure
    with ContainerClient.from_container_url(sas, connection_verify=sandbox.ca_bundle) as container:
        container.upload_blob(f"probe-{uuid.uuid4().hex[:6]}", b"evidence")
        name = next(iter(container.list_blob_names()))
        with pytest.raises(HttpResponseError) as refused:
            container.delete_blob(name)
    assert refused.value.status_code == 403
    assert not any(n.startswith("delete") for n in dir(adapter))  # the adapter has no delete at all
    s = clients.settings
    policies = clients.storage_management().blob_containers
    with pytest.raises(HttpResponseError) as locked:
        policies.delete_immutability_policy(
            s.backup_storage_resource_group,
            s.backup_storage_account,
            s.ltr_container,
            etag='"8d9c0a1b2c3d4e5"',
            match_condition=MatchConditions.IfNotModified,
        )
    assert locked.value.status_code == 409


def test_the_backup_account_protection_is_read_and_judged(sandbox: SandboxClient, act: Activity) -> None:
    def judge() -> object:
        return ltr_policy.storage_protection(
            act(names.STORAGE_GET_PROTECTION), min_delete_retention_days=365, compliance_years=7
        )

    found = act(names.STORAGE_GET_PROTECTION)
    assert found["replication"] == "Standard_GRS" and found["versioning"] is True
    assert found["delete_retention_days"] == 365 and found["immutability_days"] == 2557
    assert judge().passed  # type: ignore[attr-defined]
    sandbox.fault("storage-unprotected", versioning=False, replication="Standard_LRS", immutability=False)
    try:
        verdict = judge()
    finally:
        sandbox.fault("clear")
    reasons = " | ".join(verdict.reasons)  # type: ignore[attr-defined]
    assert not verdict.passed  # type: ignore[attr-defined]
    assert "Standard_LRS" in reasons and "versioning is off" in reasons
    assert "no immutability policy" in reasons


def test_a_tampered_user_delegation_sas_is_refused(sandbox: SandboxClient, clients: Clients) -> None:
    from azure.storage.blob import ContainerClient

    sas = LongTermAdapter(clients)._container_sas()
    widened = sas.replace("sp=racwl", "sp=racwdl")  # adding delete breaks the signature
    assert widened != sas
    with (
        ContainerClient.from_container_url(widened, connection_verify=sandbox.ca_bundle) as container,
        pytest.raises(HttpResponseError) as refused,
    ):
        container.upload_blob(f"tamper-{uuid.uuid4().hex[:6]}", b"x")
    assert refused.value.status_code == 403 and "Signature did not match" in str(refused.value)
