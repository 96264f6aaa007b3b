"""CONTAINERS_ENSURE_GROUP on the strict sandbox: every group carries the identity, the registry credential
through it and the vault URL (so a private image is pulled and the app reads its secret); a change
round-trips the full definition, secure values are read again from Key Vault, and a field ACI cannot
change in place re-creates the group, never the live slot."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.mgmt.containerinstance import ContainerInstanceManagementClient

from sandbox.client import SandboxClient, StaticTokenCredential
from shared import names
from tests.polling import until
from tests.support.activities import Activity

pytestmark = pytest.mark.sandbox


@pytest.fixture
def group(act: Activity) -> Iterator[str]:
    name = f"ci-qlp-spec-{uuid.uuid4().hex[:6]}"
    yield name
    act(names.CONTAINERS_DELETE_GROUP, group=name)


@pytest.fixture
def ci(sandbox: SandboxClient) -> Iterator[ContainerInstanceManagementClient]:
    with ContainerInstanceManagementClient(
        StaticTokenCredential(),
        sandbox.endpoints["subscription_id"],
        base_url=sandbox.arm_endpoint,
        connection_verify=sandbox.ca_bundle,
    ) as client:
        yield client


def image(sandbox: SandboxClient, tag: str) -> str:
    return f"{sandbox.endpoints['container_registry']}/qlp-app:{tag}"


def status(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url + "/api/v1/status", timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def environ(url: str) -> dict[str, str]:
    pid = int(str(status(url)["pid"]))
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)


def test_a_group_continuity_creates_pulls_privately_and_reads_its_secret(
    act: Activity, sandbox: SandboxClient, ci: ContainerInstanceManagementClient, group: str
) -> None:
    e = sandbox.endpoints
    made = act(names.CONTAINERS_ENSURE_GROUP, group=group, image=image(sandbox, "1.0.0"), run_id="it-spec")
    until(
        lambda: act(names.PROBE_HTTP, url=made["url"] + "/api/v1/health/database")["ok"],
        "it reads its secret",
    )
    raw = ci.container_groups.get(e["resource_groups"]["primary"], group)
    assert list(raw.identity.user_assigned_identities) == [e["workload_identity_id"]]
    creds = [(c.server, c.identity) for c in raw.image_registry_credentials]
    assert creds == [(e["container_registry"], e["workload_identity_id"])]
    env = {v.name: v.value for v in raw.containers[0].environment_variables}
    assert env["KEY_VAULT_URL"] == e["key_vault_url"]
    assert env["AZURE_CLIENT_ID"] == e["workload_identity_client_id"]


def test_a_change_keeps_secure_values_by_reading_them_again_from_key_vault(
    act: Activity, sandbox: SandboxClient, group: str
) -> None:
    spec = {
        "group": group,
        "image": image(sandbox, "1.0.0"),
        "run_id": "it-spec",
        "secure_environment": {"DATABASE_URL_COPY": sandbox.endpoints["database_secret_name"]},
    }
    made = act(names.CONTAINERS_ENSURE_GROUP, **spec)
    until(lambda: act(names.PROBE_HTTP, url=made["url"] + "/health")["ok"], "it runs")
    assert environ(made["url"])["DATABASE_URL_COPY"] == sandbox.endpoints["database_url"]
    assert act(names.CONTAINERS_ENSURE_GROUP, **spec)["changed"] is False
    changed = act(names.CONTAINERS_ENSURE_GROUP, **{**spec, "image": image(sandbox, "1.0.1")})
    assert changed["changed"] is True and changed["recreated"] is False

    until(lambda: status(made["url"]).get("version") == "1.0.1", "the new image runs")
    assert environ(made["url"])["DATABASE_URL_COPY"] == sandbox.endpoints["database_url"]
    no_source = {k: v for k, v in spec.items() if k != "secure_environment"}
    with pytest.raises(Exception, match=r"^precondition: update container group DATABASE_URL_COPY"):
        act(names.CONTAINERS_ENSURE_GROUP, **{**no_source, "image": image(sandbox, "1.0.2")})


def test_a_field_aci_cannot_change_in_place_recreates_never_the_live_slot(
    act: Activity, sandbox: SandboxClient, group: str
) -> None:
    spec = {"group": group, "image": image(sandbox, "1.0.0"), "run_id": "it-spec", "cpu": 1}
    act(names.CONTAINERS_ENSURE_GROUP, **spec)
    bigger = act(names.CONTAINERS_ENSURE_GROUP, **{**spec, "cpu": 2})
    assert (bigger["changed"], bigger["recreated"]) == (True, True)
    assert act(names.CONTAINERS_GET_GROUP, group=group)["created_by_continuity"] is True

    groups = sandbox.endpoints["container_groups"]
    live = {"group": groups["uksouth-blue"], "image": image(sandbox, "1.0.0"), "run_id": "it-spec", "cpu": 2}
    with pytest.raises(Exception, match=r"^precondition: re-create container group .*live traffic"):
        act(names.CONTAINERS_ENSURE_GROUP, **live, allow_recreate=True)
    idle = {**live, "group": groups["uksouth-green"]}
    with pytest.raises(
        Exception, match=r"^precondition: re-create container group .*not created by Continuity"
    ):
        act(names.CONTAINERS_ENSURE_GROUP, **idle)
