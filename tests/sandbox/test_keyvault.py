"""The Key Vault data plane through the real SecretClient (challenge auth, versions), and the workload
reading its database URL from the vault at restart."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.keyvault.secrets import SecretClient
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from sandbox.client import SandboxClient, StaticTokenCredential
from tests.polling import until
from tests.support.aci import group_body
from tests.support.vault import secret_client

pytestmark = pytest.mark.sandbox


def containers(sb: SandboxClient) -> ContainerInstanceManagementClient:
    return ContainerInstanceManagementClient(
        StaticTokenCredential(),
        sb.endpoints["subscription_id"],
        base_url=sb.arm_endpoint,
        connection_verify=sb.ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
    )


def test_unauthenticated_requests_get_the_key_vault_challenge(sandbox: SandboxClient) -> None:
    url = sandbox.endpoints["key_vault_url"] + "/secrets/database-url/?api-version=2026-04-01"
    context = ssl.create_default_context(cafile=sandbox.ca_bundle)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, context=context, timeout=10)
    err.value.close()
    assert err.value.code == 401
    challenge = err.value.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer authorization="https://login.microsoftonline.com/')
    assert 'resource="https://vault.azure.net"' in challenge


def test_set_makes_a_new_version_and_get_reads_latest_or_a_version(sandbox: SandboxClient) -> None:
    with secret_client(sandbox) as client:
        _versions(client)


def _versions(client: SecretClient) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    first = client.set_secret(name, "one")
    second = client.set_secret(name, "two", tags={"purpose": "test"})
    assert first.properties.version != second.properties.version
    assert client.get_secret(name).value == "two"
    assert client.get_secret(name, first.properties.version).value == "one"
    versions = {v.version for v in client.list_properties_of_secret_versions(name)}
    assert versions == {first.properties.version, second.properties.version}
    assert name in {s.name for s in client.list_properties_of_secrets()}
    assert client.get_secret(name).properties.tags == {"purpose": "test"}
    updated = client.update_secret_properties(name, content_type="text/plain", tags={"purpose": "updated"})
    assert updated.version == second.properties.version and updated.content_type == "text/plain"
    assert client.get_secret(name).properties.tags == {"purpose": "updated"}


def test_a_disabled_version_cannot_be_read_as_key_vault_refuses_it(sandbox: SandboxClient) -> None:
    from azure.core.exceptions import HttpResponseError

    with secret_client(sandbox) as client:
        name = f"test-{uuid.uuid4().hex[:8]}"
        old = client.set_secret(name, "old").properties.version
        new = client.set_secret(name, "new").properties.version
        client.update_secret_properties(name, old, enabled=False)
        with pytest.raises(HttpResponseError) as refused:
            client.get_secret(name, old)
        assert refused.value.status_code == 403 and refused.value.error is not None
        assert refused.value.error.code == "Forbidden"
        assert "Operation get is not allowed on a disabled secret." in refused.value.message
        assert "SecretDisabled" in str(refused.value)
        assert client.get_secret(name).value == "new"
        enabled = {v.version: v.enabled for v in client.list_properties_of_secret_versions(name)}
        assert enabled == {old: False, new: True}
        client.update_secret_properties(name, new, enabled=False)  # the latest disabled: no fallback
        with pytest.raises(HttpResponseError, match="disabled secret"):
            client.get_secret(name)


def test_a_missing_secret_is_not_found(sandbox: SandboxClient) -> None:
    with secret_client(sandbox) as client, pytest.raises(ResourceNotFoundError):
        client.get_secret("no-such-secret")


def test_the_database_secret_holds_the_primary_servers_url(sandbox: SandboxClient) -> None:
    with secret_client(sandbox) as client:
        value = client.get_secret(sandbox.endpoints["database_secret_name"]).value
    assert value == sandbox.endpoints["database_url"]


def _database_health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health/database", timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)
    except OSError:
        return 0


def _wait_health(port: int, status: int) -> None:
    until(
        lambda: _database_health(port) == status,
        f"database health answers {status}",
        timeout=30,
        interval=0.2,
    )


def test_the_workload_reads_the_secret_set_through_secretclient_at_restart(sandbox: SandboxClient) -> None:
    with secret_client(sandbox) as kv, containers(sandbox) as ci:
        _restart_reads_secret(sandbox, kv, ci)


def _restart_reads_secret(
    sandbox: SandboxClient, kv: SecretClient, ci: ContainerInstanceManagementClient
) -> None:
    rg, name = sandbox.endpoints["resource_groups"]["primary"], f"ci-kv-{uuid.uuid4().hex[:6]}"
    secret = f"db-{name}"
    good = sandbox.endpoints["database_url"]
    kv.set_secret(secret, good.replace("qlp_db", "no_such_db"))
    group = ci.container_groups.begin_create_or_update(
        rg, name, group_body(sandbox.endpoints, "qlp-app:1.0.0", secret=secret)
    ).result()
    port = group.ip_address.ports[0].port
    try:
        _wait_health(port, 503)  # the URL it read at start points at a database that does not exist
        kv.set_secret(secret, good)
        assert _database_health(port) == 503  # read only at start
        ci.container_groups.begin_restart(rg, name).result()
        _wait_health(port, 200)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health/database", timeout=10) as resp:
            body = json.loads(resp.read())
        assert body["read_only"] is False
    finally:
        ci.container_groups.begin_delete(rg, name).result()
