"""Container groups refuse what ACI refuses, through azure-mgmt-containerinstance: in-place updates of
fields that need a delete, private-registry pulls without credentials, malformed credentials; a group
reads Key Vault only with a managed identity and the vault URL in its own environment; secure values are
never read back, so a read-modify-write loses them."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from sandbox.client import SandboxClient, StaticTokenCredential
from tests.polling import until
from tests.support.aci import group_body, identity

pytestmark = pytest.mark.sandbox


def client(sb: SandboxClient, api_version: str | None = None) -> ContainerInstanceManagementClient:
    kw = {"api_version": api_version} if api_version else {}
    return ContainerInstanceManagementClient(
        StaticTokenCredential(),
        sb.endpoints["subscription_id"],
        base_url=sb.arm_endpoint,
        connection_verify=sb.ca_bundle,
        credential_scopes=["https://management.azure.com/.default"],
        **kw,
    )


@pytest.fixture
def ci(sandbox: SandboxClient) -> Iterator[ContainerInstanceManagementClient]:
    with client(sandbox) as c:
        yield c


@pytest.fixture
def group(sandbox: SandboxClient, ci: ContainerInstanceManagementClient) -> Iterator[str]:
    name = f"ci-fid-{uuid.uuid4().hex[:6]}"
    yield name
    ci.container_groups.begin_delete(sandbox.endpoints["resource_groups"]["primary"], name).result()


def rg(sb: SandboxClient) -> str:
    return str(sb.endpoints["resource_groups"]["primary"])


def private(sb: SandboxClient, tag: str = "1.0.0") -> str:
    return f"{sb.endpoints['container_registry']}/qlp-app:{tag}"


def refused(call: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as info:
        call()
    return info.value


def environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)


def test_a_private_image_needs_registry_credentials(
    sandbox: SandboxClient, ci: ContainerInstanceManagementClient, group: str
) -> None:
    e = sandbox.endpoints
    body = group_body(e, private(sandbox))
    missing = refused(lambda: ci.container_groups.begin_create_or_update(rg(sandbox), group, body))
    assert (missing.status_code, missing.error.code) == (400, "InaccessibleImage")
    assert "Please check the image and registry credential" in missing.error.message

    def attempt(creds: list[dict[str, Any]], **kw: Any) -> HttpResponseError:
        with_creds = {**body, "properties": {**body["properties"], "imageRegistryCredentials": creds}}
        with_creds.update(kw)
        return refused(lambda: ci.container_groups.begin_create_or_update(rg(sandbox), group, with_creds))

    server, mi = e["container_registry"], e["workload_identity_id"]
    assert attempt([{"server": server, "username": "u", "password": "p", "identity": mi}]).error.code == (
        "AmbiguousImageResitryCredentialType"
    )
    alien = mi.replace(e["workload_identity_id"].rsplit("/", 1)[1], "id-other")
    assert attempt([{"server": server, "identity": alien}]).error.code == "InvalidImageRegistryIdentity"
    wrong = attempt([{"server": server, "username": e["container_registry_username"], "password": "wrong"}])
    assert wrong.error.code == "InaccessibleImage"
    other = {"type": "UserAssigned", "userAssignedIdentities": {alien: {}}}
    assert attempt([{"server": server, "identity": alien}], identity=other).error.code == "InaccessibleImage"
    with client(sandbox, "2021-03-01") as old:
        creds = {**body["properties"], "imageRegistryCredentials": [{"server": server, "identity": mi}]}
        too_old = refused(
            lambda: old.container_groups.begin_create_or_update(
                rg(sandbox), group, {**body, "properties": creds}
            )
        )
    assert too_old.error.code == "InvalidImageRegistryCredentialType"

    admin = {
        "server": server,
        "username": e["container_registry_username"],
        "password": e["container_registry_password"],
    }
    by_password = {**body, "properties": {**body["properties"], "imageRegistryCredentials": [admin]}}
    made = ci.container_groups.begin_create_or_update(rg(sandbox), group, by_password).result()
    assert made.image_registry_credentials[0].password is None
    assert e["container_registry_password"] not in json.dumps(
        ci.container_groups.get(rg(sandbox), group).as_dict()
    )
    by_identity = {
        **body,
        "properties": {
            **body["properties"],
            "imageRegistryCredentials": [{"server": server, "identity": mi}],
        },
    }
    pulled = ci.container_groups.begin_create_or_update(rg(sandbox), group, by_identity).result()
    assert pulled.identity.user_assigned_identities[mi].client_id == e["workload_identity_client_id"]


def test_fields_that_need_a_delete_are_refused_in_place(
    sandbox: SandboxClient, ci: ContainerInstanceManagementClient, group: str
) -> None:
    body = group_body(sandbox.endpoints, "qlp-app:1.0.0")
    ci.container_groups.begin_create_or_update(rg(sandbox), group, body).result()
    container = body["properties"]["containers"][0]
    bigger = {
        **container,
        "properties": {**container["properties"], "resources": {"requests": {"cpu": 1.0, "memoryInGB": 0.5}}},
    }
    for change in (
        {"properties": {**body["properties"], "containers": [bigger]}},
        {"properties": {**body["properties"], "restartPolicy": "OnFailure"}},
        {"zones": ["1"]},
    ):
        invalid = refused(
            lambda change=change: ci.container_groups.begin_create_or_update(
                rg(sandbox), group, {**body, **change}
            )
        )
        assert (invalid.status_code, invalid.error.code) == (400, "InvalidContainerGroupUpdate")
        assert "you must delete it first and then create a new one" in invalid.error.message
    newer = {**container, "properties": {**container["properties"], "image": "qlp-app:1.1.0"}}
    updated = ci.container_groups.begin_create_or_update(
        rg(sandbox), group, {**body, "properties": {**body["properties"], "containers": [newer]}}
    ).result()
    assert updated.containers[0].image == "qlp-app:1.1.0"  # the image can change in place


def test_key_vault_needs_a_managed_identity_and_the_vault_url_in_the_group(
    sandbox: SandboxClient, ci: ContainerInstanceManagementClient, group: str
) -> None:
    e = sandbox.endpoints
    without = group_body(e, "qlp-app:1.0.0", with_identity=False, policy="Never")
    ci.container_groups.begin_create_or_update(rg(sandbox), group, without).result()
    until(lambda: ci.container_groups.get(rg(sandbox), group).instance_view.state == "Failed", "it exits")
    assert "ManagedIdentityCredential" in ci.containers.list_logs(rg(sandbox), group, "app").content
    ci.container_groups.begin_delete(rg(sandbox), group).result()

    no_url = group_body(e, "qlp-app:1.0.0", policy="Never")
    no_url["properties"]["containers"][0]["properties"]["environmentVariables"] = []
    ci.container_groups.begin_create_or_update(rg(sandbox), group, no_url).result()
    until(lambda: ci.container_groups.get(rg(sandbox), group).instance_view.state == "Failed", "it exits")
    ci.container_groups.begin_delete(rg(sandbox), group).result()

    made = ci.container_groups.begin_create_or_update(
        rg(sandbox), group, group_body(e, "qlp-app:1.0.0")
    ).result()
    url = f"http://127.0.0.1:{made.ip_address.ports[0].port}/api/v1/status"
    with urllib.request.urlopen(url, timeout=10) as resp:
        status = json.loads(resp.read())
    env = environ(int(status["pid"]))
    assert env["KEY_VAULT_URL"] == e["key_vault_url"] and "SANDBOX_TOKEN" in env
    assert made.identity.type == "UserAssigned" and identity(e)["type"] == "UserAssigned"


def test_secure_values_are_never_read_back_so_a_read_modify_write_loses_them(
    sandbox: SandboxClient, ci: ContainerInstanceManagementClient, group: str
) -> None:
    body = group_body(
        sandbox.endpoints, "qlp-app:1.0.0", env=[{"name": "API_TOKEN", "secureValue": "s3cret"}]
    )
    made = ci.container_groups.begin_create_or_update(rg(sandbox), group, body).result()
    read = ci.container_groups.get(rg(sandbox), group)
    token = next(v for v in read.containers[0].environment_variables if v.name == "API_TOKEN")
    assert (token.value, token.secure_value) == (None, None)
    read.containers[0].image = "qlp-app:1.0.1"  # change something, send back what was read
    ci.container_groups.begin_create_or_update(rg(sandbox), group, read).result()
    port = made.ip_address.ports[0].port

    def new_pid() -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/status", timeout=10) as resp:
            info = json.loads(resp.read())
        return int(info["pid"]) if info["version"] == "1.0.1" else 0

    until(lambda: bool(new_pid()), "the redeployed container answers")
    assert environ(new_pid()).get("API_TOKEN", "") == ""  # the secure value is gone
