"""The sandbox's record of what it was asked to change (``/sandbox/status`` ``actions``): counted where a
change is accepted, by kind and resource name, so end-to-end tests can tell a step done twice."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.keyvault.secrets import SecretClient
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from sandbox.client import SandboxClient, StaticTokenCredential
from sandbox.context import Actions
from tests.support.aci import group_body

pytestmark = pytest.mark.sandbox


def counts(sb: SandboxClient) -> dict[str, dict[str, int]]:
    return dict(sb.status()["actions"]["counts"])


def test_secret_writes_and_group_creates_are_counted_once_each(sandbox: SandboxClient) -> None:
    secret, group = f"actions-{uuid.uuid4().hex[:8]}", f"ci-actions-{uuid.uuid4().hex[:6]}"
    vault = SecretClient(
        sandbox.endpoints["key_vault_url"],
        StaticTokenCredential(),
        verify_challenge_resource=False,
        connection_verify=sandbox.ca_bundle,
    )
    with vault:
        vault.set_secret(secret, "one")
        vault.set_secret(secret, "two")
    ci = ContainerInstanceManagementClient(
        StaticTokenCredential(),
        sandbox.endpoints["subscription_id"],
        base_url=sandbox.arm_endpoint,
        connection_verify=sandbox.ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
    )
    rg = sandbox.endpoints["resource_groups"]["primary"]
    with ci:
        body = group_body(sandbox.endpoints, "qlp-app:1.0.0")
        ci.container_groups.begin_create_or_update(rg, group, body).result()
        ci.container_groups.begin_create_or_update(rg, group, body).result()  # the same: no change
        with pytest.raises(HttpResponseError):  # refused (ACI cannot change the OS): not counted
            ci.container_groups.begin_create_or_update(rg, group, {**body, "properties": {
                **body["properties"], "osType": "Windows"}}).result()  # fmt: skip
        ci.container_groups.begin_delete(rg, group).result()
    done = counts(sandbox)
    assert done["secret_writes"][secret] == 2
    assert done["group_creates"][group] == 1
    assert group not in done["group_updates"]
    log = [a for a in sandbox.status()["actions"]["log"] if a["name"] in (secret, group)]
    assert [a["kind"] for a in log] == ["secret_writes", "secret_writes", "group_creates"]
    assert log[0]["at"] <= log[1]["at"] <= log[2]["at"]


def test_an_unknown_kind_is_refused() -> None:
    actions = Actions()
    with pytest.raises(ValueError, match="unknown action kind 'deletes'"):
        actions.record("deletes", "x")
    actions.record("promotes", "pg")
    assert actions.view()["counts"]["promotes"] == {"pg": 1}
